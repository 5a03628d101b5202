"""Signing in and out, sessions, lockout, CSRF and who may see which pages."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

import pytest
from ccshared.store import connect
from ccshared.timeutil import to_str
from ccshared.web import provided
from frontend.app import create_app
from frontend.views import Context
from web_testkit import CONTACTS, NOW, FakeServices, csrf_of, error


def _sign_in_form(client, username: str, password: str):
    token = csrf_of(client.get("/sign-in").text)
    return client.post("/sign-in", data={"username": username, "password": password, "csrf_token": token})


def test_a_user_signs_in_and_every_page_says_who(client, make_user):
    password = make_user("a.coordinator", "coordinator", "north")

    response = _sign_in_form(client, "a.coordinator", password)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/today")
    page = client.get("/staff/today").text
    assert "Signed in as <strong>a.coordinator</strong>" in page
    assert "Area coordinator, North area" in page


def test_the_session_cookie_is_secure_httponly_and_samesite_lax(client, make_user):
    password = make_user("a.coordinator", "coordinator", "north")

    response = _sign_in_form(client, "a.coordinator", password)

    cookie = response.headers["Set-Cookie"]
    assert "cc_session=" in cookie
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make_user):
    make_user("a.coordinator", "coordinator", "north")

    wrong_password = _sign_in_form(client, "a.coordinator", "not-the-password")
    no_such_user = _sign_in_form(client, "nobody.here", "not-the-password")

    assert wrong_password.status_code == no_such_user.status_code == 401
    assert "The username or password is not right" in wrong_password.text
    assert "The username or password is not right" in no_such_user.text
    assert client.get("/staff/today").status_code == 302


def test_repeated_failures_lock_the_username_even_against_the_right_password(client, make_user, clock):
    password = make_user("a.coordinator", "coordinator", "north")
    for _ in range(3):
        _sign_in_form(client, "a.coordinator", "guess-guess-guess")

    locked = _sign_in_form(client, "a.coordinator", password)

    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.text
    clock.advance(minutes=16)
    assert _sign_in_form(client, "a.coordinator", password).status_code == 302


def test_a_form_without_its_csrf_token_is_refused(client, make_user):
    password = make_user("a.coordinator", "coordinator", "north")
    client.get("/sign-in")

    response = client.post("/sign-in", data={"username": "a.coordinator", "password": password})

    assert response.status_code == 400
    assert "Your form has expired" in response.text


def test_signing_out_ends_the_session_on_the_server(client, sign_in):
    sign_in()
    cookie = client.get_cookie("cc_session")
    token = csrf_of(client.get("/staff/today").text)

    client.post("/sign-out", data={"csrf_token": token})
    client.set_cookie("cc_session", cookie.value)

    assert client.get("/staff/today").status_code == 302


def test_an_idle_session_expires(client, sign_in, clock):
    sign_in()
    clock.advance(minutes=31)

    response = client.get("/staff/today")

    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_staff_pages_send_strangers_to_sign_in_and_back(client):
    response = client.get("/staff/contacts?status=received")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_sign_in_never_redirects_off_the_site(client, make_user):
    password = make_user("a.coordinator", "coordinator", "north")
    token = csrf_of(client.get("/sign-in").text)

    response = client.post(
        "/sign-in",
        data={
            "username": "a.coordinator",
            "password": password,
            "csrf_token": token,
            "next": "//evil.example",
        },
    )

    assert response.headers["Location"] == "/staff/today"


OFF_SITE = (
    "/\t/evil.example",
    "/\n/x",
    "/\r\n/x",
    "/\\evil.example",
    "\\/evil.example",
    "/\x00/x",
    "/\u2028/evil.example",
    "https://evil.example/staff/today",
    "//evil.example/staff/today",
    "///evil.example",
    "javascript:alert(1)",
    "staff/today",
    "/no-such-page",
    "/sign-out",  # a page, but not one to land on: it only takes a POST
)


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_lands_on_the_home_page_unless_next_is_one_of_its_pages(client, make_user, target):
    password = make_user("a.coordinator", "coordinator", "north")
    token = csrf_of(client.get("/sign-in").text)

    posted = client.post(
        "/sign-in",
        data={"username": "a.coordinator", "password": password, "csrf_token": token, "next": target},
    )
    again = client.get("/sign-in", query_string={"next": target})

    assert posted.status_code == again.status_code == 302
    assert posted.headers["Location"] == again.headers["Location"] == "/staff/today"


def test_an_encoded_tab_or_line_break_in_next_never_leaves_the_site_nor_fails(client, sign_in):
    sign_in()

    tab = client.get("/sign-in?next=/%09/evil.example")
    line_break = client.get("/sign-in?next=/%0A/x")

    assert tab.status_code == line_break.status_code == 302
    assert tab.headers["Location"] == line_break.headers["Location"] == "/staff/today"


def test_sign_in_returns_to_the_page_that_asked_with_its_query(client, make_user):
    password = make_user("a.coordinator", "coordinator", "north")
    asked = client.get("/staff/contacts?status=received").headers["Location"]
    token = csrf_of(client.get(asked).text)
    target = "/staff/contacts?status=received"

    response = client.post(
        "/sign-in",
        data={"username": "a.coordinator", "password": password, "csrf_token": token, "next": target},
    )

    assert response.headers["Location"] == target
    assert client.get("/sign-in?next=/staff/mail").headers["Location"] == "/staff/mail"


@pytest.mark.parametrize(
    ("role", "area", "agency", "target", "lands"),
    [
        ("partner", None, "example-health-visitors", "/staff/today", "/partners/"),
        ("partner", None, "example-health-visitors", "/partners/refer", "/partners/refer"),
        ("coordinator", "north", None, "/partners/", "/staff/today"),
        ("coordinator", "north", None, "/partners", "/staff/today"),
        ("staff", "north", None, "/admin/", "/staff/today"),
        ("coordinator", "north", None, "/centres/c-north", "/centres/c-north"),
    ],
)
def test_sign_in_goes_on_only_to_a_page_the_users_role_may_open(
    client, make_user, role, area, agency, target, lands
):
    password = make_user("a.user", role, area, agency)
    token = csrf_of(client.get("/sign-in").text)

    posted = client.post(
        "/sign-in", data={"username": "a.user", "password": password, "csrf_token": token, "next": target}
    )
    again = client.get("/sign-in", query_string={"next": target})

    assert posted.headers["Location"] == again.headers["Location"] == lands


def test_admin_pages_are_for_admins_only(client, sign_in):
    sign_in("a.staff", "staff", "north")

    assert client.get("/admin/").status_code == 403
    assert "Admin" not in client.get("/staff/today").text.split("<main")[0]


def test_an_admin_adds_an_account_and_sees_its_password_once(client, sign_in):
    sign_in("an.admin", "admin", None)
    token = csrf_of(client.get("/admin/").text)

    response = client.post(
        "/admin/users", data={"username": "b.south", "role": "staff", "area": "south", "csrf_token": token}
    )

    assert response.status_code == 200
    assert "b.south: " in response.text
    assert "b.south" in client.get("/admin/").text


def test_an_account_for_an_area_role_needs_an_area(client, sign_in):
    sign_in("an.admin", "admin", None)
    token = csrf_of(client.get("/admin/").text)

    response = client.post("/admin/users", data={"username": "c.staff", "role": "staff", "csrf_token": token})

    assert response.status_code == 422
    assert 'id="area-error"' in response.text


def test_passwords_are_stored_hashed(web_app, make_user):
    password = make_user("a.coordinator", "coordinator", "north")

    stored = provided(web_app, Context).desk.accounts.collection.get("a.coordinator")

    assert password not in str(stored)
    assert stored["password_hash"].startswith("$argon2")
    assert stored["created_at"].startswith(NOW.strftime("%Y-%m-%d"))


def test_html_pages_carry_a_self_only_content_security_policy(client):
    response = client.get("/sign-in")

    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def _contacts_knows(services, *agencies: str) -> None:
    """Contacts answers a partner token of a known agency, and 403 for any other (as it does)."""

    def answer(call):  # noqa: ANN001, ANN202 - a FakeServices handler
        if call.user.role == "partner" and call.user.agency in agencies:
            return 200, {"items": [], "total": 0, "page": 1, "per_page": 1}
        return error(403, f"agency {call.user.agency} is not registered here")

    services.on("GET", CONTACTS, "/api/v1/referrals", answer)


def test_an_admin_adds_a_partner_user_of_an_agency_and_disables_it(client, sign_in, web_app, services):
    _contacts_knows(services, "example-health-visitors")
    sign_in("an.admin", "admin", None)
    token = csrf_of(client.get("/admin/").text)

    without = client.post(
        "/admin/users", data={"username": "p.visitor", "role": "partner", "csrf_token": token}
    )
    added = client.post(
        "/admin/users",
        data={
            "username": "p.visitor",
            "role": "partner",
            "agency": "example-health-visitors",
            "csrf_token": token,
        },
    )
    disabled = client.post("/admin/users/p.visitor/disable", data={"disabled": "true", "csrf_token": token})

    assert without.status_code == 422 and 'id="agency-error"' in without.text
    assert added.status_code == 200 and "p.visitor: " in added.text
    assert "Agency example-health-visitors" in added.text and "Partner agency" in added.text
    assert disabled.status_code == 302
    account = provided(web_app, Context).desk.accounts.get("p.visitor")
    assert account.agency == "example-health-visitors" and account.disabled


def test_a_partner_user_needs_an_agency_contacts_knows(client, sign_in, web_app, services):
    _contacts_knows(services, "example-health-visitors")
    sign_in("an.admin", "admin", None)
    token = csrf_of(client.get("/admin/").text)
    form = {"username": "p.visitor", "role": "partner", "agency": "no-such-agency", "csrf_token": token}

    unknown = client.post("/admin/users", data=form)
    services.down.add(CONTACTS)
    unchecked = client.post("/admin/users", data=form | {"agency": "example-health-visitors"})

    assert unknown.status_code == 422 and "contacts has no agency no-such-agency" in unknown.text
    assert unchecked.status_code == 422 and "could not be checked with contacts" in unchecked.text
    services.down.discard(CONTACTS)
    services.on("GET", CONTACTS, "/api/v1/referrals", error(401, "token is not valid"))  # keys differ
    refused = client.post("/admin/users", data=form | {"agency": "example-health-visitors"})
    assert refused.status_code == 422 and "token is not valid" in refused.text
    assert provided(web_app, Context).desk.accounts.get("p.visitor") is None


def test_accounts_from_before_partner_users_read_as_having_no_agency(web_app, make_user):
    make_user("a.coordinator", "coordinator", "north")
    accounts = provided(web_app, Context).desk.accounts
    stored = accounts.collection.get("a.coordinator")
    stored.pop("agency")
    accounts.collection.replace(stored)

    assert accounts.get("a.coordinator").staff_user().agency is None


def test_an_admin_cannot_add_a_user_named_like_a_role_mailbox(client, sign_in, web_app):
    sign_in("a.admin", "admin", None)
    token = csrf_of(client.get("/admin/").text)

    for username in ("principal.officer", "coordinator.south"):
        response = client.post(
            "/admin/users",
            data={"username": username, "role": "staff", "area": "south", "csrf_token": token},
        )
        assert response.status_code == 422, username
        assert "mailbox" in response.text
        assert provided(web_app, Context).desk.accounts.get(username) is None


def _sign_in_from(client, address: str, username: str, password: str):
    token = csrf_of(client.get("/sign-in", environ_base={"REMOTE_ADDR": address}).text)
    return client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_a_stranger_locks_a_user_out_only_from_the_strangers_own_address(client, make_user, web_app):
    password = make_user("a.coordinator", "coordinator", "north")
    stranger, user = "203.0.113.9", "198.51.100.7"
    guesses = [_sign_in_from(client, stranger, "a.coordinator", "guess-guess-guess") for _ in range(3)]
    assert [guess.status_code for guess in guesses] == [401, 401, 429]

    assert _sign_in_from(client, stranger, "a.coordinator", password).status_code == 429
    assert _sign_in_from(web_app.test_client(), user, "a.coordinator", password).status_code == 302


def test_a_failed_sign_in_logs_a_name_that_is_no_account_only_as_a_short_hash(client, make_user, caplog):
    make_user("a.coordinator", "coordinator", "north")
    typed = "qx7-a-password-typed-in-the-username-box"
    caplog.set_level("INFO", logger="frontend")

    _sign_in_form(client, typed, "whatever-whatever")
    _sign_in_form(client, typed, "whatever-whatever")
    _sign_in_form(client, "a.coordinator", "not-the-password")

    failed = [r for r in caplog.records if r.getMessage() == "sign-in failed"]
    assert len(failed) == 3
    logged = " ".join(str(value) for record in caplog.records for value in record.__dict__.values())
    assert typed not in logged
    unknown = [r.unknown_user for r in failed[:2]]
    assert unknown[0] == unknown[1] and re.fullmatch(r"#[0-9a-f]{12}", unknown[0])
    assert failed[2].username == "a.coordinator"


def test_failed_sign_ins_are_forgotten_once_they_count_for_nothing(client, make_user, web_app, clock):
    make_user("a.coordinator", "coordinator", "north")
    rows = provided(web_app, Context).desk.attempts.collection
    typed = "qx7-another-password-in-the-wrong-box"
    for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        _sign_in_from(client, address, typed, "whatever-whatever")
        _sign_in_from(client, address, "a.coordinator", "not-the-password")
    assert rows.count({}) == 6
    assert typed not in repr(rows.find({}))

    clock.advance(minutes=31)  # past the 15-minute window and the 15-minute lockout
    _sign_in_from(client, "203.0.113.4", "a.coordinator", "not-the-password")

    assert [row["client"] for row in rows.find({})] == ["203.0.113.4"]


def test_the_store_keeps_only_a_hash_of_each_session_id(client, sign_in, web_app, settings):
    sign_in()
    cookie = client.get_cookie("cc_session").value
    session_id = web_app.session_interface.get_signing_serializer(web_app).loads(cookie)["sid"]
    sessions = provided(web_app, Context).desk.sessions.collection

    assert sessions.get(session_id) is None
    assert sessions.get(hashlib.sha256(session_id.encode()).hexdigest()) is not None
    database = Path(settings.store_url.removeprefix("sqlite:///"))
    for stored in database.parent.glob(f"{database.name}*"):  # the database, its WAL and index
        assert session_id.encode() not in stored.read_bytes(), stored.name
    assert client.get("/staff/today").status_code == 200


def test_sessions_stored_before_ids_were_hashed_are_ended(client, sign_in, web_app, settings, clock):
    sign_in()
    cookie = client.get_cookie("cc_session").value
    serializer = web_app.session_interface.get_signing_serializer(web_app)
    old_id = secrets.token_urlsafe(32)
    stamp = to_str(clock.now())
    sessions = provided(web_app, Context).desk.sessions.collection
    sessions.insert({"_id": old_id, "username": "t.north", "started_at": stamp, "seen_at": stamp})
    client.set_cookie("cc_session", serializer.dumps({**serializer.loads(cookie), "sid": old_id}))

    restarted = create_app(settings, store=connect(settings.store_url), transport=FakeServices(), clock=clock)

    assert provided(restarted, Context).desk.sessions.collection.get(old_id) is None
    assert client.get("/staff/today").status_code == 302

"""The partner pages against stand-in services: who may see them, the referral form
(consent, the nearest suitable centre, one referral per form) and the agency's
referrals. The contacts service's own tests show it keeps agencies apart; these
show the pages ask it as the partner user and show what it answers."""

from __future__ import annotations

import re

import pytest
from ccshared.web import provided
from frontend.views import Context
from web_testkit import CONTACTS, NEAREST, csrf_of, error, referral

AGENCY = "example-health-visitors"


def _form(**changes: str) -> dict:
    """A complete referral form, as a partner fills it in (fake details only)."""
    return {
        "idempotency_key": "0123456789abcdef0123456789abcdef",
        "family_name": "Test Family Carer",
        "child_rows": "3",
        "child_1_age": "2",
        "child_1_unit": "years",
        "child_2_age": "7",
        "child_2_unit": "months",
        "child_3_age": "",
        "child_3_unit": "years",
        "family_phone": "07700 900123",
        "family_postcode": "l8  0aa",
        "support_needed": "stay-and-play",
        "urgency": "soon",
        "notes": "Test note",
        "referrer_name": "Test Referrer",
        "referrer_email": "referrer@example.org",
        "consent_given": "yes",
        "consent_by": "Test Referrer",
        "consent_date": "2026-03-18",
        "consent_time": "09:30",
        "centre_choice": "nearest",
        "checked": "L8 0AA|stay-and-play",
        "action": "send",
        **changes,
    }


@pytest.fixture
def partner(client, services, sign_in):
    """A partner user of one agency, signed in, with contacts answering the partner API."""
    sent: dict[str, dict] = {}

    def send(call):
        key = call.headers["Idempotency-Key"]
        sent.setdefault(key, referral(f"r{len(sent) + 1}", f"R-2603-AAAA{len(sent) + 1}"))
        return 201, sent[key]

    services.on("POST", CONTACTS, "/api/v1/referrals", send)
    services.on("GET", CONTACTS, "/api/v1/referrals/nearest-centre", (200, NEAREST))
    services.on("GET", CONTACTS, "/api/v1/referrals/r1", (200, referral("r1", "R-2603-AAAA1")))
    sign_in("p.visitor", "partner", None, AGENCY)
    return client


def _post(client, data: dict):
    token = csrf_of(client.get("/partners/refer").text)
    return client.post("/partners/refer", data={**data, "csrf_token": token})


def _posts(services) -> list:
    return [call for call in services.calls if call.method == "POST" and call.path == "/api/v1/referrals"]


# Who sees what ------------------------------------------------------------------


def test_a_partner_user_lands_on_its_agencys_referrals_asked_for_as_that_agency(client, services, make_user):
    services.on(
        "GET",
        CONTACTS,
        "/api/v1/referrals",
        (200, {"items": [referral("r1", "R-2603-AAAA1")], "total": 1, "page": 1, "per_page": 20}),
    )
    password = make_user("p.visitor", "partner", None, AGENCY)
    token = csrf_of(client.get("/sign-in").text)

    signed = client.post(
        "/sign-in", data={"username": "p.visitor", "password": password, "csrf_token": token}
    )
    page = client.get(signed.headers["Location"])

    assert signed.headers["Location"] == "/partners/"
    assert "R-2603-AAAA1" in page.text and "Garston Test Centre" in page.text
    call = services.last("GET", "/api/v1/referrals")
    assert (call.user.role, call.user.agency, call.user.username) == ("partner", AGENCY, "p.visitor")
    nav = page.text.split("<main")[0]
    assert "Refer a family" in nav and "Today" not in nav and "Admin" not in nav


def test_the_header_names_the_partner_users_agency_asked_once_a_session(partner, services):
    services.on(
        "GET",
        CONTACTS,
        "/api/v1/referrals/agency",
        (200, {"agency_id": AGENCY, "agency_name": "Example Health Visitors"}),
    )

    first = partner.get("/partners/refer").text
    second = partner.get("/partners/referrals/r1").text

    for page in (first, second):
        assert 'data-testid="agency">Example Health Visitors</span>' in page
    asked = [call for call in services.calls if call.path == "/api/v1/referrals/agency"]
    assert len(asked) == 1 and asked[0].user.agency == AGENCY


def test_the_header_shows_the_agency_id_while_contacts_cannot_say_its_name(partner, services):
    services.down.add(CONTACTS)

    page = partner.get("/partners/refer").text

    assert f'data-testid="agency">{AGENCY}</span>' in page


@pytest.mark.parametrize(
    "path", ["/staff/today", "/staff/contacts", "/staff/contacts/new", "/staff/compliance", "/admin/"]
)
def test_staff_and_admin_pages_refuse_a_partner_user(partner, path):
    page = partner.get(path)

    assert page.status_code == 403
    assert "You do not have permission to see this page" in page.text
    assert 'href="/partners/"' in page.text


def test_partner_pages_refuse_staff_and_send_strangers_to_sign_in(client, sign_in):
    assert client.get("/partners/refer").headers["Location"].startswith("/sign-in?next=")
    sign_in("a.admin", "admin", None)

    for path in ("/partners/", "/partners/refer", "/partners/referrals/r1"):
        assert client.get(path).status_code == 403


# The list and the detail ----------------------------------------------------------


def test_the_list_shows_each_referrals_centre_status_decision_and_reason_by_status(partner, services):
    declined = referral(
        "r2",
        "R-2603-BBBB2",
        "declined",
        decided_at="2026-03-18T10:00:00.000000Z",
        decline_reason_code="outside_area",
    )
    services.on(
        "GET",
        CONTACTS,
        "/api/v1/referrals",
        (200, {"items": [declined], "total": 1, "page": 1, "per_page": 20}),
    )

    page = partner.get("/partners/?status=declined").text
    partner.get("/partners/?status=lost&page=x")

    row = re.search(r'<tr data-reference="R-2603-BBBB2">(.*?)</tr>', page, re.S).group(1)
    assert "Garston Test Centre" in row and "Declined" in row
    assert "18 March 2026" in row and "Outside our area" in row
    calls = [c for c in services.calls if c.path == "/api/v1/referrals" and c.method == "GET"]
    assert calls[-2].params == {"status": "declined", "page": 1, "per_page": 20}
    assert calls[-1].params == {"page": 1, "per_page": 20}, "an unknown status or page is not passed on"


def _pages_of(services, total: int) -> None:
    """contacts answering the agency's list with `total` referrals in all (only page 1 holds any)."""

    def answer(call):
        items = [referral("r1", "R-2603-AAAA1")] if call.params["page"] == 1 else []
        return 200, {"items": items, "total": total, "page": call.params["page"], "per_page": 20}

    services.on("GET", CONTACTS, "/api/v1/referrals", answer)


@pytest.mark.parametrize(
    ("asked", "shown"),
    [
        ("page=100001", "page=3"),
        ("page=4&status=new", "status=new&page=3"),
        ("page=x", "page=1"),
        ("page=-2", "page=1"),
    ],
)
def test_a_page_past_the_last_or_no_page_number_goes_to_the_nearest_page(partner, services, asked, shown):
    _pages_of(services, total=45)

    answer = partner.get(f"/partners/?{asked}")
    last = partner.get(answer.headers.get("Location", ""))

    assert answer.status_code == 302, answer.text
    assert answer.headers["Location"] == f"/partners/?{shown}"
    assert last.status_code == 200 and "45 referrals" in last.text


@pytest.mark.parametrize("asked", ["status=new&status=accepted", "page=1&page=2"])
def test_a_single_valued_parameter_given_twice_is_a_plain_400_naming_it(partner, services, asked):
    _pages_of(services, total=45)

    answer = partner.get(f"/partners/?{asked}")

    name = asked.split("=")[0]
    assert answer.status_code == 400
    assert f"The address gives {name} 2 times: give it once." in answer.text
    assert not [call for call in services.calls if call.path == "/api/v1/referrals"]


def test_the_detail_shows_what_was_sent_the_decision_its_reason_and_the_history(partner, services):
    declined = referral(
        "r1",
        "R-2603-AAAA1",
        "declined",
        decided_at="2026-03-18T10:00:00.000000Z",
        decline_reason_code="service_not_offered",
        decline_reason="Test reason: no sessions this term",
        history=[
            {"at": "2026-03-17T09:00:00.000000Z", "from": None, "to": "new"},
            {"at": "2026-03-17T11:00:00.000000Z", "from": "new", "to": "opened"},
            {"at": "2026-03-18T10:00:00.000000Z", "from": "opened", "to": "declined"},
        ],
        sent={
            "family": {"name": "Test Family Carer", "phone": "07700 900123"},
            "children": [{"age_years": 2}, {"age_months": 7}],
            "referrer": {"name": "Test Referrer"},
            "consent": {"given": True, "recorded_by": "Test Referrer", "recorded_at": "2026-03-17T08:30:00Z"},
        },
    )
    services.on("GET", CONTACTS, "/api/v1/referrals/r1", (200, declined))

    page = partner.get("/partners/referrals/r1").text

    assert "<h1>Referral R-2603-AAAA1</h1>" in page
    assert "Service not offered" in page and "Test reason: no sessions this term" in page
    assert "Test Family Carer" in page and "2 years, 7 months" in page
    assert "Stay and play" in page and "Garston Test Centre" in page
    history = re.search(r'data-testid="history">(.*?)</ol>', page, re.S).group(1)
    assert [re.sub(r"\s+", " ", item).split(": ")[-1] for item in re.findall(r"<li>(.*?)</li>", history)] == [
        "New",
        "Opened",
        "Declined",
    ]


def test_a_withdrawn_referral_shows_why_in_words_in_the_list_and_the_detail(partner, services):
    withdrawn = referral("r1", "R-2603-AAAA1", "withdrawn", withdraw_reason_code="family_withdrew")
    page_of_one = {"items": [withdrawn], "total": 1, "page": 1, "per_page": 20}
    services.on("GET", CONTACTS, "/api/v1/referrals", (200, page_of_one))
    services.on("GET", CONTACTS, "/api/v1/referrals/r1", (200, withdrawn | {"sent": None}))

    listed = partner.get("/partners/").text
    detail = partner.get("/partners/referrals/r1").text

    row = re.search(r'<tr data-reference="R-2603-AAAA1">(.*?)</tr>', listed, re.S).group(1)
    assert "Withdrawn" in row and "The family withdrew" in row
    reason = re.search(r'data-testid="withdraw-reason">(.*?)</dd>', detail, re.S).group(1)
    assert reason == "The family withdrew"
    assert "family_withdrew" not in detail


def test_a_referral_waiting_on_the_agency_says_so_in_the_list_and_what_for_in_the_detail(partner, services):
    waiting = referral("r1", "R-2603-AAAA1", "opened", waiting_on_partner_since="2026-03-18T10:00:00.000000Z")
    page_of_one = {"items": [waiting], "total": 1, "page": 1, "per_page": 20}
    services.on("GET", CONTACTS, "/api/v1/referrals", (200, page_of_one))
    detail_body = waiting | {"sent": None, "waiting_on_partner_note": "Test note: the consent form"}
    services.on("GET", CONTACTS, "/api/v1/referrals/r1", (200, detail_body))

    listed = partner.get("/partners/").text
    detail = partner.get("/partners/referrals/r1").text

    row = re.search(r'<tr data-reference="R-2603-AAAA1">(.*?)</tr>', listed, re.S).group(1)
    assert "Opened" in row and "waiting on you" in row
    notice = re.search(r'data-testid="waiting-on-partner">(.*?)</div>', detail, re.S).group(1)
    assert "waiting on your agency" in notice and "Wed 18 Mar 2026, 10:00am" in notice
    assert "Test note: the consent form" in notice


def test_a_referral_says_when_the_centre_aims_to_respond_until_it_is_answered(partner, services):
    due = "2026-11-24T23:59:59+00:00"
    waiting = referral("r1", "R-2611-AAAA1", "opened", respond_by=due)
    answered = referral("r2", "R-2611-AAAA2", "accepted", respond_by=due, decided_at="2026-11-20T10:00:00Z")
    not_yet = referral("r3", "R-2611-AAAA3", "new")
    page = {"items": [waiting, answered, not_yet], "total": 3, "page": 1, "per_page": 20}
    services.on("GET", CONTACTS, "/api/v1/referrals", (200, page))
    for item in (waiting, answered, not_yet):
        services.on("GET", CONTACTS, f"/api/v1/referrals/{item['id']}", (200, item | {"sent": None}))

    listed = partner.get("/partners/").text

    def row(reference: str) -> str:
        return re.search(rf'<tr data-reference="{reference}">(.*?)</tr>', listed, re.S).group(1)

    assert "The centre aims to respond by Tue 24 Nov 2026" in row("R-2611-AAAA1")
    assert "respond by" not in row("R-2611-AAAA2") and "respond by" not in row("R-2611-AAAA3")
    detail = partner.get("/partners/referrals/r1").text
    assert "The centre aims to respond by Tue 24 Nov 2026." in detail
    for other in ("r2", "r3"):
        assert 'data-testid="respond-by"' not in partner.get(f"/partners/referrals/{other}").text


def test_a_respond_by_date_paused_on_the_agency_or_gone_by_is_not_shown_as_still_coming(partner, services):
    """Paused on the agency, the date moves on when the pause ends; a date gone by is late (the
    pages' clock is 18 Mar 2026)."""
    paused = referral(
        "r1",
        "R-2603-AAAA1",
        "opened",
        respond_by="2026-03-20T23:59:59+00:00",
        waiting_on_partner_since="2026-03-17T12:00:00Z",
    )
    late = referral("r2", "R-2603-AAAA2", "new", respond_by="2026-03-16T23:59:59+00:00")
    for item in (paused, late):
        services.on("GET", CONTACTS, f"/api/v1/referrals/{item['id']}", (200, item | {"sent": None}))

    on_hold = partner.get("/partners/referrals/r1").text
    gone_by = partner.get("/partners/referrals/r2").text

    assert "aims to respond by Fri 20 Mar" not in on_hold
    assert "moves on by the working days it waits on you" in on_hold
    assert "The centre aimed to respond by Mon 16 Mar 2026 and has not responded yet." in gone_by


def test_once_erased_the_detail_says_so_and_shows_no_details_or_reason(partner, services):
    erased = referral(
        "r1",
        "R-2603-AAAA1",
        "declined",
        decline_reason_code="other",
        personal_erased_at="2027-03-18T02:00:00.000000Z",
        sent=None,
    )
    services.on("GET", CONTACTS, "/api/v1/referrals/r1", (200, erased))

    page = partner.get("/partners/referrals/r1").text

    assert "were erased on 18 March 2027. The reference and its history stay." in page
    assert "retention" not in page  # a subject-access request erases too: the page cannot tell which
    assert "What you sent" not in page and "Other reason" in page


def test_the_detail_says_what_a_named_centre_does_not_offer(partner, services):
    routing = {
        "chosen": "named",
        "reason": "Everton Test Centre: named by the referrer.",
        "services_missing": ["childcare"],
        "distance_km": None,
    }
    found = referral("r1", "R-2603-AAAA1", support_needed=["stay-and-play", "childcare"], routing=routing)
    services.on("GET", CONTACTS, "/api/v1/referrals/r1", (200, found))

    page = partner.get("/partners/referrals/r1").text

    assert 'data-testid="services-missing">It does not offer: Childcare.<' in page


def test_another_agencys_referral_is_not_found(partner, services):
    services.on("GET", CONTACTS, "/api/v1/referrals/theirs", error(404, "no referral theirs"))

    assert partner.get("/partners/referrals/theirs").status_code == 404


def test_an_agency_the_contacts_service_does_not_know_is_told_so(partner, services):
    services.on(
        "GET",
        CONTACTS,
        "/api/v1/referrals",
        error(403, "agency example-health-visitors is not registered here"),
    )

    page = partner.get("/partners/")

    assert page.status_code == 403
    assert "agency example-health-visitors is not registered here" in page.text


# The referral form -----------------------------------------------------------------


def test_the_form_offers_the_directorys_services_every_urgency_and_the_open_centres(partner):
    page = partner.get("/partners/refer").text

    assert 'name="support_needed" value="stay-and-play"' in page and "Stay and play" in page
    for urgency in ("urgent", "soon", "routine"):
        assert f'name="urgency" value="{urgency}"' in page
    assert '<option value="c-north">Everton Test Centre (North)</option>' in page
    assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', page)
    assert 'id="consent_date" name="consent_date" type="date" value="2026-03-18"' in page


def test_checking_shows_the_nearest_suitable_centre_and_why_and_sends_nothing(partner, services):
    page = _post(partner, _form(action="check", checked="", support_needed="stay-and-play"))

    assert page.status_code == 200
    assert "The referral will go to Garston Test Centre" in page.text
    assert "in the postcode district L8" in page.text
    call = services.last("GET", "/api/v1/referrals/nearest-centre")
    assert call.params == {"postcode_district": "L8 0AA", "support_needed": "stay-and-play"}
    assert call.user.agency == AGENCY
    assert 'name="checked" value="L8 0AA|stay-and-play"' in page.text
    assert not _posts(services)


def test_sending_to_the_nearest_centre_unchecked_shows_the_centre_first(partner, services):
    page = _post(partner, _form(checked=""))

    assert page.status_code == 200
    assert "Check the centre this referral will go to, then send it." in page.text
    assert "The referral will go to Garston Test Centre" in page.text
    assert not _posts(services)


def test_a_place_with_no_centre_near_is_explained_beside_the_postcode(partner, services):
    services.on(
        "GET",
        CONTACTS,
        "/api/v1/referrals/nearest-centre",
        error(422, "no open centre near M1", {"postcode_district": ["no open centre near M1"]}),
    )

    page = _post(partner, _form(action="check", family_postcode="M1"))

    assert page.status_code == 422
    assert '<a href="#family_postcode">No open centre was found near M1.' in page.text


def test_without_consent_nothing_is_sent_and_the_summary_names_each_field(partner, services):
    page = _post(partner, _form(consent_given="", consent_by="", child_1_age="two", consent_time="23:59"))

    assert page.status_code == 422
    assert '<a href="#consent_given">Confirm that the family agreed to this referral</a>' in page.text
    assert '<a href="#consent_by">Enter who recorded the family' in page.text
    assert '<a href="#child_1_age">Child 1: enter the age as a whole number' in page.text
    assert '<a href="#consent_date">Consent cannot be in the future.</a>' in page.text
    assert 'id="consent_given-error"' in page.text and 'aria-invalid="true"' in page.text
    assert 'value="Test Family Carer"' in page.text, "what was typed is kept"
    assert not _posts(services)


def test_a_consent_dated_outside_the_projects_dates_is_refused_beside_its_field(partner, services):
    page = _post(partner, _form(consent_date="1980-01-01"))

    assert page.status_code == 422
    assert '<a href="#consent_date">Enter a date from 1 January 1990 to 31 December 2100.</a>' in page.text
    assert not _posts(services)


def test_a_referral_is_sent_once_per_form_and_the_page_moves_to_it(partner, services):
    first = _post(partner, _form())
    shown = partner.get(first.headers["Location"]).text
    again = _post(partner, _form())

    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"] == "/partners/referrals/r1"
    posts = _posts(services)
    assert len(posts) == 1, "the session knows the form was sent; contacts replays the key anyway"
    assert posts[0].headers["Idempotency-Key"] == "0123456789abcdef0123456789abcdef"
    assert posts[0].user.agency == AGENCY
    assert posts[0].json == {
        "referrer": {"name": "Test Referrer", "email": "referrer@example.org"},
        "family": {"name": "Test Family Carer", "postcode": "L8 0AA", "phone": "07700 900123"},
        "children": [{"age_years": 2}, {"age_months": 7}],
        "support_needed": ["stay-and-play"],
        "urgency": "soon",
        "consent": {
            "given": True,
            "recorded_by": "Test Referrer",
            "recorded_at": "2026-03-18T09:30:00.000000Z",
        },
        "notes": "Test note",
        "nearest": True,
        "postcode_district": "L8 0AA",
    }
    assert "Referral sent. Its reference is R-2603-AAAA1." in shown


def test_two_clicks_racing_send_the_same_key_so_contacts_makes_onereferral(partner, services, web_app):
    token = csrf_of(partner.get("/partners/refer").text)
    other = web_app.test_client()
    other.set_cookie("cc_session", partner.get_cookie("cc_session").value)

    first = other.post("/partners/refer", data={**_form(), "csrf_token": token})
    second = partner.post("/partners/refer", data={**_form(), "csrf_token": token})

    assert first.headers["Location"] == second.headers["Location"] == "/partners/referrals/r1"
    keys = {call.headers["Idempotency-Key"] for call in _posts(services)}
    assert keys == {"0123456789abcdef0123456789abcdef"}


def test_a_chosen_centre_is_sent_by_its_id_without_a_check(partner, services):
    response = _post(partner, _form(centre_choice="named", centre_id="c-north", checked=""))

    assert response.status_code == 302
    body = _posts(services)[0].json
    assert body["centre_id"] == "c-north" and "nearest" not in body


def test_a_chosen_centre_without_a_service_asked_for_is_shown_before_it_is_sent(partner, services):
    """The nearest check warns of a service the centre lacks; a centre named by the partner too."""
    named = _form(centre_choice="named", centre_id="c-north", checked="", support_needed="childcare")

    first = _post(partner, named)

    assert first.status_code == 200 and not _posts(services)
    assert "The centre you chose does not offer every service the family needs" in first.text
    assert "The referral will go to Everton Test Centre" in first.text
    assert (
        'data-testid="services-missing">It does not offer: Childcare. The centre will sign-post' in first.text
    )
    checked = re.search(r'name="checked" value="([^"]*)"', first.text).group(1)

    sent = _post(partner, named | {"checked": checked})

    assert sent.status_code == 302
    assert _posts(services)[0].json["centre_id"] == "c-north"


def test_checking_a_chosen_centre_shows_it_and_what_it_does_not_offer(partner, services):
    page = _post(
        partner, _form(action="check", centre_choice="named", centre_id="c-north", support_needed="childcare")
    )

    assert "The referral will go to Everton Test Centre" in page.text
    assert "It does not offer: Childcare." in page.text
    assert not _posts(services)


def test_the_contacts_services_field_errors_show_beside_the_form_fields(partner, services):
    services.on(
        "POST",
        CONTACTS,
        "/api/v1/referrals",
        error(
            422,
            "invalid input",
            {
                "family": {"phone": ["not a valid telephone number"], "name": ["must not be blank"]},
                "children": {"1": {"age_months": ["children must be under five (0-59 months)"]}},
                "referrer": {"name": ["Missing data for required field."]},
            },
        ),
    )

    page = _post(partner, _form(family_phone="call me", child_2_age="70"))

    assert page.status_code == 422
    assert (
        '<a href="#family_phone">The family&#39;s telephone number: not a valid telephone number</a>'
        in page.text
    )
    assert '<a href="#child_2_age">Children&#39;s ages: children must be under five' in page.text
    assert '<a href="#referrer_name">Your name: enter this</a>' in page.text
    assert '<a href="#family_name">Name of the parent or carer: enter this</a>' in page.text  # only spaces
    assert 'id="family_phone-error"' in page.text


def test_marshmallows_words_for_a_referral_read_plainly_naming_each_field(partner, services):
    refusal = {
        "family": {"name": ["Length must be between 1 and 200."], "email": ["Not a valid email address."]},
        "referrer": {"role": ["Length must be between 0 and 200."]},
        "children": {"0": {"age_years": ["Not a valid integer."]}},
        "consent": {"recorded_at": ["must be between 1990-01-01 and 2100-12-31"]},
    }
    services.on("POST", CONTACTS, "/api/v1/referrals", error(422, "invalid input", refusal))

    page = _post(partner, _form(family_email="family@example", referrer_role="Test " * 41))

    assert page.status_code == 422
    for said in (
        "Name of the parent or carer: use 1 to 200 characters",
        "The family&#39;s e-mail address: enter an address like name@example.org",
        "Your role: use 200 characters or fewer",
        "Children&#39;s ages: enter a number",
        "When consent was recorded: enter a date from 1 January 1990 to 31 December 2100",
    ):
        assert said in page.text
    assert "Length must be" not in page.text and "Not a valid" not in page.text


def test_a_key_first_used_for_other_details_is_explained(partner, services):
    services.on(
        "POST",
        CONTACTS,
        "/api/v1/referrals",
        error(422, "this Idempotency-Key was first used", {"Idempotency-Key": ["first used"]}),
    )

    page = _post(partner, _form())

    assert page.status_code == 422
    assert "This form was already sent with other details." in page.text


def test_a_spare_row_is_offered_for_another_child(partner):
    filled = {f"child_{n}_age": "1" for n in range(1, 4)}

    page = _post(partner, _form(action="check", **filled)).text

    assert 'id="child_4_age"' in page and 'name="child_rows" value="4"' in page


@pytest.mark.parametrize(
    "changes",
    [
        {"child_1_age": "²", "child_rows": "many"},
        {"child_1_age": "9" * 5000, "child_rows": "-3"},
        {"consent_date": "0001-01-01", "consent_time": "25:61"},
        {"idempotency_key": "../../x", "centre_choice": "<script>", "centre_id": ""},
        {"action": "check", "family_postcode": "", "support_needed": ""},
    ],
)
def test_odd_input_gets_a_form_with_its_errors_never_a_crash(partner, services, changes):
    page = _post(partner, _form(**changes))

    assert page.status_code in (200, 302, 422), page.text[:300]


def test_a_referral_id_cannot_reach_another_contacts_path(partner, services):
    partner.get("/partners/referrals/r1%3Fstatus=new")

    assert services.last("GET", "/api/v1/referrals/r1").path == "/api/v1/referrals/r1%3Fstatus%3Dnew"


def test_partner_users_sign_in_with_the_staffs_protections(client, make_user, web_app):
    password = make_user("p.visitor", "partner", None, AGENCY)
    token = csrf_of(client.get("/sign-in").text)

    def sign_in(secret: str, csrf: str | None = token):
        data = {"username": "p.visitor", "password": secret} | ({"csrf_token": csrf} if csrf else {})
        return client.post("/sign-in", data=data)

    assert sign_in(password, csrf=None).status_code == 400, "no CSRF token, no sign-in"
    failures = [sign_in("guess-guess-guess").status_code for _ in range(3)]
    assert failures[0] == 401
    assert sign_in(password).status_code == 429, "locked out like staff"
    provided(web_app, Context).desk.attempts.clear("p.visitor")
    signed = sign_in(password)
    cookie = signed.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    provided(web_app, Context).desk.set_disabled("p.visitor", True)
    assert client.get("/partners/").status_code == 302, "a disabled account's session ends"

"""Hostile bodies, strings and query strings against every service.

- every JSON-accepting route (read from url_map): oversized body 413 (also
  one sent chunked, without a Content-Length), wrong content type 415 (also
  chunked), deeply nested JSON a 4xx, never a 5xx;
- a compressed body (Content-Encoding) is 415 naming the header, one that is not UTF-8
  a 400 saying so;
- a chunked body cut short at the size limit (what Caddy passes on when it
  gives up on a longer one) is refused, never taken for the whole body;
- unicode edge cases and injection strings in every text field: stored and
  read back exactly (or refused with a 422 naming the field), never a 5xx,
  on both store adapters;
- MongoDB operators smuggled in JSON values and query strings change nothing;
- the web front end shows stored hostile text escaped.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from ccshared.web import provided
from flask import Flask
from frontend.views import Context
from hostile_testkit import (
    LETTER,
    REFERRAL,
    Stack,
    bearer,
    contacts_app,
    directory_app,
    letter,
    notifier_app,
    referral,
    sla_app,
    sqlite_url,
    stack,
)

HOSTILE_STRINGS = {
    "script": "<script>alert('x')</script>",
    "sql": "' OR 1=1 --",
    "operator_text": '{"$gt": ""}',
    "where_text": '{"$where": "sleep(100)"}',
    "nul": "Test\u0000Name",
    "rtl_override": "Test \u202eeman\u202c Name",
    "emoji": "Test 👩‍👧 Name 🏳️‍🌈",
    "combining": "Te\u0301st Na\u0308me",
    "long": "x" * 10_000,
}
BODY_LIMIT = 256 * 1024
# A body without a Content-Length, as gunicorn hands one on: it ends the stream itself.
STREAMED = {"Transfer-Encoding": "chunked"}
TERMINATED = {"wsgi.input_terminated": True}
OPERATOR_VALUES = [{"$gt": ""}, {"$where": "sleep(100)"}, {"$ne": None}, ["$in"], {"$regex": ".*"}]


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path, "hostile")
    else:
        yield request.getfixturevalue("mongo").store_url(request.getfixturevalue("fresh_mongo_db"))


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Flask]:
    tmp = tmp_path_factory.mktemp("input")
    return {
        "directory": directory_app(sqlite_url(tmp, "directory"), tmp),
        "contacts": contacts_app(sqlite_url(tmp, "contacts"), tmp).app,
        "sla-monitor": sla_app(sqlite_url(tmp, "sla"), tmp),
        "notifier": notifier_app(sqlite_url(tmp, "notifier"), tmp),
    }


def _body_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, concrete path) of every route that takes a body."""
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<{argument}>", "x").replace(f"<string:{argument}>", "x")
            routes.append((method, path))
    return routes


def _all_body_routes(apps: dict[str, Flask]) -> list[tuple[str, str, str]]:
    return [(name, method, path) for name, app in apps.items() for method, path in _body_routes(app)]


def _headers(service: str, extra: dict | None = None) -> dict:
    return {**bearer("principal_officer", to=service), **(extra or {})}


def test_hostile_every_body_route_refuses_oversized_wrong_type_and_deep_bodies(
    apps: dict[str, Flask],
) -> None:
    routes = _all_body_routes(apps)
    assert len(routes) >= 10, routes
    deep_array = b"[" * 100_000 + b"]" * 100_000
    for name, method, path in routes:
        client = apps[name].test_client()
        json_type = {"Content-Type": "application/json"}
        big = client.open(path, method=method, data=b" " * (300 * 1024), headers=_headers(name, json_type))
        # a route that never reads its body (verify of no such centre) answers 404 first
        assert big.status_code in (413, 404), (name, path, big.status_code)
        assert big.get_json()["error"]["status"] == big.status_code
        streamed = client.open(
            path,
            method=method,
            input_stream=io.BytesIO(b" " * (300 * 1024)),
            headers=_headers(name, {**json_type, **STREAMED}),
            environ_overrides=TERMINATED,
        )
        assert streamed.status_code == 413, (name, path, streamed.status_code)
        assert streamed.get_json()["error"]["status"] == 413
        wrong = client.open(
            path, method=method, data=b"name=x", headers=_headers(name, {"Content-Type": "text/plain"})
        )
        assert wrong.status_code == 415, (name, path, wrong.status_code)
        assert wrong.get_json()["error"]["status"] == 415
        for depth in (100, 900, 1100, 5000):
            for body in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
                answer = client.open(path, method=method, data=body, headers=_headers(name, json_type))
                assert 400 <= answer.status_code < 500, (name, path, depth, answer.status_code)
                assert "error" in answer.get_json()
        answer = client.open(path, method=method, data=deep_array, headers=_headers(name, json_type))
        assert 400 <= answer.status_code < 500, (name, path, answer.status_code)


def test_hostile_every_body_route_refuses_a_chunked_body_that_is_not_json(
    apps: dict[str, Flask], tmp_path: Path
) -> None:
    """A body sent chunked has no Content-Length; it is refused with 415 all the same, and an
    empty one passes as one with Content-Length: 0 does. The front end's forms are not JSON."""
    for name, method, path in _all_body_routes(apps):
        client = apps[name].test_client()
        for body, refused in ((b"name=x", True), (b"", False)):
            sent = client.open(
                path,
                method=method,
                input_stream=io.BytesIO(body),
                headers=_headers(name, {"Content-Type": "text/plain", **STREAMED}),
                environ_overrides=TERMINATED,
            )
            assert (sent.status_code == 415) is refused, (name, method, path, body, sent.status_code)
            assert sent.get_json()["error"]["status"] == sent.status_code
    web = stack(tmp_path).web.test_client()
    form = web.post(
        "/sign-in",
        input_stream=io.BytesIO(b"username=test&password=x"),
        content_type="application/x-www-form-urlencoded",
        headers=STREAMED,
        environ_overrides=TERMINATED,
    )
    assert form.status_code != 415


def test_hostile_every_body_route_answers_a_huge_integer_with_a_4xx(apps: dict[str, Flask]) -> None:
    """Python refuses to read an integer of over 4,300 digits (a ValueError deep in
    json.loads): every route answers 400 in the envelope, wherever the number is."""
    huge = b"9" * 5000
    bodies = (huge, b'{"page": ' + huge + b"}", b'{"a": [1, {"b": -' + huge + b"}]}")
    for name, method, path in _all_body_routes(apps):
        client = apps[name].test_client()
        for body in bodies:
            answer = client.open(
                path, method=method, data=body, headers=_headers({"Content-Type": "application/json"})
            )
            assert 400 <= answer.status_code < 500, (name, path, answer.status_code)
            assert answer.get_json()["error"]["status"] == answer.status_code


def test_hostile_every_body_route_names_a_compressed_or_non_utf8_body(apps: dict[str, Flask]) -> None:
    """A gzip body, or one in another encoding, was answered as if it held a huge integer (its
    bytes failed to decode, and that error was taken for the integer's): a Content-Encoding is
    415 naming the header, bytes that are not UTF-8 a 400 saying so, whatever the bytes hold."""
    json_type = {"Content-Type": "application/json"}
    # \xed\xa0 looks like an encoded surrogate, the hint that the body is parsed up front.
    compressed = gzip.compress(b'{"reason": "Test reason"}') + b"\xed\xa0\x80"
    latin1 = '{"reason": "Test caf\u00e9 \u00ed\u00a0"}'.encode("latin-1")
    for name, method, path in _all_body_routes(apps):
        client = apps[name].test_client()
        for coding in ("gzip", "br", "deflate, identity"):
            sent = client.open(
                path,
                method=method,
                data=compressed,
                headers=_headers(name, {**json_type, "Content-Encoding": coding}),
            )
            assert sent.status_code == 415, (name, path, coding, sent.status_code)
            assert "Content-Encoding" in sent.get_json()["error"]["message"]
            assert "uncompressed" in sent.get_json()["error"]["message"]
            assert sent.headers["Accept-Encoding"] == "identity"
        for body in (compressed, latin1, '{"a": "Test"}'.encode("utf-16")):
            sent = client.open(path, method=method, data=body, headers=_headers(name, json_type))
            assert sent.status_code == 400, (name, path, body, sent.status_code)
            message = sent.get_json()["error"]["message"]
            assert "not UTF-8" in message and "digits" not in message, (name, path, message)
        identity = _headers(name, {**json_type, "Content-Encoding": "identity"})
        assert client.open(path, method=method, data=b"{}", headers=identity).status_code != 415


def test_hostile_web_refuses_oversized_forms(tmp_path: Path) -> None:
    built = stack(tmp_path)
    client = built.web.test_client()
    answer = client.post("/sign-in", data={"username": "x" * (300 * 1024), "password": "x"})
    assert answer.status_code == 413
    streamed = client.post(
        "/sign-in",
        input_stream=io.BytesIO(b"username=" + b"x" * (300 * 1024) + b"&password=x"),
        content_type="application/x-www-form-urlencoded",
        headers=STREAMED,
        environ_overrides=TERMINATED,
    )
    assert streamed.status_code == 413


class _CutShort(io.BytesIO):
    """A chunked body whose sender went away before the last chunk: once what arrived is
    read, gunicorn's reader raises (NoMoreData, an OSError) instead of ending the body."""

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data:
            raise OSError("no more data")
        return data


def test_hostile_a_chunked_body_cut_short_at_the_limit_is_not_acted_on(tmp_path: Path) -> None:
    """Caddy, given a chunked body over 256 KiB, passes the first 256 KiB on and stops there:
    a referral padded with spaces to that size would parse if taken for the whole body."""
    world = contacts_app(sqlite_url(tmp_path, "contacts"), tmp_path, seed=False)
    client = world.app.test_client()
    document = json.dumps(REFERRAL).encode()
    body = document + b" " * (BODY_LIMIT - len(document))
    headers = {"X-API-Key": world.agency_key, "Content-Type": "application/json", **STREAMED}

    def post(stream: io.BytesIO) -> int:
        sent = client.post(
            "/api/v1/referrals", input_stream=stream, headers=headers, environ_overrides=TERMINATED
        )
        return sent.status_code

    assert post(_CutShort(body)) == 400
    assert client.get("/api/v1/referrals", headers=headers).get_json()["total"] == 0
    assert post(io.BytesIO(body)) == 201, "a whole body of exactly 256 KiB is within the limit"


# Unicode and injection strings in every text field ------------------------------

CONTACT_TEXT_FIELDS = [
    ("subject",),
    ("summary",),
    ("requester", "name"),
    ("requester", "address"),
]
REFERRAL_TEXT_FIELDS = [
    ("referrer", "name"),
    ("referrer", "role"),
    ("family", "name"),
    ("family", "address"),
    ("family", "postcode"),
    ("consent", "recorded_by"),
    ("notes",),
]


def _with(body: dict, path: tuple[str, ...], value: object) -> dict:
    changed = json.loads(json.dumps(body))
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def _dig(body: dict, path: tuple[str, ...]) -> object:
    for key in path:
        body = body[key]
    return body


def test_hostile_strings_in_contact_fields_round_trip(store_url: str, tmp_path: Path) -> None:
    world = contacts_app(store_url, tmp_path, seed=False)
    client = world.app.test_client()
    staff = bearer("staff", "north", to="contacts")
    for path in CONTACT_TEXT_FIELDS:
        for label, value in HOSTILE_STRINGS.items():
            made = client.post("/api/v1/contacts", json=_with(LETTER, path, value), headers=staff)
            assert made.status_code in (201, 422), (path, label, made.status_code, made.text[:300])
            if made.status_code == 422:
                assert path[-1] in json.dumps(made.get_json()["error"]["fields"]), (path, label)
                continue
            read = client.get(f"/api/v1/contacts/{made.get_json()['id']}", headers=staff).get_json()
            assert _dig(read["personal"], path) == value, (path, label)
        for value in OPERATOR_VALUES:
            refused = client.post("/api/v1/contacts", json=_with(LETTER, path, value), headers=staff)
            assert refused.status_code == 422, (path, value, refused.status_code)


def test_hostile_strings_in_referral_fields_round_trip(store_url: str, tmp_path: Path) -> None:
    world = contacts_app(store_url, tmp_path, seed=False)
    client = world.app.test_client()
    partner = {"X-API-Key": world.agency_key}
    for path in REFERRAL_TEXT_FIELDS:
        for label, value in HOSTILE_STRINGS.items():
            made = client.post("/api/v1/referrals", json=_with(REFERRAL, path, value), headers=partner)
            assert made.status_code in (201, 422), (path, label, made.status_code, made.text[:300])
        for value in OPERATOR_VALUES:
            refused = client.post("/api/v1/referrals", json=_with(REFERRAL, path, value), headers=partner)
            assert refused.status_code == 422, (path, value, refused.status_code)


CENTRE_TEXT_FIELDS = [("name",), ("description",), ("ward",), ("accessibility",), ("address", "line1")]


def _centre_body() -> dict:
    return {
        "name": "Test Hostile Centre",
        "address": {"line1": "1 Test Street"},
        "postcode": "L4 0AA",
        "ward": "Test Ward",
        "area": "north",
        "opening_times": {"monday": [{"opens": "09:00", "closes": "17:00"}]},
    }


def test_hostile_strings_in_centre_fields_round_trip(store_url: str, tmp_path: Path) -> None:
    client = directory_app(store_url, tmp_path).test_client()
    admin = bearer("admin", to="directory")
    for path in CENTRE_TEXT_FIELDS:
        for label, value in HOSTILE_STRINGS.items():
            made = client.post("/api/v1/centres", json=_with(_centre_body(), path, value), headers=admin)
            assert made.status_code in (201, 422), (path, label, made.status_code, made.text[:300])
            if made.status_code == 201:
                read = client.get(f"/api/v1/centres/{made.get_json()['id']}").get_json()
                assert _dig(read, path) == value, (path, label)
        for value in OPERATOR_VALUES:
            refused = client.post("/api/v1/centres", json=_with(_centre_body(), path, value), headers=admin)
            assert refused.status_code == 422, (path, value, refused.status_code)


LONE_SURROGATES = ['"Test \\ud800 Name"', '"\\udfff"', '"\\ud83d"', '"ok \\ud83d\\ude00 then \\udc00"']


@pytest.mark.parametrize("raw", LONE_SURROGATES)
def test_hostile_lone_surrogates_are_refused_naming_the_field(
    store_url: str, tmp_path: Path, raw: str
) -> None:
    world = contacts_app(store_url, tmp_path, seed=False)
    directory = directory_app(store_url, tmp_path).test_client()
    body = json.dumps(_centre_body()).replace('"Test Hostile Centre"', raw)
    answer = directory.post(
        "/api/v1/centres",
        data=body,
        headers={**bearer("admin", to="directory"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text[:300]
    assert "name" in answer.get_json()["error"]["fields"]
    body = json.dumps(REFERRAL).replace('"Test Family Carer"', raw)
    headers = {"X-API-Key": world.agency_key, "Content-Type": "application/json"}
    answer = world.app.test_client().post("/api/v1/referrals", data=body, headers=headers)
    assert answer.status_code == 422, answer.text[:300]
    assert "name" in answer.get_json()["error"]["fields"]["family"]


# Operators in query strings -----------------------------------------------------

QUERY_ATTACKS = [
    "area[$ne]=x",
    "area=%7B%22%24ne%22%3A%22x%22%7D",
    "q=%7B%22%24gt%22%3A%22%22%7D",
    "status[$gt]=",
    "centre_id[$regex]=.*",
    "assignee=%27%20OR%201%3D1%20--",
    "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "q=%00",
    "q=%ED%A0%80",
    "channel=letter&channel[$ne]=x",
    "page[$gt]=0",
    "per_page=1e9",
    "q=" + "x" * 10_000,
]


def _get_routes(app: Flask) -> list[str]:
    return [rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and not rule.arguments]


def test_hostile_query_string_operators_are_inert(apps: dict[str, Flask]) -> None:
    for name, app in apps.items():
        client = app.test_client()
        for path in _get_routes(app):
            for attack in QUERY_ATTACKS:
                answer = client.get(f"{path}?{attack}", headers=_headers(name))
                assert answer.status_code < 500, (name, path, attack, answer.status_code)


def test_hostile_area_operators_do_not_widen_a_staff_view(store_url: str, tmp_path: Path) -> None:
    world = contacts_app(store_url, tmp_path, seed=False)
    client = world.app.test_client()
    south = client.post(
        "/api/v1/contacts",
        json=letter(centre_id="centre-south"),
        headers=bearer("staff", "south", to="contacts"),
    )
    assert south.status_code == 201
    north = bearer("staff", "north", to="contacts")
    for attack in ("area[$ne]=north", "area=%7B%22%24ne%22%3A%22north%22%7D", "centre_id[$ne]=x"):
        answer = client.get(f"/api/v1/contacts?{attack}", headers=north)
        assert answer.status_code in (200, 403, 422), (attack, answer.status_code)
        if answer.status_code == 200:
            assert all(item["area"] == "north" for item in answer.get_json()["items"]), attack
    found = client.get(
        "/api/v1/contacts?centre_id=%7B%22%24gt%22%3A%22%22%7D",
        headers=bearer("principal_officer", to="contacts"),
    )
    assert found.status_code == 200 and found.get_json()["total"] == 0, "a JSON text is a plain value"
    partner = {"X-API-Key": world.agency_key}
    made = client.post("/api/v1/referrals", json=REFERRAL, headers={"X-API-Key": world.other_agency_key})
    assert made.status_code == 201
    for attack in ("agency_id[$ne]=x", "agency_id=example-job-centre", "channel[$ne]=x"):
        referrals = client.get(f"/api/v1/referrals?{attack}", headers=partner)
        # A parameter the list does not take is refused by name, never applied.
        assert referrals.status_code == 422, (attack, referrals.status_code)
        assert list(referrals.get_json()["error"]["fields"]) == [attack.split("=")[0]], attack


def test_hostile_operator_bodies_are_refused(tmp_path: Path) -> None:
    world = contacts_app(sqlite_url(tmp_path, "contacts"), tmp_path)
    client = world.app.test_client()
    staff = bearer("coordinator", "north", to="contacts")
    for value in OPERATOR_VALUES:
        for body in ({"assignee": value}, {"$where": "1"}, {"assignee": "t.x", "$set": {"area": "south"}}):
            answer = client.post(f"/api/v1/contacts/{world.letter_id}/assign", json=body, headers=staff)
            assert answer.status_code == 422, (body, answer.status_code)
        answer = client.post(
            "/api/v1/referrals", json=referral(centre_id=value), headers={"X-API-Key": world.agency_key}
        )
        assert answer.status_code == 422


# Shown safely in HTML ------------------------------------------------------------


@pytest.fixture
def web_stack(tmp_path: Path) -> Stack:
    return stack(tmp_path)


def _signed_in(built: Stack, role: str = "principal_officer", area: str | None = None):  # noqa: ANN202
    import re

    password = provided(built.web, Context).desk.create_account("t.viewer", role, area, None, by="t")[1]
    client = built.web.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)
    signed = client.post("/sign-in", data={"username": "t.viewer", "password": password, "csrf_token": token})
    assert signed.status_code == 302
    return client


def test_hostile_web_escapes_stored_text(web_stack: Stack) -> None:
    script = HOSTILE_STRINGS["script"]
    contacts = web_stack.contacts.app.test_client()
    staff = bearer("staff", "north", to="contacts")
    reversed_name = {"name": HOSTILE_STRINGS["rtl_override"], "reply_by": "post", "address": script}
    refused = contacts.post("/api/v1/contacts", json=letter(requester=reversed_name), headers=staff)
    assert refused.status_code == 422, "a direction override would show the name reversed"
    assert "name" in refused.get_json()["error"]["fields"]["requester"]
    body = letter(subject=script, requester={"name": script, "reply_by": "post", "address": script})
    made = contacts.post("/api/v1/contacts", json=body, headers=staff)
    assert made.status_code == 201
    client = _signed_in(web_stack)
    page = client.get(f"/staff/contacts/{made.get_json()['id']}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(" in page.text
    centre = _centre_body() | {"name": script, "description": HOSTILE_STRINGS["emoji"]}
    made = web_stack.directory.test_client().post(
        "/api/v1/centres", json=centre, headers=bearer("admin", to="directory")
    )
    assert made.status_code == 201
    for path in (f"/centres/{made.get_json()['id']}", "/?q=alert", f"/?q={script}", "/staff/centres/"):
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        assert "<script>alert" not in page.text, path
    listing = client.get("/staff/contacts?q=%3Cscript%3E&status[$ne]=x&area=%7B%22%24gt%22%3A%22%22%7D")
    assert listing.status_code < 500
    assert "<script>alert" not in listing.text


def test_hostile_admin_reset_or_disable_of_an_unknown_user_is_a_404_page(tmp_path: Path) -> None:
    built = stack(tmp_path)
    desk = provided(built.web, Context).desk
    password = desk.create_account("t.admin", "admin", None, None, by="test")[1]
    client = built.web.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)
    signed = client.post("/sign-in", data={"username": "t.admin", "password": password, "csrf_token": token})
    assert signed.status_code == 302
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/").text).group(1)

    for action, form in (("reset", {}), ("disable", {"disabled": "true"}), ("disable", {})):
        answer = client.post(f"/admin/users/t.nobody/{action}", data={**form, "csrf_token": token})
        assert answer.status_code == 404, (action, answer.status_code)
        assert "no account t.nobody" in answer.text

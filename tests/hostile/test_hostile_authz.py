"""Authorisation matrix: every endpoint of every service x every kind of caller.

The table below is the intended answer. Rows are (service, Flask endpoint,
method); the endpoint list is read from each app's url_map, so a new route
fails `test_hostile_every_endpoint_is_classified` until someone decides who
may call it and adds its row.

The callers:
  anon      no credentials
  partner   partner agency A's API key (X-API-Key); in the web front end, a
            signed-in partner user of agency A
  partner2  partner agency B's API key; in the web front end, a partner user of B
  ptok      a partner user of agency A's bearer token, as the front end signs it
  ptok2     a partner user of agency B's bearer token
  st_other  staff of the south area (the targets are in the north)
  st_own    staff of the north area
  coord     north area coordinator
  po        Principal Officer
  admin     administrator

Targets: a north contact logged by staff, a referral by agency A to a north
centre, a north sample centre, a message to the north coordinator, a failed
e-mail to the north coordinator. Each
state-changing request acts on a fresh target, so cells do not interfere.
In the web front end callers are signed-in sessions (bearer tokens and API
keys mean nothing there, so ptok and ptok2 see what anonymous callers see);
302 is the redirect to sign-in (or, after a form post, to the next page).
Partners and staff stay apart both ways: a partner token or user is refused
on every staff endpoint and page, and staff on every partner one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ccshared.ratelimit import Limit
from ccshared.web import provided
from contacts.api import Services
from directory import api as directory_api
from flask import Flask
from flask.testing import FlaskClient
from frontend.presenters import local_now_fields
from frontend.views import Context
from frontend.views.centres import form_values
from hostile_testkit import NOW, Stack, bearer, stack
from notifier import api as notifier_api
from notifier import domain as notifier_domain
from sla_monitor import api as sla_api

from tests.infra.payloads import LETTER, REFERRAL

ROLES = ("anon", "partner", "partner2", "ptok", "ptok2", "st_other", "st_own", "coord", "po", "admin")
AGENCY_A = "example-health-visitors"
AGENCY_B = "example-job-centre"
# The matrix names services by their test apps; tokens name each by its own name.
AUDIENCES = {
    "contacts": "contacts",
    "directory": "directory",
    "sla": "sla-monitor",
    "notifier": "notifier",
    "web": "web",
}

MATRIX = """
service    endpoint                           method anon partner partner2 ptok  ptok2 st_other st_own coord po  admin
contacts   contacts.create_contact            POST   401  401     401      403   403   403      201    201   201 201
contacts   contacts.list_contacts             GET    401  401     401      403   403   200      200    200   200 200
contacts   contacts.get_contact               GET    401  401     401      403   403   404      200    200   200 200
contacts   contacts.contact_audit             GET    401  401     401      403   403   404      200    200   200 200
contacts   contacts.assign                    POST   401  401     401      403   403   404      200    200   200 200
contacts   contacts.respond                   POST   401  401     401      403   403   404      200    200   200 200
contacts   contacts.close                     POST   401  401     401      403   403   404      200    200   200 200
contacts   contacts.withdraw                  POST   401  401     401      403   403   404      200    200   200 200
contacts   contacts.pause                     POST   401  401     401      403   403   404      200    200   200 200
contacts   contacts.resume                    POST   401  401     401      403   403   404      200    200   200 200
contacts   contacts.open_referral             POST   401  401     401      403   403   404      200    200   200 200
contacts   contacts.accept_referral           POST   401  401     401      403   403   404      200    200   200 200
contacts   contacts.decline_referral          POST   401  401     401      403   403   404      200    200   200 200
contacts   referrals.create_referral          POST   401  201     201      201   201   403      403    403   403 403
contacts   referrals.list_referrals           GET    401  200     200      200   200   403      403    403   403 403
contacts   referrals.get_referral             GET    401  200     404      200   404   403      403    403   403 403
contacts   referrals.nearest_centre           GET    401  200     200      200   200   403      403    403   403 403
contacts   referrals.calling_agency           GET    401  200     200      200   200   403      403    403   403 403
contacts   partner_openapi                    GET    200  200     200      200   200   200      200    200   200 200
contacts   internal.referral_notice           GET    401  401     401      403   403   403      403    403   403 403
contacts   internal.agency_notice             GET    401  401     401      403   403   403      403    403   403 403
contacts   webhook_deliveries.list_deliveries GET    401  401     401      403   403   200      200    200   200 200
contacts   subject_access.search              POST   401  401     401      403   403   403      403    403   403 200
contacts   subject_access.erase               POST   401  401     401      403   403   403      403    403   403 200
directory  centres.ServiceTypes               GET    200  200     200      200   200   200      200    200   200 200
directory  centres.Centres                    GET    200  200     200      200   200   200      200    200   200 200
directory  centres.Centres                    POST   401  401     401      403   403   403      403    403   403 201
directory  centres.StaleCentres               GET    401  401     401      403   403   200      200    200   200 200
directory  centres.Centre                     GET    200  200     200      200   200   200      200    200   200 200
directory  centres.Centre                     PATCH  401  401     401      403   403   403      403    200   200 200
directory  centres.Verify                     POST   401  401     401      403   403   403      200    200   200 200
directory  centres.Close                      POST   401  401     401      403   403   403      403    403   403 200
directory  centres.Audit                      GET    401  401     401      403   403   403      200    200   200 200
directory  oruk.Root                          GET    200  200     200      200   200   200      200    200   200 200
directory  oruk_openapi                       GET    200  200     200      200   200   200      200    200   200 200
directory  oruk.Services                      GET    200  200     200      200   200   200      200    200   200 200
directory  oruk.Service                       GET    200  200     200      200   200   200      200    200   200 200
directory  oruk.ServiceAtLocations            GET    200  200     200      200   200   200      200    200   200 200
directory  oruk.ServiceAtLocation             GET    200  200     200      200   200   200      200    200   200 200
directory  oruk.Taxonomies                    GET    200  200     200      200   200   200      200    200   200 200
directory  oruk.Taxonomy                      GET    200  200     200      200   200   200      200    200   200 200
directory  oruk.TaxonomyTerms                 GET    200  200     200      200   200   200      200    200   200 200
directory  oruk.TaxonomyTerm                  GET    200  200     200      200   200   200      200    200   200 200
directory  oruk.Organizations                 GET    200  200     200      200   200   200      200    200   200 200
directory  oruk.Organization                  GET    200  200     200      200   200   200      200    200   200 200
directory  partners.PartnerFeeds              GET    401  401     401      403   403   200      200    200   200 200
directory  partners.Hide                      POST   401  401     401      403   403   403      403    200   200 200
directory  partners.Show                      POST   401  401     401      403   403   403      403    200   200 200
sla        sla.due                            GET    200  200     200      200   200   200      200    200   200 200
sla        sla.clocks                         GET    401  401     401      403   403   200      200    200   200 200
sla        sla.clock_of                       GET    401  401     401      403   403   404      200    200   200 200
sla        sla.compliance_report              GET    200  200     200      200   200   200      200    200   200 200
notifier   notifications.list_notifications   GET    401  401     401      403   403   403      403    200   200 200
notifier   notifications.resend               POST   401  401     401      403   403   403      403    200   200 200
notifier   messages.list_messages             GET    401  401     401      403   403   200      200    200   200 200
notifier   messages.show_message              GET    401  401     401      403   403   404      404    200   200 200
web        public.find                        GET    200  200     200      200   200   200      200    200   200 200
web        public.centre                      GET    200  200     200      200   200   200      200    200   200 200
web        public.how_we_are_doing            GET    200  200     200      200   200   200      200    200   200 200
web        auth.sign_in                       GET    200  302     302      200   200   302      302    302   302 302
web        auth.sign_in_post                  POST   401  401     401      401   401   401      401    401   401 401
web        auth.sign_out                      POST   302  302     302      302   302   302      302    302   302 302
web        contacts.today                     GET    302  403     403      302   302   200      200    200   200 200
web        contacts.list_contacts             GET    302  403     403      302   302   200      200    200   200 200
web        contacts.contacts_file             GET    302  403     403      302   302   200      200    200   200 200
web        contacts.new_contact               GET    302  403     403      302   302   200      200    200   200 200
web        contacts.log_contact               POST   302  403     403      302   302   403      302    302   302 302
web        contacts.show                      GET    302  403     403      302   302   404      200    200   200 200
web        contacts.act                       POST   302  403     403      302   302   404      302    302   302 302
web        reports.compliance                 GET    302  403     403      302   302   200      200    200   200 200
web        reports.compliance_file            GET    302  403     403      302   302   200      200    200   200 200
web        centres.index                      GET    302  403     403      302   302   200      200    200   200 200
web        centres.stale                      GET    302  403     403      302   302   200      200    200   200 200
web        centres.edit                       GET    302  403     403      302   302   403      200    200   200 200
web        centres.save                       POST   302  403     403      302   302   403      403    302   302 302
web        centres.verify                     POST   302  403     403      302   302   403      302    302   302 302
web        partner_feeds.index                GET    302  403     403      302   302   200      200    200   200 200
web        partner_feeds.hide                 POST   302  403     403      302   302   403      403    302   302 302
web        partner_feeds.show                 POST   302  403     403      302   302   403      403    302   302 302
web        mail.log                           GET    302  403     403      302   302   200      200    200   200 200
web        mail.resend                        POST   302  403     403      302   302   403      403    302   302 302
web        mail.message                       GET    302  403     403      302   302   404      404    200   200 200
web        mail.message_html                  GET    302  403     403      302   302   404      404    200   200 200
web        admin.users                        GET    302  403     403      302   302   403      403    403   403 200
web        admin.create_user                  POST   302  403     403      302   302   403      403    403   403 200
web        admin.reset                        POST   302  403     403      302   302   403      403    403   403 200
web        admin.disable                      POST   302  403     403      302   302   403      403    403   403 302
web        subject_access.form                GET    302  403     403      302   302   403      403    403   403 200
web        subject_access.search              POST   302  403     403      302   302   403      403    403   403 200
web        subject_access.download            POST   302  403     403      302   302   403      403    403   403 200
web        subject_access.erase               POST   302  403     403      302   302   403      403    403   403 302
web        partners.referrals                 GET    302  200     200      302   302   403      403    403   403 403
web        partners.referral                  GET    302  200     404      302   302   403      403    403   403 403
web        partners.refer                     GET    302  200     200      302   302   403      403    403   403 403
web        partners.refer_post                POST   302  302     302      302   302   403      403    403   403 403
*          healthz                            GET    200  200     200      200   200   200      200    200   200 200
*          readyz                             GET    200  200     200      200   200   200      200    200   200 200
*          metrics                            GET    200  200     200      200   200   200      200    200   200 200
*          api-docs.openapi_json              GET    200  200     200      200   200   200      200    200   200 200
*          static                             GET    404  404     404      404   404   404      404    404   404 404
"""

SERVICES = ("contacts", "directory", "sla", "notifier", "web")


def _table() -> dict[tuple[str, str, str], dict[str, int]]:
    lines = [line.split() for line in MATRIX.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert tuple(header[3:]) == ROLES
    table = {}
    for service, endpoint, method, *statuses in rows:
        for name in SERVICES if service == "*" else (service,):
            table[(name, endpoint, method)] = dict(zip(ROLES, map(int, statuses), strict=True))
    return table


TABLE = _table()


# The world the requests act on -----------------------------------------------


@dataclass
class World:
    stack: Stack
    tmp: Path
    web_clients: dict[str, FlaskClient] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)

    def app(self, service: str) -> Flask:
        return {
            "contacts": self.stack.contacts.app,
            "directory": self.stack.directory,
            "sla": self.stack.sla,
            "notifier": self.stack.notifier,
            "web": self.stack.web,
        }[service]

    def headers(self, role: str, service: str = "contacts") -> Mapping[str, str]:
        """The caller's credentials; a bearer token is made for `service` (its audience)."""
        contacts = self.stack.contacts
        to = AUDIENCES[service]
        return {
            "anon": lambda: {},
            "partner": lambda: {"X-API-Key": contacts.agency_key},
            "partner2": lambda: {"X-API-Key": contacts.other_agency_key},
            "ptok": lambda: bearer("partner", agency=AGENCY_A, to=to),
            "ptok2": lambda: bearer("partner", agency=AGENCY_B, to=to),
            "st_other": lambda: bearer("staff", "south", to=to),
            "st_own": lambda: bearer("staff", "north", to=to),
            "coord": lambda: bearer("coordinator", "north", to=to),
            "po": lambda: bearer("principal_officer", to=to),
            "admin": lambda: bearer("admin", to=to),
        }[role]()

    # Fresh targets

    def letter(self, responded: bool = False, paused: bool = False) -> str:
        client = self.stack.contacts.app.test_client()
        made = client.post("/api/v1/contacts", json=LETTER, headers=bearer("staff", "north", to="contacts"))
        assert made.status_code == 201, made.text
        contact_id = made.get_json()["id"]
        if responded:
            path = f"/api/v1/contacts/{contact_id}/respond"
            answer = client.post(
                path, json={"method": "letter"}, headers=bearer("staff", "north", to="contacts")
            )
            assert answer.status_code == 200, answer.text
        if paused:
            path = f"/api/v1/contacts/{contact_id}/pause"
            waiting = client.post(
                path,
                json={"reason_code": "waiting_on_family"},
                headers=bearer("staff", "north", to="contacts"),
            )
            assert waiting.status_code == 200, waiting.text
        return contact_id

    def referral(self, opened: bool = False) -> str:
        body = {**REFERRAL, "centre_id": "centre-north"}
        client = self.stack.contacts.app.test_client()
        made = client.post("/api/v1/referrals", json=body, headers=self.headers("partner"))
        assert made.status_code == 201, made.text
        contact_id = made.get_json()["id"]
        if opened:
            path = f"/api/v1/contacts/{contact_id}/referral/open"
            assert client.post(path, headers=bearer("coordinator", "north", to="contacts")).status_code == 200
        return contact_id

    def north_clock(self) -> str:
        """The SLA monitor's clock of a north contact (hostile_testkit.sla_app starts one)."""
        clocks = provided(self.stack.sla, sla_api.Context).clocks
        return next(iter(clocks.find({"area": "north"}))).contact_id

    def centre(self) -> str:
        body = {
            "name": "Test Matrix Centre",
            "address": {"line1": "1 Test Street"},
            "postcode": "L4 0AA",
            "ward": "Test Ward",
            "area": "north",
            "opening_times": {"monday": [{"opens": "09:00", "closes": "17:00"}]},
        }
        made = self.stack.directory.test_client().post(
            "/api/v1/centres", json=body, headers=bearer("admin", to="directory")
        )
        assert made.status_code == 201, made.text
        return made.get_json()["id"]

    def centre_version(self, centre_id: str) -> str:
        return self.stack.directory.test_client().get(f"/api/v1/centres/{centre_id}").headers["ETag"]

    def partner_service(self) -> str:
        """A fresh partner's service, as the importer would store it from a feed."""
        from directory.partners import Feed, from_record

        record = {"id": str(uuid.uuid4()), "name": "Test Partner Service", "status": "active"}
        service = from_record(Feed("test-partner", "http://partner.test/oruk"), record, NOW)
        provided(self.stack.directory, directory_api.Context).signposting.repository.services.upsert(
            {**service, "hidden": False}
        )
        return service["_id"]

    def oruk_service_id(self) -> str:
        found = self.stack.directory.test_client().get("/oruk/services").get_json()
        return found["contents"][0]["id"]

    def oruk_first_id(self, listing: str) -> str:
        found = self.stack.directory.test_client().get(f"/oruk/{listing}").get_json()
        return found["contents"][0]["id"]

    def failed_mail(self) -> str:
        """A fresh breach notice to the north coordinator that the relay refused for good."""
        notice = notifier_domain.own_mail(
            f"test-{uuid.uuid4().hex[:8]}",
            "coordinator.north@example.org",
            NOW,
            kind=notifier_domain.EVENT,
            event_type="sla.breached.v1",
            area="north",
            data={},
        )
        notice.claim(NOW)
        notice.failed_permanently(NOW, "550 5.1.1 Test refusal")
        assert provided(self.stack.notifier, notifier_api.AppContext).notifications.add(notice)
        return notice.id

    def web_account(self, username: str, role: str, area: str | None, agency: str | None = None) -> str:
        desk = provided(self.stack.web, Context).desk
        self.passwords[username] = desk.create_account(username, role, area, None, by="test", agency=agency)[
            1
        ]
        return self.passwords[username]


WEB_USERS = {
    "partner": ("t.partner.a", "partner", None, AGENCY_A),
    "partner2": ("t.partner.b", "partner", None, AGENCY_B),
    "st_other": ("t.staff.south", "staff", "south", None),
    "st_own": ("t.staff.north", "staff", "north", None),
    "coord": ("t.coord.north", "coordinator", "north", None),
    "po": ("t.principal", "principal_officer", None, None),
    "admin": ("t.admin", "admin", None, None),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("authz")
    built = World(stack(tmp), tmp)
    # Every caller signs in, from one address, many times over: the limit has its own tests.
    provided(built.stack.web, Context).sign_in_limiter.limit = Limit(10_000, 60)
    for username, role, area, agency in WEB_USERS.values():
        built.web_account(username, role, area, agency)
    yield built


def _csrf(client: FlaskClient) -> str:
    page = client.get("/sign-in").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if found is None:  # signed in: /sign-in redirects; any form page carries the token
        page = client.get("/staff/contacts/new").text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token found"
    return found.group(1)


def _web_client(world: World, role: str) -> FlaskClient:
    """A signed-in session per role, kept for the module (signing in costs an argon2 hash)."""
    if role in world.web_clients:
        return world.web_clients[role]
    client = world.stack.web.test_client()
    if role in WEB_USERS:
        username = WEB_USERS[role][0]
        password = world.passwords[username]
        token = _csrf(client)
        signed = client.post(
            "/sign-in", data={"username": username, "password": password, "csrf_token": token}
        )
        assert signed.status_code == 302, signed.text
    world.web_clients[role] = client
    return client


# One request per row ---------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    json: Any = None
    form: dict | None = None
    headers: dict = field(default_factory=dict)


Builder = Callable[[World], Call]


def _contact_action(action: str, body: Any = None, referral: str | None = None) -> Builder:
    def build(world: World) -> Call:
        if referral is None:
            target = world.letter(responded=action == "close", paused=action == "resume")
        else:
            target = world.referral(opened=referral == "opened")
        return Call("POST", f"/api/v1/contacts/{target}/{action}", json=body if body is not None else {})

    return build


def _web_act(world: World) -> Call:
    return Call("POST", f"/staff/contacts/{world.letter()}/assign", form={"assignee": WEB_USERS["st_own"][0]})


def _web_log(world: World) -> Call:
    received_date, received_time = local_now_fields(NOW)
    form = {
        "channel": "letter",
        "centre_id": "centre-north",
        "subject": "Test subject",
        "name": "Test Parent",
        "reply_by": "post",
        "address": "1 Test Street",
        "received_date": received_date,
        "received_time": received_time,
    }
    return Call("POST", "/staff/contacts/new", form=form)


def _web_save(world: World) -> Call:
    centre_id = world.centre()
    centre = world.stack.directory.test_client().get(f"/api/v1/centres/{centre_id}").get_json()
    form = {**form_values(centre), "name": "Test Matrix Centre Renamed"}
    form["etag"] = world.centre_version(centre_id).strip('"')
    return Call("POST", f"/staff/centres/{centre_id}", form=form)


def _web_refer(world: World) -> Call:
    consent_date, consent_time = local_now_fields(NOW)
    form = {
        "idempotency_key": uuid.uuid4().hex,
        "family_name": "Test Family Carer",
        "child_rows": "1",
        "child_1_age": "2",
        "child_1_unit": "years",
        "family_phone": "07700 900123",
        "support_needed": "stay-and-play",
        "urgency": "soon",
        "referrer_name": "Test Referrer",
        "referrer_email": "referrer@example.org",
        "consent_given": "yes",
        "consent_by": "Test Referrer",
        "consent_date": consent_date,
        "consent_time": consent_time,
        "centre_choice": "named",
        "centre_id": "centre-north",
        "action": "send",
    }
    return Call("POST", "/partners/refer", form=form)


def _web_admin_target(action: str) -> Builder:
    def build(world: World) -> Call:
        username = f"t.target.{uuid.uuid4().hex[:6]}"
        world.web_account(username, "staff", "north")
        return Call("POST", f"/admin/users/{username}/{action}", form={})

    return build


REQUESTS: dict[tuple[str, str, str], Builder] = {
    ("contacts", "contacts.create_contact", "POST"): lambda w: Call("POST", "/api/v1/contacts", json=LETTER),
    ("contacts", "contacts.list_contacts", "GET"): lambda w: Call("GET", "/api/v1/contacts"),
    ("contacts", "contacts.get_contact", "GET"): lambda w: Call("GET", f"/api/v1/contacts/{w.letter()}"),
    ("contacts", "contacts.contact_audit", "GET"): lambda w: Call(
        "GET", f"/api/v1/contacts/{w.letter()}/audit"
    ),
    ("contacts", "contacts.assign", "POST"): _contact_action("assign", {"assignee": "test.staff.north"}),
    ("contacts", "contacts.respond", "POST"): _contact_action("respond", {"method": "letter"}),
    ("contacts", "contacts.close", "POST"): _contact_action("close"),
    ("contacts", "contacts.withdraw", "POST"): _contact_action("withdraw"),
    ("contacts", "contacts.pause", "POST"): _contact_action("pause", {"reason_code": "waiting_on_partner"}),
    ("contacts", "contacts.resume", "POST"): _contact_action("resume"),
    ("contacts", "contacts.open_referral", "POST"): _contact_action("referral/open", referral="new"),
    ("contacts", "contacts.accept_referral", "POST"): _contact_action("referral/accept", referral="opened"),
    ("contacts", "contacts.decline_referral", "POST"): _contact_action(
        "referral/decline", {"reason": "Test reason", "reason_code": "other"}, referral="opened"
    ),
    ("contacts", "referrals.create_referral", "POST"): lambda w: Call(
        "POST", "/api/v1/referrals", json={**REFERRAL, "centre_id": "centre-north"}
    ),
    ("contacts", "referrals.list_referrals", "GET"): lambda w: Call("GET", "/api/v1/referrals"),
    ("contacts", "partner_openapi", "GET"): lambda w: Call("GET", "/api/v1/referrals/openapi.json"),
    ("contacts", "referrals.nearest_centre", "GET"): lambda w: Call(
        "GET", "/api/v1/referrals/nearest-centre?postcode_district=L4&support_needed=stay-and-play"
    ),
    ("contacts", "referrals.get_referral", "GET"): lambda w: Call("GET", f"/api/v1/referrals/{w.referral()}"),
    ("contacts", "referrals.calling_agency", "GET"): lambda w: Call("GET", "/api/v1/referrals/agency"),
    ("contacts", "internal.referral_notice", "GET"): lambda w: Call(
        "GET", f"/api/v1/internal/referrals/{w.referral()}"
    ),
    ("contacts", "internal.agency_notice", "GET"): lambda w: Call("GET", "/api/v1/internal/agencies/example"),
    ("contacts", "webhook_deliveries.list_deliveries", "GET"): lambda w: Call(
        "GET", "/api/v1/webhook-deliveries"
    ),
    ("contacts", "subject_access.search", "POST"): lambda w: Call(
        "POST", "/api/v1/subject-access/search", json={"name": "Test Parent"}
    ),
    ("contacts", "subject_access.erase", "POST"): lambda w: Call(
        "POST",
        "/api/v1/subject-access/erase",
        json={"name": "Test Parent", "contact_ids": [w.letter()], "reason": "erasure_request"},
    ),
    ("directory", "centres.ServiceTypes", "GET"): lambda w: Call("GET", "/api/v1/services-list"),
    ("directory", "centres.Centres", "GET"): lambda w: Call("GET", "/api/v1/centres?q=Test"),
    ("directory", "centres.Centres", "POST"): lambda w: Call(
        "POST",
        "/api/v1/centres",
        json={
            "name": "Test New Centre",
            "address": {"line1": "2 Test Street"},
            "postcode": "L4 0AB",
            "ward": "Test Ward",
            "area": "north",
            "opening_times": {},
        },
    ),
    ("directory", "centres.StaleCentres", "GET"): lambda w: Call("GET", "/api/v1/centres/stale"),
    ("directory", "centres.Centre", "GET"): lambda w: Call("GET", f"/api/v1/centres/{w.centre()}"),
    ("directory", "centres.Centre", "PATCH"): lambda w: _patch(w),
    ("directory", "centres.Verify", "POST"): lambda w: Call("POST", f"/api/v1/centres/{w.centre()}/verify"),
    ("directory", "centres.Close", "POST"): lambda w: Call(
        "POST", f"/api/v1/centres/{w.centre()}/close", json={"reason": "Test closure"}
    ),
    ("directory", "centres.Audit", "GET"): lambda w: Call("GET", f"/api/v1/centres/{w.centre()}/audit"),
    ("directory", "partners.PartnerFeeds", "GET"): lambda w: Call("GET", "/api/v1/partner-feeds"),
    ("directory", "partners.Hide", "POST"): lambda w: Call(
        "POST", f"/api/v1/partner-services/{w.partner_service()}/hide", json={"reason": "Test reason"}
    ),
    ("directory", "partners.Show", "POST"): lambda w: Call(
        "POST", f"/api/v1/partner-services/{w.partner_service()}/show", json={}
    ),
    ("directory", "oruk.Root", "GET"): lambda w: Call("GET", "/oruk/"),
    ("directory", "oruk_openapi", "GET"): lambda w: Call("GET", "/oruk/openapi.json"),
    ("directory", "oruk.Services", "GET"): lambda w: Call("GET", "/oruk/services"),
    ("directory", "oruk.Service", "GET"): lambda w: Call("GET", f"/oruk/services/{w.oruk_service_id()}"),
    ("directory", "oruk.ServiceAtLocations", "GET"): lambda w: Call("GET", "/oruk/service_at_locations"),
    ("directory", "oruk.ServiceAtLocation", "GET"): lambda w: Call(
        "GET", f"/oruk/service_at_locations/{w.oruk_first_id('service_at_locations')}"
    ),
    ("directory", "oruk.Taxonomies", "GET"): lambda w: Call("GET", "/oruk/taxonomies"),
    ("directory", "oruk.Taxonomy", "GET"): lambda w: Call(
        "GET", f"/oruk/taxonomies/{w.oruk_first_id('taxonomies')}"
    ),
    ("directory", "oruk.TaxonomyTerms", "GET"): lambda w: Call("GET", "/oruk/taxonomy_terms"),
    ("directory", "oruk.TaxonomyTerm", "GET"): lambda w: Call(
        "GET", f"/oruk/taxonomy_terms/{w.oruk_first_id('taxonomy_terms')}"
    ),
    ("directory", "oruk.Organizations", "GET"): lambda w: Call("GET", "/oruk/organizations"),
    ("directory", "oruk.Organization", "GET"): lambda w: Call(
        "GET", f"/oruk/organizations/{w.oruk_first_id('organizations')}"
    ),
    ("sla", "sla.due", "GET"): lambda w: Call(
        "GET", "/api/v1/due?channel=letter&received_at=2026-11-23T10:00:00%2B00:00"
    ),
    ("sla", "sla.clocks", "GET"): lambda w: Call("GET", "/api/v1/clocks"),
    ("sla", "sla.clock_of", "GET"): lambda w: Call("GET", f"/api/v1/clocks/{w.north_clock()}"),
    ("sla", "sla.compliance_report", "GET"): lambda w: Call(
        "GET", "/api/v1/reports/compliance?from=2026-11-01&to=2026-11-30"
    ),
    ("notifier", "notifications.list_notifications", "GET"): lambda w: Call("GET", "/api/v1/notifications"),
    ("notifier", "notifications.resend", "POST"): lambda w: Call(
        "POST", f"/api/v1/notifications/{w.failed_mail()}/resend"
    ),
    ("notifier", "messages.list_messages", "GET"): lambda w: Call("GET", "/api/v1/messages"),
    ("notifier", "messages.show_message", "GET"): lambda w: Call("GET", "/api/v1/messages/test-message-1"),
    ("web", "public.find", "GET"): lambda w: Call("GET", "/"),
    ("web", "public.centre", "GET"): lambda w: Call("GET", f"/centres/{w.centre()}"),
    ("web", "public.how_we_are_doing", "GET"): lambda w: Call("GET", "/how-we-are-doing"),
    ("web", "auth.sign_in", "GET"): lambda w: Call("GET", "/sign-in"),
    ("web", "auth.sign_in_post", "POST"): lambda w: Call(
        "POST", "/sign-in", form={"username": f"t.nobody.{uuid.uuid4().hex[:6]}", "password": "not-it"}
    ),
    ("web", "auth.sign_out", "POST"): lambda w: Call("POST", "/sign-out", form={}),
    ("web", "contacts.today", "GET"): lambda w: Call("GET", "/staff/today"),
    ("web", "contacts.list_contacts", "GET"): lambda w: Call("GET", "/staff/contacts"),
    ("web", "contacts.contacts_file", "GET"): lambda w: Call("GET", "/staff/contacts.csv"),
    ("web", "contacts.new_contact", "GET"): lambda w: Call("GET", "/staff/contacts/new"),
    ("web", "contacts.log_contact", "POST"): _web_log,
    ("web", "contacts.show", "GET"): lambda w: Call("GET", f"/staff/contacts/{w.letter()}"),
    ("web", "contacts.act", "POST"): _web_act,
    ("web", "reports.compliance", "GET"): lambda w: Call("GET", "/staff/compliance"),
    ("web", "reports.compliance_file", "GET"): lambda w: Call("GET", "/staff/compliance.csv"),
    ("web", "centres.index", "GET"): lambda w: Call("GET", "/staff/centres/"),
    ("web", "centres.stale", "GET"): lambda w: Call("GET", "/staff/centres/stale"),
    ("web", "centres.edit", "GET"): lambda w: Call("GET", f"/staff/centres/{w.centre()}"),
    ("web", "centres.save", "POST"): _web_save,
    ("web", "centres.verify", "POST"): lambda w: Call("POST", f"/staff/centres/{w.centre()}/verify", form={}),
    ("web", "partner_feeds.index", "GET"): lambda w: Call("GET", "/staff/partner-feeds/"),
    ("web", "partner_feeds.hide", "POST"): lambda w: Call(
        "POST", f"/staff/partner-feeds/services/{w.partner_service()}/hide", form={"reason": "Test reason"}
    ),
    ("web", "partner_feeds.show", "POST"): lambda w: Call(
        "POST", f"/staff/partner-feeds/services/{w.partner_service()}/show", form={}
    ),
    ("web", "mail.log", "GET"): lambda w: Call("GET", "/staff/mail/"),
    ("web", "mail.resend", "POST"): lambda w: Call(
        "POST", f"/staff/mail/notifications/{w.failed_mail()}/resend", form={}
    ),
    ("web", "mail.message", "GET"): lambda w: Call("GET", "/staff/mail/messages/test-message-1"),
    ("web", "mail.message_html", "GET"): lambda w: Call("GET", "/staff/mail/messages/test-message-1/html"),
    ("web", "admin.users", "GET"): lambda w: Call("GET", "/admin/"),
    ("web", "admin.create_user", "POST"): lambda w: Call(
        "POST", "/admin/users", form={"username": "t.made", "role": "staff", "area": "north"}
    ),
    ("web", "subject_access.form", "GET"): lambda w: Call("GET", "/admin/subject-access/"),
    ("web", "subject_access.search", "POST"): lambda w: Call(
        "POST", "/admin/subject-access/", form={"name": "Test Parent"}
    ),
    ("web", "subject_access.download", "POST"): lambda w: Call(
        "POST", "/admin/subject-access/export", form={"name": "Test Parent"}
    ),
    ("web", "subject_access.erase", "POST"): lambda w: Call(
        "POST",
        "/admin/subject-access/erase",
        form={"name": "Test Parent", "contact_id": w.letter(), "reason": "erasure_request", "confirm": "yes"},
    ),
    ("web", "partners.referrals", "GET"): lambda w: Call("GET", "/partners/"),
    ("web", "partners.referral", "GET"): lambda w: Call("GET", f"/partners/referrals/{w.referral()}"),
    ("web", "partners.refer", "GET"): lambda w: Call("GET", "/partners/refer"),
    ("web", "partners.refer_post", "POST"): _web_refer,
    ("web", "admin.reset", "POST"): _web_admin_target("reset"),
    ("web", "admin.disable", "POST"): _web_admin_target("disable"),
}
for _service in SERVICES:
    REQUESTS[(_service, "healthz", "GET")] = lambda w: Call("GET", "/healthz")
    REQUESTS[(_service, "readyz", "GET")] = lambda w: Call("GET", "/readyz")
    REQUESTS[(_service, "metrics", "GET")] = lambda w: Call("GET", "/metrics")
    REQUESTS[(_service, "api-docs.openapi_json", "GET")] = lambda w: Call("GET", "/openapi.json")
    REQUESTS[(_service, "static", "GET")] = lambda w: Call("GET", "/static/no-such-file.txt")


def _patch(world: World) -> Call:
    centre_id = world.centre()
    return Call(
        "PATCH",
        f"/api/v1/centres/{centre_id}",
        json={"name": "Test Matrix Centre Renamed"},
        headers={"If-Match": world.centre_version(centre_id)},
    )


def _send(world: World, service: str, role: str, call: Call) -> int:
    if service == "web":
        client = _web_client(world, role)
        form = {**(call.form or {}), "csrf_token": _csrf(client)} if call.method == "POST" else None
        response = client.open(
            call.path, method=call.method, data=form, headers={**world.headers(role, service), **call.headers}
        )
        if call.path == "/sign-out":
            world.web_clients.pop(role, None)
        return response.status_code
    client = world.app(service).test_client()
    headers = {**world.headers(role, service), **call.headers}
    return client.open(call.path, method=call.method, json=call.json, headers=headers).status_code


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_hostile_every_endpoint_is_classified(world: World) -> None:
    for service in SERVICES:
        routes = _routes(world.app(service))
        classified = {(endpoint, method) for (name, endpoint, method) in TABLE if name == service}
        assert routes - classified == set(), f"{service}: classify these endpoints in MATRIX"
        assert classified - routes == set(), f"{service}: MATRIX names endpoints that no longer exist"
        assert all(key in REQUESTS for key in TABLE), "every row needs a request in REQUESTS"


@pytest.mark.parametrize(
    ("service", "endpoint", "method"), sorted(TABLE), ids=[" ".join(row) for row in sorted(TABLE)]
)
def test_hostile_authorisation_matrix(world: World, service: str, endpoint: str, method: str) -> None:
    expected = TABLE[(service, endpoint, method)]
    got = {}
    for role in ROLES:
        call = REQUESTS[(service, endpoint, method)](world)
        got[role] = _send(world, service, role, call)
    assert got == expected, f"{service} {method} {endpoint}: got {got}"


def test_hostile_partners_read_only_their_own_referrals(world: World) -> None:
    own = world.referral()
    client = world.stack.contacts.app.test_client()
    listed = client.get("/api/v1/referrals?per_page=100", headers=world.headers("partner2")).get_json()
    assert own not in {item["id"] for item in listed["items"]}
    listed = client.get("/api/v1/referrals?per_page=100", headers=world.headers("partner")).get_json()
    assert own in {item["id"] for item in listed["items"]}
    assert all(item["reference"] for item in listed["items"])
    letter_id = world.letter()
    answer = client.get(f"/api/v1/referrals/{letter_id}", headers=world.headers("partner"))
    assert answer.status_code == 404, "a staff-logged contact is not any agency's referral"
    answer = client.get(f"/api/v1/referrals/{own}", headers=world.headers("partner2"))
    assert answer.status_code == 404
    assert "Test Family Carer" not in answer.text and "reference" not in answer.get_json()


def test_hostile_partner_web_users_see_only_their_own_agencys_referrals(world: World) -> None:
    provided(world.stack.contacts.app, Services).clock.advance(minutes=1)  # newest: on the first page
    own = world.referral()
    reference = (
        world.stack.contacts.app.test_client()
        .get(f"/api/v1/referrals/{own}", headers=world.headers("partner"))
        .get_json()["reference"]
    )
    mine, theirs = _web_client(world, "partner"), _web_client(world, "partner2")

    assert reference in mine.get("/partners/").text
    assert reference not in theirs.get("/partners/").text
    for status in ("new", "opened", "accepted", "declined", "responded", "withdrawn"):
        assert reference not in theirs.get(f"/partners/?status={status}").text
    detail = theirs.get(f"/partners/referrals/{own}")
    assert detail.status_code == 404 and "Test Family Carer" not in detail.text
    letter = theirs.get(f"/partners/referrals/{world.letter()}")
    assert letter.status_code == 404 and "Test Parent" not in letter.text
    assert "Test Family Carer" in mine.get(f"/partners/referrals/{own}").text


def _operations(app: Flask) -> tuple[dict[tuple[str, str], dict], dict]:
    """(endpoint, METHOD) -> the operation the service documents for it; and its security schemes."""
    document = app.test_client().get("/openapi.json").get_json()
    endpoints = {
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method): rule.endpoint
        for rule in app.url_map.iter_rules()
        for method in rule.methods
    }
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                found[(endpoints[(path, method.upper())], method.upper())] = operation
    return found, document.get("components", {}).get("securitySchemes", {})


OK = range(200, 300)
STAFF_ROLES = ("st_other", "st_own", "coord", "po", "admin")


@pytest.mark.parametrize("service", ["contacts", "directory", "sla", "notifier"])
def test_hostile_openapi_says_what_lets_a_caller_in(world: World, service: str) -> None:
    """Each operation's documented security agrees with what the service actually accepts."""
    operations, schemes = _operations(world.app(service))
    for (endpoint, method), operation in operations.items():
        where = f"{service} {method} {endpoint}"
        assert operation.get("summary"), f"{where}: no summary (a docstring)"
        options = operation.get("security")
        names = {name for option in options or [] for name in option}
        assert names <= set(schemes), f"{where}: undeclared schemes {names - set(schemes)}"
        expected = TABLE[(service, endpoint, method)]
        anyone = options is None or {} in options
        assert anyone == (expected["anon"] in OK), (
            f"{where}: anonymous {expected['anon']}, documented {options}"
        )
        if expected["anon"] in OK:
            continue
        # Each scheme is listed exactly where a caller holding only it gets in: partners' routes
        # name no staff token (staff are refused there), staff routes no partner credential.
        assert ("partnerApiKey" in names) == (expected["partner"] in OK), f"{where}: {options}"
        assert ("partnerUserToken" in names) == (expected["ptok"] in OK), f"{where}: {options}"
        staff_get_in = any(expected[role] in OK for role in STAFF_ROLES)
        assert ("staffToken" in names) == staff_get_in, f"{where}: {options}"

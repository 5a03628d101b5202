"""Subject access requests: find a person's contacts through blind indexes, export, audit, erase."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from ccshared import store as store_module
from ccshared.store import StoreUnavailable
from contacts import blind_index as bi
from contacts import worker
from contacts.app import create_app
from contacts.config import Settings
from contacts.repository import AUDIT, CONTACTS
from contacts.scrubbing import OwedScrub
from contacts_testkit import PERSONAL_VALUES, ScrubFailsOnce, erase, metric, staged_erasures

from tests.infra.waiting import wait_for

SEARCH = "/api/v1/subject-access/search"
ERASE = "/api/v1/subject-access/erase"
OWED = "contacts-owed-scrub"
# Every spelling of a value the tests search for, raw and normalised: none may reach the audit log.
SEARCHED_VALUES = (
    "Test Parent",
    "parent",
    "Test Family Carer",
    "family",
    "carer",
    "07700 900123",
    "07700900123",
    "+44 7700 900123",
    "referrer@example.org",
    "L4 0AA",
    "L40AA",
    "L8 0AA",
    "L80AA",
)


# Normalising -----------------------------------------------------------------


def test_names_are_compared_word_by_word_without_case_accents_or_punctuation():
    assert bi.name_words("  Siân   O'Brien-Jones ") == ["sian", "obrien", "jones"]
    assert bi.name_words("SIAN O\u2019BRIEN JONES") == ["sian", "obrien", "jones"]
    assert bi.name_words("Jones, Siân") == ["jones", "sian"]


@pytest.mark.parametrize(
    "spelling",
    [
        "07700 900123",
        "07700-900-123",
        "(07700) 900123",
        "+44 7700 900123",
        "+44 (0)7700 900123",
        "0044 7700 900123",
        "447700900123",
    ],
)
def test_phone_numbers_meet_in_their_uk_national_form(spelling):
    assert bi.phone_digits(spelling) == "07700900123"


def test_other_identifiers_are_normalised_and_nonsense_is_refused_by_field():
    assert bi.phone_digits("+33 1 23 45 67 89") == "+33123456789"
    assert bi.email_address("  Referrer@Example.ORG ") == "referrer@example.org"
    assert bi.full_postcode(" l8 0aa ") == "L80AA"
    assert bi.postcodes_in("1 Test Street, Liverpool l4 0aa") == ["L40AA"]
    for kwargs, field in (
        ({"postcode": "L8"}, "postcode"),
        ({"phone": "12"}, "phone"),
        ({"email": "no-at-sign"}, "email"),
        ({"name": "  -- "}, "name"),
        ({}, "name"),
    ):
        with pytest.raises(bi.InvalidQuery) as refused:
            bi.query(**kwargs)
        assert refused.value.field == field


def test_digests_are_keyed_and_hold_no_value():
    one, other = bi.BlindIndex("k" * 32), bi.BlindIndex("j" * 32)
    term = bi.Term(bi.PHONE, "07700900123")
    assert one.digest(term) != other.digest(term)
    assert one.digest(term) != one.digest(bi.Term(bi.NAME, "07700900123")), "kinds are kept apart"
    assert "07700900123" not in one.digest(term)
    with pytest.raises(ValueError, match="32 bytes"):
        bi.BlindIndex("short")


# Through the API ---------------------------------------------------------------


@pytest.fixture
def people(client, staff_headers, letter, referral, agency_headers) -> dict[str, str]:
    """A letter from Test Parent (postcode in the address), a referral of Test Family Carer, and others."""
    letter_id = client.post("/api/v1/contacts", json=letter, headers=staff_headers()).json["id"]
    referral_id = client.post("/api/v1/referrals", json=referral, headers=agency_headers).json["id"]
    other = letter | {
        "requester": {
            "name": "Test Someone Else",
            "reply_by": "email",
            "email": "someone.else@example.org",
            "address": "2 Test Road, Liverpool L11 0AA",
        }
    }
    other_id = client.post("/api/v1/contacts", json=other, headers=staff_headers()).json["id"]
    return {"letter": letter_id, "referral": referral_id, "other": other_id}


def _search(client, headers, **body) -> list[str]:
    answer = client.post(SEARCH, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return [contact["id"] for contact in answer.json["contacts"]]


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ({"name": "Test Parent"}, "letter"),
        ({"name": "  TEST   parent "}, "letter"),
        ({"name": "Parent, Test"}, "letter"),
        ({"name": "test family carer"}, "referral"),
        ({"name": "Family Carer"}, "referral"),
        ({"phone": "+44 (0)7700 900123"}, "referral"),
        ({"phone": "07700900123"}, "referral"),
        ({"phone": "0044 7700-900-123"}, "referral"),
        ({"email": " Referrer@Example.ORG"}, "referral"),
        ({"postcode": "l40aa"}, "letter"),
        ({"postcode": "L4 0AA"}, "letter"),
        ({"postcode": "l8  0aa"}, "referral"),
    ],
)
def test_admins_find_a_persons_contacts_by_any_identifier_in_any_spelling(
    client, staff_headers, people, body, found
):
    assert _search(client, staff_headers("admin", None), **body) == [people[found]]


def test_identifiers_are_alternatives_and_others_are_not_found(client, staff_headers, people):
    admin = staff_headers("admin", None)
    both = _search(client, admin, name="Test Parent", phone="07700 900123")
    assert sorted(both) == sorted([people["letter"], people["referral"]])
    assert _search(client, admin, name="Test Nobody") == []
    assert _search(client, admin, phone="07700 900124") == []
    assert _search(client, admin, postcode="L8 0AB") == []
    # Every word is in the referral, but no one person in it has both.
    assert _search(client, admin, name="Family Referrer") == []


def test_the_export_is_readable_and_says_who_the_person_is_in_each_contact(
    client, staff_headers, people, referral
):
    answer = client.post(SEARCH, json={"phone": "07700 900123"}, headers=staff_headers("admin", None))
    export = answer.json
    assert export["count"] == 1 and export["searched_for"] == ["phone"]
    assert export["generated_by"] == "test.staff" and export["about"]
    entry = export["contacts"][0]
    assert entry["found_as"] == {"family": ["phone"]}
    assert entry["details"]["family"]["name"] == "Test Family Carer"
    assert entry["details"]["children"] == referral["children"]
    assert entry["details"]["notes"] == referral["notes"]
    assert "referrer" not in entry["details"], "the professional's details are theirs, not the family's"
    assert entry["details"]["consent"] == {"given": True, "recorded_at": "2026-11-22T09:30:00.000000Z"}
    assert entry["left_out"] == ["referrer", "consent.recorded_by"]
    assert "other people's details" in export["about"]
    assert entry["free_text"] == ["details.notes"], "words the referrer wrote, to read before release"
    assert entry["centre"] == {"id": "centre-south", "name": "Test South Centre"}
    assert entry["referral"]["agency"]["name"] == "Example Health Visitors"
    assert entry["urgency"] == "soon"
    assert entry["created_by"] == entry["history"][0]["by"], "the referral's sender, as its first step names"
    assert [step["action"] for step in entry["history"]] == ["receive"]
    assert any(read["action"] == "subject_access_export" for read in entry["access_log"])


def test_a_familys_export_says_who_logged_paused_and_answered_their_contact_and_when(
    client, staff_headers, letter, clock
):
    logged = letter | {"received_at": "2026-11-20T09:00:00+00:00", "urgency": "urgent"}
    created = client.post("/api/v1/contacts", json=logged, headers=staff_headers(username="test.logger"))
    url = f"/api/v1/contacts/{created.json['id']}"
    worker, other = staff_headers(username="test.worker"), staff_headers(username="test.other")
    client.post(f"{url}/assign", json={"assignee": "test.worker"}, headers=worker)
    clock.advance(hours=1)
    pause = {"reason_code": "waiting_on_family", "note": "Test note: Test Parent is sending the form"}
    assert client.post(f"{url}/pause", json=pause, headers=worker).status_code == 200
    clock.advance(days=1)
    assert client.post(f"{url}/resume", json={}, headers=other).status_code == 200
    answer = {"method": "letter", "responded_at": "2026-11-23T15:00:00Z"}
    assert client.post(f"{url}/respond", json=answer, headers=worker).status_code == 200

    export = client.post(SEARCH, json={"name": "Test Parent"}, headers=staff_headers("admin", None)).json

    [entry] = export["contacts"]
    assert entry["urgency"] == "urgent"
    assert (entry["created_at"], entry["created_by"]) == ("2026-11-23T10:00:00.000000Z", "test.logger")
    assert entry["pauses"] == [
        {
            "paused_at": "2026-11-23T11:00:00.000000Z",
            "paused_by": "test.worker",
            "reason_code": "waiting_on_family",
            "note": pause["note"],
            "resumed_at": "2026-11-24T11:00:00.000000Z",
            "resumed_by": "test.other",
        }
    ]
    steps = {step["action"]: step for step in entry["history"]}
    assert steps["assign"]["assigned_to"] == "test.worker"
    assert steps["respond"]["at"] == "2026-11-24T11:00:00.000000Z", "when it was recorded"
    assert steps["respond"]["dated"] == "2026-11-23T15:00:00.000000Z", "the date entered for the answer"
    assert steps["pause"]["dated"] is None
    assert "dated" in export["about"]
    # The note names someone: the admin is told where the words staff wrote are, to read them first.
    assert entry["free_text"] == ["details.subject", "details.summary", "pauses[0].note"]
    assert "free_text" in export["about"]


@pytest.mark.parametrize(
    ("role", "area"), [("staff", "north"), ("coordinator", "north"), ("principal_officer", None)]
)
def test_only_admins_may_search_or_erase(client, staff_headers, people, role, area):
    headers = staff_headers(role, area)
    assert client.post(SEARCH, json={"name": "Test Parent"}, headers=headers).status_code == 403
    body = {"name": "Test Parent", "contact_ids": [people["letter"]], "reason": "erasure_request"}
    assert client.post(ERASE, json=body, headers=headers).status_code == 403
    assert client.post(SEARCH, json={"name": "Test Parent"}).status_code == 401
    assert client.post(ERASE, json=body).status_code == 401
    assert client.get(f"/api/v1/contacts/{people['letter']}", headers=staff_headers()).json["personal"]


def test_bad_searches_and_erasures_are_refused_naming_the_field(client, staff_headers):
    admin = staff_headers("admin", None)
    for body, field in (
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"postcode": "L8"}, "postcode"),
        ({"phone": "123"}, "phone"),
        ({"email": "nobody"}, "email"),
        ({"nickname": "Test"}, "nickname"),
    ):
        answer = client.post(SEARCH, json=body, headers=admin)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.json["error"]["fields"], (body, answer.json)
        if body in ({}, {"name": " "}):
            assert answer.json["error"]["fields"]["name"] == [
                "give at least one of name, phone, email or postcode"
            ]
    who = {"name": "Test Parent"}
    for body, field in (
        ({"contact_ids": [], "reason": "erasure_request"} | who, "contact_ids"),
        ({"contact_ids": ["x"], "reason": "because"} | who, "reason"),
        ({"contact_ids": ["x"], "reason": "objection"}, "name"),
        ({"contact_ids": ["x"], "reason": "objection", "postcode": "L8"}, "postcode"),
    ):
        answer = client.post(ERASE, json=body, headers=admin)
        assert answer.status_code == 422 and field in answer.json["error"]["fields"], answer.text


@pytest.mark.parametrize(
    "case_reference", ["Test Parent's", "Wilhelmina.Southgate", "TestParent", "Test Parent 07700 900123", ""]
)
def test_a_case_reference_that_is_not_a_case_number_is_refused_and_nothing_erased(
    client, staff_headers, people, doc_store, case_reference
):
    body = {
        "name": "Test Parent",
        "contact_ids": [people["letter"]],
        "reason": "erasure_request",
        "case_reference": case_reference,
    }
    answer = client.post(ERASE, json=body, headers=staff_headers("admin", None))

    assert answer.status_code == 422, answer.text
    assert answer.json["error"]["fields"]["case_reference"][0].startswith("a case number")
    assert doc_store.collection(CONTACTS).get(people["letter"])["personal"] is not None
    assert doc_store.collection(AUDIT).find({"action": "erase_personal_data"}) == []


def test_each_search_is_audited_without_the_values_searched_for(client, staff_headers, people, doc_store):
    admin = staff_headers("admin", None, username="test.admin")
    _search(client, admin, name="Test Parent", phone="+44 7700 900123", postcode="L8 0AA")

    entries = doc_store.collection(AUDIT).find({"action": "subject_access_search"})
    assert len(entries) == 1
    entry = entries[0]
    assert entry["who"] == "test.admin" and entry["contact_id"] is None
    assert entry["details"]["searched"] == ["name", "phone", "postcode"]
    assert entry["details"]["found"] == 2
    assert sorted(entry["details"]["contact_ids"]) == sorted([people["letter"], people["referral"]])
    exported = doc_store.collection(AUDIT).find({"action": "subject_access_export"})
    assert sorted(e["contact_id"] for e in exported) == sorted([people["letter"], people["referral"]])
    everything = json.dumps(doc_store.collection(AUDIT).find({}), default=str).lower()
    for value in SEARCHED_VALUES:
        assert value.lower() not in everything, value
    for document in doc_store.collection(CONTACTS).find({}):
        for digest in document["blind_index"]:
            assert digest not in everything


def test_a_referrals_history_in_the_export_is_the_one_its_agency_follows(client, staff_headers, people):
    """Answered without a decision: the answer is the contact's step, and the agency sees it in
    the referral's history; so must the family's and the referrer's exports."""
    url, south = f"/api/v1/contacts/{people['referral']}", staff_headers(area="south")
    assert client.post(f"{url}/respond", json={"method": "telephone"}, headers=south).status_code == 200
    followed = client.get(url, headers=south).json["referral"]["history"]
    admin = staff_headers("admin", None)

    for found_by in ({"phone": "07700 900123"}, {"name": "Test Referrer"}):
        [entry] = client.post(SEARCH, json=found_by, headers=admin).json["contacts"]

        steps = [(step["action"], step["from"], step["to"]) for step in entry["referral"]["history"]]
        assert steps == [(step["action"], step["from"], step["to"]) for step in followed]
        assert steps[-1] == ("respond", "new", "responded"), found_by


def test_a_referrers_export_holds_their_own_part_and_not_the_familys(client, staff_headers, people, referral):
    answer = client.post(SEARCH, json={"name": "Test Referrer"}, headers=staff_headers("admin", None))

    assert answer.status_code == 200, answer.text
    [entry] = answer.json["contacts"]
    assert entry["id"] == people["referral"]
    assert entry["found_as"] == {"referrer": ["name"], "consent_recorded_by": ["name"]}
    assert entry["details"] == {
        "referrer": referral["referrer"],
        "consent": {"recorded_by": "Test Referrer", "recorded_at": "2026-11-22T09:30:00.000000Z"},
    }
    assert entry["left_out"] == ["family", "children", "notes", "consent.given"]
    text = json.dumps(answer.json)
    for value in ("Test Family Carer", "07700 900123", "L8 0AA", "Test note", "age_months"):
        assert value not in text, value


def test_erasure_at_a_referrers_request_clears_their_part_only(client, staff_headers, people, doc_store):
    admin = staff_headers("admin", None, username="test.admin")
    body = {
        "email": "referrer@example.org",
        "contact_ids": [people["referral"]],
        "reason": "erasure_request",
        "case_reference": "SAR/2026/0043",
    }
    answer = client.post(ERASE, json=body, headers=admin)

    assert answer.status_code == 200, answer.text
    assert answer.json["erased"] == [people["referral"]]
    assert answer.json["parts"] == {people["referral"]: ["referrer"]}
    document = doc_store.collection(CONTACTS).get(people["referral"])
    assert document["personal"] is not None and document["personal_erased_at"] is None
    assert _search(client, admin, email="referrer@example.org") == []
    assert _search(client, admin, name="Test Referrer") == [people["referral"]], "still the consent recorder"
    family = client.post(SEARCH, json={"phone": "07700 900123"}, headers=admin).json["contacts"]
    assert [entry["id"] for entry in family] == [people["referral"]]
    assert family[0]["details"]["family"]["name"] == "Test Family Carer"
    assert family[0]["details"]["notes"] and family[0]["details"]["children"]
    staff_view = client.get(
        f"/api/v1/contacts/{people['referral']}", headers=staff_headers("staff", "south")
    ).json
    assert staff_view["personal"]["referrer"] is None
    assert staff_view["personal"]["consent"]["recorded_by"] == "Test Referrer"
    [erasure] = doc_store.collection(AUDIT).find({"action": "erase_personal_data"})
    assert erasure["details"]["parts"] == ["referrer"]
    assert erasure["details"]["case_reference"] == "SAR/2026/0043"
    [announced] = staged_erasures(doc_store, people["referral"])
    assert announced.data["parts"] == ["referrer"], "the notifier erases its copies to the referrer"

    by_name_body = {key: value for key, value in body.items() if key != "email"} | {"name": "Test Referrer"}
    by_name = client.post(ERASE, json=by_name_body, headers=admin)
    assert by_name.json["parts"] == {people["referral"]: ["consent_recorded_by"]}
    assert _search(client, admin, name="Test Referrer") == []
    again = client.post(ERASE, json=by_name_body, headers=admin)
    assert again.json["erased"] == [] and again.json["not_matched"] == [people["referral"]]
    assert _search(client, admin, name="Test Family Carer") == [people["referral"]]


def test_erasure_removes_personal_data_and_blind_index_and_is_audited(
    client, staff_headers, people, doc_store
):
    admin = staff_headers("admin", None, username="test.admin")
    body = {
        "phone": "07700 900123",
        "contact_ids": [people["referral"], people["referral"], "no-such-contact"],
        "reason": "erasure_request",
        "case_reference": "SAR/2026/0042",
    }
    answer = client.post(ERASE, json=body, headers=admin)

    assert answer.status_code == 200, answer.text
    assert answer.json == {
        "erased": [people["referral"]],
        "already_erased": [],
        "not_found": ["no-such-contact"],
        "not_matched": [],
        "parts": {people["referral"]: ["all"]},
        "scrub": "done",
    }
    document = doc_store.collection(CONTACTS).get(people["referral"])
    assert document["personal"] is None and document["blind_index"] == []
    assert document["personal_erased_at"] is not None and document["reference"]
    text = json.dumps(document, default=str)
    for value in PERSONAL_VALUES:
        assert value not in text
    assert _search(client, admin, phone="07700 900123") == []
    assert _search(client, admin, name="Test Parent") == [people["letter"]], "others are untouched"
    erasures = doc_store.collection(AUDIT).find({"action": "erase_personal_data"})
    assert [(e["contact_id"], e["who"]) for e in erasures] == [(people["referral"], "test.admin")]
    assert erasures[0]["details"] == {
        "reason": "erasure_request",
        "case_reference": "SAR/2026/0042",
        "on_request": True,
        "parts": ["all"],
    }
    again = client.post(
        ERASE,
        json={"phone": "07700 900123", "contact_ids": [people["referral"]], "reason": "objection"},
        headers=admin,
    )
    assert again.json["already_erased"] == [people["referral"]]
    [announced] = staged_erasures(doc_store, people["referral"])
    assert announced.data["parts"] == ["all"] and announced.subject == people["referral"]


def test_an_erasure_whose_scrub_failed_answers_erased_with_the_scrub_owed(
    client, staff_headers, people, doc_store, settings, clock
):
    """The store could not be scrubbed after the erasure: the erasure is done, so staff are told
    so (200, as for a full success) with the scrub owed, not an error that reads as a failed
    erasure. A retry finds the contact already erased, and scrubs."""
    store = ScrubFailsOnce(doc_store)
    failing = create_app(settings, store=store, clock=clock).test_client()
    admin = staff_headers("admin", None, username="test.admin")
    body = {"phone": "07700 900123", "contact_ids": [people["referral"]], "reason": "erasure_request"}

    answer = failing.post(ERASE, json=body, headers=admin)

    assert answer.status_code == 200, answer.text
    assert answer.json == {
        "erased": [people["referral"]],
        "already_erased": [],
        "not_found": [],
        "not_matched": [],
        "parts": {people["referral"]: ["all"]},
        "scrub": "owed",
    }
    assert doc_store.collection(CONTACTS).get(people["referral"])["personal"] is None
    assert OwedScrub(doc_store, clock).owed() and store.scrubbed == 0
    again = failing.post(ERASE, json=body, headers=admin)
    assert again.status_code == 200 and again.json["already_erased"] == [people["referral"]]
    assert again.json["scrub"] == "done" and store.scrubbed == 1
    assert not OwedScrub(doc_store, clock).owed()
    stated = client.get("/openapi.json").json["components"]["schemas"]["Erasure"]["properties"]["scrub"]
    assert stated["enum"] == ["done", "owed"] and "retries" in stated["description"]


class ScrubHeldOff(ScrubFailsOnce):
    """Every scrub fails, as while a reader keeps holding SQLite's WAL, until `held` is cleared."""

    held = True

    def scrub(self) -> None:
        if self.held:
            self.failed += 1
            raise StoreUnavailable("test store: a reader is still holding the WAL")
        super().scrub()


def test_the_worker_pays_a_scrub_an_erasure_on_request_owed_and_says_so_meanwhile(
    staff_headers, people, doc_store, settings, clock, running
):
    """The caller was told the scrub is owed and need not retry: the worker scrubs soon after, not
    at its next daily retention run, and cc_retention_scrub_owed is 1 until it has."""
    failing = create_app(settings, store=ScrubFailsOnce(doc_store), clock=clock).test_client()
    admin = staff_headers("admin", None, username="test.admin")
    body = {"phone": "07700 900123", "contact_ids": [people["referral"]], "reason": "erasure_request"}
    assert failing.post(ERASE, json=body, headers=admin).json["scrub"] == "owed"
    store = ScrubHeldOff(doc_store)
    [owed_scrub] = [
        task for task in worker.tasks(settings, store=store, clock=clock) if task.__name__ == OWED
    ]

    running(owed_scrub)

    wait_for(lambda: store.failed and metric("cc_retention_scrub_owed") == 1, 10, "the scrub owed, shown")
    store.held = False
    wait_for(lambda: store.scrubbed == 1, 10, "the scrub the erasure owed")
    wait_for(lambda: metric("cc_retention_scrub_owed") == 0, 10, "the owed scrub's metric cleared")
    assert not OwedScrub(doc_store, clock).owed()


# From the command line ---------------------------------------------------------


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "contacts", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_command_exports_a_readable_file_erases_and_backfills(
    cli_env, tmp_path, staff_headers, letter, centres_in, clock
):
    settings = Settings.from_env(cli_env)
    centres_in(settings)
    client = create_app(settings, clock=clock).test_client()
    contact_id = client.post("/api/v1/contacts", json=letter, headers=staff_headers()).json["id"]
    raw = store_module.connect(settings.store_url).collection(CONTACTS)
    # A contact stored before blind indexes existed has none.
    assert raw.update({"_id": contact_id}, {"blind_index": None}) == 1
    out = tmp_path / "sar.json"

    missed = run_cli(cli_env, "subject-access", "search", "--name", "test parent", "--out", str(out))
    assert missed.returncode == 0, missed.stderr
    assert json.loads(out.read_text())["contacts"] == []
    backfilled = run_cli(cli_env, "subject-access", "backfill")
    assert backfilled.returncode == 0, backfilled.stderr
    assert json.loads(backfilled.stdout) == {"indexed": 1}
    assert json.loads(run_cli(cli_env, "subject-access", "backfill").stdout) == {"indexed": 0}

    found = run_cli(
        cli_env,
        "subject-access",
        "search",
        "--name",
        "PARENT test",
        "--postcode",
        "l4 0aa",
        "--out",
        str(out),
    )
    assert found.returncode == 0, found.stderr
    assert "1 contact" in found.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    text = out.read_text()
    assert "\n  " in text, "indented for reading"
    export = json.loads(text)
    assert [c["id"] for c in export["contacts"]] == [contact_id]
    assert export["contacts"][0]["details"]["requester"]["name"] == "Test Parent"
    assert export["contacts"][0]["found_as"] == {"requester": ["name", "postcode"]}
    assert export["generated_by"].startswith("cli:")

    bad = run_cli(cli_env, "subject-access", "search", "--postcode", "L4")
    assert bad.returncode == 2 and "--postcode" in bad.stderr
    erase_args = ("subject-access", "erase", "--name", "Test Parent", "--contact", contact_id)
    named = run_cli(
        cli_env, *erase_args, "--reason", "erasure_request", "--case-reference", "Test Parent 07700 900123"
    )
    assert named.returncode == 2 and "--case-reference: a case number" in named.stderr, named.stderr
    assert raw.get(contact_id)["personal"] is not None
    erased = run_cli(cli_env, *erase_args, "--reason", "erasure_request", "--case-reference", "SAR/2026/0042")
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["erased"] == [contact_id]
    document = raw.get(contact_id)
    assert document["personal"] is None and document["blind_index"] == []
    gone = run_cli(cli_env, "subject-access", "search", "--name", "Test Parent")
    assert json.loads(gone.stdout)["count"] == 0


def test_the_blind_index_key_is_required_and_long(cli_env):
    env = {name: value for name, value in cli_env.items() if name != "CONTACTS_BLIND_INDEX_KEY"}
    missing = run_cli(env, "subject-access", "backfill")
    assert missing.returncode == 2 and "CONTACTS_BLIND_INDEX_KEY is required" in missing.stderr
    short = run_cli(env | {"CONTACTS_BLIND_INDEX_KEY": "x" * 31}, "subject-access", "backfill")
    assert short.returncode == 2 and "at least 32 bytes" in short.stderr


def test_retention_erasure_removes_the_blind_index_too(
    client, staff_headers, people, doc_store, clock, settings
):
    headers = staff_headers()
    for step in ("respond", "close"):
        body = {"method": "letter"} if step == "respond" else {}
        assert (
            client.post(f"/api/v1/contacts/{people['letter']}/{step}", json=body, headers=headers).status_code
            == 200
        )
    clock.advance(days=400)

    assert erase(doc_store, clock, settings) == 1

    assert doc_store.collection(CONTACTS).get(people["letter"])["blind_index"] == []
    assert _search(client, staff_headers("admin", None), name="Test Parent") == []

"""Retention erasure leaves no copy behind: not in the documents, not in the
Idempotency-Key records, not in the bytes of the store's files (SQLite pages
and WAL, and FerretDB's SQLite files), neither in clear nor encrypted, nor as a
hash of the request body. And Idempotency-Key records expire after 24 hours."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest
from ccshared.store import StoreUnavailable
from contacts.repository import CONTACTS, IDEMPOTENCY
from contacts.worker import idempotency_purge_task
from contacts_testkit import PERSONAL_VALUES, ScrubFailsOnce, erase

from tests.infra.waiting import wait_for

REFERRALS = "/api/v1/referrals"
CONTACTS_API = "/api/v1/contacts"


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The contacts tests' stores, but a FerretDB that scrubs as the embedded store does."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/contacts.db"
    return request.getfixturevalue("scrubbing_mongo").store_url(f"test_{uuid.uuid4().hex[:8]}")


def store_files(request: pytest.FixtureRequest, store_url: str) -> list[Path]:
    """The files the store keeps its data in: the SQLite file and its WAL, or FerretDB's
    SQLite files of this test's database."""
    if store_url.startswith("sqlite:///"):
        path = Path(store_url.removeprefix("sqlite:///"))
    else:
        path = request.getfixturevalue("scrubbing_mongo").data_dir / f"{store_url.rsplit('/', 1)[1]}.sqlite"
    return [file for file in path.parent.glob(f"{path.name}*") if file.is_file()]


def raw_bytes(files: list[Path]) -> bytes:
    return b"\n".join(file.read_bytes() for file in files)


def body_hashes(body: dict) -> list[str]:
    """How a body's hash was kept before: SHA-256 of its canonical JSON."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return [hashlib.sha256(canonical).hexdigest()]


def test_erasure_leaves_no_copy_of_a_contact_in_the_store_files(
    request, store_url, client, staff_headers, agency_headers, letter, referral, doc_store, clock, settings
):
    staff = staff_headers(area=None, role="admin")
    logged = {**staff, "Idempotency-Key": "erase-letter-1"}
    referred = {**agency_headers, "Idempotency-Key": "erase-referral-1"}
    made = []
    for url, headers, body in ((CONTACTS_API, logged, letter), (REFERRALS, referred, referral)):
        first = client.post(url, json=body, headers=headers)
        again = client.post(url, json=body, headers=headers)
        assert first.status_code == again.status_code == 201 and again.json["id"] == first.json["id"]
        made.append((first.json["id"], body))
    secrets: list[bytes] = []
    for contact_id, body in made:
        stored = doc_store.collection(CONTACTS).get(contact_id)
        assert stored["personal"], "the contact's personal data is held, encrypted, until erasure"
        secrets.append(stored["personal"].encode())
        secrets += [digest.encode() for digest in body_hashes(body)]
        assert client.post(f"{CONTACTS_API}/{contact_id}/withdraw", json={}, headers=staff).status_code == 200
    for record in doc_store.collection(IDEMPOTENCY).find({}):
        assert set(record) <= {"_id", "contact_id", "status", "fingerprint", "created_at"}
        secrets.append(record["fingerprint"].encode())
    assert len(secrets) == 6
    secrets += [value.encode() for value in PERSONAL_VALUES]
    before = raw_bytes(store_files(request, store_url))
    assert any(secret in before for secret in secrets), "the test looks in the right files"

    doc_store.scrub()  # as months of running would: the pages are in the database file by now
    clock.advance(days=400)
    assert erase(doc_store, clock, settings) == 2

    assert doc_store.collection(IDEMPOTENCY).find({}) == []
    after = raw_bytes(store_files(request, store_url))
    left = [secret[:40] for secret in secrets if secret in after]
    assert left == [], "erased data is still in the store's files"
    # Fernet tokens are long: no 24-character stretch of one may be left either.
    for token in secrets[0], secrets[2]:
        pieces = {token[i : i + 24] for i in range(0, len(token) - 24, 12)}
        assert not [piece for piece in pieces if piece in after]


def test_after_a_scrub_that_failed_the_next_run_leaves_no_copy_in_the_store_files(
    request, store_url, client, staff_headers, letter, doc_store, clock, settings
):
    staff = staff_headers()
    contact_id = client.post(CONTACTS_API, json=letter, headers=staff).json["id"]
    assert client.post(f"{CONTACTS_API}/{contact_id}/withdraw", json={}, headers=staff).status_code == 200
    token = doc_store.collection(CONTACTS).get(contact_id)["personal"].encode()
    doc_store.scrub()
    assert token in raw_bytes(store_files(request, store_url)), "the test looks in the right files"
    clock.advance(days=400)
    store = ScrubFailsOnce(doc_store)

    with pytest.raises(StoreUnavailable):
        erase(store, clock, settings)
    assert erase(store, clock, settings) == 0

    after = raw_bytes(store_files(request, store_url))
    pieces = {token[i : i + 24] for i in range(0, len(token) - 24, 12)}
    assert not [piece for piece in pieces if piece in after], "erased data is still in the store's files"


def test_an_idempotency_key_lasts_24_hours_then_makes_a_new_contact(
    client, staff_headers, letter, doc_store, clock
):
    headers = {**staff_headers(), "Idempotency-Key": "day-1"}
    first = client.post(CONTACTS_API, json=letter, headers=headers).json["id"]
    clock.advance(hours=23)
    again = client.post(CONTACTS_API, json=letter, headers=headers)
    clock.advance(hours=2)
    later = client.post(CONTACTS_API, json=letter | {"subject": "Test another subject"}, headers=headers)

    assert again.status_code == 201 and again.json["id"] == first
    assert later.status_code == 201 and later.json["id"] != first
    assert [record["contact_id"] for record in doc_store.collection(IDEMPOTENCY).find({})] == [
        later.json["id"]
    ]


def test_the_worker_purges_idempotency_records_older_than_24_hours(
    client, staff_headers, agency_headers, letter, referral, doc_store, clock, settings, running
):
    client.post(CONTACTS_API, json=letter, headers={**staff_headers(), "Idempotency-Key": "old-1"})
    client.post(REFERRALS, json=referral, headers={**agency_headers, "Idempotency-Key": "old-2"})
    clock.advance(hours=24, minutes=1)
    kept = client.post(CONTACTS_API, json=letter, headers={**staff_headers(), "Idempotency-Key": "new-1"})
    records = doc_store.collection(IDEMPOTENCY)
    assert records.count({}) == 3

    running(idempotency_purge_task(settings, doc_store, clock, every_seconds=0.1))

    wait_for(lambda: records.count({}) == 1, 10, "the purge of records older than 24 hours")
    assert records.find({})[0]["contact_id"] == kept.json["id"]


def test_an_idempotency_record_is_found_by_a_digest_id_that_names_neither_caller_nor_key(
    client, agency_headers, referral, doc_store
):
    """Every read on the request path is a lookup by `_id`, FerretDB v1's one index; the
    Idempotency-Key itself is not stored."""
    key = "a-key-that-must-not-be-stored-17"
    first = client.post(REFERRALS, json=referral, headers={**agency_headers, "Idempotency-Key": key})
    again = client.post(REFERRALS, json=referral, headers={**agency_headers, "Idempotency-Key": key})
    assert first.status_code == again.status_code == 201 and again.json["id"] == first.json["id"]
    (record,) = doc_store.collection(IDEMPOTENCY).find({})
    assert record["_id"].startswith("k1-") and len(record["_id"]) == 3 + 64
    assert key not in json.dumps(record) and "agency" not in record["_id"]


def test_idempotency_records_of_the_old_layout_are_ignored_then_purged(
    client, staff_headers, letter, doc_store, clock, settings, running
):
    """Records stored as `<scope>:<key>` before the digest ids: the service starts and
    serves beside them, and the purge deletes them when their 24 hours are over."""
    records = doc_store.collection(IDEMPOTENCY)
    old = {"_id": "staff:someone:old-key", "contact_id": "c-old", "status": 201, "fingerprint": "0" * 64}
    records.insert(old | {"created_at": "2000-01-01T00:00:00.000000Z"})
    made = client.post(CONTACTS_API, json=letter, headers={**staff_headers(), "Idempotency-Key": "old-key"})
    assert made.status_code == 201
    clock.advance(hours=24, minutes=1)
    running(idempotency_purge_task(settings, doc_store, clock, every_seconds=0.1))
    wait_for(lambda: records.count({}) == 0, 10, "the purge of both records")

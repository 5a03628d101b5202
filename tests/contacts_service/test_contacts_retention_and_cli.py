"""Retention erasure, configuration and the admin commands."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from ccshared import store as store_module
from ccshared.config import ConfigError
from ccshared.store import StoreUnavailable
from ccshared.timeutil import FixedClock
from contacts import worker
from contacts.app import create_app
from contacts.config import Settings
from contacts.repository import AUDIT, CONTACTS, IDEMPOTENCY, AgencyRepository
from contacts_testkit import PERSONAL_VALUES, ScrubFailsOnce, erase, metric
from cryptography.fernet import Fernet

from tests.infra import tokens
from tests.infra.waiting import wait_for


def test_personal_data_is_erased_after_the_retention_period_and_the_record_stays(
    client, staff_headers, letter, doc_store, clock, settings
):
    headers = staff_headers()

    def contact(*steps: tuple[str, dict]) -> str:
        contact_id = client.post("/api/v1/contacts", json=letter, headers=headers).json["id"]
        for step, body in steps:
            assert (
                client.post(f"/api/v1/contacts/{contact_id}/{step}", json=body, headers=headers).status_code
                == 200
            )
        return contact_id

    closed = contact(("respond", {"method": "letter"}), ("close", {}))
    withdrawn = contact(("withdraw", {}))
    # Answered (a referral accepted or declined is answered too) and never closed.
    answered = contact(("respond", {"method": "letter"}))
    still_open = contact()
    clock.advance(days=200)
    closed_later = contact(("respond", {"method": "letter"}), ("close", {}))
    answered_later = contact(("respond", {"method": "letter"}))
    clock.advance(days=166)
    erased = erase(doc_store, clock, settings)

    assert erased == 3
    raw = doc_store.collection(CONTACTS)
    for contact_id in (closed, withdrawn, answered):
        document = raw.get(contact_id)
        assert document["personal"] is None and document["personal_erased_at"] is not None
        assert document["reference"] and document["centre_id"] == "centre-north"
        for value in PERSONAL_VALUES:
            assert value not in json.dumps(document, default=str)
    assert client.get(f"/api/v1/contacts/{closed}", headers=headers).json["personal"] is None
    assert client.get(f"/api/v1/contacts/{still_open}", headers=headers).json["personal"]["subject"]
    assert client.get(f"/api/v1/contacts/{closed_later}", headers=headers).json["personal"]["subject"]
    assert client.get(f"/api/v1/contacts/{answered_later}", headers=headers).json["personal"]["subject"]
    assert client.get("/api/v1/contacts", headers=headers).json["total"] == 6
    erasures = doc_store.collection(AUDIT).find({"action": "erase_personal_data"})
    assert sorted(entry["contact_id"] for entry in erasures) == sorted([closed, withdrawn, answered])
    assert erase(doc_store, clock, settings) == 0


def test_an_answered_contact_counts_its_retention_from_its_last_answer_or_logging(
    client, staff_headers, agency_headers, letter, referral, doc_store, clock, settings
):
    """A referral answered then declined later holds the decline's words from the decision;
    a letter logged today with last year's answer holds today's details from today."""
    south = staff_headers(area="south")
    declined = client.post("/api/v1/referrals", json=referral, headers=agency_headers).json["id"]
    client.post(f"/api/v1/contacts/{declined}/respond", json={"method": "telephone"}, headers=south)
    clock.advance(days=200)
    decline = {"reason_code": "outside_area", "reason": "Test reason"}
    assert (
        client.post(f"/api/v1/contacts/{declined}/referral/decline", json=decline, headers=south).json[
            "status"
        ]
        == "responded"
    )
    answered_long_ago = letter | {
        "received_at": "2026-01-05T09:00:00Z",
        "response": {"method": "letter", "responded_at": "2026-01-06T09:00:00Z"},
    }
    logged = client.post("/api/v1/contacts", json=answered_long_ago, headers=staff_headers()).json["id"]
    clock.advance(days=166)

    assert erase(doc_store, clock, settings, retention_days=300) == 0
    clock.advance(days=200)
    assert erase(doc_store, clock, settings, retention_days=300) == 2
    assert _erased(doc_store, declined) and _erased(doc_store, logged)
    assert doc_store.collection(CONTACTS).get(declined)["referral"]["decline_reason"] is None


def _ended_contact(client, headers: dict, letter: dict) -> str:
    contact_id = client.post("/api/v1/contacts", json=letter, headers=headers).json["id"]
    assert client.post(f"/api/v1/contacts/{contact_id}/withdraw", json={}, headers=headers).status_code == 200
    return contact_id


def _erased(doc_store, contact_id: str) -> bool:
    return doc_store.collection(CONTACTS).get(contact_id)["personal_erased_at"] is not None


def _erasures_of(doc_store, contact_id: str) -> int:
    return doc_store.collection(AUDIT).count({"action": "erase_personal_data", "contact_id": contact_id})


def test_the_worker_erases_expired_personal_data_without_cron_once_across_replicas(
    client, staff_headers, letter, doc_store, clock, settings, running, caplog
):
    """Families' personal data must not outlive CONTACTS_RETENTION_DAYS because nobody set up a
    cron job: every worker runs the erasure. Two replicas at once erase and audit a contact once."""
    headers = staff_headers()
    expired = _ended_contact(client, headers, letter)
    clock.advance(days=settings.retention_days + 1)
    erased_before = metric("cc_retention_erased_contacts_total")
    replicas = [
        next(task for task in worker.tasks(settings, store=doc_store, clock=clock) if task.__name__ == name)
        for name in ("contacts-retention-erasure", "contacts-retention-erasure")
    ]
    caplog.set_level("INFO", logger="contacts.worker")

    running(*replicas)

    wait_for(lambda: _erased(doc_store, expired), 10, "the worker's retention erasure")
    wait_for(
        lambda: metric("cc_retention_last_run_timestamp_seconds") == clock.now().timestamp(),
        10,
        "the erasure's last run in the metrics",
    )
    assert _erasures_of(doc_store, expired) == 1
    assert metric("cc_retention_erased_contacts_total") - erased_before == 1
    assert any(record.getMessage() == "retention erasure ran" for record in caplog.records)


def test_the_worker_erases_again_each_period_without_a_restart(
    client, staff_headers, letter, doc_store, clock, settings, running
):
    headers = staff_headers()
    first = _ended_contact(client, headers, letter)
    clock.advance(days=200)
    second = _ended_contact(client, headers, letter)
    clock.advance(days=settings.retention_days - 199)

    running(worker.retention_erasure_task(settings, doc_store, clock, every_seconds=0.1))

    wait_for(lambda: _erased(doc_store, first), 10, "the first erasure")
    assert not _erased(doc_store, second)
    clock.advance(days=200)
    wait_for(lambda: _erased(doc_store, second), 10, "the next period's erasure")
    assert _erasures_of(doc_store, first) == _erasures_of(doc_store, second) == 1


def test_a_scrub_that_failed_after_an_erasure_is_done_by_the_next_run(
    client, staff_headers, letter, doc_store, clock, settings
):
    """The run after finds nothing left to erase; it must still scrub the bytes the erased
    contact left in the store's files."""
    _ended_contact(client, staff_headers(), letter)
    clock.advance(days=settings.retention_days + 1)
    store = ScrubFailsOnce(doc_store)

    with pytest.raises(StoreUnavailable):
        erase(store, clock, settings)
    assert erase(store, clock, settings) == 0
    assert store.scrubbed == 1
    assert erase(store, clock, settings) == 0
    assert store.scrubbed == 1, "once done, the scrub is owed no more"


def test_the_worker_retries_a_failed_scrub_until_it_is_done_and_says_so(
    client, staff_headers, letter, doc_store, clock, settings, running, caplog
):
    expired = _ended_contact(client, staff_headers(), letter)
    clock.advance(days=settings.retention_days + 1)
    store = ScrubFailsOnce(doc_store)
    erased_before = metric("cc_retention_erased_contacts_total")
    caplog.set_level("INFO", logger="contacts.worker")

    running(worker.retention_erasure_task(settings, store, clock))

    wait_for(lambda: store.scrubbed == 1, 10, "the scrub the failed run owed, without waiting a day")
    wait_for(lambda: metric("cc_retention_scrub_owed") == 0, 10, "the owed scrub's metric cleared")
    assert _erased(doc_store, expired) and store.failed == 1
    messages = [record.getMessage() for record in caplog.records]
    assert "retention erasure's scrub failed, retried until it succeeds" in messages
    # The retry erases nothing: the erasure is counted and logged by the run whose scrub failed.
    assert metric("cc_retention_erased_contacts_total") - erased_before == 1
    ran = [record.erased for record in caplog.records if record.getMessage() == "retention erasure ran"]
    assert sum(ran) == 1, ran


ENV_BASE = {
    **tokens.key_env("contacts"),
    "CONTACTS_BLIND_INDEX_KEY": "contacts-test-blind-index-key-of-32-bytes",
}


def test_the_encryption_key_is_required_and_must_be_a_fernet_key():
    with pytest.raises(ConfigError, match="CONTACTS_ENCRYPTION_KEY is required"):
        Settings.from_env(ENV_BASE)
    with pytest.raises(ConfigError, match="CONTACTS_ENCRYPTION_KEY is invalid"):
        Settings.from_env(ENV_BASE | {"CONTACTS_ENCRYPTION_KEY": "not-a-key"})
    with pytest.raises(ConfigError, match="CONTACTS_RETENTION_DAYS"):
        Settings.from_env(
            ENV_BASE
            | {"CONTACTS_ENCRYPTION_KEY": Fernet.generate_key().decode(), "CONTACTS_RETENTION_DAYS": "-3"}
        )
    settings = Settings.from_env(ENV_BASE | {"CONTACTS_ENCRYPTION_KEY": Fernet.generate_key().decode()})
    assert settings.retention_days == 365
    assert settings.store_url == "sqlite:///var/contacts.db"


@pytest.mark.parametrize("raw", ["0", "abc"])
def test_a_bad_processed_retention_is_refused_by_name(raw):
    env = ENV_BASE | {"CONTACTS_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    with pytest.raises(ConfigError, match="PROCESSED_RETENTION_DAYS"):
        Settings.from_env(env | {"PROCESSED_RETENTION_DAYS": raw})
    assert Settings.from_env(env).processed_retention_days == 30
    assert Settings.from_env(env | {"PROCESSED_RETENTION_DAYS": "90"}).processed_retention_days == 90


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "contacts", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_agency_keys_are_shown_once_stored_hashed_listed_and_revoked(cli_env, tmp_path):
    created = run_cli(cli_env, "agency-key", "create", "--agency", "Example Health Visitors")
    assert created.returncode == 0, created.stderr
    lines = dict(line.split(":", 1) for line in created.stdout.splitlines() if ": " in line)
    key, key_id = lines["API key"].strip(), lines["key id"].strip()
    assert key.startswith("cck_") and len(key) > 40

    listed = run_cli(cli_env, "agency-key", "list")
    stored = (tmp_path / "contacts.db").read_bytes()
    assert key not in listed.stdout and key.encode() not in stored
    record = json.loads(listed.stdout.splitlines()[0])
    assert record["_id"] == key_id and record["agency_id"] == "example-health-visitors"
    assert record["revoked_at"] is None

    settings = Settings.from_env(cli_env)
    client = create_app(settings).test_client()
    assert client.get("/api/v1/referrals", headers={"X-API-Key": key}).status_code == 200
    assert run_cli(cli_env, "agency-key", "revoke", key_id).returncode == 0
    assert client.get("/api/v1/referrals", headers={"X-API-Key": key}).status_code == 401
    assert json.loads(run_cli(cli_env, "agency-key", "list").stdout)["revoked_at"]
    assert run_cli(cli_env, "agency-key", "revoke", key_id).returncode == 1


def test_an_agency_has_a_notification_address_set_at_creation_and_changeable(cli_env):
    bad = run_cli(
        cli_env, "agency-key", "create", "--agency", "Example Midwives", "--notify-email", "not-an-address"
    )
    assert bad.returncode == 2 and "--notify-email" in bad.stderr
    assert run_cli(cli_env, "agency-key", "list").stdout == ""

    created = run_cli(
        cli_env,
        "agency-key",
        "create",
        "--agency",
        "Example Midwives",
        "--notify-email",
        "team@midwives.example.org",
    )
    assert created.returncode == 0, created.stderr
    assert "notify:  team@midwives.example.org" in created.stdout

    changed = run_cli(
        cli_env,
        "agency-key",
        "update",
        "--agency",
        "example-midwives",
        "--notify-email",
        "duty@midwives.example.org",
    )
    assert changed.returncode == 0, changed.stderr
    assert "notify:  duty@midwives.example.org" in changed.stdout
    settings = Settings.from_env(cli_env)
    profile = AgencyRepository(store_module.connect(settings.store_url)).profile("example-midwives")
    assert profile["notify_email"] == "duty@midwives.example.org" and profile["name"] == "Example Midwives"

    unknown = run_cli(
        cli_env, "agency-key", "update", "--agency", "nobody", "--notify-email", "a@example.org"
    )
    assert unknown.returncode == 1 and "no agency nobody" in unknown.stderr


def test_erase_expired_runs_as_a_command(cli_env, staff_headers, letter, centres_in):
    settings = Settings.from_env(cli_env)
    long_ago = FixedClock(datetime(2020, 1, 6, 9, 0, tzinfo=UTC))
    client = create_app(settings, clock=long_ago).test_client()
    centres_in(settings)
    headers = staff_headers()
    contact_id = client.post("/api/v1/contacts", json=letter, headers=headers).json["id"]
    client.post(f"/api/v1/contacts/{contact_id}/withdraw", json={}, headers=headers)

    result = run_cli(cli_env | {"CONTACTS_RETENTION_DAYS": "30"}, "erase-expired")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"erased": 1, "retention_days": 30}
    assert client.get(f"/api/v1/contacts/{contact_id}", headers=headers).json["personal"] is None


def test_commands_name_a_missing_setting(cli_env):
    env = {name: value for name, value in cli_env.items() if name != "CONTACTS_ENCRYPTION_KEY"}
    result = run_cli(env, "erase-expired")
    assert result.returncode == 2
    assert "CONTACTS_ENCRYPTION_KEY" in result.stderr


def test_purge_idempotency_runs_as_a_command(cli_env, staff_headers, letter, centres_in):
    settings = Settings.from_env(cli_env)
    client = create_app(settings, clock=FixedClock(datetime(2020, 1, 6, 9, 0, tzinfo=UTC))).test_client()
    centres_in(settings)
    headers = {**staff_headers(), "Idempotency-Key": "long-ago-1"}
    assert client.post("/api/v1/contacts", json=letter, headers=headers).status_code == 201

    result = run_cli(cli_env, "purge-idempotency")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"purged": 1}
    assert store_module.connect(settings.store_url).collection(IDEMPOTENCY).count({}) == 0


def test_a_name_that_would_join_another_agency_is_refused_unless_its_id_is_named(cli_env):
    def create(*args: str) -> subprocess.CompletedProcess:
        return run_cli(cli_env, "agency-key", "create", *args)

    first = create("--agency", "Demo Health Visitors", "--notify-email", "team@hv.example.org")
    clash = create("--agency", "demo health-visitors!")
    renamed = create("--agency-id", "demo-health-visitors", "--agency", "Another Name")
    rotated = create("--agency-id", "demo-health-visitors")

    assert first.returncode == 0, first.stderr
    assert clash.returncode == 2 and "API key" not in clash.stdout
    assert "existing agency demo-health-visitors ('Demo Health Visitors')" in clash.stderr
    assert "--agency-id demo-health-visitors" in clash.stderr
    assert renamed.returncode == 2 and "named 'Demo Health Visitors'" in renamed.stderr
    assert rotated.returncode == 0, rotated.stderr
    assert "agency:  Demo Health Visitors (demo-health-visitors)" in rotated.stdout
    assert "notify:  team@hv.example.org" in rotated.stdout, "a new key keeps the agency's profile"
    keys = [json.loads(line) for line in run_cli(cli_env, "agency-key", "list").stdout.splitlines()]
    assert [key["agency_id"] for key in keys] == ["demo-health-visitors"] * 2
    assert create("--agency-id", "Not An Id!").returncode == 2


def test_an_agency_of_an_existing_name_under_another_id_or_a_name_of_two_lines_is_refused(cli_env):
    """Mails and staff pages tell agencies apart by name; a line break would split a mail's line."""

    def create(*args: str) -> subprocess.CompletedProcess:
        return run_cli(cli_env, "agency-key", "create", *args)

    assert create("--agency", "Demo Health Visitors").returncode == 0
    same_name = create("--agency", "DEMO Health Visitors", "--agency-id", "demo-hv-2")
    two_lines = create("--agency", "Test\nAgency")
    accented = create("--agency", "Démo Test Group")

    assert same_name.returncode == 2 and "API key" not in same_name.stdout
    assert "existing agency demo-health-visitors ('Demo Health Visitors')" in same_name.stderr
    assert two_lines.returncode == 2 and "printable text on one line" in two_lines.stderr
    assert accented.returncode == 0 and "(demo-test-group)" in accented.stdout, accented.stdout
    keys = [json.loads(line) for line in run_cli(cli_env, "agency-key", "list").stdout.splitlines()]
    assert sorted(key["agency_id"] for key in keys) == ["demo-health-visitors", "demo-test-group"]

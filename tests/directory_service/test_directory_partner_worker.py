"""End to end through the directory's worker: it imports a partner feed on its schedule, and the
public search shows what it imported. A one-second interval; every wait is on a condition."""

from __future__ import annotations

import threading

from ccshared.store import StoreUnavailable, connect
from directory import worker
from directory.app import create_app
from directory.config import ImportSettings, Settings
from directory.importer import import_task
from directory.partner_repository import PartnerRepository
from directory.partners import Feed
from feed_server import FeedServer, partner_service

from tests.infra import tokens
from tests.infra.waiting import wait_for

DEADLINE = 30.0


def test_the_worker_imports_on_its_schedule_drops_what_leaves_and_survives_a_failure(tmp_path):
    feed = FeedServer([partner_service("Test Stay and Play"), partner_service("Test Baby Massage")])
    store_url = f"sqlite:///{tmp_path}/directory.db"
    settings = Settings(
        store_url=store_url,
        bus_url=f"sqlite:///{tmp_path}/events.db",
        staff_token_public_key=tokens.STAFF_PUBLIC,
        partner_import=ImportSettings(
            feeds=(Feed("partner", feed.url),),
            interval_seconds=1,
            timeout_seconds=2,
            backoff_seconds=1,
            backoff_max_seconds=1,
        ),
    )
    store = connect(store_url)
    repository = PartnerRepository(store)
    api = create_app(settings, store=store).test_client()
    stop = threading.Event()
    threads = [threading.Thread(target=task, args=(stop,), daemon=True) for task in worker.tasks(settings)]
    assert len(threads) == 2  # the outbox relay and the importer
    for thread in threads:
        thread.start()

    def public_names() -> list[str]:
        return [s["name"] for s in api.get("/api/v1/centres").json["partner_services"]]

    try:
        wait_for(
            lambda: public_names() == ["Test Baby Massage", "Test Stay and Play"], DEADLINE, "the import"
        )

        feed.services.pop(0)
        feed.changed()
        wait_for(lambda: public_names() == ["Test Baby Massage"], DEADLINE, "the dropped service to go")

        feed.mode = "500"
        wait_for(
            lambda: (repository.feed_status("partner").get("last_error") or {}).get("reason") == "http_error",
            DEADLINE,
            "the failure to be recorded",
        )
        assert public_names() == ["Test Baby Massage"]
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        feed.stop()
        store.close()
    assert not any(thread.is_alive() for thread in threads)


class ScriptedImporter:
    """What the import task asks of an Importer, failing as scripted: a store outage, then an error no
    feed handler foresaw, then good rounds."""

    settings = ImportSettings(interval_seconds=1)

    def __init__(self) -> None:
        self.script: list[Exception | None] = [StoreUnavailable("store down"), KeyError("unforeseen")]
        self.rounds = 0

    def run_once(self) -> None:
        self.rounds += 1
        failure = self.script.pop(0) if self.script else None
        if failure is not None:
            raise failure

    def next_due_in(self) -> float:
        return 0.0


def test_the_import_task_waits_out_an_outage_and_outlives_an_unforeseen_error(caplog):
    """One partner's data the importer did not foresee must not end the worker, whose process also
    relays the directory's centre events: it is logged and the next round comes."""
    importer = ScriptedImporter()
    stop = threading.Event()
    died: list[BaseException] = []

    def run() -> None:
        try:
            import_task(importer)(stop)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
            died.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: importer.rounds >= 4 or died, DEADLINE, "rounds after both failures")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not died and not thread.is_alive()
    assert importer.rounds >= 4
    assert "partner feed import waiting for the store" in caplog.text  # the outage: waited out
    assert caplog.text.count("partner feed import run failed") == 1  # the unforeseen error: logged

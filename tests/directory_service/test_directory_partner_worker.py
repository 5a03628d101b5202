"""End to end through the directory's worker: it imports a partner feed on its schedule, and the
public search shows what it imported. A one-second interval; every wait is on a condition."""

from __future__ import annotations

import threading

from ccshared.store import connect
from directory import worker
from directory.app import create_app
from directory.config import ImportSettings, Settings
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

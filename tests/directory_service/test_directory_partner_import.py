"""Importing partners' ORUK feeds, driven one run at a time with a fixed clock.

Each feed is a real HTTP server on loopback (feed_server.FeedServer) serving the
specification's examples, and broken on purpose: down, slow, 500, not JSON,
against the schema, a bad second page, too large. A failure must change nothing
already imported and be reported: on the feed's status (the staff page reads
it), in the failure counter, in the log.
"""

from __future__ import annotations

import logging
import time

import pytest
import requests
from ccshared.config import ConfigError
from ccshared.store import connect
from ccshared.timeutil import FixedClock, to_str
from directory import config
from directory.config import ImportSettings
from directory.importer import Importer, page_url
from directory.partner_repository import PartnerRepository
from directory.partner_schemas import InvalidPage, load_page
from directory.partners import Feed, backoff, parse_feeds
from directory_testkit import NOW
from feed_server import (
    EXAMPLE_ORGANISATION,
    FeedServer,
    partner_service,
    the_example_list,
    the_example_service,
)
from oruk_validator import assert_valid, errors, schema
from prometheus_client import REGISTRY

INTERVAL = 3600


@pytest.fixture
def repository(any_store_url):
    store = connect(any_store_url)
    yield PartnerRepository(store)
    store.close()


@pytest.fixture
def feed():
    server = FeedServer(
        [the_example_service(), partner_service("Test Stay and Play"), partner_service("Test Baby Massage")]
    )
    yield server
    server.stop()


def importer_for(repository, server, clock, name="partner", timeout=2.0, **limits) -> Importer:
    settings = ImportSettings(
        feeds=(Feed(name, server.url),),
        interval_seconds=INTERVAL,
        timeout_seconds=timeout,
        backoff_seconds=60,
        backoff_max_seconds=3600,
        **limits,
    )
    return Importer(repository, settings, clock)


def failures(feed: str, reason: str) -> float:
    return REGISTRY.get_sample_value("cc_partner_feed_fetch_failures_total", {"feed": feed, "reason": reason})


def imported(repository, feed="partner") -> dict[str, dict]:
    return {doc["service_id"]: doc for doc in repository.of_feed(feed)}


def test_the_kit_serves_pages_the_specification_accepts(feed):
    """The local feed is judged by the specification's own schema, as the ORUK validator would."""
    for full in ("true", "false"):
        answer = requests.get(f"{feed.url}/services", params={"full": full}, timeout=5)
        assert_valid(schema("service_list.json"), answer.json())
    assert_valid(schema("service_list.json"), the_example_list())
    load_page(the_example_list(), 1)


def test_a_feed_is_imported_with_its_source_organisation_and_assured_date(repository, feed):
    clock = FixedClock(NOW)
    outcomes = importer_for(repository, feed, clock).run_once()

    assert [(o.result, o.written) for o in outcomes] == [("imported", 3)]
    found = imported(repository)
    example = found[the_example_service()["id"]]
    assert example["feed"] == "partner"
    assert example["organization"] == EXAMPLE_ORGANISATION
    assert example["assured_date"] == "2005-01-01"  # its own, not the day we fetched it
    assert example["name"] == "Community Counselling"
    assert example["places"] == []  # the example's coordinates (100, 101) are not a place on Earth
    assert example["hidden"] is False
    ours = next(doc for doc in found.values() if doc["name"] == "Test Stay and Play")
    assert ours["organization"] == "Test Partner Charity"
    assert ours["assured_date"] == "2026-10-01"
    assert ours["languages"] == ["English"]
    assert ours["places"][0]["postcode_district"] == "L1"
    status = repository.feed_status("partner")
    assert status["last_result"] == "imported" and status["services"] == 3
    assert status["last_success_at"] and status.get("last_error") is None


def test_every_page_is_read(repository):
    server = FeedServer([partner_service(f"Test Service {n}") for n in range(5)], max_per_page=2)
    try:
        importer_for(repository, server, FixedClock(NOW)).run_once()
        asked = [path for path, _ in server.requests]
    finally:
        server.stop()
    assert len(imported(repository)) == 5
    assert [p.split("page=")[1].split("&")[0] for p in asked] == ["1", "2", "3"]
    assert all("full=true" in p for p in asked)


def test_unchanged_feed_answers_304_and_nothing_is_rewritten(repository, feed):
    clock = FixedClock(NOW)
    importer = importer_for(repository, feed, clock)
    importer.run_once()
    before = imported(repository)

    clock.advance(seconds=INTERVAL)
    outcomes = importer.run_once()

    assert [o.result for o in outcomes] == ["not_modified"]
    _, headers = feed.requests[-1]
    assert headers.get("If-None-Match") and headers.get("If-Modified-Since")
    assert imported(repository) == before  # not even imported_at moved
    assert repository.feed_status("partner")["last_success_at"] == to_str(clock.now())


def test_nothing_is_fetched_before_the_interval_is_up(repository, feed):
    clock = FixedClock(NOW)
    importer = importer_for(repository, feed, clock)
    importer.run_once()
    clock.advance(seconds=INTERVAL - 1)
    assert importer.run_once() == []
    assert len(feed.requests) == 1
    assert importer.next_due_in() == 1


def test_a_service_that_leaves_the_feed_is_dropped_and_the_others_kept(repository, feed):
    clock = FixedClock(NOW)
    importer = importer_for(repository, feed, clock)
    importer.run_once()
    gone = feed.services.pop(1)
    feed.changed()

    clock.advance(seconds=INTERVAL)
    [outcome] = importer.run_once()

    assert outcome.result == "imported" and outcome.dropped == 1
    assert gone["id"] not in imported(repository)
    assert len(imported(repository)) == 2


BREAKS = {
    "500": "http_error",
    "invalid_json": "invalid_json",
    "schema_invalid": "invalid_data",
    "bad_page_2": "invalid_data",
    "too_large": "too_large",
    "slow": "timeout",
    "dribble": "timeout",  # bytes keep coming, too slowly: the timeout bounds the whole answer
    "down": "unreachable",
}


@pytest.mark.parametrize("mode", list(BREAKS))
def test_a_broken_feed_changes_nothing_and_is_reported(repository, mode, caplog):
    server = FeedServer([partner_service(f"Test Service {n}") for n in range(5)], max_per_page=2)
    clock = FixedClock(NOW)
    # The good first fetch has time to spare on a busy machine; the broken one is held to 0.5 s.
    importer = importer_for(repository, server, clock, name=f"broken-{mode}", timeout=10, max_bytes=50_000)
    try:
        importer.run_once()
        importer = importer_for(
            repository, server, clock, name=f"broken-{mode}", timeout=0.5, max_bytes=50_000
        )
        before = imported(repository, f"broken-{mode}")
        counted = failures(f"broken-{mode}", BREAKS[mode])
        last_success = repository.feed_status(f"broken-{mode}")["last_success_at"]
        server.services.pop(0)  # what a good fetch would now drop
        server.changed()
        server.large_bytes = 60_000
        if mode == "down":
            server.stop()
        else:
            server.mode = mode
        clock.advance(seconds=INTERVAL)

        with caplog.at_level(logging.WARNING, logger="directory.importer"):
            started = time.monotonic()
            [outcome] = importer.run_once()
            took = time.monotonic() - started
    finally:
        server.stop()

    # A timeout of 0.5 s bounds the whole fetch, not each read (a dribbled page takes ~15 s).
    assert took < 5, took

    assert (outcome.result, outcome.reason) == ("failed", BREAKS[mode])
    assert imported(repository, f"broken-{mode}") == before
    status = repository.feed_status(f"broken-{mode}")
    assert status["last_error"]["reason"] == BREAKS[mode]
    assert server.url not in status["last_error"]["detail"]
    assert status["last_success_at"] == last_success and status["failures"] == 1
    assert failures(f"broken-{mode}", BREAKS[mode]) == counted + 1
    [record] = [r for r in caplog.records if r.getMessage().startswith("partner feed fetch failed")]
    assert record.feed == f"broken-{mode}" and record.reason == BREAKS[mode]
    logged = record.getMessage() + str(record.detail)
    assert server.url not in logged and f":{server.port}" not in logged, (
        "the feed's address stays out of logs"
    )


def test_a_failing_feed_is_retried_after_a_doubling_back_off(repository, feed):
    clock = FixedClock(NOW)
    importer = importer_for(repository, feed, clock, name="flaky")
    feed.mode = "500"
    asked = []
    for wait in (60, 120, 240):
        [outcome] = importer.run_once()
        assert outcome.result == "failed"
        asked.append(len(feed.requests))
        clock.advance(seconds=wait - 1)
        assert importer.run_once() == []  # still backing off
        clock.advance(seconds=1)
    assert asked == [1, 2, 3]
    feed.mode = "ok"
    [outcome] = importer.run_once()
    assert outcome.result == "imported"
    assert repository.feed_status("flaky")["failures"] == 0
    assert importer.next_due_in() == INTERVAL


def test_back_off_is_capped():
    assert [backoff(n, 60, 3600).total_seconds() for n in (1, 2, 3, 7, 8, 20)] == [
        60,
        120,
        240,
        3600,
        3600,
        3600,
    ]


def test_after_a_rejected_fetch_the_next_one_is_not_conditional_on_it(repository, feed):
    """A 304 only means 'same as what you imported': validators are kept from good imports only."""
    clock = FixedClock(NOW)
    importer = importer_for(repository, feed, clock)
    importer.run_once()
    validators = repository.feed_status("partner")["validators"]
    feed.changed()
    feed.mode = "schema_invalid"
    clock.advance(seconds=INTERVAL)
    importer.run_once()
    assert repository.feed_status("partner")["validators"] == validators


def test_a_page_that_breaks_the_specification_is_refused_naming_the_field():
    page = the_example_list()
    page["contents"][0]["id"] = "not-a-uuid"
    assert errors(schema("service_list.json"), page)  # the specification refuses it too
    with pytest.raises(InvalidPage, match=r"contents\.0\.id"):
        load_page(page, 1)
    missing = the_example_list()
    del missing["contents"][0]["name"]
    with pytest.raises(InvalidPage, match=r"contents\.0\.name"):
        load_page(missing, 1)
    with pytest.raises(InvalidPage, match="page_number"):
        load_page(the_example_list(), 2)


def test_feeds_setting_names_each_feed():
    feeds = parse_feeds(
        "https://api.example.org/oruk, https://api.example.org/other "
        "health=https://feeds.example.net/oruk?key=abc"
    )
    assert [f.name for f in feeds] == ["api.example.org", "api.example.org-2", "health"]
    assert feeds[2].url == "https://feeds.example.net/oruk?key=abc"
    assert (
        page_url(feeds[2], 3)
        == "https://feeds.example.net/oruk/services?key=abc&page=3&per_page=100&full=true"
    )


@pytest.mark.parametrize("raw", ["ftp://example.org/oruk", "not a url", "Bad_Name=https://example.org"])
def test_a_bad_feeds_setting_is_refused_by_name(raw):
    from tests.infra import tokens

    with pytest.raises(ConfigError, match="ORUK_IMPORT_FEEDS"):
        config.Settings.from_env({**tokens.key_env("directory"), "ORUK_IMPORT_FEEDS": raw})


def test_a_bad_feeds_setting_never_shows_a_key_its_urls_carry():
    from tests.infra import tokens

    raw = "Health=https://feeds.example.org/oruk?api_key=TEST-KEY-123"
    with pytest.raises(ConfigError) as refused:
        config.Settings.from_env({**tokens.key_env("directory"), "ORUK_IMPORT_FEEDS": raw})
    assert "ORUK_IMPORT_FEEDS is invalid: feed name 'Health'" in str(refused.value)
    assert "TEST-KEY-123" not in str(refused.value)


def test_feed_settings_are_read_from_the_environment():
    from tests.infra import tokens

    settings = config.Settings.from_env(
        {
            **tokens.key_env("directory"),
            "ORUK_IMPORT_FEEDS": "https://api.example.org/oruk",
            "ORUK_IMPORT_INTERVAL_SECONDS": "600",
            "ORUK_IMPORT_TIMEOUT_SECONDS": "2.5",
        }
    )
    assert settings.partner_import.feeds == (Feed("api.example.org", "https://api.example.org/oruk"),)
    assert (settings.partner_import.interval_seconds, settings.partner_import.timeout_seconds) == (600, 2.5)
    assert config.Settings.from_env(tokens.key_env("directory")).partner_import.interval_seconds == 3600

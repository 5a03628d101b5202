"""Importing partners' ORUK feeds: fetch, validate, then replace what the feed had.

Each run visits every feed that is due. A fetch reads `/services?full=true`
page by page (a time limit per request, a size limit per answer), sending the
validators of the last good import (If-None-Match, If-Modified-Since). Every
page is validated before anything is written, so a feed that is down, slow,
or answers rubbish changes nothing already imported: the failure is logged,
counted (directory.partner_metrics) and kept on the feed's status for the staff
page, and the feed is left alone for a doubling back-off. When every page
answers 304 nothing changes; otherwise the feed's services become exactly what
it lists now, so a service it dropped is dropped here too.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ccshared import contracts as c
from ccshared.retrying import TRANSIENT, every
from ccshared.timeutil import Clock, from_str, to_str
from ccshared.worker import Task

from . import partner_metrics, partners
from .config import ImportSettings
from .partner_repository import PartnerRepository
from .partner_schemas import InvalidPage, load_page

log = logging.getLogger(__name__)

PER_PAGE = 100
MAX_PAGES = 500
NOT_MODIFIED = 304


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


class FetchFailed(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Fetcher(Protocol):
    def get(self, url: str, headers: Mapping[str, str], timeout: float, max_bytes: int) -> Fetched:
        """200 or 304 with the body and validators; raises FetchFailed otherwise."""


class HttpFetcher:
    """GET over the standard library's HTTP client, bounded in time and size."""

    def get(self, url: str, headers: Mapping[str, str], timeout: float, max_bytes: int) -> Fetched:
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})  # noqa: S310 - http(s) only, checked in config
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only, checked in config
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise FetchFailed(partners.TOO_LARGE, f"answer of {declared} bytes is over {max_bytes}")
                body = _read(response, max_bytes, deadline)
                return Fetched(
                    response.status, body, response.headers.get("ETag"), response.headers.get("Last-Modified")
                )
        except urllib.error.HTTPError as exc:
            if exc.code == NOT_MODIFIED:
                return Fetched(NOT_MODIFIED)
            raise FetchFailed(partners.HTTP_ERROR, f"HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise FetchFailed(partners.TIMEOUT, f"no answer within {timeout:g} s") from None
            raise FetchFailed(partners.UNREACHABLE, f"cannot connect ({type(exc.reason).__name__})") from None
        except TimeoutError:
            raise FetchFailed(partners.TIMEOUT, f"no answer within {timeout:g} s") from None
        except OSError as exc:
            raise FetchFailed(partners.UNREACHABLE, f"connection failed ({type(exc).__name__})") from None


def _read(response: Any, max_bytes: int, deadline: float) -> bytes:
    """The body, given up at the deadline. `read1` returns what has come, so a feed that dribbles
    its answer is caught between pieces; a silent one by the socket's own timeout (so a fetch
    ends within twice the timeout at worst)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read1(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise FetchFailed(partners.TOO_LARGE, f"answer is over {max_bytes} bytes")
        chunks.append(chunk)


def page_url(feed: partners.Feed, page: int) -> str:
    """The feed's /services page, keeping any query the feed's URL carries (a partner's key)."""
    parts = urlsplit(feed.url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("page", str(page)), ("per_page", str(PER_PAGE)), ("full", "true")]
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/services", query=urlencode(query)))


@dataclass(frozen=True)
class Outcome:
    feed: str
    result: str  # one of contracts.FEED_RESULTS
    reason: str | None = None
    written: int = 0
    dropped: int = 0


@dataclass(eq=False)
class Importer:
    repository: PartnerRepository
    settings: ImportSettings
    clock: Clock
    fetcher: Fetcher | None = None  # None: an HttpFetcher

    def __post_init__(self) -> None:
        self.fetcher = self.fetcher or HttpFetcher()
        partner_metrics.start([feed.name for feed in self.settings.feeds])

    def run_once(self) -> list[Outcome]:
        """Fetch every feed that is due now; return what happened to each."""
        outcomes = []
        for feed in self.settings.feeds:
            status = self.repository.feed_status(feed.name)
            if self._due(status):
                outcomes.append(self.import_feed(feed, status))
        self.report()
        return outcomes

    def next_due_in(self) -> float:
        """Seconds until the next feed is due (0 if one is due now)."""
        now = self.clock.now()
        waits = [
            (from_str(status["next_attempt_at"]) - now).total_seconds()
            if status.get("next_attempt_at")
            else 0.0
            for status in (self.repository.feed_status(feed.name) for feed in self.settings.feeds)
        ]
        return max(0.0, min(waits, default=self.settings.interval_seconds))

    def report(self) -> None:
        statuses = self.repository.all_feed_status()
        for feed in self.settings.feeds:
            status = statuses.get(feed.name) or {}
            partner_metrics.feed_state(
                feed.name, self.repository.count(feed.name), status.get("last_success_at")
            )

    def _due(self, status: Mapping[str, Any]) -> bool:
        due = status.get("next_attempt_at")
        return due is None or from_str(due) <= self.clock.now()

    def import_feed(self, feed: partners.Feed, status: Mapping[str, Any] | None = None) -> Outcome:
        status = dict(status or self.repository.feed_status(feed.name))
        now = self.clock.now()
        status["last_attempt_at"] = to_str(now)
        try:
            pages, validators = self._fetch_all(feed, status)
        except FetchFailed as failure:
            return self._failed(feed, status, now, failure)
        if pages is None:
            status.update(failures=0, last_success_at=to_str(now), last_result=c.FEED_NOT_MODIFIED)
            status["next_attempt_at"] = to_str(now + timedelta(seconds=self.settings.interval_seconds))
            self.repository.save_feed_status(status)
            log.info("partner feed unchanged", extra={"feed": feed.name})
            return Outcome(feed.name, c.FEED_NOT_MODIFIED)
        services = {}
        for page in pages:
            for record in page["contents"]:
                services[record["id"]] = partners.from_record(feed, record, now)
        written, dropped = self.repository.replace_feed(feed.name, services.values())
        status.update(
            failures=0,
            last_success_at=to_str(now),
            last_result=c.FEED_IMPORTED,
            validators=validators,
            pages=len(pages),
            services=len(services),
            next_attempt_at=to_str(now + timedelta(seconds=self.settings.interval_seconds)),
        )
        self.repository.save_feed_status(status)
        log.info(
            "partner feed imported",
            extra={"feed": feed.name, "services": len(services), "written": written, "dropped": dropped},
        )
        return Outcome(feed.name, c.FEED_IMPORTED, written=written, dropped=dropped)

    def _failed(
        self, feed: partners.Feed, status: dict[str, Any], now: datetime, failure: FetchFailed
    ) -> Outcome:
        failures = int(status.get("failures") or 0) + 1
        wait = partners.backoff(failures, self.settings.backoff_seconds, self.settings.backoff_max_seconds)
        status.update(
            failures=failures,
            last_result=c.FEED_FAILED,
            last_error={"at": to_str(now), "reason": failure.reason, "detail": failure.detail},
            next_attempt_at=to_str(now + wait),
        )
        self.repository.save_feed_status(status)
        partner_metrics.FETCH_FAILURES.labels(feed.name, failure.reason).inc()
        log.warning(
            "partner feed fetch failed; nothing imported from it changed",
            extra={
                "feed": feed.name,
                "reason": failure.reason,
                "detail": failure.detail,
                "failures_in_a_row": failures,
                "retry_in_seconds": int(wait.total_seconds()),
            },
        )
        return Outcome(feed.name, c.FEED_FAILED, failure.reason)

    def _fetch_all(
        self, feed: partners.Feed, status: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]] | None, dict[str, dict]]:
        """Every page, validated; (None, {}) when every page is unchanged since the last import."""
        known: dict[str, dict] = status.get("validators") or {}
        known_pages = int(status.get("pages") or 0)
        answers: dict[int, dict[str, Any] | None] = {}
        validators: dict[str, dict] = {}
        page = 1
        while True:
            if page > MAX_PAGES:
                raise FetchFailed(partners.INVALID_DATA, f"more than {MAX_PAGES} pages")
            answer, fresh = self._page(feed, page, known.get(str(page)))
            answers[page] = answer
            if fresh:
                validators[str(page)] = fresh
            last = answer["last_page"] if answer is not None else page >= known_pages
            if last:
                break
            page += 1
        if all(answer is None for answer in answers.values()):
            return None, {}
        pages = []
        for number, answer in sorted(answers.items()):
            if answer is None:
                answer, fresh = self._page(feed, number, None)
                validators[str(number)] = fresh
            pages.append(answer)
        return pages, validators

    def _page(
        self, feed: partners.Feed, page: int, validators: Mapping[str, str] | None
    ) -> tuple[dict[str, Any] | None, dict[str, str]]:
        headers = {}
        if validators and validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators and validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
        fetched = self.fetcher.get(
            page_url(feed, page), headers, self.settings.timeout_seconds, self.settings.max_bytes
        )
        if fetched.status == NOT_MODIFIED:
            if not validators:
                raise FetchFailed(partners.HTTP_ERROR, f"page {page}: 304 to an unconditional request")
            return None, dict(validators)
        try:
            body = json.loads(fetched.body)
        except ValueError:
            raise FetchFailed(partners.INVALID_JSON, f"page {page}: not JSON") from None
        try:
            answer = load_page(body, page)
        except InvalidPage as exc:
            raise FetchFailed(partners.INVALID_DATA, f"page {page}: {exc}") from None
        if not answer["contents"] and not answer["last_page"]:
            raise FetchFailed(partners.INVALID_DATA, f"page {page}: empty but not the last page")
        fresh = {k: v for k, v in (("etag", fetched.etag), ("last_modified", fetched.last_modified)) if v}
        return answer, fresh


def import_task(importer: Importer) -> Task:
    """A worker task: run the importer whenever a feed is due, until stopped."""

    def next_round() -> float:
        """Import what is due; return the seconds until the next feed is. A failure that is not an
        outage (a partner's data the importer did not foresee) is logged and tried again later:
        one feed must not bring down the worker, and with it the directory's outbox relay."""
        try:
            importer.run_once()
            return importer.next_due_in()
        except TRANSIENT:
            raise
        except Exception:  # noqa: BLE001 - see above
            log.exception("partner feed import run failed; trying again shortly")
            return min(60.0, importer.settings.interval_seconds)

    def import_partner_feeds(stop: threading.Event) -> None:
        every(stop, lambda wait: max(wait, 0.05), next_round, "partner feed import waiting for the store")

    return import_partner_feeds

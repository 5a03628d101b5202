"""Builds the SLA monitor's parts from settings: the app, the worker and the `due` command use it."""

from __future__ import annotations

from datetime import timedelta

from ccshared.auth import TokenVerifier
from ccshared.hints import Hints
from ccshared.store import Store
from ccshared.timeutil import Clock

from .api import Context
from .config import SERVICE, CalendarSettings, Settings, WorkerSettings
from .escalation import Ladder
from .policy import Policy
from .publication import Publisher
from .repository import PUBLISHED_MONTHS, ClockRepository, PublishedMonths, repositories
from .service import Monitor


def policy(settings: CalendarSettings) -> Policy:
    """The targets over the working-day calendar: all the `due` command needs."""
    return Policy(settings.calendar, settings.targets)


def ladder(settings: WorkerSettings) -> Ladder:
    """The reminders of breaches still unanswered."""
    return Ladder(settings.calendar.calendar, settings.escalation_reminder_days)


def monitor(settings: WorkerSettings, store: Store, clock: Clock, staged: Hints | None = None) -> Monitor:
    """The worker's service layer; the events it stages are reported to `staged`, for the relay."""
    clocks, centres = repositories(store, clock, staged)
    return Monitor(
        clocks,
        centres,
        policy(settings.calendar),
        clock,
        stale_days=settings.stale_days,
        late_receipt_grace=timedelta(seconds=settings.late_receipt_grace_seconds),
        ladder=ladder(settings),
    )


def publisher(clocks: ClockRepository, store: Store, clock: Clock) -> Publisher:
    """The public figures, each month's as first published."""
    return Publisher(clocks, PublishedMonths(store.collection(PUBLISHED_MONTHS)), clock)


def api_context(settings: Settings, store: Store, clock: Clock) -> Context:
    """What the HTTP routes work with (api.Context)."""
    clocks, centres = repositories(store, clock)
    return Context(
        clocks=clocks,
        centres=centres,
        policy=policy(settings.worker.calendar),
        clock=clock,
        tokens=TokenVerifier(SERVICE, settings.staff_token_public_key, settings.service_token_public_key),
        publisher=publisher(clocks, store, clock),
    )

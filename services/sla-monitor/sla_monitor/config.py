"""Settings from the environment, one small group per component.

The calendar settings load on their own so that the `due` command works on a
machine with no other configuration (no staff token key, no database).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ccshared import calendar as cccalendar
from ccshared import config, contracts
from ccshared.config import Var
from joserfc.jwk import OKPKey

from .escalation import DEFAULT_REMINDER_WORKING_DAYS, Ladder
from .policy import DEFAULT_CELLS, DEFAULT_TARGETS, Policy, Targets

SERVICE = contracts.SERVICE_SLA_MONITOR
# The keys it holds: the front end's public key, and the notifier's service token public key
# (the notifier fetches the full compliance report for its monthly e-mail).
STAFF_TOKEN_PUBLIC_KEY = config.STAFF_TOKEN_PUBLIC_KEY
SERVICE_TOKEN_PUBLIC_KEY = config.SERVICE_TOKEN_PUBLIC_KEY


def _target_var(channel: str) -> Var:
    return Var(
        f"SLA_TARGET_{channel.upper()}",
        DEFAULT_TARGETS[channel],
        config.positive_int,
        f"working days to respond to a {channel} contact with no urgency, "
        "and the default of its urgencies' cells",
    )


def _cell_var(channel: str, urgency: str) -> Var:
    default = DEFAULT_CELLS.get((channel, urgency))
    return Var(
        f"SLA_TARGET_{channel.upper()}_{urgency.upper()}",
        default,
        config.positive_int,
        f"working days to respond to a {urgency} {channel} contact"
        + ("" if default else f" (default: SLA_TARGET_{channel.upper()})"),
    )


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be positive")
    return value


TARGETS = tuple(_target_var(channel) for channel in contracts.CHANNELS)
CELLS = tuple(
    _cell_var(channel, urgency) for channel in contracts.CHANNELS for urgency in contracts.URGENCIES
)
CALENDAR_VARS = (*cccalendar.VARS, *TARGETS, *CELLS)
STALE_DAYS = Var(
    "SLA_STALE_DAYS", 90, config.positive_int, "days after which unverified centre information is stale"
)
SCAN_SECONDS = Var(
    "SLA_SCAN_SECONDS",
    5.0,
    _positive_float,
    "the longest the deadline scanner sleeps; it wakes sooner when the next clock falls due "
    "or a contact event changes a clock (another instance's changes are seen within this)",
)
FRESHNESS_SECONDS = Var("SLA_FRESHNESS_SECONDS", 60.0, _positive_float, "how often to look for stale centres")
LATE_RECEIPT_GRACE = Var(
    "SLA_LATE_RECEIPT_GRACE_SECONDS",
    5.0,
    _non_negative_float,
    "a receipt processed after its own due instant waits this long, so a response queued behind it counts first",
)
STARTUP_WAIT = Var(
    "SLA_STARTUP_WAIT_SECONDS",
    30.0,
    _non_negative_float,
    "longest the first scan waits for the consumer to drain its backlog after a start",
)
ESCALATION_REMINDER_DAYS = Var(
    "SLA_ESCALATION_REMINDER_DAYS",
    DEFAULT_REMINDER_WORKING_DAYS,
    config.non_negative_int,
    "a breach still unanswered this many working days later is raised again to the coordinator and "
    "the Principal Officer, and again every as many working days; 0 turns the reminders off",
)
CONSUMER_GROUP = Var("SLA_CONSUMER_GROUP", "sla-monitor", str, "consumer group of the monitor's instances")


@dataclass(frozen=True)
class CalendarSettings:
    calendar: cccalendar.WorkingCalendar
    targets: Targets

    def policy(self) -> Policy:
        return Policy(self.calendar, self.targets)


@dataclass(frozen=True)
class WorkerSettings:
    calendar: CalendarSettings
    bus_url: str
    store_url: str
    stale_days: int
    scan_seconds: float
    freshness_seconds: float
    late_receipt_grace_seconds: float
    startup_wait_seconds: float
    consumer_group: str
    log_level: str
    processed_retention_days: int = 30
    escalation_reminder_days: int = DEFAULT_REMINDER_WORKING_DAYS

    def ladder(self) -> Ladder:
        return Ladder(self.calendar.calendar, self.escalation_reminder_days)


@dataclass(frozen=True)
class Settings:
    worker: WorkerSettings
    staff_token_public_key: OKPKey
    service_token_public_key: OKPKey | None = None


def load_calendar(environ: Mapping[str, str] | None = None) -> CalendarSettings:
    return _calendar(config.load(CALENDAR_VARS, environ))


def _calendar(values: Mapping[str, object]) -> CalendarSettings:
    channels = {channel: values[f"SLA_TARGET_{channel.upper()}"] for channel in contracts.CHANNELS}
    cells = {
        (channel, urgency): values[f"SLA_TARGET_{channel.upper()}_{urgency.upper()}"] or channels[channel]
        for channel in contracts.CHANNELS
        for urgency in contracts.URGENCIES
    }
    return CalendarSettings(
        calendar=cccalendar.from_values(values),
        targets=Targets(channels, cells),  # type: ignore[arg-type]
    )


_WORKER_VARS = [
    *CALENDAR_VARS,
    config.BUS_URL,
    config.store_url(SERVICE),
    STALE_DAYS,
    SCAN_SECONDS,
    FRESHNESS_SECONDS,
    LATE_RECEIPT_GRACE,
    STARTUP_WAIT,
    ESCALATION_REMINDER_DAYS,
    CONSUMER_GROUP,
    config.LOG_LEVEL,
    config.PROCESSED_RETENTION_DAYS,
]


def load_worker(environ: Mapping[str, str] | None = None) -> WorkerSettings:
    return _worker(config.load(_WORKER_VARS, environ))


def _worker(values: Mapping[str, object]) -> WorkerSettings:
    return WorkerSettings(
        calendar=_calendar(values),
        bus_url=values["EVENT_BUS_URL"],  # type: ignore[arg-type]
        store_url=values["STORE_URL"],  # type: ignore[arg-type]
        stale_days=values[STALE_DAYS.name],  # type: ignore[arg-type]
        scan_seconds=values[SCAN_SECONDS.name],  # type: ignore[arg-type]
        freshness_seconds=values[FRESHNESS_SECONDS.name],  # type: ignore[arg-type]
        late_receipt_grace_seconds=values[LATE_RECEIPT_GRACE.name],  # type: ignore[arg-type]
        startup_wait_seconds=values[STARTUP_WAIT.name],  # type: ignore[arg-type]
        consumer_group=values[CONSUMER_GROUP.name],  # type: ignore[arg-type]
        log_level=values["LOG_LEVEL"],  # type: ignore[arg-type]
        processed_retention_days=values["PROCESSED_RETENTION_DAYS"],  # type: ignore[arg-type]
        escalation_reminder_days=values[ESCALATION_REMINDER_DAYS.name],  # type: ignore[arg-type]
    )


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Everything the HTTP app needs; one ConfigError names every bad variable."""
    values = config.load([*_WORKER_VARS, STAFF_TOKEN_PUBLIC_KEY, SERVICE_TOKEN_PUBLIC_KEY], environ)
    return Settings(
        worker=_worker(values),
        staff_token_public_key=values[STAFF_TOKEN_PUBLIC_KEY.name],  # type: ignore[arg-type]
        service_token_public_key=values[SERVICE_TOKEN_PUBLIC_KEY.name],  # type: ignore[arg-type]
    )

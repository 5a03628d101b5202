"""Settings from the environment, one small group per component.

The calendar settings load on their own so that the `due` command works on a
machine with no other configuration (no staff token key, no database).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ccshared import calendar as cccalendar
from ccshared import config, contracts
from ccshared.config import Var, derived, section, setting
from joserfc.jwk import OKPKey

from .escalation import DEFAULT_REMINDER_WORKING_DAYS
from .policy import DEFAULT_CELLS, DEFAULT_TARGETS, Targets

SERVICE = contracts.SERVICE_SLA_MONITOR
PORT = Var("SLA_MONITOR_PORT", 8003, config.positive_int, "HTTP port")


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


TARGETS = tuple(_target_var(channel) for channel in contracts.CHANNELS)
CELLS = tuple(
    _cell_var(channel, urgency) for channel in contracts.CHANNELS for urgency in contracts.URGENCIES
)


def _targets(values: Mapping[str, object]) -> Targets:
    channels = {channel: values[f"SLA_TARGET_{channel.upper()}"] for channel in contracts.CHANNELS}
    cells = {
        (channel, urgency): values[f"SLA_TARGET_{channel.upper()}_{urgency.upper()}"] or channels[channel]
        for channel in contracts.CHANNELS
        for urgency in contracts.URGENCIES
    }
    return Targets(channels, cells)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class CalendarSettings:
    calendar: cccalendar.WorkingCalendar = derived(cccalendar.VARS, cccalendar.from_values)
    targets: Targets = derived((*TARGETS, *CELLS), _targets)


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    calendar: CalendarSettings = section(CalendarSettings)
    bus_url: str = setting(config.BUS_URL)
    store_url: str = setting(config.store_url(SERVICE))
    stale_days: int = setting(
        "SLA_STALE_DAYS", 90, config.positive_int, "days after which unverified centre information is stale"
    )
    scan_seconds: float = setting(
        "SLA_SCAN_SECONDS",
        5.0,
        config.positive_float,
        "the longest the deadline scanner sleeps; it wakes sooner when the next clock falls due "
        "or a contact event changes a clock (another instance's changes are seen within this)",
    )
    freshness_seconds: float = setting(
        "SLA_FRESHNESS_SECONDS", 60.0, config.positive_float, "how often to look for stale centres"
    )
    late_receipt_grace_seconds: float = setting(
        "SLA_LATE_RECEIPT_GRACE_SECONDS",
        5.0,
        config.non_negative_float,
        "a receipt processed after its own due instant waits this long, so a response queued behind it "
        "counts first",
    )
    startup_wait_seconds: float = setting(
        "SLA_STARTUP_WAIT_SECONDS",
        30.0,
        config.non_negative_float,
        "longest the first scan waits for the consumer to drain its backlog after a start",
    )
    consumer_group: str = setting(
        "SLA_CONSUMER_GROUP", "sla-monitor", str, "consumer group of the monitor's instances"
    )
    log_level: str = setting(config.LOG_LEVEL)
    processed_retention_days: int = setting(config.PROCESSED_RETENTION_DAYS)
    escalation_reminder_days: int = setting(
        "SLA_ESCALATION_REMINDER_DAYS",
        DEFAULT_REMINDER_WORKING_DAYS,
        config.non_negative_int,
        "a breach still unanswered this many working days later is raised again to the coordinator and "
        "the Principal Officer, and again every as many working days; 0 turns the reminders off",
    )


@dataclass(frozen=True, kw_only=True)
class Settings:
    worker: WorkerSettings = section(WorkerSettings)
    # The keys it holds: the front end's public key, and the notifier's service token public key
    # (the notifier fetches the full compliance report for its monthly e-mail).
    staff_token_public_key: OKPKey = setting(config.STAFF_TOKEN_PUBLIC_KEY)
    service_token_public_key: OKPKey | None = setting(config.SERVICE_TOKEN_PUBLIC_KEY)
    trusted_proxy_hops: int = setting(config.TRUSTED_PROXY_HOPS)


def load_calendar(environ: Mapping[str, str] | None = None) -> CalendarSettings:
    """The calendar and targets alone: the `due` command needs no key and no database."""
    return config.from_env(CalendarSettings, environ)


def load_worker(environ: Mapping[str, str] | None = None) -> WorkerSettings:
    return config.from_env(WorkerSettings, environ)


def load_log_level(environ: Mapping[str, str] | None = None) -> str:
    """LOG_LEVEL alone, so that logs are set up before the other settings are checked."""
    return config.load([config.LOG_LEVEL], environ)[config.LOG_LEVEL.name]


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Everything the HTTP app needs; one ConfigError names every bad variable."""
    return config.from_env(Settings, environ)

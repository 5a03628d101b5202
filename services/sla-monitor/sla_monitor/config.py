"""Settings from the environment, one small group per component.

The calendar settings load on their own so that the `due` command works on a
machine with no other configuration (no staff token key, no database).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccshared import calendar, config, contracts
from ccshared.calendar import WorkingCalendar
from ccshared.config import derived, group, non_negative_float, positive_float, positive_int, section, setting
from joserfc.jwk import OKPKey

from .escalation import DEFAULT_REMINDER_WORKING_DAYS
from .policy import DEFAULT_CELLS, DEFAULT_TARGETS, Targets

SERVICE = contracts.SERVICE_SLA_MONITOR
PORT = config.Var("SLA_MONITOR_PORT", 8003, config.port, "HTTP port")
MAX_TARGET_DAYS = 260  # a year of working days: a larger target is a typo (the calendar ends in 2100)


def _working_days(raw: str) -> int:
    days = positive_int(raw)
    if days > MAX_TARGET_DAYS:
        raise ValueError(f"must be at most {MAX_TARGET_DAYS} working days (a year)")
    return days


def _target(channel: str, urgency: str = "") -> config.Var:
    """SLA_TARGET_<CHANNEL>, or a cell SLA_TARGET_<CHANNEL>_<URGENCY> (unset: its channel's target)."""
    default = DEFAULT_CELLS.get((channel, urgency)) if urgency else DEFAULT_TARGETS[channel]
    contact = f"{urgency} {channel}".strip()
    name = f"SLA_TARGET_{channel}_{urgency}".upper().rstrip("_")
    return config.Var(name, default, _working_days, f"working days to respond to {contact} contacts")


TARGETS = {channel: _target(channel) for channel in contracts.CHANNELS}
CELLS = {(ch, urgency): _target(ch, urgency) for ch in contracts.CHANNELS for urgency in contracts.URGENCIES}


def _targets(values: Mapping[str, Any]) -> Targets:
    channels = {channel: values[var.name] for channel, var in TARGETS.items()}
    return Targets(channels, {cell: values[var.name] or channels[cell[0]] for cell, var in CELLS.items()})


@group()
class CalendarSettings:
    calendar: WorkingCalendar = derived(calendar.VARS, calendar.from_values)
    targets: Targets = derived((*TARGETS.values(), *CELLS.values()), _targets)


@group("SLA_")
class WorkerSettings:
    calendar: CalendarSettings = section(CalendarSettings)
    bus_url: str = setting(config.BUS_URL)
    store_url: str = setting(config.store_url(SERVICE))
    stale_days: int = setting(90, positive_int, "days after which unverified centre information is stale")
    scan_seconds: float = setting(5.0, positive_float, "the deadline scanner's longest sleep")
    freshness_seconds: float = setting(60.0, positive_float, "how often to look for stale centres")
    late_receipt_grace_seconds: float = setting(5.0, non_negative_float, "a late receipt waits this long")
    startup_wait_seconds: float = setting(30.0, non_negative_float, "first scan's longest wait for backlog")
    consumer_group: str = setting("sla-monitor", str, "consumer group of the instances")
    log_level: str = setting(config.LOG_LEVEL)
    processed_retention_days: int = setting(config.PROCESSED_RETENTION_DAYS)
    escalation_reminder_days: int = setting(
        DEFAULT_REMINDER_WORKING_DAYS,
        config.non_negative_int,
        "working days after a breach, and between, its reminders; 0: none",
    )


@group("SLA_")
class Settings:
    worker: WorkerSettings = section(WorkerSettings)
    # The keys it holds: the front end's public key, and the notifier's service token public key
    # (the notifier fetches the full compliance report for its monthly e-mail).
    staff_token_public_key: OKPKey = setting(config.STAFF_TOKEN_PUBLIC_KEY)
    service_token_public_key: OKPKey | None = setting(config.SERVICE_TOKEN_PUBLIC_KEY)
    trusted_proxy_hops: int = setting(config.TRUSTED_PROXY_HOPS)

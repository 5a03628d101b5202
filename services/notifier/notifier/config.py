"""The notifier's settings: one small settings class per component, loaded once.

Secrets (the SMTP password, the keys) come from the environment only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from ccshared import calendar, config
from ccshared.config import FromEnv, Var, non_negative_float, positive_float, positive_int, section, setting
from ccshared.mailboxes import COORDINATORS, PRINCIPAL, address, address_map
from joserfc.jwk import OKPKey


def address_list(raw: str) -> frozenset[str]:
    return frozenset(address(part) for part in raw.split(",") if part.strip())


def clock_time(raw: str) -> time:
    hours, sep, minutes = raw.strip().partition(":")
    if not sep:
        raise ValueError("expected HH:MM")
    return time(int(hours), int(minutes))


PORT = Var("NOTIFIER_PORT", 8004, positive_int, "HTTP port")
CONSUMER_GROUP = Var("NOTIFIER_CONSUMER_GROUP", "notifier")


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    host: str = setting("NOTIFIER_SMTP_HOST", "localhost")
    port: int = setting("NOTIFIER_SMTP_PORT", 25, positive_int)
    security: str = setting("NOTIFIER_SMTP_SECURITY", "none", config.one_of("none", "starttls", "tls"))
    username: str | None = setting("NOTIFIER_SMTP_USERNAME", None)
    password: str | None = setting("NOTIFIER_SMTP_PASSWORD", None, sensitive=True)
    timeout: float = setting("NOTIFIER_SMTP_TIMEOUT", 10.0, positive_float, "seconds per SMTP operation")
    messages_per_connection: int = setting(
        "NOTIFIER_SMTP_MESSAGES_PER_CONNECTION", 100, positive_int, "messages sent over one connection"
    )


@dataclass(frozen=True, kw_only=True)
class RoutingSettings:
    coordinators: Mapping[str, str] = setting(COORDINATORS)
    principal: str = setting(PRINCIPAL)
    staff_emails: Mapping[str, str] = setting(
        "NOTIFIER_STAFF_EMAILS", {}, address_map, "username=addr,... for staff not at the domain"
    )
    staff_domain: str = setting(
        "NOTIFIER_STAFF_EMAIL_DOMAIN", "example.org", lambda raw: raw.strip().lstrip("@")
    )


@dataclass(frozen=True, kw_only=True)
class DigestSettings:
    recipients: frozenset[str] = setting(
        "NOTIFIER_DIGEST_RECIPIENTS", frozenset(), address_list, "addresses that get one daily digest instead"
    )
    at: time = setting("NOTIFIER_DIGEST_TIME", time(8, 0), clock_time, "local time (Europe/London) HH:MM")
    # The one working-day calendar (bank holidays and closures), shared with the SLA monitor.
    calendar: calendar.WorkingCalendar = config.derived(
        calendar.VARS, calendar.from_values, calendar.WorkingCalendar
    )


@dataclass(frozen=True, kw_only=True)
class MonthlyReportSettings:
    # The SLA monitor, asked for the full compliance report mailed each month.
    sla_monitor_url: str = setting(config.SLA_MONITOR_URL)
    at: time = setting(
        "NOTIFIER_MONTHLY_REPORT_TIME", time(8, 0), clock_time, "local HH:MM on a month's first working day"
    )


@dataclass(frozen=True, kw_only=True)
class DeliverySettings:
    transport: str = setting(
        "NOTIFIER_TRANSPORT", "file", config.one_of("file", "smtp"), "file (writes .eml files) or smtp"
    )
    mail_dir: Path = setting("NOTIFIER_MAIL_DIR", Path("var/mail"), Path, "where .eml files are written")
    sender: str = setting("NOTIFIER_FROM", "Children's Centres SLA monitor <sla-monitor@example.org>")
    web_base_url: str = setting("NOTIFIER_WEB_BASE_URL", "http://localhost:8000", lambda raw: raw.rstrip("/"))
    # The contacts service, asked at send time where to tell a referral's referrer.
    contacts_url: str = setting(config.CONTACTS_URL)
    max_attempts: int = setting("NOTIFIER_MAX_ATTEMPTS", 6, positive_int, "attempts before a notice fails")
    retry_base_seconds: float = setting(
        "NOTIFIER_RETRY_BASE_SECONDS", 30.0, positive_float, "first retry delay, doubled each time"
    )
    retry_cap_seconds: float = setting(
        "NOTIFIER_RETRY_MAX_SECONDS", 3600.0, positive_float, "longest retry delay"
    )
    sending_timeout_seconds: float = setting(
        "NOTIFIER_SENDING_TIMEOUT_SECONDS", 300.0, positive_float, "a longer send counts as interrupted"
    )
    threads: int = setting("NOTIFIER_DELIVERY_THREADS", 4, positive_int, "notifications sent at once")
    # Storm grouping, as Alertmanager's group_wait and group_interval (README.md).
    group_wait_seconds: float = setting(
        "NOTIFIER_GROUP_WAIT_SECONDS", 30.0, non_negative_float, "a recipient's later notices wait this long"
    )
    group_interval_seconds: float = setting(
        "NOTIFIER_GROUP_INTERVAL_SECONDS", 300.0, non_negative_float, "one group mail per interval; 0: off"
    )


@dataclass(frozen=True, kw_only=True)
class Settings(FromEnv):
    bus_url: str = setting(config.BUS_URL)
    store_url: str = setting(config.store_url("notifier"))
    # The keys it holds: the front end's public key, and its own private key for contacts' internal API.
    staff_token_public_key: OKPKey = setting(config.STAFF_TOKEN_PUBLIC_KEY)
    service_token_private_key: OKPKey = setting(config.SERVICE_TOKEN_PRIVATE_KEY)
    log_level: str = setting(config.LOG_LEVEL)
    trusted_proxy_hops: int = setting(config.TRUSTED_PROXY_HOPS)
    consumer_group: str = setting(CONSUMER_GROUP)
    smtp: SmtpSettings = section(SmtpSettings)
    routing: RoutingSettings = section(RoutingSettings)
    digest: DigestSettings = section(DigestSettings)
    delivery: DeliverySettings = section(DeliverySettings)
    processed_retention_days: int = setting(config.PROCESSED_RETENTION_DAYS)
    monthly_report: MonthlyReportSettings = section(MonthlyReportSettings)

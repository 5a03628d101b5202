"""The notifier's settings: one small settings class per component, loaded once.

Secrets (the SMTP password, the keys) come from the environment only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from pathlib import Path

from ccshared import calendar, config
from ccshared.calendar import WorkingCalendar
from ccshared.config import (
    derived,
    group,
    non_negative_float,
    positive_float,
    positive_int,
    section,
    setting,
)
from ccshared.mailboxes import COORDINATORS, PRINCIPAL, address_list, address_map, domain, sender_address
from joserfc.jwk import OKPKey


def clock_time(raw: str) -> time:
    hours, sep, minutes = raw.strip().partition(":")
    if not sep:
        raise ValueError("expected HH:MM")
    return time(int(hours), int(minutes))


PORT = config.Var("NOTIFIER_PORT", 8004, config.port, "HTTP port")


@group("NOTIFIER_SMTP_")
class SmtpSettings:
    host: str = setting("localhost")
    port: int = setting(25, config.port)
    security: str = setting("none", config.one_of("none", "starttls", "tls"))
    username: str | None = setting(None)
    password: str | None = setting(None, sensitive=True)
    timeout: float = setting(10.0, positive_float, "seconds per SMTP operation")
    messages_per_connection: int = setting(100, positive_int, "messages sent over one connection")


@group("NOTIFIER_")
class RoutingSettings:
    coordinators: Mapping[str, str] = setting(COORDINATORS)
    principal: str = setting(PRINCIPAL)
    staff_emails: Mapping[str, str] = setting({}, address_map, "username=address,... of staff elsewhere")
    staff_email_domain: str = setting("example.org", domain, "domain of staff addresses: username@domain")


@group("NOTIFIER_DIGEST_")
class DigestSettings:
    recipients: frozenset[str] = setting(frozenset(), address_list, "addresses sent one daily digest instead")
    at: time = setting(time(8, 0), clock_time, "HH:MM, Europe/London", name="NOTIFIER_DIGEST_TIME")
    # The one working-day calendar (bank holidays and closures), shared with the SLA monitor.
    calendar: WorkingCalendar = derived(calendar.VARS, calendar.from_values, WorkingCalendar)


@group("NOTIFIER_MONTHLY_REPORT_")
class MonthlyReportSettings:
    # The SLA monitor, asked for the full compliance report mailed each month.
    sla_monitor_url: str = setting(config.SLA_MONITOR_URL)
    at: time = setting(
        time(8, 0), clock_time, "HH:MM on a month's first working day", name="NOTIFIER_MONTHLY_REPORT_TIME"
    )


@group("NOTIFIER_")
class DeliverySettings:
    transport: str = setting("file", config.one_of("file", "smtp"), "file (writes .eml files) or smtp")
    mail_dir: Path = setting(Path("var/mail"), Path, "where .eml files are written")
    sender: str = setting(
        "Children's Centres SLA monitor <sla-monitor@example.org>",
        sender_address,
        "From: address",
        name="NOTIFIER_FROM",
    )
    web_base_url: str = setting(
        config.url("NOTIFIER_WEB_BASE_URL", "http://localhost:8000", "base of e-mail links")
    )
    # The contacts service, asked at send time where to tell a referral's referrer.
    contacts_url: str = setting(config.CONTACTS_URL)
    max_attempts: int = setting(6, positive_int, "attempts before a notice fails")
    retry_base_seconds: float = setting(30.0, positive_float, "first retry delay, doubled each time")
    retry_max_seconds: float = setting(3600.0, positive_float, "longest retry delay")
    sending_timeout_seconds: float = setting(300.0, positive_float, "a longer send counts as interrupted")
    threads: int = setting(4, positive_int, "notifications sent at once", name="NOTIFIER_DELIVERY_THREADS")
    # Storm grouping, as Alertmanager's group_wait and group_interval (README.md).
    group_wait_seconds: float = setting(30.0, non_negative_float, "a recipient's next notices wait this long")
    group_interval_seconds: float = setting(300.0, non_negative_float, "one group mail per interval; 0: off")


@group("NOTIFIER_")
class Settings:
    bus_url: str = setting(config.BUS_URL)
    store_url: str = setting(config.store_url("notifier"))
    # The keys it holds: the front end's public key, and its own private key for contacts' internal API.
    staff_token_public_key: OKPKey = setting(config.STAFF_TOKEN_PUBLIC_KEY)
    service_token_private_key: OKPKey = setting(config.SERVICE_TOKEN_PRIVATE_KEY)
    log_level: str = setting(config.LOG_LEVEL)
    trusted_proxy_hops: int = setting(config.TRUSTED_PROXY_HOPS)
    consumer_group: str = setting("notifier")
    smtp: SmtpSettings = section(SmtpSettings)
    routing: RoutingSettings = section(RoutingSettings)
    digest: DigestSettings = section(DigestSettings)
    delivery: DeliverySettings = section(DeliverySettings)
    processed_retention_days: int = setting(config.PROCESSED_RETENTION_DAYS)
    monthly_report: MonthlyReportSettings = section(MonthlyReportSettings)

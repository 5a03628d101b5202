"""The notifier's settings: one small settings class per component, loaded once.

Every variable is parsed up front, so one `ConfigError` names every mistake.
Secrets (the SMTP password, the staff token secret) come from the environment only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from ccshared import calendar as cccalendar
from ccshared import config
from ccshared.config import Var, positive_int
from ccshared.mailboxes import COORDINATORS, PRINCIPAL, address, address_map
from joserfc.jwk import OKPKey

TRANSPORTS = ("file", "smtp")
SECURITY_MODES = ("none", "starttls", "tls")


def address_list(raw: str) -> frozenset[str]:
    return frozenset(address(part) for part in raw.split(",") if part.strip())


def one_of(*choices: str):
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def clock_time(raw: str) -> time:
    hours, sep, minutes = raw.strip().partition(":")
    if not sep:
        raise ValueError("expected HH:MM")
    return time(int(hours), int(minutes))


def positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be a positive number")
    return value


def non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError("must be zero or a positive number")
    return value


TRANSPORT = Var("NOTIFIER_TRANSPORT", "file", one_of(*TRANSPORTS), "file (writes .eml files) or smtp")
MAIL_DIR = Var("NOTIFIER_MAIL_DIR", Path("var/mail"), Path, "where the file transport writes .eml files")
SMTP_HOST = Var("NOTIFIER_SMTP_HOST", "localhost")
SMTP_PORT = Var("NOTIFIER_SMTP_PORT", 25, positive_int)
SMTP_SECURITY = Var("NOTIFIER_SMTP_SECURITY", "none", one_of(*SECURITY_MODES), "none, starttls or tls")
SMTP_USERNAME = Var("NOTIFIER_SMTP_USERNAME", None)
SMTP_PASSWORD = Var("NOTIFIER_SMTP_PASSWORD", None)
SMTP_TIMEOUT = Var("NOTIFIER_SMTP_TIMEOUT", 10.0, positive_float, "seconds per SMTP operation")
SMTP_MESSAGES_PER_CONNECTION = Var(
    "NOTIFIER_SMTP_MESSAGES_PER_CONNECTION",
    100,
    positive_int,
    "messages sent over one connection before a new one",
)
SENDER = Var("NOTIFIER_FROM", "Children's Centres SLA monitor <sla-monitor@example.org>")
WEB_BASE_URL = Var("NOTIFIER_WEB_BASE_URL", "http://localhost:8000", lambda raw: raw.rstrip("/"))
# The contacts service, asked at send time where to tell a referral's referrer.
CONTACTS_URL = config.CONTACTS_URL
# The SLA monitor, asked for the full compliance report mailed each month.
SLA_MONITOR_URL = config.SLA_MONITOR_URL
MONTHLY_REPORT_TIME = Var(
    "NOTIFIER_MONTHLY_REPORT_TIME",
    time(8, 0),
    clock_time,
    "local time (Europe/London) HH:MM on the first working day of a month from which "
    "last month's compliance report is mailed",
)
STAFF_EMAILS = Var("NOTIFIER_STAFF_EMAILS", {}, address_map, "username=addr,... for staff not at the domain")
STAFF_DOMAIN = Var("NOTIFIER_STAFF_EMAIL_DOMAIN", "example.org", lambda raw: raw.strip().lstrip("@"))
DIGEST_RECIPIENTS = Var(
    "NOTIFIER_DIGEST_RECIPIENTS", frozenset(), address_list, "addresses that get one daily digest instead"
)
DIGEST_TIME = Var("NOTIFIER_DIGEST_TIME", time(8, 0), clock_time, "local time (Europe/London) HH:MM")
MAX_ATTEMPTS = Var("NOTIFIER_MAX_ATTEMPTS", 6, positive_int, "delivery attempts before a notification fails")
RETRY_BASE = Var("NOTIFIER_RETRY_BASE_SECONDS", 30.0, positive_float, "first retry delay, doubled each time")
RETRY_CAP = Var("NOTIFIER_RETRY_MAX_SECONDS", 3600.0, positive_float, "longest retry delay")
SENDING_TIMEOUT = Var(
    "NOTIFIER_SENDING_TIMEOUT_SECONDS",
    300.0,
    positive_float,
    "after this, a send in progress counts as interrupted",
)
DELIVERY_THREADS = Var(
    "NOTIFIER_DELIVERY_THREADS", 4, positive_int, "notifications sent at once, each over its own connection"
)
GROUP_WAIT = Var(
    "NOTIFIER_GROUP_WAIT_SECONDS",
    30.0,
    non_negative_float,
    "in a storm of notices for one recipient, the first goes at once and the next ones wait this long "
    "for one group e-mail (Alertmanager's group_wait)",
)
GROUP_INTERVAL = Var(
    "NOTIFIER_GROUP_INTERVAL_SECONDS",
    300.0,
    non_negative_float,
    "then at most one group e-mail per recipient this often while notices keep coming; a recipient "
    "quiet this long gets the next notice at once (Alertmanager's group_interval); 0 turns grouping off",
)
# The keys it holds: the front end's public key, and its own private key for contacts' internal API.
STAFF_TOKEN_PUBLIC_KEY = config.STAFF_TOKEN_PUBLIC_KEY
SERVICE_TOKEN_PRIVATE_KEY = config.SERVICE_TOKEN_PRIVATE_KEY
CONSUMER_GROUP = Var("NOTIFIER_CONSUMER_GROUP", "notifier")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str | None
    password: str | None = field(repr=False)
    timeout: float
    messages_per_connection: int = 100


@dataclass(frozen=True)
class RoutingSettings:
    coordinators: Mapping[str, str]
    principal: str
    staff_emails: Mapping[str, str]
    staff_domain: str


# The working-day calendar's closure settings, the same ones the SLA monitor reads.
CALENDAR = cccalendar.VARS


@dataclass(frozen=True)
class DigestSettings:
    recipients: frozenset[str]
    at: time
    # The one working-day calendar (bank holidays and closures), shared with the SLA monitor.
    calendar: cccalendar.WorkingCalendar = field(default_factory=cccalendar.WorkingCalendar)


@dataclass(frozen=True)
class MonthlyReportSettings:
    sla_monitor_url: str = SLA_MONITOR_URL.default
    at: time = MONTHLY_REPORT_TIME.default


@dataclass(frozen=True)
class DeliverySettings:
    transport: str
    mail_dir: Path
    sender: str
    web_base_url: str
    contacts_url: str
    max_attempts: int
    retry_base_seconds: float
    retry_cap_seconds: float
    sending_timeout_seconds: float
    threads: int = 1
    group_wait_seconds: float = 30.0
    group_interval_seconds: float = 300.0


@dataclass(frozen=True)
class Settings:
    bus_url: str
    store_url: str
    staff_token_public_key: OKPKey
    service_token_private_key: OKPKey = field(repr=False)
    log_level: str
    consumer_group: str
    smtp: SmtpSettings
    routing: RoutingSettings
    digest: DigestSettings
    delivery: DeliverySettings
    processed_retention_days: int = 30
    monthly_report: MonthlyReportSettings = field(default_factory=MonthlyReportSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        store = config.store_url("notifier")
        v: dict[str, Any] = config.load(
            [
                config.BUS_URL,
                store,
                STAFF_TOKEN_PUBLIC_KEY,
                SERVICE_TOKEN_PRIVATE_KEY,
                config.LOG_LEVEL,
                config.PROCESSED_RETENTION_DAYS,
                CONSUMER_GROUP,
                TRANSPORT,
                MAIL_DIR,
                SMTP_HOST,
                SMTP_PORT,
                SMTP_SECURITY,
                SMTP_USERNAME,
                SMTP_PASSWORD,
                SMTP_TIMEOUT,
                SMTP_MESSAGES_PER_CONNECTION,
                SENDER,
                WEB_BASE_URL,
                CONTACTS_URL,
                SLA_MONITOR_URL,
                MONTHLY_REPORT_TIME,
                COORDINATORS,
                PRINCIPAL,
                STAFF_EMAILS,
                STAFF_DOMAIN,
                DIGEST_RECIPIENTS,
                DIGEST_TIME,
                MAX_ATTEMPTS,
                RETRY_BASE,
                RETRY_CAP,
                SENDING_TIMEOUT,
                DELIVERY_THREADS,
                GROUP_WAIT,
                GROUP_INTERVAL,
                *CALENDAR,
            ],
            environ,
        )
        return cls(
            bus_url=v[config.BUS_URL.name],
            store_url=v[store.name],
            staff_token_public_key=v[STAFF_TOKEN_PUBLIC_KEY.name],
            service_token_private_key=v[SERVICE_TOKEN_PRIVATE_KEY.name],
            log_level=v[config.LOG_LEVEL.name],
            consumer_group=v[CONSUMER_GROUP.name],
            smtp=SmtpSettings(
                host=v[SMTP_HOST.name],
                port=v[SMTP_PORT.name],
                security=v[SMTP_SECURITY.name],
                username=v[SMTP_USERNAME.name],
                password=v[SMTP_PASSWORD.name],
                timeout=v[SMTP_TIMEOUT.name],
                messages_per_connection=v[SMTP_MESSAGES_PER_CONNECTION.name],
            ),
            routing=RoutingSettings(
                coordinators=v[COORDINATORS.name],
                principal=v[PRINCIPAL.name],
                staff_emails=v[STAFF_EMAILS.name],
                staff_domain=v[STAFF_DOMAIN.name],
            ),
            digest=DigestSettings(
                recipients=v[DIGEST_RECIPIENTS.name],
                at=v[DIGEST_TIME.name],
                calendar=cccalendar.from_values(v),
            ),
            delivery=DeliverySettings(
                transport=v[TRANSPORT.name],
                mail_dir=v[MAIL_DIR.name],
                sender=v[SENDER.name],
                web_base_url=v[WEB_BASE_URL.name],
                contacts_url=v[CONTACTS_URL.name].rstrip("/"),
                max_attempts=v[MAX_ATTEMPTS.name],
                retry_base_seconds=v[RETRY_BASE.name],
                retry_cap_seconds=v[RETRY_CAP.name],
                sending_timeout_seconds=v[SENDING_TIMEOUT.name],
                threads=v[DELIVERY_THREADS.name],
                group_wait_seconds=v[GROUP_WAIT.name],
                group_interval_seconds=v[GROUP_INTERVAL.name],
            ),
            processed_retention_days=v[config.PROCESSED_RETENTION_DAYS.name],
            monthly_report=MonthlyReportSettings(
                sla_monitor_url=v[SLA_MONITOR_URL.name].rstrip("/"), at=v[MONTHLY_REPORT_TIME.name]
            ),
        )

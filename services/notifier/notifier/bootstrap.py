"""Builds the notifier's parts from settings, store and clock; the app and the worker both use it."""

from __future__ import annotations

from datetime import timedelta

from ccshared.auth import TokenIssuer, TokenVerifier
from ccshared.bus import Producer
from ccshared.contracts import SERVICE_NOTIFIER
from ccshared.hints import Hints
from ccshared.store import Store
from ccshared.timeutil import Clock

from .api import AppContext
from .area_moves import AreaMoves
from .compliance import ComplianceReports
from .config import Settings
from .delivery import Delivery
from .digest import DigestScheduler
from .domain import RetryPolicy, Routing
from .erasure import Erasures
from .file_transport import FileTransport, Mailbox
from .grouping import Grouper
from .intake import Intake
from .mail import Transport
from .monthly import COLLECTION, FIRST_START_COLLECTION, FirstStart, MonthlyReports, Reader
from .referrers import Referrers
from .rendering import Renderer
from .repository import AreaMoveLog, NotificationRepository, group_windows, repositories
from .smtp_transport import SmtpTransport

# How often delivery asks the store for due notifications: often when that is how it
# learns of new ones, less often when the intake in the same process hands them over.
SWEEP_SECONDS = 0.25
HINTED_SWEEP_SECONDS = 2.0


def routing(settings: Settings) -> Routing:
    r = settings.routing
    return Routing(r.coordinators, r.principal, r.staff_emails, r.staff_email_domain)


def transport(settings: Settings) -> Transport:
    if settings.delivery.transport == "smtp":
        return SmtpTransport(settings.smtp)
    return FileTransport(settings.delivery.mail_dir)


def api_context(settings: Settings, store: Store, clock: Clock) -> AppContext:
    """What the HTTP routes work with: the delivery log, the file transport's mailbox, who reads what."""
    notifications, _ = repositories(store)
    return AppContext(
        notifications=notifications,
        mailbox=Mailbox(settings.delivery.mail_dir),
        routing=routing(settings),
        tokens=TokenVerifier(SERVICE_NOTIFIER, settings.staff_token_public_key, clock=clock),
        clock=clock,
    )


def intake(
    settings: Settings,
    store: Store,
    clock: Clock,
    recorded: Hints | None = None,
    mail: Transport | None = None,
) -> Intake:
    """The event intake; it reports each notification it records to `recorded`, if given.
    It erases the copies `mail` (the delivery's transport) keeps of an erased contact's mail."""
    notifications, centres = repositories(store)
    moves = AreaMoveLog(store.collection("area_moves"))
    return Intake(
        notifications,
        centres,
        routing(settings),
        settings.digest.recipients,
        clock,
        Erasures(notifications, moves, mail or transport(settings), clock),
        AreaMoves(notifications, moves, routing(settings), settings.digest.recipients, clock),
        moves,
        recorded,
    )


def delivery(
    settings: Settings,
    store: Store,
    dead_letters: Producer,
    clock: Clock,
    mail: Transport | None = None,
    recorded: Hints | None = None,
) -> Delivery:
    """The delivery loop; given the intake's `recorded` hints, it sweeps for due mail less often."""
    notifications, centres = repositories(store)
    d = settings.delivery
    return Delivery(
        notifications=notifications,
        renderer=Renderer(d.web_base_url, centres.name_of),
        transport=mail or transport(settings),
        sender=d.sender,
        policy=RetryPolicy(d.max_attempts, d.retry_base_seconds, d.retry_max_seconds),
        dead_letters=dead_letters,
        clock=clock,
        sending_timeout=timedelta(seconds=d.sending_timeout_seconds),
        threads=d.threads,
        hints=recorded,
        sweep_seconds=HINTED_SWEEP_SECONDS if recorded is not None else SWEEP_SECONDS,
        referrers=Referrers(
            d.contacts_url, TokenIssuer(SERVICE_NOTIFIER, settings.service_token_private_key)
        ),
        grouper=grouper(settings, store, clock),
    )


def grouper(settings: Settings, store: Store, clock: Clock) -> Grouper | None:
    """Storm grouping, unless NOTIFIER_GROUP_INTERVAL_SECONDS is 0."""
    d = settings.delivery
    if not d.group_interval_seconds:
        return None
    notifications, _ = repositories(store)
    wait, interval = timedelta(seconds=d.group_wait_seconds), timedelta(seconds=d.group_interval_seconds)
    return Grouper(notifications, group_windows(store), clock, wait, interval)


def digest(settings: Settings, store: Store, clock: Clock) -> DigestScheduler:
    notifications, _ = repositories(store)
    d = settings.digest
    return DigestScheduler(notifications, d.recipients, d.at, clock, d.calendar)


def monthly_reports(
    settings: Settings, store: Store, clock: Clock, mail: Transport | None = None
) -> MonthlyReports:
    """Last month's compliance report to the Principal Officer (every area) and each coordinator."""
    r, d, m = settings.routing, settings.delivery, settings.monthly_report
    _, centres = repositories(store)
    readers = [
        Reader(r.principal, None),
        *(Reader(address, area) for area, address in r.coordinators.items()),
    ]
    return MonthlyReports(
        reports=NotificationRepository(store.collection(COLLECTION)),
        readers=readers,
        compliance=ComplianceReports(
            m.sla_monitor_url, TokenIssuer(SERVICE_NOTIFIER, settings.service_token_private_key)
        ),
        templates=Renderer(d.web_base_url, centres.name_of).env,
        transport=mail or transport(settings),
        sender=d.sender,
        web_base_url=d.web_base_url,
        policy=RetryPolicy(d.max_attempts, d.retry_base_seconds, d.retry_max_seconds),
        clock=clock,
        calendar=settings.digest.calendar,
        at=m.at,
        first_start=FirstStart(store.collection(FIRST_START_COLLECTION)),
        sending_timeout=timedelta(seconds=d.sending_timeout_seconds),
    )

"""The monthly compliance report: last month's figures by e-mail, with the workbook attached.

From the report time on the first working day of a month (the shared calendar:
bank holidays and closures, a coordinator's own area's too), the Principal
Officer gets last month's report for every area and each coordinator the
report for their area, each as a text summary with the SLA monitor's XLSX.

Exactly once per month and reader, whatever restarts or instances: each mail
is claimed by inserting its record, keyed by month, area and address
("compliance-2026-06-north:coordinator.north@example.org"), in the
`monthly_reports` collection; a second insert finds the key taken. The record
then lives as a delivery log entry does (domain.Notification): claimed before
the send, settled with the server's reply, retried within the limit, and an
interrupted send goes again with the same Message-ID. A notifier that was
down on the first working day sends the month's report when it comes back,
within the month.

Only for a month the system ran in: the notifier records when it first ran
(`FirstStart`), and a month over before then is reported only if some contact
was received in it (in any area, so every reader gets the same months). A
fresh deployment's first report is that of its first month, however late in
it it started, not the month before, all zeros; a notifier deployed after the
other services still reports the months they recorded. A report not sent so
stays in the log, `skipped`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from functools import partial

from ccshared.calendar import WorkingCalendar
from ccshared.retrying import every
from ccshared.store import Collection, StoreUnavailable, insert_new
from ccshared.timeutil import LONDON, from_str, to_str
from jinja2 import Environment

from . import metrics
from .compliance import XLSX_TYPE, ComplianceReports, Month, filename
from .domain import FAILED, RETRYING, SENT, Notification, own_mail
from .mail import Mailer, PermanentFailure, TemporaryFailure, compose
from .rendering import RenderedMessage, london
from .repository import NotificationRepository

log = logging.getLogger(__name__)

KIND = "monthly-report"
EVENT_TYPE = "notifier.monthly_report"
COLLECTION = "monthly_reports"
FIRST_START_COLLECTION = "first_start"


@dataclass(frozen=True)
class Reader:
    address: str
    area: str | None  # None: every area (the Principal Officer)


def first_working_day(day: date, calendar: WorkingCalendar, area: str | None = None) -> date:
    """The first working day of `day`'s month."""
    first = day.replace(day=1)
    while not calendar.is_working_day(first, area):
        first += timedelta(days=1)
    return first


def month_due(now: datetime, at: time, calendar: WorkingCalendar, area: str | None = None) -> Month | None:
    """Last month, once `now` is past the report time of this month's first working day; else None."""
    local = now.astimezone(LONDON)
    first = first_working_day(local.date(), calendar, area)
    if (local.date(), local.time()) < (first, at):
        return None
    return Month.before(local.date())


class FirstStart:
    """When the notifier first ran on this store: one document, written once by whichever
    instance gets there first, and read back by all."""

    KEY = "notifier"

    def __init__(self, collection: Collection):
        self.collection = collection

    def recorded(self, now: datetime) -> datetime:
        """The first start, `now` if this is it."""
        insert_new(self.collection, {"_id": self.KEY, "at": to_str(now)})
        return from_str(self.collection.get(self.KEY)["at"])


def ended(month: Month) -> datetime:
    return datetime.combine(month.last + timedelta(days=1), time(0), LONDON)


@dataclass(eq=False, kw_only=True)
class MonthlyReports(Mailer):
    reports: NotificationRepository
    readers: Sequence[Reader]
    compliance: ComplianceReports
    templates: Environment
    web_base_url: str
    calendar: WorkingCalendar
    at: time
    first_start: FirstStart
    sending_timeout: timedelta = timedelta(minutes=5)
    _started: datetime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.web_base_url = self.web_base_url.rstrip("/")

    def run_once(self) -> int:
        """Claim this month's reports once due, send what is due; return the sends tried."""
        now = self.clock.now()
        if self._started is None:
            self._started = self.first_start.recorded(now)
        for reader in self.readers:
            month = month_due(now, self.at, self.calendar, reader.area)
            if month is not None and self.reports.add(self._record(reader, month, now)):
                log.info("monthly report claimed", extra={"month": month.key, "area": reader.area})
        self._recover_interrupted(now)
        tried = [self._send(report) for report in self.reports.due(now)]
        self.transport.release()
        return sum(tried)

    def run(self, stop: threading.Event, every_seconds: float = 30.0) -> None:
        every(stop, every_seconds, self.run_once, "monthly reports waiting for the store")

    def _record(self, reader: Reader, month: Month, now: datetime) -> Notification:
        event_id = f"compliance-{month.key}-{reader.area or 'all-areas'}"
        data = {"month": month.first.isoformat()}
        return own_mail(
            event_id, reader.address, now, kind=KIND, event_type=EVENT_TYPE, area=reader.area, data=data
        )

    def _send(self, report: Notification) -> bool:
        now = self.clock.now()
        if not self.reports.transition(report, lambda claimed: claimed.claim(now)):
            return False  # another instance took it
        self._settle(report, self._attempt)
        return True

    def _attempt(self, claimed: Notification) -> None:
        month = Month(date.fromisoformat(claimed.data["month"]))
        try:
            if self._before_the_system(month):
                claimed.skipped(
                    self.clock.now(), f"nothing received in {month.label}, before the first start"
                )
                return
            reply = self.transport.deliver(
                self._message(claimed, month), claimed.recipient, claimed.message_key
            )
        except TemporaryFailure as exc:
            claimed.failed_temporarily(self.clock.now(), str(exc), self.policy, self.rng)
        except PermanentFailure as exc:
            claimed.failed_permanently(self.clock.now(), str(exc))
        except StoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - bounded retries end in failed
            log.exception("unexpected monthly report error", extra={"notification": claimed.id})
            claimed.failed_temporarily(self.clock.now(), repr(exc), self.policy, self.rng)
        else:
            claimed.delivered(self.clock.now(), reply)

    def _settle(self, report: Notification, change: Callable[[Notification], None]) -> None:
        if not self.reports.transition(report, change):
            return
        counter = {SENT: metrics.SENT, RETRYING: metrics.RETRIED, FAILED: metrics.FAILED}.get(report.status)
        if counter is not None:
            counter.labels(EVENT_TYPE).inc()
        level = logging.ERROR if report.status == FAILED else logging.INFO
        log.log(
            level,
            "monthly report " + report.status,
            extra={"notification": report.id, "reason": (report.last_error or "")[:300]},
        )

    def _before_the_system(self, month: Month) -> bool:
        """Whether `month` was over before the notifier first ran, and no contact came in it."""
        return (
            self._started is not None
            and self._started >= ended(month)
            and not self.compliance.received(month)
        )

    def _recover_interrupted(self, now: datetime) -> None:
        for stuck in self.reports.sending_since(now - self.sending_timeout):
            reply = self.transport.delivered_reply(stuck.message_key)
            self._settle(stuck, partial(Notification.recovered, now=now, reply=reply, policy=self.policy))

    def _message(self, claimed: Notification, month: Month) -> EmailMessage:
        report = self.compliance.report(month, claimed.area)
        now = self.clock.now()
        message = compose(claimed, self._render(claimed.area, month, report, now), self.sender, now)
        message.add_attachment(
            report.workbook,
            maintype=XLSX_TYPE[0],
            subtype=XLSX_TYPE[1],
            filename=filename(month, claimed.area),
        )
        return message

    def _render(self, area: str | None, month: Month, report, now: datetime) -> RenderedMessage:
        scope = f"{area} area" if area else "all areas"
        subject = f"Compliance report for {month.label}: {scope}"
        query = f"from={month.first.isoformat()}&to={month.last.isoformat()}&area={area or ''}"
        context = {
            "subject": subject,
            "month": month.label,
            "scope": scope,
            "totals": report.totals,
            "centres": report.centres,
            "filename": filename(month, area),
            "as_at": london(now),
            "link": f"{self.web_base_url}/staff/compliance?{query}",
        }
        text = self.templates.get_template("monthly_report.txt").render(**context)
        html = self.templates.get_template("monthly_report.html").render(**context)
        return RenderedMessage(subject=subject, text=text, html=html)

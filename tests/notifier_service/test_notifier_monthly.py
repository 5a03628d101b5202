"""The monthly compliance report: last month's figures by e-mail with the XLSX, exactly once.

Real parts throughout: the SLA monitor answers over HTTP on loopback (the
notifier asks it for the full report with its service token), mail goes to a
real SMTP server (aiosmtpd), the stores are SQLite in tmp_path, or FerretDB;
the clock is a test clock.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import openpyxl
import pytest
from ccshared import contracts as c
from ccshared import events
from ccshared import store as stores
from ccshared.calendar import WorkingCalendar, parse_area_closure_days
from ccshared.timeutil import FixedClock
from notifier import bootstrap, domain
from notifier.monthly import EVENT_TYPE, KIND, MonthlyReports, month_due
from notifier_testkit import SmtpServer, centre_event, contact_event, smtp_wired
from sla_monitor import config as sla_config
from sla_monitor.app import create_app as create_sla_app
from sla_monitor.policy import Policy
from sla_monitor.repository import repositories as sla_repositories
from sla_monitor.service import Monitor
from werkzeug.serving import make_server

from tests.infra import tokens
from tests.infra.common import free_port
from tests.infra.waiting import wait_for

PRINCIPAL = "principal.officer@example.org"
NORTH = "coordinator.north@example.org"
SOUTH = "coordinator.south@example.org"
CENTRAL = "coordinator.central@example.org"
# Wednesday 1 July 2026, the first working day of July; 08:00 BST is 07:00 UTC.
FIRST_WORKING_DAY_0759 = datetime(2026, 7, 1, 6, 59, tzinfo=UTC)
FIRST_WORKING_DAY_0800 = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
REFERENCES = ("REF-june-met", "REF-june-late", "REF-june-south", "REF-may-old")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SlaMonitor:
    """The real SLA monitor, its clocks made from contact events, served over HTTP on loopback."""

    def __init__(self, store_url: str) -> None:
        settings = sla_config.Settings.from_env({**tokens.key_env("sla-monitor"), "STORE_URL": store_url})
        self.store = stores.connect(store_url)
        self.clock = FixedClock(JUNE)
        clocks, centres = sla_repositories(self.store, self.clock)
        self.monitor = Monitor(clocks, centres, Policy(), self.clock)
        self.app = create_sla_app(settings, store=self.store, clock=self.clock)
        self.port = free_port()
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, envelope: dict) -> None:
        event = events.decode(events.encode(envelope))
        self.monitor.handlers()[event.type](event)

    def seed_june(self) -> None:
        """North: one met, one breached; south: one breached; and one of May that June's report leaves out."""
        self.handle(centre_event("centre-north-1"))
        self.handle(contact_event(c.CONTACT_RECEIVED, "june-met", JUNE, c.NORTH))
        responded = JUNE + timedelta(hours=3)
        self.handle(contact_event(c.CONTACT_RESPONDED, "june-met", JUNE, c.NORTH, responded_at=responded))
        self.handle(contact_event(c.CONTACT_RECEIVED, "june-late", JUNE, c.NORTH))
        self.handle(contact_event(c.CONTACT_RECEIVED, "june-south", JUNE, c.SOUTH))
        self.handle(contact_event(c.CONTACT_RECEIVED, "may-old", JUNE - timedelta(days=10), c.NORTH))
        self.clock.at = FIRST_WORKING_DAY_0759
        self.monitor.scan()

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def sla_monitor(tmp_path) -> Iterator[SlaMonitor]:
    service = SlaMonitor(f"sqlite:///{tmp_path}/sla-monitor.db")
    service.seed_june()
    service.start()
    yield service
    service.stop()
    service.store.close()


@pytest.fixture
def quiet_sla_monitor(tmp_path) -> Iterator[SlaMonitor]:
    """An SLA monitor that knows a centre and no contact yet: a fresh deployment's."""
    service = SlaMonitor(f"sqlite:///{tmp_path}/sla-monitor.db")
    service.handle(centre_event("centre-north-1"))
    service.clock.at = FIRST_WORKING_DAY_0759
    service.start()
    yield service
    service.stop()
    service.store.close()


def reports_for(tmp_path, smtp_server: SmtpServer, sla: SlaMonitor, **env: str) -> MonthlyReports:
    notifier = smtp_wired(tmp_path, smtp_server, SLA_MONITOR_URL=sla.url, **env)
    notifier.clock.at = FIRST_WORKING_DAY_0759
    return bootstrap.monthly_reports(notifier.settings, notifier.store, notifier.clock)


def by_recipient(smtp_server: SmtpServer) -> dict[str, list]:
    found: dict[str, list] = {}
    for received in smtp_server.received:
        found.setdefault(received.rcpt_tos[0], []).append(received.message)
    return found


def workbook_rows(message) -> tuple[str, list[tuple]]:
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(attachment.get_content())).active
    return attachment.get_filename(), list(sheet.iter_rows(min_row=2, values_only=True))


def test_last_months_report_goes_once_to_the_principal_and_each_coordinator_for_their_area(
    tmp_path, smtp_server: SmtpServer, sla_monitor: SlaMonitor
):
    reports = reports_for(tmp_path, smtp_server, sla_monitor, NOTIFIER_MONTHLY_REPORT_TIME="08:00")
    assert reports.run_once() == 0
    assert smtp_server.received == []

    reports.clock.at = FIRST_WORKING_DAY_0800
    assert reports.run_once() == 4
    mail = by_recipient(smtp_server)
    assert sorted(mail) == sorted([PRINCIPAL, NORTH, CENTRAL, SOUTH])
    assert all(len(copies) == 1 for copies in mail.values())

    [city] = mail[PRINCIPAL]
    assert city["Subject"] == "Compliance report for June 2026: all areas"
    assert city["To"] == PRINCIPAL and city["X-CC-Event-Type"] == "notifier.monthly_report"
    text = city.get_body(("plain",)).get_content()
    for line in ("Met:          1", "Breached:     2", "Total:        3", "Percent met:  33.3%"):
        assert line in text
    assert "http://localhost:8000/staff/compliance?from=2026-06-01&to=2026-06-30&area=" in text
    name, rows = workbook_rows(city)
    assert name == "compliance-report-2026-06-all-areas.xlsx"
    by_centre = {row[0]: row[2:6] for row in rows}
    assert by_centre["centre-north-1"] == (1, 1, 0, 2)  # met, breached, open, total: every figure
    assert by_centre["centre-south-1"] == (0, 1, 0, 1)  # below 5, still shown: the full report
    assert rows[0][1] == "Test Park Children's Centre"

    [north] = mail[NORTH]
    assert north["Subject"] == "Compliance report for June 2026: north area"
    assert north["X-CC-Area"] == c.NORTH
    name, rows = workbook_rows(north)
    assert name == "compliance-report-2026-06-north.xlsx"
    assert "centre-north-1" in {row[0] for row in rows}
    assert "centre-south-1" not in {row[0] for row in rows}
    assert "Total:        0" in mail[CENTRAL][0].get_body(("plain",)).get_content()

    for copies in mail.values():
        raw = copies[0].as_bytes()
        assert not any(reference.encode() in raw for reference in REFERENCES), "no contact in the mail"

    # Again the same day, the next day, and after a restart: nothing more this month.
    assert reports.run_once() == 0
    reports.clock.at = FIRST_WORKING_DAY_0800 + timedelta(days=1)
    assert reports.run_once() == 0
    restarted = reports_for(tmp_path, smtp_server, sla_monitor)
    restarted.clock.at = FIRST_WORKING_DAY_0800 + timedelta(days=20)
    assert restarted.run_once() == 0
    assert len(smtp_server.received) == 4
    log = restarted.reports.search()
    assert {(n.recipient, n.status) for n in log} == {
        (a, domain.SENT) for a in (PRINCIPAL, NORTH, CENTRAL, SOUTH)
    }

    # August's first working day brings July's report.
    restarted.clock.at = datetime(2026, 8, 3, 7, 0, tzinfo=UTC)  # Monday 3 August, 08:00 BST
    assert restarted.run_once() == 4
    assert {m["Subject"] for m in by_recipient(smtp_server)[PRINCIPAL]} == {
        "Compliance report for June 2026: all areas",
        "Compliance report for July 2026: all areas",
    }


def test_a_fresh_deployment_sends_no_report_for_the_month_before_it_ran(
    tmp_path, smtp_server: SmtpServer, quiet_sla_monitor: SlaMonitor
):
    # First started at 07:59 on July's first working day, with nothing received in June.
    reports = reports_for(tmp_path, smtp_server, quiet_sla_monitor)
    assert reports.run_once() == 0
    reports.clock.at = FIRST_WORKING_DAY_0800
    reports.run_once()
    assert smtp_server.received == [], "no all-zero report for June, before the system ran"
    log = reports.reports.search()
    assert {(n.recipient, n.status) for n in log} == {
        (a, domain.SKIPPED) for a in (PRINCIPAL, NORTH, CENTRAL, SOUTH)
    }
    assert all("nothing received in June 2026" in (n.last_error or "") for n in log)

    restarted = reports_for(tmp_path, smtp_server, quiet_sla_monitor)
    restarted.clock.at = FIRST_WORKING_DAY_0800 + timedelta(days=2)
    assert restarted.run_once() == 0
    assert smtp_server.received == []

    # July, the first month it ran in, is reported, with nothing received in it too.
    restarted.clock.at = datetime(2026, 8, 3, 7, 0, tzinfo=UTC)  # Monday 3 August, 08:00 BST
    assert restarted.run_once() == 4
    [july] = by_recipient(smtp_server)[PRINCIPAL]
    assert july["Subject"] == "Compliance report for July 2026: all areas"
    assert "Total:        0" in july.get_body(("plain",)).get_content()


def test_a_report_waits_out_an_sla_monitor_that_is_down_and_still_goes_once(
    tmp_path, smtp_server: SmtpServer, sla_monitor: SlaMonitor
):
    sla_monitor.stop()
    reports = reports_for(tmp_path, smtp_server, sla_monitor)
    reports.clock.at = FIRST_WORKING_DAY_0800
    assert reports.run_once() == 4
    log = reports.reports.search()
    assert {n.status for n in log} == {domain.RETRYING}
    assert all("SLA monitor unreachable" in (n.last_error or "") for n in log)
    assert smtp_server.received == []

    sla_monitor.start()
    reports.clock.advance(hours=1)
    assert reports.run_once() == 4
    assert reports.run_once() == 0
    assert sorted(len(copies) for copies in by_recipient(smtp_server).values()) == [1, 1, 1, 1]


def test_an_interrupted_send_goes_again_with_the_same_message_id(
    tmp_path, smtp_server: SmtpServer, sla_monitor: SlaMonitor
):
    reports = reports_for(tmp_path, smtp_server, sla_monitor, NOTIFIER_SENDING_TIMEOUT_SECONDS="120")
    reports.readers = [reader for reader in reports.readers if reader.address == PRINCIPAL]
    # What a process killed mid-send leaves: June's record for the Principal Officer, claimed.
    event_id = "compliance-2026-06-all-areas"
    record = domain.Notification(
        id=domain.notification_id(event_id, PRINCIPAL),
        kind=KIND,
        event_id=event_id,
        event_type=EVENT_TYPE,
        recipient=PRINCIPAL,
        to=(PRINCIPAL,),
        cc=(),
        area=None,
        data={"month": "2026-06-01"},
        created_at=FIRST_WORKING_DAY_0800,
        next_attempt_at=FIRST_WORKING_DAY_0800,
    )
    assert reports.reports.add(record)
    assert reports.reports.transition(record, lambda n: n.claim(FIRST_WORKING_DAY_0800))

    reports.clock.at = FIRST_WORKING_DAY_0800 + timedelta(seconds=60)
    assert reports.run_once() == 0, "within the sending timeout: the sender may still be at it"
    assert smtp_server.received == []
    reports.clock.at = FIRST_WORKING_DAY_0800 + timedelta(seconds=121)
    assert reports.run_once() == 1
    [sent] = reports.reports.search()
    assert (sent.status, sent.attempts) == (domain.SENT, 2)
    [principal] = by_recipient(smtp_server)[PRINCIPAL]
    assert principal["Message-ID"].strip() == record.message_id


def test_the_first_working_day_skips_bank_holidays_weekends_and_an_areas_closure():
    calendar = WorkingCalendar(parse_area_closure_days("north:2027-01-04"))
    at = time(8, 0)
    # Friday 1 January 2027 is New Year's Day; the weekend follows; Monday 4th is the first working day.
    for day in (1, 2, 3):
        assert month_due(datetime(2027, 1, day, 12, tzinfo=UTC), at, calendar) is None
    due = month_due(datetime(2027, 1, 4, 8, tzinfo=UTC), at, calendar)
    assert due is not None and (due.first, due.last) == (date(2026, 12, 1), date(2026, 12, 31))
    assert month_due(datetime(2027, 1, 4, 8, tzinfo=UTC), at, calendar, c.NORTH) is None
    assert month_due(datetime(2027, 1, 5, 8, tzinfo=UTC), at, calendar, c.NORTH) == due
    assert month_due(datetime(2027, 1, 29, 8, tzinfo=UTC), at, calendar) == due, "a late start catches up"


@pytest.mark.mongo
def test_several_notifier_instances_on_ferretdb_send_each_report_once(
    tmp_path, smtp_server: SmtpServer, sla_monitor: SlaMonitor, mongo, fresh_mongo_db
):
    store_url = mongo.store_url(fresh_mongo_db)
    instances = []
    for n in range(3):
        (tmp_path / str(n)).mkdir()
        instances.append(reports_for(tmp_path / str(n), smtp_server, sla_monitor, STORE_URL=store_url))
    for instance in instances:
        instance.clock.at = FIRST_WORKING_DAY_0800
    threads = [threading.Thread(target=instance.run_once) for instance in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(lambda: len(smtp_server.received) >= 4, 90, "four mails")
    for instance in instances:
        instance.run_once()
    mail = by_recipient(smtp_server)
    assert sorted(mail) == sorted([PRINCIPAL, NORTH, CENTRAL, SOUTH])
    assert all(len(copies) == 1 for copies in mail.values())
    log = instances[0].reports.search()
    assert sorted(n.status for n in log) == [domain.SENT] * 4

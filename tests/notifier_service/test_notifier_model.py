"""Routing, retry policy, working days, rendering and configuration: the rules, without I/O."""

from __future__ import annotations

import email.message
import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from ccshared import contracts as c
from ccshared.auth import StaffUser
from ccshared.calendar import WorkingCalendar
from ccshared.config import ConfigError
from hypothesis import given
from hypothesis import strategies as st
from notifier import domain
from notifier.access import may_read
from notifier.config import Settings
from notifier.digest import digest_day_due
from notifier.domain import Addressing, RetryPolicy, Routing
from notifier.file_transport import FileTransport, Mailbox, StoredMessage
from notifier.rendering import Renderer, duration, london

from tests.infra import tokens

KEYS = tokens.key_env("notifier")

ROUTING = Routing(
    {c.NORTH: "north@example.org", c.CENTRAL: "central@example.org", c.SOUTH: "south@example.org"},
    "po@example.org",
    {"test.odd": "someone.else@example.net"},
    "example.org",
)


def test_at_risk_goes_to_the_assignee_else_the_coordinator():
    assigned = ROUTING.addressing(c.SLA_AT_RISK, {"area": c.NORTH, "assignee": "test.worker"})
    mapped = ROUTING.addressing(c.SLA_AT_RISK, {"area": c.NORTH, "assignee": "test.odd"})
    unassigned = ROUTING.addressing(c.SLA_AT_RISK, {"area": c.SOUTH, "assignee": None})
    unusable = ROUTING.addressing(c.SLA_AT_RISK, {"area": c.SOUTH, "assignee": "not an id@all"})
    assert assigned == Addressing(to=("test.worker@example.org",))
    assert mapped == Addressing(to=("someone.else@example.net",))
    assert unassigned == Addressing(to=("south@example.org",))
    assert unusable == Addressing(to=("south@example.org",))


def test_breach_goes_to_the_coordinator_copied_to_the_principal_officer_and_stale_to_the_coordinator():
    breach = ROUTING.addressing(c.SLA_BREACHED, {"area": c.CENTRAL, "assignee": "test.worker"})
    stale = ROUTING.addressing(c.CENTRE_STALE, {"area": c.NORTH})
    assert breach == Addressing(to=("central@example.org",), cc=("po@example.org",))
    assert breach.recipients == ("central@example.org", "po@example.org")
    assert stale.recipients == ("north@example.org",)


def test_one_copy_each_when_the_coordinator_is_also_the_principal_officer():
    routing = Routing({c.NORTH: "po@example.org"}, "po@example.org", {}, "example.org")
    assert routing.addressing(c.SLA_BREACHED, {"area": c.NORTH}).recipients == ("po@example.org",)
    mixed = Routing({c.NORTH: "PO@Example.org"}, "po@example.org", {}, "example.org")
    assert mixed.addressing(c.SLA_BREACHED, {"area": c.NORTH}).recipients == ("PO@Example.org",)


def test_message_ids_are_stable_per_event_and_recipient():
    a = domain.message_id("event-1", "a@example.org")
    assert a == domain.message_id("event-1", "A@example.org")
    assert a != domain.message_id("event-1", "b@example.org")
    assert a != domain.message_id("event-2", "a@example.org")
    assert a.startswith("<event-1.") and a.endswith("@childrens-centres.notifier>")


@given(attempts=st.integers(min_value=1, max_value=60), seed=st.integers())
def test_backoff_grows_exponentially_with_jitter_and_is_capped(attempts, seed):
    policy = RetryPolicy(max_attempts=6, base_seconds=30, cap_seconds=3600)
    delay = policy.delay(attempts, random.Random(seed)).total_seconds()
    ceiling = min(3600, 30 * 2 ** (attempts - 1))
    assert ceiling / 2 <= delay <= ceiling


def test_retries_end_in_failed_at_the_limit():
    now = datetime(2026, 7, 6, tzinfo=UTC)
    policy = RetryPolicy(max_attempts=2)
    n = domain.Notification(
        id="e:a@example.org",
        kind=domain.EVENT,
        event_id="e",
        event_type=c.SLA_BREACHED,
        recipient="a@example.org",
        to=("a@example.org",),
        cc=(),
        area=c.NORTH,
        data={},
        created_at=now,
        next_attempt_at=now,
    )
    n.claim(now)
    n.failed_temporarily(now, "451", policy, random.Random(1))
    assert (n.status, n.attempts) == (domain.RETRYING, 1)
    n.claim(now)
    n.failed_temporarily(now, "451", policy, random.Random(1))
    assert (n.status, n.attempts) == (domain.FAILED, 2)
    assert n.dead_lettered is False
    with pytest.raises(ValueError):
        n.claim(now)
    assert n.collect_events() == []  # a notification publishes nothing


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 7, 6), True),  # Monday
        (date(2026, 7, 11), False),  # Saturday
        (date(2026, 8, 31), False),  # summer bank holiday (England)
        (date(2026, 8, 3), True),  # Scotland's summer holiday is not England's
        (date(2026, 12, 28), False),  # substitute day for Boxing Day
    ],
)
def test_working_days_follow_english_bank_holidays(day, working):
    assert Settings.from_env(tokens.key_env("notifier")).digest.calendar.is_working_day(day) is working


def test_the_digest_is_due_from_the_local_time_on_working_days_only():
    at, calendar = time(8, 0), WorkingCalendar()
    assert digest_day_due(datetime(2026, 7, 6, 6, 59, tzinfo=UTC), at, calendar) is None  # 07:59 BST
    assert digest_day_due(datetime(2026, 7, 6, 7, 0, tzinfo=UTC), at, calendar) == date(2026, 7, 6)
    assert digest_day_due(datetime(2026, 1, 5, 7, 59, tzinfo=UTC), at, calendar) is None  # 07:59 GMT
    assert digest_day_due(datetime(2026, 1, 5, 8, 0, tzinfo=UTC), at, calendar) == date(2026, 1, 5)
    assert digest_day_due(datetime(2026, 7, 11, 12, 0, tzinfo=UTC), at, calendar) is None


def test_the_digest_follows_the_shared_closure_settings():
    settings = Settings.from_env(
        {
            **tokens.key_env("notifier"),
            "SLA_CLOSURE_DAYS": "2026-07-06",
            "SLA_AREA_CLOSURE_DAYS": "north:2026-07-07",
        }
    )
    calendar, at = settings.digest.calendar, settings.digest.at
    assert digest_day_due(datetime(2026, 7, 6, 12, 0, tzinfo=UTC), at, calendar) is None
    assert digest_day_due(datetime(2026, 7, 7, 12, 0, tzinfo=UTC), at, calendar) == date(2026, 7, 7)
    assert not calendar.is_working_day(date(2026, 7, 7), c.NORTH)
    assert calendar.is_working_day(date(2026, 7, 7), c.SOUTH)


def test_a_malformed_closure_calendar_is_refused_naming_the_file_and_line(tmp_path):
    path = tmp_path / "closures.ics"
    path.write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART 20260706\nEND:VEVENT\nEND:VCALENDAR\n")
    with pytest.raises(ConfigError, match="SLA_CLOSURE_CALENDAR") as caught:
        Settings.from_env({**tokens.key_env("notifier"), "SLA_CLOSURE_CALENDAR": str(path)})
    assert f"{path}, line 3:" in str(caught.value)


def test_dates_are_shown_in_london_time_and_lateness_in_words():
    assert london(datetime(2026, 1, 5, 9, 5, tzinfo=UTC)) == "Monday 5 January 2026, 09:05"
    assert london(datetime(2026, 7, 3, 22, 59, 59, tzinfo=UTC)) == "Friday 3 July 2026, 23:59"
    assert duration(45 * 60) == "45 minutes"
    assert duration(3600 + 60) == "1 hour 1 minute"
    assert duration(2 * 86400 + 3 * 3600 + 59) == "2 days 3 hours"
    assert duration(12) == "less than a minute"
    assert duration(timedelta(days=1).total_seconds()) == "1 day"


def test_configuration_errors_name_every_bad_variable():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {
                "NOTIFIER_TRANSPORT": "pigeon",
                "NOTIFIER_COORDINATOR_EMAILS": "east=someone@example.org",
                "NOTIFIER_DIGEST_TIME": "eight",
                "NOTIFIER_SMTP_SECURITY": "ssl3",
            }
        )
    message = str(caught.value)
    for name in (
        "STAFF_TOKEN_PUBLIC_KEY",
        "SERVICE_TOKEN_PRIVATE_KEY",
        "NOTIFIER_TRANSPORT",
        "NOTIFIER_COORDINATOR_EMAILS",
        "NOTIFIER_DIGEST_TIME",
        "NOTIFIER_SMTP_SECURITY",
    ):
        assert name in message


@pytest.mark.parametrize("raw", ["0", "abc"])
def test_a_bad_processed_retention_is_refused_by_name(raw):
    with pytest.raises(ConfigError, match="PROCESSED_RETENTION_DAYS"):
        Settings.from_env({**KEYS, "PROCESSED_RETENTION_DAYS": raw})
    assert Settings.from_env(KEYS).processed_retention_days == 30
    assert Settings.from_env({**KEYS, "PROCESSED_RETENTION_DAYS": "90"}).processed_retention_days == 90


def test_configured_routing_and_digest_readers_are_parsed():
    settings = Settings.from_env(
        {
            **KEYS,
            "NOTIFIER_COORDINATOR_EMAILS": (
                "north=coordinator.north@example.org,central=coordinator.central@example.org,"
                "south=test.south@example.org"
            ),
            "NOTIFIER_STAFF_EMAILS": "test.a=a@example.net, test.b=b@example.net",
            "NOTIFIER_DIGEST_RECIPIENTS": "test.south@example.org,po@example.org",
            "NOTIFIER_DIGEST_TIME": "07:30",
            "NOTIFIER_SMTP_PASSWORD": "from-the-environment",
        }
    )
    assert settings.routing.coordinators == {
        c.NORTH: "coordinator.north@example.org",
        c.CENTRAL: "coordinator.central@example.org",
        c.SOUTH: "test.south@example.org",
    }
    assert settings.routing.staff_emails == {"test.a": "a@example.net", "test.b": "b@example.net"}
    assert settings.digest.recipients == frozenset({"test.south@example.org", "po@example.org"})
    assert settings.digest.at == time(7, 30)
    assert "from-the-environment" not in repr(settings)


def test_coordinator_addresses_name_every_area_or_none():
    """A partial list once kept example.org addresses for the areas left out: their mail went nowhere."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {
                **KEYS,
                "NOTIFIER_COORDINATOR_EMAILS": "north=test.north@example.org,central=test.central@example.org",
            }
        )
    [problem] = caught.value.problems
    assert problem.startswith("NOTIFIER_COORDINATOR_EMAILS='north=test.north@example.org,")
    assert "no address for area(s) south" in problem
    assert Settings.from_env(KEYS).routing.coordinators["south"] == "coordinator.south@example.org"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("NOTIFIER_WEB_BASE_URL", "localhost:8000", "scheme must be one of http, https"),
        ("NOTIFIER_WEB_BASE_URL", "http://", "expected http://host[:port][/path]"),
        ("NOTIFIER_FROM", "bad", "'bad' is not an e-mail address"),
        ("NOTIFIER_FROM", "Test Team <bad>", "'bad' is not an e-mail address"),
        # Two senders, or a line break that would add a header to every mail.
        ("NOTIFIER_FROM", "a@example.org, b@example.org", "expected one address or 'Name <address>'"),
        ("NOTIFIER_FROM", "a@example.org\nBcc: b@example.org", "expected one address or 'Name <address>'"),
        ("NOTIFIER_STAFF_EMAIL_DOMAIN", "@@", "expected a mail domain such as example.org"),
        ("NOTIFIER_SMTP_PORT", "70000", "must be a whole number from 1 to 65535"),
    ],
)
def test_a_link_base_sender_or_domain_that_would_make_broken_mail_is_refused(variable, value, says):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**KEYS, variable: value})
    assert caught.value.problems == [f"{variable}={value!r} is invalid: {says}"]


def test_the_sender_and_staff_domain_are_read_as_given():
    delivery = Settings.from_env(
        {
            **KEYS,
            "NOTIFIER_FROM": "Test Team <test.team@example.org>",
            "NOTIFIER_STAFF_EMAIL_DOMAIN": "@example.net",
        }
    )
    assert delivery.delivery.sender == "Test Team <test.team@example.org>"
    assert delivery.routing.staff_email_domain == "example.net"


def _stored(event_type: str, area: str | None, to: str) -> StoredMessage:
    return StoredMessage("m1", to, None, to, "Test subject", "2026-11-23", area, event_type)


@pytest.mark.parametrize(
    ("event_type", "area", "readable"),
    [
        (c.SLA_AT_RISK, c.NORTH, True),
        (c.SLA_AT_RISK, c.SOUTH, False),  # another area's, though addressed to them
        (domain.GROUP_TYPE, c.NORTH, True),
        (domain.GROUP_TYPE, None, True),  # notices of several areas, all sent to them by name
        (domain.DIGEST_TYPE, None, True),  # their own daily digest
        (domain.DIGEST_TYPE, c.SOUTH, False),
        (c.SLA_BREACHED, c.NORTH, False),  # never sent to a username
    ],
)
def test_a_staff_member_reads_the_notices_sent_to_them_by_name(event_type, area, readable):
    user = StaffUser("test.worker", c.ROLE_STAFF, c.NORTH)
    message = _stored(event_type, area, "test.worker@example.org")
    assert may_read(user, message, ROUTING) is readable


@pytest.mark.parametrize(
    "subject",
    [
        "We have your referral: R-2612-0C2CD for St Mary’s Children’s Centre, Anfield",
        "Overdue: letter L-2612-AAAAA at St Mary’s Children’s Centre, Anfield, due Wednesday 2 December",
    ],
)
def test_a_subject_with_curly_apostrophes_reads_back_as_written(tmp_path, subject):
    """Folded at 78 characters, two encoded words lost the space between them."""
    message = email.message.EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, "test@example.org", "a@example.org"
    message.set_content("Test")

    FileTransport(tmp_path).deliver(message, "a@example.org", "m1")

    assert Mailbox(tmp_path).get("m1").subject == subject


def _notice(event_type: str, data: dict) -> domain.Notification:
    [notice] = domain.new_notifications(
        kind=domain.EVENT,
        event_id=f"event-{data['contact_id']}",
        event_type=event_type,
        addressing=Addressing(to=("north@example.org",)),
        area=c.NORTH,
        data=data,
        envelope=None,
        digest_recipients=frozenset(),
        now=MONDAY,
    )
    return notice


MONDAY = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)
A_CONTACT = {
    "contact_id": "contact-0001",
    "reference": "LCC-TEST-0001",
    "channel": c.TELEPHONE,
    "centre_id": "centre-north-1",
    "area": c.NORTH,
    "assignee": None,
    "received_at": "2026-07-03T09:00:00+00:00",
    "due_at": "2026-07-03T22:59:59+00:00",
    "target_working_days": 1,
    "late_seconds": 3600,
}


def test_one_working_day_and_one_grouped_notice_read_in_the_singular():
    renderer = Renderer("http://localhost:8000", lambda centre_id: "Test Park Children's Centre")
    breach = _notice(c.SLA_BREACHED, A_CONTACT)
    referral = _notice(c.SLA_STARTED, A_CONTACT | {"channel": c.REFERRAL, "urgency": c.ROUTINE})

    for message in (renderer.render(breach, MONDAY), renderer.render(referral, MONDAY)):
        for part in (message.text, message.html):
            assert "1 working day" in part and "working days" not in part
    group = renderer.render(
        domain.own_mail(
            "group-1",
            "north@example.org",
            MONDAY,
            kind=domain.GROUP,
            event_type=domain.GROUP_TYPE,
            area=c.NORTH,
            data={},
        ),
        MONDAY,
        [breach],
    )
    for part in (group.text, group.html):
        assert "came close together" not in part and "listed in one message" not in part

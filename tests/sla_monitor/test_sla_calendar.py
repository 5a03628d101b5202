"""Due dates: the working-day rules against England's 2026-2027 calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from ccshared.timeutil import LONDON
from hypothesis import given, settings
from hypothesis import strategies as st
from sla_monitor.config import DEFAULT_TARGETS, load_calendar
from sla_monitor.working_days import WorkingCalendar, parse_closure_days

CALENDAR = WorkingCalendar(targets=DEFAULT_TARGETS)


def due(channel: str, received: str, calendar: WorkingCalendar = CALENDAR) -> str:
    deadline = calendar.deadline(channel, datetime.fromisoformat(received))
    return deadline.due_at.astimezone(LONDON).isoformat()


# (why, channel, received, due at 23:59:59 local)
CASES = [
    ("Friday receipt skips the weekend", "telephone", "2026-01-09T10:00:00+00:00", "2026-01-13"),
    ("Saturday receipt: day 1 is Monday", "letter", "2026-01-10T10:00:00+00:00", "2026-01-16"),
    ("Sunday receipt", "telephone", "2026-01-11T10:00:00+00:00", "2026-01-13"),
    ("Monday letter runs into the next week", "letter", "2026-01-12T09:00:00+00:00", "2026-01-19"),
    ("New Year's Day 2026 (Thursday)", "telephone", "2025-12-31T12:00:00+00:00", "2026-01-05"),
    ("Good Friday and Easter Monday 2026 (ENG only)", "telephone", "2026-04-02T10:00:00+01:00", "2026-04-08"),
    ("received on Good Friday 2026", "telephone", "2026-04-03T10:00:00+01:00", "2026-04-08"),
    ("Early May bank holiday 2026", "telephone", "2026-05-01T10:00:00+01:00", "2026-05-06"),
    ("Spring bank holiday 2026", "telephone", "2026-05-22T10:00:00+01:00", "2026-05-27"),
    ("Late summer bank holiday 2026 (ENG only)", "telephone", "2026-08-28T10:00:00+01:00", "2026-09-02"),
    (
        "Christmas 2026 and Boxing Day substitute Mon 28th",
        "telephone",
        "2026-12-24T10:00:00+00:00",
        "2026-12-30",
    ),
    ("received on Christmas Day 2026", "telephone", "2026-12-25T10:00:00+00:00", "2026-12-30"),
    ("the issue's example letter over Christmas", "letter", "2026-12-24T16:00:00+00:00", "2027-01-05"),
    ("New Year's Day 2027 (Friday)", "telephone", "2026-12-31T10:00:00+00:00", "2027-01-05"),
    (
        "Good Friday and Easter Monday 2027 around the clocks going forward",
        "telephone",
        "2027-03-25T10:00:00+00:00",
        "2027-03-31",
    ),
    ("Early May bank holiday 2027", "telephone", "2027-04-30T10:00:00+01:00", "2027-05-05"),
    ("Spring bank holiday 2027", "telephone", "2027-05-28T10:00:00+01:00", "2027-06-02"),
    ("Late summer bank holiday 2027 (ENG only)", "telephone", "2027-08-27T10:00:00+01:00", "2027-09-01"),
    (
        "Christmas 2027 on a weekend: substitutes Mon 27th and Tue 28th",
        "telephone",
        "2027-12-24T10:00:00+00:00",
        "2027-12-30",
    ),
    (
        "and New Year 2028 on a Saturday: substitute Mon 3 January",
        "letter",
        "2027-12-24T10:00:00+00:00",
        "2028-01-05",
    ),
    ("letter across the spring DST change and Easter", "letter", "2026-03-27T12:00:00+00:00", "2026-04-07"),
    (
        "received the night before the clocks go forward",
        "telephone",
        "2026-03-28T23:30:00+00:00",
        "2026-03-31",
    ),
    ("across the autumn DST change", "telephone", "2026-10-23T10:00:00+01:00", "2026-10-27"),
    (
        "received in the repeated hour as the clocks go back",
        "telephone",
        "2026-10-25T00:30:00+00:00",
        "2026-10-27",
    ),
    ("23:30 UTC in summer is the next local date", "telephone", "2026-07-09T23:30:00+00:00", "2026-07-14"),
    (
        "22:59 UTC in summer is still the same local date",
        "telephone",
        "2026-07-09T22:59:00+00:00",
        "2026-07-13",
    ),
    (
        "late Friday UTC in summer is a Saturday, before a bank holiday",
        "letter",
        "2026-08-28T23:15:00+00:00",
        "2026-09-07",
    ),
    ("23:30 UTC in winter is the same local date", "telephone", "2026-01-09T23:30:00+00:00", "2026-01-13"),
    ("e-mail has 5 working days", "email", "2026-06-01T09:00:00+01:00", "2026-06-08"),
    ("partner referral has 2 working days", "referral", "2026-06-01T09:00:00+01:00", "2026-06-03"),
]


@pytest.mark.parametrize(("why", "channel", "received", "due_day"), CASES, ids=[case[0] for case in CASES])
def test_due_date_table(why: str, channel: str, received: str, due_day: str) -> None:
    expected = datetime.combine(date.fromisoformat(due_day), datetime.min.time(), LONDON).replace(
        hour=23, minute=59, second=59
    )
    assert due(channel, received) == expected.isoformat(), why


def test_due_and_at_risk_carry_the_london_offset_of_their_own_day() -> None:
    deadline = CALENDAR.deadline("telephone", datetime(2026, 3, 27, 12, tzinfo=UTC))
    assert deadline.at_risk_at.astimezone(LONDON).isoformat() == "2026-03-31T00:00:00+01:00"
    assert deadline.due_at.astimezone(LONDON).isoformat() == "2026-03-31T23:59:59+01:00"
    assert deadline.breach_at.astimezone(LONDON).isoformat() == "2026-04-01T00:00:00+01:00"


@pytest.mark.parametrize(
    "day",
    ["2026-04-06", "2026-08-31", "2027-03-29", "2027-08-30", "2026-12-28", "2027-12-27", "2027-12-28"],
)
def test_england_holidays_include_easter_monday_late_summer_and_substitutes(day: str) -> None:
    assert not CALENDAR.is_working_day(date.fromisoformat(day))


def test_closure_days_are_not_working_days() -> None:
    calendar = WorkingCalendar(parse_closure_days("2026-12-24..2026-12-31"), DEFAULT_TARGETS)
    assert due("letter", "2026-12-23T10:00:00+00:00", calendar) == "2027-01-08T23:59:59+00:00"
    assert calendar.fingerprint != CALENDAR.fingerprint


def test_closure_days_and_targets_come_from_the_environment() -> None:
    settings = load_calendar(
        {"SLA_CLOSURE_DAYS": "2026-12-24..2026-12-31, 2027-01-04", "SLA_TARGET_LETTER": "3"}
    )
    calendar = settings.calendar()
    assert date(2027, 1, 4) in settings.closure_days
    assert due("letter", "2026-12-23T10:00:00+00:00", calendar) == "2027-01-07T23:59:59+00:00"
    assert calendar.targets == {"letter": 3, "telephone": 2, "email": 5, "referral": 2}


@pytest.mark.parametrize("raw", ["2026-13-01", "2026-12-31..2026-12-24", "next tuesday"])
def test_malformed_closure_days_are_refused_by_name(raw: str) -> None:
    from ccshared.config import ConfigError

    with pytest.raises(ConfigError, match="SLA_CLOSURE_DAYS"):
        load_calendar({"SLA_CLOSURE_DAYS": raw})


def test_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="fax"):
        CALENDAR.deadline("fax", datetime(2026, 1, 5, tzinfo=UTC))


def test_working_days_between_counts_after_start_up_to_end() -> None:
    assert CALENDAR.working_days_between(date(2026, 12, 24), date(2027, 1, 5)) == 5
    assert CALENDAR.working_days_between(date(2027, 1, 5), date(2027, 1, 5)) == 0
    assert CALENDAR.working_days_between(date(2027, 1, 5), date(2026, 12, 24)) == -5


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
channels = st.sampled_from(sorted(DEFAULT_TARGETS))
closures = st.sets(st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 3, 31)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(received=instants, channel=channels, closed=closures)
def test_due_is_end_of_a_working_day_exactly_n_working_days_on(
    received: datetime, channel: str, closed: set[date]
) -> None:
    calendar = WorkingCalendar(closed, DEFAULT_TARGETS)
    deadline = calendar.deadline(channel, received)
    local_due = deadline.due_at.astimezone(LONDON)
    day_zero = received.astimezone(LONDON).date()
    assert calendar.is_working_day(local_due.date())
    assert local_due.time().isoformat() == "23:59:59"
    assert deadline.at_risk_at.astimezone(LONDON).date() == local_due.date()
    assert deadline.at_risk_at.astimezone(LONDON).time().isoformat() == "00:00:00"
    target = DEFAULT_TARGETS[channel]
    assert calendar.working_days_between(day_zero, local_due.date()) == target
    assert calendar.working_days_between(day_zero, local_due.date() - timedelta(days=1)) == target - 1


@settings(max_examples=150, deadline=None)
@given(
    first=instants, gap=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)), channel=channels
)
def test_due_is_monotonic_in_receipt_time(first: datetime, gap: timedelta, channel: str) -> None:
    earlier = CALENDAR.deadline(channel, first)
    later = CALENDAR.deadline(channel, first + gap)
    assert earlier.due_at <= later.due_at
    assert earlier.at_risk_at <= later.at_risk_at

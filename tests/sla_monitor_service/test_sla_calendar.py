"""Due dates: the working-day rules against England's 2026-2027 calendar."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from ccshared import contracts
from ccshared.calendar import WorkingCalendar, parse_closure_days
from ccshared.timeutil import LONDON
from hypothesis import given, settings
from hypothesis import strategies as st
from sla_monitor import bootstrap
from sla_monitor.config import CalendarSettings
from sla_monitor.policy import DEFAULT_TARGETS, Policy

POLICY = Policy()
CALENDAR = POLICY.calendar


def due(channel: str, received: str, policy: Policy = POLICY) -> str:
    deadline = policy.deadline(channel, datetime.fromisoformat(received))
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
    deadline = POLICY.deadline("telephone", datetime(2026, 3, 27, 12, tzinfo=UTC))
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
    policy = Policy(WorkingCalendar(parse_closure_days("2026-12-24..2026-12-31")))
    assert due("letter", "2026-12-23T10:00:00+00:00", policy) == "2027-01-08T23:59:59+00:00"
    assert policy.fingerprint != POLICY.fingerprint


def test_closure_days_and_targets_come_from_the_environment() -> None:
    settings = CalendarSettings.from_env(
        {"SLA_CLOSURE_DAYS": "2026-12-24..2026-12-31, 2027-01-04", "SLA_TARGET_LETTER": "3"}
    )
    policy = bootstrap.policy(settings)
    assert not policy.calendar.is_working_day(date(2027, 1, 4))
    assert due("letter", "2026-12-23T10:00:00+00:00", policy) == "2027-01-07T23:59:59+00:00"
    assert policy.targets.channels == {"letter": 3, "telephone": 2, "email": 5, "referral": 2}


@pytest.mark.parametrize("raw", ["2026-13-01", "2026-12-31..2026-12-24", "next tuesday"])
def test_malformed_closure_days_are_refused_by_name(raw: str) -> None:
    from ccshared.config import ConfigError

    with pytest.raises(ConfigError, match="SLA_CLOSURE_DAYS"):
        CalendarSettings.from_env({"SLA_CLOSURE_DAYS": raw})


def test_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="fax"):
        POLICY.deadline("fax", datetime(2026, 1, 5, tzinfo=UTC))


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
    calendar = WorkingCalendar(closed)
    deadline = Policy(calendar).deadline(channel, received)
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
    earlier = POLICY.deadline(channel, first)
    later = POLICY.deadline(channel, first + gap)
    assert earlier.due_at <= later.due_at
    assert earlier.at_risk_at <= later.at_risk_at


# Targets by urgency (issue 13, part 1) -------------------------------------------


@pytest.mark.parametrize(
    ("channel", "urgency", "days"),
    [
        ("referral", "urgent", 1),
        ("referral", "soon", 2),
        ("referral", "routine", 5),
        ("referral", None, 2),
        ("letter", "urgent", 5),
        ("telephone", "urgent", 2),
        ("email", "routine", 5),
    ],
)
def test_default_targets_by_channel_and_urgency(channel: str, urgency: str | None, days: int) -> None:
    assert POLICY.targets.target(channel, urgency) == days


def test_each_cell_is_configurable_and_a_channel_target_is_its_cells_default() -> None:
    policy = bootstrap.policy(
        CalendarSettings.from_env(
            {"SLA_TARGET_REFERRAL_URGENT": "3", "SLA_TARGET_LETTER_URGENT": "1", "SLA_TARGET_LETTER": "4"}
        )
    )
    targets = policy.targets
    assert (targets.target("referral", "urgent"), targets.target("referral", "routine")) == (3, 5)
    assert (targets.target("letter", "urgent"), targets.target("letter", "soon")) == (1, 4)
    assert targets.target("letter") == 4
    received = datetime(2026, 6, 1, 9, tzinfo=UTC)  # Monday
    assert policy.deadline("letter", received, "urgent").due_at.date() == date(2026, 6, 2)
    assert policy.fingerprint != POLICY.fingerprint


@pytest.mark.parametrize("raw", ["0", "-1", "soon"])
def test_a_bad_cell_is_refused_by_name(raw: str) -> None:
    from ccshared.config import ConfigError

    with pytest.raises(ConfigError, match="SLA_TARGET_REFERRAL_SOON"):
        CalendarSettings.from_env({"SLA_TARGET_REFERRAL_SOON": raw})


def test_an_unknown_urgency_is_refused() -> None:
    with pytest.raises(ValueError, match="critical"):
        POLICY.deadline("letter", datetime(2026, 1, 5, tzinfo=UTC), "critical")


@pytest.mark.parametrize(
    "received", [datetime(1989, 12, 31, 12, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC)]
)
def test_a_received_date_outside_1990_to_2100_is_refused(received: datetime) -> None:
    with pytest.raises(ValueError, match="between 1990-01-01 and 2100-12-31"):
        POLICY.deadline("letter", received)


# Closures per area and from iCalendar (issue 13, part 3) --------------------------

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Liverpool Childrens Centres//closures//EN
BEGIN:VEVENT
UID:training-day@example.invalid
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20260603
DTEND;VALUE=DATE:20260604
SUMMARY:Training day
END:VEVENT
BEGIN:VEVENT
UID:north-move@example.invalid
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20260609
DTEND;VALUE=DATE:20260611
SUMMARY:North office move
CATEGORIES:North
END:VEVENT
BEGIN:VEVENT
UID:south-day@example.invalid
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20260612
SUMMARY:South staff day
CATEGORIES:south
END:VEVENT
END:VCALENDAR
"""


def write(tmp_path, text: str) -> str:
    path = tmp_path / "closures.ics"
    path.write_text(text.replace("\n", "\r\n"), encoding="utf-8")
    return str(path)


def test_area_closures_count_for_their_area_only() -> None:
    policy = bootstrap.policy(
        CalendarSettings.from_env({"SLA_AREA_CLOSURE_DAYS": "north:2026-06-02..2026-06-03; south:2026-06-04"})
    )
    received = datetime(2026, 6, 1, 9, tzinfo=UTC)  # Monday; telephone: 2 working days
    days = {area: policy.deadline("telephone", received, area=area).due_at.date() for area in contracts.AREAS}
    assert days == {"north": date(2026, 6, 5), "central": date(2026, 6, 3), "south": date(2026, 6, 3)}
    assert policy.deadline("telephone", received).due_at.date() == date(2026, 6, 3)
    assert policy.deadline("letter", received, area="south").due_at.date() == date(2026, 6, 9)
    assert policy.fingerprint != POLICY.fingerprint


def test_all_area_and_single_area_closures_add_up() -> None:
    policy = bootstrap.policy(
        CalendarSettings.from_env(
            {"SLA_CLOSURE_DAYS": "2026-06-02", "SLA_AREA_CLOSURE_DAYS": "north:2026-06-03"}
        )
    )
    received = datetime(2026, 6, 1, 9, tzinfo=UTC)
    assert policy.deadline("telephone", received, area="north").due_at.date() == date(2026, 6, 5)
    assert policy.deadline("telephone", received, area="central").due_at.date() == date(2026, 6, 4)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("west:2026-06-02", "west"),
        ("2026-06-02", "names no area"),
        ("north:2026-06-31", "2026-06-31"),
        ("north:2026-06-03..2026-06-02", "ends before it starts"),
    ],
)
def test_bad_area_closures_are_refused_by_name(raw: str, named: str) -> None:
    from ccshared.config import ConfigError

    with pytest.raises(ConfigError, match="SLA_AREA_CLOSURE_DAYS") as caught:
        CalendarSettings.from_env({"SLA_AREA_CLOSURE_DAYS": raw})
    assert named in str(caught.value)


def test_closures_load_from_an_icalendar_file_with_categories_naming_areas(tmp_path) -> None:
    policy = bootstrap.policy(CalendarSettings.from_env({"SLA_CLOSURE_CALENDAR": write(tmp_path, ICS)}))
    calendar = policy.calendar
    assert not calendar.is_working_day(date(2026, 6, 3))  # every area
    assert not calendar.is_working_day(date(2026, 6, 3), "south")
    assert not calendar.is_working_day(date(2026, 6, 9), "north")
    assert not calendar.is_working_day(date(2026, 6, 10), "north")
    assert calendar.is_working_day(date(2026, 6, 11), "north"), "DTEND of an all-day event is exclusive"
    assert calendar.is_working_day(date(2026, 6, 9), "south")
    assert calendar.is_working_day(date(2026, 6, 9))
    assert not calendar.is_working_day(date(2026, 6, 12), "south"), "no DTEND: one day"
    assert calendar.is_working_day(date(2026, 6, 12), "north")


def test_an_icalendar_file_adds_to_the_other_closure_settings(tmp_path) -> None:
    calendar = CalendarSettings.from_env(
        {"SLA_CLOSURE_CALENDAR": write(tmp_path, ICS), "SLA_AREA_CLOSURE_DAYS": "north:2026-06-01"}
    ).calendar
    assert not calendar.is_working_day(date(2026, 6, 1), "north")
    assert not calendar.is_working_day(date(2026, 6, 9), "north")


def _broken(old: str, new: str) -> str:
    assert old in ICS
    return ICS.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "line", "named"),
    [
        (_broken("SUMMARY:Training day", "SUMMARY Training day"), 9, "not an iCalendar content line"),
        (
            _broken("DTSTART;VALUE=DATE:20260609", "DTSTART:20260609T090000Z"),
            14,
            "all-day",
        ),
        (_broken("CATEGORIES:North", "CATEGORIES:West"), 17, "'West' is not an area"),
        (
            _broken("END:VEVENT\nBEGIN:VEVENT\nUID:north", "END:VTODO\nBEGIN:VEVENT\nUID:north"),
            10,
            "END:VTODO",
        ),
        (
            _broken("DTSTART;VALUE=DATE:20260612", "DTSTART;VALUE=DATE:2026-06-12"),
            22,
            "DTSTART cannot be read",
        ),
        (_broken("SUMMARY:South staff day", "RRULE:FREQ=YEARLY"), 23, "repeating events"),
        (_broken("END:VCALENDAR\n", ""), 1, "BEGIN:VCALENDAR is never ended"),
    ],
)
def test_a_malformed_icalendar_file_is_refused_naming_the_file_and_line(
    tmp_path, text: str, line: int, named: str
) -> None:
    from ccshared.config import ConfigError

    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="SLA_CLOSURE_CALENDAR") as caught:
        CalendarSettings.from_env({"SLA_CLOSURE_CALENDAR": path})
    message = str(caught.value)
    assert f"{path}, line {line}:" in message and named in message, message


def test_a_missing_icalendar_file_is_refused_naming_it(tmp_path) -> None:
    from ccshared.config import ConfigError

    with pytest.raises(ConfigError, match="nowhere.ics"):
        CalendarSettings.from_env({"SLA_CLOSURE_CALENDAR": str(tmp_path / "nowhere.ics")})


# One calendar for every service (issue 16, item 1) --------------------------------

CALENDAR_WORDS = {
    "is_working_day",
    "add_working_days",
    "working_days_between",
    "paused_working_days",
    "bank_holiday",
}
CALENDAR_LIBRARIES = {"holidays", "icalendar"}


def _calendar_definitions(path) -> set[str]:
    """What a module does that only a working-day calendar should: its functions and imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in CALENDAR_WORDS:
            found.add(f"defines {node.name}")
        elif isinstance(node, ast.Import):
            found |= {f"imports {a.name}" for a in node.names if a.name.split(".")[0] in CALENDAR_LIBRARIES}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in CALENDAR_LIBRARIES:
            found.add(f"imports {node.module}")
    return found


def test_the_working_day_calendar_is_defined_once_in_ccshared() -> None:
    repo = Path(__file__).resolve().parents[2]
    shared = _calendar_definitions(repo / "shared" / "ccshared" / "calendar.py")
    assert {"defines is_working_day", "imports holidays", "imports icalendar"} <= shared
    copies = {
        str(path.relative_to(repo)): found
        for path in sorted((repo / "services").rglob("*.py"))
        if (found := _calendar_definitions(path))
    }
    assert copies == {}, "import the working-day calendar from ccshared.calendar instead"

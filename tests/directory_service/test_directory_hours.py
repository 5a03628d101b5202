"""Opening times in Europe/London, whatever the server's clock zone."""

from __future__ import annotations

from datetime import UTC, datetime

from directory import hours
from directory.vocabulary import WEEKDAYS

CENTRE = {
    "status": "open",
    "opening_times": {
        **{day: [] for day in WEEKDAYS},
        "monday": [{"opens": "09:00", "closes": "12:30"}, {"opens": "13:30", "closes": "17:00"}],
        "sunday": [{"opens": "00:30", "closes": "01:30"}],
    },
    "exceptions": [{"date": "2026-12-28", "closed": True, "sessions": [], "note": "Bank holiday"}],
}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_sessions_open_inclusive_and_close_exclusive():
    assert hours.is_open_at(CENTRE, at(2026, 11, 23, 9, 0))
    assert not hours.is_open_at(CENTRE, at(2026, 11, 23, 12, 30))
    assert not hours.is_open_at(CENTRE, at(2026, 11, 23, 13, 0)), "lunch break"
    assert hours.is_open_at(CENTRE, at(2026, 11, 23, 16, 59))
    assert not hours.is_open_at(CENTRE, at(2026, 11, 23, 17, 0))


def test_summer_time_shifts_the_utc_hours():
    assert not hours.is_open_at(CENTRE, at(2026, 7, 6, 16, 30)), "17:30 BST"
    assert hours.is_open_at(CENTRE, at(2026, 7, 6, 8, 0)), "09:00 BST"


def test_the_local_date_decides_the_weekday():
    # Sunday 28 June 23:45 UTC is already Monday 00:45 in London: no Monday session yet.
    assert not hours.is_open_at(CENTRE, at(2026, 6, 28, 23, 45))
    # Saturday 27 June 23:45 UTC is Sunday 00:45 BST: inside Sunday's 00:30-01:30 session.
    assert hours.is_open_at(CENTRE, at(2026, 6, 27, 23, 45))
    assert hours.today(CENTRE, at(2026, 6, 27, 23, 45))["weekday"] == "sunday"


def test_a_dated_exception_wins_over_the_weekday():
    monday_holiday = at(2026, 12, 28, 10, 0)
    assert not hours.is_open_at(CENTRE, monday_holiday)
    assert hours.today(CENTRE, monday_holiday) == {
        "date": "2026-12-28",
        "weekday": "monday",
        "sessions": [],
        "closed": True,
        "note": "Bank holiday",
    }


def test_a_centre_not_open_is_never_open_now():
    assert not hours.is_open_at({**CENTRE, "status": "temporarily_closed"}, at(2026, 11, 23, 10, 0))
    assert hours.today({**CENTRE, "status": "closed"}, at(2026, 11, 23, 10, 0))["closed"] is True


def test_session_problems_are_explained():
    assert hours.session_problems([{"opens": "10:00", "closes": "09:00"}]) == [
        "opens (10:00) must be before closes (09:00)"
    ]
    assert hours.session_problems(
        [{"opens": "09:00", "closes": "11:00"}, {"opens": "10:00", "closes": "12:00"}]
    ) == ["sessions 09:00-11:00 and 10:00-12:00 overlap"]

"""The front end's pure rules: lockout, local times, ordering and wording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from frontend.accounts import AccountError, Attempts, LockoutRule, check_new_account
from frontend.backends import Contacts
from frontend.formatting import days_left, distance, when
from frontend.presenters import BadLocalTime, caseload, local_instant
from frontend.views.public import directory_query, last_twelve_months

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def test_the_lockout_starts_at_the_limit_and_ends_after_its_time():
    rule = LockoutRule(max_failures=3, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
    attempts = Attempts()
    for _ in range(3):
        attempts = rule.after_failure(attempts, NOW)

    assert rule.is_locked(attempts, NOW + timedelta(minutes=14))
    assert not rule.is_locked(attempts, NOW + timedelta(minutes=16))


def test_failures_spread_beyond_the_window_do_not_lock():
    rule = LockoutRule(max_failures=3, window=timedelta(minutes=15))
    attempts = Attempts()
    for minutes in (0, 10, 20, 30):
        attempts = rule.after_failure(attempts, NOW + timedelta(minutes=minutes))

    assert not rule.is_locked(attempts, NOW + timedelta(minutes=30))


def test_a_time_typed_in_summer_is_london_summer_time():
    assert local_instant("2026-06-30", "09:15", NOW) == datetime(2026, 6, 30, 8, 15, tzinfo=UTC)


def test_a_time_typed_in_winter_is_gmt():
    assert local_instant("2026-01-05", "09:15", NOW) == datetime(2026, 1, 5, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "clock_time"), [("2026-07-02", "09:00"), ("yesterday", "09:00"), ("2026-06-30", "9am")]
)
def test_a_future_or_unreadable_time_is_refused(day, clock_time):
    with pytest.raises(BadLocalTime):
        local_instant(day, clock_time, NOW)


def test_the_caseload_leaves_out_answered_contacts_and_puts_the_most_overdue_first():
    contacts = [
        {"id": "a", "status": "received", "received_at": "2026-06-29T09:00:00+00:00"},
        {"id": "b", "status": "assigned", "received_at": "2026-06-25T09:00:00+00:00", "assignee": "x"},
        {"id": "c", "status": "responded", "received_at": "2026-06-20T09:00:00+00:00"},
        {"id": "d", "status": "received", "received_at": "2026-06-30T09:00:00+00:00"},
    ]
    clocks = [
        {"contact_id": "a", "state": "open", "due_at": "2026-07-01T23:59:59+01:00"},
        {"contact_id": "b", "state": "breached", "due_at": "2026-06-29T23:59:59+01:00"},
    ]

    load = caseload(contacts, clocks, {}, NOW)

    assert [row.contact["id"] for row in load.rows] == ["b", "a", "d"]
    assert [row.marker for row in load.rows] == ["breached", "on-time", "unknown"]
    assert load.counts == {"open": 3, "breached": 1, "at_risk": 0, "unassigned": 2, "paused": 0}


def test_people_read_times_in_london_and_days_in_words():
    assert when("2026-06-30T08:15:00Z") == "Tue 30 Jun 2026, 9:15am"
    assert days_left(-2) == "Overdue by 2 working days"
    assert days_left(0) == "Due today"
    assert days_left(1) == "1 working day"
    assert distance(0.42) == "420 metres"


def test_the_last_twelve_months_start_on_the_first_of_a_month():
    assert last_twelve_months(datetime(2026, 3, 18).date()) == ("2025-04-01", "2026-03-18")
    assert last_twelve_months(datetime(2026, 12, 1).date()) == ("2026-01-01", "2026-12-01")


def test_a_typed_place_wins_over_an_earlier_location():
    query = directory_query({"place": "L8", "lat": "53.4", "lon": "-2.9"})

    assert query["postcode"] == "L8" and "lat" not in query


def test_an_area_role_needs_an_area_and_a_password_of_twelve():
    with pytest.raises(AccountError) as missing_area:
        check_new_account("a.user", "coordinator", None, "x" * 12)
    with pytest.raises(AccountError) as short:
        check_new_account("a.user", "admin", None, "x" * 11)

    assert missing_area.value.field == "area"
    assert short.value.field == "password"


class PagedList:
    """A list answered as the services answer theirs: `page` and `per_page` in, `items` and `total` out."""

    def __init__(self, count: int) -> None:
        self.items = [{"id": str(index)} for index in range(count)]
        self.pages_asked: list[int] = []

    def get(self, path: str, params: dict, as_staff: bool = True) -> dict:
        self.pages_asked.append(params["page"])
        start = (params["page"] - 1) * params["per_page"]
        return {"items": self.items[start : start + params["per_page"]], "total": len(self.items)}


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (100, 1), (101, 2), (250, 3)])
def test_a_whole_list_is_read_page_by_page_and_no_further(count, pages):
    source = PagedList(count)
    assert Contacts(source).all_open(status="open") == source.items
    assert source.pages_asked == list(range(1, pages + 1))

"""HTTP routes: the public due-date check and compliance report, the staff clock list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ccshared import apidoc, tables
from ccshared.apidoc import Blueprint
from ccshared.auth import StaffUser, TokenVerifier, bearer_token, current_staff
from ccshared.calendar import WorkingCalendar
from ccshared.contracts import ROLE_SERVICE, ROLES
from ccshared.errors import Forbidden, NotFound
from ccshared.timeutil import LONDON, Clock, to_str
from ccshared.web import context
from flask import Response

from .domain import AT_RISK, AWAITING_RECEIPT, BREACHED, OPEN, PAUSED, WITHDRAWN, ContactClock
from .policy import Policy
from .publication import Publisher, months_between
from .reports import COUNTED, Tally, compliance, over_the_range, public_rows
from .repository import CentreRepository, ClockRepository
from .schemas import (
    ClockSchema,
    ClocksQuery,
    ClocksSchema,
    ComplianceQuery,
    ComplianceSchema,
    DueQuery,
    DueSchema,
)


@dataclass(frozen=True)
class Context:
    clocks: ClockRepository
    centres: CentreRepository
    policy: Policy
    clock: Clock
    tokens: TokenVerifier
    publisher: Publisher


def local_iso(instant: datetime) -> str:
    """An instant as people read it: Europe/London offset, whole seconds."""
    return instant.astimezone(LONDON).isoformat(timespec="seconds")


def due_answer(
    policy: Policy, channel: str, received_at: datetime, urgency: str | None = None, area: str | None = None
) -> dict:
    deadline = policy.deadline(channel, received_at, urgency, area)
    return {
        "channel": channel,
        "urgency": urgency,
        "area": area,
        "received_at": local_iso(received_at),
        "target_working_days": deadline.target_working_days,
        "at_risk_at": local_iso(deadline.at_risk_at),
        "due_at": local_iso(deadline.due_at),
    }


blp = Blueprint("sla", __name__, url_prefix="/api/v1", description="SLA clocks and compliance")


def _ctx() -> Context:
    return context(Context)


@blp.get("/due")
@blp.arguments(DueQuery, location="query")
@blp.response(200, DueSchema)
def due(query: dict) -> dict:
    """When a contact received at a given time is at risk and due (public).

    Without `urgency` the channel's own target applies; without `area`,
    only the closure days of every area.
    """
    return due_answer(
        _ctx().policy, query["channel"], query["received_at"], query.get("urgency"), query.get("area")
    )


@blp.get("/clocks")
@blp.doc(**apidoc.STAFF_ONLY)
@blp.arguments(ClocksQuery, location="query")
@blp.response(200, ClocksSchema)
def clocks(query: dict) -> dict:
    """Running clocks (paused ones too), soonest due first (staff; staff and coordinators see
    their own area). Each row says how many whole working days it has spent paused."""
    ctx = _ctx()
    user = current_staff(ctx.tokens)
    filter = _clock_filter(query, user)
    found = list(ctx.clocks.find(filter, sort=[("due_at", 1)], limit=query["limit"], skip=query["offset"]))
    today = ctx.clock.now().astimezone(LONDON).date()
    rows = [_clock_row(clock, ctx.policy.calendar, today) for clock in found]
    return {"clocks": rows, "count": len(rows)}


@blp.get("/clocks/<contact_id>")
@blp.doc(**apidoc.STAFF_ONLY)
@blp.response(200, ClockSchema)
def clock_of(contact_id: str) -> dict:
    """One contact's clock in any state: running, or stopped, when and with what outcome (staff;
    staff and coordinators in their own area). 404 until the monitor has the contact's event, and
    for a contact in another area, as the contacts service answers."""
    ctx = _ctx()
    user = current_staff(ctx.tokens)
    found = ctx.clocks.get(contact_id)
    if found is None or found.state == AWAITING_RECEIPT or not user.may_see_area(found.area):
        raise NotFound(f"no clock for contact {contact_id} yet")
    today = ctx.clock.now().astimezone(LONDON).date()
    return _clock_row(found, ctx.policy.calendar, today)


@blp.get("/reports/compliance")
@blp.doc(**apidoc.PUBLIC_MORE_WITH_TOKEN)
@blp.arguments(ComplianceQuery, location="query")
@blp.doc(**tables.openapi_files(ComplianceSchema))
@blp.response(200, ComplianceSchema)
def compliance_report(query: dict) -> dict | Response:
    """Met, breached and open counts by channel, centre, area or month of receipt.

    Public. Anonymous callers get whole months (the dates widen to the months
    they fall in), each month's figures on their own in `monthly` (a row per
    month and group, each naming its `month`) and `months` (each month's
    totals), the same whatever range they are asked in. They get published
    months only: a month is published three days after it has ended
    (Europe/London; contacts still on their way reach it by then) and
    every contact counted in it has been answered or has passed its deadline,
    or at the latest once the month after it has ended (contacts still open
    then count as open), and its published figures never change after (a
    contact logged later with an earlier date of receipt, an erasure or a
    withdrawal changes staff's figures only). The range's months not yet
    published are left out, and named in `not_yet_published`. A count from 1 to 4
    says "fewer than 5"; a cell from which one could be worked out says
    "withheld" (it may be any size). `groups` and `totals` add up those
    published cells over the range (a cell is "withheld" where any month's is
    not shown), so no answer tells more than its months do. Staff get any range and
    every figure, and so does the notifier's service token (its monthly report
    to the Principal Officer and the coordinators).
    """
    ctx = _ctx()
    token = bearer_token()
    # Anyone else (a partner's token included) gets the public figures.
    public = token is None or ctx.tokens.verify(token).role not in FULL_FIGURES_ROLES
    start, end = query["from_"], query["to"]
    if public:
        start, end = start.replace(day=1), _last_day_of_month(end)
    monthly, months, waiting = None, None, None
    if public:  # withheld cells are decided over every area's figures; the area picks the rows
        figures, waiting = ctx.publisher.figures(months_between(start, end))
        monthly, months = public_rows(figures, query["group_by"], query.get("area"))
        if query["group_by"] == "centre":
            _name_centres(ctx, monthly)
        rows = over_the_range(monthly)
        overall = (over_the_range(months) or [Tally("all").as_dict()])[0]
    else:
        filter: dict = {
            "received_at": {"$gte": _start_of(start), "$lt": _start_of(end + timedelta(days=1))},
            **COUNTED,
        }
        if query.get("area"):
            filter["area"] = query["area"]
        groups, totals = compliance(ctx.clocks.find(filter), query["group_by"])
        rows, overall = [group.as_dict() for group in groups], totals.as_dict()
        if query["group_by"] == "centre":
            _name_centres(ctx, rows)
    if query["format"] != "json":
        name = f"compliance-{query['group_by']}-{start.isoformat()}-to-{end.isoformat()}"
        if public:  # each month's groups, then its totals
            by_month = sorted([*monthly, *months], key=lambda row: row["month"])  # type: ignore[misc]
            return tables.download(PUBLIC_COLUMNS, by_month, query["format"], name)
        return tables.download(REPORT_COLUMNS, [*rows, overall], query["format"], name)
    return {
        "from_": start,
        "to": end,
        "group_by": query["group_by"],
        "area": query.get("area"),
        "by_month_only": public,
        "groups": rows,
        "totals": overall,
        "monthly": monthly,
        "months": months,
        "not_yet_published": waiting,
    }


def _name_centres(ctx: Context, rows: list[dict]) -> None:
    for row in rows:
        centre = ctx.centres.get(row["key"])
        row["name"] = centre.name if centre else ""


FULL_FIGURES_ROLES = (*ROLES, ROLE_SERVICE)
REPORT_COLUMNS = [
    ("key", "group"),
    ("name", "centre name"),
    ("met", "met"),
    ("breached", "breached"),
    ("open", "open"),
    ("total", "total"),
    ("percent_met", "percent met"),
]
PUBLIC_COLUMNS = [("month", "month"), *REPORT_COLUMNS]


def _last_day_of_month(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _start_of(day: date) -> str:
    return to_str(datetime.combine(day, time(0), LONDON))


def _clock_filter(query: dict, user: StaffUser) -> dict:
    filter: dict = (
        {"state": query["state"]}
        if query.get("state")
        else {"state": {"$in": [OPEN, AT_RISK, PAUSED, BREACHED]}}
    )
    for name in ("centre_id", "channel"):
        if query.get(name):
            filter[name] = query[name]
    area = _check_area(user, query.get("area"))
    if area:
        filter["area"] = area
    return filter


def _check_area(user: StaffUser, area: str | None) -> str | None:
    """The area the user may see clocks in (theirs, unless their role sees every area)."""
    if user.sees_all_areas:
        return area
    if user.area is None:
        raise Forbidden("your staff token names no area, and your role sees one area only")
    if area and area != user.area:
        raise Forbidden(f"you may see clocks in your own area ({user.area}) only")
    return user.area


def _remaining(calendar: WorkingCalendar, today: date, due_day: date, area: str) -> int:
    """Working days after today up to the due day; past it, at least one late, even on a day off
    (the Saturday after a Friday due day has no working day between, but is not "due today")."""
    remaining = calendar.working_days_between(today, due_day, area)
    return min(remaining, -1) if today > due_day else remaining


def _clock_row(clock: ContactClock, calendar: WorkingCalendar, today: date) -> dict:
    due_day = clock.due_at.astimezone(LONDON).date()
    pause = clock.pause_now
    responded_at = None if clock.state == WITHDRAWN else clock.responded_at
    stopped = clock.withdrawn_at if clock.state == WITHDRAWN else responded_at
    if stopped is not None:
        today = stopped.astimezone(LONDON).date()  # a stopped clock stands still
    elif pause is not None and clock.state == PAUSED:
        today = pause.paused_at.astimezone(LONDON).date()  # the clock stands still while paused
    return {
        "contact_id": clock.contact_id,
        "reference": clock.reference,
        "channel": clock.channel,
        "centre_id": clock.centre_id,
        "area": clock.area,
        "assignee": clock.assignee,
        "state": clock.state,
        "received_at": local_iso(clock.received_at),
        "responded_at": local_iso(responded_at) if responded_at else None,
        "at_risk_at": local_iso(clock.at_risk_at),
        "due_at": local_iso(clock.due_at),
        "target_working_days": clock.target_working_days,
        "working_days_remaining": _remaining(calendar, today, due_day, clock.area),
        "paused_since": local_iso(pause.paused_at) if pause else None,
        "pause_reason": pause.reason_code if pause else None,
        "paused_working_days": clock.paused_working_days,
    }

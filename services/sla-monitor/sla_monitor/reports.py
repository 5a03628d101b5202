"""Compliance figures: counts by outcome, grouped, with the percentage met.

Public and aggregate: groups carry channel, centre id, area or month, never a
contact. `breached` counts contacts answered late, contacts past due still
unanswered, and contacts withdrawn after their breach was raised (a breach once
raised is never undone); `open` counts those still in time (paused ones too:
waiting on the family or a partner, their clocks stand still). Other withdrawn
contacts are left out. `targets` names the working days the met and breached
ones were judged by: each clock keeps the target it started with once answered
or breached, so after a target change a month's figures keep their own. Anonymous
callers see a row's targets only where each was had by 5 or more of its contacts.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ccshared.contracts import CLOCK_RUNNING, WITHHELD
from ccshared.timeutil import LONDON

from .domain import AT_RISK, BREACHED, MET, OPEN, PAUSED, RESPONDED_LATE, WITHDRAWN, ContactClock
from .suppression import CELLS, SMALLEST_SHOWN, withhold, withhold_proved


def month_of(clock: ContactClock) -> str:
    """The local month of receipt, as YYYY-MM."""
    return clock.received_at.astimezone(LONDON).strftime("%Y-%m")


GROUPINGS: dict[str, Callable[[ContactClock], str]] = {
    "channel": lambda clock: clock.channel or "",
    "centre": lambda clock: clock.centre_id or "",
    "area": lambda clock: clock.area or "",
    "month": month_of,
}
_COLUMN = {
    OPEN: "open",
    AT_RISK: "open",
    PAUSED: "open",
    BREACHED: "breached",
    RESPONDED_LATE: "breached",
    MET: "met",
}
STILL_OPEN = tuple(state for state in CLOCK_RUNNING if _COLUMN[state] == "open")  # not breached yet
# The clocks the figures count, as a store filter: those `column_of` puts in a column.
COUNTED = {"$or": [{"state": {"$in": list(_COLUMN)}}, {"state": WITHDRAWN, "breach_emitted": True}]}


def column_of(clock: ContactClock) -> str | None:
    """The column a clock counts in; None for one left out (withdrawn before any breach was raised)."""
    if clock.state == WITHDRAWN:
        return "breached" if clock.breach_emitted else None
    return _COLUMN.get(clock.state)


@dataclass
class Tally:
    key: str
    met: int = 0
    breached: int = 0
    open: int = 0
    targets: Counter[int] = field(default_factory=Counter)  # the met and breached contacts per target

    @property
    def total(self) -> int:
        return self.met + self.breached + self.open

    @property
    def percent_met(self) -> float | None:
        """Met as a share of the contacts whose outcome is known; None before any is."""
        decided = self.met + self.breached
        return round(100 * self.met / decided, 1) if decided else None

    def count(self, clock: ContactClock) -> None:
        """Count a clock in its column (`column_of`); a decided one adds the target it was judged by."""
        column = column_of(clock)
        setattr(self, column, getattr(self, column) + 1)
        if column != "open" and clock.target_working_days is not None:
            self.targets[clock.target_working_days] += 1

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "met": self.met,
            "breached": self.breached,
            "open": self.open,
            "total": self.total,
            "percent_met": self.percent_met,
            "targets": sorted(self.targets),
        }

    def as_public_dict(self) -> dict:
        """`as_dict` with no targets (null) unless each was had by SMALLEST_SHOWN contacts or more:
        a target had by fewer would tell that so few were judged by it (an urgent referral, say)."""
        rare = any(count < SMALLEST_SHOWN for count in self.targets.values())
        return self.as_dict() | ({"targets": None} if rare else {})


def compliance(clocks: Iterable[ContactClock], group_by: str) -> tuple[list[Tally], Tally]:
    """Tallies per group (sorted by key) and the overall tally."""
    key_of = GROUPINGS[group_by]
    groups: dict[str, Tally] = {}
    overall = Tally("all")
    for clock in clocks:
        if column_of(clock) is None:
            continue
        key = key_of(clock)
        groups.setdefault(key, Tally(key)).count(clock)
        overall.count(clock)
    return [groups[key] for key in sorted(groups)], overall


def public_figures(
    clocks: Iterable[ContactClock], group_by: str, area: str | None = None
) -> tuple[list[dict], list[dict]]:
    """The figures anonymous callers see of these clocks, worked out now (`month_figures` of
    each month of receipt, `public_rows` of those)."""
    figures = {month: month_figures(of_month)[0] for month, of_month in by_month(clocks).items()}
    return public_rows(figures, group_by, area)


def by_month(clocks: Iterable[ContactClock]) -> dict[str, list[ContactClock]]:
    """The counted clocks by local month of receipt."""
    months: dict[str, list[ContactClock]] = {}
    for clock in clocks:
        if column_of(clock) is not None:
            months.setdefault(month_of(clock), []).append(clock)
    return months


def month_figures(clocks: Iterable[ContactClock]) -> tuple[dict[Unit, dict], bool]:
    """One month's figures as anonymous callers see them: every figure any anonymous answer can
    give of it, by unit, small counts withheld; and False where what to withhold could not be
    worked out (every cell then says "withheld").

    A month's cells depend on that month's contacts alone, so they are the same in every
    answer that covers the month. And what is withheld is decided once for the month, over
    every figure any anonymous answer gives of it (by channel, area, centre, an area's
    channels, the whole), so no figure can be worked out by setting one answer beside
    another: a grouping or an area filter beside another, or a range beside another.
    """
    tallies, wholes = _month_figures(clocks)
    return _shown(tallies, wholes) if tallies else ({}, True)


def public_rows(
    figures: Mapping[str, Mapping[Unit, dict]], group_by: str, area: str | None = None
) -> tuple[list[dict], list[dict]]:
    """Months' figures (`month_figures`) as an anonymous answer gives them: each month on its
    own, its groups and its totals (key "all"), each row naming its month. `area` picks the rows,
    not what is withheld."""
    rows, totals = [], []
    whole = ("area", area) if area else ("all",)
    for month in sorted(figures):
        shown = figures[month]
        if whole not in shown:  # none of the area's contacts that month
            continue
        if group_by == "month":
            units = [whole]
        else:
            kind = "area-channel" if group_by == "channel" and area else group_by  # the Unit's first part
            units = [unit for unit in shown if unit[0] == kind and (area is None or unit[1] == area)]
        picked = [shown[unit] | ({"key": month} if group_by == "month" else {}) for unit in units]
        rows += [{"month": month, **row} for row in sorted(picked, key=lambda row: row["key"])]
        totals.append({"month": month, **shown[whole], "key": "all"})
    return rows, totals


def _shown(
    tallies: dict[Unit, Tally], wholes: list[tuple[Unit, list[Unit]]]
) -> tuple[dict[Unit, dict], bool]:
    """A month's figures as anonymous callers see them. Working out what to withhold is the slow
    part of an answer, and the same figures give the same answer: kept for the next answers."""
    figures = tuple(
        (unit, tally.key, tally.met, tally.breached, tally.open, tuple(sorted(tally.targets.items())))
        for unit, tally in tallies.items()
    )
    kept, proved = _withheld(figures, tuple((whole, tuple(parts)) for whole, parts in wholes))
    shown = {unit: {**row, "targets": row["targets"] and list(row["targets"])} for unit, row in kept.items()}
    return shown, proved


@functools.lru_cache(maxsize=512)
def _withheld(figures: tuple, wholes: tuple) -> tuple[dict[Unit, dict], bool]:
    rows = {
        unit: Tally(key, met, breached, open_, Counter(dict(targets))).as_public_dict()
        for unit, key, met, breached, open_, targets in figures
    }
    parts_of = [(whole, list(parts)) for whole, parts in wholes]
    return withhold_proved(rows, parts_of, lambda unit: _RELIED_ON[unit[0]])


# Which rows the public relies on most, when a cell must be hidden to protect a small one: the
# promise is per channel (letters, telephone messages), then the month's and each area's.
_RELIED_ON = {"centre": 0, "area-channel": 1, "area": 2, "all": 3, "channel": 4}
Unit = tuple[str, ...]  # ("all",), ("area", a), ("channel", ch), ("centre", a, id), ("area-channel", a, ch)


def _month_figures(clocks: Iterable[ContactClock]) -> tuple[dict[Unit, Tally], list[tuple[Unit, list[Unit]]]]:
    """Every figure an anonymous answer can give of a month, and which of them add up to which."""
    tallies: dict[Unit, Tally] = {}
    for clock in clocks:
        area, channel = clock.area or "", clock.channel or ""
        for unit, key in (
            (("all",), "all"),
            (("area", area), area),
            (("channel", channel), channel),
            (("centre", area, clock.centre_id or ""), clock.centre_id or ""),
            (("area-channel", area, channel), channel),
        ):
            tally = tallies.get(unit) or tallies.setdefault(unit, Tally(key))  # no Tally made to be dropped
            tally.count(clock)
    of_kind = {kind: [unit for unit in tallies if unit[0] == kind] for kind in ("area", "channel")}
    wholes: list[tuple[Unit, list[Unit]]] = [(("all",), of_kind["area"]), (("all",), of_kind["channel"])]
    for area_unit in of_kind["area"]:
        for kind in ("centre", "area-channel"):
            wholes.append((area_unit, [u for u in tallies if u[0] == kind and u[1] == area_unit[1]]))
    for channel_unit in of_kind["channel"]:
        wholes.append(
            (channel_unit, [u for u in tallies if u[0] == "area-channel" and u[2] == channel_unit[1]])
        )
    return tallies, wholes


def over_the_range(monthly: Iterable[dict]) -> list[dict]:
    """Months' published rows as one row per key, from those cells alone: each cell is the sum
    of the months' cells, or "withheld" where any month's is not shown (one month's cell is
    itself), and its targets those of all the months (none where any month's are not shown).
    So an answer over a range tells nothing that its months' own figures do not."""
    keyed: dict[str, dict] = {}
    for row in monthly:
        into = keyed.get(row["key"])
        if into is None:
            keyed[row["key"]] = {name: value for name, value in row.items() if name != "month"}
            continue
        for name in (*CELLS, "total"):
            both = isinstance(into[name], int) and isinstance(row[name], int)
            into[name] = into[name] + row[name] if both else WITHHELD
        both = into["targets"] is not None and row["targets"] is not None
        into["targets"] = sorted({*into["targets"], *row["targets"]}) if both else None
    for row in keyed.values():
        known = isinstance(row["met"], int) and isinstance(row["breached"], int)
        row["percent_met"] = Tally("", row["met"], row["breached"]).percent_met if known else None
    return [keyed[key] for key in sorted(keyed)]


def for_the_public(groups: list[dict], totals: dict) -> tuple[list[dict], dict]:
    """One table as anonymous callers see it: its groups add up to its totals row."""
    rows: dict[Any, dict] = {n: row for n, row in enumerate(groups)} | {"all": totals}
    shown = withhold(rows, [("all", list(range(len(groups))))])
    return [shown[n] for n in range(len(groups))], shown["all"]

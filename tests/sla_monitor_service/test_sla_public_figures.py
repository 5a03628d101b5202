"""Small numbers in public figures: no count from 1 to 4 is shown, or can be worked out."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ccshared.contracts import FEWER_THAN_5, HIDDEN_COUNTS, WITHHELD
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sla_monitor import reports
from sla_monitor.domain import BREACHED, MET, OPEN, WITHDRAWN
from sla_monitor.reports import compliance, for_the_public, public_figures
from sla_monitor.suppression import withhold

CELLS = ("met", "breached", "open")


def tally(key: str, met: int, breached: int, open_: int) -> dict:
    decided = met + breached
    return {
        "key": key,
        "met": met,
        "breached": breached,
        "open": open_,
        "total": met + breached + open_,
        "percent_met": round(100 * met / decided, 1) if decided else None,
        "targets": [5] if decided else [],
    }


def totals_of(groups: list[dict]) -> dict:
    return tally("all", *(sum(group[name] for group in groups) for name in CELLS))


counts = st.integers(0, 12)
tables = st.lists(st.tuples(counts, counts, counts), min_size=1, max_size=6)


@given(tables)
def test_no_small_count_is_shown_or_can_be_worked_out(table) -> None:
    groups = [tally(f"g{n}", *cells) for n, cells in enumerate(table)]
    shown, overall = for_the_public(groups, totals_of(groups))
    rows = [*shown, overall]
    originals = [*groups, totals_of(groups)]
    for row, original in zip(rows, originals, strict=True):
        hidden = [name for name in (*CELLS, "total") if row[name] in HIDDEN_COUNTS]
        for name in (*CELLS, "total"):
            if 0 < original[name] < 5:  # "withheld" where the labels alone would give it away
                assert row[name] in HIDDEN_COUNTS, (name, original)
            elif name in hidden:  # hidden only to protect another: no false small number
                assert row[name] == WITHHELD, (name, original)
            else:
                assert row[name] == original[name]
        # met + breached + open = total: one unknown alone could be worked out.
        assert len(hidden) != 1, (row, original)
        if {"met", "breached"} & set(hidden):
            assert row["percent_met"] is None
    for name in (*CELLS, "total"):
        # The groups add up to the totals row: one hidden cell alone could be worked out.
        assert sum(row[name] in HIDDEN_COUNTS for row in rows) != 1, (name, rows)


def test_figures_of_5_and_more_are_left_as_they_are() -> None:
    groups = [tally("letter", 10, 5, 6), tally("telephone", 7, 0, 9)]
    assert for_the_public(groups, totals_of(groups)) == (groups, totals_of(groups))


def test_a_cell_hidden_only_to_protect_a_small_one_says_withheld_not_fewer_than_5() -> None:
    """letter's 3 breached would follow from its total; the total, 28, is no small number."""
    groups = [tally("letter", 25, 3, 0), tally("telephone", 10, 6, 7)]
    shown, overall = for_the_public(groups, totals_of(groups))
    assert (shown[0]["met"], shown[0]["breached"], shown[0]["total"]) == (25, FEWER_THAN_5, WITHHELD)
    # The 9 breached in all would give letter's 3 back through telephone's 6: telephone's is
    # hidden, the smaller part, and the whole's stays shown.
    assert (shown[1]["breached"], overall["breached"]) == (WITHHELD, 9)


# Across answers: every grouping and area filter of one month, as an outsider collects them.

AREAS, CHANNELS_ = ("north", "central", "south"), ("letter", "telephone")
STATES = {"met": MET, "breached": BREACHED, "open": OPEN}


@dataclass(frozen=True)
class Clock:
    """What public_figures reads of a clock."""

    area: str
    channel: str
    centre_id: str
    state: str
    received_at: datetime = datetime(2026, 6, 10, 9, tzinfo=UTC)
    breach_emitted: bool = False
    target_working_days: int = 5


def _answer(clocks: list[Clock], group_by: str, area: str | None = None) -> tuple[dict, dict]:
    rows, [totals] = public_figures(clocks, group_by, area)
    return {row["key"]: row for row in rows}, totals


def _lone_unknowns(sums: list[list[object]]) -> list[list[object]]:
    return [cells for cells in sums if sum(cell in HIDDEN_COUNTS for cell in cells) == 1]


clocks_of_a_month = st.lists(
    st.builds(
        Clock,
        st.sampled_from(AREAS),
        st.sampled_from(CHANNELS_),
        st.sampled_from(("c1", "c2")),
        st.sampled_from((*STATES.values(), WITHDRAWN)),  # withdrawn: counted as breached once breached
        breach_emitted=st.booleans(),
        target_working_days=st.sampled_from((2, 3)),  # a target changed within the month
    ),
    min_size=1,
    max_size=40,
)


@given(clocks_of_a_month)
def test_no_answer_set_beside_another_leaves_a_hidden_figure_alone_in_a_sum(clocks) -> None:
    """By area beside by channel, an area's channels beside its row, its centres beside it: each
    figure is the same in every answer, and no sum an outsider can form has one unknown alone."""
    assume(any(clock.state != WITHDRAWN or clock.breach_emitted for clock in clocks))  # one counted
    by_area, whole = _answer(clocks, "area")
    by_channel, whole_by_channel = _answer(clocks, "channel")
    by_month, whole_by_month = _answer(clocks, "month")
    assert whole == whole_by_channel == whole_by_month == {**by_month["2026-06"], "key": "all"}
    within_area = {
        area: (_answer(clocks, "centre", area), _answer(clocks, "channel", area)) for area in by_area
    }
    sums = []
    for name in (*STATES, "total"):
        sums.append([whole[name], *(row[name] for row in by_area.values())])
        sums.append([whole[name], *(row[name] for row in by_channel.values())])
        for area, ((centres, of_centres), (channels, of_channels)) in within_area.items():
            assert of_centres == of_channels == by_area[area] | {"key": "all"}
            sums.append([by_area[area][name], *(row[name] for row in centres.values())])
            sums.append([by_area[area][name], *(row[name] for row in channels.values())])
        for channel, channel_row in by_channel.items():
            parts = [channels.get(channel) for _, (channels, _) in within_area.values()]
            sums.append([channel_row[name], *(part[name] for part in parts if part)])
    for row in [whole, *by_area.values(), *by_channel.values()]:
        sums.append([row["total"], *(row[name] for name in STATES)])
    assert not _lone_unknowns(sums), _lone_unknowns(sums)
    for row in [whole, *by_area.values(), *by_channel.values()]:
        for name in (*STATES, "total"):
            assert not (isinstance(row[name], int) and 0 < row[name] < 5), (name, row)
        # A target seen on one contact would tell that it exists: none beside a hidden count.
        if row["met"] in HIDDEN_COUNTS or row["breached"] in HIDDEN_COUNTS:
            assert row["targets"] is None, row
    # A whole's target that none of its shown parts has would tell that a hidden part has it.
    parts_of = [(whole, by_area.values()), (whole, by_channel.values())]
    for area, ((centres, _), (channels, _)) in within_area.items():
        parts_of += [(by_area[area], centres.values()), (by_area[area], channels.values())]
    for channel, channel_row in by_channel.items():
        parts_of.append(
            (channel_row, [chs[channel] for (_, (chs, _)) in within_area.values() if channel in chs])
        )
    for whole_row, parts in parts_of:
        if whole_row["targets"] is not None:
            shown = {target for part in parts for target in part["targets"] or ()}
            assert set(whole_row["targets"]) <= shown, (whole_row, list(parts))
    # A target had by few of a row's contacts would tell that so few were judged by it.
    rows_of = [(whole, lambda clock: True)]
    rows_of += [(row, lambda clock, area=area: clock.area == area) for area, row in by_area.items()]
    rows_of += [(row, lambda clock, ch=ch: clock.channel == ch) for ch, row in by_channel.items()]
    for area, ((centres, _), (channels, _)) in within_area.items():
        rows_of += [
            (row, lambda clock, area=area, c=c: (clock.area, clock.centre_id) == (area, c))
            for c, row in centres.items()
        ]
        rows_of += [
            (row, lambda clock, area=area, ch=ch: (clock.area, clock.channel) == (area, ch))
            for ch, row in channels.items()
        ]
    for row, of_row in rows_of:
        had_by = _decided_per_target(clocks, of_row)
        assert all(had_by[target] >= 5 for target in row["targets"] or ()), (row, had_by)


def _decided_per_target(clocks: list[Clock], of_row: Callable[[Clock], bool]) -> Counter[int]:
    """How many of a row's met and breached contacts were judged by each target."""
    decided = [
        clock
        for clock in clocks
        if of_row(clock)
        and (clock.state in (MET, BREACHED) or (clock.state == WITHDRAWN and clock.breach_emitted))
    ]
    return Counter(clock.target_working_days for clock in decided)


def test_a_target_had_by_fewer_than_5_of_a_rows_contacts_is_not_named_to_the_public() -> None:
    """8 letters met, 7 of them judged by 5 days and one (urgent, say) by 3: the met count is
    shown, but naming 3 among its targets would tell that one or a few were judged by it."""
    clocks = [Clock("north", "letter", "c1", MET) for _ in range(7)]
    clocks.append(Clock("north", "letter", "c1", MET, target_working_days=3))
    letters, totals = _answer(clocks, "channel")
    assert (letters["letter"]["met"], letters["letter"]["targets"]) == (8, None)
    assert totals["targets"] is None
    groups, _ = compliance(clocks, "channel")
    assert groups[0].as_dict()["targets"] == [3, 5]  # staff see every target


def test_the_review_case_a_small_areas_figure_is_not_given_back_by_the_whole_months() -> None:
    """north met 3, central 10, south 12: by area alone hides north's, but the month's 25
    by channel would give it back (25 - 10 - 12). Another area's is hidden, not the month's."""
    clocks = [
        Clock(area, "letter", f"c-{area}", MET)
        for area, met in (("north", 3), ("central", 10), ("south", 12))
        for _ in range(met)
    ]
    by_area = _answer(clocks, "area")[0]
    assert (by_area["north"]["met"], by_area["central"]["met"]) == (FEWER_THAN_5, WITHHELD)
    assert _answer(clocks, "month")[1]["met"] == 25  # the month's stays shown: central's is hidden
    assert _answer(clocks, "channel")[0]["letter"]["met"] == 25


# What an outsider can work out from the labels' ranges too: "fewer than 5" is 1 to 4, and
# "withheld" 0, or 5 and over (as it is, unless the labels alone would give a small count away:
# then one says "withheld", and an outsider who takes it for 0 or 5 and over is misled). Tried by
# brute force on small tables: every table that gives the answer.

LARGEST_TRIED = (
    8  # above any cell of the tables tried (5 at most): every table that fits has another within it
)


def _fits(value: int, shown: object, hole: bool = True) -> bool:
    if shown == FEWER_THAN_5:
        return 0 < value < 5
    if shown == WITHHELD:
        return value == 0 or value >= 5 or not hole
    return value == shown


def _sure_of(shown_rows: list[dict], truth: dict, cell: tuple[object, str]) -> bool:
    """Whether an outsider can be sure of `cell`: every table of two groups' (met, breached,
    open) that gives the answer has the true value there, whether they take "withheld" for 0 or 5
    and over, or for any size. (Where a small count says "withheld", the first takes a table
    that is not the true one: what it concludes is not known to be true, so it is not counted.)"""
    return any(
        _values(shown_rows, cell, hole) == {truth[cell]}
        for hole in (True, False)
        if all(
            _fits(truth[key, name], row[name], hole)
            for key, row in _keyed(shown_rows)
            for name in (*CELLS, "total")
        )
    )


def _values(shown_rows: list[dict], cell: tuple[object, str], hole: bool) -> set[int]:
    """The values `cell` has in the tables that give the answer, column by column: each state is
    the two groups' sums so far and the cell's value once known."""
    (_, first_row), (_, second_row), (_, overall) = _keyed(shown_rows)
    states: set[tuple[int, int, int | None]] = {(0, 0, None)}
    for name in CELLS:
        states = {
            (
                sum_one + one,
                sum_two + two,
                {(0, name): one, (1, name): two, ("all", name): one + two}.get(cell, known),
            )
            for sum_one, sum_two, known in states
            for one, two in itertools.product(range(LARGEST_TRIED + 1), repeat=2)
            if _fits(one, first_row[name], hole)
            and _fits(two, second_row[name], hole)
            and _fits(one + two, overall[name], hole)
        }
    return {
        {(0, "total"): one, (1, "total"): two, ("all", "total"): one + two}.get(cell, known)
        for one, two, known in states
        if _fits(one, first_row["total"], hole)
        and _fits(two, second_row["total"], hole)
        and _fits(one + two, overall["total"], hole)
    }


def _keyed(shown_rows: list[dict]) -> list[tuple[object, dict]]:
    *groups, overall = shown_rows
    return [*enumerate(groups), ("all", overall)]


small_tables = st.lists(st.tuples(*[st.integers(0, 5)] * 3), min_size=2, max_size=2)


@given(small_tables)
def test_no_hidden_count_can_be_worked_out_from_the_labels_ranges(table) -> None:
    groups = [tally(f"g{n}", *cells) for n, cells in enumerate(table)]
    shown, overall = for_the_public(groups, totals_of(groups))
    truth = _figures(table)
    for cell, value in truth.items():
        if 0 < value < 5:  # no outsider can be sure of a small count
            assert not _sure_of([*shown, overall], truth, cell), (cell, table, shown, overall)


def test_four_parts_said_fewer_than_5_of_a_whole_said_so_are_not_all_given_away() -> None:
    """Four channels of 1 breached each and the month's 4: were all five "fewer than 5", each
    channel's could only be 1. One of them says "withheld" instead."""
    groups = [tally(f"g{n}", 6, 1, 6) for n in range(4)]
    shown, overall = for_the_public(groups, totals_of(groups))
    breached = [row["breached"] for row in [*shown, overall]]
    assert set(breached) == {FEWER_THAN_5, WITHHELD}, breached
    assert all(value in HIDDEN_COUNTS for value in breached)


def test_a_withheld_cell_is_not_taken_for_0_to_give_a_small_one_away() -> None:
    """g0 met none, g1 met 1: the month's met, 1, "fewer than 5", is g0's "withheld" (0, or 5 and
    over, so 0 here) and g1's; and g1's met and open, "fewer than 5" each, add up to 7 - 5."""
    table = [(0, 0, 5), (1, 5, 1)]
    groups = [tally(f"g{n}", *cells) for n, cells in enumerate(table)]
    shown, overall = for_the_public(groups, totals_of(groups))
    truth = _figures(table)
    for cell in (("all", "met"), (1, "met"), (1, "open")):
        assert not _sure_of([*shown, overall], truth, cell), (cell, shown, overall)


def _figures(table: list[tuple[int, int, int]]) -> dict[tuple[object, str], int]:
    """Every cell of a table of groups' (met, breached, open): theirs, their totals, the whole's."""
    figures = {}
    for n, cells in enumerate([*table, tuple(sum(column) for column in zip(*table, strict=True))]):
        key = n if n < len(table) else "all"
        figures.update({(key, name): value for name, value in zip(CELLS, cells, strict=True)})
        figures[(key, "total")] = sum(cells)
    return figures


def test_a_centres_two_small_counts_are_not_given_away_by_its_shown_total_and_met() -> None:
    """A centre's 9 met of 11, with 1 breached and 1 open: "fewer than 5" each, they add up to 2,
    so each could only be 1, were the total and the met count both shown."""
    clocks = [Clock("north", "letter", "c1", state) for state in [MET] * 9 + [BREACHED, OPEN]]
    clocks += [Clock("north", "letter", "c2", state) for state in [MET] * 20 + [BREACHED] * 6 + [OPEN] * 7]
    centres, _ = _answer(clocks, "centre", "north")
    row = centres["c1"]
    could_be = {
        (met, breached, open_)
        for met, breached, open_ in itertools.product(range(LARGEST_TRIED * 3), repeat=3)
        if _row_fits((met, breached, open_), row)
    }
    assert {breached for _, breached, _ in could_be} != {1}, row
    assert {open_ for _, _, open_ in could_be} != {1}, row


def _row_fits(cells: tuple[int, int, int], row: dict) -> bool:
    named = zip(CELLS, cells, strict=True)
    return all(_fits(value, row[name]) for name, value in named) and _fits(sum(cells), row["total"])


# An outsider's exact search: every table that fits what a month's answers show, each sum
# holding and each hidden cell within its label's range, values up to a cap.

Cellref = tuple[object, str]


def _sums_of(rows: dict, wholes: list) -> list[list[tuple[Cellref, int]]]:
    """Each sum as (cell, +1 or -1) terms adding up to 0."""
    sums = [[((u, "total"), 1), *(((u, name), -1) for name in CELLS)] for u in rows]
    for whole, parts in wholes:
        for name in (*CELLS, "total"):
            sums.append([((whole, name), 1), *(((part, name), -1) for part in parts)])
    return sums


def _domains(shown: dict, hole: bool, cap: int) -> dict[Cellref, set[int]]:
    domains = {}
    for u, row in shown.items():
        for name in (*CELLS, "total"):
            value = row[name]
            if value == FEWER_THAN_5:
                domains[u, name] = set(range(1, 5))
            elif value == WITHHELD:
                domains[u, name] = {v for v in range(cap + 1) if v == 0 or v >= 5 or not hole}
            else:
                domains[u, name] = {value}
    return domains


def _consistent(domains: dict, sums: list) -> bool:
    """Narrow the domains sum by sum; False if one is left empty."""
    changed = True
    while changed:
        changed = False
        for terms in sums:
            lowest = sum(min(domains[c]) if k > 0 else -max(domains[c]) for c, k in terms)
            highest = sum(max(domains[c]) if k > 0 else -min(domains[c]) for c, k in terms)
            for cell, k in terms:
                own_low = min(domains[cell]) if k > 0 else -max(domains[cell])
                own_high = max(domains[cell]) if k > 0 else -min(domains[cell])
                # k * value = -(the others), which lie within [lowest - own_low, highest - own_high]
                bounds = sorted((-(highest - own_high) * k, -(lowest - own_low) * k))
                kept = {v for v in domains[cell] if bounds[0] <= v <= bounds[1]}
                if not kept:
                    return False
                if kept != domains[cell]:
                    domains[cell], changed = kept, True
    return True


def _a_table_fits(domains: dict, sums: list) -> bool:
    domains = {cell: set(values) for cell, values in domains.items()}
    if not _consistent(domains, sums):
        return False
    open_ = [cell for cell, values in domains.items() if len(values) > 1]
    if not open_:
        return True
    cell = min(open_, key=lambda cell: len(domains[cell]))
    return any(_a_table_fits({**domains, cell: {value}}, sums) for value in sorted(domains[cell]))


def _pinned_small_counts(shown: dict, wholes: list, truth: dict) -> list[tuple[Cellref, str]]:
    """The small counts an outsider can be sure of, each with how "withheld" was read: as 0 or 5
    and over (where the truth fits that reading), or as any size."""
    sums, cap = _sums_of(shown, wholes), max(truth.values()) + 10
    found = []
    for hole in (True, False):
        domains = _domains(shown, hole, cap)
        if not all(truth[cell] in values for cell, values in domains.items()):
            continue
        for cell, value in truth.items():
            if 0 < value < 5 and not _a_table_fits({**domains, cell: domains[cell] - {value}}, sums):
                found.append((cell, "as 0 or 5 and over" if hole else "as any size"))
    return found


def _truth(rows: dict) -> dict[Cellref, int]:
    return {(u, name): row[name] for u, row in rows.items() for name in (*CELLS, "total")}


def test_the_review_case_three_groups_where_sums_together_pin_a_total() -> None:
    """g1's met and open (12 - 7 = 5), beside the columns' 10 - 6 and 10 - 5, made g2's met and
    open 4 together; its total, "fewer than 5", could then only be 4."""
    groups = [tally("g0", 6, 1, 5), tally("g1", 3, 7, 2), tally("g2", 1, 0, 3)]
    rows = {n: group for n, group in enumerate(groups)} | {"all": totals_of(groups)}
    shown, overall = for_the_public(groups, totals_of(groups))
    published = {n: row for n, row in enumerate(shown)} | {"all": overall}
    assert _pinned_small_counts(published, [("all", [0, 1, 2])], _truth(rows)) == []


def _month(raw: list[tuple[str, str, str, str]]) -> tuple[dict, list, dict]:
    """A month of clocks (area, channel, centre, state) as the suppression sees it, and shows it."""
    clocks = [Clock(area, channel, centre, STATES[state]) for area, channel, centre, state in raw]
    tallies, wholes = reports._month_figures(clocks)
    rows = {unit: tally.as_public_dict() for unit, tally in tallies.items()}
    return rows, wholes, withhold(rows, wholes)


def test_the_review_case_where_no_label_was_left_to_widen_hides_further_off() -> None:
    raw = [("north", "letter", "c1", "breached")] + [("north", "letter", "c2", "met")] * 5
    raw += [("central", "letter", "c2", "met"), ("central", "letter", "c2", "open")]
    rows, wholes, shown = _month(raw)
    assert _pinned_small_counts(shown, wholes, _truth(rows)) == []


def test_the_review_case_of_a_month_of_15_contacts() -> None:
    raw = [
        ("north", "telephone", "c2", "met"), ("central", "email", "c2", "met"),
        ("central", "email", "c1", "breached"), ("central", "letter", "c2", "breached"),
        ("north", "telephone", "c1", "met"), ("north", "letter", "c2", "open"),
        ("north", "letter", "c1", "met"), ("north", "letter", "c2", "breached"),
        ("north", "letter", "c2", "breached"), ("central", "telephone", "c2", "met"),
        ("central", "email", "c1", "open"), ("central", "letter", "c1", "met"),
        ("central", "letter", "c1", "breached"), ("north", "telephone", "c2", "met"),
        ("north", "letter", "c1", "met"),
    ]  # fmt: skip
    rows, wholes, shown = _month(raw)
    assert _pinned_small_counts(shown, wholes, _truth(rows)) == []


small_months = st.lists(
    st.tuples(
        st.sampled_from(("north", "central")),
        st.sampled_from(("letter", "telephone")),
        st.sampled_from(("c1", "c2")),
        st.sampled_from(tuple(STATES)),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=60, deadline=None)
@given(small_months)
def test_no_small_count_of_a_month_can_be_worked_out_by_an_exact_search(raw) -> None:
    """Every figure of a month any answer gives (the whole, areas, channels, centres, areas'
    channels) and every sum among them: an outsider searching every table that fits is sure of
    no small count."""
    rows, wholes, shown = _month(raw)
    assert _pinned_small_counts(shown, wholes, _truth(rows)) == [], shown


def test_a_small_centres_count_is_protected_by_another_centre_not_by_the_month() -> None:
    """A centre's 2 met hid its area's 31 and the month's 62, so the public saw no month total
    at all: the other centres' counts protect it at their own level."""
    met = {("north", "c1"): 2, ("north", "c2"): 14, ("north", "c3"): 15, ("south", "c4"): 31}
    clocks = [Clock(area, "letter", c, MET) for (area, c), n in met.items() for _ in range(n)]
    by_area, month = _answer(clocks, "area")
    centres, _ = _answer(clocks, "centre", "north")
    assert (month["met"], month["total"], by_area["north"]["met"], by_area["north"]["total"]) == (
        62,
        62,
        31,
        31,
    )
    assert centres["c1"]["met"] == FEWER_THAN_5 and centres["c2"]["met"] == WITHHELD
    assert centres["c3"]["met"] == 15

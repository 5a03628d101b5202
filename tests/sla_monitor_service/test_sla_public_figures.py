"""Small numbers in public figures: no count from 1 to 4 is shown, or can be worked out."""

from __future__ import annotations

from ccshared.contracts import FEWER_THAN_5, HIDDEN_COUNTS, WITHHELD
from hypothesis import given
from hypothesis import strategies as st
from sla_monitor.reports import for_the_public

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
            if 0 < original[name] < 5:
                assert row[name] == FEWER_THAN_5, (name, original)
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
    assert overall["breached"] == WITHHELD  # 9: it would give letter's 3 back through telephone's 6

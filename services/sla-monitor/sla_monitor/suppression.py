"""Which public figures to hide, so that no count from 1 to 4 is shown or can be worked out.

A count from 1 to 4 could point at a family: it says "fewer than 5". Any other cell from which
one could be worked out says "withheld", whatever its size. The figures are tied by sums (a
row's cells add up to its total, the parts of a whole to the whole), and an outsider reads more
than each sum alone: the labels' ranges ("fewer than 5" is 1 to 4; "withheld" is 0 or 5 and
over) and several sums together. Two hidden cells of a known sum of 3, one "withheld" and one
"fewer than 5", make the first 0 and the second 3; four "fewer than 5" parts of a "fewer than
5" whole are 1 each. So cells are hidden until each small count has another table, with
another value there, that gives the same figures (`_another_table`; narrowing ranges sum by sum,
`_Ranges.narrow`, and adding and subtracting sums, `_solved`, find most cases first, cheaply);
where the labels alone give one away, a small count says "withheld" instead, and then nothing
is assumed of its range.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ccshared.contracts import FEWER_THAN_5, WITHHELD

SMALLEST_SHOWN = 5
CELLS = ("met", "breached", "open")

Cell = tuple[Any, str]  # (row, column)
_PASSES = 50  # ranges narrow a little each pass; far fewer passes settle the tables here
_SEARCH_STEPS = 400  # tables tried per small count before it counts as worked out

log = logging.getLogger(__name__)


class FiguresDoNotFit(Exception):
    """The true figures do not fit their own labels: a bug in this module, never in the data."""


def withhold(
    rows: Mapping[Any, dict],
    wholes: Iterable[tuple[Any, list[Any]]],
    relied_on: Callable[[Any], int] = lambda row: 0,
) -> dict[Any, dict]:
    """The rows as anonymous callers see them. A row's cells add up to its total, and each
    whole's rows to the whole; where a cell must be hidden to protect another, one of the row
    the public relies on least goes first (`relied_on`, lowest first; then the smallest). A row's
    targets are shown only beside its met and breached counts (and only where it has them
    already: see `Tally.as_public_dict`), and a whole's only where every one of its parts' is.
    Should working that out fail (`FiguresDoNotFit`), nothing is proved safe: every cell is
    withheld, and the error logged."""
    return withhold_proved(rows, wholes, relied_on)[0]


def withhold_proved(
    rows: Mapping[Any, dict],
    wholes: Iterable[tuple[Any, list[Any]]],
    relied_on: Callable[[Any], int] = lambda row: 0,
) -> tuple[dict[Any, dict], bool]:
    """`withhold`'s rows, and False where they are every cell withheld because what to withhold
    could not be worked out: such figures are safe to answer, but not worth publishing for good."""
    rows = {unit: dict(row) for unit, row in rows.items()}
    wholes = list(wholes)
    try:
        return _withheld_where_needed(rows, wholes, relied_on), True
    except FiguresDoNotFit as exc:
        log.error(
            "public figures withheld whole: what to withhold could not be worked out",
            extra={"reason": str(exc), "rows": len(rows), "wholes": len(wholes)},
        )
        return {unit: _all_withheld(row) for unit, row in rows.items()}, False


def _all_withheld(row: dict) -> dict:
    return row | dict.fromkeys((*CELLS, "total"), WITHHELD) | {"percent_met": None, "targets": None}


def _withheld_where_needed(
    rows: dict[Any, dict], wholes: list[tuple[Any, list[Any]]], relied_on: Callable[[Any], int]
) -> dict[Any, dict]:
    names = (*CELLS, "total")
    small = {(u, name) for u, row in rows.items() for name in names if 0 < row[name] < SMALLEST_SHOWN}
    # Each sum, as the cells it ties together, the one to hide first listed first.
    sums = [[(u, "total"), *((u, name) for name in CELLS)] for u in rows]
    sums += [[(whole, name), *((part, name) for part in parts)] for whole, parts in wholes for name in names]
    hidden, any_size, protected = set(small), set(), set()
    while (found := _worked_out(rows, sums, hidden, small, small - any_size, protected)) is not None:
        cell, how = found
        if how == "sums":  # sums together: hide a shown cell in the nearest sum that has one
            with_shown = _nearest_with_shown(cell, sums, hidden)
        else:
            with_shown = how if how != "ranges" else _nearest_with_shown(cell, sums, hidden, 1)
        if with_shown:
            hidden.add(_next_to_hide(rows, with_shown, hidden, relied_on))
            continue
        # By ranges, with every cell of its sums hidden already: the labels may give it away. A
        # small count there says "withheld", so that its range is not told; failing that, a
        # shown cell further off is hidden.
        around = [cells for cells in sums if cell in cells]
        labelled = [cell for cells in around for cell in cells if cell in small and cell not in any_size]
        if not labelled and (further := _nearest_with_shown(cell, sums, hidden)):
            hidden.add(_next_to_hide(rows, further, hidden, relied_on))
            continue
        labelled = labelled or sorted(small - any_size, key=repr)  # the labels further off, then
        if not labelled:
            break  # nothing shown is tied to it, and every label says "withheld"
        any_size.add(max(labelled, key=lambda cell: rows[cell[0]][cell[1]]))
    for u, name in hidden:
        rows[u][name] = FEWER_THAN_5 if (u, name) in small - any_size else WITHHELD
        if name in ("met", "breached"):
            rows[u]["percent_met"] = None
            rows[u]["targets"] = None  # a target seen on one contact would tell that it exists
    _withhold_wholes_targets(rows, wholes)
    return rows


def _worked_out(
    rows: Mapping[Any, dict],
    sums: list[list[Cell]],
    hidden: set[Cell],
    small: set[Cell],
    fewer: set[Cell],
    protected: set[Cell],
) -> tuple[Cell, list[Cell] | str] | None:
    """A hidden cell an outsider can work out, and how: the sum it is alone in, "ranges" or
    "sums" (together); or None. Any cell alone in a sum, but only a small count by ranges or sums
    together (a hidden cell of another size worked out so harms nobody unless a small count
    follows, and then that is found). `fewer` are the cells that say "fewer than 5"; `protected`
    the small counts already shown to have another value that fits (which hiding more, or saying
    "withheld" of more, cannot take away), added to here."""
    for cells in sums:
        unknown = [cell for cell in cells if cell in hidden]
        if len(unknown) == 1:
            return unknown[0], cells
    ranges = _Ranges.known(rows, sums, hidden, fewer)
    if not ranges.narrow():
        raise FiguresDoNotFit("the true figures do not fit their own labels")
    if found := next((cell for cell in small if ranges.low[cell] >= ranges.high[cell]), None):
        return found, "ranges"
    if found := _solved(sums, hidden, small):
        return found, "sums"
    truth = {cell: rows[cell[0]][cell[1]] for cell in ranges.low}
    for cell in sorted(small - protected, key=repr):
        if cell in protected:
            continue
        table = _another_table(ranges, cell, truth)
        if table is None:
            return cell, "ranges"
        protected.update(other for other in small if table[other] != truth[other])  # each had another
    return None


def _nearest_with_shown(
    cell: Cell, sums: list[list[Cell]], hidden: set[Cell], farthest: float = math.inf
) -> list[Cell] | None:
    """The first sum with a shown cell among those the cell is in (1 step), then those their
    cells are in (2 steps), and so on up to `farthest` steps."""
    reached, frontier, step = {cell}, {cell}, 1
    while frontier and step <= farthest:
        touching = [cells for cells in sums if frontier.intersection(cells)]
        for cells in touching:
            if any(other not in hidden for other in cells):
                return cells
        frontier = {other for cells in touching for other in cells} - reached
        reached |= frontier
        step += 1
    return None


@dataclass
class _Ranges:
    """What an outsider can tell of each cell of the sums that hold a hidden one: a range, and for
    "withheld" of a count that is not small the hole (0, or 5 and over)."""

    sums: list[list[Cell]]
    touching: dict[Cell, list[int]]  # each cell's sums, by index
    low: dict[Cell, float]
    high: dict[Cell, float]
    hole: set[Cell]

    @classmethod
    def known(
        cls, rows: Mapping[Any, dict], sums: list[list[Cell]], hidden: set[Cell], fewer: set[Cell]
    ) -> _Ranges:
        sums = [cells for cells in sums if any(cell in hidden for cell in cells)]  # the rest are known
        touching: dict[Cell, list[int]] = {}
        for n, cells in enumerate(sums):
            for cell in cells:
                touching.setdefault(cell, []).append(n)
        low: dict[Cell, float] = {}
        high: dict[Cell, float] = {}
        for cell in touching:
            value = rows[cell[0]][cell[1]]
            if cell not in hidden:
                low[cell] = high[cell] = value
            elif cell in fewer:
                low[cell], high[cell] = 1, SMALLEST_SHOWN - 1
            else:
                low[cell], high[cell] = 0, math.inf
        hole = {cell for cell in hidden - fewer if not 0 < rows[cell[0]][cell[1]] < SMALLEST_SHOWN}
        return cls(sums, touching, low, high, hole & set(low))

    def narrowed_to(self, cell: Cell, low: float, high: float) -> _Ranges | None:
        """A copy with the cell's range narrowed, and what follows from that; None if no table fits."""
        copy = _Ranges(
            self.sums, self.touching, {**self.low, cell: low}, {**self.high, cell: high}, self.hole
        )
        return copy if copy.narrow(self.touching[cell]) else None

    def narrow(self, sums: Iterable[int] | None = None) -> bool:
        """Narrow each range sum by sum (a cell is its sum's whole less its other parts), from
        `sums` (all by default) to those their narrowed cells are in, until none changes; False if
        some range is left empty: no table fits."""
        low, high = self.low, self.high
        queue = list(range(len(self.sums)) if sums is None else sums)
        queued = set(queue)
        steps = _PASSES * max(len(self.sums), 1)
        while queue and steps:
            steps -= 1
            n = queue.pop()
            queued.discard(n)
            whole, *parts = self.sums[n]
            lows, highs = sum(low[p] for p in parts), _Sum(high[p] for p in parts)
            bounds = {whole: (lows, highs.total)}
            for part in parts:  # whole minus the others
                bounds[part] = (low[whole] - highs.without(high[part]), high[whole] - (lows - low[part]))
            for cell, (at_least, at_most) in bounds.items():
                new_low, new_high = max(low[cell], at_least), min(high[cell], at_most)
                if cell in self.hole:  # "withheld" of a count that is not small: 0, or 5 and over
                    new_low = SMALLEST_SHOWN if 0 < new_low < SMALLEST_SHOWN else new_low
                    new_high = 0 if new_high < SMALLEST_SHOWN else new_high
                if new_low > new_high:
                    return False
                if (new_low, new_high) != (low[cell], high[cell]):
                    low[cell], high[cell] = new_low, new_high
                    for other in self.touching[cell]:
                        if other not in queued:
                            queued.add(other)
                            queue.append(other)
        return True


class _Exhausted(Exception):
    """The search for another table gave up: the cell counts as worked out, and more is hidden."""


def _another_table(ranges: _Ranges, cell: Cell, truth: Mapping[Cell, float]) -> dict[Cell, float] | None:
    """A table other than the true one, with another value in `cell`, that gives the same answer
    (every sum holds, every cell within what its label says); None if none is found. A search
    that tries the values nearest the true ones first; one that runs long counts as none found."""
    budget = [_SEARCH_STEPS]
    value = truth[cell]
    try:
        for low, high in ((ranges.low[cell], value - 1), (value + 1, ranges.high[cell])):
            if low <= high and (table := _fitting(ranges.narrowed_to(cell, low, high), truth, budget)):
                return table
    except _Exhausted:
        pass
    return None


def _fitting(
    ranges: _Ranges | None, truth: Mapping[Cell, float], budget: list[int]
) -> dict[Cell, float] | None:
    """A table within the ranges in which every sum holds, or None: each cell not fixed yet at
    the value nearest its true one, unless a sum then fails; then a cell of that sum is tried at
    that value, then below, then above it."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _Exhausted
    if ranges is None:
        return None
    table = {cell: min(max(truth[cell], ranges.low[cell]), ranges.high[cell]) for cell in ranges.low}
    failing = next(
        (cells for cells in ranges.sums if table[cells[0]] != sum(table[p] for p in cells[1:])), None
    )
    if failing is None:
        return table
    cell = min(
        (cell for cell in failing if ranges.low[cell] < ranges.high[cell]),
        key=lambda cell: ranges.high[cell] - ranges.low[cell],
    )
    low, high, near = ranges.low[cell], ranges.high[cell], table[cell]
    for a, b in ((near, near), (low, near - 1), (near + 1, high)):
        if a <= b and (found := _fitting(ranges.narrowed_to(cell, a, b), truth, budget)):
            return found
    return None


class _Sum:
    """A sum of upper bounds, some of them unbounded, that can leave one out."""

    def __init__(self, values: Iterable[float]):
        values = list(values)
        self.unbounded = sum(value == math.inf for value in values)
        self.bounded = sum(value for value in values if value != math.inf)
        self.total = math.inf if self.unbounded else self.bounded

    def without(self, value: float) -> float:
        if value == math.inf:
            return math.inf if self.unbounded > 1 else self.bounded
        return math.inf if self.unbounded else self.bounded - value


def _solved(sums: list[list[Cell]], hidden: set[Cell], small: set[Cell]) -> Cell | None:
    """A hidden cell that adding and subtracting sums leaves alone: a row of the sums' reduced
    echelon form (over the hidden cells; the shown ones are known) with one cell in it."""
    columns = sorted(hidden, key=repr)
    index = {cell: n for n, cell in enumerate(columns)}
    matrix = []
    for whole, *parts in sums:
        row = [0.0] * len(columns)
        for cell, sign in ((whole, 1.0), *((part, -1.0) for part in parts)):
            if cell in index:
                row[index[cell]] += sign
        if any(row):
            matrix.append(row)
    pivots = 0
    for column in range(len(columns)):
        pivot = next((r for r in range(pivots, len(matrix)) if abs(matrix[r][column]) > 1e-9), None)
        if pivot is None:
            continue
        matrix[pivots], matrix[pivot] = matrix[pivot], matrix[pivots]
        lead = matrix[pivots][column]
        matrix[pivots] = [value / lead for value in matrix[pivots]]
        for r, row in enumerate(matrix):
            if r != pivots and abs(row[column]) > 1e-9:
                factor = row[column]
                matrix[r] = [value - factor * top for value, top in zip(row, matrix[pivots], strict=True)]
        pivots += 1
    for row in matrix[:pivots]:
        alone = [n for n, value in enumerate(row) if abs(value) > 1e-9]
        if len(alone) == 1 and columns[alone[0]] in small:
            return columns[alone[0]]
    return None


def _withhold_wholes_targets(rows: dict[Any, dict], wholes: list[tuple[Any, list[Any]]]) -> None:
    """A whole's targets are its parts' together: beside parts whose targets are not shown, one
    that none of the shown parts has would tell that a hidden part's contacts were judged by it
    (an urgent referral, say, or one received before a target changed). That they have decided
    contacts at all the sums give already; their targets are what this keeps back. Where a whole
    is itself a part of another, its own targets not shown are passed up in turn."""
    changed = True
    while changed:
        changed = False
        for whole, parts in wholes:
            if rows[whole]["targets"] is not None and any(rows[part]["targets"] is None for part in parts):
                rows[whole]["targets"] = None
                changed = True


def _next_to_hide(
    rows: Mapping[Any, dict], cells: list[Cell], hidden: set, relied_on: Callable[[Any], int]
) -> Cell:
    """A shown cell of the sum to hide. In a row (its total and its cells) the total, if shown:
    the met and breached counts are what the public reads. Across rows (a whole and its parts)
    the cell of the row the public relies on least (`relied_on`: a centre's before its area's,
    the month's before a channel's), the smallest of those; a 0 last, as it protects nothing (a
    "withheld" 0 is read as 0, or 5 and over) but at least completes the sum."""
    whole, *parts = cells
    shown = [cell for cell in cells if cell not in hidden]
    if all(cell[0] == whole[0] for cell in parts) and whole in shown:  # a row
        return whole
    return min(
        shown, key=lambda cell: (rows[cell[0]][cell[1]] == 0, relied_on(cell[0]), rows[cell[0]][cell[1]])
    )

"""Which public figures to hide, so that no count from 1 to 4 is shown or can be worked out.

A count from 1 to 4 could point at a family: it says "fewer than 5". Any other cell from which
one could be worked out says "withheld", whatever its size. The figures are tied by sums (a
row's cells add up to its total, the parts of a whole to the whole), and an outsider reads more
than each sum alone: the labels' ranges ("fewer than 5" is 1 to 4; "withheld" is 0 or 5 and
over) and several sums together. Two hidden cells of a known sum of 3, one "withheld" and one
"fewer than 5", make the first 0 and the second 3; four "fewer than 5" parts of a "fewer than
5" whole are 1 each. So cells are hidden until no small count can be worked out, by ranges
(`_narrowed`) or by adding and subtracting sums (`_solved`); where the labels alone give one
away, a small count says "withheld" instead, and then nothing is assumed of its range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ccshared.contracts import FEWER_THAN_5, WITHHELD

SMALLEST_SHOWN = 5
CELLS = ("met", "breached", "open")

Cell = tuple[Any, str]  # (row, column)
_PASSES = 50  # ranges narrow a little each pass; far fewer passes settle the tables here


def withhold(rows: Mapping[Any, dict], wholes: Iterable[tuple[Any, list[Any]]]) -> dict[Any, dict]:
    """The rows as anonymous callers see them. A row's cells add up to its total, and each
    whole's rows to the whole. A row's targets are shown only beside its met and breached counts
    (and only where it has them already: see `Tally.as_public_dict`), and a whole's only where
    every one of its parts' is."""
    rows = {unit: dict(row) for unit, row in rows.items()}
    wholes = list(wholes)
    names = (*CELLS, "total")
    small = {(u, name) for u, row in rows.items() for name in names if 0 < row[name] < SMALLEST_SHOWN}
    # Each sum, as the cells it ties together, the one to hide first listed first.
    sums = [[(u, "total"), *((u, name) for name in CELLS)] for u in rows]
    sums += [[(whole, name), *((part, name) for part in parts)] for whole, parts in wholes for name in names]
    hidden, any_size = set(small), set()
    while (found := _worked_out(rows, sums, hidden, small, small - any_size)) is not None:
        cell, how = found
        if how == "sums":  # sums together: hide a shown cell in the nearest sum that has one
            with_shown = _nearest_with_shown(cell, sums, hidden)
        else:
            with_shown = how if how != "ranges" else _nearest_with_shown(cell, sums, hidden, 1)
        if with_shown:
            hidden.add(_next_to_hide(rows, with_shown, hidden))
            continue
        # By ranges, with every cell of its sums hidden already: the labels give it away. A small
        # count there says "withheld", so that its range is not told.
        around = [cells for cells in sums if cell in cells]
        labelled = [cell for cells in around for cell in cells if cell in small and cell not in any_size]
        if not labelled:
            break
        any_size.add(max(labelled, key=lambda cell: rows[cell[0]][cell[1]]))
    for u, name in hidden:
        rows[u][name] = FEWER_THAN_5 if (u, name) in small - any_size else WITHHELD
        if name in ("met", "breached"):
            rows[u]["percent_met"] = None
            rows[u]["targets"] = None  # a target seen on one contact would tell that it exists
    _withhold_wholes_targets(rows, wholes)
    return rows


def _worked_out(
    rows: Mapping[Any, dict], sums: list[list[Cell]], hidden: set[Cell], small: set[Cell], fewer: set[Cell]
) -> tuple[Cell, list[Cell] | str] | None:
    """A hidden cell an outsider can work out, and how: the sum it is alone in, "ranges" or
    "sums" (together); or None. Any cell alone in a sum, but only a small count by ranges or sums
    together (a hidden cell of another size worked out so harms nobody unless a small count
    follows, and then that is found). `fewer` are the cells that say "fewer than 5"."""
    for cells in sums:
        unknown = [cell for cell in cells if cell in hidden]
        if len(unknown) == 1:
            return unknown[0], cells
    if found := _narrowed(rows, sums, hidden, small, fewer):
        return found, "ranges"
    if found := _solved(sums, hidden, small):
        return found, "sums"
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


def _narrowed(
    rows: Mapping[Any, dict], sums: list[list[Cell]], hidden: set[Cell], small: set[Cell], fewer: set[Cell]
) -> Cell | None:
    """A small count whose range, narrowed sum by sum from the shown values and the labels'
    ranges, leaves one value."""
    sums = [cells for cells in sums if any(cell in hidden for cell in cells)]  # the rest are known
    low: dict[Cell, float] = {}
    high: dict[Cell, float] = {}
    for cell in {cell for cells in sums for cell in cells}:
        value = rows[cell[0]][cell[1]]
        if cell not in hidden:
            low[cell] = high[cell] = value
        elif cell in fewer:
            low[cell], high[cell] = 1, SMALLEST_SHOWN - 1
        else:
            low[cell], high[cell] = 0, math.inf
    hole = {cell for cell in hidden - fewer if not 0 < rows[cell[0]][cell[1]] < SMALLEST_SHOWN}
    for _ in range(_PASSES):
        changed = False
        for whole, *parts in sums:
            lows, highs = sum(low[p] for p in parts), _Sum(high[p] for p in parts)
            bounds = {whole: (lows, highs.total)}
            for part in parts:  # whole minus the others
                bounds[part] = (low[whole] - highs.without(high[part]), high[whole] - (lows - low[part]))
            for cell, (at_least, at_most) in bounds.items():
                new_low, new_high = max(low[cell], at_least), min(high[cell], at_most)
                if cell in hole:  # "withheld" of a count that is not small: 0, or 5 and over
                    new_low = SMALLEST_SHOWN if 0 < new_low < SMALLEST_SHOWN else new_low
                    new_high = 0 if new_high < SMALLEST_SHOWN else new_high
                if (new_low, new_high) != (low[cell], high[cell]):
                    low[cell], high[cell] = new_low, new_high
                    changed = True
                    if cell in small and new_low >= new_high:
                        return cell
        if not changed:
            break
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


def _next_to_hide(rows: Mapping[Any, dict], cells: list[Cell], hidden: set) -> Cell:
    """The sum's total if shown, else its smallest shown cell (zeros complete a sum too)."""
    shown = [cell for cell in cells if cell not in hidden]
    if shown[0] == cells[0]:
        return shown[0]
    return min(shown, key=lambda cell: rows[cell[0]][cell[1]])

"""Public figures: what a year of the "How we are doing" page costs the SLA monitor.

Anonymous callers' figures are the staff's counts with small counts withheld, and what to
withhold is worked out over every figure of a month (sla_monitor/suppression.py). The
baseline is the staff's count of the same contacts, which withholds nothing. A month's
answer is kept once worked out, so the second answer of the same year is the usual cost.
CPU time of this process: the work is pure Python, with no store or network.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from ccshared import contracts
from sla_monitor import reports
from sla_monitor.domain import BREACHED, MET, OPEN, ContactClock

from .common import Context, Figure, Report

NAME = "public-figures"
TITLE = "Public figures: a year of the public compliance report, small counts withheld"


def sizes(quick: bool) -> dict[str, int]:
    return {"contacts in the year": 600 if quick else 6_000, "areas": 3, "centres per area": 8}


def year_of_clocks(size: dict[str, int], seed: int = 7) -> list[ContactClock]:
    """Contacts spread over a year's months, areas, centres and channels, most answered in time."""
    rng = random.Random(seed)
    areas = [f"area-{n}" for n in range(size["areas"])]
    clocks = []
    for n in range(size["contacts in the year"]):
        area = rng.choice(areas)
        clocks.append(
            ContactClock(
                contact_id=f"bench-{n:06d}",
                state=rng.choice((MET, MET, MET, BREACHED, OPEN)),
                channel=rng.choice(contracts.CHANNELS),
                centre_id=f"{area}-centre-{rng.randrange(size['centres per area'])}",
                area=area,
                received_at=datetime(2026, rng.randint(1, 12), rng.randint(1, 28), 10, tzinfo=UTC),
                target_working_days=5,
            )
        )
    return clocks


def _cpu_seconds(call) -> float:  # noqa: ANN001 - any callable of no arguments
    started = time.process_time()
    call()
    return time.process_time() - started


def run(ctx: Context, size: dict[str, int] | None = None) -> Report:
    size = size or sizes(ctx.quick)
    report = Report(NAME, TITLE, dict(size))
    clocks = year_of_clocks(size)
    staff = min(_cpu_seconds(lambda: reports.compliance(clocks, "channel")) for _ in range(3))
    reports._withheld.cache_clear()  # noqa: SLF001 - the first answer works every month out
    first = _cpu_seconds(lambda: reports.public_figures(clocks, "channel"))
    kept = min(_cpu_seconds(lambda: reports.public_figures(clocks, "area")) for _ in range(3))
    baseline = "staff counts of the same contacts"
    report.add(
        Figure("public figures, first answer", first, "CPU s", baseline, staff, higher_is_better=False)
    )
    report.add(Figure("public figures, months kept", kept, "CPU s", baseline, staff, higher_is_better=False))
    report.notes.append(
        "one year of contacts over every channel; the first answer works out what to withhold for "
        "each month, later answers (any grouping or area) reuse it"
    )
    return report

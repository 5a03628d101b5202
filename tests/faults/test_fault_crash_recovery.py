"""The SLA monitor and the notifier killed with SIGKILL at random points while a
batch of overdue contacts goes through them: after they restart, every overdue
contact has exactly one breach and each recipient exactly one e-mail about it."""

from __future__ import annotations

import os
import random
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from ccshared import contracts as c
from fault_testkit import (
    COORDINATOR,
    PRINCIPAL,
    Run,
    breach_ids_per_contact,
    breach_mails,
    centre_created,
    contact_received,
    keyed,
)

from tests.infra.waiting import wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.mongo, pytest.mark.timeout(900)]

# How many overdue contacts go through (two e-mails each), and how many SIGKILLs land on
# the way. FAULT_CRASH_SEED replays one run's choice of victims and moments. 600 (three of
# the monitor's batches of 200; 1,200 mails, sent one at a time) still puts every kill in
# the middle of the run, and keeps the suite under 20 minutes: this test is its slowest
# (about 150 s at 800 on FerretDB, 225 s at 1,200). FAULT_CRASH_CONTACTS for more.
CONTACTS = int(os.environ.get("FAULT_CRASH_CONTACTS", "600"))
SEED = int(os.environ.get("FAULT_CRASH_SEED", "20261123"))
KILLS = 6
DEADLINE = 120.0 + CONTACTS * 0.25
VICTIMS = ("sla-monitor", "notifier")


def kill_plan(rng: random.Random, mails_wanted: int) -> list[tuple[int, str]]:
    """(mails sent so far, victim) for each kill: random points spread over the whole run.

    Each victim dies at least once; the notifier's kills fall while it is sending, and the
    monitor's while breaches are still being found (it runs ahead of the notifier).
    """
    victims = [*VICTIMS, *(rng.choice(VICTIMS) for _ in range(KILLS - len(VICTIMS)))]
    rng.shuffle(victims)
    points = sorted(rng.randint(1, int(mails_wanted * 0.9)) for _ in victims)
    return list(zip(points, victims, strict=True))


def test_sigkilled_monitor_and_notifier_breach_once_and_mail_once(run: Run) -> None:
    rng = random.Random(SEED)
    system = run.system(
        VICTIMS,
        SLA_LATE_RECEIPT_GRACE_SECONDS="0",
        # FerretDB uses no index for the due scan, so each one reads all 2,000 clocks. The
        # monitor wakes at the next due instant and scans again at once after a full batch,
        # so the longest sleep only adds idle full reads that slow the notifier's sending.
        # Exactly-once does not depend on the rate.
        SLA_SCAN_SECONDS="5",
        SLA_STARTUP_WAIT_SECONDS="5",
        NOTIFIER_SENDING_TIMEOUT_SECONDS="3",
        # One mail per breach and recipient, to count them; storm grouping has its own
        # SIGKILL test (tests/notifier_service/test_notifier_storm.py).
        NOTIFIER_GROUP_INTERVAL_SECONDS="0",
    )
    received_at = datetime.now(UTC) - timedelta(days=10)
    centres = {area: f"centre-{area}-{run.tag}" for area in c.AREAS}
    contacts = {
        f"contact-{run.tag}-{n:05d}": (f"CRASH-{run.tag}-{n:05d}", c.AREAS[n % len(c.AREAS)])
        for n in range(CONTACTS)
    }
    run.publish(c.CENTRES_TOPIC, keyed(centre_created(centre, area) for area, centre in centres.items()))
    run.publish(
        c.CONTACTS_TOPIC,
        keyed(
            contact_received(contact_id, reference, centres[area], area, received_at)
            for contact_id, (reference, area) in contacts.items()
        ),
    )
    system.start()

    mails_wanted = 2 * CONTACTS

    def mails_so_far() -> int:
        """Mails written, by file name alone (cheap enough to poll): not a monthly compliance
        report, which the notifier may send at its first start in a month (notifier.monthly
        names those compliance-<month>-...); the exact count of breach mails is checked below."""
        return sum(not path.name.startswith("compliance-") for path in system.mail_dir.glob("*.eml"))

    kills: list[str] = []
    for point, victim in kill_plan(rng, mails_wanted):
        wait_for(lambda point=point: mails_so_far() >= point, DEADLINE, f"{point} e-mails before a kill")
        time.sleep(rng.uniform(0.0, 1.0))  # not always just after a mail was written
        if mails_so_far() >= mails_wanted:
            break
        system.kill(victim)
        kills.append(victim)
        system.start(victim)
    assert set(kills) == set(VICTIMS), f"each must die mid-run at least once; killed {kills}"

    reference = re.compile(rf"CRASH-{run.tag}-\d{{5}}")
    wait_for(
        lambda: mails_so_far() >= mails_wanted,
        DEADLINE,
        f"{mails_wanted} breach e-mails after kills of {kills}",
        interval=1.0,
    )
    # Read for a while after the last mail, so a late second breach or mail would show.
    breaches = breach_ids_per_contact(
        run.read(c.SLA_TOPIC, lambda seen: len(seen) >= CONTACTS, DEADLINE, quiet_s=5.0)
    )

    assert set(breaches) == set(contacts), f"{len(set(contacts) - set(breaches))} contacts never breached"
    doubled = {contact: ids for contact, ids in breaches.items() if len(ids) > 1}
    assert doubled == {}, f"breached more than once after kills of {kills}"

    mails = breach_mails(system.mail_dir, reference)
    wanted = Counter(
        {(ref, who): 1 for ref, area in contacts.values() for who in (COORDINATOR[area], PRINCIPAL)}
    )
    assert mails == wanted, {
        "missing": len(wanted - mails),
        "extra": sorted((mails - wanted).items())[:5],
        "kills": kills,
    }

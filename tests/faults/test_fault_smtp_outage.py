"""The mail server down, then back: breach e-mails wait and are retried, then each
recipient gets exactly one copy of each, none lost and none doubled."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests
from ccshared import contracts as c
from ccshared import events
from fault_testkit import COORDINATOR, PRINCIPAL, Run, SmtpServer, keyed

from tests.infra.waiting import wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.mongo]

DEADLINE = 90.0
BEFORE, DURING = 4, 10


def breach(run: Run, n: int) -> dict:
    now = datetime.now(UTC)
    area = c.AREAS[n % len(c.AREAS)]
    data = {
        "contact_id": f"contact-{run.tag}-{n}",
        "reference": f"SMTP-{run.tag}-{n:03d}",
        "channel": c.LETTER,
        "centre_id": f"centre-{area}",
        "area": area,
        "assignee": None,
        "received_at": now - timedelta(days=20),
        "due_at": now - timedelta(days=10),
        "target_working_days": 5,
        "responded_at": None,
        "late_seconds": 864000,
    }
    return events.make(c.SLA_BREACHED, data["contact_id"], data, source="fault-tests", time=now)


def wanted(run: Run, numbers: range) -> Counter:
    return Counter(
        {
            (f"SMTP-{run.tag}-{n:03d}", who): 1
            for n in numbers
            for who in (COORDINATOR[c.AREAS[n % len(c.AREAS)]], PRINCIPAL)
        }
    )


def test_mail_waits_for_the_server_and_arrives_once(run: Run) -> None:
    smtp = SmtpServer()
    smtp.start()
    system = run.system(
        ["notifier"],
        NOTIFIER_TRANSPORT="smtp",
        NOTIFIER_SMTP_HOST="127.0.0.1",
        NOTIFIER_SMTP_PORT=str(smtp.port),
        NOTIFIER_SMTP_TIMEOUT="5",
        NOTIFIER_RETRY_BASE_SECONDS="0.5",
        NOTIFIER_RETRY_MAX_SECONDS="2",
        NOTIFIER_MAX_ATTEMPTS="100",
        # One mail per breach, to count them: storm grouping has its own tests (tests/notifier_service).
        NOTIFIER_GROUP_INTERVAL_SECONDS="0",
    )
    reference = re.compile(rf"SMTP-{run.tag}-\d{{3}}")

    def inbox() -> Counter:
        return Counter(
            (found.group(0), recipient)
            for recipient, message in smtp.inbox.snapshot()
            if (found := reference.search(str(message["Subject"])))
        )

    def notifications(status: str) -> list[dict]:
        response = requests.get(
            f"{system.url('notifier')}/api/v1/notifications",
            params={"status": status, "limit": 500},
            headers=system.staff("notifier", "principal_officer"),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]

    try:
        system.start()
        run.publish(c.SLA_TOPIC, keyed(breach(run, n) for n in range(BEFORE)))
        wait_for(lambda: inbox() == wanted(run, range(BEFORE)), DEADLINE, "mail while the server is up")

        smtp.stop()
        run.publish(c.SLA_TOPIC, keyed(breach(run, n) for n in range(BEFORE, BEFORE + DURING)))
        wait_for(
            lambda: sum(item["attempts"] >= 2 for item in notifications("retrying")) >= 2 * DURING,
            DEADLINE,
            "every send retried while the server is down",
        )
        assert inbox() == wanted(run, range(BEFORE)), "nothing arrives while the server is down"

        smtp.start()
        everything = wanted(run, range(BEFORE + DURING))
        wait_for(
            lambda: len(notifications("sent")) == sum(everything.values()),
            DEADLINE,
            "every notification sent once the server is back",
        )
        assert inbox() == everything
        assert notifications("retrying") == notifications("failed") == []
    finally:
        smtp.stop()

"""The crash window: a SIGKILLed notifier sends again at most the mails in flight, one per delivery thread.

Each mail is marked sent as soon as the SMTP server's reply to DATA is read,
not per batch, so after a SIGKILL only a mail the server had accepted and
whose reply was not yet recorded can go twice (with the same Message-ID). The
server here answers DATA a little late, after taking the message, so a kill
usually lands with mails in that state.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import subprocess
import sys
import threading
from collections import Counter

from aiosmtpd.controller import Controller
from ccshared import bus as buses
from ccshared import contracts as c
from ccshared import events
from ccshared import store as stores
from notifier_testkit import environment, sla_event

from tests.infra.common import free_port
from tests.infra.waiting import wait_for

THREADS = 4
BREACHES = 250  # two mails each: the coordinator and the Principal Officer


class SlowToAnswer:
    """Takes each message, then answers DATA 20 ms later."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.message_ids.append(str(message["Message-ID"]).strip())
        await asyncio.sleep(0.02)
        return "250 2.0.0 Ok: queued"

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.message_ids)


def start_worker(env: dict, cwd) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "notifier", "worker"],
        env={**env, "TMPDIR": str(cwd)},  # its metrics folder outlives a kill -9
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_sigkill_mid_run_sends_again_at_most_one_mail_per_delivery_thread(tmp_path) -> None:
    handler = SlowToAnswer()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        **os.environ,
        **environment(
            tmp_path,
            NOTIFIER_TRANSPORT="smtp",
            NOTIFIER_SMTP_HOST="127.0.0.1",
            NOTIFIER_SMTP_PORT=str(smtp.port),
            NOTIFIER_DELIVERY_THREADS=str(THREADS),
            NOTIFIER_SENDING_TIMEOUT_SECONDS="1",
            LOG_LEVEL="WARNING",
        ),
    }
    producer = buses.connect(env["EVENT_BUS_URL"]).producer()
    breaches = [
        sla_event(contact_id=f"contact-{n:04d}", reference=f"LCC-KILL-{n:04d}") for n in range(BREACHES)
    ]
    producer.publish_all([(c.SLA_TOPIC, b["subject"], events.encode(b)) for b in breaches])
    wanted = 2 * BREACHES
    first = start_worker(env, tmp_path)
    second = None
    try:
        wait_for(lambda: len(handler.snapshot()) >= wanted // 4, 120, "a quarter of the mail")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        second = start_worker(env, tmp_path)
        wait_for(lambda: len(set(handler.snapshot())) >= wanted, 180, "every mail")
        store = stores.connect(env["STORE_URL"])
        try:
            wait_for(
                lambda: store.collection("notifications").count({"status": "sent"}) == wanted, 60, "all sent"
            )
        finally:
            store.close()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
        smtp.stop()

    accepted = Counter(handler.snapshot())
    twice = {message_id: n for message_id, n in accepted.items() if n > 1}
    assert len(accepted) == wanted, "every mail is accepted"
    assert len(twice) <= THREADS and set(twice.values()) <= {2}, twice

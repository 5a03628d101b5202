"""The delivery loop: sends due notifications, a few at once, each on its own.

Each send is claimed (pending/retrying -> sending, a compare-and-set) before
the transport is called and settled after, with the server's reply. A failure
of one notification only reschedules that one.

A batch of due notifications is read in one query and shared out among a small
fixed number of threads (`threads`); the SMTP transport keeps each thread's
connection open across messages. Claims stay one record at a time, just before
its send, so a crash leaves at most `threads` records "sending", not a batch.

Notifications recorded by this process's intake arrive as hints and are sent at
once, read by id; the query for due notifications then runs only every
`sweep_seconds` (retries, and what other processes recorded), and the search
for interrupted sends and unpublished dead letters every `housekeeping_seconds`.

After a crash, a notification can be left "sending". The loop treats one that
has been sending for longer than the sending timeout as interrupted:

- file transport: the file's existence answers whether it was delivered;
- SMTP: nobody can ask the server afterwards, so the message is sent again with
  the same Message-ID. We prefer a recognisable duplicate (mail clients and
  Mailpit collapse equal Message-IDs) to a breach notice that silently never
  arrives. The window is small: the record is marked sent as soon as the
  server's reply to DATA is read.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ccshared import metrics as shared_metrics
from ccshared import tracing
from ccshared.bus import BusUnavailable, Producer
from ccshared.contracts import DEAD_LETTER_TOPIC
from ccshared.hints import Hints
from ccshared.retrying import hinted_loop
from ccshared.store import StoreUnavailable
from ccshared.timeutil import to_str

from . import metrics
from .domain import (
    AGENCY,
    CARRIERS,
    DUE_STATUSES,
    FAILED,
    RETRYING,
    SENT,
    Notification,
    partner_role,
    still_carried,
)
from .grouping import Grouper
from .mail import Mailer, PermanentFailure, TemporaryFailure, compose
from .referrers import ReferralFacts, Referrers
from .rendering import Renderer
from .repository import NotificationRepository

log = logging.getLogger(__name__)
CONSUMER_NAME = "notifier.delivery"
# Due notifications read per query. The query reads (and on FerretDB scans) the whole log
# whatever the batch, so a backlog found by the sweep (after a restart, say) goes in few reads.
BATCH = 200
# Notifications recorded together (one consumer batch) are sent together, over `threads`
# connections, and after the rest of the batch (a centre's new name, say) is in the store.
HINT_LINGER_SECONDS = 0.2
# The queue gauge counts each status (on FerretDB a read of the whole log per status): once per
# Prometheus scrape interval is enough for the dashboards and the alerts, which look over minutes.
QUEUE_REPORT_SECONDS = 15.0
# Why a digest or group mail is not sent: every notice it carried was dropped after it was made.
EMPTIED = "no longer needed: the contacts of all its notices were answered or withdrawn"


@dataclass(eq=False, kw_only=True)
class Delivery(Mailer):
    notifications: NotificationRepository
    renderer: Renderer
    dead_letters: Producer
    sending_timeout: timedelta = timedelta(minutes=2)
    threads: int = 1
    hints: Hints | None = None
    sweep_seconds: float = 0.25
    housekeeping_seconds: float = 5.0
    referrers: Referrers | None = None
    grouper: Grouper | None = None
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _pool_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        metrics.start()
        shared_metrics.DEAD_LETTERS.labels(CONSUMER_NAME)

    def run_once(self, batch: int = BATCH) -> int:
        """Recover interrupted sends, send what is due, dead-letter failures; return sends tried.

        When nothing is due, the transport lets go of its idle connections.
        """
        self.recover_interrupted()
        self.rescue_waiting()
        tried = self.send_hinted()
        swept, _ = self.send_due(batch)
        grouped = self.send_groups()
        self.publish_dead_letters()
        if not (tried or swept or grouped):
            self.transport.release()
        return tried + swept

    def send_hinted(self) -> int:
        """Send the hinted notifications that are due now; return sends tried."""
        if self.hints is None:
            return 0
        now = self.clock.now()
        found = (self.notifications.get(key) for key in self.hints.take())  # type: ignore[arg-type]
        due = [
            n
            for n in found
            if n and n.status in DUE_STATUSES and n.next_attempt_at is not None and n.next_attempt_at <= now
        ]
        return self._send_all(due)

    def send_due(self, batch: int = BATCH) -> tuple[int, bool]:
        """Send one batch of due notifications: (sends tried, whether the batch was full)."""
        due = self.notifications.due(self.clock.now(), limit=batch)
        return self._send_all(due), len(due) >= batch

    def send_groups(self) -> int:
        """Make and send the group mails that are due; return sends tried."""
        return self._send_all(self.grouper.flush()) if self.grouper is not None else 0

    def rescue_waiting(self) -> int:
        return self.grouper.rescue() if self.grouper is not None else 0

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self.transport.release()

    def _send_all(self, due: Sequence[Notification]) -> int:
        """Send each (over `threads` threads); return how many this worker tried, not lost to another.

        In a storm, most notices for one recipient wait for its group mail instead (grouping.py).
        """
        if self.grouper is not None:
            due = self.grouper.route(due)
        if self.threads == 1 or len(due) <= 1:
            outcomes = [self.send(notification) for notification in due]
        else:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="notifier-delivery")
                pool = self._pool
            outcomes = list(pool.map(self.send, due))
        return sum(outcome is not None for outcome in outcomes)

    def run(self, stop: threading.Event) -> None:
        try:
            self._run(stop)
        finally:
            self.close()

    def _run(self, stop: threading.Event) -> None:
        sent_since_sweep = False

        def hinted() -> None:
            nonlocal sent_since_sweep
            sent_since_sweep = self.send_hinted() > 0 or sent_since_sweep

        def sweep() -> bool:
            nonlocal sent_since_sweep
            sent_since_sweep = self.send_groups() > 0 or sent_since_sweep
            tried, full = self.send_due()
            if not (tried or sent_since_sweep):
                self.transport.release()  # a quiet spell: no SMTP connection kept open for nothing
            sent_since_sweep = False
            return full

        hinted_loop(
            stop,
            "delivery waiting for an outage to end",
            hints=self.hints,
            hinted=hinted,
            sweep=sweep,
            sweep_seconds=self.sweep_seconds,
            chores=[
                (self.housekeeping_seconds, self._housekeeping),
                (QUEUE_REPORT_SECONDS, self.report_queue),
            ],
            linger=HINT_LINGER_SECONDS,
        )

    def _housekeeping(self) -> None:
        self.recover_interrupted()
        self.rescue_waiting()
        self.publish_dead_letters()

    def send(self, notification: Notification) -> Notification | None:
        """Try one due notification; None when another worker claimed it first.

        Traced as a child of the span that recorded it (the event's handling), if any.
        """
        with tracing.span(
            f"notifier send {notification.kind}",
            parent=notification.trace,
            kind=tracing.CLIENT,
            attributes={"cc.notification.kind": notification.kind, "cc.event.type": notification.event_type},
        ) as span:
            settled = self._send(notification)
            if span is not None:
                span.set_attribute(
                    "cc.notification.status", settled.status if settled else "claimed_elsewhere"
                )
            return settled

    def _send(self, notification: Notification) -> Notification | None:
        now = self.clock.now()
        if not self.notifications.transition(notification, lambda claimed: claimed.claim(now)):
            return None
        if not self.notifications.transition(notification, self._attempt):
            log.warning(
                "send settled elsewhere after a slow attempt", extra={"notification": notification.id}
            )
        else:
            self._count(notification)
            if notification.status == FAILED:
                self._dead_letter(notification)
        self._erased_while_sending(notification)
        return notification

    def _erased_while_sending(self, sent: Notification) -> None:
        """The contact was erased while this notice was on its way (its facts read before): the
        copy kept is erased now, and the server's reply loses its addresses, as the erasure
        would have had them been written sooner. Run after every settling of a partner's notice
        (sent, recovered after a crash, or settled elsewhere while this send was slow): the
        erasure found no copy then, so only the settling can erase one written after it."""
        if partner_role(sent.recipient) is None:
            return
        fresh = self.notifications.get(sent.id)
        if fresh is None or fresh.erased_at is None:
            return
        self.transport.erase(sent.message_key, fresh.erased_at)
        if not self.notifications.transition(fresh, lambda kept: kept.erased(fresh.erased_at)):
            # Moved on since this read: its next settling writes its texts without addresses (_move).
            log.warning("erased notice moved on while its reply was cleared", extra={"notification": sent.id})

    def _attempt(self, claimed: Notification) -> None:
        """Send a claimed notification and settle it: delivered, skipped, or failed (to retry or not)."""
        try:
            partner = partner_role(claimed.recipient)
            if partner is not None:
                self._tell_partner(claimed, *partner)
                return
            items: list[Notification] = []
            if claimed.kind in CARRIERS:
                items = self._carried(claimed)
                if not items:
                    claimed.skipped(self.clock.now(), EMPTIED)
                    return
            started = self.clock.now()
            rendered = self.renderer.render(claimed, started, items)
            message = compose(claimed, rendered, self.sender, started)
            reply = self.transport.deliver(message, claimed.recipient, claimed.message_key)
        except TemporaryFailure as exc:
            metrics.SEND_FAILURES.labels(exc.kind).inc()
            claimed.failed_temporarily(self.clock.now(), str(exc), self.policy, self.rng, exc.maybe_delivered)
            return
        except PermanentFailure as exc:
            metrics.SEND_FAILURES.labels(exc.kind).inc()
            claimed.failed_permanently(self.clock.now(), str(exc))
            return
        except StoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - bounded retries end in failed + dead letter
            log.exception("unexpected delivery error", extra={"notification": claimed.id})
            metrics.SEND_FAILURES.labels("unexpected_error").inc()
            claimed.failed_temporarily(self.clock.now(), repr(exc), self.policy, self.rng)
            return
        claimed.delivered(self.clock.now(), reply)

    def _carried(self, claimed: Notification) -> list[Notification]:
        """A claimed digest's or group mail's items: read now, with what it left out until its
        claim (Unsent: nothing more is left out once it is claimed). Those its maker has not
        marked yet (the mail's second write) are marked first: else one dropped after this read
        and before that write would be logged skipped though this mail carried it."""
        mail = self.notifications.get(claimed.id) or claimed
        self.notifications.settle_items(mail, self.clock.now())
        return still_carried(mail, self.notifications.many(list(claimed.item_ids)))

    def _tell_partner(self, claimed: Notification, role: str, subject: str) -> None:
        """A partner's notice: its address and facts are asked of contacts now, and not kept."""
        if self.referrers is None:
            raise PermanentFailure("no contacts service configured to find the referrer's address")
        facts = self.referrers.agency(subject) if role == AGENCY else self.referrers.facts(subject)
        if claimed.erased_at is not None and isinstance(facts, ReferralFacts):
            facts = facts.erased()  # contacts says so too; a stale answer must not bring it back
        address = facts.address(role) if facts else None
        if facts is None or address is None:
            claimed.skipped(self.clock.now(), f"no address for {role.replace('-of', '')}")
            return
        if facts.agency_has_copy(role):
            claimed.skipped(self.clock.now(), "same address as the referring agency: one copy sent there")
            return
        started = self.clock.now()
        rendered = self.renderer.render_for_partner(claimed, facts, started)
        message = compose(claimed, rendered, self.sender, started, to=(address,))
        reply = self.transport.deliver(message, address, claimed.message_key)
        claimed.delivered(self.clock.now(), reply)

    def recover_interrupted(self) -> int:
        now = self.clock.now()
        stuck = self.notifications.sending_since(now - self.sending_timeout)
        return sum(self._recover(notification, now) for notification in stuck)

    def _recover(self, stuck: Notification, now: datetime) -> bool:
        """Settle a send left unsettled (the process died); False if another worker settled it."""
        reply = self.transport.delivered_reply(stuck.message_key)
        if not reply:
            metrics.SEND_FAILURES.labels("interrupted").inc()
        if not self.notifications.transition(stuck, lambda s: s.recovered(now, reply, self.policy)):
            return False
        self._count(stuck)
        log.warning("interrupted send recovered", extra={"notification": stuck.id, "outcome": stuck.status})
        if stuck.status == FAILED:
            self._dead_letter(stuck)
        self._erased_while_sending(stuck)
        return True

    def report_queue(self) -> None:
        """Set the queue gauge: notifications in each not-yet-settled (or failed) status."""
        for status in metrics.QUEUE_STATUSES:
            metrics.QUEUE.labels(status).set(self.notifications.collection.count({"status": status}))

    def publish_dead_letters(self) -> int:
        published = 0
        for failed in self.notifications.failed_not_dead_lettered():
            if self._dead_letter(failed):
                published += 1
        return published

    def _dead_letter(self, failed: Notification) -> bool:
        record = dead_letter_record(failed, self.clock.now())
        key = (failed.envelope or {}).get("subject") or failed.event_id
        try:
            self.dead_letters.publish(DEAD_LETTER_TOPIC, key, json.dumps(record).encode())
        except BusUnavailable as exc:
            log.warning("dead letter postponed", extra={"notification": failed.id, "error": str(exc)})
            return False
        self.notifications.mark_dead_lettered(failed.id)
        shared_metrics.DEAD_LETTERS.labels(CONSUMER_NAME).inc()
        log.warning(
            "notification failed; event sent to dead letters",
            extra={
                "notification": failed.id,
                "type": failed.event_type,
                "reason": (failed.reportable_error or "")[:300],
            },
        )
        return True

    @staticmethod
    def _count(settled: Notification) -> None:
        counter = {SENT: metrics.SENT, RETRYING: metrics.RETRIED, FAILED: metrics.FAILED}.get(settled.status)
        if counter is not None:
            counter.labels(settled.event_type).inc()


def dead_letter_record(failed: Notification, now: datetime) -> dict:
    value = failed.envelope or {"digest": failed.event_id, "items": list(failed.item_ids)}
    return {
        "reason": f"notification to {failed.recipient} failed: {failed.reportable_error}",
        "consumer": CONSUMER_NAME,
        "notification_id": failed.id,
        "event_type": failed.event_type,
        "attempts": failed.attempts,
        "key": (failed.envelope or {}).get("subject"),
        "value": json.dumps(value, separators=(",", ":"), sort_keys=True),
        "failed_at": to_str(now),
    }

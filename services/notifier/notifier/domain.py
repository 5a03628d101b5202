"""The notifier's model: who is told about what, and the life of one notification.

A notification is one e-mail to one recipient about one event. It is recorded
before anything is sent (status pending) and moves on by explicit transitions:

    pending/retrying --claim--> sending --delivered--> sent
                                        --temporary--> retrying (or failed at the limit)
                                        --permanent--> failed
    failed --resend (a staff member's word)--> pending, its attempts counted afresh
    held (waits for the recipient's daily digest) --> digested
    pending/retrying --> waiting (for its recipient's group mail, in a storm) --> grouped
    (a partner's notice whose referrer left no address) --> skipped
    pending/retrying/waiting/held (a reminder of a contact answered or withdrawn since) --> skipped
    digested/grouped (the same, its digest or group mail not claimed yet) --> skipped, left out of it
    a digest or group mail left with nothing to carry --> skipped
    queued, or carried by a mail not claimed yet (its contact moved to another area)
        --> readdressed: the new area's recipient, pending (or held for its digest)

A partner's notice is addressed to a role, not an address: "agency-of:<contact
id>" (the agency's notification address) or "referrer-of:<contact id>" (the
referring professional's work address). The address is asked of the contacts
service at send time, so it never travels in an event nor waits in this store.

No flask, pymongo or kafka here; the clock and the random source are passed in.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ccshared import contracts as c
from ccshared import referrals
from ccshared.mailboxes import RoleMailboxes, mailbox, without_addresses
from ccshared.retrying import doubling
from ccshared.sending import Outgoing

PENDING = c.DELIVERY_PENDING
SENDING = c.DELIVERY_SENDING
RETRYING = c.DELIVERY_RETRYING
SENT = c.NOTIFICATION_SENT
FAILED = c.DELIVERY_FAILED
HELD = c.NOTIFICATION_HELD
DIGESTED = c.NOTIFICATION_DIGESTED
SKIPPED = c.NOTIFICATION_SKIPPED
WAITING = c.NOTIFICATION_WAITING
GROUPED = c.NOTIFICATION_GROUPED
STATUSES = c.NOTIFICATION_STATUSES
DUE_STATUSES = c.DELIVERY_DUE_STATUSES

EVENT = "event"
DIGEST = "digest"
DIGEST_TYPE = "notifier.digest"
GROUP = "group"
GROUP_TYPE = "notifier.group"
# Kinds of mail that carry other notices (their item_ids).
CARRIERS = (DIGEST, GROUP)

NOTIFYING_EVENTS = (c.SLA_AT_RISK, c.SLA_BREACHED, c.SLA_STILL_BREACHED, c.CENTRE_STALE)
# Staff notices about a contact's clock: in a storm, grouped per recipient (grouping.py).
GROUPED_TYPES = (c.SLA_AT_RISK, c.SLA_BREACHED, c.SLA_STILL_BREACHED)
# Notices that stop being true once the contact is answered or withdrawn (reminders, and a
# "waiting on you" to its referrers): dropped while still queued or carried by a digest or
# group mail not gone yet. A breach is never undone, so its notices stay.
MOOT_ONCE_STOPPED = (c.SLA_AT_RISK, c.SLA_STILL_BREACHED, c.CONTACT_PAUSED)
QUEUED_STATUSES = (PENDING, RETRYING, WAITING, HELD)
# Staff notices about a contact addressed by the contact's area: readdressed while not gone
# when the contact follows its centre into another area (contact.area_moved).
AREA_ADDRESSED = (*GROUPED_TYPES, c.SLA_STARTED)
# A notice carried by a digest or group mail (its digest_id), and the statuses of such a mail
# that has not gone and may yet (due, or failed and so perhaps sent again at staff's word).
CARRIED_STATUSES = (DIGESTED, GROUPED)
UNSENT_STATUSES = (*DUE_STATUSES, FAILED)
# What a referrer is e-mailed about, beside the receipt (sla.started, with its due date).
PARTNER_CHANGES = tuple(change for change in referrals.CHANGES if change != referrals.RECEIVED)
# Every event type a notification may be about.
NOTICE_TYPES = (
    *NOTIFYING_EVENTS,
    c.SLA_STARTED,
    c.REFERRAL_OPENED,
    c.REFERRAL_ACCEPTED,
    c.REFERRAL_DECLINED,
    c.CONTACT_RESPONDED,
    c.CONTACT_WITHDRAWN,
    c.CONTACT_PAUSED,
    c.AGENCY_WEBHOOK_FAILING,
)
AGENCY_OF = c.RECIPIENT_AGENCY_OF
AGENCY = c.RECIPIENT_AGENCY  # for news of the agency's own (its webhook receiver failing)
REFERRER_OF = c.RECIPIENT_REFERRER_OF
MESSAGE_ID_DOMAIN = "childrens-centres.notifier"
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class UnknownArea(Exception):
    """An event names an area that has no coordinator configured."""


class NotFailed(Exception):
    """Only a failed notification is sent again: any other is on its way or settled."""

    def __init__(self, notification_id: str, status: str):
        super().__init__(f"notification {notification_id} is {status}, not failed: it is not sent again")
        self.status = status


@dataclass(frozen=True)
class Addressing:
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()

    @property
    def recipients(self) -> tuple[str, ...]:
        """Each mailbox once (as first written): the people who each get their own copy."""
        return tuple({mailbox(a): a for a in reversed((*self.to, *self.cc))}.values())[::-1]


class Routing:
    """Who gets what, from configuration (areas, addresses) and the event's own data."""

    def __init__(
        self,
        coordinators: Mapping[str, str],
        principal: str,
        staff_emails: Mapping[str, str],
        staff_domain: str,
    ):
        self.coordinators = dict(coordinators)
        self.principal = principal
        self.staff_emails = dict(staff_emails)
        self.staff_domain = staff_domain

    @property
    def mailboxes(self) -> RoleMailboxes:
        return RoleMailboxes(self.coordinators, self.principal)

    def staff_address(self, username: str) -> str | None:
        if username in self.staff_emails:
            return self.staff_emails[username]
        if not _USERNAME.match(username):
            return None
        return f"{username}@{self.staff_domain}"

    def coordinator(self, area: str) -> str:
        try:
            return self.coordinators[area]
        except KeyError:
            raise UnknownArea(f"no coordinator address for area {area!r}") from None

    def addressing(self, event_type: str, data: Mapping[str, Any]) -> Addressing:
        coordinator = self.coordinator(data["area"])
        if event_type == c.SLA_AT_RISK:
            assignee = data.get("assignee")
            staff = self.staff_address(assignee) if assignee else None
            return Addressing(to=(staff or coordinator,))
        if event_type in (c.SLA_BREACHED, c.SLA_STILL_BREACHED):
            return Addressing(to=(coordinator,), cc=(self.principal,))
        if event_type == c.CENTRE_STALE:
            return Addressing(to=(coordinator,))
        if event_type == c.SLA_STARTED:
            inbox = data.get("centre_email")
            return Addressing(to=(coordinator,), cc=(inbox,) if inbox else ())
        raise ValueError(f"{event_type} is not an event the notifier tells anyone about")


def digest_readers(event_type: str, readers: frozenset[str]) -> frozenset[str]:
    """Who of `readers` (mailboxes) gets a staff notice of this type in their digest: a new
    referral's notice goes at once, never held."""
    return frozenset() if event_type == c.SLA_STARTED else readers


def partner_recipients(contact_id: str) -> Addressing:
    """A referral's referrers: its agency and the professional who referred, each a copy."""
    return Addressing(to=(f"{AGENCY_OF}:{contact_id}", f"{REFERRER_OF}:{contact_id}"))


def told_what_was_erased(notification: Notification, parts: Sequence[str]) -> bool:
    """Whether a notice held what an erasure cleared: a partner's copy (it may hold a decline's
    reason) when all was erased, a referrer's (its address) when the referrer's part was.

    Staff notices carry ids, times and centres only (no personal data by design), and stay.
    """
    role = partner_role(notification.recipient)
    if role is None or role[0] == AGENCY:
        return False
    return c.ERASED_ALL in parts or (c.ERASED_REFERRER in parts and role[0] == REFERRER_OF)


def partner_role(recipient: str) -> tuple[str, str] | None:
    """(role, contact or agency id) of a partner recipient; None for an ordinary address."""
    role, _, subject = recipient.partition(":")
    return (role, subject) if role in (AGENCY_OF, REFERRER_OF, AGENCY) and subject else None


def notification_id(event_id: str, recipient: str) -> str:
    return f"{event_id}:{recipient}"


def message_key(event_id: str, recipient: str) -> str:
    """A file- and header-safe key for one (event, recipient): the Message-ID's left part."""
    digest = hashlib.sha1(recipient.lower().encode(), usedforsecurity=False).hexdigest()[:12]
    safe_event = re.sub(r"[^A-Za-z0-9._-]", "-", event_id)
    return f"{safe_event}.{digest}"


def message_id(event_id: str, recipient: str) -> str:
    """Stable across retries, so a resent copy is recognisable downstream."""
    return f"<{message_key(event_id, recipient)}@{MESSAGE_ID_DOMAIN}>"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Exponential backoff with jitter: between half and all of base * 2^(attempts-1), capped."""
        ceiling = doubling(attempts, self.base_seconds, self.cap_seconds)
        return timedelta(seconds=ceiling * rng.uniform(0.5, 1.0))


@dataclass
class Notification(Outgoing):
    """One e-mail to one recipient (its sending: ccshared.sending.Outgoing; its
    compare-and-set: NotificationRepository.transition)."""

    kind: str
    event_id: str
    event_type: str
    recipient: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    area: str | None
    data: Mapping[str, Any]
    created_at: datetime
    sent_at: datetime | None = None
    server_reply: str | None = None
    dead_lettered: bool | None = None
    digest_id: str | None = None
    item_ids: tuple[str, ...] = ()
    envelope: Mapping[str, Any] | None = field(default=None, repr=False)
    # The traceparent of the span that recorded it (ccshared.tracing): its sending follows on.
    trace: str | None = field(default=None, repr=False)
    # Who last asked to send it again after it failed, and when (None: never).
    resent_by: str | None = None
    resent_at: datetime | None = None
    # When contacts erased the personal data of the contact it is about, and so the kept copy
    # of what it said (None: not erased). Its status and times stand: the delivery log's evidence.
    erased_at: datetime | None = None
    # A digest's or group mail's items dropped after it was made, while it was not claimed yet
    # (NotificationRepository.leave_out writes them, one key each): it goes without them.
    left_out: tuple[str, ...] = ()
    # An attempt was cut off after the message was handed over (an interrupted send, no reply
    # to DATA): a server may have it, so a digest or group mail leaves none of its items out.
    maybe_delivered: bool = False

    @property
    def message_id(self) -> str:
        return message_id(self.event_id, self.recipient)

    @property
    def message_key(self) -> str:
        return message_key(self.event_id, self.recipient)

    @property
    def surely_unsent(self) -> bool:
        """Not gone, and no attempt was cut off after handing the message over."""
        return self.status in UNSENT_STATUSES and not self.maybe_delivered

    @property
    def carried_by(self) -> str | None:
        """The Message-ID of the e-mail that carried this notice: its own, a group's or a digest's."""
        if self.status in (GROUPED, DIGESTED) and self.digest_id:
            carrier_event = self.digest_id.removesuffix(f":{self.recipient}")
            return message_id(carrier_event, self.recipient)
        return self.message_id if self.status == SENT else None

    @property
    def reportable_error(self) -> str | None:
        """Why it failed, as told outside the store (a dead letter, a log line): a partner's notice
        without the addresses the server repeated, as no event holds personal data."""
        return without_addresses(self.last_error) if partner_role(self.recipient) else self.last_error

    @property
    def groupable(self) -> bool:
        """A staff notice about a contact's clock, to an address (not a partner's role)."""
        return (
            self.kind == EVENT and self.event_type in GROUPED_TYPES and partner_role(self.recipient) is None
        )

    def delivered(self, now: datetime, reply: str) -> None:
        self._move(SENT, now, sent_at=now, server_reply=reply, next_attempt_at=None, last_error=None)

    def failed_temporarily(
        self,
        now: datetime,
        reason: str,
        policy: RetryPolicy,
        rng: random.Random,
        maybe_delivered: bool = False,
    ) -> None:
        self.maybe_delivered = self.maybe_delivered or maybe_delivered
        if self.attempts >= policy.max_attempts:
            self.failed_permanently(now, f"gave up after {self.attempts} attempts: {reason}")
            return
        self._retry(now, reason, now + policy.delay(self.attempts, rng))

    def failed_permanently(self, now: datetime, reason: str) -> None:
        self._move(FAILED, now, last_error=reason, next_attempt_at=None, dead_lettered=False)

    def interrupted(self, now: datetime, policy: RetryPolicy) -> None:
        """A send that never reported back (the process died): due again at once, within the limit."""
        reason = "interrupted during an attempt; sending again with the same Message-ID"
        self.maybe_delivered = True
        if self.attempts >= policy.max_attempts:
            self.failed_permanently(now, f"gave up after {self.attempts} attempts: {reason}")
            return
        self._retry(now, reason, now)

    def recovered(self, now: datetime, reply: str | None, policy: RetryPolicy) -> None:
        """A send found unsettled after a crash: delivered if the transport has its reply, else interrupted."""
        if reply:
            self.delivered(now, reply)
        else:
            self.interrupted(now, policy)

    def resend(self, by: str, now: datetime) -> None:
        """Failed, and sent again at a staff member's word (the address or the relay is fixed):
        pending at once with all its attempts again, sent by the delivery loop as any other."""
        if self.status != FAILED:
            raise NotFailed(self.id, self.status)
        self._move(
            PENDING,
            now,
            attempts=0,
            next_attempt_at=now,
            last_error=None,
            dead_lettered=None,
            resent_by=by,
            resent_at=now,
        )

    def _retry(self, now: datetime, reason: str, at: datetime) -> None:
        self._move(RETRYING, now, last_error=reason, next_attempt_at=at)

    def released(self, now: datetime) -> None:
        """Out of the digest (the recipient no longer reads one): send it on its own."""
        self._move(PENDING, now, next_attempt_at=now)

    def skipped(self, now: datetime, reason: str) -> None:
        """Nothing to send (the referrer gave no address, or it was erased; the contact was answered
        before its reminder went; a digest's or group mail's items all dropped so): an end, not a
        failure, with the reason in the delivery log."""
        self._move(SKIPPED, now, last_error=reason, next_attempt_at=None)

    def readdressed(
        self, recipient: str, addressing: Addressing, area: str, held: bool, now: datetime
    ) -> None:
        """Its contact moved to `area` before it went: to `recipient`, addressed as a fresh notice
        for that area would be (due at once, or held for the recipient's digest), in no carrier."""
        self.recipient = recipient
        self.moved_to(addressing, area)
        self._move(
            HELD if held else PENDING,
            now,
            attempts=0,
            next_attempt_at=None if held else now,
            last_error=None,
            digest_id=None,
        )

    def moved_to(self, addressing: Addressing, area: str) -> None:
        """Its contact moved to `area`; its recipient is one of that area's too: its To and Cc are."""
        self.to, self.cc = addressing.to, addressing.cc
        self.area = area
        self.data = {**self.data, "area": area}

    def erased(self, now: datetime) -> None:
        """The contact's personal data was erased: recorded (first time kept), the status and times
        left as they were, and the server's texts kept without the addresses in them."""
        self.erased_at = self.erased_at or now
        self._forget_addresses()

    def _forget_addresses(self) -> None:
        self.last_error = without_addresses(self.last_error)
        self.server_reply = without_addresses(self.server_reply)

    def waiting(self, now: datetime) -> None:
        """Held back for its recipient's next group mail (a storm of notices)."""
        self._move(WAITING, now, next_attempt_at=None)

    def settled_into(self, mail: Notification, now: datetime) -> None:
        """Carried by `mail`: digested into a digest, grouped into a group mail (its id in `digest_id`)."""
        self._move(DIGESTED if mail.kind == DIGEST else GROUPED, now, digest_id=mail.id)

    def _move(self, status: str, now: datetime, **changed: Any) -> None:
        """Into `status` at `now`, with the fields that change with it (named as the dataclass's);
        once erased, what the server answers is kept without addresses."""
        self.status = status
        for name, value in changed.items():
            setattr(self, name, value)
        self.updated_at = now
        if self.erased_at is not None:
            self._forget_addresses()


def own_mail(event_id: str, recipient: str, now: datetime, **fields: Any) -> Notification:
    """A mail the notifier writes itself (a monthly report, a digest, a group mail) to one
    address, due at once. `fields`: its kind, event_type, area, data (and a carrier's item_ids)."""
    return Notification(
        id=notification_id(event_id, recipient),
        event_id=event_id,
        recipient=recipient,
        to=(recipient,),
        cc=(),
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
        **fields,
    )


def carrier(
    kind: str,
    event_type: str,
    event_id: str,
    recipient: str,
    items: Sequence[Notification],
    data: Mapping[str, Any],
    now: datetime,
) -> Notification:
    """A mail that carries `items` (a digest, a group mail): in their area if they share one."""
    areas = {item.area for item in items}
    return own_mail(
        event_id,
        recipient,
        now,
        kind=kind,
        event_type=event_type,
        area=areas.pop() if len(areas) == 1 else None,
        data=data,
        item_ids=tuple(item.id for item in items),
    )


def still_carried(mail: Notification, items: Sequence[Notification]) -> list[Notification]:
    """What a digest or group mail carries when it goes: its items but those it left out since it
    was made (a reminder of a contact answered or withdrawn since, a notice readdressed) and those
    no longer its own: settled into another mail, skipped, or readdressed or released before this
    one settled them (a move handled, or a crash, between its two writes)."""
    return [item for item in items if item.id not in mail.left_out and carries(mail, item)]


def carries(mail: Notification, item: Notification) -> bool:
    """Whether the item is the mail's: settled into it, or still waiting to be (held for a
    digest, waiting for a group mail) for the mail's own recipient."""
    if item.status in CARRIED_STATUSES:
        return item.digest_id == mail.id
    return settles_into(mail, item)


def settles_into(mail: Notification, item: Notification) -> bool:
    """Whether the mail, made with the item, is yet to settle it (the mail's second write): held
    or waiting still, and for the mail's recipient (one readdressed since is another's)."""
    return item.status in (HELD, WAITING) and item.recipient == mail.recipient


def readdressing(old: Addressing, new: Addressing) -> dict[str, str | None]:
    """Each old recipient's counterpart under `new`: itself if still a recipient, else the next
    new recipient not already one (the new area's coordinator), else None (one has a copy)."""
    kept = {mailbox(r) for r in new.recipients}
    came = iter(r for r in new.recipients if mailbox(r) not in {mailbox(o) for o in old.recipients})
    return {r: r if mailbox(r) in kept else next(came, None) for r in old.recipients}


def new_notifications(
    *,
    kind: str,
    event_id: str,
    event_type: str,
    addressing: Addressing,
    area: str | None,
    data: Mapping[str, Any],
    envelope: Mapping[str, Any] | None,
    digest_recipients: frozenset[str],
    now: datetime,
) -> list[Notification]:
    """One pending (or held, for digest readers: mailboxes) notification per recipient of an event."""
    return [
        Notification(
            id=notification_id(event_id, recipient),
            kind=kind,
            event_id=event_id,
            event_type=event_type,
            recipient=recipient,
            to=addressing.to,
            cc=addressing.cc,
            area=area,
            data=data,
            envelope=envelope,
            created_at=now,
            updated_at=now,
            status=HELD if mailbox(recipient) in digest_recipients else PENDING,
            next_attempt_at=None if mailbox(recipient) in digest_recipients else now,
        )
        for recipient in addressing.recipients
    ]

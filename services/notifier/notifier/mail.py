"""The mail port: how a rendered notification becomes a MIME message and leaves.

A transport either returns the receiving side's reply (the message is accepted),
or raises `TemporaryFailure` (try again later) or `PermanentFailure` (never).
"""

from __future__ import annotations

import email.policy
import random
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from ccshared.text import one_line
from ccshared.timeutil import LONDON, Clock

from .domain import Notification, RetryPolicy
from .rendering import RenderedMessage

# How messages go on the wire: SMTP line ends, and headers folded only past RFC 5322's 998
# characters. At 78, CPython folds a subject between two encoded words and the space between
# them is lost when read ("St Mary’s Children’s" arrives as "St Mary’sChildren’s").
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=998)


class DeliveryFailure(Exception):
    """The message was not accepted; the reason is for the delivery log, not for the public.

    `kind` is a short, fixed word for the failure (a metric label), never the server's text.
    """

    default_kind = "failed"

    def __init__(self, message: str, kind: str | None = None, *, maybe_delivered: bool = False):
        super().__init__(message)
        self.kind = kind or self.default_kind
        # Cut off after the message was handed over (no reply to DATA): the server may have it.
        self.maybe_delivered = maybe_delivered


class TemporaryFailure(DeliveryFailure):
    """Connection refused, a timeout or a 4xx reply: worth trying again later."""

    default_kind = "temporary"


class PermanentFailure(DeliveryFailure):
    """A 5xx reply or a message that can never be sent: retrying would not help."""

    default_kind = "permanent"


class Transport(Protocol):
    def deliver(self, message: EmailMessage, recipient: str, key: str) -> str:
        """Hand the message to `recipient`; return the receiving side's reply."""

    def delivered_reply(self, key: str) -> str | None:
        """The reply recorded for an earlier delivery of `key`, if the transport can tell; else None."""

    def release(self) -> None:
        """Let go of what is kept between messages (open connections); called when nothing is due."""

    def erase(self, key: str, at: datetime) -> None:
        """Erase the transport's own copy of message `key`, if it keeps one (the file transport):
        its addresses and words give way to a note of the erasure at `at`."""


@dataclass(eq=False, kw_only=True)
class Mailer:
    """The ports of what sends notifications (the delivery loop, the monthly reports): the
    transport, the From address, the clock, and the retry policy with its jitter."""

    transport: Transport
    sender: str
    policy: RetryPolicy
    clock: Clock
    rng: random.Random = field(default_factory=random.Random)


def compose(
    notification: Notification,
    rendered: RenderedMessage,
    sender: str,
    now: datetime,
    to: tuple[str, ...] | None = None,
) -> EmailMessage:
    """The MIME message; `to` replaces the notification's own addressing (a partner's resolved address).
    Transports write it with WIRE_POLICY."""
    message = EmailMessage()
    message["Message-ID"] = notification.message_id
    message["Date"] = format_datetime(now.astimezone(LONDON))
    message["From"] = sender
    message["To"] = ", ".join(to or notification.to)
    if notification.cc and to is None:
        message["Cc"] = ", ".join(notification.cc)
    message["Subject"] = one_line(rendered.subject)  # a header may hold no line break
    message["Auto-Submitted"] = "auto-generated"
    message["X-CC-Event-Type"] = notification.event_type
    message["X-CC-Event-Id"] = notification.event_id
    if notification.area:
        message["X-CC-Area"] = notification.area
    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return message

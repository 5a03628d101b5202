"""What every outgoing message keeps of its sending (the notifier's e-mails, the
contacts service's webhooks), and the one rule of claiming one to send.

Its repository writes a change as a compare-and-set on the (status, attempts) the
message had before it, so two workers never both claim, nor both settle, one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Never

from . import contracts as c
from .aggregate import Aggregate


@dataclass(kw_only=True)
class Outgoing(Aggregate[Never]):
    """An outgoing message's sending: it raises no events; its methods change it in place."""

    id: str
    status: str = c.DELIVERY_PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    attempt_started_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime | None = None

    def claim(self, now: datetime) -> None:
        """Due (pending or retrying) to sending: one more attempt, started now."""
        if self.status not in c.DELIVERY_DUE_STATUSES:
            raise ValueError(f"{self.id} is {self.status}, not due for sending")
        self.status = c.DELIVERY_SENDING
        self.attempts += 1
        self.attempt_started_at = now
        self.updated_at = now

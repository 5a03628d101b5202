"""The webhooks' service layer: contact events in, deliveries recorded; the staff's delivery log."""

from __future__ import annotations

from dataclasses import dataclass

from ccshared import contracts as c
from ccshared.auth import StaffUser
from ccshared.consumer import Handler
from ccshared.events import Event
from ccshared.hints import Hints
from ccshared.store import Filter
from ccshared.timeutil import Clock

from .webhook_repository import DeliveryRepository, ReceiverRepository
from .webhooks import Delivery, new_delivery


@dataclass(eq=False)
class WebhookIntake:
    """Records one delivery per referral change for agencies that have a callback URL.

    Idempotent on its own: the delivery's `_id` is the event's id, so a redelivered
    event finds its delivery and adds nothing.
    """

    deliveries: DeliveryRepository
    receivers: ReceiverRepository
    clock: Clock
    hints: Hints | None = None

    def handlers(self) -> dict[str, Handler]:
        return dict.fromkeys(c.CONTACT_EVENTS, self.record)

    def record(self, event: Event) -> None:
        agency_id = event.data.get("agency_id")
        if not agency_id or self.receivers.get(agency_id) is None:
            return
        if self.deliveries.get(event.id) is not None:
            return
        sequence = self.deliveries.next_sequence(event.data["contact_id"])
        delivery = new_delivery(event.id, event.type, event.data, sequence, self.clock.now())
        if delivery is not None and self.deliveries.add(delivery) and self.hints is not None:
            self.hints.add(delivery.id)


@dataclass(eq=False)
class DeliveryLog:
    """What staff may read of the delivery log: all of it for the Principal Officer and
    admins, their own area's referrals for everyone else."""

    deliveries: DeliveryRepository

    def page(self, user: StaffUser, query: dict, page: int, per_page: int) -> tuple[list[Delivery], int]:
        filter: Filter = {name: query[name] for name in ("agency_id", "status") if query.get(name)}
        if not user.sees_all_areas:
            filter["area"] = user.area or "-"
        return self.deliveries.page(filter, (page - 1) * per_page, per_page)

"""An aggregate collects the events it raises; its repository saves both in one write.

This is the one way every service models a thing that changes (a centre, a contact,
an SLA clock, a notification), after cosmicpython's `model.events`:

    contact.respond(at=now, by=user)        # changes state, records Raised(CONTACT_RESPONDED)
    repository.save(contact, [envelope(e) for e in contact.collect_events()])

- Domain methods change the object in place and `record` what happened; they do
  not return events, and nothing outside the domain builds one.
- The service layer turns the collected events into envelopes (it knows the clock
  and the event's data contract) and hands state and envelopes to the repository,
  which writes them together through the outbox (ccshared.outbox.AggregateStore):
  the state change and its events land in one single-document write, or neither.
- An aggregate with nothing to publish (notifications, grouping windows, webhook deliveries) still
  follows the same shape: methods change it in place; its events list stays empty.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Generic, TypeVar

E = TypeVar("E")


@dataclass(kw_only=True)
class Aggregate(Generic[E]):
    """Base of a domain object: its pending events, kept out of equality and repr."""

    events: list[E] = field(default_factory=list, repr=False, compare=False)

    def record(self, event: E) -> None:
        self.events.append(event)

    def collect_events(self) -> list[E]:
        """The events raised since the last collection, in order; the list is emptied."""
        collected, self.events = self.events, []
        return collected


def state_fields(kind: type[Aggregate]) -> tuple[dataclasses.Field, ...]:
    """The fields a repository stores, in order: all but the pending events."""
    pending = {item.name for item in dataclasses.fields(Aggregate)}
    return tuple(item for item in dataclasses.fields(kind) if item.name not in pending)

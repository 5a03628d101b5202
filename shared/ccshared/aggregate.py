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
- A repository stores `state_fields(kind)`, never the pending events; `state_doc` and
  `state_values` turn a record (an aggregate, or a part of one) into its document and back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar

from .timeutil import from_str, to_str

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


@cache
def state_fields(kind: type) -> tuple[dataclasses.Field, ...]:
    """The fields a repository stores, in order: all but the pending events."""
    pending = {item.name for item in dataclasses.fields(Aggregate)}
    return tuple(item for item in dataclasses.fields(kind) if item.name not in pending)


def state_doc(item: object, instants: Iterable[str], skip: Iterable[str] = ()) -> dict[str, Any]:
    """A record's document: its state fields (an `id` as `_id`), `instants` as UTC strings;
    `skip` names the fields its repository writes itself (a contact's version).

    A shallow copy: `dataclasses.asdict` would deep-copy nested data on every write.
    """
    skipped = set(skip)
    doc = {f.name: getattr(item, f.name) for f in state_fields(type(item)) if f.name not in skipped}
    if "id" in doc:
        doc["_id"] = doc.pop("id")
    for name in instants:
        if (value := doc[name]) is not None:
            doc[name] = to_str(value)
    return doc


def state_values(
    kind: type, doc: Mapping[str, Any], instants: Iterable[str], skip: Iterable[str] = ()
) -> dict[str, Any]:
    """The reverse of `state_doc`: the fields to build `kind` again. A field without a default must
    be in the document (a KeyError names it: the document is damaged); one with a default that the
    document lacks takes its default (the document was written before the field existed)."""
    skipped = {"id", *skip}
    values = {
        f.name: doc[f.name] if f.name in doc else _default(f)
        for f in state_fields(kind)
        if f.name not in skipped
    }
    for name in instants:
        values[name] = from_str(value) if (value := values[name]) else None
    if "_id" in doc:
        values["id"] = doc["_id"]
    return values


def _default(item: dataclasses.Field) -> Any:
    """The field's default, made afresh from its factory; a KeyError names a field without one."""
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    raise KeyError(item.name)

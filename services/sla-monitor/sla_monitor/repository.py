"""Clocks and centres as documents, and the claims that make each SLA event unique.

`change()` reads a document, lets the service layer change the aggregate it
holds and collect the events that raised, claims those, and writes the state back
with a compare-and-set on `_version`. The aggregate's pending `events` list is not
state: it is never stored.

Each event the domain raises is claimed by inserting a document whose id is
the event's identity (`<contact id>:sla.breached.v1`), carrying the event in
its outbox: the claim and the staged event are one atomic insert, and a second
insert of the same id fails on every store. That, not the compare-and-set, is
what makes each breach exactly once: FerretDB v1 (SQLite handler) does not
apply a filtered replace or update atomically, so two racing compare-and-sets
can both succeed there, while a duplicate `_id` is always refused. A crash
after the claim and before the clock write is repaired by the next scan, which
recomputes the transition, finds the claim taken and just records the state.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Generic, TypeVar

from ccshared import contracts, tracing
from ccshared.aggregate import Aggregate, state_doc, state_fields, state_values
from ccshared.hints import Hints
from ccshared.outbox import OUTBOX, PENDING, VERSION, AggregateStore, VersionConflict
from ccshared.store import Collection, Document, DuplicateKey, Store, insert_new
from ccshared.timeutil import Clock, from_str, to_str

from . import metrics
from .domain import ADJUSTABLE, ContactClock, Pause, SlaEvent
from .freshness import CentreRecord

log = logging.getLogger(__name__)

SOURCE = "sla-monitor"
CLOCKS = "clocks"
CENTRES = "centres"
SLA_EVENTS = "sla_events"
PROCESSED = "processed"
TRACE = "_trace"  # the traceparent of the event that made the item: a timer's events follow it
BOOKKEEPING = (VERSION, OUTBOX, PENDING, TRACE)

T = TypeVar("T", bound=Aggregate[SlaEvent])
# Changes an aggregate in place and returns the events it recorded, collected (in order).
Change = Callable[[T], list[SlaEvent]]


def _instant_fields(kind: type) -> frozenset[str]:
    """The fields typed `datetime` or `datetime | None`: stored as fixed-width UTC strings."""
    hints = typing.get_type_hints(kind)
    return frozenset(
        f.name
        for f in state_fields(kind)
        if hints[f.name] is datetime or datetime in typing.get_args(hints[f.name])
    )


class EventClaims:
    """The outbox of SLA events: one document per event, its id the event's identity."""

    def __init__(self, collection: Collection, clock: Clock, hints: Hints | None = None):
        self.collection = collection
        self.outbox = AggregateStore(collection, SOURCE, clock, hints)
        self.clock = clock

    def stage(self, subject: str, event: SlaEvent) -> bool:
        """Claim and stage the event; False when it was claimed before (by anyone)."""
        claim_id = ":".join(part for part in (subject, event.type, event.once_per) if part)
        envelope = self.outbox.event(event.type, subject, event.data)
        doc = {"_id": claim_id, "subject": subject, "type": event.type, "staged_at": to_str(self.clock.now())}
        try:
            self.outbox.add(doc, [envelope])
        except DuplicateKey:
            return False
        if event.type == contracts.SLA_BREACHED:
            metrics.breach_staged(event.data, self.clock.now())
        return True


class Repository(Generic[T]):
    """Documents of one aggregate kind; their events go through the claims."""

    kind: type
    index_fields: tuple[str, ...] = ()

    def __init__(self, collection: Collection, claims: EventClaims, clock: Clock):
        self.collection = collection
        self.claims = claims
        self.outbox = AggregateStore(collection, SOURCE, clock)
        self._instants = _instant_fields(self.kind)
        self._id_field = state_fields(self.kind)[0].name
        for name in self.index_fields:
            collection.ensure_index([name])

    def to_doc(self, item: T) -> Document:
        """Its state, with the first field (the id) also as `_id`."""
        return {"_id": getattr(item, self._id_field)} | state_doc(item, self._instants)

    def from_doc(self, doc: Document) -> T:
        """A field the document lacks (written before the field existed) takes its default."""
        values = state_values(self.kind, doc, self._instants)
        del values["id"]  # the `_id`, which the id field holds too
        return self.kind(**values)

    def get(self, item_id: str) -> T | None:
        doc = self.collection.get(item_id)
        return self.from_doc(doc) if doc else None

    def find(self, filter: dict[str, Any], sort=(), limit: int = 0, skip: int = 0) -> Iterator[T]:
        for doc in self.collection.find(filter, sort=sort, limit=limit, skip=skip):
            yield self.from_doc(doc)

    def count(self, filter: dict[str, Any]) -> int:
        return self.collection.count(filter)

    def change(
        self, item_id: str, change: Change, make: Callable[[], T] | None = None, attempts: int = 20
    ) -> list[SlaEvent]:
        """Apply change to the stored item (or a new one from make, if given); retry on conflict."""
        for _ in range(attempts):
            try:
                return self._change_once(item_id, make, change)
            except (VersionConflict, DuplicateKey):
                continue
        raise VersionConflict(item_id, -1)

    def try_change(self, item_id: str, change: Change) -> list[SlaEvent]:
        """One attempt; an instance that loses the race leaves the item to the winner."""
        try:
            return self._change_once(item_id, None, change)
        except (VersionConflict, DuplicateKey):
            log.info("lost a race for a transition", extra={"id": item_id})
            return []

    def _change_once(self, item_id: str, make: Callable[[], T] | None, change: Change) -> list[SlaEvent]:
        """Claim the raised events first, then record the state; return the events newly claimed."""
        stored = self.collection.get(item_id)
        if stored is None and make is None:
            return []
        item = self.from_doc(stored) if stored else make()
        before = self.to_doc(item)
        raised = change(item)
        if item.events:
            raise RuntimeError(f"{item_id}: the change left events uncollected, which would be lost")
        after = self.to_doc(item)
        if stored is not None and after == before and not raised:
            return []
        claimed = self._stage(item_id, raised, stored)
        if stored is None:
            if trace := tracing.traceparent():
                after[TRACE] = trace
            self.outbox.add(after)
        else:
            after.update({key: stored[key] for key in BOOKKEEPING if key in stored})
            self.outbox.save(after)
        return claimed

    def _stage(self, item_id: str, raised: list[SlaEvent], stored: Document | None) -> list[SlaEvent]:
        """Claim the raised events inside a span: a consumer's child or, from a timer, a child
        of the stored trace, so a breach found hours later still follows its contact's trace."""
        if not raised:
            return []
        with tracing.span(
            f"{SOURCE} {self.collection.name} transition",
            parent=(stored or {}).get(TRACE),
            resume=True,
            attributes={"cc.event.types": sorted({event.type for event in raised})},
        ):
            return [event for event in raised if self.claims.stage(item_id, event)]


ADJUSTABLE_FINGERPRINT = "adjustable_fingerprint"
FIXED = ""  # the adjustable_fingerprint of a clock whose deadline no calendar can move


class ClockRepository(Repository[ContactClock]):
    kind = ContactClock
    index_fields = ("next_check_at", "received_at", "state", "calendar_fingerprint", ADJUSTABLE_FINGERPRINT)

    def to_doc(self, item: ContactClock) -> Document:
        """Its pauses as documents, and the fields the scanner's and calendar checks' queries need."""
        check = item.next_check_at
        return super().to_doc(item) | {
            "next_check_at": to_str(check) if check else None,
            "pauses": _pauses_doc(item.pauses),
            ADJUSTABLE_FINGERPRINT: _adjustable_fingerprint(item),
        }

    def next_due(self) -> datetime | None:
        """The earliest instant any clock must be looked at (an indexed range query, first entry)."""
        docs = self.collection.find({"next_check_at": {"$gt": ""}}, sort=[("next_check_at", 1)], limit=1)
        return from_str(docs[0]["next_check_at"]) if docs else None

    def made_under_another(self, fingerprint: str, limit: int) -> list[ContactClock]:
        """Clocks whose deadline can move and was made under another calendar fingerprint.

        Two ranges on the indexed adjustable_fingerprint, either side of the current one, so
        the check reads only the clocks it returns, however many others there are (a `$ne`
        filter reads every running clock). Documents written before the field existed are
        given it first (`stamp_unmarked`).
        """
        field = ADJUSTABLE_FINGERPRINT
        clocks: list[ContactClock] = []
        for bounds in ({"$gt": FIXED, "$lt": fingerprint}, {"$gt": fingerprint}):
            sort = [(field, 1)]
            clocks += self.find({field: bounds}, sort=sort, limit=limit - len(clocks))
            if len(clocks) >= limit:
                break
        return clocks

    def stamp_unmarked(self, limit: int) -> int:
        """Give clocks stored before adjustable_fingerprint existed their value; return how many."""
        stamped = 0
        while docs := self.collection.find({ADJUSTABLE_FINGERPRINT: None}, limit=limit):
            changes = [
                (
                    {"_id": doc["_id"], ADJUSTABLE_FINGERPRINT: None},
                    {ADJUSTABLE_FINGERPRINT: _adjustable_fingerprint(self.from_doc(doc))},
                )
                for doc in docs
            ]
            stamped += self.collection.update_each(changes)
        return stamped

    def from_doc(self, doc: Document) -> ContactClock:
        clock = super().from_doc(doc)
        clock.pauses = [_pause(pause) for pause in doc.get("pauses") or []]
        return clock

    def falling_due(self, now: datetime, limit: int) -> list[ContactClock]:
        """An indexed range query on next_check_at, earliest first."""
        filter = {"next_check_at": {"$lte": to_str(now)}}
        return list(self.find(filter, sort=[("next_check_at", 1)], limit=limit))


def _adjustable_fingerprint(clock: ContactClock) -> str:
    """The calendar fingerprint of a clock whose deadline a calendar change can move, else FIXED."""
    if clock.state not in ADJUSTABLE:
        return FIXED
    return clock.calendar_fingerprint or "unknown"


def _pauses_doc(pauses: list[Pause]) -> list[dict]:
    return [
        {
            "paused_at": to_str(pause.paused_at),
            "reason_code": pause.reason_code,
            "resumed_at": to_str(pause.resumed_at) if pause.resumed_at else None,
        }
        for pause in pauses
    ]


def _pause(doc: dict) -> Pause:
    resumed_at = doc.get("resumed_at")
    return Pause(
        from_str(doc["paused_at"]), doc.get("reason_code"), from_str(resumed_at) if resumed_at else None
    )


class CentreRepository(Repository[CentreRecord]):
    kind = CentreRecord
    index_fields = ("next_stale_at", "stale_days")

    def going_stale(self, now: datetime, limit: int) -> list[CentreRecord]:
        filter = {"next_stale_at": {"$lte": to_str(now)}}
        return list(self.find(filter, sort=[("next_stale_at", 1)], limit=limit))


def repositories(
    store: Store, clock: Clock, hints: Hints | None = None
) -> tuple[ClockRepository, CentreRepository]:
    """The monitor's repositories; staged events are reported to hints, if given, for the relay."""
    claims = EventClaims(store.collection(SLA_EVENTS), clock, hints)
    return (
        ClockRepository(store.collection(CLOCKS), claims, clock),
        CentreRepository(store.collection(CENTRES), claims, clock),
    )


PUBLISHED_MONTHS = "published_months"


class PublishedMonths:
    """Each month's public figures as first published: counts by unit, no contact in them.

    A month is published by an insert of a document whose id is the month, so replicas racing
    to publish it agree on one snapshot: the first insert stands, and the others read it back.
    """

    def __init__(self, collection: Collection):
        self.collection = collection

    def of(self, months: list[str]) -> dict[str, dict[tuple[str, ...], dict]]:
        """The published figures of those of the months that are published, by month."""
        docs = self.collection.find({"_id": {"$in": months}}) if months else []
        return {doc["_id"]: _figures(doc) for doc in docs}

    def publish(
        self, month: str, figures: dict[tuple[str, ...], dict], at: datetime
    ) -> dict[tuple[str, ...], dict]:
        """Store the month's figures unless it is published already; the figures that stand."""
        units = [{"unit": list(unit), "figures": row} for unit, row in figures.items()]
        doc = {"_id": month, "published_at": to_str(at), "units": units}
        if insert_new(self.collection, doc):
            log.info("month published", extra={"month": month, "units": len(units)})
            return figures
        return _figures(self.collection.get(month) or doc)


def _figures(doc: Document) -> dict[tuple[str, ...], dict]:
    return {tuple(unit["unit"]): unit["figures"] for unit in doc["units"]}

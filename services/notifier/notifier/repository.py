"""Repositories over the shared store: the delivery log and the centre read model."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ccshared import tracing
from ccshared.aggregate import state_doc, state_values
from ccshared.store import Collection, Document, Store, insert_new
from ccshared.timeutil import from_str, to_str

from .domain import (
    CARRIED_STATUSES,
    DUE_STATUSES,
    FAILED,
    HELD,
    QUEUED_STATUSES,
    SENDING,
    WAITING,
    Notification,
    settles_into,
)
from .grouping import Window

_INSTANTS = (
    "created_at",
    "updated_at",
    "next_attempt_at",
    "attempt_started_at",
    "sent_at",
    "resent_at",
    "erased_at",
)
_TUPLES = ("to", "cc", "item_ids")
# Written only by NotificationRepository.leave_out, one key per item, never by a transition.
_LEFT_OUT = "left_out"


def to_doc(notification: Notification) -> Document:
    doc = state_doc(notification, _INSTANTS, skip=(_LEFT_OUT,))
    for name in _TUPLES:
        doc[name] = list(doc[name])
    return doc


def from_doc(doc: Mapping[str, Any]) -> Notification:
    values = state_values(Notification, doc, _INSTANTS, skip=(_LEFT_OUT,))
    for name in _TUPLES:
        values[name] = tuple(values[name] or ())
    values["attempts"] = values["attempts"] or 0
    values[_LEFT_OUT] = tuple(sorted((doc.get(_LEFT_OUT) or {}).values()))
    return Notification(**values)


def _item_key(item_id: str) -> str:
    """A field name for an item id (which holds dots: addresses)."""
    return hashlib.sha1(item_id.encode(), usedforsecurity=False).hexdigest()[:20]


class NotificationRepository:
    """The delivery log: one document per (event, recipient), `_id` = "event_id:recipient".

    Every transition is a compare-and-set on (status, attempts), so two delivery
    workers can never both claim, or both settle, the same notification.
    """

    def __init__(self, collection: Collection):
        self.collection = collection
        collection.ensure_index(["status", "next_attempt_at"])
        collection.ensure_index(["status", "attempt_started_at"])
        collection.ensure_index(["recipient", "status"])
        collection.ensure_index(["created_at"])
        collection.ensure_index(["status", "updated_at"])

    def add(self, notification: Notification) -> bool:
        """Record a new notification; False if it was already recorded (a duplicate event)."""
        doc = to_doc(notification)
        doc["trace"] = doc["trace"] or tracing.traceparent()
        return insert_new(self.collection, doc)

    def get(self, notification_id: str) -> Notification | None:
        doc = self.collection.get(notification_id)
        return from_doc(doc) if doc else None

    def transition(self, notification: Notification, change: Callable[[Notification], None]) -> bool:
        """Apply `change` (its transitions) to `notification` and store what it changed; True if stored.

        A compare-and-set: the write happens only if the stored record still has the status,
        attempts and recipient `notification` had before `change` ran, taken here first so no
        caller can compare against the changed object (a notice readdressed since, its status
        unchanged, is another's: not to be settled into the old recipient's digest). On False
        another worker got there first and `notification` holds a change that was not stored:
        drop it.
        """
        before = to_doc(notification)
        guard = {
            "_id": notification.id,
            "status": notification.status,
            "attempts": notification.attempts,
            "recipient": notification.recipient,
        }
        change(notification)
        changed = {name: value for name, value in to_doc(notification).items() if value != before.get(name)}
        return self.collection.update(guard, changed or {"status": notification.status}) == 1

    def due(self, now: datetime, limit: int = 50) -> list[Notification]:
        docs = self.collection.find(
            {"status": {"$in": list(DUE_STATUSES)}, "next_attempt_at": {"$lte": to_str(now)}},
            sort=[("next_attempt_at", 1)],
            limit=limit,
        )
        return [from_doc(doc) for doc in docs]

    def sending_since(self, started_before: datetime, limit: int = 50) -> list[Notification]:
        docs = self.collection.find(
            {"status": SENDING, "attempt_started_at": {"$lte": to_str(started_before)}}, limit=limit
        )
        return [from_doc(doc) for doc in docs]

    def failed_not_dead_lettered(self, limit: int = 50) -> list[Notification]:
        docs = self.collection.find({"status": FAILED, "dead_lettered": False}, limit=limit)
        return [from_doc(doc) for doc in docs]

    def mark_dead_lettered(self, notification_id: str) -> None:
        self.collection.update({"_id": notification_id, "status": FAILED}, {"dead_lettered": True})

    def held_for(self, recipient: str, limit: int = 500) -> list[Notification]:
        docs = self.collection.find(
            {"recipient": recipient, "status": HELD}, sort=[("created_at", 1)], limit=limit
        )
        return [from_doc(doc) for doc in docs]

    def waiting_for(self, recipient: str, limit: int = 500) -> list[Notification]:
        """Notices waiting for the recipient's group mail, oldest first."""
        docs = self.collection.find(
            {"recipient": recipient, "status": WAITING}, sort=[("created_at", 1)], limit=limit
        )
        return [from_doc(doc) for doc in docs]

    def waiting_since(self, before: datetime, limit: int = 100) -> list[Notification]:
        """Notices that started waiting before `before` and wait still."""
        docs = self.collection.find({"status": WAITING, "updated_at": {"$lte": to_str(before)}}, limit=limit)
        return [from_doc(doc) for doc in docs]

    def queued_about(self, contact_id: str, event_types: tuple[str, ...]) -> list[Notification]:
        """Notices of these types about the contact that may not have gone: queued, or carried
        (whether their digest or group mail went is for unsent.Unsent to ask it)."""
        docs = self.collection.find(
            {
                "status": {"$in": [*QUEUED_STATUSES, *CARRIED_STATUSES]},
                "event_type": {"$in": list(event_types)},
                "data.contact_id": contact_id,
            }
        )
        return [from_doc(doc) for doc in docs]

    def leave_out(self, mail: Notification, item_id: str) -> bool:
        """The digest or group mail, still as read (not claimed since: the same status and
        attempts), leaves out one of its items; True if stored. Each item has its own key, so
        two left out at once both stay; its claim, a compare-and-set too, then sees them all.
        Never one an attempt may have got through with the item (`surely_unsent`)."""
        if not mail.surely_unsent:
            return False
        guard = {"_id": mail.id, "status": mail.status, "attempts": mail.attempts}
        return self.collection.update(guard, {f"{_LEFT_OUT}.{_item_key(item_id)}": item_id}) == 1

    def settle_items(self, mail: Notification, now: datetime) -> None:
        """A digest's or group mail's second write: its items still held or waiting for it marked
        as carried by it. Each is a compare-and-set on the item, so one skipped or readdressed
        since the mail was made stays so, and one marked is dropped only if the mail leaves it out."""
        for item in self.many(list(mail.item_ids)):
            if settles_into(mail, item):
                self.transition(item, lambda unsettled: unsettled.settled_into(mail, now))

    def about(self, contact_id: str) -> list[Notification]:
        """Every notice about the contact, whatever its status."""
        return [from_doc(doc) for doc in self.collection.find({"data.contact_id": contact_id})]

    def held_recipients(self) -> set[str]:
        return {doc["recipient"] for doc in self.collection.find({"status": HELD})}

    def many(self, ids: list[str]) -> list[Notification]:
        if not ids:
            return []
        docs = self.collection.find({"_id": {"$in": ids}}, sort=[("created_at", 1)])
        return [from_doc(doc) for doc in docs]

    def search(
        self,
        *,
        status: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        area: str | None = None,
        limit: int = 100,
    ) -> list[Notification]:
        query: dict[str, Any] = {}
        if status:
            query["status"] = status
        if event_type:
            query["event_type"] = event_type
        if since:
            query["created_at"] = {"$gte": to_str(since)}
        if area:
            query["area"] = area
        docs = self.collection.find(query, sort=[("created_at", -1)], limit=limit)
        return [from_doc(doc) for doc in docs]


class GroupWindows:
    """One grouping window per recipient (`_id` = the address); writes compare-and-set on `version`."""

    def __init__(self, collection: Collection):
        self.collection = collection
        collection.ensure_index(["flush_at"])

    def get(self, recipient: str) -> Window | None:
        doc = self.collection.get(recipient)
        return _window(doc) if doc else None

    def add(self, window: Window) -> bool:
        """Record the recipient's first window; False if another instance recorded one first."""
        return insert_new(self.collection, _window_doc(window))

    def transition(self, window: Window, change: Callable[[Window], None]) -> bool:
        """Apply `change` to `window` and store it with the next version; True if stored.

        A compare-and-set: the write happens only if the stored window still has the version
        `window` had before `change` ran, taken here first. On False another instance changed
        the window first and `window` holds a change that was not stored: drop it and read again.
        """
        guard = {"_id": window.recipient, "version": window.version}
        change(window)
        window.version = guard["version"] + 1
        fields = {key: value for key, value in _window_doc(window).items() if key != "_id"}
        return self.collection.update(guard, fields) == 1

    def due(self, now: datetime, limit: int = 100) -> list[Window]:
        docs = self.collection.find({"flush_at": {"$lte": to_str(now)}}, sort=[("flush_at", 1)], limit=limit)
        return [_window(doc) for doc in docs]


def _window_doc(window: Window) -> Document:
    """The window's own fields: never its (always empty) pending events."""
    return {
        "_id": window.recipient,
        "last_mail_at": to_str(window.last_mail_at),
        "last_was_group": window.last_was_group,
        "flush_at": to_str(window.flush_at) if window.flush_at else None,
        "version": window.version,
    }


def _window(doc: Mapping[str, Any]) -> Window:
    return Window(
        recipient=doc["_id"],
        last_mail_at=from_str(doc["last_mail_at"]),
        last_was_group=bool(doc.get("last_was_group")),
        flush_at=from_str(doc["flush_at"]) if doc.get("flush_at") else None,
        version=doc.get("version") or 0,
    )


@dataclasses.dataclass(frozen=True)
class Centre:
    centre_id: str
    name: str
    area: str


class CentreDirectory:
    """What the notifier knows about centres, from the directory's centre events."""

    def __init__(self, collection: Collection):
        self.collection = collection

    def record(
        self, centre_id: str, name: str, area: str, version: int | None = None, email: str | None = None
    ) -> None:
        """Keep the newest version seen; events may arrive twice or late."""
        current = self.collection.get(centre_id)
        if current and version is not None and (current.get("version") or 0) > version:
            return
        doc = {"_id": centre_id, "name": name, "area": area}
        doc["version"] = version if version is not None else (current or {}).get("version")
        doc["email"] = email if version is not None else (current or {}).get("email")
        self.collection.upsert(doc)

    def email_of(self, centre_id: str) -> str | None:
        """The centre's own inbox, if the directory publishes one."""
        doc = self.collection.get(centre_id)
        return doc.get("email") if doc else None

    def get(self, centre_id: str) -> Centre | None:
        doc = self.collection.get(centre_id)
        return Centre(centre_id, doc["name"], doc["area"]) if doc else None

    def name_of(self, centre_id: str) -> str:
        centre = self.get(centre_id)
        return centre.name if centre else centre_id


def group_windows(store: Store) -> GroupWindows:
    return GroupWindows(store.collection("group_windows"))


class AreaMoveLog:
    """Where each open contact moved (contact.area_moved), one document per contact by `_id`:
    so a notice the SLA monitor raised before it heard of a move still goes to the area the
    contact is in. Moves are rare (a centre moved between areas), and each is kept once, until
    the contact's erasure (erasure.py says why then)."""

    def __init__(self, collection: Collection):
        self.collection = collection

    def record(
        self,
        event_id: str,
        contact_id: str,
        from_area: str,
        to_area: str,
        moved_at: datetime,
        number: int | None = None,
    ) -> None:
        """Keep a move, the contact's `number`th (None: an event made before contacts counted
        them); a redelivered one once."""
        move = {"from_area": from_area, "to_area": to_area, "moved_at": to_str(moved_at), "number": number}
        key = _item_key(event_id)
        if not insert_new(self.collection, {"_id": contact_id, "moves": {key: move}}):
            self.collection.update({"_id": contact_id}, {f"moves.{key}": move})

    def current_area(self, contact_id: str, area: str) -> str:
        """The area a contact named in `area` is in now: each move from it followed in the order
        the moves happened, by the contact's count of them, not in the order they arrived; moves
        kept without one (made before contacts counted them) came before any counted, by time."""
        doc = self.collection.get(contact_id)
        moves = (doc or {}).get("moves", {}).values()
        for move in sorted(moves, key=lambda move: (move.get("number") or 0, move["moved_at"])):
            if move["from_area"] == area:
                area = move["to_area"]
        return area

    def forget(self, contact_id: str) -> int:
        """Drop the contact's moves; how many contacts' (0 or 1: forgotten already)."""
        return self.collection.delete({"_id": contact_id})


def repositories(store: Store) -> tuple[NotificationRepository, CentreDirectory]:
    return (
        NotificationRepository(store.collection("notifications")),
        CentreDirectory(store.collection("centres")),
    )

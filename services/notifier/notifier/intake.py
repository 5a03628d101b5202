"""The consumer side: events in, notification records out (fast and idempotent).

Handlers only write records; nothing is sent here, so a slow or failing mail
server never holds up the event stream. A redelivered event finds its records
already written (their ids are "event_id:recipient") and adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ccshared import contracts as c
from ccshared import events
from ccshared.consumer import Rejected
from ccshared.hints import Hints
from ccshared.timeutil import Clock

from .domain import EVENT, NOTIFYING_EVENTS, Routing, UnknownArea, new_notifications
from .repository import CentreDirectory, NotificationRepository

log = logging.getLogger(__name__)


def envelope_of(event: events.Event, data: dict[str, Any]) -> dict[str, Any]:
    """The event as it came (JSON form), kept for the dead-letter topic."""
    return {
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": event.time.isoformat(),
        "subject": event.subject,
        "specversion": events.SPEC_VERSION,
        "datacontenttype": events.CONTENT_TYPE,
        "data": data,
    }


class Intake:
    def __init__(
        self,
        notifications: NotificationRepository,
        centres: CentreDirectory,
        routing: Routing,
        digest_recipients: frozenset[str],
        clock: Clock,
        recorded: Hints | None = None,
    ):
        self.notifications = notifications
        self.centres = centres
        self.routing = routing
        self.digest_recipients = digest_recipients
        self.clock = clock
        self.recorded = recorded

    def handlers(self) -> dict[str, Callable[[events.Event], None]]:
        handlers: dict[str, Callable[[events.Event], None]] = dict.fromkeys(NOTIFYING_EVENTS, self.notify)
        handlers.update(dict.fromkeys(c.CENTRE_EVENTS, self.centre_changed))
        return handlers

    def notify(self, event: events.Event) -> None:
        data = events.REGISTRY[event.type]().dump(event.data)
        if event.type == c.CENTRE_STALE:
            self.centres.record(data["centre_id"], data["name"], data["area"])
        try:
            addressing = self.routing.addressing(event.type, data)
        except UnknownArea as exc:
            raise Rejected(str(exc)) from exc
        assignee = data.get("assignee")
        if event.type == c.SLA_AT_RISK and assignee and self.routing.staff_address(assignee) is None:
            log.warning("assignee has no usable address; told the coordinator", extra={"event_id": event.id})
        records = new_notifications(
            kind=EVENT,
            event_id=event.id,
            event_type=event.type,
            addressing=addressing,
            area=data["area"],
            data=data,
            envelope=envelope_of(event, data),
            digest_recipients=self.digest_recipients,
            now=self.clock.now(),
        )
        added = 0
        for record in records:
            if self.notifications.add(record):
                added += 1
                if self.recorded is not None:
                    self.recorded.add(record.id)
        log.info(
            "notifications recorded",
            extra={"event_id": event.id, "type": event.type, "added": added, "recipients": len(records)},
        )

    def centre_changed(self, event: events.Event) -> None:
        data = event.data
        self.centres.record(data["centre_id"], data["name"], data["area"], data["version"])

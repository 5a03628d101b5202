"""The centre read model, built from the directory's centre events.

Applied by version: an event older than (or as old as) what is held changes
nothing, so redelivered or out-of-order events cannot undo a newer state.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccshared import contracts as c
from ccshared.consumer import Handler
from ccshared.events import Event

from .repository import CentreRepository, centre_of


@dataclass(eq=False)
class CentreReadModel:
    centres: CentreRepository

    def apply(self, event: Event) -> None:
        data = event.data
        current = self.centres.get(data["centre_id"])
        if current is not None and current.version >= data["version"]:
            return
        status = c.CENTRE_CLOSED_STATUS if event.type == c.CENTRE_CLOSED else data["status"]
        self.centres.put(centre_of(data["centre_id"], {**data, "status": status}))

    def handlers(self) -> dict[str, Handler]:
        return {event_type: self.apply for event_type in c.CENTRE_EVENTS}

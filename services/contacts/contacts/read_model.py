"""The read models contacts keeps from other services' events: the centres (the directory's
centre events) and each referral's due date (the SLA monitor's, DueDateReadModel below).

The centre read model:

Applied by version: an event older than (or as old as) what is held changes
nothing, so redelivered or out-of-order events cannot undo a newer state.
After each event the centre's unanswered contacts follow it into the area it
is in (AreaMoves), so a redelivery finishes a move a crash interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccshared import contracts as c
from ccshared.consumer import Handler
from ccshared.events import Event

from .repository import CentreRepository, DueDateRepository, centre_of
from .service import AreaMoves


@dataclass(eq=False)
class CentreReadModel:
    centres: CentreRepository
    moves: AreaMoves | None = None  # None: the centres only (seeding them), no contact follows

    def apply(self, event: Event) -> None:
        data = event.data
        centre = self.centres.get(data["centre_id"])
        if centre is None or centre.version < data["version"]:
            status = c.CENTRE_CLOSED_STATUS if event.type == c.CENTRE_CLOSED else data["status"]
            centre = centre_of(data["centre_id"], {**data, "status": status})
            self.centres.put(centre)
        if self.moves is not None:
            self.moves.follow(centre)

    def handlers(self) -> dict[str, Handler]:
        return {event_type: self.apply for event_type in c.CENTRE_EVENTS}


@dataclass(eq=False)
class DueDateReadModel:
    """Each referral's due date as the SLA monitor works it out (sla.started, then sla.due_moved
    at each move), for its agency's reads (`respond_by`); the rule stays in the SLA monitor.

    Applied in the clock's own order, not by the events' times (SLA monitor replicas' clocks
    differ): the start is move 0, each move carries its number. An older event, or a redelivered
    one, never replaces a newer date."""

    due_dates: DueDateRepository

    def apply(self, event: Event) -> None:
        move = event.data.get("move", 0)  # sla.started carries none: it is move 0
        self.due_dates.put(event.data["contact_id"], event.data["due_at"], f"{move:010d}")

    def handlers(self) -> dict[str, Handler]:
        return {event_type: self.apply for event_type in c.DUE_DATE_EVENTS}

"""The scrub an erasure owes, kept in the store until one succeeds.

After personal data is erased, the store's scrub pushes the old document's bytes
out of its files (on SQLite: the WAL checkpointed and truncated). The scrub can
fail after the erasure is written: a reader holding the WAL keeps the checkpoint
from completing. A retry then finds nothing left to erase, so the debt cannot live
in the caller: it is a mark in the store, written before an erasure is written
(a crash between the two still leaves it) and again after (an erasure another
process wrote while this one scrubbed is not forgotten), and cleared only after a
scrub has succeeded. The worker looks for it every minute and pays it
(worker.owed_scrub_task), and so does whichever erasure runs next: the worker's
retention run or its retry, `erase-expired`, or an erasure on request.
"""

from __future__ import annotations

import uuid

from ccshared.store import Store, StoreUnavailable
from ccshared.timeutil import Clock, to_str

from .repository import MAINTENANCE

SCRUB = "scrub"


class ScrubOwed(StoreUnavailable):
    """The scrub after an erasure failed; it stays owed, and the next erasure or its retry pays it.
    `erased`: the contacts the failed run erased all the same (its retry finds none to erase)."""

    erased = 0


class OwedScrub:
    def __init__(self, store: Store, clock: Clock):
        self._marks = store.collection(MAINTENANCE)
        self._scrub = store.scrub
        self._clock = clock

    def owe(self) -> None:
        """Mark a scrub owed (a new mark each time: a scrub that read an older one leaves this)."""
        self._marks.upsert({"_id": SCRUB, "mark": str(uuid.uuid4()), "owed_at": to_str(self._clock.now())})

    def owed(self) -> bool:
        return self._marks.get(SCRUB) is not None

    def pay(self) -> bool:
        """Scrub if one is owed and clear the mark read before it; True if it scrubbed.
        Raises ScrubOwed, the mark kept, if the scrub fails."""
        owed = self._marks.get(SCRUB)
        if owed is None:
            return False
        try:
            self._scrub()
        except StoreUnavailable as exc:
            raise ScrubOwed(f"scrub owed since {owed['owed_at']}: {exc}") from exc
        self._marks.delete({"_id": SCRUB, "mark": owed["mark"]})
        return True

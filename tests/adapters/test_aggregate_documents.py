"""A record's document and back (ccshared.aggregate): what a repository stores and reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from ccshared.aggregate import state_doc, state_values

AT = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)


@dataclass
class Record:
    id: str
    reference: str
    received_at: datetime
    answered_at: datetime | None = None
    tags: list[str] = field(default_factory=list)


def test_a_record_reads_back_as_it_was_stored() -> None:
    record = Record("r1", "T-1", AT, AT, ["a"])

    doc = state_doc(record, ("received_at", "answered_at"))

    assert doc == {
        "_id": "r1",
        "reference": "T-1",
        "received_at": "2026-03-16T09:30:00.000000Z",
        "answered_at": "2026-03-16T09:30:00.000000Z",
        "tags": ["a"],
    }
    assert Record(**state_values(Record, doc, ("received_at", "answered_at"))) == record


def test_a_field_added_since_the_document_was_written_takes_its_default() -> None:
    old = {"_id": "r1", "reference": "T-1", "received_at": "2026-03-16T09:30:00.000000Z"}

    values = state_values(Record, old, ("received_at", "answered_at"))

    assert values["answered_at"] is None and values["tags"] == []
    assert values["tags"] is not state_values(Record, old, ("received_at", "answered_at"))["tags"]


def test_a_document_missing_a_field_without_a_default_is_refused_by_name() -> None:
    damaged = {"_id": "r1", "received_at": "2026-03-16T09:30:00.000000Z"}

    with pytest.raises(KeyError, match="reference"):
        state_values(Record, damaged, ("received_at", "answered_at"))

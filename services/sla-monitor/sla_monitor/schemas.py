"""Request and response schemas (OpenAPI comes from these)."""

from __future__ import annotations

from datetime import UTC, datetime

from ccshared import contracts
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from .domain import AT_RISK, BREACHED, OPEN
from .reports import GROUPINGS

MAX_REPORT_DAYS = 1100
# The years a due date is worked out for: the calendar's arithmetic and the
# Europe/London conversion overflow near years 1 and 9999, and a date outside
# these is a typing mistake, not a contact.
EARLIEST_RECEIVED = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_RECEIVED = datetime(2100, 1, 1, tzinfo=UTC)


def _in_supported_years(value: datetime) -> None:
    """Years first: comparing an aware instant in year 1 or 9999 with another can overflow."""
    if not EARLIEST_RECEIVED.year <= value.year < LATEST_RECEIVED.year or not (
        EARLIEST_RECEIVED <= value < LATEST_RECEIVED
    ):
        raise ValidationError(f"Must be from {EARLIEST_RECEIVED.year} to {LATEST_RECEIVED.year - 1}.")


class _Query(Schema):
    class Meta:
        unknown = EXCLUDE


class DueQuery(_Query):
    channel = fields.String(required=True, validate=validate.OneOf(contracts.CHANNELS))
    received_at = fields.AwareDateTime(
        required=True,
        validate=_in_supported_years,
        metadata={"description": "ISO 8601 with a UTC offset, from 2000 to 2099"},
    )


class DueSchema(Schema):
    channel = fields.String()
    received_at = fields.String(metadata={"description": "as given, in Europe/London"})
    target_working_days = fields.Integer()
    at_risk_at = fields.String(metadata={"description": "start of the due day, Europe/London"})
    due_at = fields.String(metadata={"description": "23:59:59 on the due day, Europe/London"})


class ClocksQuery(_Query):
    state = fields.String(validate=validate.OneOf((OPEN, AT_RISK, BREACHED)))
    centre_id = fields.String(validate=validate.Length(1, 128))
    channel = fields.String(validate=validate.OneOf(contracts.CHANNELS))
    area = fields.String(validate=validate.OneOf(contracts.AREAS))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 100_000))


class ClockSchema(Schema):
    contact_id = fields.String()
    reference = fields.String()
    channel = fields.String()
    centre_id = fields.String()
    area = fields.String()
    assignee = fields.String(allow_none=True)
    state = fields.String()
    received_at = fields.String()
    at_risk_at = fields.String()
    due_at = fields.String()
    target_working_days = fields.Integer()
    working_days_remaining = fields.Integer(
        metadata={"description": "working days after today up to the due day; 0 on it; negative once past it"}
    )


class ClocksSchema(Schema):
    clocks = fields.List(fields.Nested(ClockSchema))
    count = fields.Integer()


class ComplianceQuery(_Query):
    from_ = fields.Date(
        required=True, data_key="from", metadata={"description": "first local date of receipt"}
    )
    to = fields.Date(required=True, metadata={"description": "last local date of receipt, inclusive"})
    group_by = fields.String(load_default="channel", validate=validate.OneOf(tuple(GROUPINGS)))
    area = fields.String(validate=validate.OneOf(contracts.AREAS))

    @validates_schema
    def _range(self, data: dict, **_: object) -> None:
        start, end = data.get("from_"), data.get("to")
        if start and end and end < start:
            raise ValidationError("must not be before from", "to")
        if start and end and (end - start).days > MAX_REPORT_DAYS:
            raise ValidationError(f"a report covers at most {MAX_REPORT_DAYS} days", "to")


class TallySchema(Schema):
    key = fields.String()
    name = fields.String(metadata={"description": "centre name, when grouped by centre"})
    met = fields.Integer()
    breached = fields.Integer(metadata={"description": "answered late, or past due and unanswered"})
    open = fields.Integer(metadata={"description": "unanswered and not yet past due"})
    total = fields.Integer()
    percent_met = fields.Float(allow_none=True)


class ComplianceSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    group_by = fields.String()
    area = fields.String(allow_none=True)
    groups = fields.List(fields.Nested(TallySchema))
    totals = fields.Nested(TallySchema)

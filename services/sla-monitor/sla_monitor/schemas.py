"""Request and response schemas (OpenAPI comes from these)."""

from __future__ import annotations

from ccshared import contracts, query, tables
from ccshared.calendar import EARLIEST_DAY, LATEST_DAY, validate_day, validate_received_at
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .domain import RUNNING
from .reports import GROUPINGS

MAX_REPORT_DAYS = 1100


class _Query(Schema):
    class Meta:
        unknown = RAISE  # a parameter the operation does not take is named, not ignored


class DueQuery(_Query):
    channel = fields.String(required=True, validate=validate.OneOf(contracts.CHANNELS))
    received_at = fields.AwareDateTime(
        required=True,
        validate=validate_received_at,
        metadata={"description": f"ISO 8601 with a UTC offset, between {EARLIEST_DAY} and {LATEST_DAY}"},
    )
    urgency = fields.String(
        validate=validate.OneOf(contracts.URGENCIES),
        metadata={"description": "picks the channel x urgency target; without it, the channel's own"},
    )
    area = fields.String(
        validate=validate.OneOf(contracts.AREAS),
        metadata={"description": "adds the area's own closure days to those of every area"},
    )


class DueSchema(Schema):
    channel = fields.String()
    urgency = fields.String(allow_none=True)
    area = fields.String(allow_none=True)
    received_at = fields.String(metadata={"description": "as given, in Europe/London"})
    target_working_days = fields.Integer()
    at_risk_at = fields.String(metadata={"description": "start of the due day, Europe/London"})
    due_at = fields.String(metadata={"description": "23:59:59 on the due day, Europe/London"})


class ClocksQuery(_Query, query.ContactFilters, query.Limited):
    state = fields.String(validate=validate.OneOf(RUNNING))
    centre_id = fields.String(validate=validate.Length(1, 128))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 100_000))


class ClockSchema(Schema):
    contact_id = fields.String()
    reference = fields.String()
    channel = fields.String()
    centre_id = fields.String()
    area = fields.String()
    assignee = fields.String(allow_none=True)
    state = fields.String(metadata={"enum": list(contracts.CLOCK_STATES)})
    received_at = fields.String()
    responded_at = fields.String(
        allow_none=True, metadata={"description": "when it was answered, Europe/London; null until then"}
    )
    at_risk_at = fields.String()
    due_at = fields.String()
    target_working_days = fields.Integer()
    working_days_remaining = fields.Integer(
        metadata={
            "description": "working days after today up to the due day; 0 on it; negative once past it "
            "(-1 at least, on a day off too). "
            "While paused: those left when the pause began (the due date moves on when it is resumed). "
            "Once answered or withdrawn: those left on that day (negative: that many late)"
        }
    )
    paused_since = fields.String(
        allow_none=True, metadata={"description": "when the current pause began, Europe/London; null if none"}
    )
    pause_reason = fields.String(allow_none=True, metadata={"enum": list(contracts.PAUSE_REASONS)})
    paused_working_days = fields.Integer(
        metadata={
            "description": "whole working days spent paused in pauses that have ended, which the clock does not "
            "count: each pause's working time (the part of each working day inside it) rounded down"
        }
    )


class ClocksSchema(Schema):
    clocks = fields.List(fields.Nested(ClockSchema))
    count = fields.Integer()


class ComplianceQuery(_Query):
    from_ = fields.Date(
        required=True,
        data_key="from",
        validate=validate_day,
        metadata={"description": f"first local date of receipt, between {EARLIEST_DAY} and {LATEST_DAY}"},
    )
    to = fields.Date(
        required=True,
        validate=validate_day,
        metadata={
            "description": f"last local date of receipt, inclusive, between {EARLIEST_DAY} and {LATEST_DAY}"
        },
    )
    group_by = fields.String(load_default="channel", validate=validate.OneOf(tuple(GROUPINGS)))
    area = fields.String(validate=validate.OneOf(contracts.AREAS))
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(("json", *tables.FORMATS)),
        metadata={"description": "json, or a file to take away: csv or xlsx"},
    )

    @validates_schema
    def _range(self, data: dict, **_: object) -> None:
        start, end = data.get("from_"), data.get("to")
        if start and end and end < start:
            raise ValidationError("must not be before from", "to")
        if start and end and (end - start).days > MAX_REPORT_DAYS:
            raise ValidationError(f"a report covers at most {MAX_REPORT_DAYS} days", "to")


def Count(description: str = "") -> fields.Raw:  # noqa: N802 - reads as a field type
    """A count, or what an anonymous caller sees in its place."""
    kinds = [{"type": "integer"}, {"type": "string", "enum": list(contracts.HIDDEN_COUNTS)}]
    hidden = (
        f'to anonymous callers, "{contracts.FEWER_THAN_5}" for a count from 1 to 4, and '
        f'"{contracts.WITHHELD}" for a cell of any size hidden so that such a count cannot be worked out '
        "(a small count too, where the labels' ranges alone would give it away)"
    )
    return fields.Raw(metadata={"oneOf": kinds, "description": f"{description or 'a count'}; {hidden}"})


class TallySchema(Schema):
    key = fields.String(metadata={"description": 'the group; "all" in a totals row'})
    month = fields.String(
        metadata={"description": "YYYY-MM of receipt, for anonymous callers, whose figures are per month"}
    )
    name = fields.String(metadata={"description": "centre name, when grouped by centre"})
    met = Count()
    breached = Count("answered late, or past due and unanswered")
    open = Count("unanswered and not yet past due")
    total = Count()
    percent_met = fields.Float(allow_none=True)
    targets = fields.List(
        fields.Integer(),
        allow_none=True,
        metadata={
            "description": "the targets, in working days, that the row's met and breached contacts were judged "
            "by, smallest first, each once: a clock keeps the target it started with once answered or "
            "breached, so after a target change (SLA_TARGET_*) a month's figures keep their own; empty "
            "while none is decided. Null to anonymous callers where met or breached is not shown or any "
            "target was had by fewer than 5 of those contacts (a target seen on one contact would tell "
            "that it exists), and over a range where any month's is"
        },
    )


class ComplianceSchema(Schema):
    from_ = fields.Date(data_key="from")
    by_month_only = fields.Boolean(
        metadata={
            "description": "true for anonymous callers: whole months, each month's figures on their own, "
            "small counts withheld"
        }
    )
    to = fields.Date()
    group_by = fields.String()
    area = fields.String(allow_none=True)
    groups = fields.List(
        fields.Nested(TallySchema),
        metadata={
            "description": "one row per group over the range; for anonymous callers the sum of the "
            "months' published cells, \"withheld\" where any month's is not shown"
        },
    )
    totals = fields.Nested(TallySchema, metadata={"description": "all groups together, likewise"})
    monthly = fields.List(
        fields.Nested(TallySchema),
        allow_none=True,
        metadata={"description": "for anonymous callers, one row per month and group; null for staff"},
    )
    months = fields.List(
        fields.Nested(TallySchema),
        allow_none=True,
        metadata={"description": "each month's totals, for anonymous callers; null for staff"},
    )
    not_yet_published = fields.List(
        fields.String(),
        allow_none=True,
        metadata={
            "description": "for anonymous callers, the range's months (YYYY-MM) whose figures are not "
            "published yet, and so are left out: a month is published once it has ended and each of its "
            "contacts has been answered or passed its deadline, or at the latest once the month after it "
            "has ended; null for staff"
        },
    )

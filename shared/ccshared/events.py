"""The event envelope (CloudEvents field names) and the registry of event types.

Every event is validated with marshmallow when it is made and again when it is
read, against the envelope and its type's data schema. Events carry ids,
channels, times and centre ids, never a member of the public's personal data:
the data schemas below have no field that could hold it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from . import contracts as c
from . import tracing

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class InvalidEvent(Exception):
    """A message that is not a valid event of a known type; carries the reason."""


class EnvelopeSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Length(1, 128))
    source = fields.String(required=True, validate=validate.Length(1, 200))
    type = fields.String(required=True, validate=validate.Length(1, 100))
    time = fields.AwareDateTime(required=True)
    subject = fields.String(required=True, validate=validate.Length(1, 128))
    specversion = fields.String(required=True, validate=validate.Equal(SPEC_VERSION))
    datacontenttype = fields.String(load_default=CONTENT_TYPE, validate=validate.Equal(CONTENT_TYPE))
    data = fields.Dict(required=True)
    # W3C trace context of the span that made the event (ccshared.tracing); absent when
    # tracing is off, and in events made before it existed.
    traceparent = fields.String(load_default=None, validate=validate.Regexp(tracing.TRACEPARENT_PATTERN))


class _Data(Schema):
    class Meta:
        unknown = EXCLUDE


def _area() -> fields.String:
    return fields.String(required=True, validate=validate.OneOf(c.AREAS))


class CentreData(_Data):
    """The public face of a centre, as the directory publishes it."""

    centre_id = fields.String(required=True)
    name = fields.String(required=True)
    area = _area()
    ward = fields.String(required=True)
    postcode = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(c.CENTRE_STATUSES))
    email = fields.String(load_default=None, allow_none=True)
    last_verified_at = fields.AwareDateTime(load_default=None, allow_none=True)
    latitude = fields.Float(load_default=None, allow_none=True)
    longitude = fields.Float(load_default=None, allow_none=True)
    services = fields.List(fields.String(), load_default=list)
    version = fields.Integer(required=True)
    changed_fields = fields.List(fields.String(), load_default=list)


class CentreStaleData(_Data):
    centre_id = fields.String(required=True)
    name = fields.String(required=True)
    area = _area()
    last_verified_at = fields.AwareDateTime(load_default=None, allow_none=True)
    stale_since = fields.AwareDateTime(required=True)


class _ContactNamed(_Data):
    """The contact an event is about: its id and reference, channel, centre and area."""

    contact_id = fields.String(required=True)
    reference = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(c.CHANNELS))
    centre_id = fields.String(required=True)
    area = _area()


class ContactData(_ContactNamed):
    """A contact's lifecycle step: ids, channel, centre, area and times only."""

    received_at = fields.AwareDateTime(required=True)
    status = fields.String(required=True)
    assignee = fields.String(load_default=None, allow_none=True)
    responded_at = fields.AwareDateTime(load_default=None, allow_none=True)
    response_method = fields.String(load_default=None, allow_none=True)
    occurred_at = fields.AwareDateTime(required=True)
    reason_code = fields.String(load_default=None, allow_none=True)
    # Any contact may carry an urgency (it picks the SLA target).
    urgency = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(c.URGENCIES))
    # Referrals only: codes, never words about the family.
    support_needed = fields.List(fields.String(), load_default=None, allow_none=True)
    referral_status = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(c.REFERRAL_STATUSES)
    )
    agency_id = fields.String(load_default=None, allow_none=True)
    # Paused and resumed only: when the pause (ended by a resume) began. Its reason is
    # reason_code (contracts.PAUSE_REASONS); the note staff wrote never travels.
    paused_at = fields.AwareDateTime(load_default=None, allow_none=True)


class SlaData(_ContactNamed):
    assignee = fields.String(load_default=None, allow_none=True)
    received_at = fields.AwareDateTime(required=True)
    due_at = fields.AwareDateTime(required=True)
    target_working_days = fields.Integer(required=True)
    responded_at = fields.AwareDateTime(load_default=None, allow_none=True)
    late_seconds = fields.Integer(load_default=None, allow_none=True)
    urgency = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(c.URGENCIES))
    support_needed = fields.List(fields.String(), load_default=None, allow_none=True)
    # Which reminder of the escalation ladder (1, 2, ...): sla.still_breached only.
    reminder = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class DueMovedData(_ContactNamed):
    """A running referral's new due date: ids, channel, area and the instant only; `move` counts
    the clock's moves from 1, so a reader keeps the newest whatever order they arrive in."""

    due_at = fields.AwareDateTime(required=True)
    move = fields.Integer(required=True, validate=validate.Range(min=1))


class PersonalErasedData(_Data):
    """Which contact's personal data contacts erased, when, and which parts: ids only."""

    contact_id = fields.String(required=True)
    erased_at = fields.AwareDateTime(required=True)
    parts = fields.List(
        fields.String(validate=validate.OneOf(c.ERASED_PARTS)), required=True, validate=validate.Length(min=1)
    )


class AreaMovedData(_Data):
    """Which contact followed its centre from one area to another, and when: ids and areas only.
    `move` counts the contact's area moves from 1, so a reader follows them in the order they
    happened, whatever order they arrive in and whatever the clocks of contacts' replicas said;
    an event made before it existed has none (None), and is taken to have arrived in order."""

    contact_id = fields.String(required=True)
    centre_id = fields.String(required=True)
    from_area = _area()
    to_area = _area()
    moved_at = fields.AwareDateTime(required=True)
    move = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class WebhookFailingData(_Data):
    """An agency's webhook receiver keeps failing: no URL, nothing about any family."""

    agency_id = fields.String(required=True)
    failing_since = fields.AwareDateTime(required=True)
    consecutive_failures = fields.Integer(required=True)
    last_status_code = fields.Integer(load_default=None, allow_none=True)
    error_kind = fields.String(load_default=None, allow_none=True)


REGISTRY: dict[str, type[Schema]] = {
    **{name: CentreData for name in c.CENTRE_EVENTS},
    c.CENTRE_STALE: CentreStaleData,
    **{name: ContactData for name in c.CONTACT_EVENTS},
    **{
        name: SlaData
        for name in (
            c.SLA_STARTED,
            c.SLA_AT_RISK,
            c.SLA_BREACHED,
            c.SLA_STILL_BREACHED,
            c.SLA_MET,
            c.SLA_RESPONDED_LATE,
        )
    },
    c.SLA_DUE_MOVED: DueMovedData,
    c.AGENCY_WEBHOOK_FAILING: WebhookFailingData,
    c.CONTACT_PERSONAL_ERASED: PersonalErasedData,
    c.CONTACT_AREA_MOVED: AreaMovedData,
}


@dataclass(frozen=True)
class Event:
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    data: dict[str, Any]
    traceparent: str | None = None

    @property
    def key(self) -> str:
        return self.subject


# What an Event takes from its envelope as it stands; its data is loaded by the type's schema.
_EVENT_FIELDS = tuple(item.name for item in dataclasses.fields(Event) if item.name != "data")


def make(type_: str, subject: str, data: dict[str, Any], *, source: str, time: datetime) -> dict:
    """Build a validated envelope as a JSON-ready dict (for an outbox or the bus)."""
    schema = _schema_for(type_)
    try:
        payload = _payload(schema, data)
    except ValidationError as exc:
        raise InvalidEvent(f"{type_}: {exc.messages}") from exc
    envelope = {
        "id": str(uuid.uuid4()),
        "source": source,
        "type": type_,
        "time": time.isoformat(),
        "subject": subject,
        "specversion": SPEC_VERSION,
        "datacontenttype": CONTENT_TYPE,
        "data": payload,
    }
    current = tracing.traceparent()
    if current:
        envelope[tracing.TRACEPARENT] = current
    _instance(EnvelopeSchema).load(envelope)
    return envelope


def _payload(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """The data dumped, checked by loading it, with the fields it left out at their defaults.

    The same as dumping the loaded data again, cheaper: a dumped value loads and dumps back
    to itself for every field type the schemas use, so only the absent fields (filled by
    the load) need dumping from the loaded data. Field order is the schema's, as a dump's.
    """
    dumped = schema.dump(data)
    loaded = schema.load(dumped)
    payload = {}
    for name, field in schema.dump_fields.items():
        key = field.data_key or name
        if key in dumped:
            payload[key] = dumped[key]
        elif name in loaded:
            payload[key] = field.serialize(name, loaded)
    return payload


def encode(envelope: dict) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def decode(raw: bytes) -> Event:
    """Parse and validate a message; raise InvalidEvent saying why it is not an event."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidEvent("not a JSON object")
    try:
        envelope = _instance(EnvelopeSchema).load(document)
    except ValidationError as exc:
        raise InvalidEvent(f"bad envelope: {exc.messages}") from exc
    schema = _schema_for(envelope["type"])
    try:
        data = schema.load(envelope["data"])
    except ValidationError as exc:
        raise InvalidEvent(f"bad data for {envelope['type']}: {exc.messages}") from exc
    return Event(**{name: envelope[name] for name in _EVENT_FIELDS}, data=data)


def _schema_for(type_: str) -> Schema:
    try:
        return _instance(REGISTRY[type_])
    except KeyError:
        raise InvalidEvent(f"unknown event type {type_!r}") from None


@functools.cache
def _instance(kind: type[Schema]) -> Schema:
    """One shared instance per schema class: making one costs more than the load it is
    made for, and load and dump keep no state on the instance, so threads may share it."""
    return kind()

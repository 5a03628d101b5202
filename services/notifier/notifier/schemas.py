"""Request and response schemas of the notifier's HTTP API (OpenAPI comes from these)."""

from __future__ import annotations

from ccshared import query
from ccshared.calendar import validate_received_at
from marshmallow import Schema, fields, validate

from .domain import DIGEST_TYPE, GROUP_TYPE, NOTICE_TYPES, STATUSES


class NotificationQuery(query.Limited):
    status = fields.String(validate=validate.OneOf(STATUSES))
    event_type = fields.String(validate=validate.OneOf((*NOTICE_TYPES, DIGEST_TYPE, GROUP_TYPE)))
    since = fields.AwareDateTime(validate=validate_received_at)  # the calendar's years, as every date


class NotificationSchema(Schema):
    id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    recipient = fields.String()
    to = fields.List(fields.String())
    cc = fields.List(fields.String())
    area = fields.String(allow_none=True)
    status = fields.String()
    attempts = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime(allow_none=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    attempt_started_at = fields.AwareDateTime(allow_none=True)
    sent_at = fields.AwareDateTime(allow_none=True)
    server_reply = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    message_id = fields.String()
    digest_id = fields.String(
        allow_none=True, metadata={"description": "the digest or group mail that carried it"}
    )
    carried_by = fields.String(
        allow_none=True, metadata={"description": "Message-ID of the e-mail that carried this notice"}
    )
    resent_by = fields.String(
        allow_none=True, metadata={"description": "who last sent it again after it failed"}
    )
    resent_at = fields.AwareDateTime(allow_none=True)
    erased_at = fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "when the kept copy was erased with the contact's personal data"},
    )
    contact_id = fields.Function(lambda n: n.data.get("contact_id"))
    reference = fields.Function(lambda n: n.data.get("reference"))
    centre_id = fields.Function(lambda n: n.data.get("centre_id"))


class NotificationList(Schema):
    items = fields.List(fields.Nested(NotificationSchema))


class MessageSummary(Schema):
    id = fields.String()
    to = fields.String()
    cc = fields.String(allow_none=True)
    delivered_to = fields.String(allow_none=True)
    subject = fields.String()
    date = fields.String()
    area = fields.String(allow_none=True)
    event_type = fields.String(allow_none=True)
    erased_at = fields.String(
        allow_none=True,
        metadata={"description": "when its addresses and words were erased with the contact's personal data"},
    )


class MessageDetail(MessageSummary):
    text = fields.String(allow_none=True)
    html = fields.String(allow_none=True)


class MessageList(Schema):
    items = fields.List(fields.Nested(MessageSummary))

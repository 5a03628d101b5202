"""Query parameters that several services' list endpoints share, validated one way.

A contact's channel and area filter the same in every service's lists (the
vocabularies of `contracts`), and a list read a slice at a time takes the same
`limit` everywhere.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from . import contracts as c

# The furthest page a paged list turns to: past it a list answers 422 (and its pages end long before).
MAX_PAGE = 100_000


class ContactFilters(Schema):
    """Filters on what every contact carries: its channel and its area."""

    channel = fields.String(validate=validate.OneOf(c.CHANNELS))
    area = fields.String(validate=validate.OneOf(c.AREAS))


class Limited(Schema):
    """A list answered a slice at a time: at most `limit` rows, 100 unless asked."""

    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))

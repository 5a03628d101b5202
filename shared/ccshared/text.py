"""What text typed by people may hold, and how it is put on one line.

A line break in a centre's name once broke every e-mail about the centre (a
header may not hold one): control characters are refused where text comes in,
with a 422 naming the field, and an e-mail subject is put on one line anyway.
"""

from __future__ import annotations

import re

from marshmallow import ValidationError, validate

# C0 and C1 control characters, DEL, Unicode's line and paragraph separators, and its
# direction embeddings, overrides and isolates (U+202E shows "Test" as "tseT" on every page
# and e-mail that prints the text; right-to-left names need none of them).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The same without the line breaks a form's textarea sends (\r\n or \n).
_CONTROL_BUT_LINE_BREAKS = re.compile(
    r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_WHITESPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


class NoControlCharacters(validate.Validator):
    """Refuses control characters (tabs, line breaks, NUL...); line breaks are
    allowed where multiline, for text written in a textarea."""

    def __init__(self, multiline: bool = False):
        self.pattern = _CONTROL_BUT_LINE_BREAKS if multiline else _CONTROL
        self.error = (
            "Must not contain control characters other than line breaks."
            if multiline
            else "Must not contain control characters such as line breaks or tabs."
        )

    def __call__(self, value: str) -> str:
        if isinstance(value, str) and self.pattern.search(value):
            raise ValidationError(self.error)
        return value


def one_line(text: str) -> str:
    """The text with every run of whitespace or control characters made one space."""
    return _WHITESPACE.sub(" ", text).strip()

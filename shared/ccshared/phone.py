"""UK telephone numbers as people write them: one rule for every service that takes one."""

from __future__ import annotations

import re

from marshmallow import ValidationError, validate

_SEPARATORS = re.compile(r"[\s\-()]")
_NATIONAL = re.compile(r"^0[0-9]{9,10}$")
_COUNTRY = ("+44", "0044")


def uk_number(raw: str) -> str | None:
    """The number as dialled within the UK ('+44 (0)151 496-0000' -> '01514960000'): 10 or 11
    digits from its leading 0, once spaces, dashes and brackets are taken off and +44 is read
    as 0. None when it is not one ('-----1', a line of spaces, a number abroad)."""
    compact = _SEPARATORS.sub("", raw)
    for prefix in _COUNTRY:
        if compact.startswith(prefix):
            rest = compact[len(prefix) :]
            compact = rest if rest.startswith("0") else "0" + rest
            break
    return compact if _NATIONAL.match(compact) else None


class UkPhone(validate.Validator):
    """A field's check that its text is a UK telephone number (`uk_number`); kept as written."""

    def __init__(self, error: str):
        self.error = error

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or uk_number(value) is None:
            raise ValidationError(self.error)
        return value

"""Telephone numbers as people write them: one rule for every service that takes one."""

from __future__ import annotations

import re

from marshmallow import ValidationError, validate

from .text import NoControlCharacters

_SEPARATORS = re.compile(r"[\s\-()]")
_NATIONAL = re.compile(r"^0[1-9][0-9]{8,9}$")  # 00 begins a call abroad, never a UK number
_COUNTRY = ("+44", "0044")
# A number abroad as the world writes it (E.164): + or 00, a country code other than the UK's,
# and 8 to 15 digits in all.
_ABROAD = re.compile(r"^(?:\+|00)(?!44)[1-9][0-9]{7,14}$")


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


def abroad(raw: str) -> bool:
    """Whether the text is a number abroad with its country code ('+33 1 23 45 67 89')."""
    return bool(_ABROAD.match(_SEPARATORS.sub("", raw)))


_ONE_LINE = NoControlCharacters()


class Phone(validate.Validator):
    """A field's check that its text is a UK telephone number (`uk_number`), or, where people
    are reached wherever their phone is from (a family newly arrived), one abroad with its
    country code; kept as written."""

    def __init__(self, error: str, *, abroad_too: bool = False):
        self.error = error
        self.abroad_too = abroad_too

    def __call__(self, value: str) -> str:
        if not isinstance(value, str):
            raise ValidationError(self.error)
        _ONE_LINE(value)  # a line break or tab is no separator: it is refused as in any text
        if uk_number(value) is None and not (self.abroad_too and abroad(value)):
            raise ValidationError(self.error)
        return value

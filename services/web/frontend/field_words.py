"""The services' field errors in plain words, each naming the form's label.

The contacts and directory services answer a 422 in marshmallow's words ("Longer than maximum
length 200."), which name no field and mean little on a form. One rule per kind of validator
those schemas use (Length, Email, URL, Range, OneOf, a number, a date and its range, contacts'
blank text, the search's postcode or district, control characters) turns them into what to do;
a message of any other kind (a service's own words) follows the label as the service wrote it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date

Words = Callable[[re.Match], str]


def _day(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


def _length(found: re.Match) -> str:
    """Between 1 and 200 may mean blank or too long: the words fit both."""
    if found["min"] == "0":
        return f"use {found['max']} characters or fewer"
    return f"use {found['min']} to {found['max']} characters"


_NUMBER = r"(?P<{}>-?[\d.]+)"
_RULES: tuple[tuple[re.Pattern, Words], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (
            r"Missing data for required field\.|Field may not be null\.|Shorter than minimum length 1\."
            r"|must not be blank$",
            lambda _: "enter this",
        ),
        (r"Longer than maximum length (?P<max>\d+)\.", lambda f: f"use {f['max']} characters or fewer"),
        (r"Shorter than minimum length (?P<min>\d+)\.", lambda f: f"use {f['min']} characters or more"),
        (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.", _length),
        (r"Not a valid email address\.", lambda _: "enter an address like name@example.org"),
        (r"Not a valid URL\.", lambda _: "enter a web address like https://www.example.org"),
        (r"Not a valid (?:integer|number)\.|Number too large\.", lambda _: "enter a number"),
        (
            rf"Must be greater than (?:or equal to )?{_NUMBER.format('min')} "
            rf"and less than (?:or equal to )?{_NUMBER.format('max')}\.",
            lambda f: f"enter a number from {f['min']} to {f['max']}",
        ),
        (
            rf"Must be greater than (?:or equal to )?{_NUMBER.format('min')}\.",
            lambda f: f"enter {f['min']} or more",
        ),
        (
            rf"Must be less than (?:or equal to )?{_NUMBER.format('max')}\.",
            lambda f: f"enter {f['max']} or less",
        ),
        (
            r"must be between (?P<min>\d{4}-\d\d-\d\d) and (?P<max>\d{4}-\d\d-\d\d)",
            lambda f: f"enter a date from {_day(f['min'])} to {_day(f['max'])}",
        ),
        (r"Not a valid (?:aware |naive )?(?:datetime|date|time)\.", lambda _: "enter a real date and time"),
        (r"(?i)must be one of\b.*", lambda _: "choose one of the options given"),
        (
            r"Not a UK postcode or postcode district\b.*",
            lambda _: "enter a postcode like L8 0AA, or its first part like L8",
        ),
        (
            r"Must not contain control characters such as line breaks or tabs\.",
            lambda _: "take out any tabs, line breaks or other invisible characters",
        ),
        (
            r"Must not contain control characters other than line breaks\.",
            lambda _: "take out any tabs or other invisible characters",
        ),
    )
)


def in_plain_words(label: str, message: str) -> str:
    """`message` from a service, as the form says it beside the field labelled `label`."""
    return f"{label}: {_plain(message) or message}"


def labelled(labels: Mapping[str, str], name: str, message: str) -> str:
    """`message` on the form's field `name`, in plain words naming its label when it is
    marshmallow's; a service's own words as they are (they already say what is wrong)."""
    words = _plain(message)
    return f"{labels[name]}: {words}" if words and name in labels else message


def _plain(message: str) -> str | None:
    for pattern, words in _RULES:
        found = pattern.fullmatch(message.strip())
        if found:
            return words(found)
    return None

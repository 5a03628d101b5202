"""The partner pages' referral form: its fields, the checks made before anything is
sent, the body the contacts service takes, and its answers mapped back onto the
fields. Pure: no Flask, no HTTP; the time comes in as an argument."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ccshared.timeutil import to_str

from .field_words import in_plain_words
from .presenters import BadLocalTime, local_instant

NEAREST = "nearest"
NAMED = "named"
MAX_CHILDREN = 12
FIRST_CHILD_ROWS = 3
AGE_UNITS = ("years", "months")
TEXT_FIELDS = (
    "referrer_name",
    "referrer_role",
    "referrer_phone",
    "referrer_email",
    "family_name",
    "family_address",
    "family_postcode",
    "family_phone",
    "family_email",
    "urgency",
    "notes",
    "consent_by",
    "consent_date",
    "consent_time",
    "centre_choice",
    "centre_id",
    "idempotency_key",
    "checked",
)
# Each form field's name as people read it, in the order the form asks.
LABELS = {
    "referrer_name": "Your name",
    "referrer_role": "Your role",
    "referrer_phone": "Your telephone number",
    "referrer_email": "Your e-mail address",
    "family_name": "Name of the parent or carer",
    "family_address": "The family's address",
    "family_postcode": "The family's postcode",
    "family_phone": "The family's telephone number",
    "family_email": "The family's e-mail address",
    "children": "Children's ages",
    "support_needed": "Services the family needs",
    "urgency": "How urgent is it",
    "notes": "Anything else the centre should know",
    "consent_given": "Consent",
    "consent_by": "Who recorded the consent",
    "consent_date": "When consent was recorded",
    "centre_choice": "Which centre",
    "centre_id": "The centre you choose",
}
# The contacts service's field names, as the form's.
FIELD_FOR = {
    "referrer.name": "referrer_name",
    "referrer.role": "referrer_role",
    "referrer.phone": "referrer_phone",
    "referrer.email": "referrer_email",
    "referrer": "referrer_phone",
    "family.name": "family_name",
    "family.address": "family_address",
    "family.postcode": "family_postcode",
    "family.phone": "family_phone",
    "family.email": "family_email",
    "family": "family_phone",
    "support_needed": "support_needed",
    "urgency": "urgency",
    "notes": "notes",
    "consent.given": "consent_given",
    "consent.recorded_by": "consent_by",
    "consent.recorded_at": "consent_date",
    "consent": "consent_given",
    "centre_id": "centre_id",
    "nearest": "centre_choice",
    "postcode_district": "family_postcode",
}
_CHILD_PATH = re.compile(r"^children(?:\.(\d+))?")
_AGE = re.compile(r"[0-9]{1,2}")


def new_key() -> str:
    return uuid.uuid4().hex


def _is_key(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{32}", value))


@dataclass
class ReferralForm:
    """What the partner typed: text fields, the services ticked and one row per child."""

    values: dict[str, str]
    services: list[str] = field(default_factory=list)
    children: list[tuple[str, str]] = field(default_factory=list)
    consent_given: bool = False

    @classmethod
    def blank(cls, now_date: str, now_time: str) -> ReferralForm:
        values = dict.fromkeys(TEXT_FIELDS, "")
        values.update(
            urgency="soon",
            centre_choice=NEAREST,
            consent_date=now_date,
            consent_time=now_time,
            idempotency_key=new_key(),
        )
        return cls(values, children=[("", "years")] * FIRST_CHILD_ROWS)

    @classmethod
    def read(cls, form: Mapping[str, Any], getlist: Callable[[str], list[str]]) -> ReferralForm:
        """The form as posted; getlist(name) gives every value of a repeated field."""
        values = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
        if not _is_key(values["idempotency_key"]):
            values["idempotency_key"] = new_key()
        rows = min(MAX_CHILDREN, max(1, _int(form.get("child_rows"), 1)))
        children = [
            (str(form.get(f"child_{n}_age", "")).strip(), str(form.get(f"child_{n}_unit", "years")))
            for n in range(1, rows + 1)
        ]
        services = [code for code in getlist("support_needed") if code]
        return cls(values, services, children, form.get("consent_given") == "yes")

    def with_spare_row(self) -> ReferralForm:
        """One empty row for another child, so no button (and no script) is needed to add one."""
        if all(age for age, _ in self.children) and len(self.children) < MAX_CHILDREN:
            self.children.append(("", "years"))
        return self

    @property
    def nearest(self) -> bool:
        return self.values["centre_choice"] != NAMED

    @property
    def place(self) -> str:
        """The postcode or district typed, tidied; contacts takes the district from it."""
        return " ".join(self.values["family_postcode"].upper().split())

    def check_signature(self) -> str:
        """What a centre check was made for: the same place (or centre named) and services need no new check."""
        where = self.place if self.nearest else f"centre:{self.values['centre_id']}"
        return f"{where}|{','.join(sorted(self.services))}"

    def check_problems(self) -> dict[str, str]:
        """What must be there before the nearest suitable centre can be looked up."""
        errors = {}
        if not self.place:
            errors["family_postcode"] = (
                "Enter the family's postcode or postcode district, for example L8 or L8 0AA"
            )
        if not self.services:
            errors["support_needed"] = "Choose at least one service the family needs"
        return errors

    def problems(self, now: datetime) -> dict[str, str]:
        """The checks made here, before anything is sent: consent above all."""
        errors: dict[str, str] = {}
        if not self.consent_given:
            errors["consent_given"] = "Confirm that the family agreed to this referral"
        if not self.values["consent_by"]:
            errors["consent_by"] = "Enter who recorded the family's consent"
        try:
            self.consent_at(now)
        except BadLocalTime as error:
            errors["consent_date"] = str(error)
        errors.update(self._child_problems())
        if self.nearest:
            errors.update(self.check_problems())
        elif not self.values["centre_id"]:
            errors["centre_id"] = "Choose a centre, or choose the nearest suitable centre"
        if not self.services:
            errors["support_needed"] = "Choose at least one service the family needs"
        return errors

    def _child_problems(self) -> dict[str, str]:
        errors = {}
        for n, (age, _) in enumerate(self.children, start=1):
            if age and not _AGE.fullmatch(age):
                errors[f"child_{n}_age"] = f"Child {n}: enter the age as a whole number, for example 2"
        if not any(age for age, _ in self.children):
            errors["child_1_age"] = "Enter the age of at least one child under five"
        return errors

    def consent_at(self, now: datetime) -> datetime:
        return local_instant(self.values["consent_date"], self.values["consent_time"], now, what="Consent")

    def body(self, now: datetime) -> dict[str, Any]:
        """The contacts service's referral, from a form that passed `problems`."""
        v = self.values
        body: dict[str, Any] = {
            "referrer": _some(
                name=v["referrer_name"],
                role=v["referrer_role"],
                phone=v["referrer_phone"],
                email=v["referrer_email"],
            ),
            "family": _some(
                name=v["family_name"],
                address=v["family_address"],
                postcode=self.place,
                phone=v["family_phone"],
                email=v["family_email"],
            ),
            "children": [
                {"age_months" if unit == "months" else "age_years": int(age)}
                for age, unit in self._given_children()
            ],
            "support_needed": list(self.services),
            "urgency": v["urgency"],
            "consent": {
                "given": True,
                "recorded_by": v["consent_by"],
                "recorded_at": to_str(self.consent_at(now)),
            },
        }
        if v["notes"]:
            body["notes"] = v["notes"]
        if self.nearest:
            body.update(nearest=True, postcode_district=self.place)
        else:
            body["centre_id"] = v["centre_id"]
        return body

    def _given_children(self) -> list[tuple[str, str]]:
        return [(age, unit) for age, unit in self.children if age]

    def child_field(self, index: int) -> str:
        """The form field of the index-th child sent (empty rows are not sent)."""
        rows = [n for n, (age, _) in enumerate(self.children, start=1) if age]
        return f"child_{rows[index]}_age" if index < len(rows) else "child_1_age"

    def errors_from(self, messages: Mapping[str, str]) -> dict[str, str]:
        """The contacts service's messages, each on its field and naming it."""
        errors: dict[str, str] = {}
        for path, message in messages.items():
            name = self._field_of(path)
            errors.setdefault(name, _wording(name, message))
        return errors

    def _field_of(self, path: str) -> str:
        child = _CHILD_PATH.match(path)
        if child:
            return self.child_field(int(child.group(1) or 0))
        return FIELD_FOR.get(path) or FIELD_FOR.get(path.split(".")[0], "_")


def _some(**fields: str) -> dict[str, str]:
    return {name: value for name, value in fields.items() if value}


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _wording(name: str, message: str) -> str:
    if name == "_":
        return message
    label = LABELS.get(name) or ("Children's ages" if name.startswith("child_") else name)
    return in_plain_words(label, message)

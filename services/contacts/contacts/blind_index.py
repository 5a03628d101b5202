"""Keyed blind indexes of the people a contact is about, for subject access requests.

Personal data is stored encrypted, so the store cannot be searched by a name
or a phone number. Beside the token each contact keeps a list of HMAC-SHA256
digests, one per normalised identifier of each person in it (the requester;
a referral's family, referrer and consent recorder), made with a key of
their own (CONTACTS_BLIND_INDEX_KEY). A search computes the same digests for
the values asked about and finds the contacts holding them, decrypting none
of the others. The digests mean nothing without the key, which is kept apart
from the encryption key: a stolen database gives neither values nor a way to
test guesses.

Normalising makes the spellings people use meet: names are compared word by
word (case, accents, apostrophes and punctuation ignored); phones by their
digits, +44 and 0044 read as the leading 0; e-mail addresses in lower case;
postcodes in capitals without spaces, also when they sit inside an address.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ccshared import contracts as c
from ccshared.keys import secret

NAME = "name"
PHONE = "phone"
EMAIL = "email"
POSTCODE = "postcode"
KINDS = c.SUBJECT_ACCESS_IDENTIFIERS

MIN_PHONE_DIGITS = 6
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")
_POSTCODE_IN_TEXT = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})\b")
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
_WORD_BREAKS = re.compile(r"[\W_]+")


@dataclass(frozen=True, order=True)
class Term:
    """One normalised identifier of one kind: what a digest is made of."""

    kind: str
    value: str


def name_words(raw: str) -> list[str]:
    """ "Siân O'Brien-Jones" -> ["sian", "obrien", "jones"]: casefolded, without accents."""
    decomposed = unicodedata.normalize("NFKD", raw)
    if not decomposed.isascii():  # most names: no character can be a combining mark
        decomposed = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = decomposed.casefold()
    return [word for word in _WORD_BREAKS.split(_APOSTROPHES.sub("", plain)) if word]


def phone_digits(raw: str) -> str | None:
    """The number as dialled in the UK: "+44 (0)7700 900123" and "07700900123" meet."""
    stripped = raw.strip()
    digits = re.sub(r"\D", "", stripped)
    international = stripped.startswith("+") or digits.startswith("00")
    digits = digits[2:] if digits.startswith("00") else digits
    if digits.startswith("44") and (international or len(digits) == 12):
        digits = "0" + digits[2:].lstrip("0")
    elif international:
        digits = "+" + digits
    return digits if len(digits.lstrip("+")) >= MIN_PHONE_DIGITS else None


def email_address(raw: str) -> str | None:
    value = raw.strip().lower()
    return value if "@" in value else None


def full_postcode(raw: str) -> str | None:
    """A full postcode in capitals without spaces, or None when it is not one."""
    value = re.sub(r"\s+", "", raw).upper()
    return value if _POSTCODE.match(value) else None


def postcodes_in(text: str) -> list[str]:
    """Postcodes written inside an address ("1 Street, Liverpool L4 0AA")."""
    return [outward + inward for outward, inward in _POSTCODE_IN_TEXT.findall(text.upper())]


def person_terms(person: Mapping[str, Any]) -> set[Term]:
    """The identifiers of one person's details (a requester, a family, a referrer)."""
    terms = {Term(NAME, word) for word in name_words(_text(person.get("name")))}
    if phone := phone_digits(_text(person.get("phone"))):
        terms.add(Term(PHONE, phone))
    if email := email_address(_text(person.get("email"))):
        terms.add(Term(EMAIL, email))
    codes = postcodes_in(_text(person.get("address")))
    # The postcode field is kept even when it is not a well-formed postcode: it is what was given.
    if given := re.sub(r"\s+", "", _text(person.get("postcode"))).upper():
        codes.append(given)
    terms.update(Term(POSTCODE, code) for code in codes)
    return terms


def people(personal: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The people a contact's decrypted personal fields are about, by their part in it."""
    if not personal:
        return {}
    found = {
        role: personal[role]
        for role in ("requester", "family", "referrer")
        if isinstance(personal.get(role), Mapping)
    }
    consent = personal.get("consent")
    if isinstance(consent, Mapping) and consent.get("recorded_by"):
        found["consent_recorded_by"] = {"name": consent["recorded_by"]}
    return found


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Query:
    """What a subject access search asks for, normalised: each kind's terms.

    A name matches a contact holding every word of it (so "Jane Smith" finds
    "Jane Anne Smith"); the kinds are alternatives (any one matches).
    """

    name: tuple[Term, ...] = ()
    phone: Term | None = None
    email: Term | None = None
    postcode: Term | None = None

    @property
    def kinds(self) -> list[str]:
        return [kind for kind in KINDS if getattr(self, kind)]

    def alternatives(self) -> list[tuple[str, list[Term]]]:
        """(kind, terms that must all be present) for each kind asked about."""
        single = [(kind, [getattr(self, kind)]) for kind in (PHONE, EMAIL, POSTCODE) if getattr(self, kind)]
        return ([(NAME, list(self.name))] if self.name else []) + single


class InvalidQuery(ValueError):
    def __init__(self, field_name: str, message: str):
        self.field = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


def query(
    name: str | None = None, phone: str | None = None, email: str | None = None, postcode: str | None = None
) -> Query:
    """Normalise what was asked for; InvalidQuery names a field that cannot be searched for."""
    name_terms: tuple[Term, ...] = ()
    if name and name.strip():
        words = name_words(name)
        if not words:
            raise InvalidQuery(NAME, "give a name with at least one letter or digit")
        # An initial narrows nothing (the index holds whole words); the other words do.
        long_words = [word for word in words if len(word) > 1] or words
        name_terms = tuple(Term(NAME, word) for word in dict.fromkeys(long_words))
    found = Query(
        name=name_terms,
        phone=_single(PHONE, phone, phone_digits, "give a telephone number of at least 6 digits"),
        email=_single(EMAIL, email, email_address, "give an e-mail address"),
        postcode=_single(POSTCODE, postcode, full_postcode, "give a full postcode such as L8 0AA"),
    )
    if not found.kinds:
        raise InvalidQuery(NAME, "give at least one of name, phone, email or postcode")
    return found


def _single(kind: str, raw: str | None, normalise: Callable[[str], str | None], message: str) -> Term | None:
    if raw is None or not raw.strip():
        return None
    value = normalise(raw)
    if value is None:
        raise InvalidQuery(kind, message)
    return Term(kind, value)


class BlindIndex:
    """Digests of terms under the blind-index key."""

    def __init__(self, key: str):
        self._key = secret(key).encode()

    def digest(self, term: Term) -> str:
        message = f"{term.kind}\x1f{term.value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def digests(self, terms: Iterable[Term]) -> list[str]:
        return sorted({self.digest(term) for term in terms})

    def of_personal(self, personal: Mapping[str, Any] | None) -> list[str]:
        """What a contact stores: the digests of every person's identifiers in it."""
        return self.digests(term for person in people(personal).values() for term in person_terms(person))

    def matched(self, personal: Mapping[str, Any] | None, asked: Query) -> dict[str, list[str]]:
        """{part in the contact: kinds that matched}, to show why a contact was found."""
        matches: dict[str, list[str]] = {}
        for role, person in people(personal).items():
            held = person_terms(person)
            kinds = [kind for kind, terms in asked.alternatives() if all(term in held for term in terms)]
            if kinds:
                matches[role] = kinds
        return matches

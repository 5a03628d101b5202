"""Whose is which part of a contact's personal data, for subject access.

A letter's, call's or e-mail's personal data is its requester's. A referral's
holds several people: the family (with their children, and the notes the
referrer wrote about them), the professional who referred, and whoever recorded
the family's consent. A person is given their own part and no one else's (UK
GDPR article 15: other people's data is left out), and an erasure at the
request of someone the contact is not about (the referrer, the consent
recorder) clears their part only.

The parts are named as blind_index.people names them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from ccshared import contracts as c

REQUESTER = "requester"
FAMILY = "family"
REFERRER = c.ERASED_REFERRER
CONSENT_RECORDED_BY = c.ERASED_CONSENT_RECORDER
# The people a contact is about: their part is all of it but the other people's.
SUBJECTS = (REQUESTER, FAMILY)
WHOLE = c.ERASED_ALL


def about_them(roles: Iterable[str]) -> bool:
    """Whether the contact is about the person found in it (not only someone who referred)."""
    return any(role in SUBJECTS for role in roles)


def own_part(personal: Mapping[str, Any], roles: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """(the person's own part of the personal data, the fields left out as other people's)."""
    roles = set(roles)
    if about_them(roles):
        part = copy.deepcopy(dict(personal))
        if REFERRER not in roles:
            part.pop(REFERRER, None)
        if CONSENT_RECORDED_BY not in roles and isinstance(part.get("consent"), dict):
            part["consent"].pop("recorded_by", None)
    else:
        part = {}
        if REFERRER in roles and REFERRER in personal:
            part[REFERRER] = copy.deepcopy(personal[REFERRER])
        consent = personal.get("consent")
        if CONSENT_RECORDED_BY in roles and isinstance(consent, Mapping):
            part["consent"] = {key: consent.get(key) for key in ("recorded_by", "recorded_at")}
    return part, _left_out(personal, part)


def without(personal: Mapping[str, Any], roles: Iterable[str]) -> dict[str, Any]:
    """The personal data with the referrer's or consent recorder's part cleared."""
    kept = copy.deepcopy(dict(personal))
    roles = set(roles)
    if REFERRER in roles:
        kept[REFERRER] = None
    if CONSENT_RECORDED_BY in roles and isinstance(kept.get("consent"), dict):
        kept["consent"].pop("recorded_by", None)
    return kept


def _left_out(personal: Mapping[str, Any], part: Mapping[str, Any]) -> list[str]:
    left = [key for key, value in personal.items() if key not in part and value]
    consent = personal.get("consent")
    if isinstance(consent, Mapping) and "consent" in part:
        left += [f"consent.{key}" for key, value in consent.items() if key not in part["consent"] and value]
    return left

"""The sample letter, telephone message and referral the tests post, one copy for every test directory.

A test that needs another centre, time or channel builds on these (`{**LETTER, "centre_id": ...}`).

Obviously made up: "Test" names, Ofcom's drama phone range, example.org addresses.
"""

from __future__ import annotations

LETTER = {
    "channel": "letter",
    "centre_id": "centre-north",
    "subject": "Test subject about a nursery place",
    "summary": "Test summary text of the letter",
    "requester": {"name": "Test Parent", "reply_by": "post", "address": "1 Test Street, Liverpool L4 0AA"},
}

# A telephone message whose caller asked to be rung back: the phone number is personal data too.
TELEPHONE = {
    **LETTER,
    "channel": "telephone",
    "summary": "Test summary of the call",
    "requester": {"name": "Test Parent", "reply_by": "telephone", "phone": "07700 900123"},
}

REFERRAL = {
    "centre_id": "centre-south",
    "referrer": {"name": "Test Referrer", "role": "health visitor", "email": "referrer@example.org"},
    "family": {"name": "Test Family Carer", "phone": "07700 900123", "postcode": "L8 0AA"},
    "children": [{"age_years": 2}, {"age_months": 7}],
    "support_needed": ["stay-and-play", "health-visitor-clinic"],
    "urgency": "soon",
    "consent": {"given": True, "recorded_by": "Test Referrer", "recorded_at": "2026-11-22T09:30:00+00:00"},
    "notes": "Test note: family new to the area",
}

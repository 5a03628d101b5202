"""Where to tell a referral's referrer: asked of the contacts service at send time.

The agency's notification address, the referring professional's work address
and the decline reason's words stay in the contacts service (they never travel
in events). Just before a partner's notice goes, delivery asks for them over
contacts' internal API with a short-lived service token; nothing of the answer
is stored here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import requests
from ccshared import tracing
from ccshared.contracts import SERVICE_CONTACTS
from ccshared.mailboxes import same_address

from .domain import REFERRER_OF
from .mail import TemporaryFailure
from .service_api import ServiceApi


@dataclass(frozen=True)
class ReferralFacts:
    reference: str
    agency_name: str
    agency_email: str | None
    referrer_email: str | None
    referral_status: str
    decline_reason_code: str | None
    decline_reason: str | None

    def address(self, role: str) -> str | None:
        return self.referrer_email if role == REFERRER_OF else self.agency_email

    def erased(self) -> ReferralFacts:
        """Without what a contact's erasure clears: the referrer's address, the decline's words."""
        return dataclasses.replace(self, referrer_email=None, decline_reason=None)

    def agency_has_copy(self, role: str) -> bool:
        """The referrer's address is the agency's own: the agency's copy reaches that mailbox."""
        return role == REFERRER_OF and same_address(self.referrer_email, self.agency_email)


@dataclass(frozen=True)
class AgencyFacts:
    agency_name: str
    agency_email: str | None

    def address(self, role: str) -> str | None:
        return self.agency_email

    def agency_has_copy(self, role: str) -> bool:
        return False


@dataclass(eq=False)
class Referrers(ServiceApi):
    audience: ClassVar[str] = SERVICE_CONTACTS
    timeout: float = 10.0

    def facts(self, contact_id: str) -> ReferralFacts | None:
        """The referral's facts; None if contacts has no such referral; TemporaryFailure if it cannot say."""
        body = self._get(f"/api/v1/internal/referrals/{contact_id}")
        if body is None:
            return None
        return ReferralFacts(
            reference=body["reference"],
            agency_name=body["agency_name"],
            agency_email=body.get("agency_email"),
            referrer_email=None if body.get("personal_erased") else body.get("referrer_email"),
            referral_status=body["referral_status"],
            decline_reason_code=body.get("decline_reason_code"),
            decline_reason=body.get("decline_reason"),
        )

    def agency(self, agency_id: str) -> AgencyFacts | None:
        """An agency's name and notification address; None if contacts knows no such agency."""
        body = self._get(f"/api/v1/internal/agencies/{agency_id}")
        return AgencyFacts(body["agency_name"], body.get("agency_email")) if body else None

    def _get(self, path: str) -> dict | None:
        headers = {
            "Authorization": self._bearer(),
            "Accept": "application/json",
        }
        try:
            reply = self.session.get(
                self.base_url + path, headers=tracing.inject(headers), timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise TemporaryFailure(
                f"contacts service unreachable: {type(exc).__name__}", "contacts_unreachable"
            ) from exc
        if reply.status_code == 404:
            return None
        if reply.status_code != 200:
            raise TemporaryFailure(f"contacts service answered {reply.status_code}", "contacts_error")
        return reply.json()

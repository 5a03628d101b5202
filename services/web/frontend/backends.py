"""What the front end asks of each service, in one place per service.

The routes call these methods; only this module knows the services' paths,
query names and body shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ccshared import contracts
from ccshared.auth import StaffUser

from .clients import Reply, ServiceClient, ServiceError

API = "/api/v1"
PER_PAGE = 100  # the most a list answers at once


@dataclass(eq=False)
class Backend:
    """One service's client, as the front end's methods for that service call it."""

    client: ServiceClient

    def every_page(self, path: str, query: dict[str, Any], as_staff: bool = True) -> list[dict]:
        """Every item of a paged list, following its pages until `total` items are in."""
        items: list[dict] = []
        page, total = 0, 1
        while page * PER_PAGE < total:
            page += 1
            body = self.client.get(
                path, params={**query, "page": page, "per_page": PER_PAGE}, as_staff=as_staff
            )
            items.extend(body.get("items", []))
            total = body.get("total", 0)
        return items


class Directory(Backend):
    def search(self, **query: Any) -> dict:
        return self.client.get(f"{API}/centres", params=query, as_staff=False)

    def centre(self, centre_id: str) -> dict:
        return self.client.get(f"{API}/centres/{centre_id}", as_staff=False)

    def centre_for_edit(self, centre_id: str) -> tuple[dict, str | None]:
        reply = self.client.call("GET", f"{API}/centres/{centre_id}")
        return reply.body, reply.headers.get("ETag")

    def services_list(self) -> list[dict]:
        return self.client.get(f"{API}/services-list", as_staff=False).get("items", [])

    def all_centres(self) -> list[dict]:
        """Every centre, for pick lists (a city has tens of centres)."""
        return self.every_page(f"{API}/centres", {}, as_staff=False)

    def update(self, centre_id: str, fields: dict, etag: str) -> dict:
        return self.client.call(
            "PATCH", f"{API}/centres/{centre_id}", json=fields, headers={"If-Match": etag}
        ).body

    def verify(self, centre_id: str, etag: str | None = None) -> dict:
        headers = {"If-Match": etag} if etag else {}
        return self.client.post(f"{API}/centres/{centre_id}/verify", headers=headers)

    def stale(self) -> dict:
        return self.client.get(f"{API}/centres/stale")

    def audit(self, centre_id: str) -> list[dict]:
        return self.client.get(f"{API}/centres/{centre_id}/audit").get("items", [])

    def partner_feeds(self) -> dict:
        """Each partner feed's state, and every service imported from them (hidden ones too)."""
        return self.client.get(f"{API}/partner-feeds")

    def set_partner_hidden(self, partner_id: str, hidden: bool, reason: str | None = None) -> dict:
        action = "hide" if hidden else "show"
        body = {"reason": reason} if reason else {}
        return self.client.post(f"{API}/partner-services/{quote(partner_id, safe='')}/{action}", json=body)


class Contacts(Backend):
    def page(self, **query: Any) -> dict:
        return self.client.get(f"{API}/contacts", params=query)

    def all_open(self, **query: Any) -> list[dict]:
        """Every contact matching query, following pages (a day's caseload is small)."""
        return self.every_page(f"{API}/contacts", query)

    def list_file(self, format: str, **query: Any) -> Reply:
        """Every contact matching query as a CSV or XLSX file (no personal data)."""
        return self.client.call("GET", f"{API}/contacts", params={**query, "format": format})

    def get(self, contact_id: str) -> dict:
        return self.client.get(f"{API}/contacts/{contact_id}")

    def log(self, body: dict, idempotency_key: str) -> dict:
        return self.client.post(f"{API}/contacts", body, headers={"Idempotency-Key": idempotency_key})

    def act(self, contact_id: str, action: str, body: dict | None = None) -> dict:
        """assign, respond, close, withdraw, referral/open, referral/accept or referral/decline."""
        return self.client.post(f"{API}/contacts/{contact_id}/{action}", body or {})

    def subject_search(self, identifiers: dict[str, str]) -> dict:
        """A subject access export: every contact about the person (admins only; audited there)."""
        return self.client.post(f"{API}/subject-access/search", identifiers)

    def subject_erase(
        self, identifiers: dict[str, str], contact_ids: list[str], reason: str, case_reference: str | None
    ) -> dict:
        """Erase the person (found by their search's identifiers) from the contacts: all of a contact
        about them, only their part of one they referred or recorded consent for."""
        body = identifiers | {"contact_ids": contact_ids, "reason": reason}
        return self.client.post(
            f"{API}/subject-access/erase",
            body | ({"case_reference": case_reference} if case_reference else {}),
        )


class Referrals(Backend):
    """The contacts service's partner API, called as the signed-in partner user (whose
    token names the agency), so contacts shows only that agency's referrals."""

    def page(self, **query: Any) -> dict:
        """The agency's referrals, newest first: {"items", "total", "page", "per_page"}."""
        return self.client.get(f"{API}/referrals", params=query)

    def get(self, referral_id: str) -> dict:
        return self.client.get(f"{API}/referrals/{quote(referral_id, safe='')}")

    def agency_name(self) -> str:
        """The signed-in partner user's agency's name, as its profile in contacts gives it."""
        return self.client.get(f"{API}/referrals/agency")["agency_name"]

    def nearest_centre(self, postcode_district: str, support_needed: list[str]) -> dict:
        """The centre a "nearest suitable" referral would go to, and why."""
        params = {"postcode_district": postcode_district, "support_needed": ",".join(support_needed)}
        return self.client.get(f"{API}/referrals/nearest-centre", params=params)

    def send(self, body: dict, idempotency_key: str) -> dict:
        return self.client.post(f"{API}/referrals", body, headers={"Idempotency-Key": idempotency_key})

    def agency_registered(self, agency: str) -> bool:
        """Whether contacts knows the agency, asked as a partner user of it would be (before making one)."""
        user = StaffUser("account-check", contracts.ROLE_PARTNER, None, agency)
        try:
            self.client.get(f"{API}/referrals", params={"per_page": 1}, as_user=user)
        except ServiceError as error:
            if error.status == 403:  # contacts: "agency ... is not registered here"
                return False
            raise
        return True


class SlaMonitor(Backend):
    def clocks(self, **query: Any) -> list[dict]:
        """Running clocks (open, at risk, breached), soonest due first."""
        return self.client.get(f"{API}/clocks", params={"limit": 500, **query}).get("clocks", [])

    def clock_of(self, contact: dict) -> dict | None:
        """One contact's clock, running or stopped; None while the monitor has not seen the contact."""
        try:
            return self.client.get(f"{API}/clocks/{quote(str(contact['id']), safe='')}")
        except ServiceError as error:
            if error.status == 404:
                return None
            raise

    def due(self, contact: dict) -> dict:
        """When the contact falls due, by the same calendar and targets as its clock."""
        query = {name: contact.get(name) for name in ("channel", "received_at", "urgency", "area")}
        return self.client.get(f"{API}/due", params=query, as_staff=False)

    def compliance(self, *, as_staff: bool = False, **query: Any) -> dict:
        """{"groups": [{key, met, breached, open, total, percent_met}], "totals": {...}}.

        Anonymous (the public pages): whole months, each month's groups in "monthly" (each
        naming its month) and totals in "months"; "fewer than 5" for a small count and
        "withheld" for a cell from which one could be worked out.
        """
        return self.client.get(f"{API}/reports/compliance", params=query, as_staff=as_staff)

    def compliance_file(self, format: str, **query: Any) -> Reply:
        """The staff report as a CSV or XLSX file."""
        return self.client.call("GET", f"{API}/reports/compliance", params={**query, "format": format})


class Notifier(Backend):
    def notifications(self, **query: Any) -> dict:
        return self.client.get(f"{API}/notifications", params=query)

    def resend(self, notification_id: str) -> dict:
        """Send a failed notification again (409 if it is not failed)."""
        return self.client.post(f"{API}/notifications/{quote(notification_id, safe='')}/resend")

    def messages(self) -> dict:
        return self.client.get(f"{API}/messages")

    def message(self, message_id: str) -> dict:
        return self.client.get(f"{API}/messages/{message_id}")


@dataclass(frozen=True)
class Backends:
    directory: Directory
    contacts: Contacts
    referrals: Referrals
    sla: SlaMonitor
    notifier: Notifier

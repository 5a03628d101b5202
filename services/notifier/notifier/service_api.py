"""Another service's internal API, called with the notifier's own short-lived service token.

The notifier asks the SLA monitor for compliance figures (compliance.py) and the
contacts service for a referrer's address (referrers.py); each call carries a new
token signed with SERVICE_TOKEN_PRIVATE_KEY, for that service alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import requests
from ccshared.auth import StaffUser, TokenIssuer
from ccshared.contracts import ROLE_SERVICE, SERVICE_NOTIFIER

SERVICE_USER = StaffUser(SERVICE_NOTIFIER, ROLE_SERVICE)


@dataclass(eq=False)
class ServiceApi:
    audience: ClassVar[str]  # the service called: the token is good there only

    base_url: str
    tokens: TokenIssuer
    timeout: float
    session: requests.Session = field(default_factory=requests.Session, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    def _bearer(self) -> str:
        return f"Bearer {self.tokens.issue(SERVICE_USER, self.audience)}"

"""Identity between the front end and the services, and between services.

The front end signs a short-lived token carrying the user's name, role and
area (or, for a partner agency's user, the agency); each service verifies it
and enforces access to its own data. A service calling another's internal API
signs one with the service role. Staff endpoints accept staff roles only.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from flask import request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .contracts import AREAS, ROLE_ADMIN, ROLE_PARTNER, ROLE_PRINCIPAL, ROLES, TOKEN_ROLES
from .errors import Forbidden, Unauthorized

TOKEN_SECONDS = 300
_SALT = "cc-staff-token"
AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


@dataclass(frozen=True)
class StaffUser:
    username: str
    role: str
    area: str | None = None
    agency: str | None = None  # a partner user's agency id; None for everyone else

    @property
    def sees_all_areas(self) -> bool:
        return self.role in (ROLE_PRINCIPAL, ROLE_ADMIN)

    def may_see_area(self, area: str) -> bool:
        return self.sees_all_areas or area == self.area


class TokenSigner:
    def __init__(self, secret: str, max_age: int = TOKEN_SECONDS):
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age = max_age

    def issue(self, user: StaffUser) -> str:
        return self._serializer.dumps(asdict(user))

    def verify(self, token: str) -> StaffUser:
        try:
            claims = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired as exc:
            raise Unauthorized("staff token has expired; sign in again") from exc
        except BadSignature as exc:
            raise Unauthorized("staff token is not valid") from exc
        role, area, agency = claims.get("role"), claims.get("area"), claims.get("agency")
        if role not in TOKEN_ROLES or (area is not None and area not in AREAS):
            raise Unauthorized("staff token carries an unknown role or area")
        if (role == ROLE_PARTNER) != (isinstance(agency, str) and AGENCY_ID.match(agency) is not None):
            raise Unauthorized("a partner's token names its agency, and only a partner's does")
        return StaffUser(username=str(claims.get("username")), role=role, area=area, agency=agency)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_staff(signer: TokenSigner, roles: tuple[str, ...] = ROLES) -> StaffUser:
    """The signed-in staff user of this request, or 401/403."""
    token = bearer_token()
    if token is None:
        raise Unauthorized("sign in as staff: Authorization: Bearer <staff token> is required")
    user = signer.verify(token)
    if user.role not in roles:
        raise Forbidden(f"role {user.role} may not do this")
    return user

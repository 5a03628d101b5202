"""Staff identity between the front end and the services.

The front end signs a short-lived token carrying the user's name, role and
area; each service verifies it and enforces access to its own data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flask import request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .contracts import AREAS, ROLE_ADMIN, ROLE_PRINCIPAL, ROLES
from .errors import Forbidden, Unauthorized

TOKEN_SECONDS = 300
_SALT = "cc-staff-token"


@dataclass(frozen=True)
class StaffUser:
    username: str
    role: str
    area: str | None = None

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
        role, area = claims.get("role"), claims.get("area")
        if role not in ROLES or (area is not None and area not in AREAS):
            raise Unauthorized("staff token carries an unknown role or area")
        return StaffUser(username=str(claims.get("username")), role=role, area=area)


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

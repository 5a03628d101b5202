"""Identity between the front end and the services, and between services.

The front end signs a token per call (an EdDSA JWT) carrying the user's name,
role and area (or, for a partner agency's user, the agency), addressed to the
one service it calls; each service checks it with the front end's public key
and enforces access to its own data. No service can make a staff token: it
holds the public key only. A service calling another's internal API signs its
own token with the service role and a key pair of its own. Staff endpoints
accept staff roles only.

A token lives TOKEN_SECONDS, and a checker allows LEEWAY_SECONDS of clock
difference, so it is refused at most 5 s after it was made. The front end checks
its session on every request before making one, so signing out or disabling a
user stops their access to every service within those 5 s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import request
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import OKPKey

from .contracts import (
    AREAS,
    ROLE_ADMIN,
    ROLE_PARTNER,
    ROLE_PRINCIPAL,
    ROLE_SERVICE,
    ROLES,
    SERVICE_WEB,
    TOKEN_ROLES,
)
from .errors import Forbidden, Unauthorized
from .timeutil import Clock, SystemClock

TOKEN_SECONDS = 4
LEEWAY_SECONDS = 1
# EdDSA with Ed25519, by its RFC 9864 name (the bare "EdDSA" name is deprecated).
ALGORITHM = "Ed25519"
STAFF_ISSUER = SERVICE_WEB
# The header's key id says which key checks the token: the front end's, or the calling services'.
STAFF_KEY_ID = "staff"
SERVICE_KEY_ID = "service"
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

    def may_see_area(self, area: str | None) -> bool:
        """Theirs, unless their role sees every area; a record of no area is not one's own."""
        return self.sees_all_areas or (area is not None and area == self.area)


def _seconds(clock: Clock) -> int:
    return int(clock.now().timestamp())


class TokenIssuer:
    """Makes tokens with a private key: the front end's for staff, a service's for itself."""

    def __init__(self, issuer: str, private_key: OKPKey, clock: Clock | None = None):
        if not private_key.is_private:
            raise ValueError("making tokens needs a private key")
        self.issuer = issuer
        self._key = private_key
        self._key_id = STAFF_KEY_ID if issuer == STAFF_ISSUER else SERVICE_KEY_ID
        self.clock = clock or SystemClock()

    def issue(self, user: StaffUser, audience: str) -> str:
        """A token for `user`, good only at the service named `audience` and only briefly."""
        if (user.role == ROLE_SERVICE) == (self._key_id == STAFF_KEY_ID):
            raise ValueError(f"{self.issuer} may not make a token for role {user.role}")
        now = _seconds(self.clock)
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "sub": user.username,
            "role": user.role,
            "area": user.area,
            "agency": user.agency,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_SECONDS,
        }
        header = {"alg": ALGORITHM, "kid": self._key_id}
        return jwt.encode(header, claims, self._key, algorithms=[ALGORITHM])


class TokenVerifier:
    """Checks tokens addressed to one service, with public keys only."""

    def __init__(
        self,
        audience: str,
        staff_key: OKPKey,
        service_key: OKPKey | None = None,
        clock: Clock | None = None,
    ):
        keys = {STAFF_KEY_ID: staff_key, SERVICE_KEY_ID: service_key}
        if any(key is not None and key.is_private for key in keys.values()):
            raise ValueError("a service checks tokens with public keys only")
        self.audience = audience
        self._keys = keys
        self.clock = clock or SystemClock()

    def verify(self, token: str) -> StaffUser:
        key_id = self._key_id(token)
        key = self._keys.get(key_id)
        if key is None:
            raise Unauthorized("token is signed with a key this service does not accept")
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM]).claims
            self._registry(key_id).validate(claims)
        except ExpiredTokenError as exc:
            raise Unauthorized("staff token has expired; sign in again") from exc
        except (InvalidClaimError, MissingClaimError) as exc:
            raise Unauthorized(f"staff token is not valid here: {exc.description}") from exc
        except (JoseError, ValueError, TypeError) as exc:
            raise Unauthorized("staff token is not valid") from exc
        if claims["exp"] - claims["iat"] > TOKEN_SECONDS:
            raise Unauthorized("staff token lives longer than tokens may")
        return _user(claims, service=key_id == SERVICE_KEY_ID)

    @staticmethod
    def _key_id(token: str) -> str | None:
        try:
            key_id = jws.extract_compact(token.encode()).protected.get("kid")
        except (JoseError, ValueError, TypeError, AttributeError) as exc:
            raise Unauthorized("staff token is not valid") from exc
        return key_id if isinstance(key_id, str) else None

    def _registry(self, key_id: str) -> jwt.JWTClaimsRegistry:
        issuer = {"value": STAFF_ISSUER} if key_id == STAFF_KEY_ID else {}
        return jwt.JWTClaimsRegistry(
            now=lambda: _seconds(self.clock),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, **issuer},
            aud={"essential": True, "value": self.audience},
            sub={"essential": True},
            iat={"essential": True},
            exp={"essential": True},
        )


def _user(claims: dict, *, service: bool) -> StaffUser:
    role, area, agency = claims.get("role"), claims.get("area"), claims.get("agency")
    if role not in TOKEN_ROLES or (area is not None and area not in AREAS):
        raise Unauthorized("staff token carries an unknown role or area")
    if service != (role == ROLE_SERVICE) or (service and claims["iss"] == STAFF_ISSUER):
        raise Unauthorized("the service role comes only with a service's own key")
    if (role == ROLE_PARTNER) != (isinstance(agency, str) and AGENCY_ID.match(agency) is not None):
        raise Unauthorized("a partner's token names its agency, and only a partner's does")
    return StaffUser(username=str(claims["sub"]), role=role, area=area, agency=agency)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_staff(verifier: TokenVerifier, roles: tuple[str, ...] = ROLES) -> StaffUser:
    """The signed-in staff user of this request, or 401/403."""
    token = bearer_token()
    if token is None:
        raise Unauthorized("sign in as staff: Authorization: Bearer <staff token> is required")
    user = verifier.verify(token)
    if user.role not in roles:
        raise Forbidden(f"role {user.role} may not do this")
    return user

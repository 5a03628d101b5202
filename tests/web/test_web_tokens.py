"""The front end's tokens to the services: one per call, addressed to the service
called, and dead within 5 s of a sign-out or a disabled account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ccshared.auth import ALGORITHM, TokenVerifier
from ccshared.errors import Unauthorized
from ccshared.timeutil import FixedClock
from ccshared.web import provided
from frontend.views import Context
from joserfc import jwt
from web_testkit import AUDIENCES, CONTACTS, SLA

from tests.infra import tokens


def _token(call) -> str:  # noqa: ANN001 - web_testkit.Call
    scheme, _, token = call.headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


def _dead_within_five_seconds(token: str, audience: str) -> None:
    """Accepted when made, refused 5 s after it was made, whatever happens meanwhile."""
    made = datetime.fromtimestamp(
        jwt.decode(token, tokens.STAFF_PUBLIC, algorithms=[ALGORITHM]).claims["iat"], UTC
    )

    def verify_at(moment: datetime):  # noqa: ANN202
        return TokenVerifier(audience, tokens.STAFF_PUBLIC, clock=FixedClock(moment)).verify(token)

    assert verify_at(made).username == "t.north"
    with pytest.raises(Unauthorized):
        verify_at(made + timedelta(seconds=5))


def test_each_call_carries_a_fresh_token_for_the_service_called(client, services, sign_in):
    sign_in("t.north", "coordinator", "north")

    client.get("/staff/today")

    to_contacts = services.last("GET", "/api/v1/contacts")
    to_sla = services.last("GET", "/api/v1/clocks")
    assert to_contacts.url.startswith(CONTACTS) and to_sla.url.startswith(SLA)
    assert to_contacts.user.username == to_sla.user.username == "t.north"
    contacts_token, sla_token = _token(to_contacts), _token(to_sla)
    assert (
        jwt.decode(contacts_token, tokens.STAFF_PUBLIC, algorithms=[ALGORITHM]).claims["aud"]
        == AUDIENCES[CONTACTS]
    )
    with pytest.raises(Unauthorized):
        TokenVerifier(AUDIENCES[SLA], tokens.STAFF_PUBLIC).verify(contacts_token)
    with pytest.raises(Unauthorized):
        TokenVerifier(AUDIENCES[CONTACTS], tokens.STAFF_PUBLIC).verify(sla_token)


@pytest.mark.parametrize("ending", ["sign-out", "disable"])
def test_signing_out_or_disabling_stops_the_users_tokens_within_five_seconds(
    client, services, sign_in, web_app, ending
):
    sign_in("t.north", "coordinator", "north")
    page = client.get("/staff/today")
    last_token = _token(services.last("GET", "/api/v1/contacts"))
    calls_before = len(services.calls)

    if ending == "sign-out":
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/sign-out", data={"csrf_token": csrf})
    else:
        provided(web_app, Context).desk.set_disabled("t.north", True)

    assert client.get("/staff/today").status_code == 302, "no page, so no new token"
    assert all("Authorization" not in call.headers for call in services.calls[calls_before:])
    _dead_within_five_seconds(last_token, AUDIENCES[CONTACTS])

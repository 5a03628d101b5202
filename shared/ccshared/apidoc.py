"""What lets a caller into each operation, said in the service's OpenAPI document.

Every operation that needs a credential names it, so a partner's developer or a
generated client knows before trying which one to send: the front end's staff
token, a partner agency's API key, or a service's own token. An operation that
names none is open to anyone (the documents declare no global requirement). The
names here are the only spelling of those schemes.
"""

from __future__ import annotations

from flask_smorest import Api

STAFF_TOKEN = "staffToken"
SERVICE_TOKEN = "serviceToken"
PARTNER_KEY = "partnerApiKey"
PARTNER_KEY_HEADER = "X-API-Key"

SCHEMES = {
    STAFF_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token the front end signs (Ed25519) for the signed-in user, addressed to "
        "this service and refused 5 s after it was made; a script gets one per call with "
        "`python -m frontend api`.",
    },
    SERVICE_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token another of the project's services signs with its own key.",
    },
    PARTNER_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": PARTNER_KEY_HEADER,
        "description": "A partner agency's key, issued by `python -m contacts agency-key create`.",
    },
}

# Keyword arguments for a blueprint's `doc(...)`.
STAFF_ONLY = {"security": [{STAFF_TOKEN: []}]}
SERVICE_ONLY = {"security": [{SERVICE_TOKEN: []}]}
# A partner agency by its key, or one of its users through the front end's partner pages.
PARTNER = {"security": [{PARTNER_KEY: []}, {STAFF_TOKEN: []}]}
# Open to anyone; a staff or service token shows more (the compliance report's small counts).
PUBLIC_MORE_WITH_TOKEN = {"security": [{}, {STAFF_TOKEN: []}, {SERVICE_TOKEN: []}]}


def declare(api: Api, *names: str) -> None:
    """Add the schemes this service accepts to its document's components."""
    for name in names:
        api.spec.components.security_scheme(name, SCHEMES[name])

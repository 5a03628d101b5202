"""HTML security for the front end: headers, CSRF tokens and the session cookie."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, abort, request, session

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
CSRF_FIELD = "csrf_token"
_CSRF_KEY = "csrf"


def csrf_token() -> str:
    """The session's CSRF token, made on first use; every form carries it."""
    token = session.get(_CSRF_KEY)
    if not token:
        token = session[_CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get(_CSRF_KEY)
    sent = request.form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(expected, sent):
        abort(400, description="csrf")


def _headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    static = request.path.startswith("/static/")
    response.headers["Cache-Control"] = "public, max-age=3600" if static else "no-store"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def init_app(app: Flask, *, secret_key: str, cookie_secure: bool) -> None:
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="cc_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=cookie_secure,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    app.before_request(_check_csrf)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token

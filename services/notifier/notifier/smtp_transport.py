"""SMTP transport: connections kept open across messages, one envelope recipient per message.

The transaction is driven step by step (MAIL, RCPT, DATA) so the server's
reply to DATA, its promise to deliver, is what goes in the delivery log.

Opening a connection (TCP, greeting, EHLO, maybe TLS and a login) costs more
than a message, so a connection goes back to a small pool after each
transaction and the next message reuses it. Each one carries at most
`messages_per_connection` messages, and `release()` closes the idle ones (the
delivery loop calls it when nothing is due). Only one thread uses a
connection at a time.

A reused connection may have been closed by the server while it sat idle. If
it fails at MAIL FROM, the first command of a transaction, nothing of this
message was handed over, so it goes again on a fresh connection at once. A
failure any later is reported as before (temporary or permanent), and the
delivery loop's retry rules apply.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from .config import SmtpSettings
from .mail import WIRE_POLICY, PermanentFailure, TemporaryFailure

_LOST = (smtplib.SMTPServerDisconnected, smtplib.SMTPNotSupportedError, OSError)
_CLOSING = 421


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    return f"{code} {words}".strip()


def _refused(stage: str, code: int, text: bytes | str) -> Exception:
    reason = f"{stage}: {_reply(code, text)}"
    if 400 <= code < 500 or code < 0:
        return TemporaryFailure(reason, "smtp_deferred")
    return PermanentFailure(reason, "smtp_rejected")


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye without letting a bad QUIT turn an accepted message into a failure."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class _Refusal(Exception):
    """The server answered a command with a refusal; the connection is still in step."""

    def __init__(self, stage: str, code: int, text: bytes | str):
        super().__init__(stage, code, text)
        self.stage = stage
        self.code = code
        self.failure = _refused(stage, code, text)


class _Stale(Exception):
    """A reused connection failed at MAIL FROM: nothing of the message was handed over."""


@dataclass
class _Connection:
    smtp: smtplib.SMTP
    reused: bool = False
    transactions: int = 0


class SmtpTransport:
    def __init__(self, settings: SmtpSettings, ssl_context: ssl.SSLContext | None = None):
        self.settings = settings
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def deliver(self, message: EmailMessage, recipient: str, key: str) -> str:
        try:
            connection = self._take()
            if connection is not None:
                try:
                    return self._send(connection, message, recipient)
                except _Stale:
                    pass
            return self._send(_Connection(self._connect()), message, recipient)
        except smtplib.SMTPResponseException as exc:
            raise _refused("server", exc.smtp_code, exc.smtp_error) from exc
        except _LOST as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}", "smtp_unreachable") from exc

    def delivered_reply(self, key: str) -> str | None:
        """SMTP cannot be asked afterwards whether it took a message."""
        return None

    def erase(self, key: str, at: datetime) -> None:
        """Nothing of a sent message is kept here: it is the mail server's and its readers'."""

    def release(self) -> None:
        """Close the idle connections; the next message opens a new one."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            _quit(connection.smtp)

    def _take(self) -> _Connection | None:
        with self._lock:
            return self._idle.pop() if self._idle else None

    def _give_back(self, connection: _Connection) -> None:
        if connection.transactions >= self.settings.messages_per_connection:
            _quit(connection.smtp)
            return
        connection.reused = True
        with self._lock:
            self._idle.append(connection)

    def _send(self, connection: _Connection, message: EmailMessage, recipient: str) -> str:
        connection.transactions += 1
        try:
            reply = _transaction(connection, message, recipient)
        except _Refusal as refusal:
            self._after_refusal(connection, refusal)
            raise refusal.failure from None
        except BaseException:
            connection.smtp.close()
            raise
        self._give_back(connection)
        return reply

    def _after_refusal(self, connection: _Connection, refusal: _Refusal) -> None:
        """Keep a connection that refused one message for the next, unless the server is closing it.

        A refused MAIL or RCPT leaves a transaction open: RSET ends it. A reply to
        DATA has ended it already.
        """
        if refusal.code == _CLOSING:
            connection.smtp.close()
            if connection.reused and refusal.stage == "MAIL FROM":
                raise _Stale() from None
            return
        if refusal.stage != "DATA":
            try:
                code, _ = connection.smtp.rset()
            except (smtplib.SMTPException, OSError):
                code = -1
            if code != 250:
                connection.smtp.close()
                return
        self._give_back(connection)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self.ssl_context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


def _transaction(connection: _Connection, message: EmailMessage, recipient: str) -> str:
    smtp = connection.smtp
    sender = message["From"].addresses[0].addr_spec
    try:
        code, text = smtp.mail(sender)
    except _LOST:
        if connection.reused:
            smtp.close()
            raise _Stale() from None
        raise
    if code != 250:
        raise _Refusal("MAIL FROM", code, text)
    code, text = smtp.rcpt(recipient)
    if code not in (250, 251):
        raise _Refusal("RCPT TO", code, text)
    try:
        code, text = smtp.data(message.as_bytes(policy=WIRE_POLICY))
    except _LOST as exc:  # no reply to the message handed over: it may have been accepted
        raise TemporaryFailure(
            f"{type(exc).__name__}: {exc}", "smtp_unreachable", maybe_delivered=True
        ) from exc
    if code != 250:
        raise _Refusal("DATA", code, text)
    return _reply(code, text)

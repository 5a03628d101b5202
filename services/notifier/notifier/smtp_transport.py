"""SMTP transport: one connection per message, one envelope recipient per message.

The transaction is driven step by step (MAIL, RCPT, DATA) so the server's
reply to DATA, its promise to deliver, is what goes in the delivery log.
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from email.message import EmailMessage

from .config import SmtpSettings
from .mail import PermanentFailure, TemporaryFailure


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    return f"{code} {words}".strip()


def _refused(stage: str, code: int, text: bytes | str) -> Exception:
    reason = f"{stage}: {_reply(code, text)}"
    if 400 <= code < 500 or code < 0:
        return TemporaryFailure(reason)
    return PermanentFailure(reason)


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye without letting a bad QUIT turn an accepted message into a failure."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class SmtpTransport:
    def __init__(self, settings: SmtpSettings, ssl_context: ssl.SSLContext | None = None):
        self.settings = settings
        self.ssl_context = ssl_context or ssl.create_default_context()

    def deliver(self, message: EmailMessage, recipient: str, key: str) -> str:
        try:
            smtp = self._connect()
            try:
                return self._transaction(smtp, message, recipient)
            finally:
                _quit(smtp)
        except smtplib.SMTPResponseException as exc:
            raise _refused("server", exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPNotSupportedError, OSError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc

    def delivered_reply(self, key: str) -> str | None:
        """SMTP cannot be asked afterwards whether it took a message."""
        return None

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

    def _transaction(self, smtp: smtplib.SMTP, message: EmailMessage, recipient: str) -> str:
        sender = message["From"].addresses[0].addr_spec
        code, text = smtp.mail(sender)
        if code != 250:
            raise _refused("MAIL FROM", code, text)
        code, text = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise _refused("RCPT TO", code, text)
        code, text = smtp.data(message.as_bytes(policy=email.policy.SMTP))
        if code != 250:
            raise _refused("DATA", code, text)
        return _reply(code, text)

"""File transport for the embedded run: each message is an .eml file staff can read.

Files are named by the notification's key and written atomically (a temporary
file, then a rename), so a resend replaces the file instead of adding a second
copy, and a reader never sees half a message. The file's existence is the
answer to "was it delivered?" after a crash.

When contacts erases the personal data of the contact a message was about, the
file is written again without its addresses and words: what stays is what the
delivery log keeps (its Message-ID, date, subject, event and area) and a note
of the erasure (`X-CC-Erased-At`).
"""

from __future__ import annotations

import email.policy
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

from ccshared import private
from ccshared.text import one_line
from ccshared.timeutil import LONDON, to_str

from .mail import WIRE_POLICY, TemporaryFailure

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
SUFFIX = ".eml"
ERASED_AT = "X-CC-Erased-At"
# What an erased message keeps: nothing that names a person or says what was written.
KEPT_HEADERS = (
    "Message-ID",
    "Date",
    "From",
    "Subject",
    "Auto-Submitted",
    "X-CC-Event-Type",
    "X-CC-Event-Id",
    "X-CC-Area",
)


def valid_key(key: str) -> bool:
    return bool(_KEY.match(key)) and ".." not in key


class FileTransport:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def deliver(self, message: EmailMessage, recipient: str, key: str) -> str:
        if not valid_key(key):
            raise ValueError(f"unsafe message key {key!r}")
        del message["Delivered-To"]
        message["Delivered-To"] = recipient
        return f"250 written {self._write(key, message)}"

    def erase(self, key: str, at: datetime) -> None:
        """Write the message again without its addresses and words; nothing if there is none,
        or it was erased already."""
        path = self.directory / f"{key}{SUFFIX}"
        if not valid_key(key) or not path.is_file():
            return
        with open(path, "rb") as handle:
            kept = BytesHeaderParser(policy=email.policy.default).parse(handle)
        if kept[ERASED_AT] is not None:
            return
        self._write(key, erased_copy(kept, at))

    def _write(self, key: str, message: EmailMessage) -> str:
        target = self.directory / f"{key}{SUFFIX}"
        temporary = self.directory / f".{key}.{uuid.uuid4().hex}.tmp"
        try:
            private.make_dir(self.directory)
            private.write_new(temporary, message.as_bytes(policy=WIRE_POLICY))
            os.replace(temporary, target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise TemporaryFailure(f"writing {target.name}: {exc}") from exc
        return target.name

    def delivered_reply(self, key: str) -> str | None:
        target = self.directory / f"{key}{SUFFIX}"
        return f"250 found {target.name}" if valid_key(key) and target.is_file() else None

    def release(self) -> None:
        """Nothing is kept open between messages."""


def erased_copy(kept, at: datetime) -> EmailMessage:
    """What stays of a message once the contact it was about is erased: the headers that
    name no one, and a note of when its addresses and words were erased."""
    copy = EmailMessage()
    for name in KEPT_HEADERS:
        if kept[name] is not None:
            copy[name] = one_line(str(kept[name]))
    copy["To"] = "undisclosed-recipients:;"
    copy[ERASED_AT] = to_str(at)
    when = at.astimezone(LONDON).strftime("%-d %B %Y, %H:%M")
    note = (
        f"This e-mail's words and its recipient's address were erased on {when}, with the "
        "personal data of the contact it was about. The delivery log keeps when it was sent."
    )
    copy.set_content(note, subtype="plain", charset="utf-8")
    copy.add_alternative(f"<p>{note}</p>", subtype="html", charset="utf-8")
    return copy


@dataclass(frozen=True)
class StoredMessage:
    id: str
    to: str
    cc: str | None
    delivered_to: str | None
    subject: str
    date: str
    area: str | None
    event_type: str | None
    erased_at: str | None = None
    text: str | None = None
    html: str | None = None


class Mailbox:
    """Reads the file transport's messages back for the staff front end."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def list(self) -> list[StoredMessage]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.glob(f"*{SUFFIX}"):
            with open(path, "rb") as handle:
                headers = BytesHeaderParser(policy=email.policy.default).parse(handle)
            found.append((path.stat().st_mtime, _summary(path.stem, headers)))
        return [message for _, message in sorted(found, key=lambda pair: pair[0], reverse=True)]

    def get(self, key: str) -> StoredMessage | None:
        path = self.directory / f"{key}{SUFFIX}"
        if not valid_key(key) or not path.is_file():
            return None
        with open(path, "rb") as handle:
            message = BytesParser(policy=email.policy.default).parse(handle)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        return _summary(
            key,
            message,
            text=text.get_content() if text else None,
            html=html.get_content() if html else None,
        )


def _header(headers, name: str) -> str | None:
    """A header's value unfolded: the parser keeps the whitespace of each fold (a leading
    space when the writer folded right after "Name:"), and compose wrote every one on one line."""
    value = headers.get(name)
    return one_line(str(value)) if value is not None else None


def _summary(key: str, headers, text: str | None = None, html: str | None = None) -> StoredMessage:
    return StoredMessage(
        id=key,
        to=_header(headers, "To") or "",
        cc=_header(headers, "Cc") or None,
        delivered_to=_header(headers, "Delivered-To") or None,
        subject=_header(headers, "Subject") or "",
        date=_header(headers, "Date") or "",
        area=_header(headers, "X-CC-Area") or None,
        event_type=_header(headers, "X-CC-Event-Type") or None,
        erased_at=_header(headers, ERASED_AT) or None,
        text=text,
        html=html,
    )

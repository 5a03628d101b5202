"""What a URL or port a setting names must hold, checked at start, and how an error may show one.

The bus and the store each say which URLs they take (`bus.check_url`, `store.check_url`) with these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def without_credentials(raw: str) -> str:
    """A URL as an error may show it: all before the host's '@' (a user and password) masked."""
    if "@" not in raw:
        return raw
    scheme = _SCHEME.match(raw)
    start = scheme.end() if scheme else 0
    return raw[:start] + "***" + raw[raw.rindex("@") :]


def port(raw: str) -> int:
    """A TCP port: a whole number from 1 to 65535."""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise ValueError("must be a whole number from 1 to 65535")
    return value


def with_scheme(*schemes: str) -> Callable[[str], str]:
    """A URL with one of these schemes; an http(s) base URL names its host and loses a trailing slash."""

    def parse(raw: str) -> str:
        scheme = raw.split(":", 1)[0]
        if scheme not in schemes:
            raise ValueError(f"scheme must be one of {', '.join(schemes)}")
        if scheme not in ("http", "https"):
            return raw
        if not raw.startswith(f"{scheme}://") or not urlsplit(raw).hostname:
            raise ValueError(f"expected {scheme}://host[:port][/path]")
        return raw.rstrip("/")

    return parse


http_url = with_scheme("http", "https")


def sqlite_path(raw: str) -> str:
    """The file of a sqlite:///path URL (an absolute path has four slashes)."""
    path = raw.removeprefix("sqlite:///")
    if path == raw or not path.strip("/"):
        raise ValueError("expected sqlite:///path/to/file.db (three slashes; four for an absolute path)")
    return path


def hosts(netloc: str, what: str) -> list[str]:
    """host[:port],... of a URL, each naming a host ([::1] for IPv6) and any port a valid one."""
    found = netloc.split(",")
    for host in found:
        name, given = host, ""
        if ":" in host and not host.endswith("]"):  # host:port, [::1]:port (a bare [::1] has none)
            name, _, given = host.rpartition(":")
        if not name.strip("[]"):
            raise ValueError(f"names no {what} host")
        if given:
            port(given)
    return found

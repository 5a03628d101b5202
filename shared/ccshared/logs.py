"""Structured logging: one JSON object per line, with the `extra` fields given.

Log ids, types, counts and reasons only; never a member of the public's
personal data (names, addresses, phone numbers, children's details).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# kafka-python reports a broker going away (a restart, a rolling upgrade) at error
# level, line by line per socket. That is expected weather: the outbox keeps the
# events, consumers resume, and the lag and backlog metrics (and their alerts) show
# an outage that lasts. So those lines are warnings; anything else kafka-python
# calls an error stays one. Some lines say only "Error receiving network data" and
# carry the reason in the exception (a reset or refused socket), so its type counts
# as much as the message. A bootstrap that runs out of time ("Bootstrap failed: ... Unable
# to bootstrap from ...") follows attempts already logged: a refused or reset one is weather,
# an authorisation failure stays an error on its own line. A transport already closed
# ("<KafkaTCPTransport [none] (closed)>") that fails a last read is a close racing a read
# at shutdown, not a fault.
_BROKER_AWAY = re.compile(
    r"KafkaConnectionError|socket disconnected|Connection (lost|failed)|ECONNREFUSED|ECONNRESET"
    r"|NodeNotReady|Broker not available|Metadata refresh: failed|timed out"
    r"|Connection refused|reset by peer|Unable to bootstrap|\(closed\)>",
    re.IGNORECASE,
)


def _network_failure(record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    return isinstance(error, (ConnectionError, TimeoutError))


class BrokerAwayIsAWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno >= logging.ERROR
            and record.name.startswith("kafka")
            and (_BROKER_AWAY.search(record.getMessage()) or _network_failure(record))
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_level(raw: str) -> str:
    """A log level as LOG_LEVEL names it, in any case; WARN is WARNING (Python's logging takes both)."""
    value = raw.strip().upper()
    value = "WARNING" if value == "WARN" else value
    if value not in LEVELS:
        raise ValueError(f"expected one of {', '.join(LEVELS)}")
    return value


def configure(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(BrokerAwayIsAWarning())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(max(logging.WARNING, root.level))

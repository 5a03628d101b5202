"""Which kafka-python lines page someone: a broker going away is a warning, the rest stay errors."""

from __future__ import annotations

import logging

import pytest
from ccshared.logs import BrokerAwayIsAWarning


def _record(name: str, message: str, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(error), error, None) if error is not None else None
    return logging.LogRecord(name, logging.ERROR, __file__, 1, message, None, exc_info)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("<KafkaTCPTransport [none]>: socket disconnected", None),
        (
            "<KafkaTCPTransport [none]>: Error receiving network data closing socket",
            ConnectionResetError(104, "reset"),
        ),
        ("<KafkaTCPTransport [none]>: Error sending request data: x", BrokenPipeError(32, "pipe")),
        ("Bootstrap attempt to 1 failed: refused", ConnectionRefusedError(111, "refused")),
        ("Bootstrap attempt to bootstrap-0 failed: KafkaConnectionError (backoff 0.05 secs)", None),
        (
            "Bootstrap attempt to bootstrap-0 failed: [Errno 104] Connection reset by peer (backoff 1 secs)",
            None,
        ),
        ("Connection failed: [Errno 111] Connection refused", None),
        ("Bootstrap failed: KafkaTimeoutError: Unable to bootstrap from ['127.0.0.1:9186']", None),
        (
            "<KafkaTCPTransport [none] (closed)>: Error receiving network data closing socket",
            AttributeError("'NoneType' object has no attribute 'recv'"),
        ),
    ],
)
def test_a_broker_going_away_is_logged_as_a_warning(message, error):
    record = _record("kafka.net.transport", message, error)
    BrokerAwayIsAWarning().filter(record)
    assert (record.levelno, record.levelname) == (logging.WARNING, "WARNING")


@pytest.mark.parametrize(
    ("name", "message", "error"),
    [
        ("kafka.net.selector", "IO loop crashed (client_id=x)", RuntimeError("bug")),
        ("kafka.net.connection", "SaslHandshake failed: UnsupportedSaslMechanism", None),
        (
            "kafka.net.manager",
            "Bootstrap attempt to bootstrap-0 failed: [Error 31] ClusterAuthorizationFailedError",
            None,
        ),
        ("contacts.relay", "Connection lost to the database", ConnectionResetError(104, "reset")),
    ],
)
def test_other_errors_stay_errors(name, message, error):
    record = _record(name, message, error)
    BrokerAwayIsAWarning().filter(record)
    assert record.levelno == logging.ERROR

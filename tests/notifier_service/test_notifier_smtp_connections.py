"""Connections to the SMTP server are kept open across a batch, and a dropped one loses nothing."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from notifier import domain
from notifier_testkit import Notifier, SmtpServer, SwitchableHandler, sla_event, wire

from tests.infra.common import free_port

BREACHES = 6
COORDINATOR = "coordinator.north@example.org"
PRINCIPAL = "principal.officer@example.org"


class CountingHandler(SwitchableHandler):
    """Counts connections (one EHLO each) and QUITs; can drop a connection at MAIL FROM or during DATA."""

    def __init__(self, drop_at_mail_after: int | None = None, drop_data_at: int | None = None) -> None:
        super().__init__()
        self.connections = 0
        self.quits = 0
        self.drop_at_mail_after = drop_at_mail_after
        self.drop_data_at = drop_data_at
        self._transactions: dict[int, int] = {}
        self._data_seen = 0
        self._counts = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:  # noqa: ANN001
        with self._counts:
            self.connections += 1
            self._transactions[id(server)] = 0
        session.host_name = hostname
        return responses

    async def handle_QUIT(self, server, session, envelope) -> str:  # noqa: ANN001
        with self._counts:
            self.quits += 1
        return "221 Bye"

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:  # noqa: ANN001
        with self._counts:
            done = self._transactions[id(server)]
            self._transactions[id(server)] = done + 1
        if self.drop_at_mail_after is not None and done == self.drop_at_mail_after:
            server.transport.close()
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        with self._counts:
            self._data_seen += 1
            drop = self._data_seen == self.drop_data_at
        if drop:
            server.transport.close()
            return "451 4.3.0 never heard"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def counting_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    yield server
    server.stop()


def start(server: SmtpServer, handler: CountingHandler) -> CountingHandler:
    server.handler = handler
    server.start()
    return handler


def notifier_for(tmp_path: Path, server: SmtpServer, **env: str) -> Notifier:
    notifier = wire(
        tmp_path,
        NOTIFIER_TRANSPORT="smtp",
        NOTIFIER_SMTP_HOST="127.0.0.1",
        NOTIFIER_SMTP_PORT=str(server.port),
        NOTIFIER_SMTP_TIMEOUT="5",
        **env,
    )
    for index in range(BREACHES):
        notifier.receive(sla_event(contact_id=f"contact-{index:04d}"))
    return notifier


def accepted_once_each(notifier: Notifier, server: SmtpServer) -> None:
    copies = Counter((r.message["Message-ID"], r.rcpt_tos[0]) for r in server.received)
    log = notifier.notifications.search()
    assert len(log) == BREACHES * 2
    assert {n.status for n in log} == {domain.SENT}
    assert copies == Counter({(n.message_id, n.recipient): 1 for n in log})


@pytest.mark.parametrize("threads", ["1", "4"])
def test_a_batch_goes_over_one_connection_per_delivery_thread(tmp_path, counting_server, threads):
    handler = start(counting_server, CountingHandler())
    notifier = notifier_for(tmp_path, counting_server, NOTIFIER_DELIVERY_THREADS=threads)

    assert notifier.deliver() == BREACHES * 2

    accepted_once_each(notifier, counting_server)
    assert 1 <= handler.connections <= int(threads)
    assert handler.quits == 0  # kept open while there may be more to send
    assert notifier.deliver() == 0
    assert handler.quits == handler.connections  # nothing due: closed


def test_a_connection_carries_a_bounded_number_of_messages(tmp_path, counting_server):
    handler = start(counting_server, CountingHandler())
    notifier = notifier_for(
        tmp_path, counting_server, NOTIFIER_DELIVERY_THREADS="1", NOTIFIER_SMTP_MESSAGES_PER_CONNECTION="5"
    )

    notifier.deliver()

    accepted_once_each(notifier, counting_server)
    assert handler.connections == 3  # 12 messages, 5 a connection


def test_a_connection_dropped_between_messages_is_reopened_and_nothing_is_lost_or_doubled(
    tmp_path, counting_server
):
    handler = start(counting_server, CountingHandler(drop_at_mail_after=4))
    notifier = notifier_for(tmp_path, counting_server, NOTIFIER_DELIVERY_THREADS="1")

    assert notifier.deliver() == BREACHES * 2

    accepted_once_each(notifier, counting_server)
    assert handler.connections == 3  # dropped after 4 messages, twice
    assert {n.attempts for n in notifier.notifications.search()} == {1}


def test_a_connection_dropped_during_data_retries_that_one_and_the_batch_goes_on(tmp_path, counting_server):
    handler = start(counting_server, CountingHandler(drop_data_at=3))
    notifier = notifier_for(tmp_path, counting_server, NOTIFIER_DELIVERY_THREADS="1")

    notifier.deliver()

    log = notifier.notifications.search()
    [interrupted] = [n for n in log if n.status != domain.SENT]
    assert interrupted.status == domain.RETRYING
    assert "Disconnected" in interrupted.last_error
    assert len(counting_server.received) == BREACHES * 2 - 1
    assert handler.connections == 2

    notifier.clock.advance(seconds=notifier.settings.delivery.retry_base_seconds)
    notifier.deliver()

    accepted_once_each(notifier, counting_server)
    assert notifier.notifications.get(interrupted.id).attempts == 2


def test_a_refused_recipient_leaves_the_connection_usable_for_the_rest(tmp_path, counting_server):
    handler = start(counting_server, CountingHandler())
    handler.rcpt_replies[PRINCIPAL] = "452 4.2.2 Mailbox full"
    notifier = notifier_for(tmp_path, counting_server, NOTIFIER_DELIVERY_THREADS="1")

    notifier.deliver()

    statuses = Counter((n.recipient, n.status) for n in notifier.notifications.search())
    assert statuses == {(COORDINATOR, domain.SENT): BREACHES, (PRINCIPAL, domain.RETRYING): BREACHES}
    assert sorted(r.rcpt_tos for r in counting_server.received) == [[COORDINATOR]] * BREACHES
    assert handler.connections == 1

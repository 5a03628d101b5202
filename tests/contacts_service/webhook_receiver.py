"""A real webhook receiver on 127.0.0.1 for the tests: verifies each request's
Standard Webhooks signature, records it, and answers as told (or is down)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from standardwebhooks.webhooks import EmptyWebhookSecretError

TOKEN = "test-receiver-token-in-query"


@dataclass(frozen=True)
class Received:
    webhook_id: str
    body: str
    verified: bool
    answered: int

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """Answers `status` to correctly signed requests (401 otherwise); `stop()` refuses connections."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.status = 204
        self.delay_seconds = 0.0
        self.received: list[Received] = []
        self.port = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks?token={TOKEN}"

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self) -> list[Received]:
        """The requests answered 2xx, in arrival order."""
        with self._lock:
            return [r for r in self.received if 200 <= r.answered < 300]

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                headers = {name: value for name, value in self.headers.items()}
                try:
                    Webhook(receiver.secret or "").verify(body, headers)
                    verified = True
                except (WebhookVerificationError, EmptyWebhookSecretError):
                    verified = False
                time.sleep(receiver.delay_seconds)
                status = receiver.status if verified else 401
                receiver._record(Received(headers.get("webhook-id", ""), body, verified, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

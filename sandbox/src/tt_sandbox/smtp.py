"""An SMTP sink (aiosmtpd) for tests and demo mode.

In-process::

    with SmtpSink() as sink:          # binds a free port on 127.0.0.1
        ...send to ("127.0.0.1", sink.port)...
        message = sink.wait_for(lambda m: m.to == ["a@x.test"])

As a process (the gateway's demo "mailbox" page reads the JSON API)::

    python -m tt_sandbox.smtp --port 8025 --http-port 8026
    GET /messages -> [{"id", "from", "to", "subject", "text", "received_at"}], DELETE /messages clears.
"""

from __future__ import annotations

import argparse
import email
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedMessage:
    id: int
    sender: str
    to: list[str]
    subject: str
    text: str
    received_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["from"] = body.pop("sender")
        return body


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=policy.default
        )
        part = parsed.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
        self.sink._add(envelope.mail_from, list(envelope.rcpt_tos), str(parsed.get("Subject", "")), text)
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    # aiosmtpd's Controller cannot take port 0 (it connects to itself to confirm start-up).
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class SmtpSink:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self._messages: list[ReceivedMessage] = []
        self._lock = threading.Condition()
        self._controller = Controller(_Handler(self), hostname=host, port=self.port)

    def _add(self, sender: str, to: list[str], subject: str, text: str) -> None:
        with self._lock:
            self._messages.append(ReceivedMessage(len(self._messages) + 1, sender, to, subject, text))
            self._lock.notify_all()

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def wait_for(
        self, predicate: Callable[[ReceivedMessage], bool] = lambda m: True, timeout: float = 10.0
    ) -> ReceivedMessage:
        """Block until a received message matches (threads; in async code poll ``messages`` instead)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for message in self._messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no matching message received")
                self._lock.wait(remaining)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def http_server(sink: SmtpSink, host: str, port: int) -> ThreadingHTTPServer:
    class Api(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/messages":
                self._reply(200, [m.as_json() for m in sink.messages])
            elif self.path == "/healthz":
                self._reply(200, {"status": "ok"})
            else:
                self._reply(404, {"error": "not found"})

        def do_DELETE(self) -> None:
            if self.path.rstrip("/") == "/messages":
                sink.clear()
                self._reply(200, {"ok": True})
            else:
                self._reply(404, {"error": "not found"})

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Api)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tt_sandbox.smtp", description="SMTP sink with a JSON API"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--http-port", type=int, default=8026)
    args = parser.parse_args(argv)
    with SmtpSink(args.host, args.port) as sink:
        server = http_server(sink, args.host, args.http_port)
        print(
            f"SMTP sink on {args.host}:{args.port}; messages at http://{args.host}:{args.http_port}/messages"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


if __name__ == "__main__":
    main()

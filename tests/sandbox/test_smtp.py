"""The SMTP sink receives what smtplib sends, and its JSON API lists it."""

import json
import smtplib
import threading
import urllib.request
from email.message import EmailMessage

from tt_runtime.testing import free_port
from tt_sandbox.smtp import SmtpSink, http_server


def _send(port: int, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = "app@tradetracker.test"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.send_message(message)


def test_sink_captures_messages_and_serves_them_as_json():
    with SmtpSink() as sink:
        _send(sink.port, "alice@example.test", "Hello", "link: http://x/verify-email?token=abc\n")
        got = sink.wait_for(lambda m: m.to == ["alice@example.test"], timeout=5)
        assert got.subject == "Hello" and "token=abc" in got.text and got.sender == "app@tradetracker.test"
        server = http_server(sink, "127.0.0.1", free_port())
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/messages"
            with urllib.request.urlopen(url, timeout=5) as response:
                body = json.loads(response.read())
            assert [m["subject"] for m in body] == ["Hello"] and body[0]["from"] == "app@tradetracker.test"
            request = urllib.request.Request(url, method="DELETE")
            urllib.request.urlopen(request, timeout=5).close()
            assert sink.messages == []
        finally:
            server.shutdown()
            server.server_close()

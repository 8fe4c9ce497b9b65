"""Sending email over SMTP (smtplib in a worker thread). Failures are transient."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

from tt_runtime.errors import TransientError

from ..settings import Settings


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username and s.smtp_password is not None:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(message)

    async def send(self, to: str, subject: str, body: str) -> None:
        if not self.settings.email_enabled:
            return
        message = EmailMessage()
        message["From"] = self.settings.email_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            await asyncio.to_thread(self._send, message)
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"email not sent: {type(exc).__name__}") from exc

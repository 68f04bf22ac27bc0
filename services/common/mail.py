"""Mail through an outbox: rows written in the caller's transaction, delivered after commit.

Delivery is SMTP when SMTP_URL is set (smtp://user:pass@host:port, smtps://..., or
smtp://...?starttls=1) and files under var/outbox/ on the embedded default. A message that fails
to send stays in the outbox and is retried with backoff by the next flush.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlparse

from sqlalchemy import BigInteger, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.common.config import Settings
from services.common.db import Base, Database, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


class OutboxRow(Base):
    """One mail waiting for (or past) delivery."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")


@dataclass(frozen=True)
class Mail:
    """A plain-text mail."""

    recipient: str
    subject: str
    body: str


class MailTransport(Protocol):
    """Send one mail (blocking; run in a thread)."""

    def send(self, mail: Mail, sender: str) -> None:
        """Deliver the mail or raise."""
        ...


class DirectoryTransport:
    """Write each mail as an .eml file (the embedded default)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, mail: Mail, sender: str) -> None:
        """Write the mail under the directory."""
        self.directory.mkdir(parents=True, exist_ok=True)
        message = _message(mail, sender)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{message['Message-ID'].strip('<>').split('@')[0]}.eml"
        (self.directory / name).write_bytes(message.as_bytes())


class SmtpTransport:
    """Send through an SMTP server named by a URL."""

    def __init__(self, url: str, timeout: float = 15) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or (465 if parsed.scheme == "smtps" else 25)
        self.implicit_tls = parsed.scheme == "smtps"
        self.starttls = parse_qs(parsed.query).get("starttls", ["0"])[0] in ("1", "true")
        self.username = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.timeout = timeout

    def send(self, mail: Mail, sender: str) -> None:
        """Deliver the mail over SMTP."""
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls:
                client.starttls(context=context)
            if self.username and self.password:
                client.login(self.username, self.password)
            client.send_message(_message(mail, sender))


def _message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain="filmstudio.local")
    message.set_content(mail.body)
    return message


def transport_from_settings(settings: Settings) -> MailTransport:
    """Return SMTP when SMTP_URL is set, else the var/outbox directory."""
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url)
    return DirectoryTransport(settings.var_dir / "outbox")


class Outbox:
    """Queue mail inside a transaction; deliver pending mail after commit."""

    def __init__(self, database: Database, transport: MailTransport, sender: str) -> None:
        self.database = database
        self.transport = transport
        self.sender = sender
        self._flushing: asyncio.Task[int] | None = None
        self._lock = asyncio.Lock()

    def enqueue(self, session: AsyncSession, mail: Mail) -> None:
        """Add a mail to the caller's transaction; it is sent only if that commits."""
        session.add(OutboxRow(recipient=mail.recipient, subject=mail.subject, body=mail.body))

    def flush_soon(self) -> None:
        """Start delivering pending mail in the background (the caller does not wait)."""
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> int:
        """Deliver every due message; return how many were sent."""
        async with self._lock:
            sent = 0
            while True:
                async with self.database.session() as session, session.begin():
                    row = await session.scalar(
                        select(OutboxRow)
                        .where(OutboxRow.sent_at.is_(None))
                        .where(OutboxRow.attempts < MAX_ATTEMPTS)
                        .where(OutboxRow.next_attempt_at <= utcnow())
                        .order_by(OutboxRow.id)
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                    if row is None:
                        return sent
                    mail = Mail(row.recipient, row.subject, row.body)
                    try:
                        await asyncio.to_thread(self.transport.send, mail, self.sender)
                    except Exception as error:  # any transport failure is retried later
                        row.attempts += 1
                        row.last_error = str(error)[:500]
                        row.next_attempt_at = utcnow() + timedelta(seconds=30 * 2**row.attempts)
                        log.warning("mail delivery failed", extra={"outbox_id": row.id})
                        continue
                    row.attempts += 1
                    row.sent_at = utcnow()
                    sent += 1

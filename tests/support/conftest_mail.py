"""Fixtures of the support mail tests (test_mail_*.py import them): a working desk, a Spanish
customer with an anti-phishing code, a Spanish agent, a ticket, and raw mails built like a client."""

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone

from support.services.tickets import ticket_create
from tests.factories import UserFactory
from tests.support.factories import agent_create, desk

SUPPORT = "support@support.agora.example"
__all__ = ["agent", "customer", "the_desk", "ticket"]  # the fixtures; test modules import them with *


@pytest.fixture
def the_desk(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")  # attachments land here, not in the project's media
    return desk()


@pytest.fixture
def customer(the_desk):
    return UserFactory(email="maria@example.test", language="es", anti_phishing_code="PELICANO")


@pytest.fixture
def agent(the_desk):
    user = agent_create(languages=("es",))
    user.agent.display_name = "Lucía"
    user.agent.save(update_fields=["display_name"])
    return user


@pytest.fixture
def ticket(the_desk, customer):
    ticket, _message = ticket_create(
        customer=customer, subject="Mi retiro no llega", body="Envié 0,5 BTC ayer.", category=the_desk["categories"]["withdrawal"]
    )
    return ticket


def raw_mail(
    *,
    sender: str,
    to: str = SUPPORT,
    subject: str = "Re: Mi retiro no llega",
    text: str | None = "Gracias, ya lo veo.",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
    headers: dict | None = None,
) -> bytes:
    """An RFC 822 mail as a client sends it; attachments are (filename, mime type, bytes)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(timezone.now())
    mail["Message-ID"] = message_id or make_msgid(domain="example.test")
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    for name, value in (headers or {}).items():
        mail[name] = value
    if text is not None:
        mail.set_content(text)
    if html is not None:
        if text is None:
            mail.set_content(html, subtype="html")
        else:
            mail.add_alternative(html, subtype="html")
    for filename, mime, data in attachments:
        maintype, subtype = mime.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return mail.as_bytes()

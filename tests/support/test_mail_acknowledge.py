"""The acknowledgement of a new ticket: "we have your request, reference X, we answer by <promise>",
once, after commit, in the customer's language and time zone with the anti-phishing code; a ticket
opened by email quotes nothing of the (unproven) mail; forged mail cannot flood a customer."""

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from freezegun import freeze_time

from support import mail
from support.mail_tasks import support_mail_send
from support.models import Message, OutboundMail, SlaPolicy, Ticket
from support.services.mail_inbound import mail_receive
from support.services.notify import ACKNOWLEDGEMENTS_PER_HOUR, ticket_acknowledge
from support.services.tickets import message_post_agent, ticket_create
from tests.support.conftest_mail import *  # noqa: F403 - the fixtures (agent, customer, the_desk, ticket)
from tests.support.conftest_mail import raw_mail

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a Sunday


def _html(sent) -> str:
    (markup, mimetype) = sent.alternatives[0]
    assert mimetype == "text/html"
    return markup


@freeze_time(NOW)
def test_a_ticket_opened_on_the_web_is_acknowledged_with_reference_and_promise_in_the_customers_words(
    client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    customer.time_zone = "America/New_York"
    customer.save(update_fields=["time_zone"])
    client.force_login(customer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/es/support/new/other/", {"subject": "Comisiones & <límites>", "body": "¿Cuánto cuesta?"})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert mailoutbox == []  # nothing before commit
    for callback in callbacks:
        callback()
    (sent,) = mailoutbox
    outbound = OutboundMail.objects.get()
    assert outbound.message == ticket.messages.get(kind=Message.Kind.CUSTOMER)
    assert sent.to == ["maria@example.test"]
    # The customer's own subject, raw (a plain-text header is not HTML-escaped).
    assert sent.subject == f"[Agora] Hemos recibido tu solicitud: Comisiones & <límites> [#{ticket.reference}]"
    assert sent.body.startswith("Código antiphishing: PELICANO\n")
    assert f"Hemos recibido tu solicitud «Comisiones & <límites>». Su referencia es #{ticket.reference}." in sent.body
    # The engine's first response: Sunday 12:00 UTC + 24 h on the desk's 24/7 calendar, in New York (EST).
    assert ticket.clocks.get(metric="first_response").due_at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert "Te responderemos antes del lunes, 7:00\nZona horaria: Nueva York" in sent.body
    assert f"http://testserver/es/support/tickets/{ticket.reference}/" in sent.body
    assert "Si no nos has escrito" not in sent.body
    headers = sent.message()
    assert headers["Auto-Submitted"] == "auto-replied"
    assert headers["In-Reply-To"] == f"<ticket.{ticket.reference.lower()}@support.agora.example>"
    markup = _html(sent)
    assert "Comisiones &amp; &lt;límites&gt;" in markup and "<límites>" not in markup
    assert "lunes, 7:00" in markup and "PELICANO" in markup
    # Once per ticket, however often it is asked for.
    ticket_acknowledge(ticket=ticket, message=outbound.message)
    support_mail_send(outbound.pk)
    assert len(mailoutbox) == 1 and OutboundMail.objects.count() == 1


@freeze_time(NOW)
def test_without_a_running_clock_the_acknowledgement_promises_no_time(the_desk, customer, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        SlaPolicy.objects.update(is_active=False)  # no policy covers the ticket: no clock runs
        ticket, first = ticket_create(customer=customer, subject="Hola", body="Una pregunta", category=the_desk["categories"]["other"])
        assert not ticket.clocks.exists()
        ticket_acknowledge(ticket=ticket, message=first)
    (sent,) = mailoutbox
    assert "Te responderemos lo antes posible, en tu idioma." in sent.body
    assert "Te responderemos antes del" not in sent.body


def test_a_refused_attachment_leaves_no_ticket_and_no_acknowledgement(client, customer, mailoutbox, django_capture_on_commit_callbacks):
    client.force_login(customer)
    markup = SimpleUploadedFile("x.html", b"<html><script>alert(1)</script></html>", content_type="text/plain")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/en/support/new/other/", {"subject": "s", "body": "b", "attachments": [markup]})
    assert response.status_code == 400
    assert callbacks == [] and mailoutbox == []
    assert not Ticket.objects.exists() and not OutboundMail.objects.exists()


def test_a_ticket_opened_by_email_is_acknowledged_without_quoting_the_mail(customer, mailoutbox, django_capture_on_commit_callbacks):
    raw = raw_mail(
        sender="maria@example.test",
        subject="URGENTE: verifique su cuenta en http://agora-login.evil",
        text="Pulse http://agora-login.evil para no perder sus fondos",
        message_id="<first@example.test>",
    )
    with django_capture_on_commit_callbacks(execute=True):
        record = mail_receive(raw=raw)
    assert record.outcome == "accepted"
    (sent,) = mailoutbox
    ticket = record.ticket
    assert sent.subject == f"[Agora] Hemos recibido tu solicitud [#{ticket.reference}]"
    assert "evil" not in sent.body and "evil" not in _html(sent)  # a forger's words never ride on our anti-phishing code
    assert f"Hemos recibido tu solicitud. Su referencia es #{ticket.reference}." in sent.body
    assert "Si no nos has escrito tú, responde a este correo y cuéntanoslo: lo investigaremos." in sent.body
    assert sent.message()["In-Reply-To"] == "<first@example.test>"  # threads under the customer's own mail
    assert sent.message()["Auto-Submitted"] == "auto-replied"


def test_a_reply_by_email_to_an_open_ticket_is_not_acknowledged(ticket, customer, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record = mail_receive(raw=raw_mail(sender="maria@example.test", to=mail.reply_address(ticket=ticket), text="Otra cosa"))
    assert (record.outcome, record.ticket) == ("accepted", ticket)
    assert mailoutbox == [] and not OutboundMail.objects.exists()


def test_forged_mail_opening_many_tickets_acknowledges_only_a_few(customer, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(ACKNOWLEDGEMENTS_PER_HOUR + 3):
            mail_receive(raw=raw_mail(sender="maria@example.test", subject=f"spam {number}", text="x"))
    assert Ticket.objects.filter(customer=customer).count() == ACKNOWLEDGEMENTS_PER_HOUR + 3
    assert len(mailoutbox) == ACKNOWLEDGEMENTS_PER_HOUR


def test_only_a_tickets_own_customer_message_acknowledges_it(ticket, agent):
    reply = message_post_agent(ticket=ticket, agent=agent, body="Hola")
    with pytest.raises(ValueError):
        ticket_acknowledge(ticket=ticket, message=reply)


def test_a_reply_mail_subject_keeps_the_customers_characters(the_desk, customer, agent, mailoutbox, django_capture_on_commit_callbacks):
    ticket, _ = ticket_create(customer=customer, subject='Fees & "limits" <BTC>', body="b", category=the_desk["categories"]["other"])
    with django_capture_on_commit_callbacks(execute=True):
        message_post_agent(ticket=ticket, agent=agent, body="R & D")
    (sent,) = mailoutbox
    assert sent.subject == f'[Agora] Re: Fees & "limits" <BTC> [#{ticket.reference}]'

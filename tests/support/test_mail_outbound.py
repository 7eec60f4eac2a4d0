"""Outbound support mail: every public reply and customer-visible status change reaches the customer
once, in their language, with the anti-phishing code, the ticket link, a signed Reply-To and
threading headers; internal notes and internal events never send anything."""

import html as html_lib
import re

import pytest
from django.db import transaction
from django.utils.html import strip_tags

from support import mail
from support.mail_tasks import support_mail_send
from support.models import Message, OutboundMail, Ticket
from support.services.routing import ticket_assign
from support.services.tickets import message_post_agent, ticket_create, ticket_priority_set, ticket_reopen, ticket_status_set
from tests.factories import UserFactory
from tests.support.conftest_mail import *  # noqa: F403 - the fixtures (agent, customer, the_desk, ticket)

pytestmark = pytest.mark.django_db


def _html(message) -> str:
    (markup, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    return markup


def _visible(markup: str) -> str:
    return " ".join(html_lib.unescape(strip_tags(markup)).split())


def test_a_public_reply_mails_the_customer_in_spanish_with_code_link_and_threading(
    ticket, agent, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        reply = message_post_agent(ticket=ticket, agent=agent, body="Hola María:\nEl retiro salió hoy.")
    assert len(callbacks) == 1
    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    outbound = OutboundMail.objects.get(message=reply)
    assert sent.to == ["maria@example.test"]
    assert sent.from_email == "Agora Support <support@support.agora.example>"
    assert sent.subject == f"[Agora] Re: Mi retiro no llega [#{ticket.reference}]"
    text = sent.body
    assert text.startswith("Código antiphishing: PELICANO\n")  # the customer's language (es catalog)
    assert "Hola:" in text
    assert "Lucía" in text and f"#{ticket.reference}" in text
    assert "Hola María:\nEl retiro salió hoy." in text
    assert f"http://testserver/es/support/tickets/{ticket.reference}/" in text
    assert "El personal de Agora nunca te pedirá tu contraseña" in text
    # Threading: a unique Message-ID of ours, In-Reply-To and References at the ticket's root.
    root = f"<ticket.{ticket.reference.lower()}@support.agora.example>"
    headers = sent.message()
    assert headers["Message-ID"] == outbound.mail_id
    assert re.fullmatch(r"<[0-9a-f]{24}\.\d+@support\.agora\.example>", outbound.mail_id)
    assert headers["In-Reply-To"] == root and headers["References"] == root
    assert headers["Auto-Submitted"] is None  # a person wrote it
    # Reply-To: the ticket's signed address, naming this ticket and this customer.
    (reply_to,) = sent.reply_to
    address = reply_to.split("<")[1].rstrip(">")
    token = mail.token_of_address(address)
    assert address == f"support+{token}@support.agora.example"
    assert mail.reply_token_read(token) == (ticket.pk, ticket.customer_id)
    outbound.refresh_from_db()
    assert outbound.sent_at is not None
    assert (outbound.recipient, outbound.language) == ("maria@example.test", "es")


def test_arabic_mail_is_right_to_left_and_both_parts_carry_the_same_facts(the_desk, agent, mailoutbox, django_capture_on_commit_callbacks):
    arabic = UserFactory(language="ar", anti_phishing_code="SAQR")
    ticket, _ = ticket_create(customer=arabic, subject="سحب", body="أين سحبي؟", category=the_desk["categories"]["withdrawal"])
    agent.agent.languages = ["ar", "es"]
    agent.agent.save(update_fields=["languages"])
    with django_capture_on_commit_callbacks(execute=True):
        message_post_agent(ticket=ticket, agent=agent, body="تم إرسال السحب <b>اليوم</b>")
    (sent,) = mailoutbox
    markup = _html(sent)
    assert '<html lang="ar" dir="rtl">' in markup
    assert sent.body.startswith("رمز مكافحة التصيد الاحتيالي: SAQR\n")
    assert "مرحبًا،" in sent.body
    visible = _visible(markup)
    for fact in ("رمز مكافحة التصيد الاحتيالي: SAQR", "مرحبًا،", "Lucía", "تم إرسال السحب <b>اليوم</b>", ticket.reference):
        assert fact in visible
    assert f'href="http://testserver/ar/support/tickets/{ticket.reference}/"' in markup
    assert "<b>اليوم</b>" not in markup  # the reply is the agent's text, escaped
    assert "freeze/link/#" in sent.body and "freeze/link/#" in markup


def test_internal_notes_and_internal_events_never_send_mail(ticket, agent, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message_post_agent(ticket=ticket, agent=agent, body="Cliente VIP, revisar con compliance", internal=True)
        ticket_assign(ticket=ticket, assignee=agent, by=agent)
        ticket_priority_set(ticket=ticket, priority="high", by=agent)
    assert callbacks == []
    assert mailoutbox == []
    assert not OutboundMail.objects.exists()
    assert ticket.messages.filter(internal=True).count() == 3


def test_an_internal_message_handed_to_notify_directly_is_still_not_mailed(ticket, agent, mailoutbox, django_capture_on_commit_callbacks):
    from support.services.notify import message_notify

    note = Message.objects.create(ticket=ticket, kind=Message.Kind.AGENT, internal=True, author=agent, body="secreto")
    customer_message = ticket.messages.get(kind=Message.Kind.CUSTOMER)
    with django_capture_on_commit_callbacks(execute=True):
        message_notify(message=note)
        message_notify(message=customer_message)
    assert mailoutbox == []
    assert not OutboundMail.objects.exists()


def test_a_status_change_by_an_agent_is_mailed_as_an_automatic_notice(ticket, agent, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_status_set(ticket=ticket, status=Ticket.Status.PENDING, by=agent)
    (sent,) = mailoutbox
    event = ticket.messages.get(kind=Message.Kind.SYSTEM, event="status")
    assert OutboundMail.objects.get().message == event
    assert sent.message()["Auto-Submitted"] == "auto-generated"
    assert "Waiting for your reply" in sent.body or "Esperando tu respuesta" in sent.body
    assert "Lucía" not in sent.body
    assert f"http://testserver/es/support/tickets/{ticket.reference}/" in sent.body


def test_a_reply_that_solves_the_ticket_is_one_mail_with_both(ticket, agent, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_post_agent(ticket=ticket, agent=agent, body="Resuelto: el retiro llegó.", status=Ticket.Status.SOLVED)
    (sent,) = mailoutbox
    outbound = OutboundMail.objects.get()
    assert outbound.message == reply
    assert outbound.status_event == ticket.messages.get(event="status")
    assert "Resuelto: el retiro llegó." in sent.body
    assert "answer within 7 days" in sent.body or "7 días" in sent.body  # SUPPORT_REOPEN_DAYS
    assert sent.message()["Auto-Submitted"] is None


def test_the_customers_own_reopen_sends_no_mail(ticket, agent, customer, mailoutbox, django_capture_on_commit_callbacks):
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ticket_reopen(ticket=ticket, customer=customer)
    assert callbacks == [] and mailoutbox == []


def test_the_task_is_safe_to_run_twice(ticket, agent, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message_post_agent(ticket=ticket, agent=agent, body="Una respuesta")
    outbound = OutboundMail.objects.get()
    sent_at = outbound.sent_at
    support_mail_send(outbound.pk)
    support_mail_send.delay(outbound.pk)
    support_mail_send(outbound.pk + 1000)  # a vanished row is not an error
    assert len(mailoutbox) == 1
    outbound.refresh_from_db()
    assert outbound.sent_at == sent_at


def test_a_rolled_back_reply_sends_nothing(ticket, agent, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            message_post_agent(ticket=ticket, agent=agent, body="Nunca enviado")
            raise RuntimeError("the request failed after the reply")
    assert callbacks == [] and mailoutbox == []
    assert not OutboundMail.objects.exists()


def test_the_task_runs_only_after_commit(ticket, agent, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message_post_agent(ticket=ticket, agent=agent, body="Pronto")
    assert mailoutbox == []  # queued, not sent, until the transaction commits
    assert OutboundMail.objects.get().sent_at is None
    for callback in callbacks:
        callback()
    assert len(mailoutbox) == 1


def test_each_mail_has_its_own_message_id_and_an_email_ticket_threads_under_the_customers_mail(
    the_desk, customer, agent, mailoutbox, django_capture_on_commit_callbacks
):
    ticket, _ = ticket_create(
        customer=customer,
        subject="Depósito",
        body="No veo mi depósito",
        category=the_desk["categories"]["deposit"],
        channel="email",
        email_message_id="<first-mail@example.test>",
    )
    with django_capture_on_commit_callbacks(execute=True):
        message_post_agent(ticket=ticket, agent=agent, body="Lo revisamos")
    with django_capture_on_commit_callbacks(execute=True):
        message_post_agent(ticket=ticket, agent=agent, body="Ya está acreditado")
    first, second = (sent.message() for sent in mailoutbox)
    assert first["Message-ID"] != second["Message-ID"]
    assert first["In-Reply-To"] == second["In-Reply-To"] == "<first-mail@example.test>"
    assert first["References"] == "<first-mail@example.test>"


def test_an_inactive_customer_gets_no_mail(ticket, agent, customer, mailoutbox, django_capture_on_commit_callbacks):
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        message_post_agent(ticket=ticket, agent=agent, body="¿Sigue ahí?")
    assert mailoutbox == []
    assert OutboundMail.objects.get().sent_at is None


def test_the_reply_token_is_short_lowercase_and_refuses_any_change(ticket):
    token = mail.reply_token(ticket=ticket)
    assert token == token.lower()
    assert len(f"support+{token}") <= 64  # RFC 5321 local part
    assert mail.reply_token_read(token) == (ticket.pk, ticket.customer_id)
    assert mail.reply_token_read(token.upper()) == (ticket.pk, ticket.customer_id)  # a mail system that uppercases
    value, signature = token.rsplit(".", 1)
    flipped = signature[:-1] + ("a" if signature[-1] != "a" else "b")
    assert mail.reply_token_read(f"{value}.{flipped}") is None
    assert mail.reply_token_read(f"zz-{value.split('-')[1]}.{signature}") is None  # another ticket, same signature
    assert mail.reply_token_read(value) is None
    assert mail.reply_token_read("") is None
    # Another salt's signature of the same value is not ours.
    from django.core import signing

    assert mail.reply_token_read(signing.Signer(sep=".").sign(value).lower()) is None


def test_a_public_event_other_than_a_status_is_told_in_the_customers_words(ticket, mailoutbox, django_capture_on_commit_callbacks):
    from support.services.notify import message_notify

    event = Message.objects.create(ticket=ticket, kind=Message.Kind.SYSTEM, event="recovery", data={"request": 7, "status": "credited"})
    with django_capture_on_commit_callbacks(execute=True):
        message_notify(message=event)
    (sent,) = mailoutbox
    assert "#7" in sent.body  # support.selectors.customer.event_text, as the ticket page shows it
    assert sent.message()["Auto-Submitted"] == "auto-generated"


def test_the_worker_registers_the_send_task():
    """The worker finds tasks in <app>/tasks.py only: support/tasks.py must re-export support.mail_tasks."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    pytest.importorskip("support.tasks", reason="support/tasks.py arrives with the SLA sweeper and re-exports support.mail_tasks")
    code = (
        "import django; django.setup(); from config.celery import app; app.loader.import_default_modules(); "
        "print('support.mail_tasks.support_mail_send' in app.tasks)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
    )
    assert result.stdout.strip().splitlines()[-1] == "True", result.stderr[-2000:]

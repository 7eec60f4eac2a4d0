"""Inbound support mail: replies thread to their ticket by the signed reply-to address or by our
Message-IDs; only the ticket's customer may write into it (a forged sender or token is refused and
reported); a second delivery changes nothing; attachments land; Maildir and stdin modes; a new
ticket by email; quoted history, signatures and HTML are stripped to the customer's text."""

import io
import logging
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from support import mail
from support.models import Attachment, InboundMail, Message, OutboundMail, Ticket
from support.services.mail_inbound import html_to_text, mail_receive, reply_text
from support.services.tickets import message_post_agent, ticket_create, ticket_status_set
from tests.factories import UserFactory
from tests.support.conftest_mail import *  # noqa: F403 - the fixtures (agent, customer, the_desk, ticket)
from tests.support.conftest_mail import SUPPORT, raw_mail

pytestmark = pytest.mark.django_db
Outcome = InboundMail.Outcome


def _reply_address(ticket) -> str:
    return f"support+{mail.reply_token(ticket=ticket)}@support.agora.example"


def _customer_messages(ticket):
    return list(ticket.messages.filter(kind=Message.Kind.CUSTOMER).order_by("id"))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def answered(ticket, agent, django_capture_on_commit_callbacks):
    """The agent answered and asked for more (pending): the customer got our mail."""
    with django_capture_on_commit_callbacks(execute=True):
        message_post_agent(ticket=ticket, agent=agent, body="¿Nos envías el hash?", status=Ticket.Status.PENDING)
    return OutboundMail.objects.get(ticket=ticket)


GMAIL_REPLY = """El hash es 0xabc123, lo envié a las 10:00.

Saludos,
María

El lun, 7 dic 2026 a las 10:00, Agora Support (<support@support.agora.example>)
escribió:

> Código antiphishing: PELICANO
>
> ¿Nos envías el hash?
"""


def test_a_reply_to_the_signed_address_threads_to_its_ticket(ticket, answered, mailoutbox):
    record = mail_receive(raw=raw_mail(sender="María <maria@example.test>", to=_reply_address(ticket), text=GMAIL_REPLY))
    assert (record.outcome, record.reason, record.ticket) == (Outcome.ACCEPTED, "", ticket)
    first, reply = _customer_messages(ticket)
    assert record.message == reply
    assert reply.body == "El hash es 0xabc123, lo envié a las 10:00.\n\nSaludos,\nMaría"
    assert (reply.via, reply.author) == ("email", ticket.customer)
    assert reply.email_message_id == record.mail_id
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN  # the customer answered what we waited for
    assert record.recipient == _reply_address(ticket)
    assert len(mailoutbox) == 1  # the customer's own message sends them nothing


def test_a_reply_threads_by_in_reply_to_when_sent_to_the_plain_address(ticket, answered):
    record = mail_receive(raw=raw_mail(sender="MARIA@Example.TEST", to=SUPPORT, in_reply_to=answered.mail_id, text="Aquí está: 0xabc"))
    assert (record.outcome, record.ticket) == (Outcome.ACCEPTED, ticket)
    assert _customer_messages(ticket)[-1].body == "Aquí está: 0xabc"


def test_a_reply_threads_by_references_and_a_lowercased_token_still_reads(ticket, answered):
    by_references = mail_receive(
        raw=raw_mail(sender="maria@example.test", references=f"<other@example.test> {answered.mail_id}", text="Por References")
    )
    assert (by_references.outcome, by_references.ticket) == (Outcome.ACCEPTED, ticket)
    upper = mail_receive(raw=raw_mail(sender="maria@example.test", to=_reply_address(ticket).upper(), text="En mayúsculas"))
    assert (upper.outcome, upper.ticket) == (Outcome.ACCEPTED, ticket)
    assert [m.body for m in _customer_messages(ticket)[1:]] == ["Por References", "En mayúsculas"]


def test_the_envelope_recipient_header_is_read_too(ticket, answered):
    record = mail_receive(
        raw=raw_mail(
            sender="maria@example.test", to="undisclosed-recipients:;", headers={"Delivered-To": _reply_address(ticket)}, text="Hola"
        )
    )
    assert (record.outcome, record.ticket) == (Outcome.ACCEPTED, ticket)


def test_a_forged_sender_is_refused_and_reported_to_the_ticket_s_agents(ticket, answered):
    before = ticket.messages.count()
    record = mail_receive(raw=raw_mail(sender="Mallory <mallory@evil.test>", to=_reply_address(ticket), text="Envíen los fondos a 1Evil"))
    assert (record.outcome, record.reason, record.ticket, record.message) == (Outcome.REFUSED, "sender_mismatch", ticket, None)
    assert record.sender == "mallory@evil.test"
    assert [m.body for m in _customer_messages(ticket)] == ["Envié 0,5 BTC ayer."]
    (report,) = ticket.messages.filter(event="mail_refused")
    assert (report.kind, report.internal) == (Message.Kind.SYSTEM, True)
    assert report.data == {"reason": "sender_mismatch", "sender": "mallory@evil.test", "subject": "Re: Mi retiro no llega"}
    assert "mallory@evil.test" in mail.mail_event_text(report)
    assert ticket.messages.count() == before + 1
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING  # nothing the forger sent moved the ticket


def test_a_forged_sender_threading_by_header_is_refused_too(ticket, answered):
    record = mail_receive(raw=raw_mail(sender="mallory@evil.test", in_reply_to=answered.mail_id, text="Hola"))
    assert (record.outcome, record.reason, record.ticket) == (Outcome.REFUSED, "sender_mismatch", ticket)
    assert len(_customer_messages(ticket)) == 1


@pytest.mark.parametrize(
    ("results", "accepted"),
    [
        (["mx.agora.example; dmarc=pass header.from=example.test; dkim=pass header.d=example.test"], True),
        (["mx.agora.example; dkim=pass (good signature) header.d=example.test; spf=fail"], True),
        (["mx.agora.example; spf=pass smtp.mailfrom=maria@example.test"], True),
        (["mx.agora.example; dkim=pass header.d=evil.test; spf=pass smtp.mailfrom=evil.test"], False),  # another domain's pass
        (["mx.agora.example; dmarc=fail header.from=example.test; dkim=fail header.d=example.test"], False),
        (["mx.agora.example; dmarc=pass header.from=evil.test"], False),
        (["evil.test; dmarc=pass header.from=example.test"], False),  # not written by our MTA
        ([], False),  # no verdict at all
    ],
)
def test_with_an_authserv_id_only_mail_our_mta_authenticated_for_the_from_domain_is_filed(
    ticket, answered, customer, settings, results, accepted
):
    """The From header alone proves nothing: with SUPPORT_MAIL_AUTHSERV_ID set, mail that our MTA did
    not authenticate for the From domain is refused and reported, even from the customer's address."""
    settings.SUPPORT_MAIL_AUTHSERV_ID = "mx.agora.example"
    assert customer.email == "maria@example.test"
    raw = raw_mail(sender=customer.email, to=_reply_address(ticket), text="Soy yo, de verdad")
    raw = b"".join(f"Authentication-Results: {line}\r\n".encode() for line in results) + raw
    record = mail_receive(raw=raw)
    if accepted:
        assert record.outcome == Outcome.ACCEPTED
        assert _customer_messages(ticket)[-1].body == "Soy yo, de verdad"
    else:
        assert (record.outcome, record.reason, record.ticket) == (Outcome.REFUSED, "unauthenticated", ticket)
        (report,) = ticket.messages.filter(event="mail_refused", data__reason="unauthenticated")
        assert "our mail server could not confirm that it came from the customer's address" in mail.mail_event_text(report)
        assert not ticket.messages.filter(body="Soy yo, de verdad").exists()


def test_without_an_authserv_id_the_from_address_decides(ticket, answered, customer, settings):
    settings.SUPPORT_MAIL_AUTHSERV_ID = ""
    record = mail_receive(raw=raw_mail(sender=customer.email, to=_reply_address(ticket), text="Sin cabeceras"))
    assert record.outcome == Outcome.ACCEPTED


def test_a_forged_or_altered_token_is_refused(the_desk, ticket, answered, customer):
    token = mail.reply_token(ticket=ticket)
    value, signature = token.rsplit(".", 1)
    other, _ = ticket_create(customer=UserFactory(), subject="Otro", body="Otro ticket", category=the_desk["categories"]["other"])
    forged = [
        f"{value}.{'a' * len(signature)}",  # a made-up signature
        f"{value[:-1]}{'2' if value[-1] != '2' else '3'}.{signature}",  # another customer id under this signature
        f"{mail.reply_token(ticket=other).rsplit('.', 1)[0]}.{signature}",  # another ticket under this signature
        value,  # no signature at all
    ]
    for bad in forged:
        record = mail_receive(raw=raw_mail(sender="maria@example.test", to=f"support+{bad}@support.agora.example", text="Hola"))
        assert (record.outcome, record.reason, record.ticket) == (Outcome.REFUSED, "bad_token", None), bad
    # A genuine token of another customer's ticket, sent by our customer: not her ticket.
    record = mail_receive(raw=raw_mail(sender="maria@example.test", to=_reply_address(other), text="Hola"))
    assert (record.outcome, record.reason, record.ticket) == (Outcome.REFUSED, "sender_mismatch", other)
    assert len(_customer_messages(ticket)) == 1 and len(_customer_messages(other)) == 1
    assert not ticket.messages.filter(event="mail_refused").exists()


def test_a_second_delivery_of_the_same_mail_changes_nothing(ticket, answered):
    raw = raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="Una vez", message_id="<once@example.test>")
    first = mail_receive(raw=raw)
    second = mail_receive(raw=raw)
    assert (first.outcome, second.outcome, second.reason) == (Outcome.ACCEPTED, Outcome.DUPLICATE, "seen_before")
    assert [m.body for m in _customer_messages(ticket)] == ["Envié 0,5 BTC ayer.", "Una vez"]
    # A refused mail delivered again is not reported twice either.
    forged = raw_mail(sender="mallory@evil.test", to=_reply_address(ticket), text="x", message_id="<forged@evil.test>")
    assert [mail_receive(raw=forged).outcome for _ in range(2)] == [Outcome.REFUSED, Outcome.DUPLICATE]
    assert ticket.messages.filter(event="mail_refused").count() == 1
    # Without a Message-ID the bytes identify the mail.
    bare = raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="Sin id").replace(b"Message-ID:", b"X-Old-Id:")
    assert [mail_receive(raw=bare).outcome for _ in range(2)] == [Outcome.ACCEPTED, Outcome.DUPLICATE]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_add_the_reply_once(ticket, answered):
    from tests.conftest import on_postgres, run_concurrently

    if not on_postgres():
        pytest.skip("needs PostgreSQL")
    raw = raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="A la vez", message_id="<race@example.test>")
    outcomes = run_concurrently(4, lambda i: mail_receive(raw=raw).outcome)
    assert sorted(outcomes) == [Outcome.ACCEPTED] + [Outcome.DUPLICATE] * 3
    assert [m.body for m in _customer_messages(ticket)] == ["Envié 0,5 BTC ayer.", "A la vez"]


def test_an_attachment_lands_on_the_message_and_a_refused_one_keeps_the_text(ticket, answered):
    record = mail_receive(
        raw=raw_mail(
            sender="maria@example.test",
            to=_reply_address(ticket),
            text="Adjunto la captura.",
            attachments=[("captura.png", "image/png", _png()), ("factura.exe", "application/octet-stream", b"MZ\x90\x00" + b"\x00" * 60)],
        )
    )
    assert (record.outcome, record.reason) == (Outcome.ACCEPTED, "attachments_refused:attachment_type")
    message = record.message
    assert message.body == "Adjunto la captura."
    (attachment,) = Attachment.objects.filter(message=message)
    assert (attachment.original_name, attachment.content_type) == ("captura.png", "image/png")
    with attachment.file.open("rb") as stored:
        assert Image.open(stored).size == (4, 3)
    (report,) = ticket.messages.filter(event="mail_attachment_refused")
    assert report.internal and report.data == {"files": [{"name": "factura.exe", "code": "attachment_type"}]}


def test_a_mail_of_attachments_only_lands_with_their_names(ticket, answered):
    record = mail_receive(
        raw=raw_mail(
            sender="maria@example.test", to=_reply_address(ticket), text=None, html="", attachments=[("hash.png", "image/png", _png())]
        )
    )
    assert record.outcome == Outcome.ACCEPTED
    assert record.message.body == "hash.png"
    assert record.message.attachments.count() == 1


def test_a_known_customer_writing_to_the_support_address_opens_a_ticket_in_her_language(the_desk, mailoutbox):
    brasileira = UserFactory(email="joana@example.test", language="pt-br")
    record = mail_receive(raw=raw_mail(sender="Joana <Joana@Example.test>", subject="Fwd: Depósito sumiu", text="Meu depósito não chegou."))
    assert record.outcome == Outcome.ACCEPTED
    ticket = record.ticket
    assert (ticket.customer, ticket.channel, ticket.language, ticket.queue.language) == (brasileira, "email", "pt-br", "pt")
    assert (ticket.subject, ticket.category.slug) == ("Depósito sumiu", "other")
    (message,) = ticket.messages.all()
    assert (message.body, message.via, message.email_message_id) == ("Meu depósito não chegou.", "email", record.mail_id)


def test_an_unknown_sender_without_a_thread_is_recorded_unmatched(the_desk):
    record = mail_receive(raw=raw_mail(sender="stranger@example.test", text="Hola"))
    assert (record.outcome, record.reason, record.ticket) == (Outcome.UNMATCHED, "unknown_sender", None)
    assert not Ticket.objects.exists()


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(ticket, answered, agent):
    ticket_status_set(ticket=ticket, status=Ticket.Status.CLOSED, by=agent)
    record = mail_receive(raw=raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="Otra vez no llega"))
    assert record.outcome == Outcome.ACCEPTED
    follow_up = record.ticket
    assert follow_up != ticket
    assert (follow_up.subject, follow_up.category, follow_up.channel) == ("Mi retiro no llega", ticket.category, "email")
    assert follow_up.messages.get(event="mail_follow_up").data == {"previous": ticket.reference}
    assert len(_customer_messages(ticket)) == 1


def test_an_auto_reply_is_recorded_and_does_not_reopen_a_solved_ticket(ticket, answered, agent):
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    record = mail_receive(
        raw=raw_mail(
            sender="maria@example.test", to=_reply_address(ticket), text="Estoy de vacaciones", headers={"Auto-Submitted": "auto-replied"}
        )
    )
    assert (record.outcome, record.reason) == (Outcome.REFUSED, "auto_reply")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED


def test_a_mail_over_the_size_limit_is_refused_unread_and_reported(ticket, answered, settings):
    settings.SUPPORT_MAIL_MAX_BYTES = 2000
    raw = raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="x" * 5000)
    record = mail_receive(raw=raw)
    assert (record.outcome, record.reason, record.size) == (Outcome.REFUSED, "too_large", len(raw))
    assert ticket.messages.get(event="mail_refused").data["reason"] == "too_large"
    assert len(_customer_messages(ticket)) == 1


def test_our_own_mail_coming_back_is_refused(ticket, answered):
    record = mail_receive(raw=raw_mail(sender=SUPPORT, to=_reply_address(ticket), text="loop"))
    assert (record.outcome, record.reason) == (Outcome.REFUSED, "from_us")


def test_an_html_only_mail_is_stored_as_text(ticket, answered):
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<p>Hola,&nbsp;aquí <b>el hash</b>: <a href='https://etherscan.io/tx/0xabc'>0xabc</a></p><p>Gracias</p>"
        "<div class='gmail_quote'><div class='gmail_attr'>El lun, 7 dic 2026, Agora Support &lt;support@support.agora.example&gt; escribió:</div>"
        "<blockquote class='gmail_quote'><p>¿Nos envías el hash?</p></blockquote></div></body></html>"
    )
    record = mail_receive(raw=raw_mail(sender="maria@example.test", to=_reply_address(ticket), text=None, html=html))
    assert record.message.body == "Hola, aquí el hash: 0xabc (https://etherscan.io/tx/0xabc)\n\nGracias"


def test_nothing_of_a_body_is_logged(ticket, answered, caplog):
    with caplog.at_level(logging.DEBUG):
        mail_receive(raw=raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="SECRETO-DEL-CUERPO"))
        mail_receive(raw=raw_mail(sender="mallory@evil.test", to=_reply_address(ticket), text="OTRO-SECRETO"))
    assert caplog.records  # the outcomes are logged
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "SECRETO-DEL-CUERPO" not in logged and "OTRO-SECRETO" not in logged
    assert "accepted" in logged and "sender_mismatch" in logged


# --- the command -----------------------------------------------------------------------------------------


def test_the_command_reads_one_mail_from_standard_input(ticket, answered):
    out = io.StringIO()
    raw = raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="Por la tubería")
    call_command("support_mail_inbound", stdin=io.BytesIO(raw), stdout=out)
    assert out.getvalue().strip() == "accepted"
    assert _customer_messages(ticket)[-1].body == "Por la tubería"
    # A refused mail exits 0 (recorded, no backscatter) unless --bounce asks the MTA to bounce it.
    forged = raw_mail(sender="mallory@evil.test", to=_reply_address(ticket), text="x")
    call_command("support_mail_inbound", stdin=io.BytesIO(forged), stdout=out)
    with pytest.raises(CommandError) as refused:
        call_command(
            "support_mail_inbound",
            "--bounce",
            stdin=io.BytesIO(raw_mail(sender="mallory@evil.test", to=_reply_address(ticket))),
            stdout=out,
        )
    assert refused.value.returncode == 77
    with pytest.raises(CommandError) as unmatched:
        call_command("support_mail_inbound", "--bounce", stdin=io.BytesIO(raw_mail(sender="nobody@example.test")), stdout=out)
    assert unmatched.value.returncode == 67


def test_the_command_reads_a_maildir_and_moves_what_it_filed_to_cur(ticket, answered, tmp_path):
    for sub in ("new", "cur", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "new" / "1733580000.M1P1.host").write_bytes(
        raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="Primera")
    )
    (tmp_path / "new" / "1733580001.M2P1.host").write_bytes(raw_mail(sender="stranger@example.test", text="Spam"))
    out = io.StringIO()
    call_command("support_mail_inbound", "--maildir", str(tmp_path), stdout=out)
    assert out.getvalue().strip() == "accepted 1, unmatched 1"
    assert list((tmp_path / "new").iterdir()) == []
    assert sorted(path.name for path in (tmp_path / "cur").iterdir()) == ["1733580000.M1P1.host:2,S", "1733580001.M2P1.host:2,S"]
    assert _customer_messages(ticket)[-1].body == "Primera"
    # Running again finds nothing new and files nothing twice.
    call_command("support_mail_inbound", "--maildir", str(tmp_path), stdout=out)
    assert InboundMail.objects.count() == 2
    with pytest.raises(CommandError) as not_maildir:
        call_command("support_mail_inbound", "--maildir", str(tmp_path / "new"), stdout=out)
    assert not_maildir.value.returncode == 78


def test_a_mail_that_cannot_be_filed_stays_in_new_and_exits_tempfail(ticket, answered, tmp_path, monkeypatch, caplog):
    for sub in ("new", "cur", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "new" / "1.M1.host").write_bytes(raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="SECRETO"))

    def broken(*, raw, **kwargs):
        detail = "DETAIL: Failing row contains " + raw.decode()[-40:]  # a database error quoting the row
        raise OSError(detail)

    monkeypatch.setattr("support.management.commands.support_mail_inbound.mail_receive", broken)
    with pytest.raises(CommandError) as failed:
        call_command("support_mail_inbound", "--maildir", str(tmp_path), stdout=io.StringIO())
    assert failed.value.returncode == 75
    assert [path.name for path in (tmp_path / "new").iterdir()] == ["1.M1.host"]
    (logged,) = [record.getMessage() for record in caplog.records if "could not be filed" in record.getMessage()]
    assert "OSError" in logged and "SECRETO" not in logged


# --- what the customer wrote -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Gmail, English, the attribution wrapped over two lines.
        (
            "Thanks, that worked.\n\nOn Mon, Dec 7, 2026 at 10:00 AM Agora Support <\nsupport@support.agora.example> wrote:\n\n> Hello,\n> old",
            "Thanks, that worked.",
        ),
        # Apple Mail / Thunderbird one-liners, French and German.
        ("Merci !\n\nLe 7 déc. 2026 à 10:00, Agora Support a écrit :\n> Bonjour", "Merci !"),
        ("Danke\n\nAm 07.12.2026 um 10:00 schrieb Agora Support:\n> Hallo", "Danke"),
        # Outlook: no quote marks, a From: block under a separator.
        (
            "Here it is.\n\n________________________________\nFrom: Agora Support <support@support.agora.example>\nSent: Monday\nTo: me\nSubject: Re\n\nold text",
            "Here it is.",
        ),
        ("Here.\n\nFrom: Agora Support <support@support.agora.example>\nSent: Monday\nSubject: Re\nold", "Here."),
        # Signature and a phone's footer.
        ("Yes, 0.5 BTC.\n-- \nMaria Lopez\nCEO", "Yes, 0.5 BTC."),
        ("Yes.\n\nSent from my iPhone", "Yes."),
        # An inline answer under a quoted line is kept; a person's "wrote:" is kept.
        ("> Which network?\nEthereum\n> Amount?\n0.5", "Ethereum\n0.5"),
        ("My bank wrote:\nthe transfer is blocked", "My bank wrote:\nthe transfer is blocked"),
        ("5 times I wrote\nand nobody answered", "5 times I wrote\nand nobody answered"),
        ("I sent 5 BTC\nOn Mon, Dec 7, 2026 at 10:00 Agora Support <support@support.agora.example> wrote:\n> old", "I sent 5 BTC"),
    ],
)
def test_quoted_history_and_signatures_are_stripped(text, expected):
    assert reply_text(text) == expected


def test_html_becomes_text_without_markup():
    assert html_to_text("<ul><li>uno</li><li>dos</li></ul><p>a<br>b</p><script>x()</script>&lt;b&gt;") == "- uno\n- dos\n\na\nb\n<b>"


def test_a_solved_ticket_past_its_reopen_period_gets_a_follow_up(ticket, answered, agent, settings):
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    Ticket.objects.filter(pk=ticket.pk).update(solved_at=timezone.now() - timedelta(days=settings.SUPPORT_REOPEN_DAYS + 1))
    record = mail_receive(raw=raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="Sigue sin llegar"))
    assert record.outcome == Outcome.ACCEPTED and record.ticket != ticket
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED


def test_a_very_long_mail_keeps_as_much_text_as_the_web_form_allows(ticket, answered):
    from support.forms import BODY_MAX_CHARS

    record = mail_receive(raw=raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="a" * (BODY_MAX_CHARS * 3)))
    assert (record.outcome, record.reason) == (Outcome.ACCEPTED, "truncated")
    assert len(_customer_messages(ticket)[-1].body) == BODY_MAX_CHARS == 20_000


def test_a_link_in_the_maildir_is_not_followed(ticket, answered, tmp_path):
    for sub in ("new", "cur", "tmp"):
        (tmp_path / sub).mkdir()
    elsewhere = tmp_path / "secret"
    elsewhere.write_bytes(raw_mail(sender="maria@example.test", to=_reply_address(ticket), text="contents of a file outside"))
    (tmp_path / "new" / "1733580000.M1P1.host").symlink_to(elsewhere)
    out = io.StringIO()
    call_command("support_mail_inbound", "--maildir", str(tmp_path), stdout=out)
    assert out.getvalue().strip() == "no new mail"
    assert not InboundMail.objects.exists()
    assert "contents of a file outside" not in [m.body for m in _customer_messages(ticket)]

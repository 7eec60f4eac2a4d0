"""The console's ticket page: the conversation (public replies and internal notes visibly apart,
events in the agent's language, everything escaped), replies, status and priority, canned
replies and macros in the ticket's language, linked objects and the links made from tx hashes
and addresses, the collision warning and who else is on the ticket."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from support.models import CannedReply, Message, Ticket
from support.services.canned import canned_render
from support.services.tickets import message_post_agent, message_post_customer, ticket_status_set
from tests.support.conftest_console import *  # noqa: F403 - the fixtures
from tests.support.conftest_console import clock_make, customer_make, deposit_make, recovery_make, ticket_make, withdrawal_make


def page(client, ticket, **params):
    return client.get(reverse("console:ticket", args=[ticket.reference]), params)


def last_seen(response) -> int:
    return int(re.search(r'name="last_seen" value="(\d+)"', response.content.decode()).group(1))


def message_html(response, message) -> str:
    return re.search(rf'<li id="message-{message.pk}".*?</li>', response.content.decode(), re.S).group(0)


# --- Conversation ------------------------------------------------------------------------------------


def test_public_replies_internal_notes_and_events_look_different(client, helpdesk, es_agent):
    ticket = ticket_make(helpdesk, body="No me llegó el depósito")
    reply = message_post_agent(ticket=ticket, agent=es_agent, body="Lo revisamos")
    note = message_post_agent(ticket=ticket, agent=es_agent, body="Revisar con cumplimiento", internal=True)
    ticket_status_set(ticket=ticket, status=Ticket.Status.PENDING, by=es_agent)
    event = Message.objects.get(ticket=ticket, event="status")
    client.force_login(es_agent)
    response = page(client, ticket)
    assert response.status_code == 200
    customer = Message.objects.get(ticket=ticket, kind="customer")
    assert 'class="msg msg-customer"' in message_html(response, customer)
    public = message_html(response, reply)
    assert 'class="msg msg-agent"' in public and "Public reply" in public and "data-internal" not in public
    internal = message_html(response, note)
    assert 'class="msg msg-agent msg-internal"' in internal and "Internal note — the customer never sees it" in internal
    assert 'data-internal="1"' in internal
    status = message_html(response, event)
    assert "msg-system" in status and "Event shown to the customer" in status
    assert "lucia changed the status from “Open” to “Waiting for your reply”." in status


def test_events_render_in_the_agents_language(client, helpdesk, es_agent, supervisor, german):
    ticket = ticket_make(helpdesk)
    ticket_status_set(ticket=ticket, status=Ticket.Status.ON_HOLD, by=es_agent)
    from support.services.routing import ticket_assign

    ticket_assign(ticket=ticket, assignee=es_agent, by=supervisor)
    german("%(who)s changed the status from “%(old)s” to “%(new)s”.")
    german("Open", context="ticket status")
    german("%(who)s assigned the ticket to %(agent)s.")
    german("Internal event")
    client.force_login(es_agent)
    html = client.get(f"/de/console/tickets/{ticket.reference}/").content.decode()
    assert "[de] %(who)s changed" not in html  # placeholders filled after translation
    assert "[de] lucia changed the status from “[de] Open” to “Zurückgestellt”." in html  # "On hold" keeps its real German
    assert "[de] sam assigned the ticket to lucia." in html
    assert "[de] Internal event" in html


def test_a_script_in_a_message_subject_or_reason_is_shown_as_text(client, helpdesk, es_agent, usdt):
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    customer = customer_make("es")
    ticket = ticket_make(helpdesk, customer=customer, subject=attack, body=attack)
    deposit = deposit_make(customer, usdt, "10", "0x" + "ab" * 32)
    message_post_customer(ticket=ticket, customer=customer, body=f"{attack} {deposit.tx_hash} {attack}")
    message_post_agent(ticket=ticket, agent=es_agent, body=attack, internal=True)
    Message.objects.create(
        ticket=ticket, kind="system", internal=True, author=es_agent, event="security", data={"action": "sessions", "reason": attack}
    )
    Message.objects.create(ticket=ticket, kind="system", event="<b>odd</b>", data={"<i>k</i>": attack})
    client.force_login(es_agent)
    html = page(client, ticket).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>odd" not in html and "<i>k" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert html.count("&lt;script&gt;") >= 6  # subject (title and heading), 2 messages, the link message twice, the reason
    # The queue escapes the subject too.
    queue = client.get(reverse("console:queue")).content.decode()
    assert "<script>alert" not in queue and "&lt;script&gt;" in queue


# --- Replies, status, priority, assignment ------------------------------------------------------------------


def test_reply_note_and_status_in_one_step(client, helpdesk, es_agent):
    ticket = ticket_make(helpdesk)
    client.force_login(es_agent)
    seen = last_seen(page(client, ticket))
    url = reverse("console:reply", args=[ticket.reference])
    response = client.post(url, {"body": "Hola, ya lo vemos", "last_seen": seen, "status": "pending"})
    assert response.status_code == 302
    reply = Message.objects.get(ticket=ticket, kind="agent")
    assert (reply.internal, reply.author, reply.body) == (False, es_agent, "Hola, ya lo vemos")
    ticket.refresh_from_db()
    assert ticket.status == "pending" and ticket.last_public_reply_at == reply.created_at
    seen = last_seen(page(client, ticket))
    client.post(url, {"body": "nota interna", "internal": "on", "last_seen": seen})
    note = Message.objects.filter(ticket=ticket, kind="agent").latest("id")
    assert note.internal is True
    ticket.refresh_from_db()
    assert ticket.last_public_reply_at == reply.created_at  # a note is not a reply
    assert client.post(url, {"body": "   ", "last_seen": seen}).status_code == 400


def test_status_priority_and_assignment_forms(client, helpdesk, es_agent, supervisor):
    ticket = ticket_make(helpdesk)
    client.force_login(es_agent)
    client.post(reverse("console:status", args=[ticket.reference]), {"status": "on_hold"})
    client.post(reverse("console:priority", args=[ticket.reference]), {"priority": "urgent"})
    client.post(reverse("console:assign", args=[ticket.reference]), {"assignee": str(es_agent.pk)})
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == ("on_hold", "urgent", es_agent)
    events = list(Message.objects.filter(ticket=ticket, kind="system").values_list("event", "internal", "data"))
    assert events == [
        ("status", False, {"old": "open", "new": "on_hold"}),
        ("priority", True, {"old": "normal", "new": "urgent"}),
        ("assigned", True, {"old": None, "new": es_agent.pk}),
    ]
    # An agent cannot give it back to the queue or to someone else; a supervisor can.
    response = client.post(reverse("console:assign", args=[ticket.reference]), {"assignee": str(supervisor.pk)}, follow=True)
    assert Ticket.objects.get(pk=ticket.pk).assignee == es_agent
    client.force_login(supervisor)
    client.post(reverse("console:assign", args=[ticket.reference]), {"assignee": ""})
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
    response = client.post(reverse("console:status", args=[ticket.reference]), {"status": "nonsense"}, follow=True)
    assert "Choose a status from the list." in response.content.decode()


# --- Canned replies and macros ------------------------------------------------------------------------


@pytest.fixture
def canned(helpdesk):
    return CannedReply.objects.create(
        title="Deposit received",
        title_en="Deposit received",
        body="Hello {customer_name}, your {amount} {asset} arrived ({ticket}).",
        body_en="Hello {customer_name}, your {amount} {asset} arrived ({ticket}).",
        body_es="Hola {customer_name}, tus {amount} {asset} llegaron ({ticket}). {unknown} {ticket.customer}",
    )


@pytest.fixture
def macro(helpdesk):
    return CannedReply.objects.create(
        title="Ask for the hash",
        title_en="Ask for the hash",
        body="Please send the transaction hash.",
        body_en="Please send the transaction hash.",
        body_es="Envíanos el hash de la transacción, por favor.",
        set_status="pending",
        set_priority="high",
    )


def test_a_canned_reply_is_inserted_in_the_tickets_language_with_its_placeholders(client, helpdesk, es_agent, canned, usdt):
    customer = customer_make("es-419", first_name="Ana", last_name="Pérez")
    deposit = deposit_make(customer, usdt, "1234.5", "0x" + "cd" * 32)
    ticket = ticket_make(helpdesk, customer=customer, language="es-419", category="deposit", deposit=deposit)
    ticket = Ticket.objects.select_related("customer", "deposit__network__asset").get(pk=ticket.pk)
    # es-419 has no text of its own: modeltranslation falls back to es. The amount is in es-419 (Mexican) style.
    expected = f"Hola Ana Pérez, tus 1,234.50 USDT llegaron ({ticket.reference}). {{unknown}} {{ticket.customer}}"
    assert canned_render(canned=canned, ticket=ticket) == expected
    client.force_login(es_agent)  # the agent reads the console in English; the reply is in Spanish
    response = page(client, ticket, canned=canned.pk)
    assert response.context["reply_form"]["body"].value() == expected
    assert "is inserted in the ticket's language (es-419)" in response.content.decode()


def test_a_language_without_a_text_falls_back_to_english_and_unfilled_placeholders_are_flagged(client, helpdesk, canned, supervisor):
    customer = customer_make("de", first_name="", last_name="", email="jonas.k@example.test")
    ticket = ticket_make(helpdesk, customer=customer, language="de")
    assert canned_render(canned=canned, ticket=ticket) == f"Hello jonas.k, your {{amount}} {{asset}} arrived ({ticket.reference})."
    client.force_login(supervisor)
    response = page(client, ticket, canned=canned.pk)
    assert response.context["unfilled"] == ["amount", "asset"]
    assert "Fill these in before sending:" in response.content.decode()


def test_a_macro_sets_status_and_priority_when_sent(client, helpdesk, es_agent, macro):
    ticket = ticket_make(helpdesk)
    client.force_login(es_agent)
    response = page(client, ticket, canned=macro.pk)
    form = response.context["reply_form"]
    assert (form["status"].value(), form["priority"].value(), form["canned"].value()) == ("pending", "high", macro.pk)
    body = form["body"].value()
    assert body == "Envíanos el hash de la transacción, por favor."
    # The form posts the macro's pre-selected status and priority.
    client.post(
        reverse("console:reply", args=[ticket.reference]),
        {"body": body, "canned": macro.pk, "status": "pending", "priority": "high", "last_seen": last_seen(response)},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("pending", "high")
    assert Message.objects.filter(ticket=ticket, kind="agent", internal=False, body=body).count() == 1


def test_keep_the_status_beats_the_macro(client, helpdesk, es_agent, macro):
    """The macro pre-selects its status and priority; an agent who sets them back to "keep" keeps them
    (the macro used to apply them anyway, hidden behind a form that said otherwise)."""
    ticket = ticket_make(helpdesk)
    client.force_login(es_agent)
    response = page(client, ticket, canned=macro.pk)
    client.post(
        reverse("console:reply", args=[ticket.reference]),
        {"body": "Solo el texto", "canned": macro.pk, "status": "", "priority": "", "last_seen": last_seen(response)},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("open", "normal")
    assert Message.objects.filter(ticket=ticket, kind="agent", body="Solo el texto").count() == 1


def test_inserting_a_canned_reply_keeps_the_draft_and_the_internal_toggle(client, helpdesk, es_agent, macro):
    """The picker used to be its own GET form: choosing a reply threw the draft away and unticked
    "internal", so the note the agent went on writing was sent to the customer."""
    ticket = ticket_make(helpdesk)
    client.force_login(es_agent)
    seen = last_seen(page(client, ticket))
    message_post_customer(ticket=ticket, customer=ticket.customer, body="¿Hola?")
    response = client.post(
        reverse("console:reply", args=[ticket.reference]),
        {"insert": "1", "pick": macro.pk, "body": "Nota: revisar el hash  ", "internal": "on", "last_seen": seen},
    )
    assert response.status_code == 200
    form = response.context["reply_form"]
    assert form["body"].value() == "Nota: revisar el hash\n\nEnvíanos el hash de la transacción, por favor."
    assert form["internal"].value() is True
    assert (form["status"].value(), form["priority"].value(), form["canned"].value()) == ("pending", "high", macro.pk)
    assert form["last_seen"].value() == seen  # the customer's new message still warns when it is sent
    assert re.search(r"<input[^>]*name=\"internal\"[^>]*checked", response.content.decode())
    assert Message.objects.filter(ticket=ticket, kind="agent").count() == 0  # nothing sent
    assert client.post(reverse("console:reply", args=[ticket.reference]), {"insert": "1", "pick": "999999"}).status_code == 400


def test_an_agent_attaches_a_file_to_a_reply_and_a_refused_file_sends_nothing(client, helpdesk, es_agent, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    ticket = ticket_make(helpdesk)
    client.force_login(es_agent)
    url = reverse("console:reply", args=[ticket.reference])
    seen = last_seen(page(client, ticket))
    pdf = SimpleUploadedFile("guia.pdf", b"%PDF-1.4 how to find the hash", content_type="application/pdf")
    client.post(url, {"body": "Adjunto la guía", "attachments": [pdf], "last_seen": seen})
    reply = Message.objects.get(ticket=ticket, kind="agent")
    assert [(a.original_name, a.content_type) for a in reply.attachments.all()] == [("guia.pdf", "application/pdf")]
    fake = SimpleUploadedFile("run.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = client.post(url, {"body": "Otro", "attachments": [fake], "last_seen": reply.pk})
    assert response.status_code == 400
    assert Message.objects.filter(ticket=ticket, kind="agent").count() == 1  # the reply went with its file


def test_the_agents_choice_beats_the_macros(client, helpdesk, es_agent, macro):
    ticket = ticket_make(helpdesk)
    client.force_login(es_agent)
    seen = last_seen(page(client, ticket))
    client.post(
        reverse("console:reply", args=[ticket.reference]),
        {"body": "x", "canned": macro.pk, "status": "on_hold", "priority": "low", "last_seen": seen},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("on_hold", "low")


def test_canned_replies_of_another_category_or_inactive_are_not_offered(client, helpdesk, es_agent, canned):
    other = CannedReply.objects.create(
        title="Trading", title_en="Trading", body="x", body_en="x", category=helpdesk["categories"]["trading"]
    )
    off = CannedReply.objects.create(title="Old", title_en="Old", body="x", body_en="x", is_active=False)
    ticket = ticket_make(helpdesk, category="deposit")
    client.force_login(es_agent)
    choices = [value for value, _label in page(client, ticket).context["reply_form"].fields["pick"].choices]
    assert choices == ["", str(canned.pk)]
    assert page(client, ticket, canned=other.pk).status_code == 404
    assert page(client, ticket, canned=off.pk).status_code == 404


# --- Linked objects, links from message text, the fund-recovery case ----------------------------------------


def test_hashes_and_addresses_link_to_the_customers_own_objects_only(client, helpdesk, es_agent, usdt):
    customer, stranger = customer_make("es"), customer_make("es")
    mine = deposit_make(customer, usdt, "10", "0x" + "11" * 32)
    theirs = deposit_make(stranger, usdt, "99", "0x" + "22" * 32, address="0xStrangersDepositAddress0000000000000002")
    withdrawal = withdrawal_make(customer, usdt, "50", "0xWithdrawalDestination00000000000000000003")
    recovery = recovery_make(customer, "c" * 64)
    ticket = ticket_make(helpdesk, customer=customer)
    body = f"mío {mine.tx_hash}, ajeno {theirs.tx_hash}, retiro a {withdrawal.address}, recuperación {recovery.tx_hash}, nada {'f' * 40}"
    message = message_post_customer(ticket=ticket, customer=customer, body=body)
    client.force_login(es_agent)
    html = message_html(page(client, ticket), message)
    # Agents are staff with the view permissions: the links open the admin change pages.
    assert f'href="{reverse("admin:wallets_deposit_change", args=[mine.pk])}">Deposit #{mine.pk}</a>' in html
    assert f'href="{reverse("admin:wallets_withdrawal_change", args=[withdrawal.pk])}">Withdrawal #{withdrawal.pk}</a>' in html
    assert f'href="{reverse("admin:wallets_recoveryrequest_change", args=[recovery.pk])}">Fund recovery #{recovery.pk}</a>' in html
    assert f"Deposit #{theirs.pk}" not in html and reverse("admin:wallets_deposit_change", args=[theirs.pk]) not in html
    assert html.count('class="ref-links"') == 3
    # Without the admin view (no staff flag), the console's own page.
    es_agent.is_staff = False
    es_agent.save(update_fields=["is_staff"])
    html = message_html(page(client, ticket), message)
    assert f'href="{reverse("console:object", args=["deposit", mine.pk])}"' in html


def test_link_detection_costs_three_queries(helpdesk, es_agent, usdt, django_assert_num_queries):
    from support.selectors.console import reference_links

    customer = customer_make("es")
    mine = deposit_make(customer, usdt, "10", "0x" + "11" * 32)
    texts = [f"{mine.tx_hash} {'a' * 30}", "b" * 64, "short words only"]
    with django_assert_num_queries(3 + 2):  # deposits, withdrawals, recoveries; the agent's permissions once
        links = reference_links(user=es_agent, customer=customer, texts=texts)
    assert list(links.by_token) == [mine.tx_hash]
    with django_assert_num_queries(0):
        assert not reference_links(user=es_agent, customer=customer, texts=["nothing long here"])


def test_thousands_of_pasted_tokens_cost_a_bounded_lookup(helpdesk, es_agent, usdt):
    """22,000 candidates made a deposit query of 66,000 parameters (2 MB of SQL, 3 s on PostgreSQL,
    at its 65,535-parameter limit) on every load of the agent's page. The newest messages' tokens are kept."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from support.selectors.console import reference_links

    customer = customer_make("es")
    mine = deposit_make(customer, usdt, "10", "0x" + "22" * 32)
    flood = [" ".join(f"{i:030d}" for i in range(start, start + 770)) for start in range(0, 22000, 770)]
    with CaptureQueriesContext(connection) as queries:
        links = reference_links(user=es_agent, customer=customer, texts=[*flood, f"el hash es {mine.tx_hash}"])
    assert list(links.by_token) == [mine.tx_hash]
    assert max(len(q["sql"]) for q in queries.captured_queries) < 60_000


def test_linked_objects_and_the_object_page(client, helpdesk, es_agent, de_agent, usdt):
    customer = customer_make("es")
    withdrawal = withdrawal_make(customer, usdt, "50", "0xWithdrawalDestination00000000000000000003")
    ticket = ticket_make(helpdesk, customer=customer, category="withdrawal", withdrawal=withdrawal)
    client.force_login(es_agent)
    html = page(client, ticket).content.decode()
    assert "Linked to" in html and f"Withdrawal #{withdrawal.pk}" in html and "50.000000" in html
    url = reverse("console:object", args=["withdrawal", withdrawal.pk])
    response = client.get(url)
    assert response.status_code == 200 and withdrawal.address in response.content.decode()
    assert client.get(reverse("console:object", args=["order", 1])).status_code == 404
    client.force_login(de_agent)
    assert client.get(url).status_code == 404


def test_a_recovery_case_shows_its_state_the_update_timer_and_the_approval_link(client, helpdesk, supervisor, es_agent):
    from django.contrib.auth.models import Permission

    customer = customer_make("es")
    recovery = recovery_make(customer, "d" * 64, status="accepted")
    ticket = ticket_make(helpdesk, customer=customer, category="fund_recovery", recovery=recovery)
    clock_make(helpdesk, ticket, metric="periodic_update", due_in=timedelta(hours=20))
    client.force_login(es_agent)
    html = page(client, ticket).content.decode()
    case = re.search(r'<section class="card recovery-case".*?</section>', html, re.S).group(0)
    assert 'data-recovery-status="accepted"' in case and "Accepted, waiting for approval" in case
    # Amounts keep their left-to-right order inside right-to-left text (they were bare text).
    assert '<bdi dir="ltr">250.00</bdi> USDT · TRC20' in case
    assert 'class="sla ok"' in case and "left" in case
    approval = reverse("admin:wallets_recoveryrequest_changelist") + f"?id__exact={recovery.pk}"
    assert approval not in case  # agents cannot approve
    supervisor.user_permissions.add(Permission.objects.get(codename="approve_recovery"))
    client.force_login(supervisor)
    assert approval in page(client, ticket).content.decode()


# --- Two agents at once -----------------------------------------------------------------------------------


def test_a_reply_after_someone_elses_warns_and_keeps_the_draft(client, helpdesk, es_agent, supervisor):
    ticket = ticket_make(helpdesk)
    client.force_login(es_agent)
    seen = last_seen(page(client, ticket))
    message_post_agent(ticket=ticket, agent=supervisor, body="Ya le contesté yo")
    url = reverse("console:reply", args=[ticket.reference])
    response = client.post(url, {"body": "Mi borrador", "last_seen": seen})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone wrote on this ticket while you were writing." in html and "Ya le contesté yo" in html
    assert response.context["reply_form"]["body"].value() == "Mi borrador"
    assert Message.objects.filter(ticket=ticket, author=es_agent).count() == 0
    # Sending again (the page now carries the newest message's id) is the confirmation.
    newest = last_seen(response)
    assert newest > seen
    assert client.post(url, {"body": "Mi borrador", "last_seen": newest}).status_code == 302
    assert Message.objects.filter(ticket=ticket, author=es_agent, body="Mi borrador").count() == 1


def test_a_new_customer_message_warns_too_but_not_ones_own_or_events(client, helpdesk, es_agent):
    ticket = ticket_make(helpdesk)
    client.force_login(es_agent)
    seen = last_seen(page(client, ticket))
    message_post_agent(ticket=ticket, agent=es_agent, body="mi nota", internal=True)
    ticket_status_set(ticket=ticket, status="on_hold", by=es_agent)
    url = reverse("console:reply", args=[ticket.reference])
    assert client.post(url, {"body": "uno", "last_seen": seen}).status_code == 302
    seen = last_seen(page(client, ticket))
    message_post_customer(ticket=ticket, customer=ticket.customer, body="¿Hola?")
    response = client.post(url, {"body": "dos", "last_seen": seen})
    assert response.status_code == 409 and "¿Hola?" in response.content.decode()


def test_others_viewing_and_replying_are_shown(client, helpdesk, es_agent, supervisor):
    ticket = ticket_make(helpdesk)
    client.force_login(supervisor)
    page(client, ticket)
    client.force_login(es_agent)
    assert "sam is viewing this ticket." in page(client, ticket).content.decode()
    heartbeat = reverse("console:heartbeat", args=[ticket.reference])
    client.force_login(supervisor)
    assert client.post(heartbeat, {"replying": "1"}).json() == {"viewers": ["lucia is viewing this ticket."]}
    client.force_login(es_agent)
    assert client.post(heartbeat, {"replying": "0"}).json() == {"viewers": ["sam is replying to this ticket."]}


def _conversation(helpdesk, ticket, agent, supervisor, n):
    from support.services.routing import ticket_assign

    for i in range(n):
        message_post_customer(ticket=ticket, customer=ticket.customer, body=f"mensaje {i} 0x{i:064x}")
        message_post_agent(ticket=ticket, agent=agent, body=f"respuesta {i}")
        message_post_agent(ticket=ticket, agent=agent, body=f"nota {i}", internal=True)
        ticket_assign(ticket=ticket, assignee=agent if i % 2 == 0 else None, by=supervisor)
        clock_make(helpdesk, ticket, metric="next_response", due_in=timedelta(hours=i + 1))


def test_the_ticket_page_costs_the_same_queries_for_a_short_or_long_conversation(client, helpdesk, es_agent, supervisor, usdt):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (1, 15):
        customer = customer_make("es")
        ticket = ticket_make(helpdesk, customer=customer)
        for i in range(n):
            deposit_make(customer, usdt, "5", f"0x{customer.pk:032x}{i:032x}")
        _conversation(helpdesk, ticket, es_agent, supervisor, n)
        client.force_login(es_agent)
        page(client, ticket)
        with CaptureQueriesContext(connection) as queries:
            assert page(client, ticket).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_ticket_header_timer_follows_the_clocks(client, helpdesk, es_agent):
    ticket = ticket_make(helpdesk)
    clock_make(helpdesk, ticket, due_in=timedelta(minutes=10))
    client.force_login(es_agent)
    header = re.search(r'<dl class="kv ticket-meta">.*?</dl>', page(client, ticket).content.decode(), re.S).group(0)
    assert 'class="sla at-risk"' in header


def test_routing_mail_and_recovery_events_read_as_sentences(client, helpdesk, es_agent):
    """They showed as 'Event: fallback from=es, reason=no_agent_online, to=en' and 'the desk assigned…'."""
    ticket = ticket_make(helpdesk)
    system = {"ticket": ticket, "kind": Message.Kind.SYSTEM, "internal": True}
    events = [
        Message.objects.create(**system, event="fallback", data={"from": "es", "to": "en", "reason": "no_agent_online"}),
        Message.objects.create(**system, event="fallback", data={"from": "es", "to": "en", "reason": "waited"}),
        Message.objects.create(**system, event="assigned", data={"old": None, "new": es_agent.pk}),
        Message.objects.create(**system, event="assigned", data={"old": es_agent.pk, "new": None}),
        Message.objects.create(**system, event="mail_refused", data={"reason": "sender", "sender": "x@evil.test", "subject": "Hi"}),
        Message.objects.create(**system, event="mail_attachment_refused", data={"files": [{"name": "a.exe"}, {"name": "b.js"}]}),
        Message.objects.create(**system, event="mail_follow_up", data={"previous": "ABC12345"}),
        Message.objects.create(
            ticket=ticket,
            kind=Message.Kind.SYSTEM,
            event="recovery",
            data={"request": 7, "status": "quoted", "fee": "12.5", "token": "USDT"},
        ),
    ]
    client.force_login(es_agent)
    response = page(client, ticket)
    texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", message_html(response, m).split('class="msg-event">')[1])).strip() for m in events]
    assert texts[0].startswith("Moved from the es queue to the en queue: no agent of the es queue was online.")
    assert texts[1].startswith("Moved from the es queue to the en queue: nobody there had room after the wait.")
    assert texts[2].startswith("Routing assigned the ticket to lucia.")
    assert texts[3].startswith("The ticket went back to the queue automatically.")
    assert texts[4].startswith("A mail from x@evil.test was refused (")
    assert texts[5].startswith("Attachments of the customer&#x27;s mail were refused: a.exe, b.js.")
    assert texts[6].startswith("The customer answered closed ticket #ABC12345 by email; this ticket follows it up.")
    assert texts[7].startswith(
        "The customer read: Your fund recovery request #7: the fee is 12.50 USDT. Accept or decline it on the recovery page."
    )
    assert "Event:" not in response.content.decode()

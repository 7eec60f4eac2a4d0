"""The support desk end to end in Debian's Chromium (Playwright): a Spanish customer and the Spanish
agent, each in their own browser context, from the new ticket to the rating; then what the customer
must never see (an internal note) and markup a customer writes, shown inert in the console."""

import re

import pytest
from django.core import mail

from support.models import CannedReply, Message, SatisfactionRating, SlaClock, SlaEvent, Ticket
from tests import test_browser
from tests.factories import PASSWORD, UserFactory
from tests.support import conftest_customer as fixtures
from tests.support.conftest_customer import withdrawal_for
from tests.support.factories import agent_create, ticket_open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
browser_type_launch_args = test_browser.browser_type_launch_args
_orm_beside_playwright_loop = test_browser._orm_beside_playwright_loop
desk = fixtures.desk

CANNED_ES = "Hola {customer_name}: su retiro de {amount} BTC ya está en la red. Gracias por su paciencia."
CANNED_EN = "Hello {customer_name}: your withdrawal of {amount} BTC is on the network. Thank you for waiting."


def sign_in(page, base, user, language):
    page.goto(f"{base}/{language}/auth/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "/auth/login/" not in page.url, f"sign-in of {user.email} failed"


# SQLite's shared in-memory test database refuses a second concurrent writer ("database table is
# locked"), and every request writes (allauth's user sessions). So one request at a time: the
# account-events socket each page opens is answered in the browser (it is not under test), and the
# person not acting leaves their page, whose conversation poll or heartbeat would run beside the other's.


def socket_mock(context):
    context.route_web_socket(re.compile(r"/ws/"), lambda socket: None)


def park(page):
    page.goto("about:blank")


def mails_to(user):
    return [m for m in mail.outbox if m.to == [user.email]]


@pytest.fixture
def agent_page(browser, live_server):
    """A second browser context: the agent's own cookies, apart from the customer's."""
    context = browser.new_context()
    socket_mock(context)
    yield context.new_page()
    context.close()


@pytest.fixture
def lucia(desk):
    """The Spanish agent, online, before any ticket exists (so routing assigns in the es queue)."""
    return agent_create(languages=["es"], email="lucia@agora.test", language="es", time_zone="Europe/Madrid")


def test_spanish_withdrawal_ticket_from_form_to_rating(live_server, page, agent_page, desk, lucia):
    base = live_server.url
    socket_mock(page.context)
    customer = UserFactory(
        email="cliente@example.test", first_name="Marta", language="es", time_zone="Europe/Madrid", anti_phishing_code="GATO-AZUL"
    )
    withdrawal = withdrawal_for(customer, amount="0.5")
    # An older Spanish ticket due later (low priority: 48 h): "top of the queue" means sorted by deadline.
    older = ticket_open(language="es", subject="Pregunta sobre comisiones", priority="low")
    canned = CannedReply.objects.create(
        title="Withdrawal on chain",
        title_en="Withdrawal on chain",
        title_es="Retiro en la red",
        body=CANNED_EN,
        body_en=CANNED_EN,
        body_es=CANNED_ES,
        category=desk["categories"]["withdrawal"],
        set_status=Ticket.Status.SOLVED,
    )

    # The customer opens the ticket from the Spanish form.
    sign_in(page, base, customer, "es")
    page.goto(f"{base}/es/support/new/withdrawal/")
    page.fill("#id_subject", "Mi retiro no ha llegado")
    page.select_option("#id_related", str(withdrawal.pk))
    page.fill("#id_body", "Envié 0,5 BTC hace dos horas y no han llegado.")
    page.click("#ticket-form button[type=submit]")
    page.wait_for_url(re.compile(r"/es/support/tickets/[A-Z0-9]{10}/$"))
    ticket = Ticket.objects.get(customer=customer)
    assert (ticket.language, ticket.queue.language, ticket.withdrawal_id, ticket.assignee_id) == ("es", "es", withdrawal.pk, lucia.pk)
    assert older.created_at < ticket.created_at < older.next_due_at
    assert ticket.next_due_at < Ticket.objects.get(pk=older.pk).next_due_at
    park(page)

    # The agent, in their own context, finds it at the top of the es queue with its timer.
    sign_in(agent_page, base, lucia, "es")
    agent_page.goto(f"{base}/es/console/?view=all&language=es")
    rows = agent_page.locator("#queue tbody tr")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.reference)") == [ticket.reference, older.reference]
    timer = rows.first.locator(".sla")
    assert timer.get_attribute("class") == "sla ok"
    assert timer.locator("time").get_attribute("datetime") == ticket.next_due_at.isoformat()
    rows.first.locator(f"a[href='/es/console/tickets/{ticket.reference}/']").click()
    agent_page.wait_for_url(re.compile(rf"/es/console/tickets/{ticket.reference}/$"))

    # The customer panel beside the ticket, and the customer's own page from it, show the withdrawal.
    side = agent_page.locator(f"aside.ticket-side #withdrawal-{withdrawal.pk}")
    assert "0,50000000 BTC" in side.inner_text()
    agent_page.click(f"header.ticket-head a[href='/es/console/customers/{customer.pk}/']")
    agent_page.wait_for_url(re.compile(rf"/es/console/customers/{customer.pk}/$"))
    assert "0,50000000 BTC" in agent_page.inner_text(f"#withdrawal-{withdrawal.pk}")
    agent_page.go_back()

    # The canned reply goes in the ticket's language with its placeholders filled; the macro solves it.
    # Choosing one inserts it at once (the reply form's own "insert" button posts the draft back).
    with agent_page.expect_navigation(url=re.compile(rf"/es/console/tickets/{ticket.reference}/reply/")):
        agent_page.select_option("form.reply-form .canned-pick select[name=pick]", str(canned.pk))
    expected = "Hola Marta: su retiro de 0,50 BTC ya está en la red. Gracias por su paciencia."
    reply_form = agent_page.locator("form.reply-form")
    assert reply_form.locator("textarea[name=body]").input_value() == expected
    assert reply_form.locator("select[name=status]").input_value() == "solved"
    assert not reply_form.locator("input[name=internal]").is_checked()
    reply_form.locator("button[type=submit]:not([data-insert])").click()
    agent_page.wait_for_url(re.compile(rf"/es/console/tickets/{ticket.reference}/(#reply)?$"))
    sent = agent_page.locator(".conversation li[data-kind=agent]")
    assert sent.count() == 1 and sent.get_attribute("data-internal") is None
    assert sent.locator(".msg-body").inner_text() == expected

    # The customer sees the Spanish reply, the ticket solved, and rates it.
    park(agent_page)
    page.goto(f"{base}/es/support/tickets/{ticket.reference}/")
    assert page.inner_text("#conversation li[data-kind=agent] .message-body") == expected
    assert page.get_attribute("#ticket-status", "class") == "badge status-solved"
    page.check("#rate input[name=score][value='5']")
    page.fill("#rate textarea[name=comment]", "¡Muy rápido, gracias!")
    page.click("#rate button[type=submit]")
    page.wait_for_url(re.compile(rf"/es/support/tickets/{ticket.reference}/$"))
    assert page.locator("#rate").count() == 0  # rated once per solve

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED
    first = SlaClock.objects.get(ticket=ticket, metric="first_response", cycle=1)
    reply = Message.objects.get(ticket=ticket, kind=Message.Kind.AGENT)
    assert (first.state, first.fulfilled_at) == (SlaClock.State.FULFILLED, reply.created_at)
    assert SlaEvent.objects.filter(clock=first, kind=SlaEvent.Kind.FULFIL).count() == 1
    rating = SatisfactionRating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment, rating.solve_number, rating.agent_id) == (5, "¡Muy rápido, gracias!", 1, lucia.pk)

    # Two mails to the customer: the acknowledgement and the reply (the solve folded into it), in Spanish.
    received = mails_to(customer)
    assert len(received) == 2, [m.subject for m in received]
    answer = received[1]
    assert answer.subject == f"[Agora] Re: Mi retiro no ha llegado [#{ticket.reference}]"
    assert answer.body.startswith("Código antiphishing: GATO-AZUL\n")
    assert "Hola:" in answer.body and expected in answer.body
    assert CANNED_EN.split(":")[0] not in answer.body


def test_internal_note_stays_internal_and_customer_markup_is_inert_in_the_console(live_server, page, agent_page, desk, lucia):
    base = live_server.url
    socket_mock(page.context)
    customer = UserFactory(email="nota@example.test", language="es")
    ticket = ticket_open(customer=customer, category="other", subject="Consulta", body="Hola.")
    assert Ticket.objects.get(pk=ticket.pk).assignee_id == lucia.pk
    mails_before = len(mails_to(customer))  # the acknowledgement

    # The customer writes markup that would run if the console did not escape it.
    payload = "<img src=x onerror=alert(1)>"
    sign_in(page, base, customer, "es")
    page.goto(f"{base}/es/support/tickets/{ticket.reference}/")
    page.fill("#reply textarea[name=body]", payload)
    page.click("#reply button[type=submit]")
    page.wait_for_url(re.compile(rf"/es/support/tickets/{ticket.reference}/#message-\d+$"))
    park(page)

    dialogs = []
    agent_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(agent_page, base, lucia, "es")
    agent_page.goto(f"{base}/es/console/tickets/{ticket.reference}/")
    agent_page.wait_for_load_state("networkidle")
    written = agent_page.locator(".conversation li[data-kind=customer] .msg-body")
    assert written.last.inner_text() == payload
    assert agent_page.locator(".conversation img").count() == 0
    assert dialogs == []

    # An internal note from the console: agents see it, the customer never does, and no mail goes out.
    note = "Nota interna: revisar con cumplimiento antes de responder."
    reply_form = agent_page.locator("form.reply-form")
    reply_form.locator("textarea[name=body]").fill(note)
    reply_form.locator("input[name=internal]").check()
    reply_form.locator("button[type=submit]:not([data-insert])").click()
    agent_page.wait_for_url(re.compile(rf"/es/console/tickets/{ticket.reference}/(#reply)?$"))
    shown = agent_page.locator(".conversation li[data-kind=agent][data-internal='1'] .msg-body")
    assert shown.inner_text() == note
    assert Message.objects.get(ticket=ticket, kind=Message.Kind.AGENT).internal is True

    park(agent_page)
    page.goto(f"{base}/es/support/tickets/{ticket.reference}/")
    assert note not in page.content()
    assert page.locator("#conversation li[data-kind=agent]").count() == 0
    conversation = page.request.get(f"{base}/es/support/tickets/{ticket.reference}/conversation/")
    assert conversation.status == 200 and note not in conversation.text()
    assert len(mails_to(customer)) == mails_before
    assert not any(note in m.body for m in mail.outbox)
    assert dialogs == []

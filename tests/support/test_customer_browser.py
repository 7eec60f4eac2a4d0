"""The customer's support pages in Debian's Chromium, driven by Playwright (the patterns of
tests/test_browser.py): a ticket opened in Spanish about a withdrawal with an attachment, and a
message full of markup that runs nothing."""

import re

import pytest

from support.models import Ticket
from tests import test_browser
from tests.factories import PASSWORD, UserFactory
from tests.support import conftest_customer as fixtures
from tests.support.conftest_customer import png_bytes, ticket_open, withdrawal_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
browser_type_launch_args = test_browser.browser_type_launch_args
_orm_beside_playwright_loop = test_browser._orm_beside_playwright_loop
desk = fixtures.desk


def sign_in(page, base, user, language):
    page.goto(f"{base}/{language}/auth/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def test_a_spanish_customer_opens_a_ticket_about_a_withdrawal_with_an_attachment(live_server, page, desk):
    customer = UserFactory(email="cliente@example.test", language="es", time_zone="Europe/Madrid")
    withdrawal = withdrawal_for(customer, amount="0.5")
    base = live_server.url
    sign_in(page, base, customer, "es")

    page.goto(f"{base}/es/wallet/")
    page.click("header a[href='/es/support/']")  # "Soporte" in the header
    page.wait_for_url(re.compile(r"/es/support/$"))
    assert page.get_attribute("html", "lang") == "es"
    page.click("main a[href='/es/support/new/']")
    page.click("#categories a[data-category=withdrawal]")
    page.wait_for_url(re.compile(r"/es/support/new/withdrawal/$"))
    options = page.locator("#id_related option").evaluate_all("els => els.map(e => e.value)")
    assert options == ["", str(withdrawal.pk)]  # only the customer's own withdrawal
    page.fill("#id_subject", "Mi retiro no ha llegado")
    page.select_option("#id_related", str(withdrawal.pk))
    page.fill("#id_body", "Envié 0,5 BTC hace dos horas y no han llegado.")
    page.set_input_files("#id_attachments", [{"name": "captura.png", "mimeType": "image/png", "buffer": png_bytes()}])
    page.click("#ticket-form button[type=submit]")
    page.wait_for_url(re.compile(r"/es/support/tickets/[A-Z0-9]{10}/$"))

    ticket = Ticket.objects.get()
    # Routed to the Spanish queue; with no Spanish agent online it falls back to English at once,
    # keeping the customer's language.
    assert (ticket.customer, ticket.withdrawal, ticket.language, ticket.home_queue.language) == (customer, withdrawal, "es", "es")
    assert ticket.queue.language == "en"
    assert page.inner_text("#ticket-reference") == f"#{ticket.reference}"
    assert page.locator("#conversation li[data-kind=customer]").count() == 1
    link = page.locator("#conversation a[data-attachment]")
    assert link.inner_text() == "captura.png"
    # The image is served to its owner with its sniffed type.
    response = page.request.get(base + link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"

    page.click("nav.sidebar a[href='/es/support/']")
    row = page.locator(f"#tickets tr[data-reference='{ticket.reference}']")
    assert row.locator("td").nth(1).inner_text() == "Mi retiro no ha llegado"
    assert row.get_attribute("data-status") == "open"


def test_a_message_with_a_script_runs_nothing(live_server, page, desk):
    customer = UserFactory(email="xss@example.test")
    payload = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"><b>bold?</b>'
    ticket = ticket_open(customer, desk, subject="<script>window.__xss = 3</script>", body=payload)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    base = live_server.url
    sign_in(page, base, customer, "en")
    for path in ("/en/support/", f"/en/support/tickets/{ticket.reference}/"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.inner_text("h1") == "<script>window.__xss = 3</script>"
    assert page.inner_text("#conversation .message-body") == payload
    assert page.locator("#conversation img, #conversation script, #conversation b").count() == 0
    assert dialogs == []


def test_the_support_pages_pass_axe_wcag_aa_in_english_and_arabic(live_server, page, desk):
    from support.services.attachments import attachments_add
    from support.services.tickets import message_post_agent, ticket_status_set
    from tests.support.factories import agent_create

    customer = UserFactory(email="axe@example.test")
    withdrawal_for(customer)
    agent = agent_create(languages=["en"])
    open_one = ticket_open(customer, desk, category="withdrawal", subject="Open one")
    attachments_add(message=open_one.messages.get(kind="customer"), files=[("screen.png", png_bytes())])
    solved = ticket_open(customer, desk, subject="Solved one")
    message_post_agent(ticket=solved, agent=agent, body="Fixed.")
    ticket_status_set(ticket=solved, status=Ticket.Status.SOLVED, by=agent)  # the rating and reopen forms show
    test_browser._admin_session(page, live_server, customer)
    found = {}
    for language in ("en", "ar"):
        for path in (
            "/support/",
            "/support/new/",
            "/support/new/withdrawal/",
            f"/support/tickets/{open_one.reference}/",
            f"/support/tickets/{solved.reference}/",
        ):
            page.goto(f"{live_server.url}/{language}{path}")
            violations = test_browser.axe_violations(page)
            if violations:
                found[f"/{language}{path}"] = violations
    assert not found, "\n".join(f"{path}\n  " + "\n  ".join(lines) for path, lines in found.items())

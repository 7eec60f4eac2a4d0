"""Who reaches what in the console, by id and URL: a customer is refused (403), an agent of another
language finds nothing (404) for the ticket, its customer, objects and attachments, a supervisor
reaches everything; a ticket that fell back to English stays with its language's agents too."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from support.models import Attachment, Message, Ticket
from support.views.customer import ATTACHMENT_CSP
from tests.support.conftest_console import *  # noqa: F403 - the fixtures
from tests.support.conftest_console import agent_create, customer_make, deposit_make, ticket_make


@pytest.fixture
def spanish_case(helpdesk, usdt, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    customer = customer_make("es")
    deposit = deposit_make(customer, usdt, "10", "0x" + "ab" * 32)
    ticket = ticket_make(helpdesk, customer=customer, category="deposit", deposit=deposit)
    message = Message.objects.get(ticket=ticket)
    content = b"%PDF-1.4 statement"
    attachment = Attachment(message=message, original_name="extracto.pdf", content_type="application/pdf", size=len(content))
    attachment.sha256 = hashlib.sha256(content).hexdigest()
    attachment.file.save("ignored", ContentFile(content), save=True)
    return {"customer": customer, "ticket": ticket, "deposit": deposit, "attachment": attachment}


def urls(case):
    ref = case["ticket"].reference
    return {
        "get": [
            reverse("console:ticket", args=[ref]),
            reverse("console:customer", args=[case["customer"].pk]),
            reverse("console:object", args=["deposit", case["deposit"].pk]),
            reverse("console:attachment", args=[case["attachment"].pk]),
        ],
        "post": [
            (reverse("console:reply", args=[ref]), {"body": "x", "last_seen": 999999}),
            (reverse("console:heartbeat", args=[ref]), {}),
            (reverse("console:status", args=[ref]), {"status": "solved"}),
            (reverse("console:priority", args=[ref]), {"priority": "urgent"}),
            (reverse("console:assign", args=[ref]), {"assignee": ""}),
            (reverse("console:security", args=[ref]), {"action": "freeze", "reason": "x"}),
            (reverse("console:freeze_lift_request", args=[ref]), {"freeze": 1, "reason": "x"}),
            (reverse("console:freeze_lift_approve", args=[ref, 1]), {}),
        ],
    }


def test_an_agent_of_another_language_finds_nothing(client, spanish_case, de_agent):
    client.force_login(de_agent)
    for url in urls(spanish_case)["get"]:
        assert client.get(url).status_code == 404, url
    for url, data in urls(spanish_case)["post"]:
        assert client.post(url, data).status_code == 404, url
    ticket = Ticket.objects.get(pk=spanish_case["ticket"].pk)
    assert (ticket.status, ticket.priority, ticket.messages.count()) == ("open", "normal", 1)


def test_the_customer_is_refused_the_console_even_for_their_own_ticket(client, spanish_case):
    client.force_login(spanish_case["customer"])
    assert client.get(reverse("console:queue")).status_code == 403
    for url in urls(spanish_case)["get"]:
        assert client.get(url).status_code == 403, url
    for url, data in urls(spanish_case)["post"]:
        assert client.post(url, data).status_code == 403, url


def test_anonymous_is_sent_to_sign_in(client, spanish_case):
    for url in urls(spanish_case)["get"]:
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login/" in response["Location"], url


def test_the_agent_of_the_language_and_a_supervisor_reach_everything(client, spanish_case, es_agent, supervisor):
    for who in (es_agent, supervisor):
        client.force_login(who)
        for url in urls(spanish_case)["get"]:
            assert client.get(url).status_code == 200, (who, url)


def test_attachments_download_only_and_with_their_sniffed_type(client, spanish_case, es_agent):
    client.force_login(es_agent)
    response = client.get(reverse("console:attachment", args=[spanish_case["attachment"].pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 statement"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;") and "extracto.pdf" in response["Content-Disposition"]
    assert response["Content-Security-Policy"] == ATTACHMENT_CSP  # the customer pages' policy: loads nothing, runs nothing
    html = client.get(reverse("console:ticket", args=[spanish_case["ticket"].reference])).content.decode()
    assert reverse("console:attachment", args=[spanish_case["attachment"].pk]) in html


def test_unknown_ids_are_404(client, spanish_case, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("console:ticket", args=["NOSUCHREF2"])).status_code == 404
    assert client.get(reverse("console:attachment", args=[spanish_case["attachment"].pk + 100])).status_code == 404
    assert client.get(reverse("console:object", args=["deposit", spanish_case["deposit"].pk + 100])).status_code == 404
    assert client.get(reverse("console:object", args=["journal", 1])).status_code == 404


def test_a_ticket_that_fell_back_to_english_is_seen_by_both_queues(client, spanish_case, es_agent, helpdesk):
    ticket = spanish_case["ticket"]
    Ticket.objects.filter(pk=ticket.pk).update(queue=helpdesk["queues"]["en"], fallback_at=timezone.now())
    english = agent_create(languages=["en"], email="emma@agora.test")
    for who in (english, es_agent):
        client.force_login(who)
        assert client.get(reverse("console:ticket", args=[ticket.reference])).status_code == 200
        assert client.get(reverse("console:customer", args=[spanish_case["customer"].pk])).status_code == 200

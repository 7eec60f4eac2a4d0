"""Fixtures of the console tests (imported by tests/support/test_console_*.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from support.models import Message, SlaClock, Ticket
from support.services.tickets import ticket_create
from tests.factories import PASSWORD, UserFactory
from tests.support.factories import agent_create, desk


@pytest.fixture
def helpdesk(db):
    return desk()


@pytest.fixture
def es_agent(helpdesk):
    return agent_create(languages=["es"], email="lucia@agora.test")


@pytest.fixture
def de_agent(helpdesk):
    return agent_create(languages=["de"], email="jonas@agora.test")


@pytest.fixture
def supervisor(helpdesk):
    return agent_create(languages=["en"], role="supervisor", email="sam@agora.test")


@pytest.fixture
def second_supervisor(helpdesk):
    return agent_create(languages=["en"], role="supervisor", email="sofia@agora.test")


def customer_make(language="es", **fields):
    return UserFactory(language=language, **fields)


def ticket_make(helpdesk, *, customer=None, language="es", category="other", subject="Ayuda", body="Hola", **links) -> Ticket:
    customer = customer or customer_make(language)
    ticket, _message = ticket_create(
        customer=customer, subject=subject, body=body, category=helpdesk["categories"][category], language=language, links=links
    )
    return ticket


def clock_make(helpdesk, ticket, *, metric="first_response", due_in=timedelta(hours=2), warn_in=None, state="running", breached=False):
    """A clock as the SLA engine would leave it; the ticket's next_due_at follows it."""
    now = timezone.now()
    due = now + due_in
    version = helpdesk["policy"].versions.get()
    clock = SlaClock.objects.create(
        ticket=ticket,
        metric=metric,
        cycle=SlaClock.objects.filter(ticket=ticket, metric=metric).count() + 1,
        state=state,
        policy_version=version,
        target_seconds=3600,
        started_at=now - timedelta(hours=1),
        due_at=due,
        warn_at=due - (warn_in if warn_in is not None else timedelta(minutes=30)),
        breached_at=due if breached else None,
    )
    if state == "running":
        Ticket.objects.filter(pk=ticket.pk).update(next_due_at=due)
    return clock


def reauthenticate(client, next_url: str):
    """allauth's re-authentication form: the password again (the suspended POST is replayed)."""
    from django.urls import reverse

    return client.post(reverse("account_reauthenticate") + f"?next={next_url}", {"password": PASSWORD})


def internal_messages(ticket):
    return list(Message.objects.filter(ticket=ticket, internal=True).order_by("id"))

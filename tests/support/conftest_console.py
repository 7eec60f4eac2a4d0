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


@pytest.fixture(autouse=True)
def language_reset():
    """A request to /de/... leaves German active in the thread; the next test starts in English."""
    from django.utils import translation

    before = translation.get_language()
    yield
    translation.activate(before)


@pytest.fixture
def german():
    """mark(msgid, context=None): the German catalog answers "[de] <msgid>" until the test ends
    (the catalogs are filled after the merge, so a test cannot rely on a real translation)."""
    from django.utils.translation import trans_real

    catalog = trans_real.translation("de")._catalog._catalogs[0]
    missing = object()
    saved = {}

    def mark(msgid, context=None):
        key = f"{context}\x04{msgid}" if context else msgid
        saved.setdefault(key, catalog.get(key, missing))
        catalog[key] = f"[de] {msgid}"

    yield mark
    for key, value in saved.items():
        if value is missing:
            del catalog[key]
        else:
            catalog[key] = value


@pytest.fixture
def usdt(db):
    """USDT (6 places) on ERC20."""
    from decimal import Decimal

    from wallets.models import Asset, Network

    asset = Asset.objects.create(symbol="USDT", name="Tether", precision=6, reference_price=Decimal(1))
    return Network.objects.create(
        asset=asset,
        code="ERC20",
        name="Ethereum",
        confirmations=3,
        withdrawal_fee=Decimal(1),
        withdrawal_min=Decimal(5),
        withdrawal_max=Decimal(100000),
    )


def deposit_make(user, network, amount, tx_hash, *, address="0xDepositAddressOfTheCustomer000000000001", status="credited"):
    from decimal import Decimal

    from wallets.models import Deposit, Journal

    journal = Journal.objects.create(kind=Journal.Kind.DEPOSIT, idempotency_key=f"dep-{tx_hash}") if status == "credited" else None
    return Deposit.objects.create(
        chain=network.code,
        tx_hash=tx_hash,
        token=network.asset.symbol,
        address=address,
        from_address="0xSenderOfTheFunds0000000000000000000000001",
        amount=Decimal(amount),
        block_height=10,
        user=user,
        network=network,
        confirmations=3,
        status=status,
        journal=journal,
    )


def withdrawal_make(user, network, amount, address, *, tx_hash=""):
    from decimal import Decimal

    from wallets.models import Withdrawal

    amount = Decimal(amount)
    return Withdrawal.objects.create(
        user=user,
        network=network,
        address=address,
        amount=amount,
        fee=Decimal(1),
        net_amount=amount - 1,
        status=Withdrawal.Status.QUEUED,
        idempotency_key=f"w-{address}-{amount}",
        tx_hash=tx_hash,
    )


def recovery_make(user, tx_hash, amount="250", *, status="submitted"):
    from decimal import Decimal

    from wallets.models import RecoveryRequest

    return RecoveryRequest.objects.create(
        user=user,
        tx_hash=tx_hash,
        chain="TRC20",
        token="USDT",
        amount=Decimal(amount),
        address="TNotOurNetworkAddress000000000000",
        status=status,
    )

"""The customer context panel: what it shows, its fixed query count, that it is read only, and
that only agents who can see one of the customer's tickets reach it."""

import re
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AccountFreeze, LoginRecord, SecurityEvent
from exchange.models import FeeTier, Market, Order, Trade
from support.models import SatisfactionRating, Ticket
from support.selectors.context import customer_context
from tests.support.conftest_console import *  # noqa: F403 - the fixtures
from tests.support.conftest_console import customer_make, deposit_make, recovery_make, ticket_make, withdrawal_make
from wallets.models import Asset, Journal
from wallets.services.adjustments import ledger_adjust


@pytest.fixture
def market(usdt):
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin", precision=8, reference_price=Decimal(60000))
    return Market.objects.create(
        symbol="BTCUSDT",
        base=btc,
        quote=usdt.asset,
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.0001"),
        min_qty=Decimal("0.0001"),
        max_qty=Decimal(100),
        min_notional=Decimal(5),
    )


def order_make(user, market, side="BUY", n=0):
    return Order.objects.create(
        market=market,
        user=user,
        client_order_id=f"o-{user.pk}-{side}-{n}",
        side=side,
        type="LIMIT",
        price=Decimal(60000),
        quantity=Decimal("0.5"),
        status="FILLED",
        reserved_asset=market.quote,
    )


def trade_make(buyer, seller, market, n=0):
    buy, sell = order_make(buyer, market, "BUY", n), order_make(seller, market, "SELL", n)
    journal = Journal.objects.create(kind=Journal.Kind.TRADE, idempotency_key=f"trade-{buy.pk}-{sell.pk}")
    return Trade.objects.create(
        market=market,
        price=Decimal(60000),
        quantity=Decimal("0.5"),
        quote_quantity=Decimal(30000),
        buy_order=buy,
        sell_order=sell,
        taker_side="BUY",
        buyer_fee=Decimal("0.0005"),
        buyer_fee_asset=market.base,
        seller_fee=Decimal(30),
        seller_fee_asset=market.quote,
        journal=journal,
    )


def fill(helpdesk, customer, usdt, market, n):
    """n of everything the panel lists."""
    counterparty = customer_make("en")
    for i in range(n):
        deposit_make(customer, usdt, f"{10 + i}", f"0x{customer.pk:032x}{i:032x}")
        withdrawal_make(customer, usdt, f"{20 + i}", f"0xDest{customer.pk:018d}{i:018d}")
        trade_make(customer, counterparty, market, i)
        SecurityEvent.objects.create(user=customer, kind="login", ip="192.0.2.1")
        LoginRecord.objects.create(user=customer, ip="192.0.2.1", user_agent="Firefox")
        recovery_make(customer, f"{customer.pk:032x}{i:032x}")
        old = ticket_make(helpdesk, customer=customer, subject=f"old {i}")
        Ticket.objects.filter(pk=old.pk).update(status="solved")
        SatisfactionRating.objects.create(ticket=old, solve_number=1, score=4, comment="bien")
        AccountFreeze.objects.create(user=customer, source="self", lifted_at="2026-01-01T00:00:00Z")


def test_the_panel_shows_the_customer_as_support_needs_them(client, helpdesk, es_agent, usdt, market):
    customer = customer_make("es", vip_tier=2)
    TOTP.activate(customer, generate_totp_secret())
    FeeTier.objects.create(tier=2, min_volume_30d=Decimal(1000000), maker_rate=Decimal("0.0008"), taker_rate=Decimal("0.001"))
    ledger_adjust(user=customer, asset=usdt.asset, amount=Decimal("1500.25"), reason="test", idempotency_key="fund")
    deposit = deposit_make(customer, usdt, "1500.25", "0x" + "ab" * 32)
    withdrawal = withdrawal_make(customer, usdt, "40", "0xWithdrawalDestination00000000000000000003")
    trade = trade_make(customer, customer_make("en"), market)
    SecurityEvent.objects.create(user=customer, kind="password_changed", ip="192.0.2.7")
    LoginRecord.objects.create(user=customer, ip="192.0.2.8", user_agent="Firefox on Linux", new_device=True)
    AccountFreeze.objects.create(user=customer, source="self", reason="lost phone", lifted_at="2026-01-02T00:00:00Z")
    open_recovery = recovery_make(customer, "e" * 64, status="quoted")
    recovery_make(customer, "f" * 64, status="credited")
    earlier = ticket_make(helpdesk, customer=customer, subject="Mi primer ticket")
    Ticket.objects.filter(pk=earlier.pk).update(status="solved")
    SatisfactionRating.objects.create(ticket=earlier, solve_number=1, score=5, comment="¡Rápido!")
    ticket = ticket_make(helpdesk, customer=customer, subject="Ahora")

    panel = customer_context(customer=customer, exclude_ticket=ticket)
    assert panel.email_verified is True and panel.mfa_types == ["totp"]
    assert panel.fee_tier.tier == 2
    assert [(row.asset.symbol, row.available) for row in panel.balances] == [("USDT", Decimal("1500.25"))]
    assert panel.balance_total == Decimal("1500.25")
    assert [d.pk for d in panel.deposits] == [deposit.pk]
    assert [w.pk for w in panel.withdrawals] == [withdrawal.pk]
    assert [o.pk for o in panel.orders] == [trade.buy_order_id]
    assert [(row.trade.pk, row.side, row.fee) for row in panel.trades] == [(trade.pk, "BUY", Decimal("0.0005"))]
    assert [e.kind for e in panel.security_events] == ["password_changed"]
    assert [login.ip for login in panel.logins] == ["192.0.2.8"]
    assert [f.reason for f in panel.freezes] == ["lost phone"] and panel.active_freeze is None
    assert [r.pk for r in panel.recoveries_open] == [open_recovery.pk]  # a credited one is closed
    assert [t.pk for t in panel.tickets] == [earlier.pk]  # not the ticket being worked
    assert [(r.score, r.comment) for r in panel.ratings] == [(5, "¡Rápido!")]

    client.force_login(es_agent)
    html = client.get(reverse("console:ticket", args=[ticket.reference])).content.decode()
    panel_html = re.search(r'<section class="card context-panel".*?</section>', html, re.S).group(0)
    for text in [
        "verified",
        "VIP 2",
        'maker <bdi class="num" dir="ltr">0.08%</bdi>, taker <bdi class="num" dir="ltr">0.10%</bdi>',
        "1,500.250000",
        f"Deposit #{deposit.pk}",
        f"Withdrawal #{withdrawal.pk}",
        "BTCUSDT",
        "Password changed",
        "192.0.2.8",
        "new device",
        "By the account holder",
        f"Fund recovery #{open_recovery.pk}",
        "Mi primer ticket",
        "5 of 5",
        "¡Rápido!",
        "Read only: agents cannot move funds from the console.",
    ]:
        assert text in panel_html, text
    # Read only: the panel holds no form and no button.
    assert "<form" not in panel_html and "<button" not in panel_html


def test_an_unverified_customer_without_mfa_is_flagged(helpdesk, usdt):
    customer = customer_make("es", verified=False)
    panel = customer_context(customer=customer)
    assert panel.email_verified is False and panel.has_mfa is False and panel.balances == [] and panel.api_keys_active == 0


def test_the_panel_costs_the_same_queries_for_one_or_many_of_everything(helpdesk, usdt, market):
    few, many = customer_make("es"), customer_make("es")
    fill(helpdesk, few, usdt, market, 1)
    fill(helpdesk, many, usdt, market, 12)
    with CaptureQueriesContext(connection) as one:
        customer_context(customer=few)
    with CaptureQueriesContext(connection) as twelve:
        panel = customer_context(customer=many)
    assert len(panel.deposits) == 10 and len(panel.tickets) == 10 and len(panel.recoveries_open) == 12
    assert len(one) == len(twelve) == 18, [q["sql"][:120] for q in twelve.captured_queries]


def test_only_agents_who_see_one_of_the_customers_tickets_open_the_panel(client, helpdesk, es_agent, de_agent, supervisor):
    spanish = customer_make("es")
    ticket_make(helpdesk, customer=spanish)
    nobody = customer_make("es")  # no ticket at all
    url = reverse("console:customer", args=[spanish.pk])
    client.force_login(es_agent)
    assert client.get(url).status_code == 200
    assert client.get(reverse("console:customer", args=[nobody.pk])).status_code == 404
    client.force_login(de_agent)
    assert client.get(url).status_code == 404
    client.force_login(supervisor)
    assert client.get(url).status_code == 200
    client.force_login(spanish)
    assert client.get(url).status_code == 403

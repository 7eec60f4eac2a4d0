"""Admin shows every amount at its asset's precision: no `E-`/`E+`, no 18-place NUMERIC text.

Every registered admin's list and the change page of each of its first objects is opened on the
seeded demo data plus a trade, a deposit, a withdrawal, a previewed distribution, a reconciliation
and a recovery request; the visible text and the form values are read back."""

import re
from datetime import timedelta
from decimal import Decimal as D
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from django.urls import reverse
from django.utils import timezone

from config.admin_amounts import AmountsAdmin
from exchange.models import Market
from exchange.runner import engine_for, engines_reset
from exchange.services import order_place
from tests.factories import UserFactory
from wallets import services
from wallets.chains import chain_adapter
from wallets.ledger import user_account
from wallets.models import Asset, Distribution, Network, Payout, Reconciliation, RecoveryRequest, Withdrawal

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "wallets", "exchange", "support", "config"}
MAX_PLACES = 8  # the largest precision of a seeded asset
EXPONENT = re.compile(r"\dE[+-]?\d")
DECIMALS = re.compile(r"\d\.(\d+)")


class _Visible(HTMLParser):
    """Text a person sees on an admin page: text nodes outside script/style, and input values."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") not in ("hidden", "checkbox", "submit") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return parser.parts


@pytest.fixture
def demo(db):
    engines_reset()
    call_command("seed_demo", verbosity=0)
    from accounts.models import User

    market = Market.objects.get(symbol="BTCUSDT")
    maker, taker = User.objects.get(email="maker@demo.test"), User.objects.get(email="taker@demo.test")
    order_place(user=maker, market=market, side="SELL", type="LIMIT", quantity="0.01", price="60000")
    order_place(user=taker, market=market, side="BUY", type="LIMIT", quantity="0.01", price="60000")
    engine_for(market.pk).apply_all()
    # A BTC deposit on the simulated chain, mined and credited.
    btc = Network.objects.get(asset__symbol="BTC", code="BTC")
    address = services.deposit_address_for(user=taker, network=btc)
    chain_adapter("BTC").mine(token="BTC", to_address=address.address, memo="", amount=D("0.5"), from_address="external")
    chain_adapter("BTC").mine(blocks=btc.confirmations)
    services.chain_scan(chain="BTC")
    usdt = Network.objects.get(asset__symbol="USDT", code="TRC20")
    Withdrawal.objects.create(
        user=taker, network=usdt, address="TXYZ", amount=D("15"), fee=D("1"), net_amount=D("14"), status="review", idempotency_key="w1"
    )
    RecoveryRequest.objects.create(user=taker, tx_hash="0xabc", chain="NEO3", token="NEO", amount=D("3"), address="N1")
    services.holdings_snapshot_take(day=timezone.now().date() - timedelta(days=1))
    operator = User.objects.filter(groups__name="operator").first()
    payout = Distribution.objects.create(
        name="USDT airdrop",
        purpose=Payout.Purpose.AIRDROP,
        basis=Payout.Basis.CSV,
        reward_asset=Asset.objects.get(symbol="USDT"),
        csv_text=f"{taker.email},10\n{maker.email},0.5",
        created_by=operator,
    )
    services.payout_preview(payout=payout, by=operator)
    services.reconciliation_run(trigger=Reconciliation.Trigger.MANUAL)
    yield {"taker": taker, "payout": payout}
    engines_reset()


def _pages(client):
    """(url, visible text) of every admin list and of the change page of up to 3 of its objects."""
    from django.contrib.auth import get_user
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = get_user(client)
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        urls = [reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")]
        for obj in model_admin.get_queryset(request)[:3]:
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            yield url, visible(response.content.decode())


def test_every_admin_page_shows_amounts_at_asset_precision(client, demo):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    problems, pages = [], 0
    for url, parts in _pages(client):
        pages += 1
        for text in parts:
            if EXPONENT.search(text):
                problems.append((url, text))
            for decimals in DECIMALS.findall(text):
                if len(decimals) > MAX_PLACES:
                    problems.append((url, text))
    assert pages > 60
    assert problems == [], "\n".join(f"{url}: {text}" for url, text in problems)


def test_amounts_use_their_own_assets_places(client, demo):
    """USDT has 6 places, NEO none, BTC 8: each amount is shown with exactly its asset's places."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    withdrawal = Withdrawal.objects.get(idempotency_key="w1")
    parts = visible(client.get(reverse("admin:wallets_withdrawal_change", args=[withdrawal.pk])).content.decode())
    assert "15.000000" in parts and "1.000000" in parts and "14.000000" in parts
    parts = visible(client.get(reverse("admin:wallets_withdrawal_changelist")).content.decode())
    assert "15.000000" in parts
    recovery = RecoveryRequest.objects.get()
    parts = visible(client.get(reverse("admin:wallets_recoveryrequest_change", args=[recovery.pk])).content.decode())
    assert "3" in parts and "0" in parts  # amount and fee of a 0-place asset
    account = user_account(user=demo["taker"], asset=Asset.objects.get(symbol="BTC"))
    parts = visible(client.get(reverse("admin:wallets_ledgeraccount_change", args=[account.pk])).content.decode())
    assert f"{account.available:,.8f}" in parts
    parts = visible(client.get(reverse("admin:wallets_distribution_change", args=[demo["payout"].pk])).content.decode())
    assert "10.000000" in parts and "0.500000" in parts and "10.500000" in parts  # two lines and the budget


def test_every_admin_with_decimal_columns_uses_the_amount_display():
    """A new admin of a model with amounts must go through AmountsAdmin (and so must its inlines)."""
    missing = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:  # django-celery-beat's latitude and longitude are no amounts
            continue
        admins = [model_admin, *(inline(model, admin.site) for inline in model_admin.inlines)]
        for each in admins:
            if any(isinstance(f, models.DecimalField) for f in each.model._meta.get_fields()) and not isinstance(each, AmountsAdmin):
                missing.append(type(each).__name__)
    assert missing == []

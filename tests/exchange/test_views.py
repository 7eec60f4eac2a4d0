"""The markets page and the fee schedule, with the choice to pay fees in the platform token."""

from decimal import Decimal as D

import pytest
from freezegun import freeze_time

from config.formatting import percent_format
from exchange.models import Market
from exchange.runner import engine_for
from exchange.selectors import volumes_30d
from exchange.services import order_place
from tests.exchange.conftest import funded
from wallets.models import Asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def agr(market):
    return Asset.objects.create(symbol="AGR", name="Agora Token", precision=8, is_platform_token=True, reference_price=D("0.8"))


def trade(market, price, qty="0.01", seller=None, buyer=None):
    seller, buyer = seller or funded(btc="1"), buyer or funded(usdt="100000")
    order_place(user=seller, market=market, side="SELL", type="LIMIT", quantity=qty, price=price)
    order_place(user=buyer, market=market, side="BUY", type="LIMIT", quantity=qty, price=price)
    engine_for(market.pk).apply_all()
    return seller, buyer


@pytest.mark.parametrize(
    ("language", "value", "expected"),
    [
        ("en", "0.00075", "0.075%"),
        ("de", "0.001", "0,10\xa0%"),
        ("tr", "0.0015", "%0,15"),
        ("en", "0.000675", "0.0675%"),
        ("fr", "-0.02941", "-2,941\xa0%"),
        ("ar", "0.25", "25.00%"),
    ],
)
def test_percentages_follow_the_locale_with_latin_digits(language, value, expected):
    assert percent_format(D(value), language=language) == expected


def test_a_positive_change_carries_its_plus_inside_the_isolated_number():
    from django.template import Context, Template
    from django.utils import translation

    with translation.override("ar"):
        html = Template("{{ up|change_percent }} {{ down|change_percent }} {{ flat|change_percent }} {{ d|percent:'0-2' }}").render(
            Context({"up": D("0.02"), "down": D("-0.0123"), "flat": D(0), "d": D("0.125")})
        )
    assert html == (
        '<bdi class="num" dir="ltr">+2.00%</bdi> <bdi class="num" dir="ltr">-1.23%</bdi> '
        '<bdi class="num" dir="ltr">0.00%</bdi> <bdi class="num" dir="ltr">12.5%</bdi>'
    )


def test_markets_page_shows_24h_statistics_for_everyone(client, market):
    halted = Market.objects.create(
        symbol="ETHUSDT",
        base=Asset.objects.create(symbol="ETH", name="Ether", precision=8),
        quote=market.quote,
        tick_size=D("0.01"),
        step_size=D("0.0001"),
        min_qty=D("0.0001"),
        max_qty=D("1000"),
        min_notional=D("5"),
        status=Market.Status.HALT,
    )
    assert "No markets are open yet." not in client.get("/en/markets/").content.decode()  # (also loads C extensions before time is frozen)
    with freeze_time("2026-03-02 09:00:00"):
        trade(market, "50000")
    with freeze_time("2026-03-02 10:00:00"):
        trade(market, "51000")
        html = client.get("/en/markets/").content.decode()
        german = client.get("/de/markets/").content.decode()
    row = html[html.index('data-symbol="BTCUSDT"') : html.index('data-symbol="ETHUSDT"')]
    assert '<bdi class="num" dir="ltr">51,000.00</bdi>' in row  # last price, in the market's tick
    assert 'class="num change up"><bdi class="num" dir="ltr">+2.00%</bdi>' in row
    assert '<bdi class="num" dir="ltr">0.0200</bdi> <span class="muted">BTC</span>' in row  # 24h volume in the market's step
    assert '<span class="badge ok">Trading</span>' in row
    never_traded = html[html.index('data-symbol="ETHUSDT"') :]
    assert '<span class="badge off">Halted</span>' in never_traded and never_traded.count('<td class="num">—</td>') == 5
    assert "51.000,00<" in german and "2,00\xa0%" in german
    assert halted.symbol in html


def test_fee_schedule_is_public_and_shows_the_token_discount(client, market, agr):
    html = client.get("/en/fees/").content.decode()
    tier0 = html[html.index('data-tier="0"') : html.index('data-tier="1"')]
    # tier 0: maker 0.1 %, taker 0.2 %; paid in AGR 25 % less
    assert [part.split("<")[0] for part in tier0.split('dir="ltr">')[1:]] == ["0", "0.10%", "0.20%", "0.075%", "0.15%"]
    assert "Pay fees in AGR" in html and 'cost <bdi class="num" dir="ltr">25%</bdi> less' in html
    assert "Sign in to choose how you pay fees." in html and 'name="pay_in_token"' not in html
    assert 'id="your-tier"' not in html
    response = client.post("/en/fees/token/", {"pay_in_token": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/en/auth/login/")
    japanese = client.get("/ja/fees/").content.decode()
    assert "手数料" in japanese


def test_looking_at_the_fee_schedule_creates_no_ledger_account(client, market, agr):
    from wallets.models import LedgerAccount

    user = funded(usdt="10")
    client.force_login(user)
    assert 'Available AGR: <bdi class="num" dir="ltr">0.00000000</bdi>' in client.get("/en/fees/").content.decode()
    assert not LedgerAccount.objects.filter(user=user, asset=agr).exists()


def test_signed_in_trader_sees_tier_and_volume_and_chooses_to_pay_in_the_token(client, market, agr):
    user = funded(usdt="100000", agr="42")
    trade(market, "50000", qty="0.02", buyer=user)  # 1,000 USDT on the buy side
    client.force_login(user)
    html = client.get("/en/fees/").content.decode()
    assert 'data-tier="0" class="current" aria-current="true"' in html
    assert '<dt>30-day volume</dt><dd><bdi class="num" dir="ltr">1,000.00</bdi> USDT</dd>' in html
    assert "VIP 1 from" in html and '<bdi class="num" dir="ltr">1,000,000</bdi> USDT' in html
    assert 'Available AGR: <bdi class="num" dir="ltr">42.00000000</bdi>' in html
    assert client.get("/en/fees/token/").status_code == 405
    response = client.post("/en/fees/token/", {"pay_in_token": "1"}, follow=True)
    user.refresh_from_db()
    assert user.pay_fees_in_platform_token is True
    assert "Your trading fees are now paid in AGR at a discount" in response.content.decode()
    assert '<span class="badge ok">On</span>' in response.content.decode()
    client.post("/en/fees/token/", {"pay_in_token": "0"})
    user.refresh_from_db()
    assert user.pay_fees_in_platform_token is False


def test_30_day_volume_values_other_quotes_in_usdt_and_forgets_old_trades(market):
    btc = market.base
    eth = Asset.objects.create(symbol="ETH", name="Ether", precision=8, reference_price=D("3000"))
    ethbtc = Market.objects.create(
        symbol="ETHBTC",
        base=eth,
        quote=btc,
        tick_size=D("0.00001"),
        step_size=D("0.001"),
        min_qty=D("0.001"),
        max_qty=D("1000"),
        min_notional=D("0.0001"),
    )
    seller, buyer = funded(btc="1", eth="10"), funded(btc="1", usdt="100000")
    with freeze_time("2026-01-01"):
        trade(market, "40000", seller=seller, buyer=buyer)  # leaves the window
    with freeze_time("2026-02-20"):
        trade(market, "50000", seller=seller, buyer=buyer)  # 500 USDT; BTC's last price is now 50,000
        order_place(user=seller, market=ethbtc, side="SELL", type="LIMIT", quantity="1", price="0.06")
        order_place(user=buyer, market=ethbtc, side="BUY", type="LIMIT", quantity="1", price="0.06")
        engine_for(ethbtc.pk).apply_all()  # 0.06 BTC = 3,000 USDT
        volumes = volumes_30d()
    assert volumes == {seller.pk: D("3500"), buyer.pk: D("3500")}


def test_markets_page_reads_the_same_few_queries_however_many_markets(client, market, django_assert_max_num_queries):
    trade(market, "50000")
    client.get("/en/markets/")  # warm-up: content types, the first session
    for n in range(6):
        base = Asset.objects.create(symbol=f"X{n}", name=f"X{n}", precision=8)
        Market.objects.create(
            symbol=f"X{n}USDT",
            base=base,
            quote=market.quote,
            tick_size=D("0.01"),
            step_size=D("0.0001"),
            min_qty=D("0.0001"),
            max_qty=D("1000"),
            min_notional=D("5"),
        )
    with django_assert_max_num_queries(5):  # markets, klines, depth snapshots, last trades and closes before the window
        html = client.get("/en/markets/").content.decode()
    assert html.count("data-symbol=") == 7

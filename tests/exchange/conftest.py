from decimal import Decimal as D

import pytest

from exchange.models import FeeTier, Market
from exchange.runner import engines_reset
from tests.factories import UserFactory
from wallets.ledger import user_account
from wallets.models import Asset
from wallets.services import ledger_adjust


@pytest.fixture(autouse=True)
def _fresh_engines():
    engines_reset()  # in-process engines hold books of the previous test's database
    yield
    engines_reset()


@pytest.fixture
def market(db):
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin", precision=8)
    usdt = Asset.objects.create(symbol="USDT", name="Tether", precision=6)
    FeeTier.objects.create(tier=0, min_volume_30d=0, maker_rate=D("0.001"), taker_rate=D("0.002"))
    FeeTier.objects.create(tier=1, min_volume_30d=D("1000000"), maker_rate=D("0"), taker_rate=D("0.001"))
    return Market.objects.create(
        symbol="BTCUSDT",
        base=btc,
        quote=usdt,
        tick_size=D("0.01"),
        step_size=D("0.0001"),
        min_qty=D("0.0001"),
        max_qty=D("100"),
        min_notional=D("5"),
    )


def funded(**holdings):
    user = UserFactory()
    for symbol, amount in holdings.items():
        ledger_adjust(
            user=user,
            asset=Asset.objects.get(symbol=symbol.upper()),
            amount=D(amount),
            reason="test",
            idempotency_key=f"fund-{user.pk}-{symbol}",
        )
    return user


def bal(user, symbol):
    account = user_account(user=user, asset=Asset.objects.get(symbol=symbol))
    return account.available, account.locked

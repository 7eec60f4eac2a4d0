from decimal import Decimal as D

import pytest
from django.core.cache import cache

from tests.conftest import totp_code
from tests.factories import UserFactory
from wallets.chains import chain_adapter
from wallets.ledger import user_account
from wallets.models import Asset, Network
from wallets.services import chain_scan, deposit_address_for, ledger_adjust

# Real, valid main-network addresses nobody at Agora owns (published examples and test vectors).
BTC_EXTERNAL = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # BIP-173 P2WPKH vector
BTC_GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"  # the genesis block's coinbase
BTC_TAPROOT = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"  # BIP-350 vector
ETH_EXTERNAL = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55 example
TRON_EXTERNAL = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"  # the USDT contract on Tron
XRP_EXTERNAL = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"  # the XRP Ledger's genesis account
SOL_EXTERNAL = "So11111111111111111111111111111111111111112"  # wrapped SOL mint


@pytest.fixture
def chain(db):
    """BTC (2 confirmations), ETH and USDT on ERC20 (3), USDT on TRC20, BNB on BEP20, XRP with memos."""
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin", precision=8, withdrawal_daily_limit=D("5"), withdrawal_review_threshold=D("2"))
    eth = Asset.objects.create(symbol="ETH", name="Ethereum", precision=8)
    usdt = Asset.objects.create(symbol="USDT", name="Tether", precision=6)
    bnb = Asset.objects.create(symbol="BNB", name="BNB", precision=8)
    xrp = Asset.objects.create(symbol="XRP", name="XRP", precision=6)
    nets = {
        "BTC": Network.objects.create(
            asset=btc,
            code="BTC",
            name="Bitcoin",
            confirmations=2,
            withdrawal_fee=D("0.0002"),
            withdrawal_min=D("0.001"),
            withdrawal_max=D("10"),
        ),
        "ETH": Network.objects.create(
            asset=eth,
            code="ERC20",
            name="Ethereum",
            confirmations=3,
            withdrawal_fee=D("0.002"),
            withdrawal_min=D("0.01"),
            withdrawal_max=D("1000"),
        ),
        "USDT": Network.objects.create(
            asset=usdt,
            code="ERC20",
            name="Ethereum",
            confirmations=3,
            withdrawal_fee=D("5"),
            withdrawal_min=D("10"),
            withdrawal_max=D("1000000"),
        ),
        "USDT-TRC20": Network.objects.create(
            asset=usdt,
            code="TRC20",
            name="Tron",
            confirmations=1,
            withdrawal_fee=D("1"),
            withdrawal_min=D("10"),
            withdrawal_max=D("1000000"),
        ),
        "BNB": Network.objects.create(
            asset=bnb,
            code="BEP20",
            name="BSC",
            confirmations=1,
            withdrawal_fee=D("0.0005"),
            withdrawal_min=D("0.01"),
            withdrawal_max=D("1000"),
        ),
        "XRP": Network.objects.create(
            asset=xrp,
            code="XRP",
            name="XRP Ledger",
            confirmations=1,
            withdrawal_fee=D("0.25"),
            withdrawal_min=D("20"),
            withdrawal_max=D("100000"),
            memo_required=True,
        ),
    }
    return nets


def send(chain_code, address, amount, token, memo=""):
    return chain_adapter(chain_code).mine(token=token, to_address=address, memo=memo, amount=D(amount), from_address="external")


def mine(chain_code, blocks=1):
    chain_adapter(chain_code).mine(blocks=blocks)


def deposit(user, network, amount, memo=None):
    """A deposit on the chain, confirmed and credited (the custody then really holds it)."""
    address = deposit_address_for(user=user, network=network)
    send(network.code, address.address, amount, network.asset.symbol, address.memo if memo is None else memo)
    mine(network.code, network.confirmations - 1)
    return chain_scan(chain=network.code)


def balance(user, asset):
    account = user_account(user=user, asset=asset)
    return account.available, account.locked


def fund(user, asset, amount):
    ledger_adjust(user=user, asset=asset, amount=D(amount), reason="test", idempotency_key=f"fund-{user.pk}-{asset.pk}-{amount}")


@pytest.fixture
def trader(totp_user):
    """A verified user with an authenticator app: (user, secret)."""
    return totp_user


def fresh_code(secret):
    """A valid TOTP code that was not used yet in this test (allauth refuses a code twice)."""
    cache.clear()
    return totp_code(secret)


@pytest.fixture
def other(db):
    return UserFactory()


@pytest.fixture(autouse=True)
def _language_reset(settings):
    """A request to /de/... leaves German active in the thread; the next test starts in English."""
    from django.utils import translation

    yield
    translation.activate(settings.LANGUAGE_CODE)

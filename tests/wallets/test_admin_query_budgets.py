"""Admin lists cost the same number of queries for 1 row as for 20 (no query per row)."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import UserFactory
from tests.wallets.conftest import fund
from wallets.ledger import user_account
from wallets.models import Asset, Deposit, Distribution, Network, Payout, Withdrawal

pytestmark = pytest.mark.django_db


def _rows(n, asset, network, operator):
    for _ in range(n):
        user = UserFactory()
        fund(user, asset, "25")
        user_account(user=user, asset=asset)
        Withdrawal.objects.create(
            user=user,
            network=network,
            address="0xabc",
            amount=D("15"),
            fee=D("5"),
            net_amount=D("10"),
            status="review",
            idempotency_key=f"w-{user.pk}",
        )
        Deposit.objects.create(
            user=user,
            chain=network.code,
            token=asset.symbol,
            tx_hash=f"0x{user.pk:064x}",
            tx_index=0,
            block_height=1,
            address="0xdef",
            amount=D("25"),
            status="confirming",
        )
        Distribution.objects.create(
            name=f"d{user.pk}",
            purpose=Payout.Purpose.AIRDROP,
            basis=Payout.Basis.CSV,
            reward_asset=asset,
            created_by=operator,
            prepared_by=operator,
        )


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "name",
    ["wallets_withdrawal", "wallets_deposit", "wallets_distribution", "wallets_ledgeraccount", "accounts_user", "wallets_poolfunding"],
)
def test_admin_list_queries_do_not_grow_with_rows(client, chain, name):
    usdt = Asset.objects.get(symbol="USDT")
    network = Network.objects.get(asset=usdt, code="ERC20")
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = reverse(f"admin:{name}_changelist")
    _rows(1, usdt, network, staff)
    client.get(url)  # the first request of a session also loads what later ones find cached
    one = _count(client, url)
    _rows(19, usdt, network, staff)
    assert _count(client, url) == one

"""Query budgets on the hot paths: a fixed number of queries whether the user has one row or many
(an N+1 regression fails here)."""

from decimal import Decimal as D

import pytest

from tests.factories import UserFactory
from tests.wallets.conftest import BTC_EXTERNAL, deposit, fresh_code, fund, send
from wallets.models import Asset, Network
from wallets.services import chain_scan, deposit_address_for, ledger_adjust, withdrawal_request

# The same on SQLite and PostgreSQL (savepoints and locks are counted on both).
# withdrawal_request: 29 since TOTP failures are counted in the database (the counter rows are created and locked per scope)
BUDGET = {"withdrawal_request": 29, "wallet": 13, "history": 11, "withdraw_page": 16}


def _history(user, chain, secret, rows: int, capture):
    """`rows` of each kind the pages list: balances in extra assets, credited and pending deposits,
    withdrawals in flight, internal transfers received."""
    for i in range(rows):
        asset = Asset.objects.create(symbol=f"QB{i}", name=f"Budget coin {i}", precision=8)
        Network.objects.create(asset=asset, code="SOL", name="Solana", withdrawal_fee=D("0"), withdrawal_min=D("0"), withdrawal_max=D("10"))
        ledger_adjust(user=user, asset=asset, amount=D(i + 1), reason="budget", idempotency_key=f"qb-{i}")
        deposit(user, chain["ETH"], str(i + 1))
        fund(user, chain["BTC"].asset, "1")
        with capture(execute=True):
            withdrawal_request(
                user=user, network=chain["BTC"], address=BTC_EXTERNAL, amount="0.01", mfa_code=fresh_code(secret), idempotency_key=f"w{i}"
            )
    pending = deposit_address_for(user=user, network=chain["BTC"])
    for i in range(rows):
        send("BTC", pending.address, f"0.{i + 1}", "BTC")  # 1 of 2 confirmations: pending
    chain_scan(chain="BTC")


@pytest.mark.parametrize("rows", [1, 12])
def test_withdrawal_request_budget(chain, trader, rows, django_capture_on_commit_callbacks, django_assert_num_queries):
    user, secret = trader
    _history(user, chain, secret, rows, django_capture_on_commit_callbacks)
    code = fresh_code(secret)
    with django_assert_num_queries(BUDGET["withdrawal_request"]):
        withdrawal_request(user=user, network=chain["BTC"], address=BTC_EXTERNAL, amount="0.01", mfa_code=code, idempotency_key="budget")


@pytest.mark.parametrize("rows", [1, 12])
@pytest.mark.parametrize(
    "page, path", [("wallet", "/en/wallet/"), ("history", "/en/wallet/history/"), ("withdraw_page", "/en/wallet/withdraw/BTC/")]
)
def test_page_budget(client, chain, trader, rows, page, path, django_capture_on_commit_callbacks, django_assert_num_queries):
    user, secret = trader
    _history(user, chain, secret, rows, django_capture_on_commit_callbacks)
    other = UserFactory()
    fund(other, chain["BTC"].asset, "1")  # someone else's rows are not read
    client.force_login(user)
    client.get(path)  # the session's first request writes its bookkeeping once
    with django_assert_num_queries(BUDGET[page]):
        response = client.get(path)
    html = response.content.decode()
    assert response.status_code == 200
    # the many rows are really on the page
    if page == "wallet":
        assert all(f'data-asset="QB{i}"' in html for i in range(rows))
    elif page == "history":
        assert html.count('data-kind="withdrawal"') == rows and html.count('data-kind="deposit"') >= rows
    else:
        table = html[html.index('id="withdrawals"') :]
        assert table.count("<tr data-status=") == rows

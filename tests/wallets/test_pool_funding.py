"""A distribution preview says whether its funding account holds the budget, and the pool is
funded by an audited two-person transfer from a named system account."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.wallets.conftest import fund
from wallets.admin import funding_summary
from wallets.ledger import Line, journal_post, system_account, user_account
from wallets.models import AccountKind, Asset, Distribution, Entry, Journal, Payout, PoolFunding
from wallets.services import PoolFundingRefused, payout_approve, payout_preview, pool_funding_approve, pool_funding_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(chain):
    usdt = Asset.objects.get(symbol="USDT")
    alice, bob, trader = UserFactory(), UserFactory(), UserFactory()
    # The fees account earns 100.25 USDT from a trader.
    fund(trader, usdt, "100.25")
    journal_post(
        kind=Journal.Kind.FEE,
        idempotency_key="fees-earned",
        lines=[
            Line(user_account(user=trader, asset=usdt), D("-100.25")),
            Line(system_account(kind=AccountKind.FEES, asset=usdt), D("100.25")),
        ],
    )
    payout = Distribution.objects.create(
        name="airdrop",
        purpose=Payout.Purpose.AIRDROP,
        basis=Payout.Basis.CSV,
        reward_asset=usdt,
        csv_text=f"{trader.email},10.123456\n{alice.email},0.000001",
        created_by=alice,
    )
    payout = payout_preview(payout=payout, by=alice)
    return {"usdt": usdt, "alice": alice, "bob": bob, "payout": payout}


def _available(kind, asset):
    return system_account(kind=kind, asset=asset).available


def test_preview_says_the_pool_is_short_then_enough_after_a_two_person_funding(setup):
    usdt, alice, bob, payout = setup["usdt"], setup["alice"], setup["bob"], setup["payout"]
    assert payout.budget == D("10.123457")
    assert funding_summary(payout) == (
        "The Distribution pool account holds 0.000000 USDT: NOT enough for the budget of 10.123457 USDT, short by 10.123457 USDT. "
        "Fund the pool (Pool fundings) before approving."
    )

    request = pool_funding_request(asset=usdt, source_kind=AccountKind.FEES, amount=D("10.123457"), reason="airdrop budget", by=alice)
    assert (request.status, request.amount, request.journal_id) == (PoolFunding.Status.REQUESTED, D("10.123457"), None)
    assert _available(AccountKind.DISTRIBUTION_POOL, usdt) == D("0")  # nothing moves on request
    with pytest.raises(PoolFundingRefused) as refused:
        pool_funding_approve(funding=request, by=alice)
    assert refused.value.code == "four_eyes"

    posted = pool_funding_approve(funding=request, by=bob)
    assert (posted.status, posted.approved_by) == (PoolFunding.Status.POSTED, bob)
    assert posted.journal.idempotency_key == f"pool-funding-{request.pk}"
    assert sorted(posted.journal.entries.values_list("amount", "bucket")) == [(D("-10.123457"), "available"), (D("10.123457"), "available")]
    assert _available(AccountKind.FEES, usdt) == D("90.126543")
    assert _available(AccountKind.DISTRIBUTION_POOL, usdt) == D("10.123457")
    assert funding_summary(payout) == "The Distribution pool account holds 10.123457 USDT: enough for the budget of 10.123457 USDT."

    with pytest.raises(PoolFundingRefused) as refused:
        pool_funding_approve(funding=request, by=bob)
    assert refused.value.code == "not_requested"
    assert Journal.objects.filter(idempotency_key__startswith="pool-funding-").count() == 1

    payout_approve(payout=payout, by=bob)  # the approval the funding made possible
    pool = system_account(kind=AccountKind.DISTRIBUTION_POOL, asset=usdt)
    assert (pool.available, pool.locked) == (D("0"), D("10.123457"))


def test_funding_refuses_missing_reason_bad_amounts_the_pool_itself_and_an_empty_source(setup):
    usdt, alice, bob = setup["usdt"], setup["alice"], setup["bob"]
    cases = [
        ({"reason": "  "}, "reason_required"),
        ({"amount": D("1.0000001")}, "invalid_amount"),
        ({"amount": D("0")}, "invalid_amount"),
        ({"amount": D("-5")}, "invalid_amount"),
        ({"source_kind": AccountKind.DISTRIBUTION_POOL}, "bad_source"),
        ({"source_kind": AccountKind.USER}, "bad_source"),
    ]
    for change, code in cases:
        args = {"asset": usdt, "source_kind": AccountKind.FEES, "amount": D("1"), "reason": "r", "by": alice, **change}
        with pytest.raises(PoolFundingRefused) as refused:
            pool_funding_request(**args)
        assert refused.value.code == code, change
    too_much = pool_funding_request(asset=usdt, source_kind=AccountKind.FEES, amount=D("100.250001"), reason="all of it", by=alice)
    with pytest.raises(PoolFundingRefused) as refused:
        pool_funding_approve(funding=too_much, by=bob)
    assert refused.value.code == "insufficient_funds"
    assert refused.value.message == "The Fees account holds 100.25 USDT, less than 100.250001 USDT."
    too_much.refresh_from_db()
    assert too_much.status == PoolFunding.Status.REQUESTED
    assert _available(AccountKind.FEES, usdt) == D("100.25")
    assert not Entry.objects.filter(journal__idempotency_key__startswith="pool-funding-").exists()


def test_admin_request_and_the_preview_page_say_it(client, setup):
    usdt, alice, payout = setup["usdt"], setup["alice"], setup["payout"]
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:wallets_distribution_change", args=[payout.pk])).content.decode()
    assert "NOT enough for the budget of 10.123457 USDT, short by 10.123457 USDT" in page
    response = client.post(
        reverse("admin:wallets_poolfunding_add"),
        {"asset": usdt.pk, "source_kind": "fees", "pool_kind": "distribution_pool", "amount": "10.123457", "reason": "airdrop budget"},
    )
    assert response.status_code == 302
    funding = PoolFunding.objects.get()
    assert (funding.amount, funding.reason, funding.status, funding.journal_id) == (D("10.123457"), "airdrop budget", "requested", None)
    assert funding.requested_by.is_superuser and funding.requested_by != alice

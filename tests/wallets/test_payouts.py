from datetime import date
from decimal import Decimal as D

import pytest
from django.db import IntegrityError
from freezegun import freeze_time

from tests.factories import UserFactory
from tests.wallets.conftest import balance, fund
from wallets.ledger import Line, journal_post, system_account, user_account
from wallets.models import AccountKind, Asset, HoldingSnapshot, Journal, Payout, PayoutLine, SnapshotDay
from wallets.selectors import ledger_violations, payout_report_rows
from wallets.services import (
    PayoutError,
    holdings_snapshot_take,
    payout_approve,
    payout_execute,
    payout_preview,
    payout_save,
)

pytestmark = pytest.mark.django_db
DAY1, DAY2, DAY3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


@pytest.fixture
def neo_gas(db):
    neo = Asset.objects.create(symbol="NEO", name="NEO", precision=0)
    gas = Asset.objects.create(symbol="GAS", name="GAS", precision=8)
    return neo, gas


def pool_fund(asset, amount, kind=AccountKind.DISTRIBUTION_POOL):
    adjustments = system_account(kind=AccountKind.ADJUSTMENTS, asset=asset)
    journal_post(
        kind=Journal.Kind.ADJUSTMENT,
        idempotency_key=f"pool-{kind}-{asset.pk}-{amount}",
        lines=[Line(adjustments, -D(amount)), Line(system_account(kind=kind, asset=asset), D(amount))],
    )


def test_snapshot_counts_locked_funds_and_is_idempotent_per_day(neo_gas):
    neo, gas = neo_gas
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    fund(alice, neo, "10")
    fund(bob, neo, "5")
    from wallets.ledger import hold_place

    hold_place(account=user_account(user=bob, asset=neo), amount=D("3"), idempotency_key="order-1")  # in an order
    user_account(user=carol, asset=neo)  # an empty account is not snapshotted
    first = holdings_snapshot_take(day=DAY1)
    fund(alice, neo, "100")
    again = holdings_snapshot_take(day=DAY1)
    assert first.pk == again.pk and again.rows == 2
    rows = dict(HoldingSnapshot.objects.filter(day=DAY1).values_list("user__email", "total"))
    assert rows == {alice.email: D("10"), bob.email: D("5")}
    with pytest.raises(IntegrityError):
        SnapshotDay.objects.create(day=DAY1)


def test_snapshot_task_takes_today_in_utc(neo_gas):
    from wallets.tasks import holdings_snapshot_task

    fund(UserFactory(), neo_gas[0], "1")
    with freeze_time("2026-11-05 00:00:03"):
        holdings_snapshot_task()
        holdings_snapshot_task()  # a retried beat
    assert list(SnapshotDay.objects.values_list("day", flat=True)) == [date(2026, 11, 5)]


def snapshots(neo, days):
    """days: list of {user: amount} applied by adjustment and snapshotted each day."""
    held = {}
    for day, holdings in zip((DAY1, DAY2, DAY3), days):
        for user, amount in holdings.items():
            delta = D(amount) - held.get(user, D(0))
            if delta:
                fund_key = f"snap-{user.pk}-{day}"
                from wallets.services import ledger_adjust

                ledger_adjust(user=user, asset=neo, amount=delta, reason="test", idempotency_key=fund_key)
                held[user] = D(amount)
        holdings_snapshot_take(day=day)


def test_pool_is_shared_by_days_held_with_the_remainder_to_dust(neo_gas, django_capture_on_commit_callbacks, mailoutbox):
    neo, gas = neo_gas
    alice, bob, carol = UserFactory(), UserFactory(language="ja"), UserFactory()
    # unit-days: alice 10+10+10 = 30, bob 0+5+5 = 10, carol 1+1+1 = 3; total 43
    snapshots(neo, [{alice: "10", carol: "1"}, {alice: "10", bob: "5", carol: "1"}, {alice: "10", bob: "5", carol: "1"}])
    pool_fund(gas, "1")
    operator_a, operator_b = UserFactory(), UserFactory()
    payout = Payout.objects.create(
        name="NEO holders earn GAS, Nov 1-3",
        purpose="holder_reward",
        basis="pool",
        reward_asset=gas,
        source_asset=neo,
        period_start=DAY1,
        period_end=DAY3,
        pool_amount=D("1"),
        created_by=operator_a,
    )
    payout = payout_preview(payout=payout)
    lines = {line.user: (line.basis, line.amount) for line in payout.lines.all()}
    assert lines == {alice: (D("30"), D("0.69767441")), bob: (D("10"), D("0.23255813")), carol: (D("3"), D("0.06976744"))}
    assert (payout.budget, payout.dust, payout.lines_total, payout.status) == (D("1"), D("0.00000002"), 3, "previewed")
    with pytest.raises(PayoutError, match="someone other"):
        payout_approve(payout=payout, by=operator_a)
    with django_capture_on_commit_callbacks(execute=True):
        payout_approve(payout=payout, by=operator_b)  # the job runs after commit (eager Celery here)
    payout.refresh_from_db()
    assert (payout.status, payout.lines_paid, payout.paid_total) == ("completed", 3, D("0.99999998"))
    assert balance(alice, gas) == (D("0.69767441"), 0) and balance(carol, gas) == (D("0.06976744"), 0)
    assert system_account(kind=AccountKind.DUST, asset=gas).available == D("0.00000002")
    assert system_account(kind=AccountKind.DISTRIBUTION_POOL, asset=gas).available == 0
    assert ledger_violations() == []
    # Running it again pays nobody twice.
    Payout.objects.filter(pk=payout.pk).update(status="running")
    payout_execute(payout_id=payout.pk)
    assert Journal.objects.filter(kind="distribution").count() == 5  # the reserve, 3 users, the dust
    assert balance(alice, gas) == (D("0.69767441"), 0)
    japanese = next(m for m in mailoutbox if m.to == [bob.email])
    assert japanese.subject == "[Agora] アカウントに反映：0.23255813 GAS"


def test_rate_per_unit_day_and_a_fork_use_the_same_machinery(neo_gas, django_capture_on_commit_callbacks):
    neo, gas = neo_gas
    alice, bob = UserFactory(), UserFactory()
    snapshots(neo, [{alice: "3", bob: "7"}, {alice: "3", bob: "7"}, {alice: "3", bob: "7"}])
    pool_fund(gas, "10")
    author, approver = UserFactory(), UserFactory()
    reward = payout_preview(
        payout=Payout.objects.create(
            name="staking",
            purpose="holder_reward",
            basis="rate",
            reward_asset=gas,
            source_asset=neo,
            period_start=DAY1,
            period_end=DAY2,
            rate=D("0.000333333333"),
            created_by=author,
        )
    )
    # alice: 6 unit-days x 0.000333333333 = 0.001999999998 -> 0.00199999; bob 14 -> 0.004666666662 -> 0.00466666
    assert {line.user: line.amount for line in reward.lines.all()} == {alice: D("0.00199999"), bob: D("0.00466666")}
    assert (reward.budget, reward.dust) == (D("0.00666667"), D("0.00000002"))
    neo_fork = Asset.objects.create(symbol="NEOX", name="NEO fork", precision=8)
    pool_fund(neo_fork, "30")
    fork = payout_preview(
        payout=Payout.objects.create(
            name="NEOX fork 1:1",
            purpose="fork",
            basis="rate",
            reward_asset=neo_fork,
            source_asset=neo,
            period_start=DAY3,
            period_end=DAY3,
            rate=D("1"),
            created_by=author,
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        payout_approve(payout=reward, by=approver)
        payout_approve(payout=fork, by=approver)
    assert balance(alice, neo_fork) == (D("3"), 0) and balance(bob, neo_fork) == (D("7"), 0)
    assert system_account(kind=AccountKind.DISTRIBUTION_POOL, asset=neo_fork).available == D("20")
    assert ledger_violations() == []


def test_preview_refuses_missing_snapshots_and_approval_needs_a_funded_pool(neo_gas):
    neo, gas = neo_gas
    author = UserFactory()
    holdings_snapshot_take(day=DAY1)
    payout = Payout.objects.create(
        name="x",
        purpose="airdrop",
        basis="pool",
        reward_asset=gas,
        source_asset=neo,
        period_start=DAY1,
        period_end=DAY2,
        pool_amount=D("1"),
        created_by=author,
    )
    with pytest.raises(PayoutError, match="no holdings snapshot for 2026-11-02"):
        payout_preview(payout=payout)
    payout.period_end = DAY1
    payout.save()
    with pytest.raises(PayoutError, match="nobody held"):
        payout_preview(payout=payout)
    fund(UserFactory(), neo, "5")
    SnapshotDay.objects.all().delete()
    holdings_snapshot_take(day=DAY1)
    payout = payout_preview(payout=payout)
    with pytest.raises(PayoutError, match="less than the budget"):
        payout_approve(payout=payout, by=UserFactory())
    with pytest.raises(IntegrityError):
        Payout.objects.filter(pk=payout.pk).update(approved_by=author)  # four eyes in the database too


def test_csv_campaign_validates_row_by_row_then_pays_from_the_named_account(neo_gas, django_capture_on_commit_callbacks):
    neo, gas = neo_gas
    usdt = Asset.objects.create(symbol="USDT", name="Tether", precision=6)
    alice = UserFactory(email="alice@x.test")
    UserFactory(email="bob@x.test")  # on the CSV by email
    author = UserFactory()
    bad = Payout.objects.create(
        name="outage",
        purpose="compensation",
        basis="csv",
        reward_asset=usdt,
        funding_kind="compensation_pool",
        created_by=author,
        csv_text="email,amount\nalice@x.test,10\nnobody@x.test,5\nbob@x.test,1.1234567\nalice@x.test,3\nbob@x.test\nbob@x.test,-2\n",
    )
    with pytest.raises(PayoutError) as info:
        payout_preview(payout=bad)
    assert info.value.errors == [
        "line 3: no user with the email nobody@x.test",
        "line 4: USDT takes at most 6 decimals: 1.1234567",
        "line 5: alice@x.test already appears on line 2",
        "line 6: expected 2 columns (email,amount), found 1",
        "line 7: bob@x.test already appears on line 4",
    ]
    pool_fund(usdt, "100", kind=AccountKind.COMPENSATION_POOL)
    good = payout_preview(
        payout=Payout.objects.create(
            name="outage",
            purpose="compensation",
            basis="csv",
            reward_asset=usdt,
            funding_kind="compensation_pool",
            created_by=author,
            csv_text="Alice@X.test,12.5\nbob@x.test,7.25\n",
        )
    )
    assert good.budget == D("19.75") and good.dust == 0
    with django_capture_on_commit_callbacks(execute=True):
        payout_approve(payout=good, by=UserFactory())
    assert balance(alice, usdt) == (D("12.5"), 0)
    assert system_account(kind=AccountKind.COMPENSATION_POOL, asset=usdt).available == D("80.25")
    assert Journal.objects.filter(kind="compensation").count() == 3  # the reserve and 2 users
    report = list(payout_report_rows(payout=good))
    assert report[0] == ["email", "basis", "amount", "asset", "journal", "paid_at"]
    assert [row[:4] for row in report[1:]] == [
        ["alice@x.test", "12.5", "12.500000", "USDT"],
        ["bob@x.test", "7.25", "7.250000", "USDT"],
        ["(dust)", "", "0.000000", "USDT"],
    ]


def test_refund_formula_six_times_the_subscription_over_a_snapshot(neo_gas, django_capture_on_commit_callbacks):
    neo, gas = neo_gas
    usdt = Asset.objects.create(symbol="USDT", name="Tether", precision=6)
    token = Asset.objects.create(symbol="FAIL", name="Failed launch", precision=2)
    alice, bob = UserFactory(), UserFactory()
    fund(alice, token, "12.34")
    fund(bob, token, "0.01")
    holdings_snapshot_take(day=DAY1)
    pool_fund(usdt, "1000", kind=AccountKind.COMPENSATION_POOL)
    refund = payout_preview(
        payout=Payout.objects.create(
            name="FAIL refund at 6x",
            purpose="refund",
            basis="rate",
            reward_asset=usdt,
            source_asset=token,
            period_start=DAY1,
            period_end=DAY1,
            rate=D("6"),
            funding_kind="compensation_pool",
            created_by=UserFactory(),
        )
    )
    assert {line.user: line.amount for line in refund.lines.all()} == {alice: D("74.04"), bob: D("0.06")}
    with django_capture_on_commit_callbacks(execute=True):
        payout_approve(payout=refund, by=UserFactory())
    assert PayoutLine.objects.filter(payout=refund, journal__isnull=False).count() == 2
    assert ledger_violations() == []


def test_two_payouts_cannot_spend_the_same_pool_and_cancel_gives_the_reserve_back(neo_gas):
    neo, gas = neo_gas
    fund(UserFactory(), neo, "5")
    holdings_snapshot_take(day=DAY1)
    pool_fund(gas, "1")
    author, approver = UserFactory(), UserFactory()

    def prepared():
        return payout_preview(
            payout=Payout.objects.create(
                name="x",
                purpose="airdrop",
                basis="pool",
                reward_asset=gas,
                source_asset=neo,
                period_start=DAY1,
                period_end=DAY1,
                pool_amount=D("1"),
                created_by=author,
            )
        )

    first, second = prepared(), prepared()
    payout_approve(payout=first, by=approver)  # its task would run after commit; the budget is reserved now
    pool = system_account(kind=AccountKind.DISTRIBUTION_POOL, asset=gas)
    assert (pool.available, pool.locked) == (0, D("1"))
    with pytest.raises(PayoutError, match="less than the budget"):
        payout_approve(payout=second, by=approver)
    from wallets.services import payout_cancel

    payout_cancel(payout=first)
    pool.refresh_from_db()
    assert (pool.available, pool.locked) == (D("1"), 0)
    payout_approve(payout=second, by=approver)
    assert ledger_violations() == []


def test_whoever_prepared_a_payout_cannot_approve_it(neo_gas):
    neo, gas = neo_gas
    fund(UserFactory(), neo, "5")
    holdings_snapshot_take(day=DAY1)
    pool_fund(gas, "1")
    author, editor = UserFactory(), UserFactory()
    payout = Payout.objects.create(
        name="x",
        purpose="airdrop",
        basis="pool",
        reward_asset=gas,
        source_asset=neo,
        period_start=DAY1,
        period_end=DAY1,
        pool_amount=D("1"),
        created_by=author,
    )
    payout = payout_preview(payout=payout, by=editor)
    with pytest.raises(PayoutError, match="prepared"):
        payout_approve(payout=payout, by=editor)
    with pytest.raises(IntegrityError):
        Payout.objects.filter(pk=payout.pk).update(approved_by=editor)


def test_payout_save_authors_a_new_payout_and_sends_an_edit_back_to_draft(neo_gas):
    neo, gas = neo_gas
    fund(UserFactory(), neo, "5")
    holdings_snapshot_take(day=DAY1)
    author, editor = UserFactory(), UserFactory()
    payout = payout_save(
        payout=Payout(
            name="x",
            purpose="airdrop",
            basis="pool",
            reward_asset=gas,
            source_asset=neo,
            period_start=DAY1,
            period_end=DAY1,
            pool_amount=D("1"),
        ),
        by=author,
    )
    stored = Payout.objects.get(pk=payout.pk)
    assert (stored.status, stored.created_by, stored.prepared_by) == ("draft", author, author)
    payout_preview(payout=stored, by=author)
    edited = Payout.objects.get(pk=payout.pk)
    edited.pool_amount = D("2")
    payout_save(payout=edited, by=editor)
    stored = Payout.objects.get(pk=payout.pk)
    assert (stored.status, stored.created_by, stored.prepared_by, stored.pool_amount) == ("draft", author, editor, D("2"))


def test_payout_save_refuses_an_approved_payout_and_writes_nothing(neo_gas):
    neo, gas = neo_gas
    fund(UserFactory(), neo, "5")
    holdings_snapshot_take(day=DAY1)
    pool_fund(gas, "1")
    author, approver = UserFactory(), UserFactory()
    payout = Payout.objects.create(
        name="x",
        purpose="airdrop",
        basis="pool",
        reward_asset=gas,
        source_asset=neo,
        period_start=DAY1,
        period_end=DAY1,
        pool_amount=D("1"),
        created_by=author,
    )
    payout_approve(payout=payout_preview(payout=payout), by=approver)
    edited = Payout.objects.get(pk=payout.pk)
    edited.pool_amount = D("0.5")
    with pytest.raises(PayoutError) as refused:
        payout_save(payout=edited, by=approver)
    assert (refused.value.code, refused.value.message) == (
        "payout_not_editable",
        "this payout is approved or paying and can no longer be edited",
    )
    stored = Payout.objects.get(pk=payout.pk)
    assert (stored.status, stored.pool_amount, stored.prepared_by) == ("approved", D("1"), author)

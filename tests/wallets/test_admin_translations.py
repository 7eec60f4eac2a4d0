"""What operators and agents see in admin goes through the catalog: action messages, action
descriptions, fieldset titles, the ledger's choice labels (and the VIP tier rows of the fee page).

The catalogs are filled at the end by the integrator, so these tests add a test translation to the
German catalog ("[de] " before each msgid) for the strings they check: a string built with an
f-string, or a msgid that differs from what the code asks for, would still read in English."""

from decimal import Decimal as D

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from accounts.models import User
from exchange.models import FeeTier
from tests.factories import UserFactory
from tests.wallets.conftest import fund, send
from wallets.chains import chain_adapter
from wallets.ledger import Line, journal_post, system_account, user_account
from wallets.models import AccountKind, Asset, Distribution, Entry, Journal, Payout, Withdrawal
from wallets.services import chain_scan, payout_preview, reconciliation_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def language_restored():
    """A request to a /de/ page leaves German active in this thread; later tests reverse URLs."""
    before = translation.get_language()
    yield
    translation.activate(before)


@pytest.fixture
def german():
    """mark(msgid, context=None, plural=None): the German catalog answers "[de] <msgid>" (and the
    plural forms "[de] <msgid>" / "[de] <plural>") until the test ends."""
    catalog = trans_real.translation("de")._catalog._catalogs[0]
    missing = object()
    saved = {}

    def put(key, value):
        saved.setdefault(key, catalog.get(key, missing))
        catalog[key] = value

    def mark(msgid, context=None, plural=None):
        key = f"{context}\x04{msgid}" if context else msgid
        if plural is None:
            put(key, f"[de] {msgid}")
        else:
            put((key, 0), f"[de] {msgid}")
            put((key, 1), f"[de] {plural}")

    yield mark
    for key, value in saved.items():
        if value is missing:
            del catalog[key]
        else:
            catalog[key] = value


def de_url(name, *args):
    with translation.override("de"):
        return reverse(name, args=args)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, language="de")
    client.force_login(user)
    return user


@pytest.fixture
def payout(chain):
    usdt = Asset.objects.get(symbol="USDT")
    alice, trader = UserFactory(), UserFactory()
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
    return payout_preview(payout=payout, by=alice)


def test_payout_preview_message_is_translated_with_its_count(client, staff, payout, german):
    german(
        "%(payout)s: %(count)d user, budget %(budget)s, dust %(dust)s. %(funding)s",
        plural="%(payout)s: %(count)d users, budget %(budget)s, dust %(dust)s. %(funding)s",
    )
    german(
        "The %(account)s account holds %(available)s: NOT enough for the budget of %(budget)s, short by %(shortfall)s. "
        "Fund the pool (Pool fundings) before approving."
    )
    german("Distribution pool", context="ledger account kind")
    german("Airdrop", context="payout purpose")
    response = client.post(de_url("admin:wallets_distribution_changelist"), {"action": "preview", "_selected_action": [payout.pk]})
    assert response.status_code == 302
    assert messages_of(response) == [
        "[de] airdrop ([de] Airdrop): 2 users, budget 10,123457, dust 0,000000. "
        "[de] The [de] Distribution pool account holds 0,000000 USDT: NOT enough for the budget of 10,123457 USDT, "
        "short by 10,123457 USDT. Fund the pool (Pool fundings) before approving."
    ]


def test_surplus_booking_message_is_translated(client, staff, chain, german):
    german("%(network)s: %(amount)s booked; draft distribution #%(distribution)s opened.")
    send("BTC", chain_adapter("BTC").hot_wallet(), "0.3", "BTC")
    chain_scan(chain="BTC")
    line = reconciliation_run(trigger="manual").lines.get(network=chain["BTC"])
    response = client.post(de_url("admin:wallets_reconciliationline_changelist"), {"action": "book_surplus", "_selected_action": [line.pk]})
    assert response.status_code == 302
    distribution = Distribution.objects.get()
    assert messages_of(response) == [f"[de] BTC/BTC: 0,30000000 booked; draft distribution #{distribution.pk} opened."]
    # A refusal names the line through the catalog's colon ("%(subject)s: %(problem)s").
    german("%(subject)s: %(problem)s")
    again = client.post(de_url("admin:wallets_reconciliationline_changelist"), {"action": "book_surplus", "_selected_action": [line.pk]})
    refused = messages_of(again)[-1]  # the first message is still queued: no page rendered it
    assert refused.startswith("[de] BTC/BTC: ") and "already" in refused


def test_action_descriptions_and_fieldset_titles_are_translated(client, staff, german):
    german("Approve selected withdrawals in review (with a reason)")
    german("Reject selected withdrawals in review (with a reason)")
    german("Freeze selected accounts (ends sessions, revokes API keys)")
    german("Security")
    german("Roles")
    # Admin lists its actions only above a non-empty list: no withdrawal here, so ask the admin.
    withdrawal_admin = admin.site._registry[Withdrawal]
    with translation.override("de"):
        assert str(withdrawal_admin.approve.short_description) == "[de] Approve selected withdrawals in review (with a reason)"
        assert str(withdrawal_admin.reject.short_description) == "[de] Reject selected withdrawals in review (with a reason)"
    users = client.get(de_url("admin:accounts_user_changelist")).content.decode()
    assert '<option value="freeze_accounts">[de] Freeze selected accounts (ends sessions, revokes API keys)</option>' in users
    page = client.get(de_url("admin:accounts_user_change", User.objects.get(pk=staff.pk).pk)).content.decode()
    assert ">[de] Security</h2>" in page and ">[de] Roles</h2>" in page


def test_ledger_choice_labels_are_translated(german):
    german("Deposit", context="ledger journal kind")
    german("Hold", context="ledger journal kind")
    german("Locked", context="balance")
    german("Fees", context="ledger account kind")
    with translation.override("de"):
        assert Journal(kind=Journal.Kind.DEPOSIT).get_kind_display() == "[de] Deposit"
        assert Journal(kind=Journal.Kind.HOLD).get_kind_display() == "[de] Hold"
        assert Entry(bucket=Entry.Bucket.LOCKED).get_bucket_display() == "[de] Locked"
        assert dict(AccountKind.choices)["fees"] == "[de] Fees"
    with translation.override("en"):
        assert Journal(kind=Journal.Kind.DEPOSIT).get_kind_display() == "Deposit"


def test_fee_tier_rows_name_the_tier_through_the_catalog(client, german):
    FeeTier.objects.create(tier=0, min_volume_30d=0, maker_rate=D("0.001"), taker_rate=D("0.002"))
    FeeTier.objects.create(tier=1, min_volume_30d=D("1000000"), maker_rate=D("0"), taker_rate=D("0.001"))
    FeeTier.objects.create(tier=5, min_volume_30d=D("9000000"), maker_rate=D("0"), taker_rate=D("0.0005"))
    german("VIP %(tier)s")
    html = client.get("/de/fees/").content.decode()
    assert '<tr data-tier="1">\n      <th scope="row">[de] VIP 1</th>' in html
    assert '<th scope="row">[de] VIP 5</th>' in html

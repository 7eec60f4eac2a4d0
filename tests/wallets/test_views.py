import csv
import io
from decimal import Decimal as D

import pytest
from django.core.cache import cache

from tests.conftest import totp_code
from tests.factories import UserFactory
from tests.wallets.conftest import BTC_EXTERNAL, BTC_GENESIS, XRP_EXTERNAL, balance, deposit, fund, mine, send
from wallets.models import Asset, Deposit, RecoveryRequest, Withdrawal, WithdrawalAddress
from wallets.services import chain_scan, deposit_address_for

pytestmark = pytest.mark.django_db


def test_pages_need_a_login(client, chain):
    for path in [
        "/en/wallet/",
        "/en/wallet/deposit/BTC/",
        "/en/wallet/withdraw/BTC/",
        "/en/wallet/history/",
        "/en/wallet/address-book/",
        "/en/wallet/recovery/",
    ]:
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login/" in response["Location"], path


def test_overview_shows_balances_and_usdt_estimate(client, chain):
    user = UserFactory()
    Asset.objects.filter(symbol="BTC").update(reference_price=D("60000"))
    fund(user, chain["BTC"].asset, "0.5")
    fund(user, chain["USDT"].asset, "1234.5")
    client.force_login(user)
    html = client.get("/en/wallet/").content.decode()
    assert '≈ <bdi class="num" dir="ltr">31,234.50</bdi> USDT' in html  # 0.5 x 60000 + 1234.5
    assert '<td class="num"><bdi class="num" dir="ltr">0.50000000</bdi></td>' in html
    german = client.get("/de/wallet/").content.decode()
    assert "31.234,50" in german
    hidden = client.get("/en/wallet/?hide_zero=1").content.decode()
    assert 'data-asset="BNB"' not in hidden and 'data-asset="BTC"' in hidden


def test_deposit_page_shows_address_memo_qr_and_pending_confirmations(client, chain):
    user = UserFactory()
    client.force_login(user)
    html = client.get("/en/wallet/deposit/XRP/").content.decode()
    address = deposit_address_for(user=user, network=chain["XRP"])
    assert address.address in html and address.memo in html and "<svg" in html
    assert "Include the memo (tag)" in html
    btc = deposit_address_for(user=user, network=chain["BTC"])
    send("BTC", btc.address, "0.7", "BTC")
    chain_scan(chain="BTC")
    fragment = client.get("/en/wallet/deposit/BTC/?fragment=pending").content.decode()
    assert "Deposit of 0.70 BTC: 1 of 2 confirmations" in fragment and "<html" not in fragment
    chain["BTC"].deposit_enabled = False
    chain["BTC"].save()
    assert "Deposits on Bitcoin are suspended" in client.get("/en/wallet/deposit/BTC/").content.decode()
    assert client.get("/en/wallet/deposit/NOPE/").status_code == 404


def test_withdraw_preview_then_confirm_with_totp(client, chain, trader, django_capture_on_commit_callbacks):
    user, secret = trader
    deposit(user, chain["BTC"], "1")
    client.force_login(user)
    form = {"network": "BTC", "address": BTC_EXTERNAL, "memo": "", "amount": "0.25"}
    preview = client.post("/en/wallet/withdraw/BTC/", form)
    html = preview.content.decode()
    assert preview.status_code == 200 and 'id="withdraw-preview"' in html
    assert '<dd id="preview-net"><strong><bdi class="num" dir="ltr">0.24980000</bdi> BTC</strong></dd>' in html
    key = preview.context["form"].initial["key"]
    assert Withdrawal.objects.count() == 0  # nothing happens before the code
    wrong = client.post("/en/wallet/withdraw/BTC/", {**form, "key": key, "code": "000000"})
    assert wrong.status_code == 400 and "The authenticator code is wrong" in wrong.content.decode()
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/en/wallet/withdraw/BTC/", {**form, "key": key, "code": totp_code(secret)})
    assert done.status_code == 302
    withdrawal = Withdrawal.objects.get()
    assert (withdrawal.amount, withdrawal.net_amount, withdrawal.status) == (D("0.25"), D("0.2498"), "broadcast")
    page = client.get("/en/wallet/withdraw/BTC/").content.decode()
    assert 'data-status="broadcast"' in page


def test_withdraw_errors_are_translated(client, chain, trader):
    user, secret = trader
    fund(user, chain["BTC"].asset, "1")
    client.force_login(user)
    response = client.post("/de/wallet/withdraw/BTC/", {"network": "BTC", "address": BTC_EXTERNAL, "memo": "", "amount": "0,0001"})
    assert response.status_code == 400
    errors = response.context["form"].non_field_errors()
    assert errors == ["Die Mindestauszahlung in diesem Netzwerk beträgt 0,001 BTC."]


def test_cancel_only_own_withdrawal(client, chain, trader, django_capture_on_commit_callbacks):
    user, secret = trader
    fund(user, chain["BTC"].asset, "3")
    from wallets.services import withdrawal_request

    withdrawal = withdrawal_request(
        user=user, network=chain["BTC"], address=BTC_EXTERNAL, amount="2.5", mfa_code=totp_code(secret), idempotency_key="k"
    )
    client.force_login(UserFactory())
    assert client.post(f"/en/wallet/withdrawals/{withdrawal.pk}/cancel/").status_code == 404
    client.force_login(user)
    assert client.post(f"/en/wallet/withdrawals/{withdrawal.pk}/cancel/").status_code == 302
    assert Withdrawal.objects.get().status == "cancelled" and balance(user, chain["BTC"].asset) == (D("3"), 0)


def test_address_book_page(client, chain):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        "/en/wallet/address-book/", {"action": "add", "network": chain["XRP"].pk, "label": "ledger", "address": XRP_EXTERNAL, "memo": ""}
    )
    assert response.status_code == 400 and "needs a memo" in response.content.decode()
    client.post(
        "/en/wallet/address-book/", {"action": "add", "network": chain["BTC"].pk, "label": "cold", "address": BTC_GENESIS, "memo": ""}
    )
    entry = WithdrawalAddress.objects.get(user=user)
    assert entry.is_cooling and "Usable from" in client.get("/en/wallet/address-book/").content.decode()
    client.post("/en/wallet/address-book/", {"action": "whitelist", "enabled": "1"})
    user.refresh_from_db()
    assert user.withdrawal_whitelist_only
    other = UserFactory()
    client.force_login(other)
    client.post("/en/wallet/address-book/", {"action": "remove", "entry": entry.pk})  # not theirs: nothing happens
    assert WithdrawalAddress.objects.filter(pk=entry.pk).exists()


def test_history_filters_csv_and_only_own_rows(client, chain):
    alice, bob = UserFactory(), UserFactory()
    deposit(alice, chain["BTC"], "0.5")
    fund(alice, chain["USDT"].asset, "10")
    deposit(bob, chain["BTC"], "9")
    client.force_login(alice)
    html = client.get("/en/wallet/history/").content.decode()
    assert html.count('data-kind="deposit"') == 1 and html.count('data-kind="adjustment"') == 1
    assert '<bdi class="num" dir="ltr">+0.50000000</bdi>' in html
    only = client.get("/en/wallet/history/?kind=adjustment").content.decode()
    assert 'data-kind="deposit"' not in only and 'data-kind="adjustment"' in only
    response = client.get("/en/wallet/history/?asset=BTC&format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Time (UTC)", "Type", "Asset", "Amount", "Reference"]
    assert [row[1:4] for row in rows[1:]] == [["Deposit", "BTC", "0.50000000"]]
    assert rows[1][4] == Deposit.objects.get(user=alice).tx_hash
    bad = client.get("/en/wallet/history/?start=yesterday")
    assert bad.status_code == 200 and "Enter a valid date" in bad.content.decode()


def test_recovery_page_submit_accept(client, chain):

    user = UserFactory()
    client.force_login(user)
    eth = deposit_address_for(user=user, network=chain["ETH"])
    transfer = send("ERC20", eth.address, "40", "SHIB")
    Asset.objects.create(symbol="SHIB", name="Shiba", precision=2)  # listed since (not on ERC20 here)
    chain_scan(chain="ERC20")
    form = {"tx_hash": transfer.tx_hash, "chain": "ERC20", "token": "SHIB", "amount": "40", "address": transfer.to_address}
    assert client.post("/en/wallet/recovery/", form).status_code == 302
    request = RecoveryRequest.objects.get()
    assert request.status == "quoted" and "Accept the fee" in client.get("/en/wallet/recovery/").content.decode()
    other = UserFactory()
    client.force_login(other)
    assert client.post("/en/wallet/recovery/", {"answer": "accept", "request": request.pk}).status_code == 404
    client.force_login(user)
    client.post("/en/wallet/recovery/", {"answer": "accept", "request": request.pk})
    assert RecoveryRequest.objects.get().status == "accepted"


def test_history_explains_a_distribution_credit(client, chain, django_capture_on_commit_callbacks):
    from datetime import date

    from wallets.ledger import Line, journal_post, system_account
    from wallets.models import AccountKind, Journal, Payout
    from wallets.services import holdings_snapshot_take, payout_approve, payout_preview

    holder = UserFactory()
    btc, eth = chain["BTC"].asset, chain["ETH"].asset
    fund(holder, btc, "2")
    holdings_snapshot_take(day=date(2026, 11, 1))
    journal_post(
        kind=Journal.Kind.ADJUSTMENT,
        idempotency_key="pool",
        lines=[
            Line(system_account(kind=AccountKind.ADJUSTMENTS, asset=eth), D("-1")),
            Line(system_account(kind=AccountKind.DISTRIBUTION_POOL, asset=eth), D("1")),
        ],
    )
    payout = payout_preview(
        payout=Payout.objects.create(
            name="ETH for BTC holders",
            purpose="airdrop",
            basis="pool",
            reward_asset=eth,
            source_asset=btc,
            period_start=date(2026, 11, 1),
            period_end=date(2026, 11, 1),
            pool_amount=D("1"),
            created_by=UserFactory(),
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        payout_approve(payout=payout, by=UserFactory())
    client.force_login(holder)
    html = client.get("/en/wallet/history/?kind=distribution").content.decode()
    assert 'data-kind="distribution"' in html and '<bdi class="num" dir="ltr">+1.00000000</bdi>' in html
    assert "Airdrop: ETH for BTC holders · for holding BTC from 11/01/2026 to 11/01/2026" in html


def test_internal_preview_refuses_bad_amounts_with_a_message(client, chain, trader):
    user, secret = trader
    fund(user, chain["ETH"].asset, "5")
    friend = deposit_address_for(user=UserFactory(), network=chain["ETH"])
    client.force_login(user)
    for amount, message in [
        ("abc", "Enter a number, such as 1,234.5."),
        ("0_1", "Enter a number, such as 1,234.5."),
        ("١٢", "Enter a number, such as 1,234.5."),
        ("NaN", "Enter a finite number."),
        ("-Infinity", "Enter a finite number."),
        ("-5", "Enter an amount above zero, without a minus sign."),
        ("0", "Enter an amount above zero."),
        ("1e400", "This number is too large."),
        ("0.123456789", "Enter at most 8 decimals."),
        ("0,05", "Use . as the decimal sign, for example 0.05."),
    ]:
        response = client.post("/en/wallet/withdraw/ETH/", {"network": "ERC20", "address": friend.address, "memo": "", "amount": amount})
        assert response.status_code == 400, amount
        assert response.context["form"].errors == {"amount": [message]}, amount
    ok = client.post("/en/wallet/withdraw/ETH/", {"network": "ERC20", "address": friend.address, "memo": "", "amount": "0.001"})
    assert ok.status_code == 200 and "no network fee" in ok.content.decode()


def test_history_csv_cells_cannot_be_spreadsheet_formulas():
    from config.formatting import csv_cell

    assert [csv_cell(v) for v in ["=HYPERLINK(1)", "+1", "-2", "@x", "0xabc", "", None]] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-2",
        "'@x",
        "0xabc",
        "",
        "",
    ]


@pytest.mark.parametrize(
    "language, text",
    [
        (
            "en",
            "Withdrawals are paused for 24 hours after a security change to your account. "
            "You can withdraw again from Jan. 2, 2030, 12:04 p.m. (Tokyo).",
        ),
        ("de", "2. Januar 2030 12:04 (Tokio)"),
    ],
)
def test_withdraw_page_says_up_front_when_withdrawals_are_locked(client, chain, trader, language, text):
    import datetime

    user, _secret = trader
    user.time_zone = "Asia/Tokyo"
    user.withdrawals_locked_until = datetime.datetime(2030, 1, 2, 3, 4, tzinfo=datetime.UTC)  # 12:04 in Tokyo
    user.save(update_fields=["time_zone", "withdrawals_locked_until"])
    client.force_login(user)
    response = client.get(f"/{language}/wallet/withdraw/BTC/")
    page = response.content.decode()
    assert response.status_code == 200 and text in page
    assert 'id="withdrawal-lock"' in page and 'name="address"' not in page  # no form to fill in vain


def test_withdraw_page_shows_the_form_once_the_lock_has_ended(client, chain, trader):
    import datetime

    from django.utils import timezone

    user, _secret = trader
    user.withdrawals_locked_until = timezone.now() - datetime.timedelta(minutes=1)
    user.save(update_fields=["withdrawals_locked_until"])
    client.force_login(user)
    page = client.get("/en/wallet/withdraw/BTC/").content.decode()
    assert 'id="withdrawal-lock"' not in page and 'name="address"' in page


def test_chain_send_then_the_deposit_page_counts_confirmations_until_credit(client, chain):
    from io import StringIO

    from django.core.management import call_command

    user = UserFactory()
    client.force_login(user)
    address = deposit_address_for(user=user, network=chain["BTC"])
    call_command("chain_send", "BTC", address.address, "0.1", stdout=StringIO())  # the README's journey, no --scan
    fragment = client.get("/en/wallet/deposit/BTC/?fragment=pending").content.decode()
    assert "Deposit of 0.10 BTC: 1 of 2 confirmations" in fragment
    assert balance(user, chain["BTC"].asset) == (D("0"), D("0"))
    mine("BTC")
    chain_scan(chain="BTC")
    assert "No deposits are waiting for confirmations." in client.get("/en/wallet/deposit/BTC/?fragment=pending").content.decode()
    assert balance(user, chain["BTC"].asset) == (D("0.1"), D("0"))


def test_pending_confirmations_use_the_plural_form_of_the_required_count(client, chain):
    user = UserFactory()
    client.force_login(user)
    xrp = chain["XRP"]
    xrp.deposit_enabled = False  # a deposit waits, confirmed, while deposits are suspended
    xrp.save()
    address = deposit_address_for(user=user, network=xrp)
    send("XRP", address.address, "25", "XRP", address.memo)
    chain_scan(chain="XRP")
    fragment = client.get("/en/wallet/deposit/XRP/?fragment=pending").content.decode()
    assert "Deposit of 25.00 XRP: 1 of 1 confirmation\n" in fragment


def test_deposit_page_says_which_network_is_selected(client, chain):
    client.force_login(UserFactory())
    page = client.get("/en/wallet/deposit/USDT/?network=TRC20").content.decode()
    assert "You are depositing USDT on Tron." in page and "Your deposit address on Tron" in page
    page = client.get("/en/wallet/deposit/USDT/").content.decode()
    assert "You are depositing USDT on Ethereum." in page


def test_withdraw_form_reads_the_amount_in_the_users_locale(client, chain, trader):
    user, _secret = trader
    fund(user, chain["BTC"].asset, "1")
    client.force_login(user)
    form = {"network": "BTC", "address": BTC_EXTERNAL, "memo": ""}
    response = client.post("/de/wallet/withdraw/BTC/", {**form, "amount": "0,05"})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview["amount"], preview["fee"], preview["net"]) == (D("0.05"), D("0.0002"), D("0.0498"))
    assert 'name="amount" value="0,05"' in response.content.decode()  # the confirm step reads it back the same way
    refused = client.post("/de/wallet/withdraw/BTC/", {**form, "amount": "0.05"})
    assert refused.context["form"].errors["amount"] != ["Use . as the decimal sign, for example 0.05."]
    assert refused.context["form"].errors["amount"][0].endswith("0,05.")  # "use , as the decimal sign, e.g. 0,05"
    too_many = client.post("/de/wallet/withdraw/BTC/", {**form, "amount": "0,123456789"})
    assert too_many.context["form"].errors["amount"][0].count("8") == 1


def test_recovery_form_reads_the_amount_in_the_users_locale(chain):
    from django.utils import translation

    from wallets.forms import RecoveryForm

    data = {"tx_hash": "0xabc", "chain": "ERC20", "token": "USDT", "amount": "1.234,5", "address": "0xdef"}
    with translation.override("de"):
        form = RecoveryForm(data, chains=["ERC20"])
        assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == D("1234.5")

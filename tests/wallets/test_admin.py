from datetime import date
from decimal import Decimal as D

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from accounts import services as account_services
from tests.conftest import totp_code
from tests.factories import UserFactory
from tests.wallets.conftest import BTC_EXTERNAL, balance, fund, send
from wallets.ledger import Line, journal_post, system_account
from wallets.models import AccountKind, Journal, Payout, Reconciliation, Withdrawal
from wallets.services import chain_scan, deposit_address_for, holdings_snapshot_take, recovery_submit, withdrawal_request

pytestmark = pytest.mark.django_db


def staff(role):
    account_services.roles_sync()
    return account_services.role_assign(user=UserFactory(), role=role)


def test_operator_rejects_a_withdrawal_with_a_listed_reason_the_customer_reads_in_their_language(
    client, chain, trader, django_capture_on_commit_callbacks, mailoutbox
):
    user, secret = trader
    user.language = "es"
    user.save(update_fields=["language"])
    fund(user, chain["BTC"].asset, "3")
    withdrawal = withdrawal_request(
        user=user, network=chain["BTC"], address=BTC_EXTERNAL, amount="2.5", mfa_code=totp_code(secret), idempotency_key="k"
    )
    operator = staff("operator")
    client.force_login(operator)
    url = "/en/admin/wallets/withdrawal/"
    step = client.post(url, {"action": "reject", ACTION_CHECKBOX_NAME: [withdrawal.pk]})
    page = step.content.decode()
    # the form asks for a listed reason and shows what this customer will read, in Spanish
    assert step.status_code == 200 and 'name="rejection" value="account_frozen"' in page
    assert "What the customer reads (Español (España))" in page
    assert "Tu cuenta está congelada. Contacta con soporte para descongelarla." in page
    with django_capture_on_commit_callbacks(execute=True):
        typed = client.post(url, {"action": "reject", ACTION_CHECKBOX_NAME: [withdrawal.pk], "rejection": "sanctioned address"})
    assert typed.status_code == 200 and Withdrawal.objects.get().status == "review"  # free text is not a reason
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url,
            {"action": "reject", ACTION_CHECKBOX_NAME: [withdrawal.pk], "rejection": "account_frozen", "note": "sanctions list hit"},
        )
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.rejection, withdrawal.review_note, withdrawal.reviewed_by) == (
        "rejected",
        "account_frozen",
        "sanctions list hit",
        operator,
    )
    assert balance(user, chain["BTC"].asset) == (D("3"), 0)
    [email] = mailoutbox
    assert "Motivo: Tu cuenta está congelada. Contacta con soporte para descongelarla." in email.body
    assert "sanctions" not in email.body and "Reason" not in email.body


def test_operator_rejects_a_recovery_request_and_the_customer_reads_the_reason_in_arabic(
    client, chain, django_capture_on_commit_callbacks, mailoutbox
):
    customer = UserFactory(language="ar")
    eth = deposit_address_for(user=customer, network=chain["ETH"])
    wrong = send("BEP20", eth.address, "30", "USDT")
    chain_scan(chain="BEP20")
    request = recovery_submit(user=customer, tx_hash=wrong.tx_hash, chain="BEP20", token="USDT", amount=D("30"), address=eth.address)
    client.force_login(staff("operator"))
    url = "/en/admin/wallets/recoveryrequest/"
    step = client.post(url, {"action": "reject", ACTION_CHECKBOX_NAME: [request.pk]})
    assert step.status_code == 200 and "What the customer reads (العربية)" in step.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url,
            {"action": "reject", ACTION_CHECKBOX_NAME: [request.pk], "rejection": "details_differ", "note": "amount typed wrong twice"},
        )
    request.refresh_from_db()
    assert (request.status, request.rejection, request.reject_note) == ("rejected", "details_differ", "amount typed wrong twice")
    [email] = mailoutbox
    assert "تم رفض طلب استرداد الأموال الخاص بك. السبب: الأصل أو المبلغ أو العنوان لا يطابق التحويل الذي عثرنا عليه." in email.body
    assert "typed wrong" not in email.body


def test_support_agent_can_view_but_not_review_withdrawals(client, chain, trader):
    user, secret = trader
    fund(user, chain["BTC"].asset, "3")
    withdrawal = withdrawal_request(
        user=user, network=chain["BTC"], address=BTC_EXTERNAL, amount="2.5", mfa_code=totp_code(secret), idempotency_key="k"
    )
    client.force_login(staff("support_agent"))
    assert client.get("/en/admin/wallets/withdrawal/").status_code == 200
    client.post("/en/admin/wallets/withdrawal/", {"action": "approve", ACTION_CHECKBOX_NAME: [withdrawal.pk], "reason": "ok"})
    assert Withdrawal.objects.get().status == "review"
    assert client.get("/en/admin/wallets/distribution/").status_code == 403


def test_distribution_from_admin_preview_second_operator_approves_report(client, chain, django_capture_on_commit_callbacks):
    btc, eth = chain["BTC"].asset, chain["ETH"].asset
    alice, bob = UserFactory(), UserFactory()
    fund(alice, btc, "3")
    fund(bob, btc, "1")
    holdings_snapshot_take(day=date(2026, 11, 1))
    journal_post(
        kind=Journal.Kind.ADJUSTMENT,
        idempotency_key="pool",
        lines=[
            Line(system_account(kind=AccountKind.ADJUSTMENTS, asset=eth), D("-2")),
            Line(system_account(kind=AccountKind.DISTRIBUTION_POOL, asset=eth), D("2")),
        ],
    )
    author, approver = staff("operator"), staff("operator")
    client.force_login(author)
    response = client.post(
        "/en/admin/wallets/distribution/add/",
        {
            "name": "ETH airdrop for BTC holders",
            "purpose": "airdrop",
            "basis": "pool",
            "reward_asset": eth.pk,
            "source_asset": btc.pk,
            "period_start": "2026-11-01",
            "period_end": "2026-11-01",
            "pool_amount": "2",
            "rate": "0",
            "funding_kind": "distribution_pool",
            "csv_text": "",
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    payout = Payout.objects.get()
    client.post("/en/admin/wallets/distribution/", {"action": "preview", ACTION_CHECKBOX_NAME: [payout.pk]})
    payout.refresh_from_db()
    assert (payout.status, payout.budget, payout.lines_total) == ("previewed", D("2"), 2)
    client.post("/en/admin/wallets/distribution/", {"action": "approve", ACTION_CHECKBOX_NAME: [payout.pk]})
    assert Payout.objects.get().status == "previewed"  # the author cannot approve
    client.force_login(approver)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/en/admin/wallets/distribution/", {"action": "approve", ACTION_CHECKBOX_NAME: [payout.pk]})
    assert Payout.objects.get().status == "completed"
    assert balance(alice, eth) == (D("1.5"), 0) and balance(bob, eth) == (D("0.5"), 0)
    page = client.get(f"/en/admin/wallets/distribution/{payout.pk}/change/").content.decode()
    assert "2 / 2 paid" in page
    report = client.get(f"/en/admin/wallets/distribution/{payout.pk}/report.csv")
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    assert f"{alice.email},3,1.50000000,ETH" in report.content.decode()


def test_campaign_csv_upload_errors_are_shown_row_by_row(client, chain):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(staff("operator"))
    upload = SimpleUploadedFile("c.csv", b"email,amount\nghost@x.test,5\n", content_type="text/csv")
    response = client.post(
        "/en/admin/wallets/campaign/add/",
        {
            "name": "outage",
            "purpose": "compensation",
            "basis": "csv",
            "reward_asset": chain["USDT"].asset.pk,
            "pool_amount": "0",
            "rate": "0",
            "funding_kind": "compensation_pool",
            "csv_text": "",
            "csv_file": upload,
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and "line 2: no user with the email ghost@x.test" in response.content.decode()
    assert Payout.objects.count() == 0


def test_reconciliation_runs_on_demand_from_admin(client, chain):
    client.force_login(staff("operator"))
    response = client.post("/en/admin/wallets/reconciliation/run/")
    report = Reconciliation.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/wallets/reconciliation/{report.pk}/change/")
    assert report.trigger == "manual" and report.lines.count() == 6
    client.force_login(staff("support_agent"))
    assert client.post("/en/admin/wallets/reconciliation/run/").status_code == 403


def test_view_only_staff_cannot_preview_or_cancel_payouts(client, chain):
    from django.contrib.auth.models import Permission

    payout = Payout.objects.create(
        name="x", purpose="airdrop", basis="csv", reward_asset=chain["BTC"].asset, csv_text="a@b.test,1", created_by=UserFactory()
    )
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_distribution"))
    client.force_login(viewer)
    assert client.get("/en/admin/wallets/distribution/").status_code == 200
    for action in ("preview", "cancel", "approve"):
        client.post("/en/admin/wallets/distribution/", {"action": action, ACTION_CHECKBOX_NAME: [payout.pk]})
        assert Payout.objects.get().status == "draft", action


def test_editing_a_previewed_payout_makes_the_editor_its_preparer(client, chain):
    btc, eth = chain["BTC"].asset, chain["ETH"].asset
    fund(UserFactory(), btc, "1")
    holdings_snapshot_take(day=date(2026, 11, 1))
    author, editor = staff("operator"), staff("operator")
    payout = Payout.objects.create(
        name="x",
        purpose="airdrop",
        basis="pool",
        reward_asset=eth,
        source_asset=btc,
        pool_amount=D("1"),
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 1),
        created_by=author,
    )
    from wallets.services import payout_preview

    payout_preview(payout=payout, by=author)
    client.force_login(editor)
    response = client.post(
        f"/en/admin/wallets/distribution/{payout.pk}/change/",
        {
            "name": "x",
            "purpose": "airdrop",
            "basis": "pool",
            "reward_asset": eth.pk,
            "source_asset": btc.pk,
            "period_start": "2026-11-01",
            "period_end": "2026-11-01",
            "pool_amount": "2",
            "rate": "0",
            "funding_kind": "distribution_pool",
            "csv_text": "",
        },
    )
    assert response.status_code == 302
    payout.refresh_from_db()
    assert (payout.status, payout.prepared_by, payout.pool_amount) == ("draft", editor, D("2"))
    client.post("/en/admin/wallets/distribution/", {"action": "preview", ACTION_CHECKBOX_NAME: [payout.pk]})
    client.post("/en/admin/wallets/distribution/", {"action": "approve", ACTION_CHECKBOX_NAME: [payout.pk]})
    assert Payout.objects.get().status == "previewed"  # the editor cannot approve what they prepared


def test_saving_an_approved_payout_in_the_admin_is_refused(client, chain):
    btc, eth = chain["BTC"].asset, chain["ETH"].asset
    author, editor = staff("operator"), staff("operator")
    payout = Payout.objects.create(
        name="x",
        purpose="airdrop",
        basis="pool",
        reward_asset=eth,
        source_asset=btc,
        pool_amount=D("1"),
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 1),
        created_by=author,
        status=Payout.Status.APPROVED,
    )
    client.force_login(editor)
    response = client.post(f"/en/admin/wallets/distribution/{payout.pk}/change/", {"name": "y"})
    assert response.status_code == 403
    payout.refresh_from_db()
    assert (payout.status, payout.name, payout.prepared_by) == ("approved", "x", None)

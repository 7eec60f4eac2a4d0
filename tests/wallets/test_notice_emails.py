"""The HTML and the text version of every wallet notice email carry the same facts (the HTML one
left out the anti-phishing tip and the site address that the text one has)."""

import html as html_lib
import re
from decimal import Decimal as D

import pytest
from django.core import mail
from django.utils.html import strip_tags

from tests.factories import UserFactory
from wallets.models import Asset, Deposit, Distribution, Notice, Payout, PayoutLine, RecoveryRequest, Withdrawal
from wallets.tasks import notice_send

pytestmark = pytest.mark.django_db


def _visible_text(markup: str) -> str:
    return " ".join(html_lib.unescape(strip_tags(markup)).split())


def _objects(user, chain):
    """One object per notice kind, as the services leave them when the notice is created."""
    btc, usdt = chain["BTC"], chain["USDT-TRC20"]
    sender = UserFactory()
    deposit = Deposit.objects.create(
        chain="BTC", tx_hash="ab" * 32, token="BTC", address="bc1qdeposit", block_height=7, amount=D("0.5"), network=btc, user=user
    )
    sent = Withdrawal.objects.create(
        user=user,
        network=usdt,
        address="TXyzRecipient",
        status=Withdrawal.Status.BROADCAST,
        idempotency_key="w-sent",
        amount=D("101"),
        fee=D("1"),
        net_amount=D("100"),
        tx_hash="cd" * 32,
    )
    rejected = Withdrawal.objects.create(
        user=user,
        network=usdt,
        address="TXyzRecipient",
        status=Withdrawal.Status.REJECTED,
        idempotency_key="w-rejected",
        amount=D("51"),
        fee=D("1"),
        net_amount=D("50"),
        review_note="address on a sanctions list",
    )
    transfer = Withdrawal.objects.create(
        user=sender,
        network=usdt,
        address="TXyzInternal",
        status=Withdrawal.Status.COMPLETED,
        idempotency_key="w-internal",
        amount=D("20"),
        fee=D("0"),
        net_amount=D("20"),
        internal_recipient=user,
    )
    payout = Distribution.objects.create(
        name="Summer airdrop",
        purpose=Payout.Purpose.AIRDROP,
        basis=Payout.Basis.CSV,
        reward_asset=Asset.objects.get(symbol="USDT"),
        created_by=sender,
    )
    line = PayoutLine.objects.create(payout=payout, user=user, amount=D("3.25"), basis=D("3.25"))
    recovery = {
        "chain": "ETH",
        "tx_hash": "ef" * 32,
        "token": "ETH",
        "address": "0xwrong",
        "amount": D("2"),
        "fee": D("0.1"),
        "asset": Asset.objects.get(symbol="ETH"),
    }
    quoted = RecoveryRequest.objects.create(user=user, status=RecoveryRequest.Status.QUOTED, **recovery)
    credited = RecoveryRequest.objects.create(user=user, status=RecoveryRequest.Status.CREDITED, **{**recovery, "tx_hash": "01" * 32})
    refused = RecoveryRequest.objects.create(
        user=user, status=RecoveryRequest.Status.REJECTED, rejection="not_yours", **{**recovery, "tx_hash": "02" * 32}
    )
    return [
        (Notice.Kind.DEPOSIT_CREDITED, deposit),
        (Notice.Kind.WITHDRAWAL_SENT, sent),
        (Notice.Kind.WITHDRAWAL_REJECTED, rejected),
        (Notice.Kind.TRANSFER_RECEIVED, transfer),
        (Notice.Kind.PAYOUT_CREDITED, line),
        (Notice.Kind.RECOVERY_QUOTED, quoted),
        (Notice.Kind.RECOVERY_DONE, credited),
        (Notice.Kind.RECOVERY_DONE, refused),
    ]


def _sent(user, kind, obj):
    notice = Notice.objects.create(user=user, kind=kind, object_id=obj.pk)
    mail.outbox.clear()
    notice_send(notice.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    ((markup, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return message.body, markup


@pytest.mark.parametrize("language", ["en", "de", "ar"])
@pytest.mark.parametrize("anti_phishing_code", ["", "ZEBRA77"])
def test_html_and_text_wallet_notices_carry_the_same_facts(chain, settings, language, anti_phishing_code):
    settings.SITE_URL = "https://agora.example"
    user = UserFactory(language=language, anti_phishing_code=anti_phishing_code)
    objects = _objects(user, chain)
    assert {kind for kind, _obj in objects} == set(Notice.Kind.values)  # every kind is checked
    for kind, obj in objects:
        text, markup = _sent(user, kind, obj)
        visible = _visible_text(markup)
        lines = [line for line in (" ".join(raw.split()) for raw in text.splitlines()) if line]
        for line in lines:
            if re.fullmatch(r"https?://\S+", line):
                assert f'href="{line}"' in markup, (kind, line)
            else:
                assert line in visible, (kind, language, line)
        # Both end with the site's address, and both carry the code or the tip to set one.
        assert lines[-1] == "https://agora.example" and 'href="https://agora.example"' in markup, kind
        if anti_phishing_code:
            assert "ZEBRA77" in lines[0] and "ZEBRA77" in visible, kind
        else:
            assert "ZEBRA77" not in text and lines[0] in visible, kind

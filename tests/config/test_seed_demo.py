"""A fresh install can follow the README: two operators for two-person approvals, and demo traders
whose 2FA is already on (a published dev-only secret) with no withdrawal lock, so they can withdraw."""

from decimal import Decimal as D
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.mfa.utils import decrypt
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import services
from accounts.models import AccountFreeze, SecurityEvent, User
from accounts.selectors import user_has_totp
from config.management.commands.seed_demo import DEMO_TOTP_SECRET
from tests.factories import UserFactory
from wallets.ledger import user_account
from wallets.models import Network, Withdrawal
from wallets.services import withdrawal_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def demo_totp(email: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("demo_totp", email, stdout=out, stderr=err)
    return out.getvalue().strip()


def test_two_operators_can_lift_a_freeze_together(seeded):
    operator, operator2 = User.objects.get(email="operator@demo.test"), User.objects.get(email="operator2@demo.test")
    assert operator2.is_staff and operator2.groups.filter(name="operator").exists() and operator2.check_password("agora-demo-2026")
    assert "operator2@demo.test" in seeded
    bob = User.objects.get(email="bob@demo.test")
    freeze = services.account_freeze(user=bob, source=AccountFreeze.Source.SELF)
    services.freeze_lift_request(freeze=freeze, by=operator, reason="owner verified by phone")
    services.freeze_lift_approve(freeze=freeze, by=operator2)
    bob.refresh_from_db()
    assert bob.is_frozen is False


def test_seeded_traders_have_2fa_on_the_demo_secret_and_no_lock(seeded):
    assert DEMO_TOTP_SECRET in seeded and "demo_totp" in seeded
    for email in ("alice@demo.test", "bob@demo.test"):
        user = User.objects.get(email=email)
        assert user_has_totp(user=user)
        assert user.withdrawals_locked_until is None
        assert not SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.MFA_ENABLED).exists()
        authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
        assert decrypt(authenticator.data["secret"]) == DEMO_TOTP_SECRET  # read the way allauth reads it
    call_command("seed_demo", stdout=StringIO())  # again: still one authenticator each
    assert Authenticator.objects.filter(user__email="alice@demo.test", type=Authenticator.Type.TOTP).count() == 1

    # demo_totp prints the current code of the demo secret.
    import time

    printed = demo_totp("alice@demo.test")
    now = int(time.time()) // 30
    assert len(printed) == 6 and printed.isdigit()
    assert printed in {format_hotp_value(hotp_value(DEMO_TOTP_SECRET, c)) for c in (now - 1, now)}

    # The README journey: Alice withdraws at once, with the code demo_totp printed.
    alice = User.objects.get(email="alice@demo.test")
    network = Network.objects.get(asset__symbol="BTC", code="BTC")
    withdrawal = withdrawal_request(
        user=alice,
        network=network,
        address="bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        amount="0.01",
        mfa_code=printed,
        idempotency_key="readme-journey",
    )
    assert withdrawal.status == Withdrawal.Status.QUEUED
    assert (withdrawal.amount, withdrawal.fee, withdrawal.net_amount) == (D("0.01"), D("0.0002"), D("0.0098"))
    account = user_account(user=alice, asset=network.asset)
    account.refresh_from_db()
    assert (account.available, account.locked) == (D("1.99"), D("0.01"))


def test_demo_totp_refuses_a_real_secret_and_production(settings):
    user = UserFactory()
    TOTP.activate(user, generate_totp_secret())
    with pytest.raises(CommandError):
        demo_totp(user.email)
    with pytest.raises(CommandError):
        demo_totp("nobody@demo.test")
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError):
        demo_totp("alice@demo.test")


def test_announcements_are_saved_in_every_language_indonesian_included(seeded):
    from django.utils import translation
    from django.utils.translation import gettext
    from modeltranslation.utils import build_localized_fieldname

    from config.languages import LANGUAGE_CODES
    from support.models import Announcement

    item = Announcement.objects.get(title_en="Welcome to Agora")
    for code in LANGUAGE_CODES:
        with translation.override(code):
            expected = gettext("Welcome to Agora")
        assert getattr(item, build_localized_fieldname("title", code)) == expected, code  # title_ind was never saved

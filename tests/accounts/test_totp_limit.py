"""TOTP codes checked by the product (API keys, withdrawals) are attempt-limited per user and per IP."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from accounts import services
from accounts.client import ClientInfo
from accounts.models import ApiKey, SecurityEvent
from tests.conftest import on_postgres, run_concurrently, totp_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

IP = "203.0.113.9"


def wrong_code(secret: str) -> str:
    """A six-digit code that is none of the codes the tolerance window accepts now."""
    valid = {totp_code(secret, offset) for offset in (-2, -1, 0, 1, 2)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


def verify(user, code, ip=IP, purpose="api_key"):
    with pytest.raises(services.TotpRefused) as info:
        services.totp_verify(user=user, code=code, ip=ip, purpose=purpose)
    return info.value


def test_fifth_wrong_code_locks_and_the_right_code_is_refused_while_locked(totp_user, settings, django_capture_on_commit_callbacks):
    user, secret = totp_user
    assert settings.TOTP_FAILURES_PER_USER == 5 and settings.TOTP_LOCKOUT_SECONDS == 900
    bad = wrong_code(secret)
    for _ in range(4):
        assert verify(user, bad).code == "mfa_invalid"
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.TOTP_LOCKED).exists()
    with django_capture_on_commit_callbacks(execute=True):
        locked = verify(user, bad)
    assert locked.code == "mfa_locked"
    assert locked.message == "Too many wrong authenticator codes. Try again in 15 minutes."
    assert verify(user, totp_code(secret)).code == "mfa_locked"
    assert verify(user, totp_code(secret), ip="198.51.100.1").code == "mfa_locked"  # the user lock holds from any IP
    event = SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.TOTP_LOCKED)
    assert event.ip == IP
    assert event.data == {"purpose": "api_key", "locked": ["user"], "seconds": 900}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    assert "Too many wrong authenticator codes" in mail.outbox[0].body


def test_lock_expires(totp_user):
    user, secret = totp_user
    bad = wrong_code(secret)
    start = timezone.now()
    with freeze_time(start) as frozen:
        for _ in range(5):
            verify(user, bad)
        frozen.tick(timedelta(minutes=14, seconds=59))
        assert verify(user, totp_code(secret)).code == "mfa_locked"
        frozen.tick(timedelta(seconds=2))
        services.totp_verify(user=user, code=totp_code(secret), ip=IP, purpose="api_key")  # passes: no exception
        assert verify(user, wrong_code(secret)).code == "mfa_invalid"  # the count started again


def test_right_code_resets_the_user_count(totp_user):
    user, secret = totp_user
    bad = wrong_code(secret)
    for _ in range(4):
        verify(user, bad)
    services.totp_verify(user=user, code=totp_code(secret), ip=IP, purpose="api_key")
    for _ in range(4):
        assert verify(user, bad).code == "mfa_invalid"
    assert verify(user, bad).code == "mfa_locked"


def test_a_code_is_accepted_once(totp_user):
    user, secret = totp_user
    services.totp_verify(user=user, code=totp_code(secret), ip=IP, purpose="api_key")
    assert verify(user, totp_code(secret)).code == "mfa_invalid"


def test_ip_lock_covers_every_account_from_that_ip(db, settings):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    settings.TOTP_FAILURES_PER_IP = 6
    users = []
    for _ in range(4):
        user, secret = UserFactory(), generate_totp_secret()
        TOTP.activate(user, secret)
        users.append((user, secret))
    # Three wrong codes on each of two accounts: neither user limit (5) is reached, the IP's (6) is.
    for user, secret in users[:2]:
        for _ in range(3):
            last = verify(user, wrong_code(secret))
    assert last.code == "mfa_locked"
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.TOTP_LOCKED)
    assert event.user == users[1][0] and event.data["locked"] == ["ip"]
    third, third_secret = users[2]
    assert verify(third, totp_code(third_secret)).code == "mfa_locked"
    services.totp_verify(user=third, code=totp_code(third_secret), ip="198.51.100.1", purpose="api_key")  # another IP passes


def test_no_authenticator_is_mfa_required(user):
    assert verify(user, "123456").code == "mfa_required"


class TestApiKeys:
    def test_service_needs_a_code(self, totp_user):
        user, secret = totp_user
        with pytest.raises(services.TotpRefused) as info:
            services.api_key_create(user=user, label="bot")
        assert info.value.code == "mfa_invalid"
        api_key, _secret = services.api_key_create(user=user, label="bot", code=totp_code(secret))
        assert ApiKey.objects.filter(user=user).count() == 1

    def test_refusals_come_before_the_code(self, totp_user):
        """At the key limit, or frozen, the code is neither used up nor counted as an attempt."""
        from accounts.models import TotpFailureCounter

        user, secret = totp_user
        for i in range(services.MAX_ACTIVE_API_KEYS):
            services.api_key_create(user=user, label=f"bot {i}", totp_waived_by_operator=True)
        code = totp_code(secret)
        with pytest.raises(services.ValidationError) as info:
            services.api_key_create(user=user, label="one more", code=code)
        assert info.value.messages == ["You already have 30 active keys. Revoke one first."]
        with pytest.raises(services.ValidationError):
            services.api_key_create(user=user, label="one more", code=wrong_code(secret))
        assert not TotpFailureCounter.objects.filter(count__gt=0).exists()
        services.api_key_revoke(api_key=ApiKey.objects.filter(user=user).first())
        services.account_freeze(user=user, source="self")
        with pytest.raises(services.ValidationError) as info:
            services.api_key_create(user=user, label="one more", code=code)
        assert info.value.messages == ["Your account is frozen. Contact support to unfreeze it."]
        services.totp_verify(user=user, code=code, ip=IP, purpose="withdrawal")  # the code is still unused

    def test_operator_waiver_is_recorded(self, user):
        api_key, _secret = services.api_key_create(user=user, label="ops", totp_waived_by_operator=True)
        event = SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.API_KEY_CREATED)
        assert event.data["totp"] == "waived by operator"

    def test_page_locks_after_five_wrong_codes(self, client, totp_user):
        user, secret = totp_user
        client.force_login(user)
        bad = wrong_code(secret)
        for _ in range(4):
            response = client.post("/en/account/api-keys/", {"label": "bot", "code": bad})
            assert response.status_code == 400 and b"The authenticator code is wrong or was already used" in response.content
        response = client.post("/en/account/api-keys/", {"label": "bot", "code": bad})
        assert response.status_code == 400 and b"Too many wrong authenticator codes. Try again in 15 minutes." in response.content
        response = client.post("/en/account/api-keys/", {"label": "bot", "code": totp_code(secret)})
        assert response.status_code == 400 and b"Too many wrong authenticator codes" in response.content
        assert not ApiKey.objects.exists()
        assert SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.TOTP_LOCKED, ip="127.0.0.1").count() == 1

    def test_command_needs_code_or_explicit_waiver(self, totp_user):
        from io import StringIO

        from django.core.management import CommandError, call_command

        user, secret = totp_user
        with pytest.raises(CommandError, match="--code"):
            call_command("create_api_key", "--email", user.email, stdout=StringIO())
        with pytest.raises(CommandError, match="mfa_invalid"):
            call_command("create_api_key", "--email", user.email, "--code", wrong_code(secret), stdout=StringIO())
        call_command("create_api_key", "--email", user.email, "--code", totp_code(secret), stdout=StringIO())
        assert ApiKey.objects.filter(user=user).count() == 1


def test_withdrawal_locks_after_five_wrong_codes(totp_user):
    from wallets.models import Asset, Network, Withdrawal
    from wallets.services import WithdrawalRefused, ledger_adjust, withdrawal_request

    user, secret = totp_user
    asset = Asset.objects.create(symbol="BTC", name="Bitcoin", precision=8)
    network = Network.objects.create(
        asset=asset,
        code="BTC",
        name="Bitcoin",
        confirmations=1,
        withdrawal_fee=D("0.0002"),
        withdrawal_min=D("0.001"),
        withdrawal_max=D("10"),
    )
    ledger_adjust(user=user, asset=asset, amount=D("1"), reason="test", idempotency_key="fund")
    client = ClientInfo(ip=IP)
    codes = []
    for code in [wrong_code(secret)] * 5 + [totp_code(secret)]:
        with pytest.raises(WithdrawalRefused) as info:
            withdrawal_request(
                user=user,
                network=network,
                address="bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                amount="0.1",
                mfa_code=code,
                idempotency_key=code,
                client=client,
            )
        codes.append(info.value.code)
    assert codes == ["mfa_invalid"] * 4 + ["mfa_locked", "mfa_locked"]
    assert Withdrawal.objects.count() == 0
    assert SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.TOTP_LOCKED).data["purpose"] == "withdrawal"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not on_postgres(), reason="parallel attempts need PostgreSQL (DATABASE_URL)")
def test_sixty_parallel_wrong_codes_get_five_checks(totp_user):
    user, secret = totp_user
    bad = wrong_code(secret)

    def attempt(i):
        try:
            services.totp_verify(user=user, code=bad, ip=f"198.51.100.{i}", purpose="api_key")
        except services.TotpRefused as refused:
            return refused.code
        return "passed"

    outcomes = run_concurrently(60, attempt)
    assert sorted(set(outcomes)) == ["mfa_invalid", "mfa_locked"]
    assert outcomes.count("mfa_invalid") == 4 and outcomes.count("mfa_locked") == 56
    assert SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.TOTP_LOCKED).count() == 1
    assert verify(user, totp_code(secret)).code == "mfa_locked"

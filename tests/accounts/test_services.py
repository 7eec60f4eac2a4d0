import hashlib
import hmac
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import selectors, services
from accounts.client import ClientInfo
from accounts.models import AccountFreeze, ApiKey, LoginRecord, SecurityEvent, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CLIENT = ClientInfo(ip="203.0.113.7", user_agent="pytest-browser/1.0", device_id="device-aaaaaaaaaaaaaaaa")


class TestApiKeys:
    def test_secret_is_encrypted_at_rest_and_usable_for_hmac(self, user):
        api_key, secret = services.api_key_create(totp_waived_by_operator=True, user=user, label="bot", can_trade=True)
        assert len(api_key.key) == 64 and len(secret) == 64
        assert secret not in api_key.secret_encrypted
        stored = ApiKey.objects.get(pk=api_key.pk)
        assert selectors.api_key_secret(api_key=stored) == secret
        query = b"symbol=BTCUSDT&side=BUY&timestamp=1700000000000"
        expected = hmac.new(secret.encode(), query, hashlib.sha256).hexdigest()
        assert hmac.new(selectors.api_key_secret(api_key=stored).encode(), query, hashlib.sha256).hexdigest() == expected
        assert stored.permissions == ["read", "trade"]
        assert selectors.api_key_active(key=api_key.key) == stored

    def test_withdraw_permission_requires_ip_allowlist(self, user):
        with pytest.raises(ValidationError) as error:
            services.api_key_create(totp_waived_by_operator=True, user=user, label="w", can_withdraw=True)
        assert "ip_allowlist" in error.value.message_dict
        api_key, _secret = services.api_key_create(
            totp_waived_by_operator=True, user=user, label="w", can_withdraw=True, ip_allowlist="198.51.100.4, 10.0.0.0/24"
        )
        assert api_key.ip_allowlist == ["198.51.100.4/32", "10.0.0.0/24"]

    @pytest.mark.parametrize("bad", ["300.1.1.1", "example.com", "10.0.0.0/33"])
    def test_bad_ip_is_refused_with_the_entry_named(self, user, bad):
        with pytest.raises(ValidationError) as error:
            services.api_key_create(totp_waived_by_operator=True, user=user, label="x", ip_allowlist=bad)
        assert bad in error.value.message_dict["ip_allowlist"][0]
        assert not ApiKey.objects.exists()

    def test_label_required(self, user):
        with pytest.raises(ValidationError):
            services.api_key_create(totp_waived_by_operator=True, user=user, label="   ")

    def test_active_key_limit(self, user):
        for i in range(services.MAX_ACTIVE_API_KEYS):
            services.api_key_create(totp_waived_by_operator=True, user=user, label=f"k{i}")
        with pytest.raises(ValidationError):
            services.api_key_create(totp_waived_by_operator=True, user=user, label="one too many")
        assert ApiKey.objects.filter(user=user).count() == services.MAX_ACTIVE_API_KEYS

    def test_revoke_is_logged_once(self, user):
        api_key, _ = services.api_key_create(totp_waived_by_operator=True, user=user, label="bot")
        services.api_key_revoke(api_key=api_key)
        services.api_key_revoke(api_key=api_key)
        assert selectors.api_key_active(key=api_key.key) is None
        assert SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.API_KEY_REVOKED).count() == 1

    def test_frozen_account_cannot_create_keys(self, user):
        services.account_freeze(user=user, source=AccountFreeze.Source.SELF)
        with pytest.raises(ValidationError):
            services.api_key_create(totp_waived_by_operator=True, user=user, label="bot")


class TestFreeze:
    def test_freeze_revokes_keys_ends_sessions_and_is_idempotent(self, user, client, django_capture_on_commit_callbacks):
        api_key, _ = services.api_key_create(totp_waived_by_operator=True, user=user, label="bot", can_trade=True)
        client.force_login(user)
        assert client.get("/en/account/security/").status_code == 200
        epoch = user.session_epoch
        with django_capture_on_commit_callbacks(execute=True):
            first = services.account_freeze(user=user, source=AccountFreeze.Source.SELF, reason="phone stolen", client=CLIENT)
        second = services.account_freeze(user=user, source=AccountFreeze.Source.EMAIL_LINK)
        assert first.pk == second.pk
        assert AccountFreeze.objects.filter(user=user).count() == 1
        user.refresh_from_db()
        assert user.is_frozen and user.session_epoch == epoch + 1
        api_key.refresh_from_db()
        assert api_key.revoked_at is not None and api_key.revoked_reason == "account frozen"
        assert SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.ACCOUNT_FROZEN).count() == 1
        # The old session no longer authenticates.
        response = client.get("/en/account/security/")
        assert response.status_code == 302 and "/auth/login/" in response["Location"]
        # The user was told, without a freeze link (the account is already frozen).
        assert len(mail.outbox) == 1
        assert "/account/freeze/link/" not in mail.outbox[0].body

    def test_lifting_needs_two_different_people(self, user):
        agent, supervisor = UserFactory(is_staff=True), UserFactory(is_staff=True)
        freeze = services.account_freeze(user=user, source=AccountFreeze.Source.SELF)
        with pytest.raises(ValidationError):
            services.freeze_lift_approve(freeze=freeze, by=supervisor)  # not requested yet
        with pytest.raises(ValidationError):
            services.freeze_lift_request(freeze=freeze, by=agent, reason="  ")
        services.freeze_lift_request(freeze=freeze, by=agent, reason="identity verified by video call")
        with pytest.raises(ValidationError):
            services.freeze_lift_approve(freeze=freeze, by=agent)
        services.freeze_lift_approve(freeze=freeze, by=supervisor)
        user.refresh_from_db()
        freeze.refresh_from_db()
        assert not user.is_frozen and freeze.lifted_by == supervisor
        with pytest.raises(ValidationError):
            services.freeze_lift_approve(freeze=freeze, by=supervisor)

    def test_database_refuses_same_person_lift_and_two_active_freezes(self, user):
        agent = UserFactory(is_staff=True)
        freeze = services.account_freeze(user=user, source=AccountFreeze.Source.SELF)
        with pytest.raises(IntegrityError), transaction.atomic():
            AccountFreeze.objects.filter(pk=freeze.pk).update(lift_requested_by=agent, lifted_by=agent, lifted_at=timezone.now())
        with pytest.raises(IntegrityError), transaction.atomic():
            AccountFreeze.objects.create(user=user, source=AccountFreeze.Source.SUPPORT)

    def test_freeze_link_token(self, user, settings):
        token = services.freeze_link_token(user=user)
        assert services.freeze_link_user(token=token) == user
        assert services.freeze_link_user(token=token[:-2] + "xx") is None
        assert services.freeze_link_user(token="garbage") is None
        settings.FREEZE_LINK_MAX_AGE = -1
        assert services.freeze_link_user(token=token) is None


class TestLoginsAndEvents:
    def test_first_device_is_not_new_second_one_emails_in_users_language(self, django_capture_on_commit_callbacks):
        user = UserFactory(language="de", anti_phishing_code="BLUE42")
        with django_capture_on_commit_callbacks(execute=True):
            services.login_record(user=user, client=CLIENT)
        assert LoginRecord.objects.get(user=user).new_device is False
        assert mail.outbox == []
        other = ClientInfo(ip="198.51.100.9", user_agent="other-browser", device_id="device-bbbbbbbbbbbbbbbb")
        with django_capture_on_commit_callbacks(execute=True):
            services.login_record(user=user, client=other)
        assert LoginRecord.objects.filter(user=user, new_device=True).count() == 1
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == [user.email]
        assert "BLUE42" in message.body
        assert "198.51.100.9" in message.body
        token = services.freeze_link_token(user=user).split(":")[0]
        assert f"/de/account/freeze/link/#{token}:" in message.body
        event = SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.LOGIN_NEW_DEVICE)
        assert event.notified_at is not None

    def test_notification_task_sends_once(self, user):
        from accounts.tasks import security_event_notify

        event = SecurityEvent.objects.create(user=user, kind=SecurityEvent.Kind.PASSWORD_CHANGED)
        security_event_notify(event.pk)
        security_event_notify(event.pk)
        assert len(mail.outbox) == 1

    def test_credential_change_locks_withdrawals_for_24_hours(self, user):
        before = timezone.now()
        services.credential_changed(user=user, kind=SecurityEvent.Kind.PASSWORD_CHANGED, client=CLIENT)
        user.refresh_from_db()
        assert user.withdrawals_locked
        lock = user.withdrawals_locked_until - before
        assert timedelta(hours=24) <= lock < timedelta(hours=24, seconds=5)
        kinds = set(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
        assert kinds == {SecurityEvent.Kind.PASSWORD_CHANGED, SecurityEvent.Kind.WITHDRAWAL_LOCK}

    @pytest.mark.parametrize("code", ["abc", "x" * 21, "has space", "émoji🙂"])
    def test_anti_phishing_code_validation(self, user, code):
        with pytest.raises(ValidationError):
            services.anti_phishing_code_set(user=user, code=code)
        user.refresh_from_db()
        assert user.anti_phishing_code == ""

    def test_profile_update_refuses_unknown_values(self, user):
        with pytest.raises(ValidationError):
            services.profile_update(user=user, language="xx")
        with pytest.raises(ValidationError):
            services.profile_update(user=user, time_zone="Mars/Olympus")
        services.profile_update(user=user, language="ar", time_zone="Asia/Dubai")
        user.refresh_from_db()
        assert (user.language, user.time_zone) == ("ar", "Asia/Dubai")


def test_roles_have_their_permissions(db):
    from django.contrib.auth.models import Group

    services.roles_sync()
    agent = Group.objects.get(name="support_agent")
    codenames = set(agent.permissions.values_list("codename", flat=True))
    assert "freeze_account" in codenames and "unfreeze_account" not in codenames
    supervisor = set(Group.objects.get(name="supervisor").permissions.values_list("codename", flat=True))
    assert "unfreeze_account" in supervisor
    assert Group.objects.get(name="trader").permissions.count() == 0
    staff = UserFactory()
    services.role_assign(user=staff, role="support_agent")
    staff = User.objects.get(pk=staff.pk)
    assert staff.is_staff and staff.has_perm("accounts.freeze_account") and not staff.has_perm("accounts.unfreeze_account")

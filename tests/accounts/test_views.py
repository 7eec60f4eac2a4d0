import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone

from accounts import selectors, services
from accounts.models import AccountFreeze, ApiKey, SecurityEvent, User
from tests.conftest import totp_code
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login(client, email, password=PASSWORD):
    return client.post("/en/auth/login/", {"login": email, "password": password})


def test_signup_requires_email_verification_in_the_page_language(client):
    response = client.post(
        "/fr/auth/signup/", {"email": "new@example.test", "password1": "a-Long-pass-2026", "password2": "a-Long-pass-2026"}
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.test")
    assert user.language == "fr"
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    link = re.search(r"http\S+/confirm-email/\S+", mail.outbox[0].body).group(0)
    # Unverified: logging in sends a new verification mail instead of a session.
    client.logout()
    login(client, "new@example.test", "a-Long-pass-2026")
    assert client.get("/en/account/security/").status_code == 302
    response = client.post(link.split("testserver")[-1])
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/fr/account/security/").status_code == 200


def test_login_is_rate_limited_per_account(client, user):
    for _ in range(5):
        assert login(client, user.email, "wrong-password").status_code == 200
    response = login(client, user.email, "wrong-password")
    assert b"Too many failed login attempts" in response.content
    # Even the right password is refused while the limit holds.
    response = login(client, user.email)
    assert response.status_code == 200 and b"Too many failed login attempts" in response.content
    assert client.get("/en/account/security/").status_code == 302


def test_frozen_account_cannot_log_in(client, user):
    services.account_freeze(user=user, source=AccountFreeze.Source.SELF)
    response = login(client, user.email)
    assert response.status_code == 403
    assert b"This account is frozen" in response.content
    assert client.get("/en/account/security/").status_code == 302


def test_login_records_history_and_security_page_shows_it(client, user):
    assert login(client, user.email).status_code == 302
    page = client.get("/en/account/security/")
    assert page.status_code == 200
    assert SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.LOGIN).count() == 1
    assert b"127.0.0.1" in page.content


def test_login_lands_in_saved_language(client):
    user = UserFactory(language="ja")
    response = login(client, user.email)
    assert response["Location"].startswith("/ja/")


class TestApiKeyPage:
    def test_requires_an_authenticator(self, client, user):
        client.force_login(user)
        response = client.post("/en/account/api-keys/", {"label": "bot", "code": "123456"})
        assert b"Set up an authenticator app first" in response.content
        assert not ApiKey.objects.exists()

    def test_create_with_valid_code_shows_secret_once(self, client, totp_user):
        user, secret = totp_user
        client.force_login(user)
        response = client.post("/en/account/api-keys/", {"label": "grid bot", "can_trade": "on", "code": totp_code(secret)})
        assert response.status_code == 200
        api_key = ApiKey.objects.get(user=user)
        plaintext = selectors.api_key_secret(api_key=api_key)
        assert plaintext.encode() in response.content
        assert response["Cache-Control"].startswith("max-age=0")
        later = client.get("/en/account/api-keys/")
        assert plaintext.encode() not in later.content and api_key.key[:10].encode() in later.content

    def test_wrong_code_creates_nothing(self, client, totp_user):
        user, _secret = totp_user
        client.force_login(user)
        response = client.post("/en/account/api-keys/", {"label": "bot", "code": "000000"})
        assert response.status_code == 400
        assert b"The authenticator code is wrong or was already used" in response.content
        assert not ApiKey.objects.exists()

    def test_cannot_revoke_someone_elses_key(self, client, user):
        other_key, _ = services.api_key_create(totp_waived_by_operator=True, user=UserFactory(), label="theirs")
        client.force_login(user)
        assert client.post(f"/en/account/api-keys/{other_key.pk}/revoke/").status_code == 404
        other_key.refresh_from_db()
        assert other_key.is_active


class TestFreezeViews:
    def test_link_get_does_not_freeze_post_does(self, client, user):
        token = services.freeze_link_token(user=user)
        url = "/en/account/freeze/link/"
        page = client.get(url)
        assert page.status_code == 200 and b'src="/static/js/freeze-link.js"' in page.content
        user.refresh_from_db()
        assert not user.is_frozen
        assert client.post(url, {"token": token, "reason": ""}).status_code == 400  # the confirmation box is required
        response = client.post(url, {"token": token, "confirm": "on", "reason": "lost phone"})
        assert response.status_code == 302 and response["Location"] == "/en/account/frozen/"
        freeze = AccountFreeze.objects.get(user=user)
        assert freeze.source == AccountFreeze.Source.EMAIL_LINK and freeze.reason == "lost phone"

    def test_bad_link_is_refused(self, client):
        response = client.post("/en/account/freeze/link/", {"token": "nonsense", "confirm": "on"})
        assert response.status_code == 400 and b"This freeze link is not valid" in response.content

    def test_replayed_link_is_refused_after_the_freeze_is_lifted(self, client, user):
        token = services.freeze_link_token(user=user)
        assert client.post("/en/account/freeze/link/", {"token": token, "confirm": "on"}).status_code == 302
        freeze = AccountFreeze.objects.get(user=user)
        services.freeze_lift_request(freeze=freeze, by=UserFactory(), reason="identity verified")
        services.freeze_lift_approve(freeze=freeze, by=UserFactory())
        response = client.post("/en/account/freeze/link/", {"token": token, "confirm": "on"})
        assert response.status_code == 400 and b"This freeze link is not valid" in response.content
        user.refresh_from_db()
        assert not user.is_frozen and AccountFreeze.objects.filter(user=user).count() == 1

    def test_expired_link_is_refused(self, client, user, settings):
        from datetime import timedelta

        from freezegun import freeze_time

        assert settings.FREEZE_LINK_MAX_AGE == 7 * 24 * 3600
        token = services.freeze_link_token(user=user)
        with freeze_time(timezone.now() + timedelta(days=7, seconds=2)):
            response = client.post("/en/account/freeze/link/", {"token": token, "confirm": "on"})
        assert response.status_code == 400
        user.refresh_from_db()
        assert not user.is_frozen

    def test_token_is_never_in_a_url(self, user, django_capture_on_commit_callbacks):
        from django.core import mail

        with django_capture_on_commit_callbacks(execute=True):
            services.security_event_record(user=user, kind=SecurityEvent.Kind.PASSWORD_CHANGED)
        body = mail.outbox[0].body
        link = next(line for line in body.split() if "/account/freeze/link/" in line)
        path, _hash, token = link.partition("#")
        assert path == "http://testserver/en/account/freeze/link/"
        assert services.freeze_link_user(token=token) == user

    def test_self_freeze_signs_out(self, client, user):
        client.force_login(user)
        response = client.post("/en/account/freeze/", {"confirm": "on"})
        assert response["Location"] == "/en/account/frozen/"
        user.refresh_from_db()
        assert user.is_frozen
        assert client.get("/en/account/security/").status_code == 302


def test_password_change_locks_withdrawals(client, user):
    client.force_login(user)
    client.get("/en/")
    response = client.post(
        "/en/auth/password/change/", {"oldpassword": PASSWORD, "password1": "N3w-and-long-pass", "password2": "N3w-and-long-pass"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.withdrawals_locked
    assert SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.PASSWORD_CHANGED).exists()
    page = client.get("/en/account/security/")
    assert b"Withdrawals are paused until" in page.content


def test_anti_phishing_code_appears_in_allauth_mail(client):
    user = UserFactory(anti_phishing_code="ZEBRA77", language="es")
    client.post("/en/auth/password/reset/", {"email": user.email})
    assert len(mail.outbox) == 1
    assert "ZEBRA77" in mail.outbox[0].body
    assert "/es/account/freeze/link/" in mail.outbox[0].body


def test_pages_need_login(client):
    for url in ["/en/account/security/", "/en/account/api-keys/", "/en/account/settings/", "/en/account/freeze/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login/" in response["Location"], url


def test_settings_save_language_and_time_zone_and_reload_in_new_language(client, user):
    client.force_login(user)
    response = client.post("/en/account/settings/", {"language": "tr", "time_zone": "Europe/Istanbul"})
    assert response.status_code == 302 and response["Location"] == "/tr/account/settings/"
    user.refresh_from_db()
    assert (user.language, user.time_zone) == ("tr", "Europe/Istanbul")
    bad = client.post("/en/account/settings/", {"language": "xx", "time_zone": "Nowhere/Land"})
    assert bad.status_code == 200 and set(bad.context["form"].errors) == {"language", "time_zone"}
    user.refresh_from_db()
    assert user.language == "tr"

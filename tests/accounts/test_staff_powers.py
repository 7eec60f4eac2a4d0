"""Staff powers: who may grant roles, and what a staff change to a user's credentials sets off."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts import services
from accounts.models import SecurityEvent, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    services.roles_sync()
    return services.role_assign(user=UserFactory(email="operator@example.test"), role="operator")


@pytest.fixture
def superuser():
    user = UserFactory(email="root@example.test")
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    user.refresh_from_db()
    return user


def change_data(user: User, **overrides) -> dict:
    """The admin change form as a browser submits it for `user` (role fields included)."""
    data = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language": user.language,
        "time_zone": user.time_zone,
        "anti_phishing_code": user.anti_phishing_code,
        "vip_tier": user.vip_tier,
        "is_active": "on",
        "groups": [group.pk for group in user.groups.all()],
        "user_permissions": [],
    }
    if user.is_staff:
        data["is_staff"] = "on"
    if user.is_superuser:
        data["is_superuser"] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def roles_of(user: User) -> tuple:
    user.refresh_from_db()
    return user.is_staff, user.is_superuser, sorted(user.groups.values_list("name", flat=True)), user.user_permissions.count()


# --- Role fields ---------------------------------------------------------------------------------------------


def test_operator_cannot_make_a_user_superuser_by_crafted_post(client, operator):
    target = UserFactory(first_name="Old")
    everything = list(Permission.objects.values_list("pk", flat=True)[:3])
    client.force_login(operator)
    page = client.get(f"/en/admin/accounts/user/{target.pk}/change/")
    assert page.status_code == 200 and b'name="is_superuser"' not in page.content and b'name="groups"' not in page.content
    data = change_data(
        target,
        first_name="New",
        is_superuser="on",
        is_staff="on",
        groups=[Group.objects.get(name="operator").pk],
        user_permissions=everything,
    )
    response = client.post(f"/en/admin/accounts/user/{target.pk}/change/", data)
    assert response.status_code == 302
    assert roles_of(target) == (False, False, [], 0)
    assert target.first_name == "New"  # the rest of the form still saves
    assert not LogEntry.objects.filter(additional_data__kind="roles_changed").exists()


def test_operator_cannot_raise_their_own_account(client, operator):
    client.force_login(operator)
    response = client.post(f"/en/admin/accounts/user/{operator.pk}/change/", change_data(operator, is_superuser="on"))
    assert response.status_code == 302
    assert roles_of(operator) == (True, False, ["operator"], 0)


def test_operator_cannot_change_another_staff_account(client, operator):
    other = services.role_assign(user=UserFactory(), role="support_agent")
    client.force_login(operator)
    assert client.get(f"/en/admin/accounts/user/{other.pk}/change/").status_code == 200  # view only
    response = client.post(f"/en/admin/accounts/user/{other.pk}/change/", change_data(other, email="mine@example.test"))
    assert response.status_code == 403
    other.refresh_from_db()
    assert other.email != "mine@example.test"
    assert (
        client.post(
            f"/en/admin/accounts/user/{other.pk}/password/",
            {"password1": "Xy9-new-pass-77", "password2": "Xy9-new-pass-77", "set_usable_password": "true"},
        ).status_code
        == 403
    )
    other.refresh_from_db()
    assert other.check_password(PASSWORD)


def test_superuser_changes_roles_and_it_is_audited(client, superuser):
    services.roles_sync()
    target = UserFactory()
    perm = Permission.objects.get(content_type__app_label="wallets", codename="view_asset")
    client.force_login(superuser)
    data = change_data(target, is_staff="on", groups=[Group.objects.get(name="supervisor").pk], user_permissions=[perm.pk])
    response = client.post(f"/en/admin/accounts/user/{target.pk}/change/", data)
    assert response.status_code == 302
    assert roles_of(target) == (True, False, ["supervisor"], 1)
    entry = LogEntry.objects.get(additional_data__kind="roles_changed")
    assert entry.actor == superuser and entry.object_pk == str(target.pk)
    assert entry.changes == {
        "is_staff": ["False", "True"],
        "groups": ["[]", "['supervisor']"],
        "user_permissions": ["[]", "['wallets.view_asset']"],
    }
    assert entry.additional_data["before"] == {"is_staff": False, "is_superuser": False, "groups": [], "user_permissions": []}


def test_superuser_cannot_change_own_roles(client, superuser):
    client.force_login(superuser)
    page = client.get(f"/en/admin/accounts/user/{superuser.pk}/change/")
    assert page.status_code == 200 and b'name="is_superuser"' not in page.content
    response = client.post(f"/en/admin/accounts/user/{superuser.pk}/change/", change_data(superuser, is_superuser=None, is_staff=None))
    assert response.status_code == 302
    assert roles_of(superuser) == (True, True, [], 0)


def test_service_refuses_non_superuser_and_own_account(operator, superuser):
    target = UserFactory()
    with pytest.raises(services.StaffChangeRefused) as refused:
        services.user_roles_set(user=target, by=operator, is_staff=True, is_superuser=True, groups=[], user_permissions=[])
    assert refused.value.code == "roles_superuser_only"
    with pytest.raises(services.StaffChangeRefused) as refused:
        services.user_roles_set(user=superuser, by=superuser, is_staff=True, is_superuser=False, groups=[], user_permissions=[])
    assert refused.value.code == "roles_own_account"
    assert roles_of(target) == (False, False, [], 0) and roles_of(superuser) == (True, True, [], 0)
    # Saving the same roles changes nothing and is allowed for anyone (the operator's own profile form).
    services.user_roles_set(
        user=operator, by=operator, is_staff=True, is_superuser=False, groups=operator.groups.all(), user_permissions=[]
    )
    assert not LogEntry.objects.filter(additional_data__kind="roles_changed").exists()


# --- Credentials changed by staff --------------------------------------------------------------------------


def test_staff_email_change_notifies_both_addresses_locks_and_moves_email_address(client, operator, django_capture_on_commit_callbacks):
    target = UserFactory(email="old@example.test", language="de", anti_phishing_code="BLUE42")
    client.force_login(operator)
    mail.outbox.clear()
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/en/admin/accounts/user/{target.pk}/change/", change_data(target, email="New@Example.test"))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.email == "new@example.test"
    assert list(EmailAddress.objects.filter(user=target).values_list("email", "primary", "verified")) == [("new@example.test", True, False)]
    event = SecurityEvent.objects.get(user=target, kind=SecurityEvent.Kind.EMAIL_CHANGED)
    assert event.data == {"from": "old@example.test", "to": "new@example.test", "by_staff": operator.pk}
    lock = SecurityEvent.objects.get(user=target, kind=SecurityEvent.Kind.WITHDRAWAL_LOCK)
    assert lock.data["reason"] == "email_changed"
    assert before + timedelta(hours=24) <= target.withdrawals_locked_until <= timezone.now() + timedelta(hours=24)
    assert sorted(message.to[0] for message in mail.outbox) == ["new@example.test", "old@example.test"]
    with translation.override("de"):
        subject = gettext("Security alert: %(what)s") % {"what": gettext("Email address changed")}
        paused = gettext("For your protection, withdrawals are paused for 24 hours.")
    assert subject != "Security alert: Email address changed"
    assert event.ip is None and event.user_agent == ""  # the operator's client never reaches the customer
    with translation.override("de"):
        by_support = gettext("Agora support made this change. If you did not ask for it, contact support.")
        ip_line = gettext("IP address: %(ip)s") % {"ip": "127.0.0.1"}  # the operator's test client
    for message in mail.outbox:
        assert message.subject == "[Agora] " + subject
        assert "BLUE42" in message.body and paused in message.body
        assert by_support in message.body and ip_line not in message.body
        assert by_support in message.alternatives[0][0]
    entry = LogEntry.objects.get(additional_data__kind="email_changed_by_staff")
    assert entry.actor == operator and entry.changes == {"email": ["old@example.test", "new@example.test"]}


def test_staff_email_change_refuses_an_address_of_another_account(client, operator):
    UserFactory(email="taken@example.test")
    target = UserFactory(email="mine@example.test")
    client.force_login(operator)
    response = client.post(f"/en/admin/accounts/user/{target.pk}/change/", change_data(target, email="TAKEN@example.test"))
    assert response.status_code == 200 and b"errorlist" in response.content
    target.refresh_from_db()
    assert target.email == "mine@example.test" and not SecurityEvent.objects.filter(user=target).exists()


def test_staff_password_change_notifies_locks_ends_sessions_and_is_audited(client, operator, django_capture_on_commit_callbacks):
    target = UserFactory(email="pw@example.test", language="fr")
    epoch = target.session_epoch
    client.force_login(operator)
    mail.outbox.clear()
    new = "Tangerine-Harbor-81"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/en/admin/accounts/user/{target.pk}/password/", {"password1": new, "password2": new, "set_usable_password": "true"}
        )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.check_password(new) and target.session_epoch == epoch + 1
    assert target.withdrawals_locked_until > timezone.now() + timedelta(hours=23, minutes=59)
    event = SecurityEvent.objects.get(user=target, kind=SecurityEvent.Kind.PASSWORD_CHANGED)
    assert event.data == {"by_staff": operator.pk}
    assert [message.to for message in mail.outbox] == [["pw@example.test"]]
    with translation.override("fr"):
        subject = gettext("Security alert: %(what)s") % {"what": gettext("Password changed")}
    assert mail.outbox[0].subject == "[Agora] " + subject and subject != "Security alert: Password changed"
    assert LogEntry.objects.get(additional_data__kind="password_set_by_staff").actor == operator


def test_staff_password_change_refuses_a_weak_password(client, operator):
    target = UserFactory()
    client.force_login(operator)
    response = client.post(
        f"/en/admin/accounts/user/{target.pk}/password/", {"password1": "123", "password2": "123", "set_usable_password": "true"}
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.check_password(PASSWORD) and not SecurityEvent.objects.filter(user=target).exists()


# --- API keys that can withdraw: a real restriction ----------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "limit"),
    [("0.0.0.0/0", 24), ("203.0.0.0/16", 24), ("203.0.112.0/23", 24), ("::/0", 48), ("2001:db8::/47", 48)],
)
def test_withdraw_key_refuses_a_range_wider_than_the_limit(entry, limit):
    from django.core.exceptions import ValidationError

    from accounts.models import ApiKey

    user = UserFactory()
    with pytest.raises(ValidationError) as error:
        services.api_key_create(user=user, label="w", can_withdraw=True, ip_allowlist=f"198.51.100.7, {entry}")
    message = error.value.message_dict["ip_allowlist"][0]
    assert f"“{entry}” is too wide" in message and f"at most /{limit}." in message
    assert not ApiKey.objects.exists()
    # A key that cannot withdraw may still be read- or trade-only from anywhere.
    api_key, _secret = services.api_key_create(totp_waived_by_operator=True, user=user, label="r", ip_allowlist=entry)
    assert api_key.ip_allowlist == [entry]


def test_withdraw_key_accepts_a_24_a_48_and_single_addresses():
    user = UserFactory()
    api_key, _secret = services.api_key_create(
        totp_waived_by_operator=True,
        user=user,
        label="w",
        can_withdraw=True,
        ip_allowlist="203.0.113.0/24 198.51.100.7 2001:db8::/48 2001:db8::1",
    )
    assert api_key.ip_allowlist == ["203.0.113.0/24", "198.51.100.7/32", "2001:db8::/48", "2001:db8::1/128"]


def test_api_key_form_refuses_a_wide_range_before_the_code_is_checked(client, totp_user):
    from accounts.models import ApiKey
    from tests.conftest import totp_code

    user, secret = totp_user
    client.force_login(user)
    data = {"label": "bot", "can_withdraw": "on", "ip_allowlist": "10.0.0.0/8", "code": totp_code(secret)}
    response = client.post("/de/account/api-keys/", data)
    assert response.status_code == 400
    with translation.override("de"):
        expected = gettext(
            "“%(entry)s” is too wide for a key that can withdraw: use single addresses or networks of at most /%(limit)d."
        ) % {"entry": "10.0.0.0/8", "limit": 24}
    assert expected in response.content.decode()
    assert not ApiKey.objects.filter(user=user).exists()


def test_users_own_email_change_also_emails_the_old_address(django_capture_on_commit_callbacks):
    from allauth.account.signals import email_changed

    user = UserFactory(email="before@example.test", language="es")
    old = EmailAddress.objects.get(user=user)
    new = EmailAddress.objects.create(user=user, email="after@example.test", verified=True, primary=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        User.objects.filter(pk=user.pk).update(email="after@example.test")
        user.refresh_from_db()
        email_changed.send(sender=User, request=None, user=user, from_email_address=old, to_email_address=new)
    assert sorted(message.to[0] for message in mail.outbox) == ["after@example.test", "before@example.test"]
    with translation.override("es"):
        subject = gettext("Security alert: %(what)s") % {"what": gettext("Email address changed")}
    assert {message.subject for message in mail.outbox} == {"[Agora] " + subject}

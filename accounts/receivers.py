"""allauth's signals are its only hook for these events; each receiver calls one service."""

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.dispatch import receiver

from accounts.client import ClientInfo, client_info
from accounts.models import SecurityEvent
from accounts.services import credential_changed


def _client(request) -> ClientInfo:
    return client_info(request) if request is not None else ClientInfo()


@receiver(account_signals.password_changed)
@receiver(account_signals.password_set)
def _password_changed(sender, request=None, user=None, **kwargs):
    credential_changed(user=user, kind=SecurityEvent.Kind.PASSWORD_CHANGED, client=_client(request))


@receiver(account_signals.password_reset)
def _password_reset(sender, request=None, user=None, **kwargs):
    credential_changed(user=user, kind=SecurityEvent.Kind.PASSWORD_RESET, client=_client(request))


@receiver(account_signals.email_changed)
def _email_changed(sender, request=None, user=None, from_email_address=None, to_email_address=None, **kwargs):
    data = {"to": getattr(to_email_address, "email", "")}
    if from_email_address is not None:
        data["from"] = from_email_address.email
    credential_changed(user=user, kind=SecurityEvent.Kind.EMAIL_CHANGED, client=_client(request), data=data)


@receiver(mfa_signals.authenticator_added)
def _mfa_added(sender, request=None, user=None, authenticator=None, **kwargs):
    credential_changed(
        user=user,
        kind=SecurityEvent.Kind.MFA_ENABLED,
        client=_client(request),
        data={"type": getattr(authenticator, "type", "")},
    )


@receiver(mfa_signals.authenticator_removed)
def _mfa_removed(sender, request=None, user=None, authenticator=None, **kwargs):
    credential_changed(
        user=user,
        kind=SecurityEvent.Kind.MFA_DISABLED,
        client=_client(request),
        data={"type": getattr(authenticator, "type", "")},
    )


@receiver(mfa_signals.authenticator_reset)
def _mfa_reset(sender, request=None, user=None, authenticator=None, **kwargs):
    credential_changed(user=user, kind=SecurityEvent.Kind.RECOVERY_CODES, client=_client(request))

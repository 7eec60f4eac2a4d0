from django.db.models import QuerySet

from accounts.encryption import decrypt as secret_decrypt
from accounts.models import ApiKey, LoginRecord, SecurityEvent, User


def security_events_for(*, user: User, limit: int = 50) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(user=user).order_by("-created_at", "-id")[:limit]


def login_history_for(*, user: User, limit: int = 20) -> QuerySet[LoginRecord]:
    return LoginRecord.objects.filter(user=user).order_by("-created_at", "-id")[:limit]


def api_keys_for(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user).order_by("revoked_at", "-created_at")


def api_key_active(*, key: str) -> ApiKey | None:
    """The active key with this public id, with its user, or None."""
    return ApiKey.objects.select_related("user").filter(key=key, revoked_at__isnull=True).first()


def api_key_secret(*, api_key: ApiKey) -> str:
    return secret_decrypt(api_key.secret_encrypted)


def user_has_totp(*, user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def authenticator_types_for(*, user: User) -> set[str]:
    """The kinds of MFA authenticator the user has set up (TOTP, WebAuthn, recovery codes)."""
    from allauth.mfa.models import Authenticator

    return {a.type for a in Authenticator.objects.filter(user=user)}

"""allauth hooks: mail goes out through Celery in the recipient's language; frozen accounts cannot
log in; every completed login is recorded; MFA secrets are encrypted at rest."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.db import models
from django.shortcuts import render
from django.utils import translation

from accounts import encryption
from accounts.client import client_info
from accounts.models import User
from config.locale import language_choice_pop
from config.site import site_url_rebase


def _mail_context_serialize(context: dict, request=None) -> tuple[dict, int | None]:
    """allauth passes model instances and the request; keep what survives JSON and the user's id.
    Links allauth built from the request's host (activate_url, password_reset_url, signup_url)
    are moved onto SITE_URL, like every other email link."""
    plain, user_id = {}, None
    request = context.get("request") or request
    request_host = request.get_host() if request is not None else ""
    for key, value in context.items():
        if key in ("request", "current_site"):
            continue
        if isinstance(value, User):
            user_id = value.pk
        elif isinstance(value, models.Model):
            continue
        elif isinstance(value, str):
            plain[key] = site_url_rebase(value, request_host=request_host)
        elif value is None or isinstance(value, (int, float, bool)):
            plain[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            plain[key] = list(value)
        else:
            plain[key] = str(value)
    return plain, user_id


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        from accounts.tasks import mail_send

        plain, user_id = _mail_context_serialize(context, request=self.request)
        if user_id is None:
            user_id = User.objects.filter(email__iexact=email).values_list("pk", flat=True).first()
        mail_send.delay(
            template_prefix=template_prefix,
            email=email,
            context=plain,
            user_id=user_id,
            language=translation.get_language() or "en",
        )

    def pre_login(self, request, user, **kwargs):
        if getattr(user, "is_frozen", False):
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            return render(request, "accounts/frozen.html", status=403)
        return super().pre_login(request, user, **kwargs)

    def post_login(self, request, user, **kwargs):
        from accounts.services import login_record

        chosen = language_choice_pop(request)
        if chosen and chosen != user.language:
            # Chosen with the switcher just before signing in: an explicit choice beats the old preference.
            from accounts.services import profile_update

            profile_update(user=user, language=chosen)
        response = super().post_login(request, user, **kwargs)
        login_record(user=user, client=client_info(request))
        if user.language and user.language != translation.get_language() and response.status_code in (301, 302):
            # Land in the language the user chose, not the one the login page happened to be in.
            from django.urls import translate_url

            response["Location"] = translate_url(response["Location"], user.language)
        return response

    def save_user(self, request, user, form, commit=True):
        """Sign-up remembers the language the form was filled in."""
        language = translation.get_language()
        if language:
            user.language = language
        return super().save_user(request, user, form, commit=commit)


class MFAAdapter(DefaultMFAAdapter):
    """allauth stores TOTP secrets and recovery-code seeds through these hooks: encrypted with
    FIELD_ENCRYPTION_KEYS (accounts/encryption.py), so a database dump holds no usable secret."""

    def encrypt(self, text: str) -> str:
        return encryption.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return encryption.decrypt(encrypted_text)

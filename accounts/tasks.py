"""Emails: rendered here, in the worker, in the recipient's language, with their anti-phishing code
and a one-click freeze link. Tasks take ids and are safe to run twice."""

import logging
from types import SimpleNamespace
from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import SecurityEvent, User
from config.site import site_url

log = logging.getLogger(__name__)


def _site():
    return SimpleNamespace(name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)


def mail_context_for(user: User | None, language: str) -> dict:
    """What every email shows: the anti-phishing code and, for a known user, the freeze link."""
    from accounts.services import freeze_link_token

    context = {"current_site": _site(), "site_url": settings.SITE_URL, "recipient": user}
    if user is not None:
        context["anti_phishing_code"] = user.anti_phishing_code
        if not user.is_frozen:
            with translation.override(language):
                path = reverse("accounts:freeze_link")
            # The token is in the fragment: browsers never send it, so no access log records it;
            # the page's script posts it (accounts/freeze-link.js).
            context["freeze_url"] = site_url(path) + "#" + freeze_link_token(user=user)
    return context


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def mail_send(*, template_prefix: str, email: str, context: dict, user_id: int | None, language: str) -> None:
    """An allauth email (verification, password reset, ...) rendered in the recipient's language."""
    from allauth.account.adapter import get_adapter

    user = User.objects.filter(pk=user_id).first() if user_id else None
    language = user.language if user is not None else language
    with translation.override(language):
        full = {**context, **mail_context_for(user, language), "email": email}
        if user is not None:
            full["user"] = user
        message = get_adapter().render_mail(template_prefix, email, full)
    message.send()


def mail_to_user(*, user: User, template: str, context: dict, to: str | None = None) -> None:
    """Render emails/<template>_subject.txt, _message.txt and _message.html in the user's language,
    with the anti-phishing code and freeze link, and send it (to the account's address unless `to`)."""
    with translation.override(user.language):
        full = {**mail_context_for(user, user.language), **context, "user": user}
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", full).split())
        text = render_to_string(f"emails/{template}_message.txt", full)
        html = render_to_string(f"emails/{template}_message.html", full)
    message = EmailMultiAlternatives(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, text, settings.DEFAULT_FROM_EMAIL, [to or user.email])
    message.attach_alternative(html, "text/html")
    message.send()


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def security_event_notify(event_id: int) -> None:
    """Email the user about a security event, once (a retry after success sends nothing)."""
    with transaction.atomic():
        event = SecurityEvent.objects.select_for_update(no_key=True, of=("self",)).select_related("user").filter(pk=event_id).first()
        if event is None or event.notified_at is not None:
            return
        mail_to_user(user=event.user, template="security_event", context={"event": event})
        old_address = event.data.get("from") if event.kind == SecurityEvent.Kind.EMAIL_CHANGED else None
        if old_address and old_address.lower() != event.user.email.lower():
            # The old address is the one a hijacker wants silenced: its owner must hear of the change.
            mail_to_user(user=event.user, template="security_event", context={"event": event}, to=old_address)
        event.notified_at = timezone.now()
        event.save(update_fields=["notified_at"])


@shared_task(ignore_result=True)
def totp_counters_prune_task() -> None:
    from accounts.services import totp_counters_prune

    log.info("pruned %d TOTP failure counters", totp_counters_prune())

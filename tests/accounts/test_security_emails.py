"""The HTML and the text version of every security email carry the same facts (the HTML one
left out "withdrawals are paused for 24 hours", the anti-phishing tip and the site address)."""

import html as html_lib
import re

import pytest
from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.core import mail
from django.utils import translation
from django.utils.html import strip_tags

from accounts.models import SecurityEvent
from accounts.tasks import security_event_notify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOCK_LINE = "For your protection, withdrawals are paused for 24 hours."


def _visible_text(markup: str) -> str:
    return " ".join(html_lib.unescape(strip_tags(markup)).split())


def _sent(user, kind):
    event = SecurityEvent.objects.create(user=user, kind=kind, ip="203.0.113.7", user_agent="Firefox on Linux")
    mail.outbox.clear()
    security_event_notify(event.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    ((markup, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return message.body, markup


@pytest.mark.parametrize("language", ["en", "de", "ar"])
@pytest.mark.parametrize("anti_phishing_code", ["", "ZEBRA77"])
def test_html_and_text_security_emails_carry_the_same_facts(language, anti_phishing_code):
    user = UserFactory(language=language, anti_phishing_code=anti_phishing_code)
    for kind in sorted(SecurityEvent.NOTIFY):
        text, markup = _sent(user, kind)
        visible = _visible_text(markup)
        for line in filter(None, (" ".join(raw.split()) for raw in text.splitlines())):
            if re.fullmatch(r"https?://\S+", line):
                assert f'href="{line}"' in markup, (kind, line)
            else:
                assert line in visible, (kind, language, line)
        with translation.override(language):
            lock_line = translation.gettext(LOCK_LINE)
        locks = kind in SecurityEvent.LOCKS_WITHDRAWALS
        assert (lock_line in text, lock_line in visible) == (locks, locks), kind


@pytest.mark.parametrize(
    "fire",
    [
        lambda user: account_signals.email_changed.send(
            sender=None, request=None, user=user, from_email_address=None, to_email_address=None
        ),
        lambda user: account_signals.password_reset.send(sender=None, request=None, user=user),
        lambda user: mfa_signals.authenticator_added.send(sender=None, request=None, user=user, authenticator=None),
        lambda user: mfa_signals.authenticator_removed.send(sender=None, request=None, user=user, authenticator=None),
        lambda user: mfa_signals.authenticator_reset.send(sender=None, request=None, user=user, authenticator=None),
    ],
    ids=["email_changed", "password_reset", "mfa_added", "mfa_removed", "recovery_codes"],
)
def test_every_change_that_locks_withdrawals_says_so_in_both_versions(fire, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        fire(user)
    user.refresh_from_db()
    assert user.withdrawals_locked_until is not None
    (message,) = mail.outbox
    assert LOCK_LINE in message.body
    assert LOCK_LINE in _visible_text(message.alternatives[0][0])


def test_a_freeze_by_support_and_its_lifting_say_support_did_it(django_capture_on_commit_callbacks):
    from accounts.services import account_freeze, freeze_lift_approve, freeze_lift_request

    customer, agent, supervisor = UserFactory(), UserFactory(is_staff=True), UserFactory(is_staff=True)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        freeze = account_freeze(user=customer, source="support", reason="phishing report", by=agent)
    with django_capture_on_commit_callbacks(execute=True):
        freeze_lift_request(freeze=freeze, by=agent, reason="owner verified")
        freeze_lift_approve(freeze=freeze, by=supervisor)
    frozen, unfrozen = (m for m in mail.outbox if m.to == [customer.email])
    for message in (frozen, unfrozen):
        assert "Agora support made this change. If you did not ask for it, contact support." in message.body
        assert "If this was you, there is nothing to do." not in message.body
    # The holder's own freeze keeps "if this was you".
    other = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        account_freeze(user=other, source="self", by=other)
    (own,) = [m for m in mail.outbox if m.to == [other.email]]
    assert "If this was you, there is nothing to do." in own.body

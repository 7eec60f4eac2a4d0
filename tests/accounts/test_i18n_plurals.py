"""Limits quoted with a number use the language's plural forms."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.services import MAX_IP_ALLOWLIST, api_key_create
from tests.factories import UserFactory


@pytest.mark.django_db
@pytest.mark.parametrize(("code", "text"), [("en", "At most 30 addresses."), ("ru", "Не более 30 адресов."), ("sl", "Največ 30 naslovov.")])
def test_ip_allowlist_limit_names_the_count_with_its_plural_form(code, text):
    assert MAX_IP_ALLOWLIST == 30
    too_many = " ".join(f"10.0.0.{i}" for i in range(MAX_IP_ALLOWLIST + 1))
    with translation.override(code), pytest.raises(ValidationError) as refused:
        api_key_create(user=UserFactory(), label="bot", ip_allowlist=too_many)
    assert refused.value.message_dict["ip_allowlist"] == [text]


def test_every_form_keeps_the_number():
    with translation.override("ru"):
        forms = [
            translation.ngettext("At most %(count)d address.", "At most %(count)d addresses.", n) % {"count": n} for n in (1, 2, 5, 21)
        ]
    assert forms == ["Не более 1 адреса.", "Не более 2 адресов.", "Не более 5 адресов.", "Не более 21 адреса."]


@pytest.mark.django_db
def test_security_email_names_the_zone_by_its_city_in_the_recipients_language():
    from datetime import UTC, datetime

    from django.core import mail

    from accounts.models import SecurityEvent
    from accounts.tasks import security_event_notify

    user = UserFactory(language="de", time_zone="Europe/Vienna")
    event = SecurityEvent.objects.create(user=user, kind=SecurityEvent.Kind.PASSWORD_CHANGED)
    SecurityEvent.objects.filter(pk=event.pk).update(created_at=datetime(2026, 12, 4, 17, 5, tzinfo=UTC))
    security_event_notify(event.pk)
    assert "Zeitpunkt: 4. Dezember 2026 18:05 (Wien)" in mail.outbox[0].body

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

"""Counts take the language's plural form: "1 of 21 confirmations" is "из 21 подтверждения" in Russian."""

import pytest
from django.utils import translation

from tests.factories import UserFactory
from tests.wallets.conftest import send
from wallets.models import Withdrawal
from wallets.services import chain_scan, deposit_address_for


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("en", "Deposit of 0.70 BTC: 1 of 21 confirmations"),
        ("ru", "Депозит 0,70 BTC: 1 из 21 подтверждения"),
        ("lt", "0,70 BTC įnešimas: 1 iš 21 patvirtinimo"),
        ("ro", "Depozit de 0,70 BTC: 1 din 21 de confirmări"),
    ],
)
def test_pending_deposit_confirmations_use_the_plural_form_of_the_required_count(client, chain, code, text):
    chain["BTC"].confirmations = 21
    chain["BTC"].save()
    user = UserFactory()
    client.force_login(user)
    send("BTC", deposit_address_for(user=user, network=chain["BTC"]).address, "0.7", "BTC")
    chain_scan(chain="BTC")
    fragment = client.get(f"/{code}/wallet/deposit/BTC/?fragment=pending").content.decode()
    assert text in fragment


def test_one_required_confirmation_is_singular_in_english():
    with translation.override("en"):
        assert (
            translation.ngettext("%(done)s of %(required)s confirmation", "%(done)s of %(required)s confirmations", 1)
            % {
                "done": 0,
                "required": 1,
            }
            == "0 of 1 confirmation"
        )


def test_wallet_buttons_are_verbs_and_history_types_are_nouns(client, chain):
    user = UserFactory()
    client.force_login(user)
    html = client.get("/ru/wallet/").content.decode()
    assert ">Пополнить</a>" in html and ">Вывести</a>" in html
    with translation.override("ru"):
        assert translation.pgettext("history type", "Deposit") == "Депозит"
        assert str(Withdrawal.Status.QUEUED.label) == "Обрабатывается"

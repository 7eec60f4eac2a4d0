"""Punctuation, lists, dates, zones and CSV headers follow the reader's language, not English."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.utils import translation

from accounts.forms import ProfileForm
from accounts.models import User
from accounts.services import api_key_create
from tests.factories import UserFactory
from tests.wallets.conftest import deposit, fund
from wallets.services import WithdrawalRefused
from wallets.services.withdrawals import withdrawal_request


@pytest.mark.django_db
def test_api_key_permissions_are_a_list_in_the_readers_language(client):
    user = UserFactory()
    api_key_create(totp_waived_by_operator=True, user=user, label="bot", can_trade=True, can_withdraw=True, ip_allowlist="10.0.0.1")
    client.force_login(user)
    assert "<td>Чтение, Торговля и Вывод</td>" in client.get("/ru/account/api-keys/").content.decode()
    assert "<td>Read, Trade, and Withdraw</td>" in client.get("/en/account/api-keys/").content.decode()


@pytest.mark.parametrize(("code", "label"), [("fr", "Disponible\u00a0:"), ("zh-hans", "可用："), ("de", "Verfügbar:")])
def test_label_and_value_use_the_languages_colon(client, chain, code, label):
    user = UserFactory()
    client.force_login(user)
    html = client.get(f"/{code}/wallet/withdraw/BTC/").content.decode()
    assert f'<p>{label} <strong id="available">' in html


def test_withdrawal_lock_names_the_time_in_the_users_zone_and_format(chain):
    user = UserFactory(time_zone="Europe/Berlin")
    User.objects.filter(pk=user.pk).update(withdrawals_locked_until=datetime(2036, 12, 5, 13, 0, tzinfo=UTC))
    with translation.override("ru"), pytest.raises(WithdrawalRefused) as refused:
        withdrawal_request(user=user, network=chain["BTC"], address="x", amount="1", mfa_code="000000", idempotency_key="k")
    assert refused.value.code == "security_lock"
    assert "до 05.12.2036 14:00 (Берлин)" in refused.value.message


@pytest.mark.django_db
def test_time_zone_picker_names_cities_in_the_readers_language():
    with translation.override("ru"):
        choices = dict(ProfileForm().fields["time_zone"].choices)
    assert choices["Europe/Berlin"] == "Берлин (Europe/Berlin)"
    assert choices["UTC"] == "UTC"


def test_history_csv_headers_are_translated(client, chain):
    user = UserFactory()
    deposit(user, chain["BTC"], "0.5")
    client.force_login(user)
    rows = list(csv.reader(io.StringIO(client.get("/de/wallet/history/?format=csv").content.decode())))
    assert rows[0] == ["Zeitpunkt (UTC)", "Typ", "Asset", "Betrag", "Referenz"]


def test_history_csv_type_cells_are_in_the_readers_language(client, chain):
    # The type cells used to keep the machine value ("deposit") under translated headers.
    user = UserFactory()
    deposit(user, chain["BTC"], "0.5")
    fund(user, chain["USDT"].asset, "10")
    client.force_login(user)
    rows = list(csv.reader(io.StringIO(client.get("/de/wallet/history/?format=csv").content.decode())))
    assert sorted(row[1:4] for row in rows[1:]) == [["Einzahlung", "BTC", "0.50000000"], ["Korrektur", "USDT", "10.000000"]]
    english = list(csv.reader(io.StringIO(client.get("/en/wallet/history/?format=csv").content.decode())))
    assert sorted(row[1] for row in english[1:]) == ["Adjustment", "Deposit"]


@pytest.mark.django_db
def test_security_page_states_the_lock_in_the_users_zone(client):
    user = UserFactory(time_zone="Asia/Tokyo")
    User.objects.filter(pk=user.pk).update(withdrawals_locked_until=datetime(2099, 12, 5, 13, 0, tzinfo=UTC))
    client.force_login(user)
    html = client.get("/ja/account/security/").content.decode()
    assert "2099年12月5日22:00（東京）まで出金を停止しています" in html

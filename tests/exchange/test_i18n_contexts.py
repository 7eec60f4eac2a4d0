"""Short words get a context: the markets table's "Market" is the pair, not the market order type."""

import pytest
from django.utils import translation

from exchange.models import Order


@pytest.mark.parametrize(
    ("code", "column", "order_type"), [("ru", "Рынок", "Рыночный"), ("zh-hans", "交易对", "市价"), ("ar", "السوق", "بسعر السوق")]
)
def test_markets_column_names_the_pair_and_the_order_type_stays_an_order_type(client, market, code, column, order_type):
    html = client.get(f"/{code}/markets/").content.decode()
    assert f'<th scope="col">{column}</th>' in html
    with translation.override(code):
        assert str(Order.Type.MARKET.label) == order_type
        assert str(Order.Status.NEW.label) != str(Order.Type.MARKET.label)


@pytest.mark.parametrize(
    ("code", "order_open", "network_open"), [("ru", "Открыт", "Доступен"), ("ko", "미체결", "가능"), ("ja", "未約定", "受付中")]
)
def test_open_order_and_open_network_are_translated_apart(code, order_open, network_open):
    with translation.override(code):
        assert str(Order.Status.NEW.label) == order_open
        assert translation.pgettext("network status", "Open") == network_open


@pytest.mark.parametrize(
    ("code", "halted", "resumed"),
    [
        ("en", "Halted 1 market.", "Resumed 1 market."),
        ("de", "Angehaltene Märkte: 1.", "Fortgesetzte Märkte: 1."),
        ("ru", "Торги остановлены, рынков: 1.", "Торги возобновлены, рынков: 1."),
    ],
)
def test_admin_action_messages_are_in_the_staff_members_language(client, market, code, halted, resumed):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    from accounts import services as account_services
    from tests.factories import UserFactory

    account_services.roles_sync()
    client.force_login(account_services.role_assign(user=UserFactory(), role="operator"))
    page = client.post(
        f"/{code}/admin/exchange/market/", {"action": "halt", ACTION_CHECKBOX_NAME: [market.pk], "reason": "maintenance"}, follow=True
    )
    assert halted in page.content.decode()
    page = client.post(
        f"/{code}/admin/exchange/market/",
        {"action": "resume", ACTION_CHECKBOX_NAME: [market.pk], "reason": "maintenance over"},
        follow=True,
    )
    assert resumed in page.content.decode()

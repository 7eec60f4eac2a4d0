"""An asset's precision and a market's tick and step cannot change under existing amounts."""

from decimal import Decimal as D
from html.parser import HTMLParser

import pytest
from django.utils import translation
from django.utils.translation import gettext

from accounts import services as account_services
from exchange.models import Market
from exchange.services import MarketChangeRefused, market_save, order_place
from tests.exchange.conftest import funded
from tests.factories import UserFactory
from wallets.models import Asset
from wallets.services.assets import AssetChangeRefused, asset_save

pytestmark = pytest.mark.django_db


class _FormFields(HTMLParser):
    """The values a browser would submit from the page's form, as it was rendered."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.setdefault(name, []).append(attrs.get("value", "on"))
            else:
                self.data[name] = attrs.get("value", "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def form_data(client, url: str, **changes) -> dict:
    parser = _FormFields()
    parser.feed(client.get(url).content.decode())
    data = {key: value for key, value in parser.data.items() if key != "csrfmiddlewaretoken"}
    if "name_en" in data and not data["name_en"]:
        data["name_en"] = data.get("name", "") or "Asset"  # the fixtures create assets without translations
    data.update(changes)
    return data


@pytest.fixture
def operator():
    account_services.roles_sync()
    return account_services.role_assign(user=UserFactory(), role="operator")


def refusal(message_id: str, language: str, **params) -> str:
    """The refusal as the admin page shows it (HTML-escaped) in `language`."""
    from django.utils.html import escape

    with translation.override(language):
        return escape(gettext(message_id) % params)


ASSET_REFUSED = (
    "The precision of %(symbol)s cannot change once amounts are recorded in it: balances, orders, "
    "deposits, withdrawals or ledger entries. "
    "Follow the procedure for changing an asset's precision in the deployment guide."
)
MARKET_REFUSED = (
    "The tick and step sizes of %(symbol)s cannot change while it has open orders. "
    "Halt the market and follow the procedure for changing them in the deployment guide."
)


def test_admin_refuses_precision_change_while_balances_exist(client, operator, market):
    btc = market.base
    url = f"/en/admin/wallets/asset/{btc.pk}/change/"
    client.force_login(operator)
    funded(btc="0.12345678")
    response = client.post(url, form_data(client, url, precision="6"))
    assert response.status_code == 200
    assert refusal(ASSET_REFUSED, "en", symbol="BTC") in response.content.decode()
    btc.refresh_from_db()
    assert btc.precision == 8
    with pytest.raises(AssetChangeRefused) as refused:
        btc.precision = 6
        asset_save(asset=btc)
    assert refused.value.code == "asset_precision_in_use"
    assert Asset.objects.get(pk=btc.pk).precision == 8


def test_admin_refuses_precision_change_while_an_order_is_open(client, operator, market):
    usdt = market.quote
    buyer = funded(usdt="1000")
    order_place(user=buyer, market=market, side="BUY", type="LIMIT", quantity="0.01", price="50000")
    client.force_login(operator)
    url = f"/de/admin/wallets/asset/{usdt.pk}/change/"
    response = client.post(url, form_data(client, url, precision="2"))
    assert response.status_code == 200
    assert refusal(ASSET_REFUSED, "de", symbol="USDT") in response.content.decode()
    assert Asset.objects.get(pk=usdt.pk).precision == 6


def test_admin_changes_precision_of_an_unused_asset_and_other_fields_of_a_used_one(client, operator, market):
    btc = market.base
    client.force_login(operator)
    url = f"/en/admin/wallets/asset/{btc.pk}/change/"
    assert client.post(url, form_data(client, url, precision="10")).status_code == 302
    assert Asset.objects.get(pk=btc.pk).precision == 10
    funded(btc="1")
    assert client.post(url, form_data(client, url, withdrawal_daily_limit="5")).status_code == 302
    btc.refresh_from_db()
    assert (btc.precision, btc.withdrawal_daily_limit) == (10, D("5"))


def test_admin_refuses_tick_and_step_change_while_orders_are_open(client, operator, market):
    seller = funded(btc="1")
    order = order_place(user=seller, market=market, side="SELL", type="LIMIT", quantity="0.01", price="60000")
    client.force_login(operator)
    url = f"/en/admin/exchange/market/{market.pk}/change/"
    for change in ({"tick_size": "0.1"}, {"step_size": "0.001"}):
        response = client.post(url, form_data(client, url, **change))
        assert response.status_code == 200
        assert refusal(MARKET_REFUSED, "en", symbol="BTCUSDT") in response.content.decode()
    market.refresh_from_db()
    assert (market.tick_size, market.step_size) == (D("0.01"), D("0.0001"))
    with pytest.raises(MarketChangeRefused) as refused:
        market.tick_size = D("1")
        market_save(market=market)
    assert refused.value.code == "market_steps_in_use"
    # Other settings still change while it trades.
    assert client.post(url, form_data(client, url, min_notional="10")).status_code == 302
    market = Market.objects.get(pk=market.pk)
    assert (market.min_notional, market.tick_size) == (D("10"), D("0.01"))
    # Once nothing is open (or pending for the engine), the steps may change.
    from exchange.models import EngineCommand, Order

    EngineCommand.objects.filter(order=order).update(applied_at=order.created_at)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELED)
    assert client.post(url, form_data(client, url, tick_size="0.1")).status_code == 302
    assert Market.objects.get(pk=market.pk).tick_size == D("0.1")


MARKET_HISTORY_REFUSED = (
    "The symbol, base and quote of %(symbol)s cannot change once it has orders or trades: "
    "they would rewrite its history. List a new market instead."
)


def _filled_sell(market):
    """A SELL the engine has applied and that is no longer open: history, nothing resting."""
    from exchange.models import EngineCommand, Order

    seller = funded(btc="1")
    order = order_place(user=seller, market=market, side="SELL", type="LIMIT", quantity="0.01", price="60000")
    EngineCommand.objects.filter(order=order).update(applied_at=order.created_at)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.FILLED)
    return order


def test_market_with_closed_orders_refuses_new_base_quote_and_symbol(market):
    eth = Asset.objects.create(symbol="ETH", name="Ether", precision=8)
    _filled_sell(market)
    for field, value in (("base", eth), ("quote", eth), ("symbol", "ETHUSDT")):
        stored = Market.objects.get(pk=market.pk)
        setattr(stored, field, value)
        with pytest.raises(MarketChangeRefused) as refused:
            market_save(market=stored)
        assert refused.value.code == "market_has_history"
        assert refused.value.message == MARKET_HISTORY_REFUSED % {"symbol": "BTCUSDT"}
    market = Market.objects.get(pk=market.pk)
    assert (market.symbol, market.base.symbol, market.quote.symbol) == ("BTCUSDT", "BTC", "USDT")
    # Nothing is open, so tick and step may still change.
    market.tick_size = D("0.1")
    market_save(market=market)
    assert Market.objects.get(pk=market.pk).tick_size == D("0.1")


def test_admin_refuses_new_base_of_a_market_with_history_in_the_users_language(client, operator, market):
    eth = Asset.objects.create(symbol="ETH", name="Ether", precision=8)
    _filled_sell(market)
    client.force_login(operator)
    for language in ("en", "de", "ar"):
        url = f"/{language}/admin/exchange/market/{market.pk}/change/"
        for change in ({"base": str(eth.pk)}, {"symbol": "ETHUSDT"}):
            response = client.post(url, form_data(client, url, **change))
            assert response.status_code == 200
            assert refusal(MARKET_HISTORY_REFUSED, language, symbol="BTCUSDT") in response.content.decode()
    market = Market.objects.get(pk=market.pk)
    assert (market.symbol, market.base.symbol) == ("BTCUSDT", "BTC")


def test_admin_changes_base_of_a_market_without_orders(client, operator, market):
    eth = Asset.objects.create(symbol="ETH", name="Ether", precision=8)
    client.force_login(operator)
    url = f"/en/admin/exchange/market/{market.pk}/change/"
    assert client.post(url, form_data(client, url, base=str(eth.pk), symbol="ETHUSDT")).status_code == 302
    market = Market.objects.get(pk=market.pk)
    assert (market.symbol, market.base.symbol) == ("ETHUSDT", "ETH")


def _precision_refused(asset: Asset, precision: int = 10) -> None:
    """The service refuses the change and the stored precision stays."""
    stored = Asset.objects.get(pk=asset.pk)
    before = stored.precision
    stored.precision = precision
    with pytest.raises(AssetChangeRefused) as refused:
        asset_save(asset=stored)
    assert refused.value.code == "asset_precision_in_use"
    assert refused.value.message == ASSET_REFUSED % {"symbol": asset.symbol}
    assert Asset.objects.get(pk=asset.pk).precision == before


def _btc_network(btc: Asset):
    from wallets.models import Network

    return Network.objects.create(
        asset=btc, code="BTC", name="Bitcoin", withdrawal_fee=D("0.0001"), withdrawal_min=D("0.001"), withdrawal_max=D("10")
    )


@pytest.mark.parametrize("status", ["seen", "confirming"])
def test_precision_refused_while_a_deposit_is_being_confirmed(market, status):
    from wallets.models import Deposit

    btc = market.base
    network = _btc_network(btc)
    Deposit.objects.create(
        chain="BTC", tx_hash="ab" * 32, token="BTC", address="bc1qexample", amount=D("0.12345678"),
        block_height=100, user=UserFactory(), network=network, status=status,
    )  # fmt: skip
    _precision_refused(btc, precision=6)


@pytest.mark.parametrize("status", ["review", "queued", "sending", "broadcast"])
def test_precision_refused_while_a_withdrawal_is_pending(market, status):
    from wallets.models import Withdrawal

    btc = market.base
    Withdrawal.objects.create(
        user=UserFactory(), network=_btc_network(btc), address="bc1qexample", amount=D("0.0101"), fee=D("0.0001"),
        net_amount=D("0.01"), status=status, idempotency_key="w-1",
    )  # fmt: skip
    _precision_refused(btc)


def test_precision_refused_once_the_journal_has_entries_in_it_even_at_zero_balances(market):
    from wallets.models import LedgerAccount
    from wallets.services import ledger_adjust

    btc = market.base
    user = funded(btc="0.5")
    ledger_adjust(user=user, asset=btc, amount=D("-0.5"), reason="test", idempotency_key="unfund")
    assert not LedgerAccount.objects.filter(asset=btc).exclude(available=0, locked=0).exists()
    _precision_refused(btc)


def test_precision_refused_once_a_market_of_it_has_closed_orders(market):
    from exchange.models import EngineCommand, Order
    from wallets.models import Entry

    buyer = funded(usdt="1000")
    order = order_place(user=buyer, market=market, side="BUY", type="LIMIT", quantity="0.01", price="50000")
    EngineCommand.objects.filter(order=order).update(applied_at=order.created_at)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELED)
    btc = market.base
    assert not Entry.objects.filter(account__asset=btc).exists()  # only the order names BTC
    _precision_refused(btc)


# --- The refusals in the operator's language -----------------------------------------------------------------

GERMAN = {
    MARKET_HISTORY_REFUSED: (
        "Symbol, Basis- und Kurs-Asset von %(symbol)s können nicht mehr geändert werden, sobald der Markt Orders "
        "oder Trades hat: Sie würden seine Historie umschreiben. Listen Sie stattdessen einen neuen Markt."
    ),
    ASSET_REFUSED: (
        "Die Genauigkeit von %(symbol)s kann nicht mehr geändert werden, sobald Beträge darin erfasst sind: Guthaben, "
        "Orders, Einzahlungen, Auszahlungen oder Buchungen. Folgen Sie dem Verfahren im Betriebshandbuch."
    ),
    ("Halted %(count)d market.", "Halted %(count)d markets."): ("%(count)d Markt angehalten.", "%(count)d Märkte angehalten."),
}
ARABIC = {
    MARKET_HISTORY_REFUSED: "لا يمكن تغيير رمز %(symbol)s وأصله الأساسي وأصل التسعير بعد وجود أوامر أو صفقات فيه: فذلك يعيد كتابة سجله.",
    ASSET_REFUSED: "لا يمكن تغيير دقة %(symbol)s بعد تسجيل مبالغ بها: أرصدة أو أوامر أو إيداعات أو سحوبات أو قيود دفترية.",
}
PLURAL_FORMS = {
    "de": "nplurals=2; plural=(n != 1);",
    "ar": "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 && n%100<=99 ? 4 : 5;",
}


@pytest.fixture
def filled_catalogs(tmp_path, settings):
    """German and Arabic catalogs holding these strings, ahead of the project's (which the
    integrator fills at the end): what the admin shows once they are filled."""
    import json
    import subprocess

    for language, entries in (("de", GERMAN), ("ar", ARABIC)):
        directory = tmp_path / language / "LC_MESSAGES"
        directory.mkdir(parents=True)
        quote = lambda text: json.dumps(text, ensure_ascii=False)  # noqa: E731  (PO strings escape as JSON does here)
        lines = [
            'msgid ""',
            'msgstr ""',
            quote("Content-Type: text/plain; charset=UTF-8\n"),
            quote(f"Plural-Forms: {PLURAL_FORMS[language]}\n"),
        ]
        for msgid, msgstr in entries.items():
            lines.append("#, python-format")
            if isinstance(msgid, tuple):
                lines += [f"msgid {quote(msgid[0])}", f"msgid_plural {quote(msgid[1])}"]
                lines += [f"msgstr[{index}] {quote(form)}" for index, form in enumerate(msgstr)]
            else:
                lines += [f"msgid {quote(msgid)}", f"msgstr {quote(msgstr)}"]
            lines.append("")
        (directory / "django.po").write_text("\n".join(lines), encoding="utf-8")
        subprocess.run(["msgfmt", "--check", "-o", str(directory / "django.mo"), str(directory / "django.po")], check=True)
    settings.LOCALE_PATHS = [tmp_path, *settings.LOCALE_PATHS]  # first wins; resets Django's catalogs
    yield
    translation.activate("en")


def test_admin_refusals_are_shown_translated_in_german_and_arabic(client, operator, market, filled_catalogs):
    from django.utils.html import escape

    _filled_sell(market)
    eth = Asset.objects.create(symbol="ETH", name="Ether", precision=8)
    client.force_login(operator)
    for language, catalog in (("de", GERMAN), ("ar", ARABIC)):
        url = f"/{language}/admin/exchange/market/{market.pk}/change/"
        page = client.post(url, form_data(client, url, base=str(eth.pk))).content.decode()
        assert escape(catalog[MARKET_HISTORY_REFUSED] % {"symbol": "BTCUSDT"}) in page
        url = f"/{language}/admin/wallets/asset/{market.base.pk}/change/"
        page = client.post(url, form_data(client, url, precision="6")).content.decode()
        assert escape(catalog[ASSET_REFUSED] % {"symbol": "BTC"}) in page
    assert Asset.objects.get(pk=market.base.pk).precision == 8
    assert Market.objects.get(pk=market.pk).base.symbol == "BTC"


def test_admin_halt_reports_the_count_in_the_operators_language(client, operator, market, filled_catalogs):
    client.force_login(operator)
    response = client.post(
        "/de/admin/exchange/market/", {"action": "halt", "_selected_action": [market.pk], "reason": "maintenance"}, follow=True
    )
    assert "1 Markt angehalten." in response.content.decode()
    assert Market.objects.get(pk=market.pk).status == Market.Status.HALT

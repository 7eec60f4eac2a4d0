"""Every page's <title> is "<page> · Agora" (the home page read "…users firstAgora"), and the
home page promises only what exists."""

import re
from decimal import Decimal as D

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts import services
from tests.factories import UserFactory
from wallets.models import Asset, Network

pytestmark = pytest.mark.django_db

TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _paths(patterns, prefix=""):
    """Every URL without parameters under the language prefix, admin and the JS catalog aside."""
    for pattern in patterns:
        route = str(pattern.pattern)
        if route.startswith(("admin/", "jsi18n/")):
            continue
        if isinstance(pattern, URLResolver):
            yield from _paths(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern) and "<" not in route and "(" not in route and "^" not in route:
            yield prefix + route


def _title(response) -> str:
    return " ".join(TITLE.search(response.content.decode()).group(1).split())


def test_every_page_title_is_page_dot_agora(client):
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin", precision=8)
    Network.objects.create(
        asset=btc,
        code="BTC",
        name="Bitcoin",
        confirmations=2,
        withdrawal_fee=D("0.0002"),
        withdrawal_min=D("0.001"),
        withdrawal_max=D("10"),
    )
    language_prefixed = next(
        p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and "LocalePrefix" in type(p.pattern).__name__
    )
    paths = sorted({"/en/" + path for path in _paths(language_prefixed.url_patterns)})
    assert "/en/" in paths and "/en/auth/login/" in paths and "/en/account/security/" in paths
    user = UserFactory()
    checked = {}
    for signed_in in (False, True):
        if signed_in:
            client.force_login(user)
        for path in [*paths, "/en/wallet/deposit/BTC/", "/en/wallet/withdraw/BTC/"]:
            response = client.get(path)
            if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
                continue
            checked[(path, signed_in)] = _title(response)
    token_path = f"/en/account/freeze/link/{services.freeze_link_token(user=user)}/"
    checked[(token_path, True)] = _title(client.get(token_path))
    checked[("/en/account/freeze/link/bad/", True)] = _title(client.get("/en/account/freeze/link/bad/"))
    assert len(checked) >= 25, sorted(checked)
    for where, title in checked.items():
        page, sep, site = title.rpartition(" · ")
        assert sep and site == "Agora" and page.strip() and not page.endswith("Agora"), (where, title)
    assert checked[("/en/", False)] == "The exchange that puts its users first · Agora"
    assert checked[("/en/markets/", False)] == "Markets · Agora"
    assert checked[("/en/auth/login/", False)] == "Sign In · Agora"


def test_home_page_promises_no_trading_screen_api_or_live_chat(client):
    html = client.get("/en/").content.decode()
    for absent in ("Live chat", "chat", "single screen", "order book", "API compatible", "real people answer support"):
        assert absent not in html, absent
    assert "Fee schedule" in html and "/en/markets/" in html
    assert "Every page and every email in 36 languages, right-to-left for Arabic and Urdu" in html

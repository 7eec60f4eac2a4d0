"""Right-to-left pages keep numbers, signs and machine strings in left-to-right order."""

import re
from pathlib import Path

import pytest

from accounts.models import LoginRecord
from tests.factories import UserFactory
from tests.wallets.conftest import deposit

CSS = Path(__file__).resolve().parent.parent.parent / "static" / "css" / "agora.css"


def test_history_credit_keeps_its_plus_sign_inside_the_isolated_number(client, chain):
    user = UserFactory()
    deposit(user, chain["BTC"], "0.5")
    client.force_login(user)
    html = client.get("/ar/wallet/history/").content.decode()
    assert '<td class="num"><bdi class="num" dir="ltr">+0.50000000</bdi></td>' in html
    assert "+<bdi" not in html


@pytest.mark.django_db
def test_security_page_isolates_the_user_agent(client):
    user = UserFactory()
    LoginRecord.objects.create(user=user, ip="203.0.113.9", user_agent="Mozilla/5.0 (X11; Linux) Firefox/120.0")
    client.force_login(user)
    html = client.get("/ar/account/security/").content.decode()
    assert '<td class="ua"><bdi dir="ltr">Mozilla/5.0 (X11; Linux) Firefox/120.0</bdi></td>' in html


@pytest.mark.django_db
def test_urdu_pages_use_a_nastaliq_font_first(client):
    html = client.get("/ur/markets/").content.decode()
    assert '<html lang="ur" dir="rtl">' in html and "css/agora.css" in html
    rule = re.search(r":root:lang\(ur\)\s*\{([^}]*)\}", CSS.read_text(encoding="utf-8"))
    assert rule, "no :lang(ur) rule in agora.css"
    family = re.search(r"font-family:\s*([^;]+);", rule.group(1)).group(1)
    assert family.split(",")[0].strip() == '"Noto Nastaliq Urdu"'

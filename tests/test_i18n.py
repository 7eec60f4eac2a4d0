from datetime import UTC
from decimal import Decimal

import pytest

from config.formatting import amount_format
from config.languages import LANGUAGE_CODES, language_from_accept_header, language_from_tag, support_queue_for
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-MX,es;q=0.9", "es-419"),
        ("es-AR", "es-419"),
        ("es-ES", "es"),
        ("es", "es"),
        ("zh-TW", "zh-hant"),
        ("zh-HK", "zh-hant"),
        ("zh-Hant-TW", "zh-hant"),
        ("zh-CN", "zh-hans"),
        ("zh-SG", "zh-hans"),
        ("pt-PT", "pt"),
        ("pt-BR", "pt-br"),
        ("ar-EG,ar;q=0.8", "ar"),
        ("ur-PK", "ur"),
        ("kk-KZ", "kk"),
        ("xx-YY, de;q=0.5", "de"),
        ("hi-IN", None),
        ("", None),
        ("*", None),
        ("en-GB;q=0.4, ja;q=0.9", "ja"),
    ],
)
def test_accept_language_mapping(header, expected):
    assert language_from_accept_header(header) == expected


def test_every_ui_language_maps_to_itself_and_to_a_support_queue():
    for code in LANGUAGE_CODES:
        assert language_from_tag(code) == code
    assert support_queue_for("kk") == "ru" and support_queue_for("az") == "tr" and support_queue_for("zh-hant") == "zh"
    assert support_queue_for("th") == "en" and support_queue_for("es-419") == "es" and support_queue_for("de") == "de"


@pytest.mark.django_db
class TestRootRedirect:
    def test_accept_language(self, client):
        assert client.get("/", HTTP_ACCEPT_LANGUAGE="es-MX")["Location"] == "/es-419/"
        assert client.get("/", HTTP_ACCEPT_LANGUAGE="zh-TW")["Location"] == "/zh-hant/"
        assert client.get("/", HTTP_ACCEPT_LANGUAGE="hi-IN")["Location"] == "/en/"

    def test_cookie_beats_header_and_preference_beats_cookie(self, client):
        client.cookies["agora_language"] = "tr"
        assert client.get("/", HTTP_ACCEPT_LANGUAGE="es-MX")["Location"] == "/tr/"
        client.force_login(UserFactory(language="uk"))
        assert client.get("/", HTTP_ACCEPT_LANGUAGE="es-MX")["Location"] == "/uk/"

    def test_unprefixed_page_redirects_with_mapping(self, client):
        response = client.get("/account/security/", HTTP_ACCEPT_LANGUAGE="pt-PT")
        assert response.status_code == 302 and response["Location"] == "/pt/account/security/"


@pytest.mark.django_db
@pytest.mark.parametrize(("code", "direction"), [("ar", "rtl"), ("ur", "rtl"), ("az", "ltr"), ("en", "ltr"), ("ja", "ltr")])
def test_page_direction(client, code, direction):
    page = client.get(f"/{code}/").content.decode()
    assert f'<html lang="{code}" dir="{direction}">' in page


@pytest.mark.django_db
def test_language_switch_saves_preference_and_keeps_the_page(client):
    user = UserFactory(language="en")
    client.force_login(user)
    response = client.post("/i18n/language/", {"language": "ar", "next": "/en/account/security/"})
    assert response["Location"] == "/ar/account/security/"
    assert response.cookies["agora_language"].value == "ar"
    user.refresh_from_db()
    assert user.language == "ar"
    # Unknown languages and foreign redirects are ignored.
    response = client.post("/i18n/language/", {"language": "xx", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    user.refresh_from_db()
    assert user.language == "ar"


@pytest.mark.django_db
def test_pages_are_translated(client):
    # A string from the base layout, in German and Arabic, proves the catalogs are compiled and used.
    from django.utils import translation

    for code in ("de", "ar", "ja"):
        with translation.override(code):
            expected = translation.gettext("Skip to content")
        assert expected != "Skip to content"
        assert expected in client.get(f"/{code}/").content.decode()


@pytest.mark.django_db
def test_javascript_catalog(client):
    response = client.get("/fr/jsi18n/")
    assert response.status_code == 200 and b"Copied" in response.content


class TestAmountFormat:
    def test_locales(self):
        assert amount_format(Decimal("1234.5678"), 8, language="en") == "1,234.56780000"
        assert amount_format(Decimal("1234.5678"), 4, language="de") == "1.234,5678"
        assert amount_format(Decimal("1234.5678"), 2, language="fr") == "1\u202f234,56"
        # Latin digits in Arabic, with Arabic separators.
        text = amount_format(Decimal("1234.5"), 2, language="ar")
        assert "1" in text and "234" in text and "٫" in text or "." in text
        assert not any("\u0660" <= ch <= "\u0669" for ch in text)

    def test_truncates_never_rounds_up(self):
        assert amount_format(Decimal("0.999999999"), 8, language="en") == "0.99999999"
        assert amount_format(Decimal("-1.005"), 2, language="en") == "-1.00"
        assert amount_format("12", 0, language="en") == "12"

    def test_trim(self):
        assert amount_format(Decimal("1.50000000"), 8, language="en", trim=True) == "1.50"
        assert amount_format(Decimal("0.00012300"), 8, language="en", trim=True) == "0.000123"

    @pytest.mark.parametrize("bad", [1.5, "abc", "NaN", "Infinity"])
    def test_refuses_floats_and_non_numbers(self, bad):
        with pytest.raises((TypeError, ValueError)):
            amount_format(bad, 2)

    def test_template_filter_isolates_direction(self):
        from django.template import Context, Template
        from django.utils import translation

        with translation.override("ar"):
            html = Template("{{ v|amount:2 }}").render(Context({"v": Decimal("5")}))
        assert html.startswith('<bdi class="num" dir="ltr">') and "5" in html


@pytest.mark.django_db
def test_allauth_screens_use_the_supplement_where_allauth_has_no_catalog(client):
    # allauth ships pt_PT but no pt; our supplement provides it.
    page = client.get("/pt/auth/password/reset/").content.decode()
    assert "Palavra-passe" in page or "palavra-passe" in page


@pytest.mark.django_db
def test_pages_show_times_in_the_users_time_zone(client):
    from datetime import datetime

    from accounts.models import LoginRecord

    user = UserFactory(time_zone="Asia/Tokyo")
    LoginRecord.objects.create(user=user, created_at=datetime(2026, 1, 2, 15, 30, tzinfo=UTC), ip="192.0.2.1")
    client.force_login(user)
    page = client.get("/en/account/security/").content.decode()
    assert "2026-01-03T00:30:00+09:00" in page  # 15:30 UTC is 00:30 next day in Tokyo

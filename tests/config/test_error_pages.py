"""Error pages are ours, branded and translated, in the request's language and direction (with
DEBUG off Django served its English pages in /ar/); 500 renders with no request context at all."""

import pytest
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db

# code -> (path under the language prefix, the heading's msgid)
CASES = {
    404: ("no-such-page/", "Page not found"),
    500: ("test-errors/500/", "Something went wrong on our side"),
    403: ("test-errors/403/", "Access denied"),
    400: ("test-errors/400/", "Bad request"),
}
# Strings the catalogs already translate: their presence shows the page is in the request's language.
BRAND = {"ar": ("الصفحة الرئيسية لـ Agora", "rtl"), "de": ("Agora-Startseite", "ltr")}


@pytest.fixture
def error_urls(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.config.urls_errors"


@pytest.mark.parametrize("language", ["ar", "de"])
@pytest.mark.parametrize("code", [404, 500, 403, 400])
def test_error_page_in_request_language_and_direction(error_urls, language, code):
    client = Client(raise_request_exception=False)
    path, heading = CASES[code]
    response = client.get(f"/{language}/{path}")
    assert response.status_code == code
    html = response.content.decode()
    brand, direction = BRAND[language]
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert brand in html
    with translation.override(language):
        assert f"<h1>{translation.gettext(heading)}</h1>" in html
    assert f'href="/{language}/"' in html  # back to the home page in the same language
    assert "Django" not in html and "DEBUG" not in html


@pytest.mark.parametrize("language", ["ar", "de"])
def test_csrf_failure_page_in_request_language(error_urls, language):
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/{language}/auth/login/", {"login": "a@example.test", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    brand, direction = BRAND[language]
    assert f'<html lang="{language}" dir="{direction}">' in html and brand in html
    with translation.override(language):
        assert f"<h1>{translation.gettext('The form could not be sent')}</h1>" in html
        assert (
            translation.gettext(
                "For your security, forms need a cookie that your browser did not send. Allow cookies for this site, reload the page and send the form again."
            )
            in html
        )
    assert "CSRF" not in html


def test_500_renders_without_request_or_context_processors():
    from django.template import loader

    with translation.override("ar"):
        html = loader.get_template("500.html").render({})
    assert '<html lang="ar" dir="rtl">' in html and "الصفحة الرئيسية لـ Agora" in html and 'href="/ar/"' in html

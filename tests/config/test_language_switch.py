"""The language switcher: an explicit choice always wins and is saved, also on a page opened in
another language than the saved preference (it used to redirect back to the same page)."""

import pytest

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def switch(client, language, next_url):
    return client.post("/i18n/language/", {"language": language, "next": next_url})


def test_switch_on_a_page_in_another_language_than_the_saved_one(client):
    user = UserFactory(language="de")
    client.force_login(user)
    # An earlier switch saved German; now a link in English is opened (from an email, a friend).
    assert switch(client, "de", "/en/markets/")["Location"] == "/de/markets/"
    assert client.get("/en/markets/").status_code == 200
    response = switch(client, "fr", "/en/markets/?sort=volume")
    assert response["Location"] == "/fr/markets/?sort=volume"
    assert response.cookies["agora_language"].value == "fr"
    user.refresh_from_db()
    assert user.language == "fr"
    # Choosing the saved language again from a page in another one also lands there.
    assert switch(client, "fr", "/ja/account/security/")["Location"] == "/fr/account/security/"
    assert client.get("/")["Location"] == "/fr/"


def test_choice_made_signed_out_wins_over_the_saved_preference_at_sign_in(client):
    user = UserFactory(language="de")
    assert switch(client, "ja", "/en/auth/login/")["Location"] == "/ja/auth/login/"
    response = client.post("/ja/auth/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/ja/")
    user.refresh_from_db()
    assert user.language == "ja"
    assert client.get("/")["Location"] == "/ja/"


def test_saved_preference_still_applies_when_nothing_was_chosen(client):
    user = UserFactory(language="de")
    response = client.post("/en/auth/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/de/")
    user.refresh_from_db()
    assert user.language == "de"


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/", "/de/"), ("/account/security/", "/de/account/security/"), ("/markets/", "/de/markets/")],
)
def test_saved_preference_beats_cookie_and_browser_on_unprefixed_urls(client, path, expected):
    # The documented order: saved preference, cookie, Accept-Language, English. The locale
    # middleware used to run before the user was known, so any unprefixed URL but / followed the
    # browser instead of the saved preference.
    client.force_login(UserFactory(language="de"))
    client.cookies["agora_language"] = "ja"
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 302
    assert response["Location"] == expected
    # Signed out, the cookie and then the browser decide again (logout drops the test cookies).
    client.logout()
    client.cookies["agora_language"] = "ja"
    assert client.get(path, HTTP_ACCEPT_LANGUAGE="fr")["Location"] == expected.replace("/de/", "/ja/")
    del client.cookies["agora_language"]
    assert client.get(path, HTTP_ACCEPT_LANGUAGE="fr")["Location"] == expected.replace("/de/", "/fr/")

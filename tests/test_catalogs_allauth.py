"""django-allauth's strings under the same gate as ours.

Users meet allauth's own text on the sign-in, sign-up, password, 2FA, passkey and session pages
and in its emails. allauth's shipped catalogs had a broken placeholder (ar), one plural form for
every count (pl), emails left in English (th, lt) and more, so `locale_allauth/<lang>` (made by
`manage.py catalogs_allauth`, part of `make messages`) overrides every such string and is held to
the gate of tests/test_catalogs.py: present for all 35 languages, every user-facing msgid of the
installed allauth translated, placeholders and tags intact in every form, every plural form filled,
nothing fuzzy, nothing left in English; the same msgid translated as in locale/; the glossary
terms used; and the real pages and the password-reset email rendered with no English left.
"""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.utils.html import escape
from django.utils.translation import gettext, override

from config.languages import LANGUAGE_CODES
from config.management.commands.catalogs_allauth import supplement_root, user_facing_messages
from tests.conftest import totp_code
from tests.factories import PASSWORD, UserFactory
from tests.test_catalogs import check_catalog, entries, is_sentence, load, to_locale

ROOT = supplement_root()
LANGS = [code for code in LANGUAGE_CODES if code != "en"]
GLOSSARY = tomllib.loads((Path(__file__).resolve().parent.parent / "docs" / "glossary.toml").read_text(encoding="utf-8"))


def keys(catalog) -> set[tuple[str, str | None]]:
    return {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in catalog if m.id}


def test_locale_allauth_is_searched_before_any_app_catalog():
    # LOCALE_PATHS beat every app's locale/ (allauth's included); locale/ itself comes first of all.
    assert [Path(p) for p in settings.LOCALE_PATHS] == [Path(settings.BASE_DIR) / "locale", ROOT]


def test_extraction_covers_the_installed_apps_and_nothing_unused():
    locations = {
        path.split("/")[0] if not path.startswith("templates/") else path.split("/")[1]
        for m in user_facing_messages()
        for path, _line in m.locations
    }
    assert locations == {"account", "mfa", "usersessions"}
    msgids = keys(user_facing_messages())
    assert ("Sign In", None) in msgids and ("Use a security key", None) in msgids
    # Social login and the OpenID provider are not installed; our templates override allauth's layouts.
    assert ("Account Connections", None) not in msgids and ("Authorize", None) not in msgids and ("Menu:", None) not in msgids


@pytest.mark.parametrize("code", LANGS)
def test_catalog_holds_exactly_the_user_facing_strings(code):
    path = ROOT / to_locale(code) / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"{path} is missing: run `make messages`"
    extracted, ours = keys(user_facing_messages()), keys(load(code, "django", ROOT))
    missing, stale = sorted(extracted - ours, key=str), sorted(ours - extracted, key=str)
    assert not missing, f"{code}: {len(missing)} allauth strings not in locale_allauth (run `make messages`): {missing[:5]}"
    assert not stale, f"{code}: {len(stale)} entries allauth no longer has (run `make messages`): {stale[:5]}"


@pytest.mark.parametrize("code", LANGS)
def test_catalog_compiles_complete_and_faithful(code):
    path = ROOT / to_locale(code) / "LC_MESSAGES" / "django.po"
    result = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    check_catalog(code, "django", ROOT)


# Plural forms for counts of a different grammatical number, which must not read the same (a
# catalog with one form copied into every slot passes every other check). Indices are the
# language's Plural-Forms order; pairs left out may coincide (e.g. Russian fractions and 2-4).
# Only where the count qualifies a noun ("%(count)s security keys"): "%(unused_count)s out of
# %(total_count)s codes" may be phrased so that no word agrees with the count.
COUNTED_NOUN = {"You have added %(count)s security key."}
DISTINCT_FORMS = {
    "ru": [(0, 1), (1, 2)],
    "uk": [(0, 1), (1, 2)],
    "pl": [(0, 1), (1, 2)],
    "cs": [(0, 1), (1, 3)],
    "sk": [(0, 1), (1, 3)],
    "lt": [(0, 1), (1, 3)],
    "sl": [(0, 1), (1, 2)],
    "ro": [(0, 1), (1, 2)],
    "ar": [(1, 2), (2, 3), (3, 4)],
}


@pytest.mark.parametrize("code", sorted(DISTINCT_FORMS))
def test_plural_forms_differ_where_the_grammar_does(code):
    same = [
        f"{ids[0]!r}: forms {i} and {j} are both {strings[i]!r}"
        for m, ids, strings in entries(load(code, "django", ROOT))
        if m.pluralizable and ids[0] in COUNTED_NOUN
        for i, j in DISTINCT_FORMS[code]
        if strings[i] == strings[j]
    ]
    assert not same, "\n".join(same)
    assert COUNTED_NOUN <= {ids[0] for m, ids, _s in entries(load(code, "django", ROOT)) if m.pluralizable}


@pytest.mark.parametrize("code", LANGS)
def test_same_msgid_same_translation_as_ours(code):
    """locale/ wins where a msgid is in both, so the override must say what users actually see."""
    ours = {(ids[0], m.context): strings for m, ids, strings in entries(load(code, "django"))}
    differ = [
        f"{ids[0]!r}: {strings!r} but locale/ says {ours[(ids[0], m.context)]!r}"
        for m, ids, strings in entries(load(code, "django", ROOT))
        if (ids[0], m.context) in ours and ours[(ids[0], m.context)] != strings
    ]
    assert not differ, "\n".join(differ)


# Pronouns of the informal and the formal register, for languages that have both. Our catalog's
# choice (the register it never uses is forbidden) must hold for allauth's strings too.
REGISTER = {
    "de": (r"\b([Dd]u|[Dd]ich|[Dd]ir|[Dd]ein\w*)\b", r"\b(Ihnen|Ihre?[mnrs]?)\b"),
    "fr": (r"\b(tu|toi|ton|ta|tes)\b", r"\b(vous|votre|vos)\b"),
    "ru": (r"\b(ты|тебя|тебе|твой|твоя|твоё|твои|твоего|твоей)\b", r"\b(вы|вас|вам|ваш\w*)\b"),
    "nl": (r"\b(je|jij|jouw|jou)\b", r"\b(u|uw)\b"),
    "es": (r"\b(tú|tu|tus|ti|contigo)\b", r"\b(usted|ustedes)\b"),
    "it": (r"\b(tu|tuo|tua|tuoi|tue|ti)\b", r"\b(Lei|Suo|Sua)\b"),
    "pt-br": (r"\b(tu|teu|tua|teus|tuas)\b", r"\b(você|vocês)\b"),
    "ro": (r"\b(tu|tău|poți|ești|vrei|te rugăm)\b", r"\b(dumneavoastră|dvs\.|vă)\b"),
}


TAG = re.compile(r"<[^>]*>")


def _texts(catalog) -> list[tuple[str, str]]:
    """Each translation without its markup (German `dir="ltr"` is an attribute, not "dir", you)."""
    return [(ids[0], TAG.sub("", text)) for _m, ids, strings in entries(catalog) for text in strings]


@pytest.mark.parametrize("code", sorted(REGISTER))
def test_register_is_ours(code):
    flags = re.IGNORECASE if code != "de" else 0  # German "Sie" is capitalised, "sie" is "they"
    informal, formal = (re.compile(p, flags) for p in REGISTER[code])
    ours = [text for _id, text in _texts(load(code, "django"))]
    uses_informal, uses_formal = any(informal.search(t) for t in ours), any(formal.search(t) for t in ours)
    assert uses_informal != uses_formal, f"{code}: our catalog mixes registers or uses neither"
    forbidden = formal if uses_informal else informal
    wrong = [f"{msgid!r}: {text!r}" for msgid, text in _texts(load(code, "django", ROOT)) if forbidden.search(text)]
    assert not wrong, f"{code}: our catalog is {'informal' if uses_informal else 'formal'}, these are not:\n" + "\n".join(wrong)


# Romanian words that never appear without their diacritics (allauth's ro had "si", "in", "daca").
RO_UNACCENTED = re.compile(r"\b(si|in|daca|dupa|catre|inca|intr|tau|poti|esti|asa|inainte|incearca|inregistr\w*|setata|schimbata)\b", re.I)


@pytest.mark.parametrize("root", [ROOT.parent / "locale", ROOT], ids=["locale", "locale_allauth"])
def test_romanian_diacritics_are_comma_below_and_present(root):
    texts = _texts(load("ro", "django", root))
    cedilla = [f"{msgid!r}: {text!r}" for msgid, text in texts if re.search("[şţŞŢ]", text)]
    assert not cedilla, "s/t with cedilla (ş ţ) instead of comma below (ș ț):\n" + "\n".join(cedilla)
    if root == ROOT:
        bare = [f"{msgid!r}: {text!r}" for msgid, text in texts if RO_UNACCENTED.search(text)]
        assert not bare, "Romanian without diacritics:\n" + "\n".join(bare)


GLOSSARY_CASES = [(concept, code) for concept, spec in GLOSSARY.items() for code in spec if code != "en"]


@pytest.mark.parametrize(("concept", "code"), GLOSSARY_CASES, ids=[f"{c}-{code}" for c, code in GLOSSARY_CASES])
def test_glossary_terms_in_allauth_strings(concept, code):
    """docs/glossary.toml holds for allauth's strings as for ours (tests/test_glossary.py)."""
    spec = GLOSSARY[concept]
    source, rule = re.compile(spec["en"], re.IGNORECASE), spec[code]
    forbidden = [re.compile(re.escape(word), re.IGNORECASE) for word in rule.get("forbid", [])]
    if "forbid_pattern" in rule:
        forbidden.append(re.compile(rule["forbid_pattern"]))
    problems = []
    for _message, ids, strings in entries(load(code, "django", ROOT)):
        if any(source.search(text) for text in ids):
            for text in strings:
                if rule["term"].lower() not in text.lower():
                    problems.append(f"{ids[0]!r}: {text!r} lacks {rule['term']!r}")
                problems += [f"{ids[0]!r}: {text!r} uses {p.pattern!r}" for p in forbidden if p.search(text)]
    assert not problems, "\n".join(problems)


# --- The real pages and email ---------------------------------------------------------------
PAGE_LANGS = ["ar", "ru", "th", "lt", "de"]
ENGLISH_SENTENCES = sorted(
    {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in user_facing_messages()
        if m.id and is_sentence(m.id if isinstance(m.id, str) else m.id[0])
    },
    key=len,
    reverse=True,
)


def assert_translated(code: str, text: str, expected: list[str]) -> None:
    with override(code):
        for msgid in expected:
            translated = gettext(msgid)
            assert translated != msgid, f"{code}: {msgid!r} has no translation"
            assert escape(translated) in text or translated in text, f"{code}: {translated!r} ({msgid!r}) not shown"
    # No English fallback: no allauth sentence (the first line of a multi-line one) in the source language.
    left = [
        s for s in ENGLISH_SENTENCES if "%" not in s and "{" not in s and (escape(s.split("\n")[0]) in text or s.split("\n")[0] in text)
    ]
    assert not left, f"{code}: English left: {left}"


@pytest.mark.django_db
@pytest.mark.parametrize("code", PAGE_LANGS)
def test_sign_in_sign_up_and_reset_pages_are_translated(client, code):
    login = client.get(f"/{code}/auth/login/")
    assert login.status_code == 200
    assert_translated(code, login.content.decode(), ["Sign In", "Sign in with a passkey"])
    signup = client.get(f"/{code}/auth/signup/")
    assert signup.status_code == 200
    assert_translated(code, signup.content.decode(), ["Sign Up"])
    reset = client.get(f"/{code}/auth/password/reset/")
    assert reset.status_code == 200
    assert_translated(
        code,
        reset.content.decode(),
        [
            "Password Reset",
            "Forgotten your password? Enter your email address below, and we'll send you an email allowing you to reset it.",
        ],
    )


@pytest.mark.django_db
@pytest.mark.parametrize("code", PAGE_LANGS)
def test_two_factor_pages_are_translated(client, code, totp_user):
    user, secret = totp_user
    response = client.post(f"/{code}/auth/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == f"/{code}/auth/2fa/authenticate/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert_translated(code, page.content.decode(), ["Two-Factor Authentication", "Use a security key"])
    done = client.post(f"/{code}/auth/2fa/authenticate/", {"code": totp_code(secret)})
    assert done.status_code == 302
    manage = client.get(f"/{code}/auth/2fa/")
    assert manage.status_code == 200
    assert_translated(
        code, manage.content.decode(), ["Authentication using an authenticator app is active.", "No security keys have been added."]
    )


@pytest.mark.django_db
@pytest.mark.parametrize("code", PAGE_LANGS)
def test_password_reset_email_is_translated(client, code):
    user = UserFactory(language=code)
    client.post(f"/{code}/auth/password/reset/", {"email": user.email})
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    source = (
        "You're receiving this email because you or someone else has requested a password reset for your user account.\n"
        "It can be safely ignored if you did not request a password reset. Click the link below to reset your password."
    )
    with override(code):
        body, subject = gettext(source), gettext("Password Reset Email")
    assert body != source and subject != "Password Reset Email"
    assert body in message.body
    assert message.subject == f"[Agora] {subject}"
    for line in source.split("\n"):
        assert line not in message.body

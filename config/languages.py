"""The 36 UI languages, the 14 support languages and how browsers' language tags map onto them.

Single source of truth: settings, the locale middleware, the catalog gate and the seed data read
from here. Order is the order of ../shared/design/languages.md (and of the language switcher).
"""

# (code, native name, plural forms in the catalog header)
UI_LANGUAGES = [
    ("en", "English", 2),
    ("zh-hans", "简体中文", 1),
    ("zh-hant", "繁體中文", 1),
    ("ja", "日本語", 1),
    ("ko", "한국어", 1),
    ("ru", "Русский", 4),
    ("uk", "Українська", 4),
    ("es", "Español (España)", 3),
    ("es-419", "Español (Latinoamérica)", 3),
    ("pt-br", "Português (Brasil)", 3),
    ("pt", "Português (Portugal)", 3),
    ("fr", "Français", 3),
    ("de", "Deutsch", 2),
    ("it", "Italiano", 3),
    ("nl", "Nederlands", 2),
    ("pl", "Polski", 4),
    ("cs", "Čeština", 4),
    ("sk", "Slovenčina", 4),
    ("ro", "Română", 3),
    ("hu", "Magyar", 2),
    ("bg", "Български", 2),
    ("el", "Ελληνικά", 2),
    ("sv", "Svenska", 2),
    ("da", "Dansk", 2),
    ("lv", "Latviešu", 3),
    ("lt", "Lietuvių", 4),
    ("sl", "Slovenščina", 4),
    ("tr", "Türkçe", 2),
    ("ar", "العربية", 6),
    ("vi", "Tiếng Việt", 1),
    ("id", "Bahasa Indonesia", 1),
    ("th", "ไทย", 1),
    ("ms", "Bahasa Melayu", 1),
    ("kk", "Қазақша", 2),
    ("az", "Azərbaycanca", 2),
    ("ur", "اردو", 2),
]

LANGUAGE_CODES = [code for code, _name, _plurals in UI_LANGUAGES]
PLURAL_FORMS = {code: plurals for code, _name, plurals in UI_LANGUAGES}
RTL_LANGUAGES = {"ar", "ur"}

# Support desk queues and the fallback map for every UI language without its own queue.
SUPPORT_LANGUAGES = ["en", "zh", "ja", "ko", "ru", "uk", "es", "pt", "fr", "de", "tr", "ar", "vi", "id"]
SUPPORT_QUEUE_FALLBACK = {"zh-hans": "zh", "zh-hant": "zh", "es-419": "es", "pt-br": "pt", "kk": "ru", "az": "tr"}


def support_queue_for(language: str) -> str:
    """The support queue a customer writing in `language` is routed to."""
    if language in SUPPORT_LANGUAGES:
        return language
    return SUPPORT_QUEUE_FALLBACK.get(language, "en")


# Browser tags Django would resolve wrongly (es-MX -> es) or not at all (zh-TW -> nothing).
_REGIONAL = {
    "zh-tw": "zh-hant",
    "zh-hk": "zh-hant",
    "zh-mo": "zh-hant",
    "zh-hant": "zh-hant",
    "zh-cn": "zh-hans",
    "zh-sg": "zh-hans",
    "zh-hans": "zh-hans",
    "zh": "zh-hans",
    "pt-pt": "pt",
    "pt-br": "pt-br",
    "pt-ao": "pt",
    "pt-mz": "pt",
    "es-es": "es",
}
_LATIN_AMERICA = {
    "419",
    "mx",
    "ar",
    "co",
    "cl",
    "pe",
    "ve",
    "ec",
    "gt",
    "cu",
    "bo",
    "do",
    "hn",
    "py",
    "sv",
    "ni",
    "cr",
    "pa",
    "uy",
    "pr",
    "us",
}


def language_from_tag(tag: str) -> str | None:
    """Map one Accept-Language tag (any case, '_' or '-') to a UI language code, or None."""
    tag = tag.strip().lower().replace("_", "-")
    if not tag or tag == "*":
        return None
    if tag in _REGIONAL:
        return _REGIONAL[tag]
    parts = tag.split("-")
    primary = parts[0]
    if primary == "zh":
        # zh-Hant-TW, zh-Hans-CN and friends
        if "hant" in parts or any(p in ("tw", "hk", "mo") for p in parts[1:]):
            return "zh-hant"
        return "zh-hans"
    if primary == "es" and len(parts) > 1:
        return "es-419" if parts[-1] in _LATIN_AMERICA else "es"
    if primary == "pt" and len(parts) > 1:
        return "pt-br" if parts[-1] == "br" else "pt"
    if primary in PLURAL_FORMS:
        return primary
    return None


def language_from_accept_header(header: str) -> str | None:
    """The best UI language for an Accept-Language header, honouring q-values, or None."""
    from django.utils.translation.trans_real import parse_accept_lang_header

    for tag, _q in parse_accept_lang_header(header or ""):
        code = language_from_tag(tag)
        if code:
            return code
    return None


# For model fields: the 36 codes with their native names.
LANGUAGES_CHOICES_FIELD = [(code, name) for code, name, _plurals in UI_LANGUAGES]

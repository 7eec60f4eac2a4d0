from django.conf import settings

from config.languages import UI_LANGUAGES


def agora(request):
    return {
        "SITE_NAME": settings.SITE_NAME,
        "UI_LANGUAGES": [(code, name) for code, name, _plurals in UI_LANGUAGES],
    }

from modeltranslation.translator import TranslationOptions, register

from wallets.models import Asset


@register(Asset)
class AssetTranslation(TranslationOptions):
    fields = ("name", "description")
    required_languages = ("en",)

from modeltranslation.translator import TranslationOptions, register

from support.models import Announcement


@register(Announcement)
class AnnouncementTranslation(TranslationOptions):
    fields = ("title", "body")
    required_languages = ("en",)

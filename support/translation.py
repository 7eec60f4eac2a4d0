from modeltranslation.translator import TranslationOptions, register

from support.models import Announcement, CannedReply, TicketCategory


@register(Announcement)
class AnnouncementTranslation(TranslationOptions):
    fields = ("title", "body")
    required_languages = ("en",)


@register(TicketCategory)
class TicketCategoryTranslation(TranslationOptions):
    fields = ("name",)
    required_languages = ("en",)


@register(CannedReply)
class CannedReplyTranslation(TranslationOptions):
    fields = ("title", "body")
    required_languages = ("en",)

from auditlog.registry import auditlog
from django.contrib import admin
from modeltranslation.admin import TranslationAdmin

from support.models import Announcement


@admin.register(Announcement)
class AnnouncementAdmin(TranslationAdmin):
    # Plain TranslationAdmin: the tabbed variant loads jQuery UI from a CDN, which the CSP forbids.
    list_display = ["title", "published_at", "expires_at", "is_published"]
    list_filter = ["is_published"]
    search_fields = ["title_en", "body_en"]
    date_hierarchy = "published_at"


auditlog.register(Announcement)

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Announcement(models.Model):
    """Curated news shown on the home page; title and body are translated per language
    (django-modeltranslation, falling back to the nearest language, then English)."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    published_at = models.DateTimeField(_("published at"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    is_published = models.BooleanField(_("published"), default=True)

    class Meta:
        ordering = ["-published_at"]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")

    def __str__(self):
        return self.title

from django.db.models import Q, QuerySet
from django.utils import timezone

from support.models import Announcement


def announcements_current(*, limit: int = 3) -> QuerySet[Announcement]:
    now = timezone.now()
    return (
        Announcement.objects.filter(is_published=True, published_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-published_at")[:limit]
    )

from django.db import IntegrityError, transaction

from wallets.models import Notice


def notice_create(*, user, kind: str, object_id: int) -> Notice | None:
    """Queue a notice (email in the user's language) after commit; at most one per object."""
    try:
        with transaction.atomic():
            notice = Notice.objects.create(user=user, kind=kind, object_id=object_id)
    except IntegrityError:
        return None
    from wallets.tasks import notice_send

    transaction.on_commit(lambda: notice_send.delay(notice.pk))
    return notice

"""Which queue a ticket goes to, and who works it."""

from config.languages import support_queue_for
from support.models import Queue


def queue_for_language(language: str) -> Queue:
    """The queue of the customer's language (the fallback map in config.languages: kk->ru, az->tr,
    es-419->es, any other language without a queue -> en)."""
    code = support_queue_for(language)
    queue = Queue.objects.filter(language=code, is_active=True).select_related("calendar").first()
    if queue is None:
        queue = Queue.objects.select_related("calendar").get(language="en")
    return queue

from celery import shared_task

from config.health import heartbeat_record


@shared_task(ignore_result=True)
def worker_heartbeat() -> None:
    """Scheduled by beat every 15 s: proves beat -> broker -> worker is flowing."""
    heartbeat_record()

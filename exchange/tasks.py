from celery import shared_task

from exchange import services


@shared_task(ignore_result=True)
def fee_tiers_recompute_task() -> None:
    services.fee_tiers_recompute()

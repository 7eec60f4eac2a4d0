"""Background work of the support desk. Tasks take ids, re-fetch, call support/sla and are safe to
run twice."""

import logging

from celery import shared_task
from django.conf import settings

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sla_sweep() -> None:
    """Beat, every SUPPORT_SLA_SWEEP_SECONDS: fire due warnings, breaches and escalations, queue
    the mailing of due notifications, and schedule a check at each instant falling due before the
    next sweep."""
    from support.sla.sweep import clocks_sweep

    result = clocks_sweep()
    for clock_id, eta in result.upcoming:
        sla_clock_fire.apply_async(kwargs={"clock_id": clock_id}, eta=eta)
    if result.mail_due:
        sla_notifications_send.delay()
    if result.breached or result.warned or result.escalated:
        log.info(
            "SLA sweep: %d breached, %d warned, %d escalated, %d checks scheduled",
            result.breached,
            result.warned,
            result.escalated,
            len(result.upcoming),
        )


@shared_task(ignore_result=True)
def sla_clock_fire(*, clock_id: int) -> None:
    """A clock's warning or due instant has come (scheduled by the sweep); a no-op when it moved."""
    from support.sla.sweep import clock_fire

    if clock_fire(clock_id=clock_id):
        sla_notifications_send.delay()


@shared_task(ignore_result=True)
def sla_notifications_send() -> None:
    """Mail the SLA notifications whose time has come (a batch; the next sweep queues the rest)."""
    from support.sla.sweep import notifications_send

    notifications_send(limit=settings.SUPPORT_SLA_SWEEP_BATCH)


@shared_task(ignore_result=True)
def sla_breach_reassign(*, clock_id: int) -> None:
    from support.sla.sweep import breach_reassign

    breach_reassign(clock_id=clock_id)


@shared_task(ignore_result=True)
def sla_calendar_recompute(*, calendar_id: int) -> None:
    """A calendar was edited: recompute the running clocks that use it."""
    from support.sla.engine import clocks_recompute

    log.info("SLA calendar %s edited: %d clocks moved", calendar_id, clocks_recompute(calendar_id=calendar_id))


@shared_task(ignore_result=True)
def sla_policy_reapply(*, policy_id: int) -> None:
    """Re-apply the open tickets of a policy (its new version, elapsed time kept)."""
    from support.sla.engine import tickets_reapply

    log.info("SLA policy %s re-applied to %d open tickets", policy_id, tickets_reapply(policy_id=policy_id))


# Tasks defined beside their services, registered here because the worker autodiscovers tasks.py.
from support.mail_tasks import *  # noqa: E402, F403
from support.routing_tasks import *  # noqa: E402, F403

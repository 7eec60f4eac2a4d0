"""Background work of the support desk. Tasks take ids, re-fetch, call support/sla and are safe to
run twice."""

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sla_sweep() -> None:
    """Beat, every SUPPORT_SLA_SWEEP_SECONDS: fire due warnings, breaches and escalations, send
    due notifications, and schedule a check at each instant falling due before the next sweep."""
    from support.sla.sweep import clocks_sweep

    result = clocks_sweep()
    for clock_id, eta in result.upcoming:
        sla_clock_fire.apply_async(kwargs={"clock_id": clock_id}, eta=eta)
    if result.breached or result.warned or result.escalated or result.sent:
        log.info(
            "SLA sweep: %d breached, %d warned, %d escalated, %d notifications sent, %d scheduled",
            result.breached,
            result.warned,
            result.escalated,
            result.sent,
            len(result.upcoming),
        )


@shared_task(ignore_result=True)
def sla_clock_fire(*, clock_id: int) -> None:
    """A clock's warning or due instant has come (scheduled by the sweep); a no-op when it moved."""
    from support.sla.sweep import clock_fire

    clock_fire(clock_id=clock_id)


@shared_task(ignore_result=True)
def sla_notifications_send() -> None:
    from support.sla.sweep import notifications_send

    notifications_send()


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

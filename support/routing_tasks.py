"""Celery interface to routing and calendars: tasks take ids, re-fetch, call a service, and are
safe to run twice (and in parallel: the router skips tickets another worker holds)."""

import logging

from celery import shared_task

from support.models import Ticket
from support.services import calendars, routing

log = logging.getLogger(__name__)


__all__ = ["ticket_route_task", "tickets_route_pending_task", "calendars_holidays_extend_task"]  # re-exported by support/tasks.py


@shared_task(ignore_result=True)
def ticket_route_task(ticket_id: int) -> None:
    """Route one new ticket (queued after the ticket's transaction commits)."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is not None:
        routing.ticket_route(ticket=ticket)


@shared_task(ignore_result=True)
def tickets_route_pending_task() -> dict:
    """The beat's router: assign waiting tickets and apply English fallbacks, one bounded batch."""
    run = routing.tickets_route_pending()
    if run.assigned or run.fell_back:
        log.info("routed %d tickets, %d fell back to English, %d locked elsewhere", run.assigned, run.fell_back, run.skipped_locked)
    return {"assigned": run.assigned, "fell_back": run.fell_back, "skipped_locked": run.skipped_locked}


@shared_task(ignore_result=True)
def calendars_holidays_extend_task() -> dict:
    """Top up every country calendar with this year's and next year's public holidays."""
    return calendars.calendars_holidays_extend(years_ahead=1)

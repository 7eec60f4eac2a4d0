"""Template helpers of the helpdesk console: SLA timers, system events in the agent's language,
and message text with the customer's tx hashes and addresses linked (everything else escaped)."""

from django import template
from django.template.defaultfilters import timesince, timeuntil
from django.utils import timezone
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from support.mail import mail_event_text
from support.models import Metric, Priority, SlaClock, Ticket
from support.selectors.console import REFERENCE_TOKEN, clock_at_risk, clock_breached
from support.selectors.customer import event_text as customer_event_text
from support.services.security import ACTIONS

register = template.Library()


def _timer(*, due, now, breached: bool, at_risk: bool):
    if due is None:
        return format_html('<span class="sla none">{}</span>', pgettext("SLA timer", "No deadline"))
    if breached or due <= now:
        state, label = "breached", pgettext("SLA timer", "Breached")
        text = (
            _("overdue by %(time)s") % {"time": timesince(due, now)} if due <= now else _("%(time)s left") % {"time": timeuntil(due, now)}
        )
    elif at_risk:
        state, label, text = "at-risk", pgettext("SLA timer", "At risk"), _("%(time)s left") % {"time": timeuntil(due, now)}
    else:
        state, label, text = "ok", pgettext("SLA timer", "On time"), _("%(time)s left") % {"time": timeuntil(due, now)}
    return format_html(
        '<span class="sla {}"><span class="sla-state">{}</span> <time datetime="{}" title="{}">{}</time></span>',
        state,
        label,
        due.isoformat(),
        timezone.localtime(due).strftime("%Y-%m-%d %H:%M %Z"),
        text,
    )


@register.simple_tag
def ticket_timer(ticket, now=None):
    """Time left to the ticket's next SLA deadline: red when breached, amber when at risk (the
    queue's annotations `breached` / `at_risk` from the clocks)."""
    now = now or timezone.now()
    return _timer(due=ticket.next_due_at, now=now, breached=getattr(ticket, "breached", False), at_risk=getattr(ticket, "at_risk", False))


@register.simple_tag
def clock_timer(clock: SlaClock, now=None):
    """One clock: its timer when running, else its state."""
    now = now or timezone.now()
    if clock.state == SlaClock.State.RUNNING:
        return _timer(due=clock.due_at, now=now, breached=clock_breached(clock, now), at_risk=clock_at_risk(clock, now))
    css = "breached" if clock.state == SlaClock.State.BREACHED or clock.breached_at else "none"
    return format_html('<span class="sla {}">{}</span>', css, clock.get_state_display())


@register.filter
def metric_label(value):
    return Metric(value).label if value in Metric.values else value


def _person(message, people=None, pk=None):
    if pk is not None:
        return (people or {}).get(pk) or _("someone")
    author = message.author
    if author is None:
        return _("the desk")
    agent = getattr(author, "agent", None)
    return agent.display_name if agent is not None else author.email


def _label(choices, value):
    return dict(choices).get(value, value)


@register.simple_tag
def event_text(message, people=None):
    """A system event as a sentence in the reader's language (the console: the agent's)."""
    data = message.data or {}
    who = _person(message)
    event = message.event
    if event == "status":
        return _("%(who)s changed the status from “%(old)s” to “%(new)s”.") % {
            "who": who,
            "old": _label(Ticket.Status.choices, data.get("old")),
            "new": _label(Ticket.Status.choices, data.get("new")),
        }
    if event == "priority":
        return _("%(who)s changed the priority from %(old)s to %(new)s.") % {
            "who": who,
            "old": _label(Priority.choices, data.get("old")),
            "new": _label(Priority.choices, data.get("new")),
        }
    if event == "assigned":
        if message.author_id is None:  # the router (new tickets, fallback) or the SLA ladder (breach)
            if data.get("new") is None:
                return _("The ticket went back to the queue automatically.")
            return _("Routing assigned the ticket to %(agent)s.") % {"agent": _person(message, people, data.get("new"))}
        if data.get("new") is None:
            return _("%(who)s returned the ticket to the queue.") % {"who": who}
        return _("%(who)s assigned the ticket to %(agent)s.") % {"who": who, "agent": _person(message, people, data.get("new"))}
    if event == "fallback":
        reasons = {
            "no_agent_online": _("Moved from the %(from)s queue to the %(to)s queue: no agent of the %(from)s queue was online."),
            "waited": _("Moved from the %(from)s queue to the %(to)s queue: nobody there had room after the wait."),
        }
        sentence = reasons.get(data.get("reason"), _("Moved from the %(from)s queue to the %(to)s queue."))
        return sentence % {"from": data.get("from", "?"), "to": data.get("to", "?")}  # queue codes, as the console shows them
    if event == "recovery":
        return _("The customer read: %(text)s") % {"text": customer_event_text(message)}  # the very words, from the customer pages
    mail_text = mail_event_text(message) if (event or "").startswith("mail_") else ""
    if mail_text:
        return mail_text
    if event == "security":
        action = data.get("action")
        sentence = {
            "freeze": _("%(who)s froze the customer's account."),
            "withdrawals": _("%(who)s locked the customer's withdrawals for 24 hours."),
            "sessions": _("%(who)s ended every session of the customer."),
            "api_keys": _("%(who)s revoked the customer's API keys."),
        }.get(action, str(ACTIONS.get(action, action)))
        return format_html("{} {}", sentence % {"who": who}, _reason(data))
    if event == "freeze_lift_requested":
        return format_html("{} {}", _("%(who)s asked to lift the freeze; a second person must approve.") % {"who": who}, _reason(data))
    if event == "freeze_lifted":
        return _("%(who)s approved lifting the freeze: the account is unfrozen.") % {"who": who}
    # Events other parts of the desk record (SLA, mail, recovery): their name and data, escaped.
    details = format_html_join(", ", "{}={}", ((k, v) for k, v in sorted(data.items())))
    return format_html("{} {}", _("Event: %(event)s") % {"event": event or "-"}, details)


def _reason(data):
    if not data.get("reason"):
        return ""
    return format_html('<span class="event-reason">{}</span>', _("Reason: %(reason)s") % {"reason": data["reason"]})


@register.simple_tag
def object_label(kind, pk):
    labels = {
        "deposit": pgettext("linked object", "Deposit #%(id)s"),
        "withdrawal": pgettext("linked object", "Withdrawal #%(id)s"),
        "recovery": pgettext("linked object", "Fund recovery #%(id)s"),
        "order": pgettext("linked object", "Order #%(id)s"),
    }
    return labels.get(kind, "%(id)s") % {"id": pk}


@register.simple_tag
def message_text(text, links=None):
    """The message body, escaped, with every tx hash or address of the ticket's customer's own
    deposits, withdrawals and recovery requests followed by links to them."""
    text = text or ""
    by_token = links.by_token if links else {}
    pieces, position = [], 0
    for match in REFERENCE_TOKEN.finditer(text):
        found = by_token.get(match.group(0))
        if not found:
            continue
        pieces.append(conditional_escape(text[position : match.start()]))
        pieces.append(
            format_html(
                '<bdi dir="ltr" class="ref">{}</bdi> <span class="ref-links">[{}]</span>',
                match.group(0),
                format_html_join(", ", '<a href="{}">{}</a>', ((link.url, object_label(link.kind, link.pk)) for link in found)),
            )
        )
        position = match.end()
    pieces.append(conditional_escape(text[position:]))
    return mark_safe("".join(str(piece) for piece in pieces))


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)

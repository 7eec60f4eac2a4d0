"""The helpdesk console: queues, the ticket page, the customer panel, security actions.

Thin views: a form, one selector or service, a template. Who may see what is decided by
support.selectors.access alone: a ticket, customer, object or attachment outside it is a 404; a
signed-in user who is not an agent gets 403. Pages render in the agent's language.
"""

import time
from functools import wraps

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.client import client_info
from accounts.models import User
from support.errors import TicketRefused
from support.forms_console import (
    VIEW_LABELS,
    AssignForm,
    BulkAssignForm,
    FreezeLiftRequestForm,
    PresenceForm,
    PriorityForm,
    QueueFilterForm,
    ReplyForm,
    SecurityActionForm,
    StatusForm,
)
from support.models import Metric, Priority, SlaClock, Ticket
from support.selectors import console as selectors
from support.selectors.access import customers_for_agent, is_console_user, tickets_for_agent
from support.selectors.context import customer_context
from support.services import canned as canned_service
from support.services import security as security_service
from support.services.attachments import attachments_add
from support.services.routing import agent_presence_set, ticket_assign
from support.services.tickets import ticket_priority_set, ticket_status_set
from support.views.customer import ATTACHMENT_CSP

VIEWERS_SECONDS = 45


def console_required(view):
    """Signed in (else the login page) and an agent or supervisor (else 403)."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not is_console_user(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def ticket_required(view):
    """The ticket of the URL's reference if the agent may open it, else 404 (before anything else,
    re-authentication included: a ticket outside the agent's queues does not exist for them)."""

    @wraps(view)
    def wrapper(request, reference, *args, **kwargs):
        ticket = selectors.console_ticket(user=request.user, reference=reference)
        if ticket is None:
            raise Http404
        return view(request, ticket, *args, **kwargs)

    return wrapper


def _back(request, default: str):
    """Where a queue form came from (its query string kept), if it is one of our pages."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)


def _refused(request, refused: TicketRefused) -> None:
    messages.error(request, refused.message)


def _assign(*, ticket: Ticket, assignee: User | None, by: User) -> None:
    """routing.ticket_assign, and the console's rule on top: taking a colleague's ticket is a
    reassignment, which is a supervisor's (an agent takes unassigned tickets only)."""
    if ticket.assignee_id not in (None, by.pk) and not by.has_perm("support.supervise_ticket"):
        raise TicketRefused("assigned_to_colleague", _("This ticket is assigned to a colleague: ask a supervisor to reassign it."))
    ticket_assign(ticket=ticket, assignee=assignee, by=by)


# --- Queues ------------------------------------------------------------------------------------------


@console_required
@require_GET
def queue(request):
    user = request.user
    queues = selectors.queues_for(user=user)
    form = QueueFilterForm(request.GET or None, queues=queues)
    filters = form.filters() if form.is_bound else selectors.QueueFilters()
    now = timezone.now()
    page = Paginator(selectors.console_tickets(user=user, filters=filters, now=now), selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    agents = selectors.agents_assignable(user=user)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "tickets": page.object_list,
        "now": now,
        "query": query.urlencode(),
        "views": [(key, label) for key, label in VIEW_LABELS.items()],
        "view_counts": selectors.view_counts(user=user, now=now),
        "queues": queues,
        "queue_counts": selectors.queue_counts(user=user),
        "bulk_form": BulkAssignForm(agents=agents, allow_nobody=user.has_perm("support.supervise_ticket")),
        "can_supervise": user.has_perm("support.supervise_ticket"),
        "presence_form": PresenceForm(initial={"presence": user.agent.presence}),
        # Labels resolved once per page, not once per row (100 lazy translations each otherwise).
        "labels": {
            "priority": {value: str(label) for value, label in Priority.choices},
            "status": {value: str(label) for value, label in Ticket.Status.choices},
            "category": dict(form.fields["category"].choices),
        },
    }
    return render(request, "console/queue.html", context)


@console_required
@require_POST
def bulk_assign(request):
    """Give the chosen tickets to one agent (supervisors), or take them (agents); each through
    routing.ticket_assign, which refuses what the person may not do."""
    user = request.user
    form = BulkAssignForm(
        request.POST, agents=selectors.agents_assignable(user=user), allow_nobody=user.has_perm("support.supervise_ticket")
    )
    ids = form.ticket_ids()
    if not form.is_valid() or not ids:
        messages.error(request, _("Choose at least one ticket and whom to give it to."))
        return _back(request, "console:queue")
    assignee_id = form.cleaned_data["assignee"]
    assignee = User.objects.filter(pk=int(assignee_id)).first() if assignee_id else None
    done = 0
    for ticket in tickets_for_agent(user).filter(pk__in=ids).order_by("pk"):
        try:
            _assign(ticket=ticket, assignee=assignee, by=user)
            done += 1
        except TicketRefused as refused:
            messages.error(request, _("#%(reference)s: %(problem)s") % {"reference": ticket.reference, "problem": refused.message})
    if done:
        messages.success(request, ngettext("%(count)d ticket assigned.", "%(count)d tickets assigned.", done) % {"count": done})
    return _back(request, "console:queue")


@console_required
@require_POST
def presence(request):
    form = PresenceForm(request.POST)
    if form.is_valid():
        try:
            agent_presence_set(agent=request.user, presence=form.cleaned_data["presence"])
        except TicketRefused as refused:
            _refused(request, refused)
    else:
        messages.error(request, _("Choose online, away or offline."))
    return _back(request, "console:queue")


# --- One ticket -----------------------------------------------------------------------------------------


def _viewers_touch(*, ticket: Ticket, user: User, replying: bool) -> list[tuple[str, bool]]:
    """Mark the agent as looking at (or replying on) the ticket; return the others doing so.

    A hint, not a lock: one cache entry per ticket, read-modify-write; a lost update is mended by
    the next heartbeat (every 15 s), so no atomic cache operation is needed."""
    key = f"console:viewers:{ticket.pk}"
    now = time.time()
    viewers = {k: v for k, v in (cache.get(key) or {}).items() if now - v[1] < VIEWERS_SECONDS}
    viewers[str(user.pk)] = [user.agent.display_name, now, replying]
    cache.set(key, viewers, VIEWERS_SECONDS)
    return [(name, is_replying) for pk, (name, _at, is_replying) in sorted(viewers.items()) if pk != str(user.pk)]


def _viewers_text(viewers: list[tuple[str, bool]]) -> list[str]:
    return [
        (_("%(name)s is replying to this ticket.") if replying else _("%(name)s is viewing this ticket.")) % {"name": name}
        for name, replying in viewers
    ]


def _ticket_page(request, ticket: Ticket, *, reply_form=None, reply_initial=None, collision=None, status=200, canned=None):
    """The ticket page. `reply_form`: a posted form shown again (its errors, or a collision: its
    draft kept); else a fresh one from `reply_initial` (a canned reply inserted)."""
    user = request.user
    conversation = selectors.conversation(ticket=ticket)
    texts = [m.body for m in conversation if m.body]
    replies = selectors.canned_replies_for(ticket=ticket)
    agents = selectors.agents_assignable(user=user)
    panel = customer_context(customer=ticket.customer, exclude_ticket=ticket)
    active_freeze = panel.active_freeze
    last_seen = max((m.pk for m in conversation), default=0)
    clocks = selectors.ticket_clocks(ticket=ticket)
    now = timezone.now()
    # The header's timer colours like the queue's (which annotates these from the same clocks).
    ticket.breached = any(selectors.clock_breached(clock, now) for clock in clocks)
    ticket.at_risk = any(selectors.clock_at_risk(clock, now) for clock in clocks)
    if reply_form is None:
        reply_form = ReplyForm(replies=replies, initial={"last_seen": last_seen, **(reply_initial or {})})
    elif collision:
        data = reply_form.data.copy()
        data["last_seen"] = str(last_seen)  # sending again means: I have read these
        reply_form = ReplyForm(data, replies=replies)
        reply_form.is_valid()
    body = reply_form["body"].value() or ""
    context = {
        "ticket": ticket,
        "conversation": conversation,
        "people": selectors.event_people(messages=conversation),
        "links": selectors.reference_links(user=user, customer=ticket.customer, texts=texts),
        "clocks": clocks,
        "periodic_clock": next((c for c in clocks if c.metric == Metric.PERIODIC_UPDATE and c.state == SlaClock.State.RUNNING), None),
        "now": now,
        "reply_form": reply_form,
        "unfilled": canned_service.canned_unfilled(body),
        "canned": canned,
        "files_dropped": bool(collision and request.FILES),
        "status_form": StatusForm(initial={"status": ticket.status}),
        "priority_form": PriorityForm(initial={"priority": ticket.priority}),
        "assign_form": AssignForm(
            agents=agents, allow_nobody=user.has_perm("support.supervise_ticket"), initial={"assignee": ticket.assignee_id or ""}
        ),
        "can_supervise": user.has_perm("support.supervise_ticket"),
        "collision": collision,
        "viewers": _viewers_text(_viewers_touch(ticket=ticket, user=user, replying=False)),
        "panel": panel,
        "security_form": SecurityActionForm(),
        "can_protect": user.has_perm(security_service.ACTION_PERMISSION),
        "can_approve_lift": user.has_perm(security_service.LIFT_APPROVE_PERMISSION),
        "active_freeze": active_freeze,
        "lift_form": FreezeLiftRequestForm(initial={"freeze": active_freeze.pk}) if active_freeze else None,
        "can_approve_recovery": user.is_staff and user.has_perm("wallets.approve_recovery"),
    }
    return render(request, "console/ticket.html", context, status=status)


@console_required
@require_GET
@never_cache
@ticket_required
def ticket_view(request, ticket):
    canned, initial = None, None
    picked = request.GET.get("canned", "")
    if picked.isdigit():
        canned = selectors.canned_reply_for(ticket=ticket, pk=int(picked))
        if canned is None:
            raise Http404
        initial = _canned_initial(canned=canned, ticket=ticket)
    return _ticket_page(request, ticket, reply_initial=initial, canned=canned)


def _canned_initial(*, canned, ticket: Ticket, draft: str = "", internal: bool = False, status: str = "", priority: str = "") -> dict:
    """The reply form with a canned reply added after the draft; a macro pre-selects its status and
    priority (the agent may change them before sending). The internal toggle stays as it was."""
    text = canned_service.canned_render(canned=canned, ticket=ticket)
    draft = draft.rstrip()
    return {
        "body": f"{draft}\n\n{text}" if draft else text,
        "internal": internal,
        "status": canned.set_status or status,
        "priority": canned.set_priority or priority,
        "canned": canned.pk,
        "pick": "",
    }


def _canned_insert(request, ticket: Ticket):
    """The reply form's "insert" button: the page again with the canned reply added to the draft,
    nothing sent. The last message the agent saw stays the one the draft was started after."""
    post = request.POST
    canned = selectors.canned_reply_for(ticket=ticket, pk=int(post["pick"])) if post.get("pick", "").isdigit() else None
    if canned is None:
        messages.error(request, _("Choose a canned reply or macro from the list."))
        return _ticket_page(request, ticket, reply_form=ReplyForm(post, replies=selectors.canned_replies_for(ticket=ticket)), status=400)
    initial = _canned_initial(
        canned=canned,
        ticket=ticket,
        draft=post.get("body", ""),
        internal=post.get("internal") in ("on", "1", "true"),
        status=post.get("status", ""),
        priority=post.get("priority", ""),
    )
    if post.get("last_seen", "").isdigit():
        initial["last_seen"] = int(post["last_seen"])
    return _ticket_page(request, ticket, reply_initial=initial, canned=canned)


@console_required
@require_POST
@ticket_required
def reply(request, ticket):
    """Post a reply or internal note. When someone else wrote after the last message this agent
    saw (the form carries its id), the page comes back with what is new and the draft kept:
    sending again confirms it. The "insert" button adds a canned reply to the draft instead.
    Attachments are stored with the message, in its transaction: a refused file sends nothing."""
    if "insert" in request.POST:
        return _canned_insert(request, ticket)
    form = ReplyForm(request.POST, request.FILES, replies=selectors.canned_replies_for(ticket=ticket))
    if not form.is_valid():
        return _ticket_page(request, ticket, reply_form=form, status=400)
    data = form.cleaned_data
    newer = selectors.newer_messages(ticket=ticket, after_id=data["last_seen"] or 0, reader=request.user)
    if newer:
        return _ticket_page(request, ticket, reply_form=form, collision=newer, status=409)
    canned = selectors.canned_reply_for(ticket=ticket, pk=data["canned"]) if data["canned"] else None
    try:
        with transaction.atomic():
            message = canned_service.reply_send(
                ticket=ticket,
                agent=request.user,
                body=data["body"],
                internal=data["internal"],
                status=data["status"],
                priority=data["priority"],
                canned=canned,
            )
            attachments_add(message=message, files=data["attachments"])
    except TicketRefused as refused:
        form.add_error(None, refused.message)
        return _ticket_page(request, ticket, reply_form=form, status=400)
    messages.success(request, _("Internal note added.") if data["internal"] else _("Reply sent to the customer."))
    return redirect("console:ticket", reference=ticket.reference)


@console_required
@require_POST
@ticket_required
def heartbeat(request, ticket):
    """The ticket page's JavaScript calls this every 15 s: who else is here (text in the agent's language)."""
    others = _viewers_touch(ticket=ticket, user=request.user, replying=request.POST.get("replying") == "1")
    return JsonResponse({"viewers": _viewers_text(others)})


def _ticket_action(request, ticket: Ticket, *, form, invalid: str, act, done) -> HttpResponse:
    """The ticket page's small forms: a valid form runs `act(cleaned_data)` (one service call);
    the refusal, or `done` (a text, or a function of the cleaned data), is the page's message."""
    if form is not None and not form.is_valid():
        messages.error(request, invalid)
        return redirect("console:ticket", reference=ticket.reference)
    data = form.cleaned_data if form is not None else {}
    try:
        act(data)
        messages.success(request, done(data) if callable(done) else done)
    except TicketRefused as refused:
        _refused(request, refused)
    return redirect("console:ticket", reference=ticket.reference)


@console_required
@require_POST
@ticket_required
def status_set(request, ticket):
    return _ticket_action(
        request,
        ticket,
        form=StatusForm(request.POST),
        invalid=_("Choose a status from the list."),
        act=lambda data: ticket_status_set(ticket=ticket, status=data["status"], by=request.user),
        done=_("Status changed."),
    )


@console_required
@require_POST
@ticket_required
def priority_set(request, ticket):
    return _ticket_action(
        request,
        ticket,
        form=PriorityForm(request.POST),
        invalid=_("Choose a priority from the list."),
        act=lambda data: ticket_priority_set(ticket=ticket, priority=data["priority"], by=request.user),
        done=_("Priority changed."),
    )


@console_required
@require_POST
@ticket_required
def assign(request, ticket):
    user = request.user
    form = AssignForm(request.POST, agents=selectors.agents_assignable(user=user), allow_nobody=user.has_perm("support.supervise_ticket"))

    def act(data):
        assignee = User.objects.filter(pk=int(data["assignee"])).first() if data["assignee"] else None
        _assign(ticket=ticket, assignee=assignee, by=user)

    return _ticket_action(request, ticket, form=form, invalid=_("Choose an agent from the list."), act=act, done=_("Assignment changed."))


# --- Security actions (reason + re-authentication, audited, shown in the ticket) -------------------------


@console_required
@require_POST
@ticket_required
@reauthentication_required
def security_action(request, ticket):
    def act(data):
        security_service.customer_protect(
            ticket=ticket, action=data["action"], reason=data["reason"], by=request.user, client=client_info(request), token=data["token"]
        )

    return _ticket_action(
        request,
        ticket,
        form=SecurityActionForm(request.POST),
        invalid=_("Choose an action and give the reason for it."),
        act=act,
        done=lambda data: _("Done: %(action)s.") % {"action": security_service.ACTIONS[data["action"]]},
    )


@console_required
@require_POST
@ticket_required
@reauthentication_required
def freeze_lift_request(request, ticket):
    def act(data):
        security_service.customer_freeze_lift_request(
            ticket=ticket, freeze_id=data["freeze"], reason=data["reason"], by=request.user, client=client_info(request)
        )

    return _ticket_action(
        request,
        ticket,
        form=FreezeLiftRequestForm(request.POST),
        invalid=_("Give the reason for lifting the freeze."),
        act=act,
        done=_("Lifting the freeze is requested. A second person must approve it."),
    )


@console_required
@require_POST
@ticket_required
@reauthentication_required
def freeze_lift_approve(request, ticket, freeze_id):
    return _ticket_action(
        request,
        ticket,
        form=None,
        invalid="",
        act=lambda _data: security_service.customer_freeze_lift_approve(
            ticket=ticket, freeze_id=freeze_id, by=request.user, client=client_info(request)
        ),
        done=_("The freeze is lifted."),
    )


@console_required
@require_GET
def freeze_lifts(request):
    """Freezes waiting for a second person, of customers this agent can see."""
    user = request.user
    waiting = list(selectors.freeze_lifts_waiting(user=user))
    latest = {}
    for ticket in tickets_for_agent(user).filter(customer__in=[f.user_id for f in waiting]).order_by("customer_id", "-created_at"):
        latest.setdefault(ticket.customer_id, ticket)
    rows = [(freeze, latest.get(freeze.user_id)) for freeze in waiting]
    return render(
        request, "console/freeze_lifts.html", {"rows": rows, "can_approve_lift": user.has_perm(security_service.LIFT_APPROVE_PERMISSION)}
    )


# --- The customer, their objects, attachments ------------------------------------------------------------


@console_required
@require_GET
def customer(request, pk):
    person = get_object_or_404(customers_for_agent(request.user), pk=pk)
    context = {"panel": customer_context(customer=person), "customer": person}
    return render(request, "console/customer.html", context)


@console_required
@require_GET
def linked_object(request, kind, pk):
    obj = selectors.console_object(user=request.user, kind=kind, pk=pk)
    if obj is None:
        raise Http404
    return render(request, "console/object.html", {"kind": kind, "obj": obj})


@console_required
@require_GET
def attachment(request, pk):
    """Stream an attachment to an agent who may open its ticket, always as a download."""
    item = selectors.console_attachment(user=request.user, pk=pk)
    if item is None:
        raise Http404
    response = FileResponse(item.file.open("rb"), as_attachment=True, filename=item.original_name, content_type=item.content_type)
    response["Content-Security-Policy"] = ATTACHMENT_CSP
    return response

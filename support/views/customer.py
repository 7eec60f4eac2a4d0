"""The customer's support pages: my tickets, a new ticket, the conversation (reply, reopen, rate)
and attachment downloads. Thin: a form, one service (in a transaction with its attachments), a
template. Anything not the customer's own is answered 404, as if it did not exist."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from support.errors import TicketRefused
from support.forms import RatingForm, ReplyForm, TicketForm
from support.selectors import customer as selectors
from support.services.attachments import attachments_add
from support.services.notify import ticket_acknowledge
from support.services.tickets import message_post_customer, reopen_deadline, ticket_create, ticket_rate, ticket_reopen

TICKETS_PER_PAGE = 25
# A downloaded file can run nothing and load nothing, even if a browser were to render it.
ATTACHMENT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"


def _own_ticket(request, reference: str):
    ticket = selectors.ticket_for_customer(customer=request.user, reference=reference)
    if ticket is None:
        raise Http404
    return ticket


def _refusal_show(form, refused: TicketRefused) -> None:
    # A refused file is told at the file field; anything else (closed ticket, empty text) above the form.
    form.add_error("attachments" if refused.code.startswith("attachment") else None, refused.message)


@login_required
def home(request):
    """My tickets: reference, subject, category, status, last reply and the SLA promise."""
    page = Paginator(selectors.tickets_for_customer(customer=request.user), TICKETS_PER_PAGE).get_page(request.GET.get("page"))
    zone = request.user.time_zone
    rows = [{"ticket": t, "promise": selectors.promise_for(t, zone=zone), "last_reply": selectors.last_reply(t)} for t in page.object_list]
    return render(request, "support/home.html", {"page": page, "rows": rows, "nav": "home"})


@login_required
def ticket_new(request):
    """Step one: what is it about (the category decides which of their objects they can link)."""
    return render(request, "support/new.html", {"categories": selectors.categories_for_customer(), "nav": "new"})


@login_required
def ticket_new_in(request, slug):
    category = get_object_or_404(selectors.categories_for_customer(), slug=slug)
    customer = request.user
    if request.method == "POST":
        form = TicketForm(request.POST, request.FILES, customer=customer, category=category)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():  # a refused file leaves no ticket behind
                    ticket, first = ticket_create(
                        customer=customer, subject=data["subject"], body=data["body"], category=category, links=form.links()
                    )
                    attachments_add(message=first, files=data["attachments"])
                    ticket_acknowledge(ticket=ticket, message=first)
            except TicketRefused as refused:
                _refusal_show(form, refused)
            else:
                messages.success(request, _("Thank you. We have your ticket and will answer here and by email."))
                return redirect("support:ticket", reference=ticket.reference)
    else:
        initial = {}
        if category.links and request.GET.get(category.links):
            initial["related"] = request.GET[category.links]  # "ask support about this withdrawal" links
        form = TicketForm(customer=customer, category=category, initial=initial)
    return render(request, "support/new_form.html", {"form": form, "category": category, "nav": "new"}, status=400 if form.errors else 200)


def _conversation_context(request, ticket, *, reply_form=None, rating_form=None) -> dict:
    deadline = reopen_deadline(ticket)
    return {
        "ticket": ticket,
        "conversation": selectors.conversation_for_customer(ticket=ticket),
        "promise": selectors.promise_for(ticket, zone=request.user.time_zone),
        "can_reply": ticket.is_open or selectors.reopen_window_open(ticket),
        "can_reopen": selectors.reopen_window_open(ticket),
        "reopen_deadline": deadline,
        "rating_due": selectors.rating_due(ticket),
        "reply_form": reply_form or ReplyForm(),
        "rating_form": rating_form or RatingForm(),
    }


@login_required
def ticket_detail(request, reference):
    """The conversation; POST is a reply (on a solved ticket inside the reopen period it reopens it)."""
    ticket = _own_ticket(request, reference)
    reply_form = None
    if request.method == "POST":
        reply_form = ReplyForm(request.POST, request.FILES)
        if reply_form.is_valid():
            try:
                with transaction.atomic():
                    message = message_post_customer(ticket=ticket, customer=request.user, body=reply_form.cleaned_data["body"])
                    attachments_add(message=message, files=reply_form.cleaned_data["attachments"])
            except TicketRefused as refused:
                _refusal_show(reply_form, refused)
            else:
                messages.success(request, _("Your reply was added."))
                return redirect(reverse("support:ticket", args=[ticket.reference]) + f"#message-{message.pk}")
    context = _conversation_context(request, ticket, reply_form=reply_form)
    return render(request, "support/ticket.html", context, status=400 if reply_form is not None else 200)


@login_required
@require_POST
def ticket_reopen_view(request, reference):
    ticket = _own_ticket(request, reference)
    try:
        ticket_reopen(ticket=ticket, customer=request.user)
        messages.success(request, _("The ticket is open again. Tell us what is still wrong."))
    except TicketRefused as refused:
        messages.error(request, refused.message)
    return redirect("support:ticket", reference=ticket.reference)


@login_required
@require_POST
def ticket_rate_view(request, reference):
    ticket = _own_ticket(request, reference)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            ticket_rate(ticket=ticket, customer=request.user, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"])
        except TicketRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("Thank you for rating our answer."))
        return redirect("support:ticket", reference=ticket.reference)
    return render(request, "support/ticket.html", _conversation_context(request, ticket, rating_form=form), status=400)


@login_required
@require_GET
def ticket_conversation(request, reference):
    """The conversation fragment the page reloads (data-refresh) to show new replies without a reload."""
    ticket = _own_ticket(request, reference)
    conversation = selectors.conversation_for_customer(ticket=ticket)
    return render(request, "support/_conversation.html", {"ticket": ticket, "conversation": conversation})


@login_required
@require_GET
def attachment(request, pk):
    """A file on a ticket the user may see (ticket_visible_to; a customer never gets an internal
    note's file), with its sniffed type: images inline, everything else as a download."""
    item = selectors.attachment_for_user(user=request.user, pk=pk)
    if item is None:
        raise Http404
    inline = item.content_type.startswith("image/")
    response = FileResponse(item.file.open("rb"), content_type=item.content_type, as_attachment=not inline, filename=item.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = ATTACHMENT_CSP
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response

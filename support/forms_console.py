"""Forms of the helpdesk console. Choices that depend on the agent (queues, agents) are passed in."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import VipTier
from support.forms import BODY_MAX_CHARS, AttachmentsField, _attachments_help, _help_linked
from support.models import AgentProfile, Priority, Ticket, TicketCategory
from support.services.security import ACTIONS

VIEW_LABELS = {
    "all": pgettext_lazy("queue view", "All open"),
    "mine": pgettext_lazy("queue view", "Mine"),
    "unassigned": pgettext_lazy("queue view", "Unassigned"),
    "at_risk": pgettext_lazy("queue view", "At risk"),
    "breached": pgettext_lazy("queue view", "Breached"),
    "pending": pgettext_lazy("queue view", "Waiting"),
}
ANY = [("", pgettext_lazy("filter choice", "Any"))]


class QueueFilterForm(forms.Form):
    view = forms.ChoiceField(label=pgettext_lazy("queue view", "View"), choices=list(VIEW_LABELS.items()), required=False)
    language = forms.ChoiceField(label=pgettext_lazy("support queue", "Queue"), required=False)
    category = forms.ChoiceField(label=pgettext_lazy("ticket", "Category"), required=False)
    priority = forms.ChoiceField(label=pgettext_lazy("ticket", "Priority"), choices=ANY + list(Priority.choices), required=False)
    tier = forms.ChoiceField(
        label=pgettext_lazy("customer fee tier", "Tier"), choices=ANY + [(str(v), label) for v, label in VipTier.choices], required=False
    )
    status = forms.ChoiceField(label=pgettext_lazy("state of an item", "Status"), choices=ANY + list(Ticket.Status.choices), required=False)

    def __init__(self, *args, queues=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = ANY + [(q.language, q.name) for q in queues]
        self.fields["category"].choices = ANY + [(c.slug, c.name) for c in TicketCategory.objects.filter(is_active=True)]

    def filters(self):
        from support.selectors.console import QueueFilters

        data = self.cleaned_data if self.is_valid() else {}
        tier = data.get("tier")
        return QueueFilters(
            view=data.get("view") or "all",
            language=data.get("language") or "",
            category=data.get("category") or "",
            priority=data.get("priority") or "",
            tier=int(tier) if tier not in (None, "") else None,
            status=data.get("status") or "",
        )


def _assignees(agents, allow_nobody: bool) -> list:
    """The agents offered; "back to the queue" only for supervisors (routing.ticket_assign refuses
    it to an agent)."""
    nobody = [("", _("Nobody (back to the queue)"))] if allow_nobody else []
    return nobody + [(str(a.user_id), a.display_name) for a in agents]


class BulkAssignForm(forms.Form):
    """The assignee; the ticket ids come from the queue's checkboxes (checked against the agent's
    tickets by the view, never trusted)."""

    assignee = forms.ChoiceField(label=_("Assign the chosen tickets to"), required=False)

    def __init__(self, *args, agents=(), allow_nobody=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = _assignees(agents, allow_nobody)

    def ticket_ids(self) -> list[int]:
        ids = set()
        for value in self.data.getlist("tickets"):
            if str(value).isdigit():
                ids.add(int(value))
        return sorted(ids)


class PresenceForm(forms.Form):
    presence = forms.ChoiceField(label=_("Your status"), choices=AgentProfile.Presence.choices)


class ReplyForm(forms.Form):
    """A reply or internal note; the canned picker (`pick`) is part of it, so inserting a canned
    reply keeps the draft and the internal toggle (the "insert" button posts without sending)."""

    pick = forms.ChoiceField(label=_("Canned reply or macro"), required=False)
    body = forms.CharField(
        label=pgettext_lazy("text of a message", "Message"), widget=forms.Textarea(attrs={"rows": 8}), max_length=BODY_MAX_CHARS
    )
    internal = forms.BooleanField(label=_("Internal note (only agents see it)"), required=False)
    attachments = AttachmentsField(label=_("Attachments"))
    status = forms.ChoiceField(
        label=_("Then set the status to"), choices=[("", _("Keep the status"))] + list(Ticket.Status.choices), required=False
    )
    priority = forms.ChoiceField(
        label=_("and the priority to"), choices=[("", _("Keep the priority"))] + list(Priority.choices), required=False
    )
    canned = forms.IntegerField(widget=forms.HiddenInput, required=False)
    last_seen = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args, replies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pick"].choices = [("", _("Choose…"))] + [(str(c.pk), c.title) for c in replies]
        self.fields["attachments"].help_text = _attachments_help()
        _help_linked(self)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=pgettext_lazy("state of an item", "Status"), choices=Ticket.Status.choices)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(label=pgettext_lazy("ticket", "Priority"), choices=Priority.choices)


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label=_("Assign to"), required=False)

    def __init__(self, *args, agents=(), allow_nobody=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = _assignees(agents, allow_nobody)


class SecurityActionForm(forms.Form):
    action = forms.ChoiceField(label=pgettext_lazy("security action", "Action"), choices=list(ACTIONS.items()))
    # One per rendered form: the same form sent twice acts once (support.services.security.customer_protect).
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64, initial=lambda: uuid.uuid4().hex)
    reason = forms.CharField(
        label=_("Reason (kept in the audit log)"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, strip=True
    )


class FreezeLiftRequestForm(forms.Form):
    freeze = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Why should the freeze be lifted?"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

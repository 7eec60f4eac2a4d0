"""Admin for the support desk's configuration (calendars, SLA policies, queues, categories, canned
replies, agents) and read-only views of what the desk records (tickets and their conversation,
SLA clocks and events, inbound mail, CSAT). Tickets are worked in the console, never here: every
change to a ticket goes through support.services.tickets, which moves the SLA clocks with it."""

import string
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data
from auditlog.registry import auditlog
from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from accounts.admin import ReadOnlyAdmin as ReadOnly
from accounts.admin import problem_message
from accounts.models import User
from config.languages import SUPPORT_LANGUAGES, UI_LANGUAGES
from support.errors import TicketRefused
from support.models import (
    AgentProfile,
    Announcement,
    Calendar,
    CalendarInterval,
    CannedReply,
    Channel,
    Holiday,
    InboundMail,
    Message,
    OutboundMail,
    Priority,
    Queue,
    SatisfactionRating,
    SlaClock,
    SlaEvent,
    SlaNotification,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
    Ticket,
    TicketCategory,
)
from support.services import calendars, routing
from support.sla import engine

# Support queues by their language's own name (zh, es and pt cover two UI languages each).
_NATIVE = {code: name for code, name, _plurals in UI_LANGUAGES} | {"zh": "中文", "es": "Español", "pt": "Português"}
SUPPORT_LANGUAGE_LABELS = [(code, f"{code} · {_NATIVE[code]}") for code in SUPPORT_LANGUAGES]
PLACEHOLDERS = ("customer_name", "asset", "amount", "ticket")
VIP_TIERS = [(tier, tier) for tier in range(6)]


@admin.register(Announcement)
class AnnouncementAdmin(TranslationAdmin):
    # Plain TranslationAdmin: the tabbed variant loads jQuery UI from a CDN, which the CSP forbids.
    list_display = ["title", "published_at", "expires_at", "is_published"]
    list_filter = ["is_published"]
    search_fields = ["title_en", "body_en"]
    date_hierarchy = "published_at"


# --- Calendars ---------------------------------------------------------------------------------------


class CalendarForm(forms.ModelForm):
    class Meta:
        model = Calendar
        fields = ["name", "time_zone", "around_the_clock", "country"]

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(_("Enter an IANA time zone such as Europe/Madrid."), code="time_zone")
        return name

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if country and country not in holiday_data.list_supported_countries():
            raise forms.ValidationError(_("No public holidays are known for this country code."), code="country")
        return country

    def clean(self):
        data = super().clean()
        if data.get("around_the_clock") and data.get("country"):
            self.add_error("country", _("A 24/7 calendar has no holidays: leave the country empty or untick 24/7."))
        return data


def _kept(formset) -> list[dict]:
    """The cleaned rows an inline formset will keep (neither empty nor marked for deletion)."""
    return [form.cleaned_data for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]


# A 24/7 calendar's intervals may only say what the flag says: every day, midnight to midnight.
WHOLE_WEEK = {(weekday, time(0), time(0)) for weekday in range(7)}


class CalendarIntervalFormSet(forms.BaseInlineFormSet):
    """One truth for business time: the `around_the_clock` flag, when ticked, is what the SLA engine
    and the notifications use, so intervals that say otherwise are refused rather than ignored; an
    office calendar needs at least one interval (without business time no clock could come due)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        spans = {(row["weekday"], row["start"], row["end"]) for row in _kept(self)}
        if self.instance.around_the_clock:
            if spans and spans != WHOLE_WEEK:
                raise forms.ValidationError(
                    _("A 24/7 calendar counts every hour: remove its intervals or untick 24/7."), code="around_the_clock"
                )
        elif not spans:
            raise forms.ValidationError(
                _("Add at least one working interval or tick 24/7: without business time no SLA clock can come due."), code="empty"
            )


class HolidayFormSet(forms.BaseInlineFormSet):
    """A 24/7 calendar counts holidays too (VIP and account security never close): none may be listed."""

    def clean(self):
        super().clean()
        if not any(self.errors) and self.instance.around_the_clock and _kept(self):
            raise forms.ValidationError(
                _("A 24/7 calendar counts every hour, holidays too: remove its holidays or untick 24/7."), code="around_the_clock"
            )


class CalendarIntervalInline(admin.TabularInline):
    model = CalendarInterval
    formset = CalendarIntervalFormSet
    fields = ["weekday", "start", "end"]
    extra = 0

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "weekday":
            return forms.TypedChoiceField(choices=list(WEEKDAYS.items()), coerce=int, label=_("weekday"))
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class HolidayInline(admin.TabularInline):
    model = Holiday
    formset = HolidayFormSet
    fields = ["name", "first_day", "last_day"]
    extra = 0


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    """Saving (with its intervals and holidays) recomputes the running clocks on it in the background."""

    form = CalendarForm
    list_display = ["name", "time_zone", "country", "around_the_clock", "interval_count", "holiday_count", "updated_at"]
    list_filter = ["around_the_clock", "country"]
    search_fields = ["name", "time_zone", "country"]
    inlines = [CalendarIntervalInline, HolidayInline]
    actions = ["seed_holidays_next_year"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(interval_total=Count("intervals", distinct=True), holiday_total=Count("holidays", distinct=True))
        )

    @admin.display(description=_("intervals"), ordering="interval_total")
    def interval_count(self, obj):
        return obj.interval_total

    @admin.display(description=_("holidays"), ordering="holiday_total")
    def holiday_count(self, obj):
        return obj.holiday_total

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        engine.calendar_changed(calendar=form.instance)

    @admin.action(description=_("Seed public holidays for next year (from the calendar's country)"), permissions=["change"])
    def seed_holidays_next_year(self, request, queryset):
        year = timezone.now().year + 1
        for calendar in queryset:
            if not calendar.country:
                self.message_user(request, problem_message(calendar.name, gettext("The calendar has no country.")), messages.WARNING)
                continue
            try:
                added = calendars.calendar_holidays_seed(calendar=calendar, years=[year])
            except TicketRefused as refused:
                self.message_user(request, problem_message(calendar.name, refused.message), messages.ERROR)
                continue
            if added:
                engine.calendar_changed(calendar=calendar)
            text = ngettext(
                "%(calendar)s: added %(count)d holiday for %(year)d.", "%(calendar)s: added %(count)d holidays for %(year)d.", added
            )
            self.message_user(request, text % {"calendar": calendar.name, "count": added, "year": year}, messages.SUCCESS)


# --- SLA policies --------------------------------------------------------------------------------------


class SlaPolicyForm(forms.ModelForm):
    tiers = forms.TypedMultipleChoiceField(
        choices=VIP_TIERS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label=_("VIP tiers (none: all)")
    )
    channels = forms.MultipleChoiceField(
        choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple, label=_("channels (none: all)")
    )
    priorities = forms.MultipleChoiceField(
        choices=Priority.choices, required=False, widget=forms.CheckboxSelectMultiple, label=_("priorities (none: all)")
    )

    class Meta:
        model = SlaPolicy
        fields = ["name", "position", "is_active", "calendar", "warn_before", "tiers", "queues", "channels", "categories", "priorities"]


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    fields = ["priority", "metric", "seconds", "as_duration"]
    readonly_fields = ["as_duration"]
    extra = 0

    @admin.display(description=_("business time"))
    def as_duration(self, obj):
        if not obj.seconds:
            return "-"
        hours, rest = divmod(obj.seconds, 3600)
        return f"{hours}:{rest // 60:02d}"


class SlaPolicyVersionInline(admin.TabularInline):
    """The published snapshots: running clocks keep the version they started with."""

    model = SlaPolicyVersion
    fields = ["version", "created_at", "created_by", "calendar", "warn_before", "targets"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-version"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by", "calendar")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """First matching active policy by position wins. Saving publishes a new version when the
    targets, calendar or warning time changed (support.sla.engine.policy_version_publish)."""

    form = SlaPolicyForm
    list_display = ["position", "name", "is_active", "calendar", "warn_before", "filters", "version"]
    list_display_links = ["name"]
    list_filter = ["is_active", "calendar"]
    search_fields = ["name"]
    ordering = ["position"]
    list_select_related = ["calendar"]
    readonly_fields = ["version"]
    inlines = [SlaTargetInline, SlaPolicyVersionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("queues", "categories")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=_("applies to"))
    def filters(self, obj):
        parts = []
        if obj.tiers:
            parts.append(gettext("tiers %(tiers)s") % {"tiers": ", ".join(str(t) for t in obj.tiers)})
        queues = [queue.language for queue in obj.queues.all()]
        if queues:
            parts.append(gettext("queues %(queues)s") % {"queues": ", ".join(queues)})
        if obj.channels:
            parts.append(gettext("channels %(channels)s") % {"channels": ", ".join(obj.channels)})
        categories = [category.slug for category in obj.categories.all()]
        if categories:
            parts.append(gettext("categories %(categories)s") % {"categories": ", ".join(categories)})
        if obj.priorities:
            parts.append(gettext("priorities %(priorities)s") % {"priorities": ", ".join(obj.priorities)})
        return "; ".join(parts) or gettext("every ticket")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        engine.policy_version_publish(policy=form.instance, by=request.user)


# --- Queues, categories, canned replies, agents --------------------------------------------------------


def _staff_choices(kwargs):
    kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True).order_by("email")
    return kwargs


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["language", "name", "calendar", "lead", "fallback_after", "is_active", "open_count", "unassigned_count"]
    list_display_links = ["language", "name"]
    list_filter = ["is_active", "calendar"]
    search_fields = ["language", "name"]
    list_select_related = ["calendar", "lead"]

    def get_queryset(self, request):
        open_tickets = Q(tickets__status__in=Ticket.OPEN_STATUSES)
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_total=Count("tickets", filter=open_tickets),
                unassigned_total=Count("tickets", filter=open_tickets & Q(tickets__assignee__isnull=True)),
            )
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lead":
            kwargs = _staff_choices(kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "language":
            kwargs["choices"] = SUPPORT_LANGUAGE_LABELS
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @admin.display(description=_("open tickets"), ordering="open_total")
    def open_count(self, obj):
        return obj.open_total

    @admin.display(description=_("unassigned"), ordering="unassigned_total")
    def unassigned_count(self, obj):
        return obj.unassigned_total


@admin.register(TicketCategory)
class TicketCategoryAdmin(TranslationAdmin):
    list_display = ["slug", "name", "position", "default_priority", "links", "is_active"]
    list_filter = ["is_active", "default_priority"]
    search_fields = ["slug", "name_en"]


class CannedReplyForm(forms.ModelForm):
    """Placeholders are the four the console fills in; anything else in braces is a typo the
    customer would read literally."""

    def clean(self):
        data = super().clean()
        allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        for name, value in list(data.items()):
            if not isinstance(value, str) or not name.startswith(("title", "body")):
                continue
            try:
                used = {field for _text, field, _spec, _conv in string.Formatter().parse(value) if field is not None}
            except ValueError:
                self.add_error(name, gettext("Unbalanced braces. The placeholders are %(allowed)s.") % {"allowed": allowed})
                continue
            unknown = sorted(used - set(PLACEHOLDERS))
            if unknown:
                self.add_error(
                    name,
                    gettext("Unknown placeholder %(name)s. The placeholders are %(allowed)s.")
                    % {"name": "{" + unknown[0] + "}", "allowed": allowed},
                )
        return data


@admin.register(CannedReply)
class CannedReplyAdmin(TranslationAdmin):
    """Replies and macros agents insert in the customer's language (each language's column, falling
    back as the site does); a macro also sets the status and/or the priority."""

    form = CannedReplyForm
    list_display = ["title", "category", "set_status", "set_priority", "macro", "position", "is_active"]
    list_filter = ["is_active", "category", "set_status", "set_priority"]
    search_fields = ["title_en", "body_en"]
    list_select_related = ["category"]

    @admin.display(description=pgettext_lazy("canned reply", "macro"), boolean=True)
    def macro(self, obj):
        return obj.is_macro


class AgentProfileForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        choices=SUPPORT_LANGUAGE_LABELS, widget=forms.CheckboxSelectMultiple, label=_("languages this agent answers")
    )

    class Meta:
        model = AgentProfile
        fields = ["user", "display_name", "languages", "capacity", "presence", "is_head_of_support", "calendar"]

    def clean_languages(self):
        chosen = set(self.cleaned_data["languages"])
        return [code for code in SUPPORT_LANGUAGES if code in chosen]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    """Only online agents are given new tickets, up to their capacity (support.services.routing)."""

    form = AgentProfileForm
    list_display = [
        "display_name",
        "user",
        "language_list",
        "capacity",
        "open_load",
        "presence",
        "presence_changed_at",
        "last_assigned_at",
        "is_head_of_support",
    ]
    list_filter = ["presence", "is_head_of_support"]
    search_fields = ["display_name", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["presence_changed_at", "last_assigned_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(open_total=Count("user__assigned_tickets", filter=Q(user__assigned_tickets__status__in=Ticket.OPEN_STATUSES)))
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs = _staff_choices(kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("languages"))
    def language_list(self, obj):
        return ", ".join(obj.languages or [])

    @admin.display(description=_("open tickets"), ordering="open_total")
    def open_load(self, obj):
        return obj.open_total

    def save_model(self, request, obj, form, change):
        if "presence" in form.changed_data:
            obj.presence_changed_at = timezone.now()
        super().save_model(request, obj, form, change)


# --- What the desk records (read-only) ---------------------------------------------------------------


class MessageInline(admin.TabularInline):
    """The conversation, internal notes included, as recorded: staff read it here, never edit it."""

    model = Message
    fields = ["created_at", "kind", "internal", "author", "via", "event", "data", "body", "attachment_names"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author").prefetch_related("attachments")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("attachments"))
    def attachment_names(self, obj):
        # Names only: files are served to the ticket's participants through the access rule, not from admin.
        return ", ".join(attachment.original_name for attachment in obj.attachments.all()) or "-"


class SlaClockInline(admin.TabularInline):
    model = SlaClock
    fields = [
        "metric",
        "cycle",
        "state",
        "policy_version",
        "target_seconds",
        "used_seconds",
        "started_at",
        "due_at",
        "warn_at",
        "warned_at",
        "breached_at",
        "fulfilled_at",
        "stopped_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("policy_version__policy")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnly):
    """Read-only: tickets are worked in the console (support.services.tickets moves their clocks)."""

    list_display = [
        "reference",
        "subject",
        "customer",
        "language",
        "queue",
        "home_queue",
        "category",
        "priority",
        "status",
        "tier",
        "assignee",
        "next_due_at",
        "created_at",
    ]
    list_filter = [
        "status",
        "priority",
        "queue",
        "home_queue",
        "category",
        "channel",
        "tier",
        ("assignee", admin.EmptyFieldListFilter),
        ("fallback_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["reference", "subject", "customer__email"]
    list_select_related = ["customer", "queue", "home_queue", "category", "assignee"]
    date_hierarchy = "created_at"
    inlines = [MessageInline, SlaClockInline]
    actions = ["route_now"]

    @admin.action(description=_("Route selected unassigned tickets now"), permissions=["supervise"])
    def route_now(self, request, queryset):
        assigned = fell_back = 0
        for ticket in queryset.filter(assignee__isnull=True, status__in=Ticket.OPEN_STATUSES):
            result = routing.ticket_route(ticket=ticket)
            assigned += result.assigned_to is not None
            fell_back += bool(result.fell_back)
        text = ngettext("Assigned %(count)d ticket.", "Assigned %(count)d tickets.", assigned)
        self.message_user(request, text % {"count": assigned}, messages.SUCCESS)
        if fell_back:
            text = ngettext("%(count)d ticket moved to the English queue.", "%(count)d tickets moved to the English queue.", fell_back)
            self.message_user(request, text % {"count": fell_back}, messages.INFO)

    def has_supervise_permission(self, request):
        return request.user.has_perm("support.supervise_ticket")


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnly):
    list_display = ["ticket", "metric", "cycle", "state", "due_at", "warn_at", "used_seconds", "target_seconds", "policy_version"]
    list_filter = ["state", "metric"]
    search_fields = ["ticket__reference"]
    list_select_related = ["ticket", "policy_version__policy"]
    date_hierarchy = "started_at"


@admin.register(SlaEvent)
class SlaEventAdmin(ReadOnly):
    list_display = ["at", "ticket", "clock", "kind", "used_seconds", "data"]
    list_filter = ["kind"]
    search_fields = ["ticket__reference"]
    list_select_related = ["ticket", "clock"]
    date_hierarchy = "at"


@admin.register(InboundMail)
class InboundMailAdmin(ReadOnly):
    list_display = ["received_at", "sender", "recipient", "subject", "outcome", "reason", "ticket", "size"]
    list_filter = ["outcome"]
    search_fields = ["sender", "recipient", "subject", "mail_id"]
    list_select_related = ["ticket"]
    date_hierarchy = "received_at"


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(ReadOnly):
    list_display = ["created_at", "ticket", "solve_number", "score", "agent", "comment"]
    list_filter = ["score"]
    search_fields = ["ticket__reference", "comment"]
    list_select_related = ["ticket", "agent"]
    date_hierarchy = "created_at"


@admin.register(OutboundMail)
class OutboundMailAdmin(ReadOnly):
    """The customer notification outbox: what was mailed to whom, and when (support/mail_tasks.py sends each once)."""

    list_display = ["created_at", "ticket", "recipient", "language", "mail_id", "sent_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), "language"]
    search_fields = ["ticket__reference", "recipient", "mail_id"]
    list_select_related = ["ticket"]
    date_hierarchy = "created_at"


@admin.register(SlaNotification)
class SlaNotificationAdmin(ReadOnly):
    """The escalation ladder's outbox: each alert held until the recipient's working hours, then sent once."""

    list_display = ["send_after", "step", "recipient", "ticket", "clock", "sent_at", "created_at"]
    list_filter = ["step", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["ticket__reference", "recipient__email"]
    list_select_related = ["ticket", "recipient", "clock"]
    date_hierarchy = "send_after"


auditlog.register(Announcement)
auditlog.register(Calendar)
auditlog.register(CalendarInterval)
auditlog.register(Holiday)
auditlog.register(Queue)
auditlog.register(TicketCategory)
auditlog.register(CannedReply)
auditlog.register(AgentProfile, exclude_fields=["last_assigned_at"])
auditlog.register(SlaPolicy, m2m_fields={"queues", "categories"})
auditlog.register(SlaTarget)

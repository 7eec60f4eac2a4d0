"""Customer support forms. They check shape only; ownership, limits and file contents are checked
again by the services (support.services.tickets / attachments), which are the rule."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from support.selectors.customer import link_label, linkable_objects

# The longest message a customer writes (web form or email): a page that polls the conversation re-reads it.
BODY_MAX_CHARS = 20_000


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files from one `<input type=file multiple>`; returns [(name, bytes), ...]."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        limit = settings.SUPPORT_ATTACHMENTS_PER_MESSAGE
        if len(files) > limit:
            raise forms.ValidationError(
                ngettext("Attach at most %(count)d file.", "Attach at most %(count)d files.", limit) % {"count": limit}
            )
        cleaned = []
        for upload in files:
            if upload.size > settings.SUPPORT_ATTACHMENT_MAX_BYTES:  # before reading it into memory
                raise forms.ValidationError(
                    _("The file %(name)s is larger than %(limit)s.")
                    % {"name": upload.name, "limit": filesizeformat(settings.SUPPORT_ATTACHMENT_MAX_BYTES)}
                )
            cleaned.append((upload.name, upload.read()))
        return cleaned


def _attachments_help():
    count = settings.SUPPORT_ATTACHMENTS_PER_MESSAGE
    return ngettext(
        "Up to %(count)d file of %(size)s: an image (PNG, JPEG, GIF, WebP), a PDF or plain text.",
        "Up to %(count)d files of %(size)s each: images (PNG, JPEG, GIF, WebP), PDF or plain text.",
        count,
    ) % {"count": count, "size": filesizeformat(settings.SUPPORT_ATTACHMENT_MAX_BYTES)}


def _help_linked(form: forms.Form) -> None:
    # Screen readers read a field's help (limits, "only your own") with it: includes/field.html ids it <id>_help.
    for bound in form:
        if bound.help_text:
            bound.field.widget.attrs["aria-describedby"] = f"{bound.id_for_label}_help"


class TicketForm(forms.Form):
    """A new ticket in a chosen category; `related` offers only the customer's own objects of the
    kind the category links (TicketCategory.links)."""

    subject = forms.CharField(label=pgettext_lazy("ticket", "Subject"), max_length=200)
    related = forms.ChoiceField(required=False)
    body = forms.CharField(label=_("Describe the problem"), max_length=BODY_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 8}))
    attachments = AttachmentsField(label=_("Attachments"))

    def __init__(self, *args, customer, category, **kwargs):
        super().__init__(*args, **kwargs)
        self.category = category
        self.link_kind = category.links
        self.fields["attachments"].help_text = _attachments_help()
        choices = linkable_objects(customer=customer, kind=self.link_kind) if self.link_kind else []
        if choices:
            self.fields["related"].label = link_label(self.link_kind)
            self.fields["related"].choices = [("", _("None of them"))] + choices
            self.fields["related"].help_text = _("Only your own are listed.")
        else:
            del self.fields["related"]
        _help_linked(self)

    def links(self) -> dict:
        value = self.cleaned_data.get("related")
        return {self.link_kind: int(value)} if value else {}


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Your reply"), max_length=BODY_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 5}))
    attachments = AttachmentsField(label=_("Attachments"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = _attachments_help()
        _help_linked(self)


class RatingForm(forms.Form):
    SCORES = [
        (5, _("5 – Very good")),
        (4, _("4 – Good")),
        (3, _("3 – Neither good nor bad")),
        (2, _("2 – Bad")),
        (1, _("1 – Very bad")),
    ]
    score = forms.TypedChoiceField(label=_("How was our answer?"), choices=SCORES, coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Comment (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

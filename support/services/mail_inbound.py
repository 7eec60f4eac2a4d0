"""Mail from customers into the support desk (`manage.py support_mail_inbound` feeds it what the MTA
delivers). A reply threads to its ticket by the signed reply-to address, else by In-Reply-To /
References matching one of our outbound Message-IDs; the sender must be the ticket's customer.
Mail to the support address from a known customer without a thread opens a ticket. Every mail
read is recorded as an InboundMail with its outcome; nothing of a body is ever logged."""

import hashlib
import logging
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from support import mail
from support.errors import TicketRefused
from support.forms import BODY_MAX_CHARS
from support.models import Channel, InboundMail, Message, OutboundMail, Ticket, TicketCategory
from support.services.notify import ticket_acknowledge
from support.services.tickets import message_post_customer, reopen_deadline, ticket_create

log = logging.getLogger(__name__)
Outcome = InboundMail.Outcome

# Internal events written on a ticket for its agents (support.mail.mail_event_text renders them).
EVENT_REFUSED = "mail_refused"
EVENT_ATTACHMENT_REFUSED = "mail_attachment_refused"
EVENT_FOLLOW_UP = "mail_follow_up"


@dataclass
class _Filed:
    outcome: str
    reason: str = ""
    ticket: Ticket | None = None
    message: Message | None = None
    recipient: str = ""
    attachments: int = 0
    refused_files: list = field(default_factory=list)


def mail_receive(*, raw: bytes, size: int | None = None, envelope_recipient: str = "") -> InboundMail:
    """Read one RFC 822 mail and file it.

    Guarantees: idempotent per Message-ID (a second delivery, also one running at the same time, is
    recorded as `duplicate` and changes nothing); a reply is added only when its sender is the
    ticket's customer, else it is `refused` and an internal event tells the ticket's agents; a
    forged or altered reply token is `refused`; the text is kept when an attachment is refused.
    `size` is the mail's full size when `raw` was cut at SUPPORT_MAIL_MAX_BYTES + 1."""
    size = len(raw) if size is None else size
    too_large = size > settings.SUPPORT_MAIL_MAX_BYTES
    parsed = BytesParser(policy=policy.default).parsebytes(raw, headersonly=too_large)
    fields = {
        "mail_id": _mail_id(parsed, raw),
        "sender": (mail.addresses_in(parsed.get("From")) or [""])[0][:320],
        "subject": _header_text(parsed.get("Subject"))[:300],
        "size": size,
    }
    if InboundMail.objects.filter(mail_id=fields["mail_id"]).exclude(outcome=Outcome.DUPLICATE).exists():
        record = InboundMail.objects.create(**fields, outcome=Outcome.DUPLICATE, reason="seen_before")
    else:
        try:
            with transaction.atomic():
                filed = _file(parsed, fields=fields, too_large=too_large, envelope_recipient=envelope_recipient)
                record = InboundMail.objects.create(
                    **fields,
                    outcome=filed.outcome,
                    reason=filed.reason[:200],
                    ticket=filed.ticket,
                    message=filed.message,
                    recipient=filed.recipient[:320],
                )
        except IntegrityError:
            # The same mail, delivered twice at once, was filed by the other delivery (unique Message-ID).
            if not InboundMail.objects.filter(mail_id=fields["mail_id"]).exclude(outcome=Outcome.DUPLICATE).exists():
                raise
            record = InboundMail.objects.create(**fields, outcome=Outcome.DUPLICATE, reason="seen_before")
    log.info(
        "inbound mail %s: %s %s ticket=%s size=%d",
        record.mail_id,
        record.outcome,
        record.reason or "-",
        record.ticket.reference if record.ticket_id else "-",
        record.size,
    )
    return record


def _file(parsed: EmailMessage, *, fields: dict, too_large: bool, envelope_recipient: str) -> _Filed:
    sender = fields["sender"]
    recipients = mail.addresses_in(envelope_recipient, *_all(parsed, "Delivered-To", "X-Original-To", "To", "Cc"))
    token_address = next((address for address in recipients if mail.token_of_address(address)), "")
    recipient = token_address or next((address for address in recipients if mail.is_support_address(address)), "")
    if not sender:
        return _Filed(Outcome.REFUSED, "no_sender", recipient=recipient)
    if mail.is_support_address(sender):
        return _Filed(Outcome.REFUSED, "from_us", recipient=recipient)  # a loop or a bounce of our own mail
    if token_address:
        ids = mail.reply_token_read(mail.token_of_address(token_address))
        ticket = Ticket.objects.select_related("customer").filter(pk=ids[0], customer_id=ids[1]).first() if ids else None
        if ticket is None:
            return _Filed(Outcome.REFUSED, "bad_token", recipient=recipient)
    else:
        ticket = _ticket_by_headers(parsed)
    if _is_automatic(parsed, sender):
        # An out-of-office reply or a bounce would reopen a solved ticket: recorded, never added.
        return _Filed(Outcome.REFUSED, "auto_reply", ticket=ticket, recipient=recipient)
    if not sender_authenticated(parsed, sender=sender, authserv_id=settings.SUPPORT_MAIL_AUTHSERV_ID):
        if ticket is not None:
            _report(ticket=ticket, reason="unauthenticated", fields=fields)
        return _Filed(Outcome.REFUSED, "unauthenticated", ticket=ticket, recipient=recipient)
    if ticket is not None and sender.lower() != ticket.customer.email.lower():
        _report(ticket=ticket, reason="sender_mismatch", fields=fields)
        return _Filed(Outcome.REFUSED, "sender_mismatch", ticket=ticket, recipient=recipient)
    customer = ticket.customer if ticket is not None else User.objects.filter(email__iexact=sender, is_active=True).first()
    if customer is None:
        return _Filed(Outcome.UNMATCHED, "unknown_sender", recipient=recipient)
    if too_large:
        if ticket is not None:
            _report(ticket=ticket, reason="too_large", fields=fields)
        return _Filed(Outcome.REFUSED, "too_large", ticket=ticket, recipient=recipient)
    text = message_text(parsed)
    truncated = len(text) > BODY_MAX_CHARS
    text = text[:BODY_MAX_CHARS]  # as long as the web form allows; the rest is not kept
    files = _attachments(parsed)
    body = text or "\n".join(name for name, _data in files)  # a mail of attachments only still lands
    if not body:
        return _Filed(Outcome.REFUSED, "empty", ticket=ticket, recipient=recipient)
    try:
        if ticket is None or _closed(ticket):
            ticket, message = _ticket_open(
                customer=customer, subject=fields["subject"], body=body, mail_id=fields["mail_id"], previous=ticket
            )
        else:
            message = message_post_customer(
                ticket=ticket, customer=customer, body=body, via=Channel.EMAIL, email_message_id=fields["mail_id"]
            )
    except TicketRefused as refusal:
        return _Filed(Outcome.REFUSED, refusal.code, ticket=ticket, recipient=recipient)
    filed = _Filed(Outcome.ACCEPTED, "truncated" if truncated else "", ticket=ticket, message=message, recipient=recipient)
    _attachments_add(message=message, files=files, filed=filed)
    return filed


_RESULT = re.compile(r"^\s*([a-z0-9-]+)\s*=\s*([a-z]+)(.*)$", re.I | re.S)
_PROPERTY = re.compile(r"\b(header\.d|header\.i|header\.from|smtp\.mailfrom|smtp\.from)\s*=\s*\"?([^\s;\"()]+)", re.I)
_COMMENT = re.compile(r"\([^()]*\)")


def _domain(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip().lower().rstrip(".")


def sender_authenticated(parsed: EmailMessage, *, sender: str, authserv_id: str) -> bool:
    """Did our own MTA authenticate the From domain? Only Authentication-Results headers that carry
    our authserv-id count (RFC 8601: the MTA removes any such header arriving from outside). A
    pass is dmarc=pass, or dkim=pass / spf=pass for exactly the From domain. Without an
    authserv-id configured nothing is checked."""
    if not authserv_id:
        return True
    want = _domain(sender)
    for header in parsed.get_all("Authentication-Results") or []:
        text = _COMMENT.sub("", str(header))
        server, _sep, rest = text.partition(";")
        if [word.lower() for word in server.split()[:1]] != [authserv_id.lower()]:
            continue  # written by someone else: it proves nothing
        for result in rest.split(";"):
            found = _RESULT.match(result)
            if not found or found.group(2).lower() != "pass":
                continue
            method = found.group(1).lower()
            domains = {_domain(value) for _name, value in _PROPERTY.findall(found.group(3))}
            if method in ("dmarc", "dkim", "spf") and (want in domains or (method == "dmarc" and not domains)):
                return True
    return False


def _closed(ticket: Ticket) -> bool:
    deadline = reopen_deadline(ticket)
    return ticket.status == Ticket.Status.CLOSED or (deadline is not None and deadline < timezone.now())


def _ticket_open(*, customer: User, subject: str, body: str, mail_id: str, previous: Ticket | None) -> tuple[Ticket, Message]:
    """A new ticket by email in the customer's language (a follow-up when `previous` is closed)."""
    category = previous.category if previous is not None else _default_category()
    subject = _subject_clean(subject) or (previous.subject if previous is not None else "")
    if not subject:
        with translation.override(customer.language):
            subject = _("Email to support")
    ticket, message = ticket_create(
        customer=customer, subject=subject, body=body, category=category, channel=Channel.EMAIL, email_message_id=mail_id
    )
    if previous is not None:
        _event_internal(ticket=ticket, event=EVENT_FOLLOW_UP, data={"previous": previous.reference})
    ticket_acknowledge(ticket=ticket, message=message)
    return ticket, message


def _default_category() -> TicketCategory:
    category = TicketCategory.objects.filter(slug="other", is_active=True).first() or TicketCategory.objects.filter(is_active=True).first()
    if category is None:
        raise TicketRefused("no_category", "no active ticket category")
    return category


def _attachments_add(*, message: Message, files: list[tuple[str, bytes]], filed: _Filed) -> None:
    """Each file on its own: a refused one (type, size, count) is reported, the text and the others stay."""
    from support.services.attachments import attachments_add

    for name, data in files:
        try:
            with transaction.atomic():
                attachments_add(message=message, files=[(name, data)])
        except TicketRefused as refusal:
            filed.refused_files.append({"name": name[:200], "code": refusal.code})
        else:
            filed.attachments += 1
    if filed.refused_files:
        filed.reason = (
            ("truncated " if filed.reason else "")
            + "attachments_refused:"
            + ",".join(sorted({item["code"] for item in filed.refused_files}))
        )
        _event_internal(ticket=message.ticket, event=EVENT_ATTACHMENT_REFUSED, data={"files": filed.refused_files})


def _report(*, ticket: Ticket, reason: str, fields: dict) -> None:
    """An internal event on the ticket: its agents see that a mail was refused, and from whom."""
    _event_internal(
        ticket=ticket, event=EVENT_REFUSED, data={"reason": reason, "sender": fields["sender"], "subject": fields["subject"][:200]}
    )


def _event_internal(*, ticket: Ticket, event: str, data: dict) -> Message:
    # For the ticket's agents only (internal=True): no customer page, fragment or mail shows it.
    return Message.event_add(ticket=ticket, event=event, data=data, internal=True)


def _ticket_by_headers(parsed: EmailMessage) -> Ticket | None:
    """The ticket one of our outbound Message-IDs (or the customer's own earlier mail) belongs to."""
    ids = mail.mail_ids_in(parsed.get("In-Reply-To")) + mail.mail_ids_in(parsed.get("References"))
    if not ids:
        return None
    outbound = OutboundMail.objects.filter(mail_id__in=ids).select_related("ticket__customer").order_by("-id").first()
    if outbound is not None:
        return outbound.ticket
    earlier = (
        Message.objects.filter(email_message_id__in=ids, kind=Message.Kind.CUSTOMER)
        .select_related("ticket__customer")
        .order_by("-id")
        .first()
    )
    return earlier.ticket if earlier is not None else None


def _all(parsed: EmailMessage, *names: str) -> list:
    return [value for name in names for value in (parsed.get_all(name) or [])]


def _header_text(value) -> str:
    return " ".join(str(value or "").split())


def _mail_id(parsed: EmailMessage, raw: bytes) -> str:
    """The Message-ID, or (none, or too long) a digest of the bytes: the same mail twice is still one."""
    found = mail.mail_ids_in(parsed.get("Message-ID"))
    if found and len(found[0]) <= 255:
        return found[0]
    return f"<{hashlib.sha256(raw).hexdigest()[:48]}@no-message-id.invalid>"


def _is_automatic(parsed: EmailMessage, sender: str) -> bool:
    """Auto-replies and bounces (RFC 3834 Auto-Submitted, Precedence, delivery reports)."""
    auto = str(parsed.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(parsed.get("Precedence", "")).strip().lower()
    local = sender.rpartition("@")[0].lower()
    return (
        auto not in ("", "no")
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or parsed.get_content_type() == "multipart/report"
        or local in ("mailer-daemon", "postmaster")
        or parsed.get("X-Autoreply") is not None
    )


_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|tr|rv|res|odp|antw|ynt|回复|答复|转发)\s*(\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)
_REFERENCE_TAG = re.compile(r"\s*\[#[0-9A-Z]{6,12}\]\s*$")


def _subject_clean(subject: str) -> str:
    return _REFERENCE_TAG.sub("", _SUBJECT_PREFIX.sub("", subject)).strip()[:200]


# --- The text of a mail --------------------------------------------------------------------------------


def message_text(parsed: EmailMessage) -> str:
    """What the customer wrote: text/plain preferred, else the HTML part as plain text (no markup is
    ever kept), with the quoted history and the signature removed."""
    part = parsed.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _decoded(part)
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return reply_text(content)


def _decoded(part: EmailMessage) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def _attachments(parsed: EmailMessage) -> list[tuple[str, bytes]]:
    files = []
    for part in parsed.iter_attachments():
        if part.is_multipart():
            continue  # a forwarded mail (message/rfc822) or a nested container
        name = part.get_filename()
        if not name and part.get_content_maintype() == "text":
            continue  # a second text part, not a file
        data = part.get_payload(decode=True) or b""
        files.append(((name or f"attachment-{len(files) + 1}").strip()[:200], data))
    return files


class _HtmlText(HTMLParser):
    """Plain text of an HTML mail part: blocks become lines, quoted history (blockquote) and
    scripts, styles and heads are dropped, links keep their address."""

    SKIP = {"script", "style", "head", "title", "blockquote"}
    BLOCK = {"p", "div", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "section", "article"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.href: str | None = None
        self.link_text = ""

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif self.skipping:
            return
        elif tag == "br":
            self.out.append("\n")
        elif tag in self.BLOCK:
            self.out.append("\n\n" if tag == "p" else "\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "a":
            self.href, self.link_text = dict(attrs).get("href") or None, ""

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif self.skipping:
            return
        elif tag in self.BLOCK:
            self.out.append("\n")
        elif tag == "a" and self.href:
            if self.href.startswith(("http://", "https://")) and self.href not in self.link_text:
                self.out.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data):
        if self.skipping:
            return
        text = re.sub(r"[ \t\r\n\f]+", " ", data)
        if self.href is not None:
            self.link_text += text
        self.out.append(text)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).replace("\xa0", " ").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# The verb of a reply's attribution line ("On <date>, <someone> wrote:"), in the languages we serve.
_WROTE = (
    "wrote",
    "writes",
    "schrieb",
    "a écrit",
    "escribió",
    "ha scritto",
    "scrisse",
    "schreef",
    "escreveu",
    "napisał",
    "napisała",
    "napsal",
    "napísal",
    "a scris",
    "skrev",
    "írta",
    "yazdı",
    "написал",
    "написала",
    "написав",
    "пишет",
    "пише",
    "έγραψε",
    "đã viết",
    "menulis",
    "rakstīja",
    "rašė",
    "je napisal",
    "写道",
    "寫道",
    "のメッセージ",
    "書きました",
    "작성",
    "كتب",
    "لکھا",
    "เขียนว่า",
)
_ATTRIBUTION_END = re.compile(r"(" + "|".join(re.escape(word) for word in _WROTE) + r")[^\n]{0,3}?\s*[:：]\s*$", re.IGNORECASE)
_ATTRIBUTION_ANY = re.compile(r"(" + "|".join(re.escape(word) for word in _WROTE) + r")", re.IGNORECASE)
_HISTORY_START = re.compile(
    r"^\s*(-{2,}\s*(original message|ursprüngliche nachricht|mensaje original|message d'origine|исходное сообщение)\s*-{2,}|_{10,})\s*$",
    re.I,
)
_HEADER_LINE = re.compile(
    r"^\s*\*?(from|von|de|da|van|от|od|från|fra|kimden|من|发件人|寄件者|差出人|보낸 사람)\s*\*?\s*[:：]", re.IGNORECASE
)
_DEVICE_LINE = re.compile(
    r"^(sent from my |sent from mail for|get outlook for|enviado desde mi|envoyé de mon|von meinem|gesendet von|inviato da)", re.I
)
# How an attribution line begins: "On", "El", "Le", "Am", ... or a date.
_OPENER_WORD = re.compile(r"^\s*(on|am|le|el|il|op|em|w dniu|dne|în|den|på|vào|pada|в|у|στις|في|在|于)\b", re.IGNORECASE)
_OPENER = re.compile(_OPENER_WORD.pattern + r"|^\s*\d", re.IGNORECASE)


def _attribution_span(lines: list[str], i: int) -> int:
    """How many lines (1-3: clients wrap it) the "On <date>, <someone> wrote:" line starting at
    line i takes, 0 if it is not one. A date or an address must be in it, so "my friend wrote:" stays."""
    first = lines[i].strip()
    if not first:
        return 0
    for n in (1, 2, 3):
        chunk = [line.strip() for line in lines[i : i + n]]
        if len(chunk) < n or not chunk[-1] or (n > 1 and _OPENER_WORD.match(chunk[1])):
            return 0  # the attribution starts on a later line: this one is the customer's text
        candidate = " ".join(chunk)
        # The verb ends the line ("... wrote:"), or sits inside one that opens like an attribution ("Am ... schrieb X:").
        verb = _ATTRIBUTION_END.search(candidate) or (
            _OPENER_WORD.match(first) and candidate.endswith((":", "：")) and _ATTRIBUTION_ANY.search(candidate)
        )
        if not (verb and re.search(r"\d|@", candidate)):
            continue
        ours = n == 1 and settings.SUPPORT_MAIL_DOMAIN.lower() in candidate.lower()
        if _OPENER.match(first) or ours:
            return n
    return 0


def reply_text(text: str) -> str:
    """The new text of a reply: without quoted lines (">"), "On ... wrote:" attributions, the
    history an Outlook-style client appends under a separator or a From: block, the signature
    (after "-- ") and a trailing "Sent from my phone"."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped == "--":
            break
        if _HISTORY_START.match(line) or (_HEADER_LINE.match(line) and kept and _looks_like_header_block(lines, i)):
            break
        span = _attribution_span(lines, i)
        if span:
            i += span
            continue
        if stripped.startswith(">"):
            i += 1
            continue
        kept.append(line.rstrip())
        i += 1
    while kept and (not kept[-1].strip() or _DEVICE_LINE.match(kept[-1].strip())):
        kept.pop()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def _looks_like_header_block(lines: list[str], i: int) -> bool:
    """From: followed within a few lines by another header (Sent:, To:, Subject:, Date:): quoted mail headers."""
    return any(re.match(r"^\s*\*?[^\s:：]{2,20}\s*\*?\s*[:：]", line) for line in lines[i + 1 : i + 4])

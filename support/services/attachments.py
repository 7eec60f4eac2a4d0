"""Files on ticket messages (web uploads and inbound mail). The type is sniffed from the content,
never taken from the name or the sender's claim; images are decoded and re-encoded so nothing but
pixels survives (EXIF, GPS, comments, anything appended after the image); PDFs and plain text are
stored byte for byte. Every file gets a random stored name (support.models.attachment_path) and a
sha256; the original name is kept only as a cleaned-up label.

Allowed: PNG, JPEG, GIF, WebP (re-encoded), PDF and plain UTF-8 text (stored as is). Text that
looks like markup (HTML, SVG, XML) is refused: it is what a browser would sniff and run.
"""

import hashlib
import io
import os
import re
import unicodedata
import warnings

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps

from support.errors import TicketRefused
from support.models import Attachment, Message

IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
}
# Pixels an image may have (width x height): a screenshot of a 5K screen is 14.7 M; a decompression
# bomb declares far more than it carries, and this is checked before any pixel is decoded.
MAX_PIXELS = 40_000_000
# Markup a browser would sniff as HTML/XML even when told "text/plain" by an older or careless client.
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|iframe|svg|object|embed|meta|\?xml|!--)", re.IGNORECASE)
# Bidi controls and zero-width characters: they make "invoice\u202egnp.exe" read as "invoiceexe.png".
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def attachment_type_sniff(data: bytes) -> str | None:
    """The MIME type of one of the allowed kinds, read from the content; None when not allowed."""
    kind = filetype.guess(data)
    if kind is not None:
        return kind.mime if kind.mime in EXTENSIONS else None
    return "text/plain" if _is_plain_text(data) else None


def _is_plain_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f" for ch in text):
        return False
    return _MARKUP.search(data[:4096]) is None and not data.lstrip()[:1] == b"<"


def attachment_name_clean(name: str, mime: str) -> str:
    """A display/download label: no path, no control or bidi characters, the extension of the
    sniffed type (a PNG called report.pdf is offered as report.png)."""
    stem = os.path.splitext(_name_label(name))[0].strip(" .") or "attachment"
    extension = EXTENSIONS[mime]
    return f"{stem[: 190 - len(extension)]}.{extension}"


def _name_label(name: str) -> str:
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE_NAME.sub("_", _INVISIBLE.sub("", name)).strip(" .")[:200]


def _image_reencode(data: bytes, mime: str) -> bytes:
    """Decode and write the pixels again in the same format; nothing else of the file survives."""
    too_large = TicketRefused("attachment_too_large", _("This image has too many pixels. Send a smaller one."))
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check (at open) warns from MAX_IMAGE_PIXELS on: refuse instead.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[IMAGE_TYPES[mime]])
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise too_large
            image.seek(0)  # animations keep their first frame only
            image.load()
            # The photo keeps its orientation once the EXIF tag is gone; in place: one decoded copy, not two.
            ImageOps.exif_transpose(image, in_place=True)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise TicketRefused("attachment_unreadable", _("This image could not be read. Try saving it again as PNG or JPEG.")) from None
    fmt = IMAGE_TYPES[mime]
    if fmt == "JPEG" and image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    elif fmt in ("PNG", "WEBP") and image.mode not in ("1", "L", "LA", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA")
    elif fmt == "GIF" and image.mode not in ("1", "L", "P"):
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    keep = {"transparency": image.info["transparency"]} if fmt == "GIF" and "transparency" in image.info else {}
    image.info = {}  # EXIF, ICC, XMP, text chunks, comments: none is written again (no copy of the pixels for it)
    out = io.BytesIO()
    options = {"JPEG": {"quality": 90}, "WEBP": {"quality": 90}, "PNG": {"optimize": True}, "GIF": {}}[fmt]
    image.save(out, format=fmt, exif=b"", **options, **keep)
    return out.getvalue()


def attachment_check(*, files: list[tuple[str, bytes]], existing: int = 0) -> list[tuple[str, str, bytes]]:
    """Validate and clean files without storing anything: (clean name, sniffed type, bytes to store).
    Refuses (TicketRefused, translated) on too many, too large, empty, not allowed or unreadable."""
    limit = settings.SUPPORT_ATTACHMENTS_PER_MESSAGE
    if existing + len(files) > limit:
        raise TicketRefused(
            "attachment_too_many",
            ngettext("Attach at most %(count)d file to a message.", "Attach at most %(count)d files to a message.", limit)
            % {"count": limit},
        )
    cleaned = []
    for name, data in files:
        label = _name_label(name) or "attachment"
        if not data:
            raise TicketRefused("attachment_empty", _("The file %(name)s is empty.") % {"name": label})
        if len(data) > settings.SUPPORT_ATTACHMENT_MAX_BYTES:
            raise TicketRefused(
                "attachment_too_large",
                _("The file %(name)s is larger than %(limit)s.")
                % {"name": label, "limit": filesizeformat(settings.SUPPORT_ATTACHMENT_MAX_BYTES)},
            )
        mime = attachment_type_sniff(data)
        if mime is None:
            raise TicketRefused(
                "attachment_type",
                _("The file %(name)s is not an image (PNG, JPEG, GIF, WebP), a PDF or a plain text file.") % {"name": label},
            )
        if mime in IMAGE_TYPES:
            data = _image_reencode(data, mime)
        cleaned.append((attachment_name_clean(name, mime), mime, data))
    return cleaned


@transaction.atomic
def attachments_add(*, message: Message, files: list[tuple[str, bytes]]) -> list[Attachment]:
    """Attach (name, content) files to a message. All are checked before any is stored: a refusal
    (TicketRefused with a translated message) stores none of them."""
    if not files:
        return []
    cleaned = attachment_check(files=files, existing=message.attachments.count())
    attachments = []
    for name, mime, data in cleaned:
        attachment = Attachment(
            message=message, original_name=name, content_type=mime, size=len(data), sha256=hashlib.sha256(data).hexdigest()
        )
        attachment.file.save(name, ContentFile(data), save=False)  # upload_to ignores the name: a random path
        attachment.save()
        attachments.append(attachment)
    return attachments

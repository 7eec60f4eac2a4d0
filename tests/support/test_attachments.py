"""Attachments: the type comes from the content, images are re-encoded (nothing but pixels
survives), limits hold, a refusal stores nothing, and downloads go only to the ticket's people
with headers that stop a browser from running anything."""

import hashlib
import io
import os

import pytest
from PIL import Image

from support.errors import TicketRefused
from support.models import Attachment
from support.services.attachments import attachment_name_clean, attachments_add
from tests.factories import UserFactory
from tests.support import conftest_customer as fixtures
from tests.support.conftest_customer import PDF, jpeg_with_exif, note_internal, png_bytes, ticket_open
from tests.support.factories import agent_create

pytestmark = pytest.mark.django_db
desk, customer = fixtures.desk, fixtures.customer


@pytest.fixture
def first(desk, customer):
    return ticket_open(customer, desk).messages.get()


def refused(message, files) -> TicketRefused:
    with pytest.raises(TicketRefused) as caught:
        attachments_add(message=message, files=files)
    assert Attachment.objects.count() == 0
    return caught.value


def stored(attachment) -> bytes:
    with attachment.file.open("rb") as f:
        return f.read()


def test_a_png_named_pdf_is_stored_as_a_png_under_a_random_name(first):
    [attachment] = attachments_add(message=first, files=[("statement.pdf", png_bytes())])
    data = stored(attachment)
    assert (attachment.content_type, attachment.original_name) == ("image/png", "statement.png")
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and Image.open(io.BytesIO(data)).size == (8, 8)
    assert (attachment.size, attachment.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    name = os.path.basename(attachment.file.name)
    assert "statement" not in attachment.file.name and len(name) == 32 and int(name, 16) >= 0


def test_an_html_file_named_png_is_refused(first):
    error = refused(first, [("photo.png", b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>")])
    assert error.code == "attachment_type"
    assert error.message == "The file photo.png is not an image (PNG, JPEG, GIF, WebP), a PDF or a plain text file."


@pytest.mark.parametrize(
    "content",
    [
        b"  <svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        b"hello\n<script>alert(1)</script>",
        b"<?xml version='1.0'?><x/>",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",  # a Windows executable
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00",  # a zip
        b"\xff\xfe\x00\x00binary\x00\x01",
    ],
)
def test_markup_executables_archives_and_binary_are_refused(first, content):
    assert refused(first, [("notes.txt", content)]).code == "attachment_type"


def test_plain_text_and_pdf_are_stored_byte_for_byte(first):
    text = "Hash: 0xabc\nMontant : 12,5 €\n".encode()
    txt, pdf = attachments_add(message=first, files=[("log", text), ("bank.PDF", PDF)])
    assert (txt.content_type, txt.original_name, stored(txt)) == ("text/plain", "log.txt", text)
    assert (pdf.content_type, pdf.original_name, stored(pdf)) == ("application/pdf", "bank.pdf", PDF)


def test_a_jpeg_loses_its_exif_gps_and_anything_appended(first):
    original = jpeg_with_exif() + b"<script>appended</script>"
    assert b"SecretCam" in original and Image.open(io.BytesIO(original)).getexif()[0x010F] == "SecretCam"
    [attachment] = attachments_add(message=first, files=[("IMG_0001.JPG", original)])
    data = stored(attachment)
    image = Image.open(io.BytesIO(data))
    assert (attachment.content_type, image.format, image.size) == ("image/jpeg", "JPEG", (16, 12))
    assert dict(image.getexif()) == {} and "exif" not in image.info
    assert b"SecretCam" not in data and b"appended" not in data
    assert attachment.original_name == "IMG_0001.jpg"


def test_a_rotated_photo_keeps_its_orientation_without_the_exif_tag(first):
    out = io.BytesIO()
    photo = Image.new("RGB", (16, 12), (10, 120, 200))
    exif = photo.getexif()
    exif[0x0112] = 6  # Orientation: shown rotated 90 degrees clockwise
    exif[0x010F] = "SecretCam"
    photo.save(out, "JPEG", exif=exif.tobytes())
    [attachment] = attachments_add(message=first, files=[("IMG_0002.jpg", out.getvalue())])
    data = stored(attachment)
    image = Image.open(io.BytesIO(data))
    assert image.size == (12, 16)  # the pixels were turned as a viewer would show them
    assert dict(image.getexif()) == {} and b"SecretCam" not in data


def test_png_text_chunks_are_dropped(first):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address: 1 Secret Road")
    out = io.BytesIO()
    Image.new("RGBA", (4, 4), (1, 2, 3, 128)).save(out, "PNG", pnginfo=info)
    [attachment] = attachments_add(message=first, files=[("a.png", out.getvalue())])
    data = stored(attachment)
    assert b"Secret Road" not in data and Image.open(io.BytesIO(data)).getpixel((0, 0)) == (1, 2, 3, 128)


@pytest.mark.parametrize("side", [10_000, 7_000])  # past Pillow's own bomb limit (89 M pixels); past ours (40 M)
def test_a_decompression_bomb_is_refused_before_decoding(first, settings, side):
    # A 1-bit PNG of mostly zeros is tiny on disk and side x side pixels decoded.
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    assert len(out.getvalue()) < settings.SUPPORT_ATTACHMENT_MAX_BYTES
    error = refused(first, [("bomb.png", out.getvalue())])
    assert (error.code, error.message) == ("attachment_too_large", "This image has too many pixels. Send a smaller one.")


@pytest.mark.parametrize("fmt, mime, extension", [("GIF", "image/gif", "gif"), ("WEBP", "image/webp", "webp")])
def test_gif_and_webp_are_re_encoded_in_their_own_format(first, fmt, mime, extension):
    out = io.BytesIO()
    Image.new("RGB", (6, 5), (0, 0, 255)).save(out, fmt)
    [attachment] = attachments_add(message=first, files=[("pic.bin", out.getvalue() + b"TRAILER")])
    data = stored(attachment)
    assert (attachment.content_type, attachment.original_name) == (mime, f"pic.{extension}")
    assert Image.open(io.BytesIO(data)).format == fmt and b"TRAILER" not in data


def test_a_truncated_image_is_refused(first):
    assert refused(first, [("cut.png", png_bytes()[:40])]).code == "attachment_unreadable"


def test_oversize_empty_and_too_many_are_refused_and_nothing_is_stored(first, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 100
    error = refused(first, [("ok.txt", b"fine"), ("big.txt", b"x" * 101)])
    assert (error.code, error.message) == ("attachment_too_large", "The file big.txt is larger than 100\xa0bytes.")
    assert refused(first, [("empty.txt", b"")]).code == "attachment_empty"
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 10_000
    settings.SUPPORT_ATTACHMENTS_PER_MESSAGE = 2
    error = refused(first, [(f"{i}.txt", b"x") for i in range(3)])
    assert (error.code, error.message) == ("attachment_too_many", "Attach at most 2 files to a message.")
    attachments_add(message=first, files=[("1.txt", b"x")])
    with pytest.raises(TicketRefused) as caught:  # the count includes what the message already has
        attachments_add(message=first, files=[("2.txt", b"x"), ("3.txt", b"x")])
    assert caught.value.code == "attachment_too_many" and Attachment.objects.count() == 1


@pytest.mark.parametrize(
    "name, mime, expected",
    [
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ("C:\\Users\\me\\scan.pdf", "application/pdf", "scan.pdf"),
        ("invoice\u202egnp.exe", "image/png", "invoicegnp.png"),
        ('a<b>:"c"|?*.png', "image/png", "a_b___c____.png"),
        ("...", "image/jpeg", "attachment.jpg"),
        ("x" * 300 + ".txt", "text/plain", "x" * 187 + ".txt"),
        ("Cafe\u0301.gif", "image/gif", "Caf\u00e9.gif"),
    ],
)
def test_names_are_cleaned(name, mime, expected):
    assert attachment_name_clean(name, mime) == expected


# --- downloads --------------------------------------------------------------------------------------


def url(attachment) -> str:
    return f"/en/support/attachments/{attachment.pk}/"


def test_the_customer_downloads_an_image_inline_and_a_pdf_as_an_attachment(client, first, customer):
    image, pdf = attachments_add(message=first, files=[("s.png", png_bytes()), ("r.pdf", PDF)])
    client.force_login(customer)
    response = client.get(url(image))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == stored(image)
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="s.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert (
        response["Content-Security-Policy"]
        == "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"
    )
    assert response["Cache-Control"] == "private, no-store"
    response = client.get(url(pdf))
    assert (response["Content-Type"], response["Content-Disposition"]) == ("application/pdf", 'attachment; filename="r.pdf"')
    assert "sandbox" in response["Content-Security-Policy"]


def test_another_customer_and_anonymous_get_404_or_the_login(client, first):
    [attachment] = attachments_add(message=first, files=[("s.png", png_bytes())])
    assert client.get(url(attachment)).status_code == 302  # signed out: to the login page
    client.force_login(UserFactory())
    assert client.get(url(attachment)).status_code == 404
    assert client.get("/en/support/attachments/999999/").status_code == 404


def test_an_internal_notes_file_reaches_agents_never_the_customer(client, desk, customer):
    ticket = ticket_open(customer, desk)
    agent = agent_create(languages=["en"])
    note = note_internal(ticket, agent)
    [attachment] = attachments_add(message=note, files=[("kyc-check.pdf", PDF)])
    client.force_login(customer)
    assert client.get(url(attachment)).status_code == 404
    client.force_login(agent)
    assert client.get(url(attachment)).status_code == 200
    client.force_login(agent_create(languages=["ja"]))  # an agent of another queue cannot see the ticket at all
    assert client.get(url(attachment)).status_code == 404

"""Fixtures for the customer-page tests (imported by tests/support/test_customer_*.py and
test_attachments.py): a working desk, a customer with a withdrawal, and image/PDF bytes."""

import io
from decimal import Decimal

import pytest
from PIL import Image

from support.models import SlaClock
from support.services.tickets import ticket_create
from tests.factories import UserFactory
from tests.support.factories import desk as desk_build


@pytest.fixture
def desk(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return desk_build()


@pytest.fixture
def customer(db):
    return UserFactory(language="en", time_zone="Europe/Madrid")


def ticket_open(customer, desk, *, category="other", subject="Where is my money?", body="Please help.", **kwargs):
    ticket, _first = ticket_create(customer=customer, subject=subject, body=body, category=desk["categories"][category], **kwargs)
    return ticket


def withdrawal_for(user, *, amount="0.5", symbol="BTC", status="completed"):
    from wallets.models import Asset, Network, Withdrawal

    asset = Asset.objects.filter(symbol=symbol).first() or Asset.objects.create(
        symbol=symbol, name=symbol, precision=8, reference_price=Decimal("60000")
    )
    network = Network.objects.filter(asset=asset).first() or Network.objects.create(
        asset=asset,
        code=symbol,
        name=symbol,
        withdrawal_fee=Decimal("0.0002"),
        withdrawal_min=Decimal("0.001"),
        withdrawal_max=Decimal("10"),
    )
    amount = Decimal(amount)
    return Withdrawal.objects.create(
        user=user,
        network=network,
        address="bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        amount=amount,
        fee=Decimal("0.0002"),
        net_amount=amount - Decimal("0.0002"),
        status=status,
        idempotency_key=f"k-{Withdrawal.objects.count()}",
    )


def clock_running(ticket, *, metric="first_response", due_at):
    """The ticket's running clock of `metric`, due at `due_at` (the engine started it on creation;
    a test moves its due time to where the assertion needs it)."""
    clock, _created = SlaClock.objects.update_or_create(
        ticket=ticket,
        metric=metric,
        cycle=1,
        defaults={"state": SlaClock.State.RUNNING, "due_at": due_at, "warn_at": due_at},
        create_defaults={
            "state": SlaClock.State.RUNNING,
            "policy_version": ticket.policy_version or _version(),
            "target_seconds": 86400,
            "started_at": ticket.created_at,
            "segment_start": ticket.created_at,
            "due_at": due_at,
            "warn_at": due_at,
        },
    )
    return clock


def _version():
    from support.models import SlaPolicyVersion

    return SlaPolicyVersion.objects.first()


def note_internal(ticket, agent, body="internal: customer is a known fraudster"):
    from support.services.tickets import message_post_agent

    return message_post_agent(ticket=ticket, agent=agent, body=body, internal=True)


def png_bytes(size=(8, 8), color=(200, 10, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (16, 12), (10, 120, 200))
    exif = image.getexif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (40.0, 25.0, 0.0)}  # GPSInfo: latitude
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

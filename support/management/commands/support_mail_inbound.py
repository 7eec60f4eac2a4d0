"""Inbound support mail, as an MTA delivers it: one RFC 822 message on standard input (a pipe
transport), or every message in a Maildir's new/ (`--maildir PATH`), each moved to cur/ with the
Seen flag once filed.

Exit status (sysexits.h, which MTAs read): 0 when every mail was filed, whatever its outcome
(accepted, duplicate, refused or unmatched: all recorded as InboundMail; refused ones are not
bounced, so a forged sender gets no backscatter); 75 (EX_TEMPFAIL) when a mail could not be filed
(database down, a bug): the MTA keeps it and retries, and in Maildir mode it stays in new/;
78 (EX_CONFIG) for a path that is not a Maildir. With `--bounce`, a refused mail exits 77
(EX_NOPERM) and an unmatched one 67 (EX_NOUSER), so the MTA bounces it to its sender."""

import logging
import os
import sys
import traceback
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from support.models import InboundMail
from support.services.mail_inbound import mail_receive

log = logging.getLogger(__name__)

EX_NOUSER, EX_TEMPFAIL, EX_NOPERM, EX_CONFIG = 67, 75, 77, 78
_CHUNK = 1 << 16


def _read_bounded(stream, limit: int) -> tuple[bytes, int]:
    """At most limit + 1 bytes kept (enough to know the mail is too large), the rest read and dropped:
    an MTA pipe whose reader stops early reports a failed delivery. Returns (bytes, full size)."""
    kept, size = bytearray(), 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if len(kept) <= limit:
            kept += chunk[: limit + 1 - len(kept)]
    return bytes(kept), size


class Command(BaseCommand):
    help = "File inbound support mail: one message on standard input, or a Maildir's new messages (--maildir)."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--maildir", help="read every message in PATH/new and move it to PATH/cur when filed")
        parser.add_argument("--recipient", default="", help="the envelope recipient (Postfix pipe: ${recipient}), if the headers lack it")
        parser.add_argument("--bounce", action="store_true", help="exit 77 for a refused mail and 67 for an unmatched one (stdin only)")

    def handle(self, *args, maildir=None, recipient="", bounce=False, stdin=None, **options):
        if maildir:
            self._maildir(Path(maildir))
            return
        raw, size = _read_bounded(stdin or sys.stdin.buffer, settings.SUPPORT_MAIL_MAX_BYTES)
        record = self._receive(raw=raw, size=size, recipient=recipient)
        if record is None:
            raise CommandError("the mail could not be filed; deliver it again later", returncode=EX_TEMPFAIL)
        self.stdout.write(f"{record.outcome} {record.reason}".strip())
        if bounce and record.outcome == InboundMail.Outcome.REFUSED:
            raise CommandError(f"refused: {record.reason}", returncode=EX_NOPERM)
        if bounce and record.outcome == InboundMail.Outcome.UNMATCHED:
            raise CommandError("no such ticket or customer", returncode=EX_NOUSER)

    def _receive(self, *, raw: bytes, size: int, recipient: str = "") -> InboundMail | None:
        try:
            return mail_receive(raw=raw, size=size, envelope_recipient=recipient)
        except Exception as error:  # noqa: BLE001 - logged; the MTA (or the next run) delivers it again
            # The frames and the type, not the message: a database error's detail can quote the row, i.e. the body.
            log.error(
                "inbound mail could not be filed (size %d): %s\n%s",
                size,
                type(error).__name__,
                "".join(traceback.format_tb(error.__traceback__)),
            )
            return None

    def _maildir(self, root: Path) -> None:
        new, cur = root / "new", root / "cur"
        if not new.is_dir() or not cur.is_dir():
            raise CommandError(f"{root} is not a Maildir (it needs new/ and cur/)", returncode=EX_CONFIG)
        outcomes, failed = Counter(), 0
        for path in sorted(new.iterdir()):
            if path.name.startswith(".") or path.is_symlink() or not path.is_file():
                continue  # a link could make the command read (and file into a ticket) any file it can open
            with path.open("rb") as stream:
                raw, size = _read_bounded(stream, settings.SUPPORT_MAIL_MAX_BYTES)
            record = self._receive(raw=raw, size=size)
            if record is None:
                failed += 1
                continue  # left in new/ for the next run
            # Maildir: a message read moves to cur/ with the info suffix ":2," and its flags (S: seen).
            os.replace(path, cur / f"{path.name.split(':', 1)[0]}:2,S")
            outcomes[record.outcome] += 1
        summary = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items())) or "no new mail"
        self.stdout.write(summary + (f", {failed} left in new/ (failed)" if failed else ""))
        if failed:
            raise CommandError(f"{failed} mail(s) could not be filed and stay in new/", returncode=EX_TEMPFAIL)

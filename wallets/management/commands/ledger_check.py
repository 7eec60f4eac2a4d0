from django.core.management.base import BaseCommand, CommandError

from wallets.models import Entry, Journal, LedgerAccount
from wallets.selectors import custody_violations, ledger_violations, read_snapshot


class Command(BaseCommand):
    help = (
        "Verify every ledger invariant (journals balance, balances equal entries, nothing negative, "
        "custody equals what the chain adapters report); exits non-zero with a report when one fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--skip-custody", action="store_true", help="do not ask the chain adapters (ledger-internal checks only)")

    def handle(self, *args, **options):
        with read_snapshot():  # every check and the counts see the same moment
            problems = ledger_violations()
            if not options["skip_custody"]:
                problems += custody_violations()
            summary = f"{Journal.objects.count()} journals, {Entry.objects.count()} entries, {LedgerAccount.objects.count()} accounts"
        if problems:
            for line in problems:
                self.stderr.write(f"  ✗ {line}")
            raise CommandError(f"ledger check FAILED: {len(problems)} problem(s) in {summary}")
        checked = "" if options["skip_custody"] else ", custody equals the chains"
        self.stdout.write(
            self.style.SUCCESS(
                f"ledger check passed: {summary}; every journal balances, every balance equals its entries, nothing negative{checked}"
            )
        )

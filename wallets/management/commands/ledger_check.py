from django.core.management.base import BaseCommand, CommandError

from wallets.models import Entry, Journal, LedgerAccount
from wallets.selectors import ledger_violations


class Command(BaseCommand):
    help = "Verify every ledger invariant; exits non-zero with a report when one fails."

    def handle(self, *args, **options):
        problems = ledger_violations()
        summary = f"{Journal.objects.count()} journals, {Entry.objects.count()} entries, {LedgerAccount.objects.count()} accounts"
        if problems:
            for line in problems:
                self.stderr.write(f"  ✗ {line}")
            raise CommandError(f"ledger check FAILED: {len(problems)} problem(s) in {summary}")
        self.stdout.write(self.style.SUCCESS(f"ledger check passed: {summary}; every journal balances, every balance equals its entries, nothing negative"))

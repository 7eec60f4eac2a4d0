import uuid

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from wallets.ledger import LedgerError, amount_parse
from wallets.models import Asset
from wallets.services import ledger_adjust


class Command(BaseCommand):
    help = "Post an audited manual adjustment to a user's balance against the adjustments account."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("asset")
        parser.add_argument("amount", help="signed, e.g. 1.5 or -0.25")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--key", default="", help="idempotency key (default: a new one each run)")

    def handle(self, *args, email, asset, amount, reason, key, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"no user with email {email}")
        asset_obj = Asset.objects.filter(symbol=asset.upper()).first()
        if asset_obj is None:
            raise CommandError(f"no asset {asset}")
        try:
            value = amount_parse(amount, asset_obj)
            journal = ledger_adjust(
                user=user, asset=asset_obj, amount=value, reason=reason, idempotency_key=key or f"cli-adjust-{uuid.uuid4()}"
            )
        except LedgerError as error:
            raise CommandError(f"refused: {error}")
        self.stdout.write(f"journal #{journal.pk}: {user.email} {value:+} {asset_obj.symbol} ({reason})")

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import api_key_create

PERMISSIONS = {"read", "trade", "withdraw"}


class Command(BaseCommand):
    help = "Create an API key for a user and print it with its secret (for scripts and tests)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--permissions", default="read", help="comma-separated: read,trade,withdraw")
        parser.add_argument("--label", default="cli")
        parser.add_argument("--ip", default="", help="IP allowlist, comma-separated (required with withdraw)")
        parser.add_argument("--json", action="store_true", dest="as_json", help='print {"apiKey": ..., "secretKey": ...}')

    def handle(self, *args, email, permissions, label, ip, as_json: bool, **options):
        wanted = {p.strip() for p in permissions.split(",") if p.strip()}
        unknown = wanted - PERMISSIONS
        if unknown:
            raise CommandError(f"unknown permission(s): {', '.join(sorted(unknown))}; choose from read, trade, withdraw")
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"no user with email {email}")
        try:
            api_key, secret = api_key_create(
                user=user, label=label, can_trade="trade" in wanted, can_withdraw="withdraw" in wanted, ip_allowlist=ip
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages))
        if as_json:
            self.stdout.write(json.dumps({"apiKey": api_key.key, "secretKey": secret}))
        else:
            self.stdout.write(f"API key:    {api_key.key}\nSecret key: {secret}\nPermissions: {', '.join(api_key.permissions)}")

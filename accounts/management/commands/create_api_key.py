import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import TotpRefused, api_key_create

PERMISSIONS = {"read", "trade", "withdraw"}


class Command(BaseCommand):
    help = (
        "Create an API key for a user and print it with its secret. Needs the user's current TOTP code "
        "(--code), like the page, unless an operator passes --without-totp (recorded in the user's "
        "security log as waived by operator)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--permissions", default="read", help="comma-separated: read,trade,withdraw")
        parser.add_argument("--label", default="cli")
        parser.add_argument("--ip", default="", help="IP allowlist, comma-separated (required with withdraw)")
        parser.add_argument("--code", default="", help="the user's current authenticator code")
        parser.add_argument(
            "--without-totp", action="store_true", dest="without_totp", help="operator exception: create the key without a code"
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help='print {"apiKey": ..., "secretKey": ...}')

    def handle(self, *args, email, permissions, label, ip, code, without_totp: bool, as_json: bool, **options):
        wanted = {p.strip() for p in permissions.split(",") if p.strip()}
        unknown = wanted - PERMISSIONS
        if unknown:
            raise CommandError(f"unknown permission(s): {', '.join(sorted(unknown))}; choose from read, trade, withdraw")
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"no user with email {email}")
        if not code and not without_totp:
            raise CommandError("give the user's current authenticator code with --code, or --without-totp (operator exception)")
        try:
            api_key, secret = api_key_create(
                user=user,
                label=label,
                can_trade="trade" in wanted,
                can_withdraw="withdraw" in wanted,
                ip_allowlist=ip,
                code=code,
                totp_waived_by_operator=without_totp,
            )
        except TotpRefused as refused:
            raise CommandError(f"{refused.code}: {refused.message}")
        except ValidationError as error:
            raise CommandError("; ".join(error.messages))
        if as_json:
            self.stdout.write(json.dumps({"apiKey": api_key.key, "secretKey": secret}))
        else:
            self.stdout.write(f"API key:    {api_key.key}\nSecret key: {secret}\nPermissions: {', '.join(api_key.permissions)}")

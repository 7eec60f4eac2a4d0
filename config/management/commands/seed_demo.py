"""Demo data for development: traders, one support agent per support language, a supervisor and
two operators (two-person approvals need two), all with one development-only password, and the
support desk (support.seed: queues, calendars, policies, categories, canned replies, agent
profiles and a few demo tickets, swept once so their SLA states show). The demo
traders have an authenticator app on a published development-only secret (`manage.py demo_totp`
prints its current code), with no withdrawal lock, so the README's withdrawal journey works on a
fresh install. Idempotent; refuses production settings."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from accounts.models import User
from accounts.services import role_assign
from config.languages import LANGUAGE_CODES, SUPPORT_LANGUAGES

DEMO_PASSWORD = "agora-demo-2026"
# Development only, published in the README: the authenticator secret of the demo traders.
DEMO_TOTP_SECRET = "AGORADEMOTOTPSECRETDEVONLY234567"
DEMO_TOTP_USERS = ("alice@demo.test", "bob@demo.test")

# Support queue -> UI language the agent reads the console in.
_AGENT_UI_LANGUAGE = {"zh": "zh-hans", "pt": "pt-br"}

ANNOUNCEMENTS = [
    (
        gettext_noop("Welcome to Agora"),
        gettext_noop(
            "Sign up, secure your account with two-factor authentication and passkeys, and set your anti-phishing code before you deposit."
        ),
    ),
    (
        gettext_noop("Support in your language"),
        gettext_noop("Every page and every email is in your language today. The help desk opens in a later release."),
    ),
]


# symbol, name, precision, platform token, reference price (USDT), 24 h withdrawal limit, review above,
# networks (code, name, confirmations, fee, min, max, memo). Confirmations are low so the demo moves.
ASSETS = [
    ("BTC", "Bitcoin", 8, False, "67000", "10", "1", [("BTC", "Bitcoin", 2, "0.0002", "0.001", "50", False)]),
    ("ETH", "Ethereum", 8, False, "3500", "200", "20", [("ERC20", "Ethereum (ERC20)", 6, "0.002", "0.01", "1000", False)]),
    (
        "USDT",
        "Tether USD",
        6,
        False,
        "1",
        "500000",
        "50000",
        [("ERC20", "Ethereum (ERC20)", 6, "5", "10", "1000000", False), ("TRC20", "Tron (TRC20)", 3, "1", "10", "1000000", False)],
    ),
    ("BNB", "BNB", 8, False, "600", "1000", "100", [("BEP20", "BNB Smart Chain (BEP20)", 3, "0.0005", "0.01", "10000", False)]),
    ("NEO", "NEO", 0, False, "12", "50000", "5000", [("NEO3", "Neo N3", 1, "0", "1", "100000", False)]),
    ("GAS", "GAS", 8, False, "4.5", "100000", "10000", [("NEO3", "Neo N3", 1, "0.005", "0.1", "100000", False)]),
    ("AGR", "Agora Token", 8, True, "0.8", "1000000", "100000", [("ERC20", "Ethereum (ERC20)", 6, "10", "20", "10000000", False)]),
    ("SOL", "Solana", 8, False, "150", "3000", "300", [("SOL", "Solana", 4, "0.01", "0.1", "50000", False)]),
    ("XRP", "XRP", 6, False, "0.6", "500000", "50000", [("XRP", "XRP Ledger", 1, "0.25", "20", "1000000", True)]),  # destination tag
    ("LTC", "Litecoin", 8, False, "80", "5000", "500", [("LTC", "Litecoin", 3, "0.001", "0.01", "10000", False)]),
    ("TRX", "TRON", 6, False, "0.12", "5000000", "500000", [("TRC20", "Tron", 3, "1", "10", "10000000", False)]),
    ("DOGE", "Dogecoin", 8, False, "0.15", "5000000", "500000", [("DOGE", "Dogecoin", 4, "4", "50", "10000000", False)]),
]
# symbol, base, quote, tick, step, min qty, max qty, min notional
MARKETS = [
    ("BTCUSDT", "BTC", "USDT", "0.01", "0.0001", "0.0001", "100", "5"),
    ("ETHUSDT", "ETH", "USDT", "0.01", "0.0001", "0.0001", "1000", "5"),
    ("BNBUSDT", "BNB", "USDT", "0.01", "0.001", "0.001", "10000", "5"),
    ("NEOUSDT", "NEO", "USDT", "0.001", "1", "1", "100000", "5"),
    ("GASUSDT", "GAS", "USDT", "0.001", "0.01", "0.01", "100000", "5"),
    ("SOLUSDT", "SOL", "USDT", "0.01", "0.001", "0.001", "10000", "5"),
    ("XRPUSDT", "XRP", "USDT", "0.0001", "0.1", "0.1", "1000000", "5"),
    ("AGRUSDT", "AGR", "USDT", "0.0001", "0.1", "0.1", "10000000", "5"),
    ("ETHBTC", "ETH", "BTC", "0.00001", "0.001", "0.001", "1000", "0.0001"),
    ("BNBBTC", "BNB", "BTC", "0.000001", "0.01", "0.01", "10000", "0.0001"),
    ("NEOBTC", "NEO", "BTC", "0.000001", "1", "1", "100000", "0.0001"),
    ("LTCBTC", "LTC", "BTC", "0.000001", "0.01", "0.01", "10000", "0.0001"),
]
# tier, 30-day volume (USDT), maker, taker
FEE_TIERS = [
    (0, "0", "0.001", "0.001"),
    (1, "1000000", "0.0009", "0.001"),
    (2, "5000000", "0.0008", "0.001"),
    (3, "20000000", "0.0007", "0.0009"),
    (4, "100000000", "0.0005", "0.0008"),
    (5, "500000000", "0.0003", "0.0006"),
]

FUNDING = {
    "alice@demo.test": {"BTC": "2", "ETH": "25", "USDT": "50000", "NEO": "100", "GAS": "40", "AGR": "5000"},
    "bob@demo.test": {"BTC": "1.5", "ETH": "10", "USDT": "30000", "BNB": "20", "NEO": "250"},
    # Demo liquidity (manage.py market_maker): the quoting account and an account that takes.
    "maker@demo.test": {
        "BTC": "50",
        "ETH": "500",
        "USDT": "5000000",
        "BNB": "2000",
        "NEO": "20000",
        "GAS": "20000",
        "AGR": "1000000",
        "SOL": "2000",
        "XRP": "500000",
        "LTC": "2000",
    },
    "taker@demo.test": {
        "BTC": "5",
        "ETH": "50",
        "USDT": "500000",
        "BNB": "200",
        "NEO": "2000",
        "GAS": "2000",
        "AGR": "100000",
        "SOL": "200",
        "XRP": "50000",
        "LTC": "200",
    },
}
# The platform's own coins, backed on the simulated chain and held in the adjustments account: a
# fresh install has no fees yet, so without them the distribution pool could not be funded and the
# README's two-person distribution could not be followed.
TREASURY = {"AGR": "100000"}


class Command(BaseCommand):
    help = "Create the demo users and content (development only; safe to run again)."

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("seed_demo refuses to run with production settings.")
        with transaction.atomic():
            people = self._users()
            self._announcements()
            self._assets()
            self._funding()
            self._markets()
            self._totp()
            people += self._desk(people)
        from support.seed import desk_sweep

        desk_sweep()  # after commit: the breach and warning of the demo tickets fire now, not at the first beat
        self.stdout.write(self.style.SUCCESS("Demo data ready. Every demo login uses the password: " + DEMO_PASSWORD))
        width = max(len(email) for email, _role in people)
        for email, role in people:
            self.stdout.write(f"  {email.ljust(width)}  {role}")
        self.stdout.write(
            f"Two-factor authentication is on for {', '.join(DEMO_TOTP_USERS)} with the development-only secret "
            f"{DEMO_TOTP_SECRET} (add it to an authenticator app, or run: manage.py demo_totp alice@demo.test)."
        )

    def _user(self, email: str, role: str, language: str = "en", **extra) -> tuple[str, str]:
        from allauth.account.models import EmailAddress

        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, language=language, **extra)
        role_assign(user=user, role=role)
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        return email, role

    def _users(self) -> list[tuple[str, str]]:
        people = [
            self._user("alice@demo.test", "trader", first_name="Alice", anti_phishing_code="ALICE2026"),
            self._user("bob@demo.test", "trader", language="de", first_name="Bob"),
        ]
        for queue in SUPPORT_LANGUAGES:
            people.append(self._user(f"agent-{queue}@demo.test", "support_agent", language=_AGENT_UI_LANGUAGE.get(queue, queue)))
        people.append(self._user("maker@demo.test", "trader", first_name="Market maker"))
        people.append(self._user("taker@demo.test", "trader", first_name="Demo taker"))
        people.append(self._user("supervisor@demo.test", "supervisor"))
        people.append(self._user("operator@demo.test", "operator"))
        people.append(self._user("operator2@demo.test", "operator"))  # the second person of two-person approvals
        return people

    def _desk(self, people: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The support desk (support.seed); returns the demo customers it added, for the login list."""
        from support.seed import desk_seed

        known = {email for email, _role in people}
        return [entry for entry in desk_seed(person=self._user) if entry[0] not in known]

    def _totp(self) -> None:
        """An authenticator app for each demo trader, created directly (allauth's TOTP.activate,
        which stores the secret the way allauth does) rather than through the setup flow: the flow
        is a security change that locks withdrawals for 24 hours, which would stop the demo."""
        from allauth.mfa.models import Authenticator
        from allauth.mfa.totp.internal.auth import TOTP

        for email in DEMO_TOTP_USERS:
            user = User.objects.get(email=email)
            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                TOTP.activate(user, DEMO_TOTP_SECRET)

    def _assets(self) -> None:
        from decimal import Decimal as D

        from wallets.models import Asset, Network

        for symbol, name, precision, platform, price, daily_limit, review_above, networks in ASSETS:
            asset = Asset.objects.filter(symbol=symbol).first() or Asset(symbol=symbol)
            asset.name, asset.name_en, asset.precision, asset.is_platform_token = name, name, precision, platform
            asset.reference_price, asset.withdrawal_daily_limit, asset.withdrawal_review_threshold = (
                D(price),
                D(daily_limit),
                D(review_above),
            )
            asset.save()
            for code, net_name, confirmations, fee, minimum, maximum, memo in networks:
                Network.objects.update_or_create(
                    asset=asset,
                    code=code,
                    defaults={
                        "name": net_name,
                        "confirmations": confirmations,
                        "withdrawal_fee": D(fee),
                        "withdrawal_min": D(minimum),
                        "withdrawal_max": D(maximum),
                        "memo_required": memo,
                    },
                )

    def _markets(self) -> None:
        from decimal import Decimal as D

        from exchange.models import FeeTier, Market
        from wallets.models import Asset

        for symbol, base, quote, tick, step, min_qty, max_qty, min_notional in MARKETS:
            Market.objects.update_or_create(
                symbol=symbol,
                defaults={
                    "base": Asset.objects.get(symbol=base),
                    "quote": Asset.objects.get(symbol=quote),
                    "tick_size": D(tick),
                    "step_size": D(step),
                    "min_qty": D(min_qty),
                    "max_qty": D(max_qty),
                    "min_notional": D(min_notional),
                },
            )
        for tier, volume, maker, taker in FEE_TIERS:
            FeeTier.objects.update_or_create(
                tier=tier, defaults={"min_volume_30d": D(volume), "maker_rate": D(maker), "taker_rate": D(taker)}
            )

    def _funding(self) -> None:
        from decimal import Decimal as D

        from wallets.models import Asset
        from wallets.services import ledger_adjust

        for email, holdings in FUNDING.items():
            user = User.objects.get(email=email)
            for symbol, amount in holdings.items():
                ledger_adjust(
                    user=user,
                    asset=Asset.objects.get(symbol=symbol),
                    amount=D(amount),
                    reason="demo funding (seed_demo)",
                    idempotency_key=f"seed-demo-{email}-{symbol}",
                )
        self._custody_opening()

    def _custody_opening(self) -> None:
        """Back the demo funding with coins on the simulated chains: the hot wallet of each asset's
        first network receives the funded total, booked custody against adjustments. Then the
        ledger, the chains and reconciliation agree from the start."""
        from decimal import Decimal as D

        from wallets.chains import chain_adapter
        from wallets.chains.simulated import SimulatedChain
        from wallets.ledger import Line, journal_post, system_account
        from wallets.models import AccountKind, Asset, Journal

        def custody_open(symbol: str, amount: str, key: str, memo: str) -> None:
            """Coins on the simulated chain's hot wallet, booked custody against adjustments (once per key)."""
            asset = Asset.objects.get(symbol=symbol)
            network = asset.networks.order_by("pk").first()
            adapter = chain_adapter(network.code)
            if not isinstance(adapter, SimulatedChain) or Journal.objects.filter(idempotency_key=key).exists():
                return
            adapter.mine(token=symbol, to_address=adapter.hot_wallet(), amount=D(amount), from_address="genesis")
            journal_post(
                kind=Journal.Kind.ADJUSTMENT,
                idempotency_key=key,
                memo=memo,
                lines=[
                    Line(system_account(kind=AccountKind.CUSTODY, asset=asset, network=network), -D(amount)),
                    Line(system_account(kind=AccountKind.ADJUSTMENTS, asset=asset), D(amount)),
                ],
            )

        for email, holdings in FUNDING.items():
            for symbol, amount in holdings.items():
                custody_open(symbol, amount, f"seed-demo-custody-{email}-{symbol}", f"demo custody opening balance for {email} (seed_demo)")
        for symbol, amount in TREASURY.items():
            custody_open(symbol, amount, f"seed-demo-treasury-{symbol}", f"demo treasury: the platform's own {symbol} (seed_demo)")
        from wallets.selectors import chains_active
        from wallets.services import chain_scan

        for chain in chains_active():  # the scanner reads the genesis blocks, so custody checks agree at once
            chain_scan(chain=chain)

    def _announcements(self) -> None:
        from modeltranslation.utils import build_localized_fieldname

        from support.models import Announcement

        for title, body in ANNOUNCEMENTS:
            translated = {}
            for code in LANGUAGE_CODES:
                with translation.override(code):
                    # modeltranslation's column names: title_zh_hans, and title_ind for Indonesian (a
                    # "title_id" attribute would be set and never saved).
                    translated[build_localized_fieldname("title", code)] = gettext(title)
                    translated[build_localized_fieldname("body", code)] = gettext(body)
            item = Announcement.objects.filter(title_en=title).first() or Announcement()
            for field, value in translated.items():
                setattr(item, field, value)
            item.save()

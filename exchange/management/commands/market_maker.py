"""A demo market maker: quotes around a moving reference price through the public order path
(exchange.services.order_place), so the demo markets have a live book. With --taker EMAIL a
second demo account now and then takes liquidity, so the tape moves too (demo only: it refuses
production settings)."""

import random
import time
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from exchange.models import Market, Order
from exchange.services import OrderRejected, order_cancel_all, order_place


class Command(BaseCommand):
    help = "Quote the markets around a drifting reference price (demo liquidity)."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="maker@demo.test", help="the quoting account")
        parser.add_argument("--taker", default="", help="an account that sometimes takes liquidity (demo trades)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between re-quoting one market")
        parser.add_argument("--levels", type=int, default=3)
        parser.add_argument("--spread", type=Decimal, default=Decimal("0.001"), help="distance between levels, as a fraction")
        parser.add_argument("--level-usdt", type=Decimal, default=Decimal("300"), help="size of each level in USDT")
        parser.add_argument("--max-rounds", type=int, default=0, help="stop after this many re-quotes (tests)")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, email, taker, interval, levels, spread, level_usdt, max_rounds, seed, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("market_maker is demo liquidity and refuses production settings")
        maker = User.objects.filter(email=email).first()
        if maker is None:
            raise CommandError(f"no user {email}: run seed_demo")
        taker_user = User.objects.filter(email=taker).first() if taker else None
        rng = random.Random(seed)
        references: dict[int, Decimal] = {}
        rounds = 0
        while not max_rounds or rounds < max_rounds:
            for market in Market.objects.select_related("base", "quote").filter(status=Market.Status.TRADING).order_by("symbol"):
                if max_rounds and rounds >= max_rounds:
                    break
                reference = self._reference(market, references, rng)
                if reference is None:
                    continue
                self._quote(market, maker, reference, levels, spread, level_usdt)
                if taker_user is not None and rng.random() < 0.4:
                    self._take(market, taker_user, reference, level_usdt, rng)
                rounds += 1
                time.sleep(interval)

    def _reference(self, market, references, rng) -> Decimal | None:
        """A random walk (±0.2 % a step) started from the assets' reference prices."""
        current = references.get(market.pk)
        if current is None:
            base, quote = market.base.reference_price, self._usdt_per(market.quote)
            if not base or not quote:
                return None
            current = base / quote
        current *= Decimal(1) + Decimal(rng.randint(-20, 20)) / Decimal(10_000)
        references[market.pk] = current
        return current

    @staticmethod
    def _usdt_per(asset) -> Decimal:
        """The asset's reference price in USDT (1 for USDT): the quotes start from reference prices."""
        return Decimal(1) if asset.symbol == "USDT" else asset.reference_price

    @staticmethod
    def _round(value: Decimal, step: Decimal) -> Decimal:
        return (value / step).to_integral_value(rounding=ROUND_DOWN) * step

    def _quote(self, market, maker, reference, levels, spread, level_usdt) -> None:
        order_cancel_all(user=maker, market=market)
        usdt_per_quote = self._usdt_per(market.quote)
        qty = self._round(level_usdt / usdt_per_quote / reference, market.step_size)
        qty = max(qty, market.min_qty)
        for level in range(1, levels + 1):
            for side, sign in (("BUY", -1), ("SELL", 1)):
                price = self._round(reference * (1 + sign * spread * level), market.tick_size)
                try:
                    order_place(user=maker, market=market, side=side, type=Order.Type.LIMIT_MAKER, quantity=qty, price=price)
                except OrderRejected as rejected:
                    self.stderr.write(f"{market.symbol} {side} {qty} @ {price}: {rejected.msg}")

    def _take(self, market, taker, reference, level_usdt, rng) -> None:
        usdt_per_quote = self._usdt_per(market.quote)
        qty = max(self._round(level_usdt / usdt_per_quote / reference / 3, market.step_size), market.min_qty)
        try:
            order_place(user=taker, market=market, side=rng.choice(["BUY", "SELL"]), type=Order.Type.MARKET, quantity=qty)
        except OrderRejected:
            pass  # no liquidity yet, or the taker ran out of one side

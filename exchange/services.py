"""Order placement and cancellation: one service layer for every interface (web, API, market maker).

`order_place` validates, reserves the funds (a ledger hold) and appends an engine command in one
transaction: an accepted order is durable before anyone is told. The engine (exchange/runner.py)
applies commands in sequence. Errors follow Binance's codes and texts, so bots understand them.
"""

import re
import secrets
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from exchange import ownership
from exchange.models import EngineCommand, FeeTier, Market, Order, Trade
from wallets.ledger import InsufficientFunds, hold_place, user_account
from wallets.models import Asset
from wallets.selectors import usdt_prices

DEFAULT_STP = Order.Stp.EXPIRE_MAKER
CLIENT_ORDER_ID = re.compile(r"[a-zA-Z0-9\-_.]{1,36}")


class OrderRejected(Exception):
    """Refused before anything was reserved. `code` and `msg` are Binance's."""

    def __init__(self, code: int, msg: str):
        self.code, self.msg = code, msg
        super().__init__(f"{code}: {msg}")


def _decimal(value, name: str, required: bool = False) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise OrderRejected(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
        return None
    if isinstance(value, float):
        raise OrderRejected(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'."
        )
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number <= 0 or number.adjusted() >= 18:
        raise OrderRejected(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'."
        )
    return number


def _multiple(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def _check_price(market: Market, price: Decimal) -> None:
    if not _multiple(price, market.tick_size):
        raise OrderRejected(-1013, "Filter failure: PRICE_FILTER")


def _check_qty(market: Market, qty: Decimal) -> None:
    if not _multiple(qty, market.step_size) or qty < market.min_qty or qty > market.max_qty:
        raise OrderRejected(-1013, "Filter failure: LOT_SIZE")


def reference_price(market: Market, side: str) -> Decimal | None:
    """The best opposite price resting in the book, else the last trade price."""
    opposite = Order.Side.SELL if side == Order.Side.BUY else Order.Side.BUY
    # In the book: resting orders have a book sequence; stops still waiting for their trigger do not.
    resting = Order.objects.filter(
        market=market, side=opposite, status__in=[Order.Status.NEW, Order.Status.PARTIALLY_FILLED], book_seq__isnull=False
    )
    best = resting.order_by("price" if opposite == Order.Side.SELL else "-price").values_list("price", flat=True).first()
    if best is not None:
        return best
    return market.trades.order_by("-id").values_list("price", flat=True).first()


def order_place(
    *,
    user: User,
    market: Market,
    side: str,
    type: str,
    quantity=None,
    quote_quantity=None,
    price=None,
    stop_price=None,
    time_in_force: str = Order.TimeInForce.GTC,
    client_order_id: str | None = None,
    stp_mode: str = DEFAULT_STP,
) -> Order:
    """Validate, reserve and accept an order (see the module docstring). Raises OrderRejected."""
    if side not in Order.Side.values:
        raise OrderRejected(-1100, "Illegal characters found in parameter 'side'; legal range is 'BUY, SELL'.")
    if type not in Order.Type.values:
        raise OrderRejected(-1116, "Invalid orderType.")
    if time_in_force not in Order.TimeInForce.values:
        raise OrderRejected(-1115, "Invalid timeInForce.")
    if stp_mode not in Order.Stp.values:
        raise OrderRejected(-1100, "Illegal characters found in parameter 'selfTradePreventionMode'.")
    if market.status != Market.Status.TRADING:
        raise OrderRejected(-1013, "Market is closed.")
    user = User.objects.get(pk=user.pk)
    if user.is_frozen or not user.is_active:
        raise OrderRejected(-2010, "This action is disabled on this account.")
    if client_order_id is not None and not CLIENT_ORDER_ID.fullmatch(client_order_id):
        raise OrderRejected(-1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_.]{1,36}$'.")
    client_order_id = client_order_id or "web_" + secrets.token_hex(12)

    limit_types = (Order.Type.LIMIT, Order.Type.LIMIT_MAKER, Order.Type.STOP_LOSS_LIMIT, Order.Type.TAKE_PROFIT_LIMIT)
    qty = _decimal(quantity, "quantity")
    quote_qty = _decimal(quote_quantity, "quoteOrderQty")
    price = _decimal(price, "price", required=type in limit_types)
    stop = _decimal(stop_price, "stopPrice", required=type in (Order.Type.STOP_LOSS_LIMIT, Order.Type.TAKE_PROFIT_LIMIT))
    if stop is not None and type not in (Order.Type.STOP_LOSS_LIMIT, Order.Type.TAKE_PROFIT_LIMIT):
        raise OrderRejected(-1106, "Parameter 'stopPrice' sent when not required.")
    if price is not None and type == Order.Type.MARKET:
        raise OrderRejected(-1106, "Parameter 'price' sent when not required.")
    if type == Order.Type.MARKET:
        if (qty is None) == (quote_qty is None):
            raise OrderRejected(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
        if quote_qty is not None and side == Order.Side.SELL:
            raise OrderRejected(-1013, "Filter failure: NOTIONAL")  # selling a quote amount is not offered
        time_in_force = Order.TimeInForce.IOC
    else:
        if qty is None:
            raise OrderRejected(-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.")
        if quote_qty is not None:
            raise OrderRejected(-1106, "Parameter 'quoteOrderQty' sent when not required.")
        _check_price(market, price)
        if stop is not None:
            _check_price(market, stop)
        if type == Order.Type.LIMIT_MAKER:
            time_in_force = Order.TimeInForce.GTC
    if qty is not None:
        _check_qty(market, qty)

    base, quote = market.base, market.quote
    if type == Order.Type.MARKET:
        reference = reference_price(market, side)
        if reference is None:
            raise OrderRejected(-2010, "Market has insufficient liquidity.")
        protection = market.market_protection
        bound = reference * (1 + protection) if side == Order.Side.BUY else reference * (1 - protection)
        # The bound is a price the book can hold: rounded to the tick towards the reference.
        ticks = (bound / market.tick_size).to_integral_value(rounding="ROUND_FLOOR" if side == Order.Side.BUY else "ROUND_CEILING")
        price = max(ticks, 1) * market.tick_size
        if quote_qty is not None:
            if quote_qty < market.min_notional or quote_qty != quote_qty.quantize(quote.quantum):
                raise OrderRejected(-1013, "Filter failure: NOTIONAL")
            reserve_asset, reserve = quote, quote_qty
        elif side == Order.Side.BUY:
            reserve_asset, reserve = quote, _round_up(price * qty, quote.quantum)
        else:
            reserve_asset, reserve = base, qty
    else:
        if price * qty < market.min_notional:
            raise OrderRejected(-1013, "Filter failure: NOTIONAL")
        if price * qty != (price * qty).quantize(quote.quantum):  # every fill's amount must be exact in the quote asset
            raise OrderRejected(-1013, "Filter failure: LOT_SIZE")
        reserve_asset, reserve = (quote, price * qty) if side == Order.Side.BUY else (base, qty)
    if reserve != reserve.quantize(reserve_asset.quantum):
        raise OrderRejected(-1013, "Filter failure: LOT_SIZE")  # a market whose steps the asset's precision cannot hold

    try:
        with transaction.atomic():
            order = Order.objects.create(
                market=market,
                user=user,
                client_order_id=client_order_id,
                side=side,
                type=type,
                time_in_force=time_in_force,
                price=price,
                stop_price=stop,
                quantity=qty,
                quote_quantity=quote_qty,
                stp_mode=stp_mode,
                reserved_asset=reserve_asset,
                reserved=reserve,
            )
            hold_place(
                account=user_account(user=user, asset=reserve_asset),
                amount=reserve,
                idempotency_key=f"order-{order.pk}-hold",
                memo=f"order #{order.pk} {market.symbol}",
            )
            EngineCommand.objects.create(market=market, kind=EngineCommand.Kind.PLACE, order=order)
            _wake_engine(market.pk)
    except InsufficientFunds:
        raise OrderRejected(-2010, "Account has insufficient balance for requested action.")
    except IntegrityError:
        if Order.objects.filter(user=user, client_order_id=client_order_id, status__in=Order.OPEN).exists():
            raise OrderRejected(-2010, "Duplicate order sent.")
        raise
    return order


def _round_up(value: Decimal, quantum: Decimal) -> Decimal:
    return value.quantize(quantum, rounding="ROUND_CEILING")


@transaction.atomic
def order_cancel(*, user: User, order: Order) -> Order:
    """Ask the engine to cancel an open order (applied in sequence after anything before it).
    Asking twice is harmless."""
    order = Order.objects.select_for_update(no_key=True, of=("self",)).select_related("market").get(pk=order.pk)
    if order.user_id != user.pk or not order.is_open:
        raise OrderRejected(-2011, "Unknown order sent.")
    if not EngineCommand.objects.filter(order=order, kind=EngineCommand.Kind.CANCEL, applied_at__isnull=True).exists():
        EngineCommand.objects.create(market=order.market, kind=EngineCommand.Kind.CANCEL, order=order)
    _wake_engine(order.market_id)
    return order


def order_cancel_all(*, user: User, market: Market) -> int:
    """Cancel every open order of the user in a market; returns how many were asked."""
    count = 0
    for order in Order.objects.filter(user=user, market=market, status__in=Order.OPEN):
        order_cancel(user=user, order=order)
        count += 1
    return count


def _wake_engine(market_id: int) -> None:
    """Inside the transaction that accepted a command: engine processes are notified when it
    commits (NOTIFY, PostgreSQL); with ENGINE_INLINE the command is applied after the commit here."""
    from exchange.runner import engine_wake

    ownership.wake_notify(market_id)
    transaction.on_commit(lambda: engine_wake(market_id))


def volumes_30d(*, now=None, user_ids=None) -> dict[int, Decimal]:
    """Each user's 30-day trading volume in USDT: both sides of every trade they were in; a
    non-USDT quote is valued at its current USDT price (wallets.selectors.usdt_prices)."""
    now = now or timezone.now()
    recent = Trade.objects.filter(created_at__gte=now - timedelta(days=30))
    prices = usdt_prices(Asset.objects.filter(quote_markets__isnull=False).distinct())
    volume: dict[int, Decimal] = {}
    for side in ("buy_order__user", "sell_order__user"):
        rows = recent.filter(**({f"{side}__in": user_ids} if user_ids is not None else {}))
        for row in rows.values(side, "market__quote").annotate(total=Sum("quote_quantity")).order_by():
            price = prices.get(row["market__quote"]) or Decimal(0)
            volume[row[side]] = volume.get(row[side], Decimal(0)) + Decimal(str(row["total"])) * price
    return volume


def fee_tiers_recompute(*, now=None) -> dict[str, int]:
    """Each user's VIP tier from their 30-day trading volume in USDT (`volumes_30d`). Safe to run
    again: it only sets tiers to what the volume says. Returns how many users moved up and down."""
    tiers = list(FeeTier.objects.order_by("-min_volume_30d"))
    if not tiers:
        return {"up": 0, "down": 0}
    volume = volumes_30d(now=now)
    moved = {"up": 0, "down": 0}
    for user in User.objects.filter(is_active=True).only("pk", "vip_tier").iterator():
        amount = volume.get(user.pk, Decimal(0))
        tier = next((t.tier for t in tiers if amount >= t.min_volume_30d), 0)
        if tier != user.vip_tier:
            moved["up" if tier > user.vip_tier else "down"] += 1
            User.objects.filter(pk=user.pk).update(vip_tier=tier)
    return moved


def fee_token_choice_set(*, user: User, pay_in_token: bool) -> None:
    """The user's choice to pay trading fees in the platform token (applies from the engine's next batch)."""
    User.objects.filter(pk=user.pk).update(pay_fees_in_platform_token=pay_in_token)
    user.pay_fees_in_platform_token = pay_in_token

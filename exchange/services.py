"""Order placement and cancellation: one service layer for every interface (web, API, market maker).

`order_place` validates, reserves the funds (a ledger hold) and appends an engine command in one
transaction: an accepted order is durable before anyone is told. The engine (exchange/runner)
applies commands in sequence. Errors follow Binance's codes and texts, so bots understand them.
"""

import re
import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from accounts.models import User
from config.errors import AppError
from config.parsing import NumberInvalid, decimal_parse_ascii
from exchange.models import EngineCommand, FeeTier, Market, MarketStatusChange, Order, Trade
from exchange.selectors import volumes_30d
from exchange.wake import engine_wake
from support.services.tickets import ticket_tier_sync
from wallets.ledger import InsufficientFunds, hold_place, user_account

DEFAULT_STP = Order.Stp.EXPIRE_MAKER
CLIENT_ORDER_ID = re.compile(r"[a-zA-Z0-9\-_.]{1,36}")


class ExchangeError(AppError):
    """A refusal of the exchange's services (config.errors.AppError: stable `code`, translated `message`)."""


class MarketError(ExchangeError):
    """An operator's market change refused (`reason_required`)."""


# Stable code -> (Binance code, Binance text, what a person reads). Texts name the parameter as %(param)s.
REJECTIONS = {
    "side_invalid": (
        -1100,
        "Illegal characters found in parameter 'side'; legal range is 'BUY, SELL'.",
        _l("The side must be buy or sell."),
    ),
    "type_invalid": (-1116, "Invalid orderType.", _l("This order type is not offered.")),
    "time_in_force_invalid": (-1115, "Invalid timeInForce.", _l("This time in force is not offered.")),
    "stp_mode_invalid": (
        -1100,
        "Illegal characters found in parameter 'selfTradePreventionMode'.",
        _l("This self-trade prevention mode is not offered."),
    ),
    "market_closed": (-1013, "Market is closed.", _l("Trading in this market is halted.")),
    "account_disabled": (-2010, "This action is disabled on this account.", _l("Trading is disabled on this account.")),
    "client_order_id_invalid": (
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_.]{1,36}$'.",
        _l("The client order id may hold 1 to 36 letters, digits, dashes, underscores and dots."),
    ),
    "parameter_missing": (
        -1102,
        "Mandatory parameter '%(param)s' was not sent, was empty/null, or malformed.",
        _l("“%(param)s” is required."),
    ),
    "number_invalid": (
        -1100,
        "Illegal characters found in parameter '%(param)s'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        _l("“%(param)s” must be a positive number written with the digits 0–9 and at most one dot."),
    ),
    "parameter_not_required": (-1106, "Parameter '%(param)s' sent when not required.", _l("“%(param)s” is not used by this order type.")),
    "quantity_or_quote_required": (
        -1102,
        "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
        _l("Give either a quantity or an amount to spend, not both."),
    ),
    "quote_sell_unsupported": (-1013, "Filter failure: NOTIONAL", _l("An amount to spend can only be given when buying.")),
    "price_filter": (-1013, "Filter failure: PRICE_FILTER", _l("The price must be a multiple of the market's price step.")),
    "lot_size": (
        -1013,
        "Filter failure: LOT_SIZE",
        _l("The quantity must be a multiple of the market's quantity step, between its minimum and maximum."),
    ),
    "notional": (-1013, "Filter failure: NOTIONAL", _l("The order's value is below the market's minimum.")),
    "no_liquidity": (-2010, "Market has insufficient liquidity.", _l("There are no orders to trade against in this market yet.")),
    "insufficient_balance": (
        -2010,
        "Account has insufficient balance for requested action.",
        _l("Your available balance is too low for this order."),
    ),
    "duplicate_order": (-2010, "Duplicate order sent.", _l("An open order already has this client order id.")),
    "unknown_order": (-2011, "Unknown order sent.", _l("This order is not open.")),
}


class OrderRejected(ExchangeError):
    """Refused before anything was reserved. `code` is stable (a key of REJECTIONS); `binance_code`
    and `msg` are Binance's, for the API; `param` names the parameter at fault, `detail` says more
    (for `number_invalid`: config.parsing.NumberInvalid's code, or `not_positive`)."""

    def __init__(self, code: str, *, param: str | None = None, detail: str = ""):
        binance_code, text, message = REJECTIONS[code]
        values = {"param": param or ""}
        self.binance_code, self.msg, self.param, self.detail = binance_code, text % values if param else text, param, detail
        super().__init__(code, str(message) % values if param else str(message))


def _decimal(value, name: str, required: bool = False) -> Decimal | None:
    """A strictly read positive number (config.parsing.decimal_parse_ascii: ASCII digits, one
    dot, an optional exponent), or None when not given; refusals name the parameter."""
    if value is None or value == "":
        if required:
            raise OrderRejected("parameter_missing", param=name)
        return None
    try:
        number = decimal_parse_ascii(value)
    except NumberInvalid as invalid:
        raise OrderRejected("number_invalid", param=name, detail=invalid.code)
    if number <= 0:
        raise OrderRejected("number_invalid", param=name, detail="not_positive")
    return number


def _multiple(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def _check_price(market: Market, price: Decimal) -> None:
    if not _multiple(price, market.tick_size):
        raise OrderRejected("price_filter")


def _check_qty(market: Market, qty: Decimal) -> None:
    if not _multiple(qty, market.step_size) or qty < market.min_qty or qty > market.max_qty:
        raise OrderRejected("lot_size")


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
        raise OrderRejected("side_invalid")
    if type not in Order.Type.values:
        raise OrderRejected("type_invalid")
    if time_in_force not in Order.TimeInForce.values:
        raise OrderRejected("time_in_force_invalid")
    if stp_mode not in Order.Stp.values:
        raise OrderRejected("stp_mode_invalid")
    if market.status != Market.Status.TRADING:
        raise OrderRejected("market_closed")
    user = User.objects.get(pk=user.pk)
    if user.is_frozen or not user.is_active:
        raise OrderRejected("account_disabled")
    if client_order_id is not None and not CLIENT_ORDER_ID.fullmatch(client_order_id):
        raise OrderRejected("client_order_id_invalid")
    client_order_id = client_order_id or "web_" + secrets.token_hex(12)

    limit_types = (Order.Type.LIMIT, Order.Type.LIMIT_MAKER, Order.Type.STOP_LOSS_LIMIT, Order.Type.TAKE_PROFIT_LIMIT)
    qty = _decimal(quantity, "quantity")
    quote_qty = _decimal(quote_quantity, "quoteOrderQty")
    price = _decimal(price, "price", required=type in limit_types)
    stop = _decimal(stop_price, "stopPrice", required=type in (Order.Type.STOP_LOSS_LIMIT, Order.Type.TAKE_PROFIT_LIMIT))
    if stop is not None and type not in (Order.Type.STOP_LOSS_LIMIT, Order.Type.TAKE_PROFIT_LIMIT):
        raise OrderRejected("parameter_not_required", param="stopPrice")
    if price is not None and type == Order.Type.MARKET:
        raise OrderRejected("parameter_not_required", param="price")
    if type == Order.Type.MARKET:
        if (qty is None) == (quote_qty is None):
            raise OrderRejected("quantity_or_quote_required")
        if quote_qty is not None and side == Order.Side.SELL:
            raise OrderRejected("quote_sell_unsupported")
        time_in_force = Order.TimeInForce.IOC
    else:
        if qty is None:
            raise OrderRejected("parameter_missing", param="quantity")
        if quote_qty is not None:
            raise OrderRejected("parameter_not_required", param="quoteOrderQty")
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
            raise OrderRejected("no_liquidity")
        protection = market.market_protection
        bound = reference * (1 + protection) if side == Order.Side.BUY else reference * (1 - protection)
        # The bound is a price the book can hold: rounded to the tick towards the reference.
        ticks = (bound / market.tick_size).to_integral_value(rounding="ROUND_FLOOR" if side == Order.Side.BUY else "ROUND_CEILING")
        price = max(ticks, 1) * market.tick_size
        if quote_qty is not None:
            if quote_qty < market.min_notional or quote_qty != quote_qty.quantize(quote.quantum):
                raise OrderRejected("notional")
            reserve_asset, reserve = quote, quote_qty
        elif side == Order.Side.BUY:
            reserve_asset, reserve = quote, _round_up(price * qty, quote.quantum)
        else:
            reserve_asset, reserve = base, qty
    else:
        if price * qty < market.min_notional:
            raise OrderRejected("notional")
        if price * qty != (price * qty).quantize(quote.quantum):  # every fill's amount must be exact in the quote asset
            raise OrderRejected("lot_size")
        reserve_asset, reserve = (quote, price * qty) if side == Order.Side.BUY else (base, qty)
    if reserve != reserve.quantize(reserve_asset.quantum):
        raise OrderRejected("lot_size")  # a market whose steps the asset's precision cannot hold

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
            engine_wake(market.pk)
    except InsufficientFunds:
        raise OrderRejected("insufficient_balance")
    except IntegrityError:
        if Order.objects.filter(user=user, client_order_id=client_order_id, status__in=Order.OPEN).exists():
            raise OrderRejected("duplicate_order")
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
        raise OrderRejected("unknown_order")
    if not EngineCommand.objects.filter(order=order, kind=EngineCommand.Kind.CANCEL, applied_at__isnull=True).exists():
        EngineCommand.objects.create(market=order.market, kind=EngineCommand.Kind.CANCEL, order=order)
    engine_wake(order.market_id)
    return order


def order_cancel_all(*, user: User, market: Market) -> int:
    """Cancel every open order of the user in a market; returns how many were asked."""
    count = 0
    for order in Order.objects.filter(user=user, market=market, status__in=Order.OPEN):
        order_cancel(user=user, order=order)
        count += 1
    return count


def order_cancel_for_freeze(*, user: User) -> int:
    """Inside the freeze's transaction: a cancel command with the reason `account_frozen` for every
    open order of the user in every market (resting orders, waiting stops, orders not applied yet).
    The engine releases their funds as it applies them, and from the batch that first sees one it
    matches none of the user's orders (exchange/runner). Returns how many were asked."""
    orders = list(Order.objects.filter(user=user, status__in=Order.OPEN).values_list("pk", "market_id").order_by("pk"))
    EngineCommand.objects.bulk_create(
        EngineCommand(market_id=market_id, kind=EngineCommand.Kind.CANCEL, order_id=pk, reason=Order.Reason.ACCOUNT_FROZEN)
        for pk, market_id in orders
    )
    for market_id in sorted({market_id for _pk, market_id in orders}):
        engine_wake(market_id)
    return len(orders)


@transaction.atomic
def market_halt(*, market: Market, actor: User, reason: str) -> Market:
    """Stop trading in a market, audited (MarketStatusChange: who, why, when). New orders are
    refused; the engine expires placements accepted before the halt (reason `market_halted`) and
    releases their funds. Resting orders stay and can be cancelled. Halting a halted market does nothing."""
    return _market_status_set(market=market, actor=actor, reason=reason, status=Market.Status.HALT)


@transaction.atomic
def market_resume(*, market: Market, actor: User, reason: str) -> Market:
    """Trading again in a halted market, audited like `market_halt`."""
    return _market_status_set(market=market, actor=actor, reason=reason, status=Market.Status.TRADING)


def _market_status_set(*, market: Market, actor: User, reason: str, status: str) -> Market:
    reason = (reason or "").strip()
    if not reason:
        raise MarketError("reason_required", _("Give the reason for halting or resuming the market."))
    # Under the market row's lock, which every engine batch takes first: the change lands between batches.
    locked = Market.objects.select_for_update(no_key=True).get(pk=market.pk)
    if locked.status != status:
        MarketStatusChange.objects.create(market=locked, status=status, previous=locked.status, actor=actor, reason=reason[:2000])
        Market.objects.filter(pk=locked.pk).update(status=status)
        locked.status = status
    market.status = locked.status
    return locked


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
            ticket_tier_sync(customer=user)  # the SLA of their open support tickets follows the tier
    return moved


def fee_token_choice_set(*, user: User, pay_in_token: bool) -> None:
    """The user's choice to pay trading fees in the platform token (applies from the engine's next batch)."""
    User.objects.filter(pk=user.pk).update(pay_fees_in_platform_token=pay_in_token)
    user.pay_fees_in_platform_token = pay_in_token


# --- Market definition -------------------------------------------------------------------------------------

# The symbol, base and quote name what every order and trade of the market was in: fixed once it has any.
MARKET_HISTORY_FIELDS = ("symbol", "base", "quote")
# Resting orders are counted in ticks and lots: fixed while any is open or the engine has commands to apply.
MARKET_STEP_FIELDS = ("tick_size", "step_size")
MARKET_DEFINITION_FIELDS = MARKET_HISTORY_FIELDS + MARKET_STEP_FIELDS


class MarketChangeRefused(AppError):
    """A market setting that its orders and trades depend on cannot change now."""


def _changed(market: Market, changes: dict, fields: tuple[str, ...]) -> bool:
    """Whether any of `fields` differs; a foreign key is compared by id, without loading the row."""
    for field, value in changes.items():
        if field in fields:
            column = Market._meta.get_field(field)
            stored, new = (
                (getattr(market, column.attname), getattr(value, "pk", value)) if column.is_relation else (getattr(market, field), value)
            )
            if stored != new:
                return True
    return False


def market_steps_change_check(*, market: Market, changes: dict) -> None:
    """Refuse a new symbol, base or quote once the market has any order or trade (closed ones are
    history: a filled SELL on BTCUSDT would read as one on ETHUSDT), and a new tick or step while
    it has open orders or commands the engine has not applied: resting orders are counted in those
    ticks and lots. `market` is the stored row; `changes` maps field → new value."""
    if market.pk is None:
        return
    if _changed(market, changes, MARKET_HISTORY_FIELDS) and (
        Order.objects.filter(market=market).exists() or Trade.objects.filter(market=market).exists()
    ):
        raise MarketChangeRefused(
            "market_has_history",
            _(
                "The symbol, base and quote of %(symbol)s cannot change once it has orders or trades: "
                "they would rewrite its history. List a new market instead."
            )
            % {"symbol": market.symbol},
        )
    if not _changed(market, changes, MARKET_STEP_FIELDS):
        return
    busy = (
        Order.objects.filter(market=market, status__in=Order.OPEN).exists()
        or EngineCommand.objects.filter(market=market, applied_at__isnull=True).exists()
    )
    if busy:
        raise MarketChangeRefused(
            "market_steps_in_use",
            _(
                "The tick and step sizes of %(symbol)s cannot change while it has open orders. "
                "Halt the market and follow the procedure for changing them in the deployment guide."
            )
            % {"symbol": market.symbol},
        )


@transaction.atomic
def market_save(*, market: Market) -> Market:
    """Save a market edited in admin; a change of symbol, base, quote, tick or step is checked again
    under the market's row lock."""
    if market.pk is not None:
        stored = Market.objects.select_for_update(no_key=True).get(pk=market.pk)
        market_steps_change_check(market=stored, changes={field: getattr(market, field) for field in MARKET_DEFINITION_FIELDS})
    market.save()
    return market

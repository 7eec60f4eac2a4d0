"""The customer context panel of the console: what an agent needs to know about a customer to
answer them, read in a fixed number of queries (asserted in the tests). Read only: nothing here
or on the panel moves money or changes the account (the security actions are their own forms,
support.services.security)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from accounts.models import AccountFreeze, ApiKey, LoginRecord, SecurityEvent, User
from support.models import SatisfactionRating, Ticket

RECENT = 10


@dataclass
class CustomerContext:
    customer: User
    email_verified: bool
    mfa_types: list[str]
    fee_tier: object  # exchange.FeeTier or None
    balances: list  # wallets.selectors.BalanceRow with a balance
    balance_total: Decimal
    deposits: list
    withdrawals: list
    orders: list
    trades: list
    security_events: list
    logins: list
    freezes: list
    recoveries_open: list
    tickets: list
    ratings: list
    api_keys_active: int

    @property
    def active_freeze(self) -> AccountFreeze | None:
        return next((f for f in self.freezes if f.lifted_at is None), None)

    @property
    def has_mfa(self) -> bool:
        return bool(self.mfa_types)


def customer_context(*, customer: User, exclude_ticket: Ticket | None = None) -> CustomerContext:
    """Everything the panel shows about `customer`; the caller has checked the agent may see them
    (support.selectors.access.customers_for_agent). `exclude_ticket` leaves the open ticket out of
    the earlier tickets."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    from exchange.models import FeeTier, Order, Trade
    from wallets.models import Deposit, RecoveryRequest, Withdrawal
    from wallets.selectors import balances_for

    balances, total = balances_for(user=customer)
    tickets = Ticket.objects.filter(customer=customer).select_related("category").order_by("-created_at", "-id")
    if exclude_ticket is not None:
        tickets = tickets.exclude(pk=exclude_ticket.pk)
    open_recovery = [
        RecoveryRequest.Status.SUBMITTED,
        RecoveryRequest.Status.QUOTED,
        RecoveryRequest.Status.ACCEPTED,
        RecoveryRequest.Status.APPROVED_ONCE,
    ]
    trades = (
        Trade.objects.filter(Q(buy_order__user=customer) | Q(sell_order__user=customer))
        .select_related("market__base", "market__quote", "buy_order", "sell_order", "buyer_fee_asset", "seller_fee_asset")
        .order_by("-id")[:RECENT]
    )
    return CustomerContext(
        customer=customer,
        email_verified=EmailAddress.objects.filter(user=customer, email__iexact=customer.email, verified=True).exists(),
        mfa_types=sorted({a.type for a in Authenticator.objects.filter(user=customer).only("type")}),
        fee_tier=FeeTier.objects.filter(tier=customer.vip_tier).first(),
        balances=[row for row in balances if row.total],
        balance_total=total,
        deposits=list(Deposit.objects.filter(user=customer).select_related("network__asset").order_by("-seen_at", "-id")[:RECENT]),
        withdrawals=list(Withdrawal.objects.filter(user=customer).select_related("network__asset").order_by("-created_at", "-id")[:RECENT]),
        orders=list(Order.objects.filter(user=customer).select_related("market__base", "market__quote").order_by("-id")[:RECENT]),
        trades=[_trade_row(trade, customer) for trade in trades],
        security_events=list(SecurityEvent.objects.filter(user=customer).order_by("-created_at", "-id")[:20]),
        logins=list(LoginRecord.objects.filter(user=customer).order_by("-created_at", "-id")[:RECENT]),
        freezes=list(
            AccountFreeze.objects.filter(user=customer)
            .select_related("created_by", "lift_requested_by", "lifted_by")
            .order_by("-created_at", "-id")[:RECENT]
        ),
        recoveries_open=list(
            RecoveryRequest.objects.filter(user=customer, status__in=open_recovery).select_related("asset").order_by("-created_at", "-id")
        ),
        tickets=list(tickets[:RECENT]),
        ratings=list(
            SatisfactionRating.objects.filter(ticket__customer=customer).select_related("ticket").order_by("-created_at")[:RECENT]
        ),
        api_keys_active=ApiKey.objects.filter(user=customer, revoked_at__isnull=True).count(),
    )


@dataclass
class TradeRow:
    trade: object
    side: str  # the customer's side: BUY or SELL
    fee: Decimal
    fee_asset: object


def _trade_row(trade, customer: User) -> TradeRow:
    if trade.buy_order.user_id == customer.pk:
        return TradeRow(trade, "BUY", trade.buyer_fee, trade.buyer_fee_asset)
    return TradeRow(trade, "SELL", trade.seller_fee, trade.seller_fee_asset)

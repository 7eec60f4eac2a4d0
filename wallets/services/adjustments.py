from decimal import Decimal

from django.db import transaction

from accounts.models import User
from wallets.ledger import InvalidAmount, Line, journal_post, system_account, user_account
from wallets.models import AccountKind, Asset, Journal


@transaction.atomic
def ledger_adjust(*, user: User, asset: Asset, amount: Decimal, reason: str, idempotency_key: str, by: User | None = None) -> Journal:
    """A manual credit (positive) or debit (negative) against the adjustments account.

    Refused when the reason is empty or the user's available balance would go negative; the
    journal's memo and author are the audit trail, and the key makes a retried command a no-op.
    """
    if not reason.strip():
        raise InvalidAmount("a reason is required")
    if amount == 0:
        raise InvalidAmount("the amount must not be zero")
    account = user_account(user=user, asset=asset)
    adjustments = system_account(kind=AccountKind.ADJUSTMENTS, asset=asset)
    return journal_post(
        kind=Journal.Kind.ADJUSTMENT,
        idempotency_key=idempotency_key,
        memo=reason.strip(),
        created_by=by,
        lines=[Line(account, amount), Line(adjustments, -amount)],
    )

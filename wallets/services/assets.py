"""Changes to an asset's definition that existing amounts depend on."""

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from config.errors import AppError
from wallets.models import Asset, Deposit, Entry, LedgerAccount, Withdrawal


class AssetChangeRefused(AppError):
    """An asset setting that amounts already recorded depend on cannot change now."""


PENDING_DEPOSIT = (Deposit.Status.SEEN, Deposit.Status.CONFIRMING)  # credited later, at the precision they were checked against
PENDING_WITHDRAWAL = (Withdrawal.Status.REVIEW, Withdrawal.Status.QUEUED, Withdrawal.Status.SENDING, Withdrawal.Status.BROADCAST)


def asset_in_use(*, asset: Asset) -> bool:
    """Whether amounts exact to the asset's current precision exist: any account holding it
    (available or locked, system accounts included), any ledger entry in it (the journal is
    history), any order in a market of it (closed ones too), or any deposit or withdrawal of it not
    yet finished. A deposit still being confirmed is credited later at the precision it was checked
    against."""
    from exchange.models import Order

    return (
        LedgerAccount.objects.filter(asset=asset).exclude(available=0, locked=0).exists()
        # through the account (indexed) rather than Entry.asset, which has no index
        or Entry.objects.filter(account__asset=asset).exists()
        or Order.objects.filter(Q(market__base=asset) | Q(market__quote=asset)).exists()
        or Deposit.objects.filter(network__asset=asset, status__in=PENDING_DEPOSIT).exists()
        or Withdrawal.objects.filter(network__asset=asset, status__in=PENDING_WITHDRAWAL).exists()
    )


def asset_precision_change_check(*, asset: Asset, precision: int) -> None:
    """Refuse a new precision while the asset is in use (see docs/deployment.md, "Changing an
    asset's precision or a market's tick and step")."""
    if asset.pk is None or precision == asset.precision:
        return
    if asset_in_use(asset=asset):
        raise AssetChangeRefused(
            "asset_precision_in_use",
            _(
                "The precision of %(symbol)s cannot change once amounts are recorded in it: balances, orders, "
                "deposits, withdrawals or ledger entries. "
                "Follow the procedure for changing an asset's precision in the deployment guide."
            )
            % {"symbol": asset.symbol},
        )


@transaction.atomic
def asset_save(*, asset: Asset) -> Asset:
    """Save an asset edited in admin; a precision change is checked again under the asset's row lock."""
    if asset.pk is not None:
        stored = Asset.objects.select_for_update(no_key=True).get(pk=asset.pk)
        asset_precision_change_check(asset=stored, precision=asset.precision)
    asset.save()
    return asset

"""Changes to an asset's definition that existing amounts depend on."""

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from config.errors import AppError
from wallets.models import Asset, LedgerAccount


class AssetChangeRefused(AppError):
    """An asset setting that amounts already recorded depend on cannot change now."""


def asset_in_use(*, asset: Asset) -> bool:
    """Whether any account holds the asset (available or locked, system accounts included) or any
    order in a market of it is open: their amounts are exact to the current precision."""
    from exchange.models import Order

    if LedgerAccount.objects.filter(asset=asset).exclude(available=0, locked=0).exists():
        return True
    return Order.objects.filter(Q(market__base=asset) | Q(market__quote=asset), status__in=Order.OPEN).exists()


def asset_precision_change_check(*, asset: Asset, precision: int) -> None:
    """Refuse a new precision while the asset is in use (see docs/deployment.md, "Changing an
    asset's precision or a market's tick and step")."""
    if asset.pk is None or precision == asset.precision:
        return
    if asset_in_use(asset=asset):
        raise AssetChangeRefused(
            "asset_precision_in_use",
            _(
                "The precision of %(symbol)s cannot change while any account holds it or any of its orders is open. "
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

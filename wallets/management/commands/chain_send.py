from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from wallets.chains import chain_adapter
from wallets.chains.simulated import SimulatedChain
from wallets.models import Network


class Command(BaseCommand):
    help = (
        "Simulate an incoming transfer on the simulated chain: NETWORK ADDRESS AMOUNT. The asset defaults to the "
        "network's only listed asset; any symbol may be sent (an unlisted token), to any address (a wrong network), "
        "with or without --memo."
    )

    def add_arguments(self, parser):
        parser.add_argument("network", help="chain code, e.g. ERC20, TRC20, BTC, XRP")
        parser.add_argument("address")
        parser.add_argument("amount")
        parser.add_argument("--asset", help="token symbol (required on chains listing several assets)")
        parser.add_argument("--memo", default="", help="memo / destination tag")
        # Scanned right away by default, so the deposit page counts its confirmations from the first
        # block on (waiting for the worker's scan, a 2-confirmation deposit was simply credited).
        parser.add_argument("--scan", dest="scan", action="store_true", help="scan the chain right away (the default)")
        parser.add_argument("--no-scan", dest="scan", action="store_false", help="leave the scan to the worker's next block")
        parser.set_defaults(scan=True)

    def handle(self, *args, network, address, amount, asset, memo, scan, **options):
        chain = network.upper()
        adapter = chain_adapter(chain)
        if not isinstance(adapter, SimulatedChain):
            raise CommandError(f"{chain} is not a simulated chain")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise CommandError(f"not an amount: {amount}")
        if not value.is_finite() or value <= 0 or value.as_tuple().exponent < -18:
            raise CommandError("the amount must be positive with at most 18 decimals")
        if asset is None:
            listed = list(Network.objects.filter(code=chain).values_list("asset__symbol", flat=True))
            if len(listed) != 1:
                raise CommandError(f"{chain} lists {', '.join(listed) or 'no assets'}: choose one with --asset")
            asset = listed[0]
        transfer = adapter.mine(token=asset.upper(), to_address=address, memo=memo, amount=value, from_address="external")
        self.stdout.write(
            f"sent {value} {asset.upper()} on {chain} to {address}"
            + (f" memo {memo}" if memo else "")
            + f": tx {transfer.tx_hash} in block {transfer.height}"
        )
        if scan:
            from wallets.services import chain_scan

            self.stdout.write(str(chain_scan(chain=chain)))

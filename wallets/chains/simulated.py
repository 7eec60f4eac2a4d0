"""The simulated chain: the embedded default adapter.

Its state lives in the database (SimChain, SimTransfer), so every process of `make run` sees the
same chain and it survives restarts. Blocks advance on a schedule (`chain_tick`, Celery beat);
`manage.py chain_send` puts an incoming transfer into a new block. Addresses are derived from
SECRET_KEY with HMAC, shaped like the real chain's, and the same on every EVM chain."""

import hashlib
import hmac
from decimal import Decimal

import base58
from bech32m import codecs as bech32
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from wallets.chains.addresses import destination_validate
from wallets.chains.base import ChainAdapter, ChainTransfer

EVM = ("ERC20", "BEP20")
MEMO_CHAINS = ("XRP",)


def _digest(*parts) -> bytes:
    message = ":".join(str(part) for part in parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()


def address_format(chain: str, raw: bytes) -> str:
    """A valid main-network address of the chain's own format for the 20 (or 32) bytes `raw`, so
    simulated deposit addresses pass the same checks a withdrawal destination does."""
    if chain in EVM:
        return "0x" + raw.hex()[:40]
    if chain == "BTC":
        return bech32.encode("bc", 0, raw[:20])
    if chain == "LTC":
        return bech32.encode("ltc", 0, raw[:20])
    if chain == "SOL":
        return base58.b58encode(raw[:32]).decode()
    if chain == "XRP":
        return base58.b58encode_check(b"\x00" + raw[:20], alphabet=base58.XRP_ALPHABET).decode()
    version = {"TRC20": 0x41, "DOGE": 0x1E}.get(chain, 0x35)  # NEO3 and others: Neo N3's
    return base58.b58encode_check(bytes([version]) + raw[:20]).decode()


class SimulatedChain(ChainAdapter):
    def __init__(self, chain: str):
        super().__init__(chain)
        self.family = EVM if chain in EVM else (chain,)
        self.uses_memo = chain in MEMO_CHAINS

    def _key_space(self) -> str:
        return "evm" if self.chain in EVM else self.chain

    def _state(self, lock: bool = False):
        from wallets.models import SimChain

        chain = SimChain.objects.filter(code=self.chain)
        if lock:
            chain = chain.select_for_update(no_key=True)
        found = chain.first()
        if found is None:
            try:
                with transaction.atomic():
                    found = SimChain.objects.create(code=self.chain)
            except IntegrityError:
                found = (
                    SimChain.objects.select_for_update(no_key=True).get(code=self.chain) if lock else SimChain.objects.get(code=self.chain)
                )
        return found

    def deposit_address(self, *, user_id: int, attempt: int = 0) -> tuple[str, str]:
        if self.uses_memo:
            tag = int.from_bytes(_digest(self.chain, "memo", user_id, attempt)[:4], "big") % 900_000_000 + 100_000_000
            return self.hot_wallet(), str(tag)
        return address_format(self.chain, _digest(self._key_space(), "user", user_id, attempt)), ""

    def hot_wallet(self) -> str:
        return address_format(self.chain, _digest(self._key_space(), "hot"))

    def height(self) -> int:
        return self._state().height

    def transfers(self, *, after_height: int, up_to_height: int) -> list[ChainTransfer]:
        from wallets.models import SimTransfer

        rows = SimTransfer.objects.filter(
            chain__code=self.chain, height__gt=after_height, height__lte=up_to_height, outgoing_key__isnull=True
        ).order_by("height", "id")
        return [ChainTransfer(r.tx_hash, r.tx_index, r.token, r.to_address, r.memo, r.amount, r.height, r.from_address) for r in rows]

    def transaction_height(self, *, tx_hash: str) -> int | None:
        from wallets.models import SimTransfer

        row = SimTransfer.objects.filter(chain__code=self.chain, tx_hash=tx_hash).first()
        return None if row is None else row.height

    @transaction.atomic
    def broadcast(self, *, key: str, token: str, to_address: str, memo: str, amount: Decimal) -> str:
        from wallets.models import SimTransfer

        existing = SimTransfer.objects.filter(outgoing_key=key).first()
        if existing is not None:
            return existing.tx_hash
        return self.mine(
            token=token, to_address=to_address, memo=memo, amount=amount, from_address=self.hot_wallet(), outgoing_key=key
        ).tx_hash

    def destination_check(self, *, address: str, memo: str = "") -> tuple[str, str]:
        found = destination_validate(self.chain, address=address, memo=memo)
        return found.address, found.memo

    INTERNAL_SOURCES = ("genesis", "cold-wallet")

    def is_internal_source(self, from_address: str) -> bool:
        return from_address in self.INTERNAL_SOURCES or from_address == self.hot_wallet()

    def normalize(self, address: str) -> str:
        address = address.strip()
        return address.lower() if self.chain in EVM else address

    def holdings(self, *, up_to_height: int | None = None) -> dict[str, Decimal]:
        from wallets.models import DepositAddress, SimTransfer

        ours = set(DepositAddress.objects.filter(chain__in=self.family).values_list("address", flat=True)) | {self.hot_wallet()}
        totals: dict[str, Decimal] = {}
        rows = SimTransfer.objects.filter(chain__code=self.chain).filter(Q(to_address__in=ours) | Q(from_address__in=ours))
        if up_to_height is not None:
            rows = rows.filter(height__lte=up_to_height)
        for row in rows.values_list("token", "amount", "to_address", "from_address").iterator():
            token, amount, to_address, from_address = row
            change = (amount if to_address in ours else 0) - (amount if from_address in ours else 0)
            totals[token] = totals.get(token, Decimal(0)) + change
        return {token: total for token, total in totals.items() if total}

    # --- simulation controls (not part of the adapter interface) --------------------------------

    @transaction.atomic
    def mine(
        self,
        *,
        token: str = "",
        to_address: str = "",
        memo: str = "",
        amount: Decimal | None = None,
        from_address: str = "",
        outgoing_key: str | None = None,
        blocks: int = 1,
    ):
        """Advance the chain by `blocks`; with a transfer, include it in the first new block."""
        from wallets.models import SimTransfer

        state = self._state(lock=True)
        to_address = self.normalize(to_address)
        state.height += blocks
        state.save(update_fields=["height"])
        if amount is None:
            return None
        first_block = state.height - blocks + 1
        tx_hash = ("0x" if self.chain in EVM else "") + _digest(
            self.chain, "tx", first_block, to_address, amount, outgoing_key or "in"
        ).hex()
        return SimTransfer.objects.create(
            chain=state,
            tx_hash=tx_hash,
            token=token,
            from_address=from_address,
            to_address=to_address,
            memo=memo,
            amount=amount,
            height=first_block,
            outgoing_key=outgoing_key,
        )

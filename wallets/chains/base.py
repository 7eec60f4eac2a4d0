"""The chain-adapter interface.

A real node is a drop-in: an EVM JSON-RPC adapter derives addresses from an xpub, reads
`eth_blockNumber`, scans `Transfer` logs and native transfers per block, signs and sends through
its signer, and reports custody from balances; a Bitcoin RPC adapter uses `getnewaddress`,
`listsinceblock`, `sendtoaddress` and `getbalances`. Everything above the adapter (deposit
matching, confirmations, crediting exactly once, withdrawal broadcast, reconciliation) is shared.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ChainTransfer:
    """An incoming transfer as the chain reports it."""

    tx_hash: str
    index: int  # output / log index: one transaction can pay several addresses
    token: str  # the asset symbol (a real EVM adapter maps contract addresses to symbols)
    to_address: str
    memo: str
    amount: Decimal
    height: int
    from_address: str = ""


class ChainAdapter(ABC):
    """One blockchain. Implementations must make `broadcast` idempotent by `key`: a retried
    withdrawal task must get the first transaction back, never send twice."""

    #: chains that share addresses (the same key controls an address on every EVM chain)
    family: tuple[str, ...] = ()
    #: on memo chains every user shares one address and the memo (destination tag) names the user
    uses_memo: bool = False

    def __init__(self, chain: str):
        self.chain = chain
        self.family = self.family or (chain,)

    @abstractmethod
    def deposit_address(self, *, user_id: int, attempt: int = 0) -> tuple[str, str]:
        """(address, memo) for a user's deposits; `attempt` > 0 asks for another on a collision."""

    @abstractmethod
    def hot_wallet(self) -> str:
        """The custody address withdrawals are sent from."""

    @abstractmethod
    def height(self) -> int:
        """The chain tip's block height."""

    @abstractmethod
    def transfers(self, *, after_height: int, up_to_height: int) -> list[ChainTransfer]:
        """Incoming transfers in blocks after_height < h <= up_to_height, in chain order."""

    @abstractmethod
    def transaction_height(self, *, tx_hash: str) -> int | None:
        """The block a transaction was included in, or None while it is not."""

    @abstractmethod
    def broadcast(self, *, key: str, token: str, to_address: str, memo: str, amount: Decimal) -> str:
        """Send from the hot wallet; returns the transaction hash. Idempotent by `key`."""

    @abstractmethod
    def holdings(self, *, up_to_height: int | None = None) -> dict[str, Decimal]:
        """What the exchange controls on this chain, per token symbol (all our addresses), as of
        block `up_to_height` (default: the tip). Reconciliation asks at the scanner's height, so
        transfers the scanner has not read yet are not mistaken for a surplus."""

    @abstractmethod
    def destination_check(self, *, address: str, memo: str = "") -> tuple[str, str]:
        """(address, memo) in canonical form if this chain can send there, else
        `wallets.chains.addresses.AddressInvalid` with a translated reason. Runs wherever a user
        names a destination: the address book, the withdraw form and `withdrawal_request`."""

    def is_internal_source(self, from_address: str) -> bool:
        """True for transfers from our own wallets (cold-to-hot top-ups): never a user's deposit."""
        return False

    def normalize(self, address: str) -> str:
        """The canonical form of an address for comparisons (EVM addresses are case-insensitive)."""
        return address.strip()

    def confirmations(self, *, height: int, tip: int | None = None) -> int:
        tip = self.height() if tip is None else tip
        return max(0, tip - height + 1)

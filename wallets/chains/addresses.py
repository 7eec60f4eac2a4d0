"""Withdrawal destinations per chain format: is this text an address (and memo) the chain accepts?

Checks use the chains' own encodings through well-kept libraries: `base58` (Base58Check, also with
XRP's alphabet), `bech32m` (Pieter Wuille's reference BIP-173/BIP-350 code) and pycryptodome's
Keccak-256 for EIP-55. Nothing here is a regular expression over the text: an address passes only
when it decodes, its checksum holds and its version bytes or HRP name the expected main network.

When an address fails, every other known format is tried, so the refusal can say "this address is
for Ethereum (EVM), not for Bitcoin" or "this is a test-network address" instead of just "invalid".
A chain adapter owns validation (`ChainAdapter.destination_check`); the simulated adapter delegates
here, and a real adapter may too.
"""

from dataclasses import dataclass

import base58
from bech32m import codecs as bech32
from Crypto.Hash import keccak
from django.utils.translation import gettext as _

from config.errors import AppError

XRP_TAG_MAX = 2**32 - 1


class AddressInvalid(AppError):
    """`code`: address_required, address_whitespace, address_other_chain, address_testnet,
    address_checksum, address_invalid, address_unsupported, memo_not_allowed, memo_invalid,
    memo_conflict. `message` is translated and says what to do."""

    code = "address_invalid"


@dataclass(frozen=True)
class Destination:
    """A destination in its canonical form (bech32 lower-cased, EVM lower-cased, an X-address
    split into its classic address and destination tag)."""

    address: str
    memo: str


class _Mismatch(Exception):
    """The text is not this format; `code` says how close it came (checksum, testnet, invalid)."""

    def __init__(self, code: str = "address_invalid"):
        self.code = code
        super().__init__(code)


@dataclass(frozen=True)
class _Base58Check:
    versions: tuple[int, ...]  # one version byte + 20-byte hash
    test_versions: tuple[int, ...] = ()
    alphabet: bytes = base58.BITCOIN_ALPHABET

    def parse(self, text: str) -> str:
        raw = _b58check(text, self.alphabet)
        if len(raw) != 21:
            raise _Mismatch()
        if raw[0] in self.test_versions:
            raise _Mismatch("address_testnet")
        if raw[0] not in self.versions:
            raise _Mismatch()
        return text


@dataclass(frozen=True)
class _Segwit:
    hrp: str
    test_hrps: tuple[str, ...]

    def parse(self, text: str) -> str:
        lowered = text.lower()
        if text != lowered and text != text.upper():
            raise _Mismatch()  # BIP-173: one case throughout
        hrp, _sep, data = lowered.rpartition("1")
        if hrp not in (self.hrp, *self.test_hrps) or not data or any(c not in bech32.CHARSET for c in data):
            raise _Mismatch()
        try:
            bech32.decode(hrp, text)  # checks case, length, checksum (bech32 for v0, bech32m for v1+), program
        except bech32.DecodeError:
            try:
                bech32.bech32_decode(text)
            except bech32.DecodeError:
                raise _Mismatch("address_checksum")
            raise _Mismatch()  # checksum right, but version/program/encoding wrong
        if hrp != self.hrp:
            raise _Mismatch("address_testnet")
        return lowered


def _b58check(text: str, alphabet: bytes) -> bytes:
    try:
        raw = base58.b58decode(text, alphabet=alphabet)
    except ValueError:  # a character outside the alphabet
        raise _Mismatch()
    if len(raw) < 5:
        raise _Mismatch()
    try:
        return base58.b58decode_check(text, alphabet=alphabet)
    except ValueError:
        raise _Mismatch("address_checksum")


def _any(*formats):
    class _First:
        @staticmethod
        def parse(text: str) -> str:
            best = _Mismatch()
            for candidate in formats:
                try:
                    return candidate.parse(text)
                except _Mismatch as miss:
                    if miss.code != "address_invalid":
                        best = miss
            raise best

    return _First()


class _Evm:
    @staticmethod
    def parse(text: str) -> str:
        digits = text[2:]
        if not text.startswith("0x") or len(digits) != 40 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise _Mismatch()
        if digits != digits.lower() and digits != digits.upper():
            lower = digits.lower()
            hashed = keccak.new(digest_bits=256, data=lower.encode()).hexdigest()
            checksummed = "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(lower, hashed))
            if checksummed != digits:
                raise _Mismatch("address_checksum_case")
        return "0x" + digits.lower()


class _Solana:
    @staticmethod
    def parse(text: str) -> str:
        try:
            raw = base58.b58decode(text)
        except ValueError:
            raise _Mismatch()
        if len(raw) != 32 or base58.b58encode(raw).decode() != text:
            raise _Mismatch()
        return text


class _XAddress:
    """XRP's X-address: classic account id + optional destination tag in one checksummed string."""

    MAIN, TEST = b"\x05\x44", b"\x04\x93"

    @classmethod
    def split(cls, text: str) -> tuple[str, str]:
        raw = _b58check(text, base58.XRP_ALPHABET)
        if len(raw) != 31 or raw[:2] not in (cls.MAIN, cls.TEST):
            raise _Mismatch()
        account, flag, tag = raw[2:22], raw[22], raw[23:]
        if flag not in (0, 1) or tag[4:] != b"\0\0\0\0" or (flag == 0 and tag != bytes(8)):
            raise _Mismatch()
        if raw[:2] == cls.TEST:
            raise _Mismatch("address_testnet")
        classic = base58.b58encode_check(b"\0" + account, alphabet=base58.XRP_ALPHABET).decode()
        return classic, str(int.from_bytes(tag[:4], "little")) if flag else ""

    @classmethod
    def parse(cls, text: str) -> str:
        return cls.split(text)[0]


@dataclass(frozen=True)
class ChainFormat:
    name: str  # a proper noun, shown in messages as it is
    address: object
    memo: str = ""  # "" none; "xrp_tag"


BTC = ChainFormat("Bitcoin", _any(_Base58Check((0x00, 0x05), (0x6F, 0xC4)), _Segwit("bc", ("tb", "bcrt"))))
LTC = ChainFormat("Litecoin", _any(_Base58Check((0x30, 0x32), (0x6F, 0x3A)), _Segwit("ltc", ("tltc", "rltc"))))
DOGE = ChainFormat("Dogecoin", _Base58Check((0x1E, 0x16), (0x71, 0xC4)))
EVM = ChainFormat("Ethereum (EVM)", _Evm())
TRON = ChainFormat("Tron", _Base58Check((0x41,)))
SOLANA = ChainFormat("Solana", _Solana())
XRP = ChainFormat("XRP Ledger", _any(_Base58Check((0x00,), alphabet=base58.XRP_ALPHABET), _XAddress), memo="xrp_tag")
NEO3 = ChainFormat("Neo N3", _Base58Check((0x35,)))

#: Network.code -> its address format. EVM chains share one format (and one key per address).
FORMATS: dict[str, ChainFormat] = {
    "BTC": BTC,
    "LTC": LTC,
    "DOGE": DOGE,
    "ERC20": EVM,
    "BEP20": ChainFormat("BNB Smart Chain (EVM)", EVM.address),
    "TRC20": TRON,
    "SOL": SOLANA,
    "XRP": XRP,
    "NEO3": NEO3,
}
_RECOGNISED = (BTC, LTC, DOGE, EVM, TRON, SOLANA, XRP, NEO3)


def format_recognise(text: str, *, besides: ChainFormat) -> ChainFormat | None:
    """Which other chain's valid address (main or test network) this text is, if any."""
    for candidate in _RECOGNISED:
        if candidate.address is besides.address:
            continue
        try:
            candidate.address.parse(text)
            return candidate
        except _Mismatch as miss:
            if miss.code == "address_testnet":
                return candidate
    return None


def _refuse(code: str, fmt: ChainFormat) -> AddressInvalid:
    if code == "address_testnet":
        message = _("This address is for a test network of %(chain)s. Withdrawals go to main-network addresses only.")
    elif code == "address_checksum":
        message = _("The address checksum does not match, so a character is wrong or missing. Copy the address again.")
    elif code == "address_checksum_case":
        code = "address_checksum"
        message = _(
            "The capital and small letters of this address do not match its checksum (EIP-55), so a character is wrong. "
            "Copy the address again."
        )
    else:
        message = _("This is not a valid %(chain)s address. Check it and copy it again.")
    return AddressInvalid(code, message % {"chain": fmt.name})


def _memo_check(fmt: ChainFormat, memo: str) -> str:
    if fmt.memo == "xrp_tag":
        if memo and (not memo.isascii() or not memo.isdigit() or int(memo) > XRP_TAG_MAX):
            raise AddressInvalid("memo_invalid", _("The destination tag must be a whole number from 0 to 4294967295."))
        return str(int(memo)) if memo else ""
    if memo:
        raise AddressInvalid(
            "memo_not_allowed", _("Withdrawals on %(chain)s take no memo or tag. Leave that field empty.") % {"chain": fmt.name}
        )
    return ""


def destination_validate(chain: str, *, address: str, memo: str = "") -> Destination:
    """The canonical destination on `chain` (a Network.code), or AddressInvalid saying what is wrong.
    `address` is taken as typed: whitespace anywhere in it is refused, not trimmed away, because a
    pasted address with a line break in it is often two addresses or a cut one."""
    fmt = FORMATS.get(chain)
    if fmt is None:
        raise AddressInvalid("address_unsupported", _("Withdrawals on this network cannot be checked yet, so they are not accepted."))
    if not address.strip():
        raise AddressInvalid("address_required", _("Enter the address to send to."))
    if any(c.isspace() for c in address):
        raise AddressInvalid("address_whitespace", _("The address contains a space or a line break. Copy it again without them."))
    memo = (memo or "").strip()
    try:
        canonical = fmt.address.parse(address)
    except _Mismatch as miss:
        # a test-network address of this chain is that, even where another chain shares its version byte
        other = None if miss.code == "address_testnet" else format_recognise(address, besides=fmt)
        if other is not None:
            raise AddressInvalid(
                "address_other_chain",
                _("This address is for %(found)s, not for %(expected)s. Choose the network the address belongs to.")
                % {"found": other.name, "expected": fmt.name},
            )
        raise _refuse(miss.code, fmt)
    if fmt is XRP and address.startswith(("X", "T")):
        canonical, tag = _XAddress.split(address)
        if tag and memo and memo != tag:
            raise AddressInvalid(
                "memo_conflict",
                _("This X-address already contains destination tag %(tag)s. Leave the tag field empty or enter the same tag.")
                % {"tag": tag},
            )
        memo = memo or tag
    return Destination(canonical, _memo_check(fmt, memo))

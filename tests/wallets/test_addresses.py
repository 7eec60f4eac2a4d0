"""Withdrawal destinations: per-chain address and memo checks (wallets.chains.addresses), run by the
chain adapter in the address book, the withdraw form and withdrawal_request."""

from decimal import Decimal as D

import base58
import pytest
from bech32m import codecs as bech32

from tests.factories import UserFactory
from tests.wallets.conftest import BTC_EXTERNAL, ETH_EXTERNAL, balance, fresh_code, fund
from wallets.chains import chain_adapter
from wallets.chains.addresses import FORMATS, AddressInvalid, destination_validate
from wallets.chains.simulated import address_format
from wallets.models import Withdrawal, WithdrawalAddress
from wallets.selectors import custody_violations, ledger_violations
from wallets.services import WithdrawalRefused, address_book_add, deposit_address_for, withdrawal_request

ACCOUNT = bytes(range(20))


def _b58check(version: bytes, payload: bytes, alphabet=base58.BITCOIN_ALPHABET) -> str:
    return base58.b58encode_check(version + payload, alphabet=alphabet).decode()


def _x_address(prefix: bytes, tag: int | None) -> str:
    flag, tag_bytes = (b"\0", bytes(8)) if tag is None else (b"\1", tag.to_bytes(4, "little") + bytes(4))
    return _b58check(prefix, ACCOUNT + flag + tag_bytes, base58.XRP_ALPHABET)


XRP_CLASSIC_OF_ACCOUNT = _b58check(b"\0", ACCOUNT, base58.XRP_ALPHABET)


@pytest.mark.parametrize(
    "chain, address, canonical",
    [
        ("BTC", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),  # genesis P2PKH
        ("BTC", _b58check(b"\x05", ACCOUNT), _b58check(b"\x05", ACCOUNT)),  # P2SH
        # BIP-173 (bech32, v0) and BIP-350 (bech32m, v1+) vectors; upper case is valid, stored lower
        ("BTC", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
        (
            "BTC",
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
        ),
        (
            "BTC",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ),
        ("BTC", "BC1SW50QGDZ25J", "bc1sw50qgdz25j"),
        ("BTC", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs"),
        ("LTC", _b58check(b"\x30", ACCOUNT), _b58check(b"\x30", ACCOUNT)),
        ("LTC", _b58check(b"\x32", ACCOUNT), _b58check(b"\x32", ACCOUNT)),
        ("LTC", bech32.encode("ltc", 0, ACCOUNT), bech32.encode("ltc", 0, ACCOUNT)),
        ("DOGE", _b58check(b"\x1e", ACCOUNT), _b58check(b"\x1e", ACCOUNT)),
        # EIP-55's examples (mixed case that checksums), all lower and all upper case
        ("ERC20", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
        ("ERC20", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"),
        ("ERC20", "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"),
        ("BEP20", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb", "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"),
        ("ERC20", "0x52908400098527886e0f7030069857d2e4169ee7", "0x52908400098527886e0f7030069857d2e4169ee7"),
        ("ERC20", "0x8617E340B3D01FA5F11F306F4090FD50E238070D", "0x8617e340b3d01fa5f11f306f4090fd50e238070d"),
        ("TRC20", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
        ("SOL", "So11111111111111111111111111111111111111112", "So11111111111111111111111111111111111111112"),
        ("SOL", "11111111111111111111111111111111", "11111111111111111111111111111111"),
        ("XRP", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"),
        ("XRP", "X7AcgcsBL6XDcUb289X4mJ8djcdyKaB5hJDWMArnXr61cqZ", "r9cZA1mLK5R5Am25ArfXFmqgNwjZgnfk59"),  # XLS-5d vector
        ("NEO3", "NiHURyS83nX2mpxtA7xq84cGxVbHojj5Wc", "NiHURyS83nX2mpxtA7xq84cGxVbHojj5Wc"),
    ],
)
def test_valid_addresses_pass_in_canonical_form(chain, address, canonical):
    assert destination_validate(chain, address=address).address == canonical


@pytest.mark.parametrize(
    "chain, address, code",
    [
        ("BTC", "hello", "address_invalid"),
        ("BTC", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "address_checksum"),  # last character changed
        ("BTC", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "address_checksum"),
        ("BTC", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "address_invalid"),  # BIP-350: v0 with a bech32m checksum
        ("BTC", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "address_invalid"),  # v1 with a bech32 checksum
        ("BTC", "bc1QW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "address_invalid"),  # mixed case
        ("BTC", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "address_testnet"),  # BIP-173 testnet vector
        ("BTC", _b58check(b"\x6f", ACCOUNT), "address_testnet"),
        ("BTC", bech32.encode("bcrt", 0, ACCOUNT), "address_testnet"),
        ("LTC", bech32.encode("tltc", 0, ACCOUNT), "address_testnet"),
        ("DOGE", _b58check(b"\x71", ACCOUNT), "address_testnet"),
        ("BTC", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "address_other_chain"),
        ("ERC20", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "address_checksum"),  # one letter's case flipped
        ("ERC20", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae", "address_invalid"),  # 19.5 bytes
        ("ERC20", "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "address_invalid"),
        ("TRC20", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", "address_checksum"),
        ("TRC20", _b58check(b"\x42", ACCOUNT), "address_invalid"),
        ("SOL", base58.b58encode(bytes(31) + b"\1").decode()[1:], "address_invalid"),  # 31 bytes
        ("XRP", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTi", "address_checksum"),
        ("XRP", _x_address(b"\x04\x93", None), "address_testnet"),
        ("NEO3", "NiHURyS83nX2mpxtA7xq84cGxVbHojj5Wd", "address_checksum"),
        ("BTC", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n", "address_whitespace"),
        ("BTC", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\nbc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "address_whitespace"),
        ("BTC", " 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "address_whitespace"),
        ("BTC", "   ", "address_required"),
        ("UNKNOWN", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "address_unsupported"),
    ],
)
def test_invalid_addresses_are_refused_with_the_reason(chain, address, code):
    with pytest.raises(AddressInvalid) as info:
        destination_validate(chain, address=address)
    assert info.value.code == code


@pytest.mark.parametrize(
    "chain, address, message",
    [
        ("BTC", ETH_EXTERNAL, "This address is for Ethereum (EVM), not for Bitcoin. Choose the network the address belongs to."),
        ("ERC20", BTC_EXTERNAL, "This address is for Bitcoin, not for Ethereum (EVM). Choose the network the address belongs to."),
        ("TRC20", ETH_EXTERNAL, "This address is for Ethereum (EVM), not for Tron. Choose the network the address belongs to."),
        (
            "LTC",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "This address is for Bitcoin, not for Litecoin. Choose the network the address belongs to.",
        ),
        (
            "BTC",
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "This address is for Tron, not for Bitcoin. Choose the network the address belongs to.",
        ),
        (
            "SOL",
            "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
            "This address is for XRP Ledger, not for Solana. Choose the network the address belongs to.",
        ),
        # a Bitcoin testnet address on Litecoin: still recognised as Bitcoin's
        (
            "LTC",
            "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
            "This address is for Bitcoin, not for Litecoin. Choose the network the address belongs to.",
        ),
        ("BTC", "hello", "This is not a valid Bitcoin address. Check it and copy it again."),
        (
            "BTC",
            "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
            "This address is for a test network of Bitcoin. Withdrawals go to main-network addresses only.",
        ),
        (
            "BTC",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
            "The address checksum does not match, so a character is wrong or missing. Copy the address again.",
        ),
        (
            "ERC20",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
            "The capital and small letters of this address do not match its checksum (EIP-55), so a character is wrong. "
            "Copy the address again.",
        ),
        ("BTC", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n", "The address contains a space or a line break. Copy it again without them."),
    ],
)
def test_refusals_say_what_is_wrong(chain, address, message):
    with pytest.raises(AddressInvalid) as info:
        destination_validate(chain, address=address)
    assert info.value.message == message


def test_memo_rules_per_chain():
    xrp = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"
    assert destination_validate("XRP", address=xrp, memo="4294967295").memo == "4294967295"
    assert destination_validate("XRP", address=xrp, memo=" 0012 ").memo == "12"
    assert destination_validate("XRP", address=xrp, memo="").memo == ""
    for bad in ("4294967296", "-1", "12a", "1.5", "١٢"):  # too large, signed, letters, decimal, Arabic-Indic digits
        with pytest.raises(AddressInvalid) as info:
            destination_validate("XRP", address=xrp, memo=bad)
        assert (info.value.code, info.value.message) == ("memo_invalid", "The destination tag must be a whole number from 0 to 4294967295.")
    with pytest.raises(AddressInvalid) as info:
        destination_validate("BTC", address=BTC_EXTERNAL, memo="123")
    assert (info.value.code, info.value.message) == (
        "memo_not_allowed",
        "Withdrawals on Bitcoin take no memo or tag. Leave that field empty.",
    )


def test_x_address_carries_its_tag():
    tagged = _x_address(b"\x05\x44", 12345)
    assert destination_validate("XRP", address=tagged).__dict__ == {"address": XRP_CLASSIC_OF_ACCOUNT, "memo": "12345"}
    assert destination_validate("XRP", address=tagged, memo="12345").memo == "12345"
    assert destination_validate("XRP", address=_x_address(b"\x05\x44", None), memo="7").__dict__ == {
        "address": XRP_CLASSIC_OF_ACCOUNT,
        "memo": "7",
    }
    with pytest.raises(AddressInvalid) as info:
        destination_validate("XRP", address=tagged, memo="999")
    assert info.value.code == "memo_conflict"
    assert info.value.message == "This X-address already contains destination tag 12345. Leave the tag field empty or enter the same tag."


@pytest.mark.parametrize("chain", sorted(FORMATS))
def test_simulated_addresses_are_valid_on_their_own_chain(chain):
    adapter = chain_adapter(chain)
    for raw in (bytes(32), bytes(range(32)), b"\xff" * 32):
        address = address_format(chain, raw)
        assert adapter.destination_check(address=address, memo="") == (adapter.normalize(address), "")


# --- Every caller runs the check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, code",
    [("hello", "address_invalid"), (ETH_EXTERNAL, "address_other_chain"), (BTC_EXTERNAL + "\n", "address_whitespace")],
)
def test_withdrawal_request_refuses_bad_destinations_before_money_moves(chain, trader, address, code):
    user, secret = trader
    fund(user, chain["BTC"].asset, "1")
    with pytest.raises(WithdrawalRefused) as info:
        withdrawal_request(user=user, network=chain["BTC"], address=address, amount="0.1", mfa_code=fresh_code(secret), idempotency_key="k")
    assert info.value.code == code
    assert balance(user, chain["BTC"].asset) == (D("1"), D("0")) and Withdrawal.objects.count() == 0


def test_address_book_refuses_bad_destinations(chain):
    user = UserFactory()
    with pytest.raises(WithdrawalRefused) as info:
        address_book_add(user=user, network=chain["ETH"], label="mine", address=BTC_EXTERNAL)
    assert info.value.code == "address_other_chain" and WithdrawalAddress.objects.count() == 0
    entry = address_book_add(user=user, network=chain["ETH"], label="mine", address=ETH_EXTERNAL)
    assert entry.address == "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"


def test_withdraw_form_shows_the_reason_on_the_address_field(client, chain, trader):
    user, _secret = trader
    fund(user, chain["BTC"].asset, "1")
    client.force_login(user)
    response = client.post("/en/wallet/withdraw/BTC/", {"network": "BTC", "address": ETH_EXTERNAL, "memo": "", "amount": "0.1"})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "address": ["This address is for Ethereum (EVM), not for Bitcoin. Choose the network the address belongs to."]
    }


def test_address_book_form_shows_the_reason(client, chain):
    client.force_login(UserFactory())
    response = client.post(
        "/en/wallet/address-book/",
        {"action": "add", "network": chain["XRP"].pk, "label": "x", "address": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "memo": "tag"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {"memo": ["The destination tag must be a whole number from 0 to 4294967295."]}


# --- Our own addresses are never external destinations ---------------------------------------------------


def test_withdrawal_to_our_hot_wallet_is_refused_and_the_ledger_stays_clean(chain, trader, django_capture_on_commit_callbacks):
    user, secret = trader
    btc = chain["BTC"]
    fund(user, btc.asset, "1")
    hot = chain_adapter("BTC").hot_wallet()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(WithdrawalRefused) as info:
        withdrawal_request(user=user, network=btc, address=hot, amount="0.5", mfa_code=fresh_code(secret), idempotency_key="k")
    assert info.value.code == "platform_address"
    assert info.value.message == "This is an address of Agora's own wallet, not an account's deposit address. Check the address."
    assert balance(user, btc.asset) == (D("1"), D("0")) and Withdrawal.objects.count() == 0
    assert ledger_violations() == [] and custody_violations() == []


def test_withdrawal_to_our_shared_address_with_an_unknown_tag_is_refused(chain, trader):
    user, secret = trader
    xrp = chain["XRP"]
    fund(user, xrp.asset, "100")
    owned = deposit_address_for(user=UserFactory(), network=xrp)
    with pytest.raises(WithdrawalRefused) as info:
        withdrawal_request(
            user=user, network=xrp, address=owned.address, memo="4294967295", amount="30", mfa_code=fresh_code(secret), idempotency_key="k"
        )
    assert (info.value.code, info.value.message) == (
        "platform_address",
        "This is an Agora deposit address, and no account uses this tag. Check the recipient's tag.",
    )
    assert balance(user, xrp.asset) == (D("100"), D("0"))

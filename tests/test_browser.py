"""The whole sign-up-to-freeze journey in Debian's Chromium, driven by Playwright."""

import os
import re

import pytest
from django.core import mail

from tests.conftest import totp_code

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright_loop():
    # Playwright's sync API keeps an event loop on this thread until the session ends; the test's
    # own ORM calls and the database teardown after it are plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def last_mail_with(pattern: str) -> re.Match:
    for message in reversed(mail.outbox):
        found = re.search(pattern, message.body)
        if found:
            return found
    raise AssertionError(f"no email matching {pattern!r} in {[m.subject for m in mail.outbox]}")


def test_signup_verify_totp_relogin_arabic_freeze(live_server, page):
    from allauth.mfa.models import Authenticator

    from accounts.models import AccountFreeze, User

    base = live_server.url
    email, password = "journey@example.test", "Journey-pass-2026"

    # Sign up
    page.goto(f"{base}/en/auth/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", password)
    page.fill("input[name=password2]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/confirm-email/|/verification"))

    # Verify the email from the link we sent
    link = last_mail_with(r"https?://\S+/confirm-email/\S+").group(0)
    page.goto(base + re.sub(r"^https?://[^/]+", "", link))
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    user = User.objects.get(email=email)
    assert user.emailaddress_set.get().verified

    # Turn on the authenticator app with a code computed from the secret the page shows
    page.goto(f"{base}/en/auth/2fa/totp/activate/")
    if "/reauthenticate/" in page.url:  # sensitive action: confirm the password first
        page.fill("input[name=password]", password)
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r"/2fa/totp/activate/"))
    secret = page.input_value("#authenticator_secret")
    page.fill("input[name=code]", totp_code(secret))
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()

    # Sign out, then back in: password, then a code
    page.click(".account-menu summary")
    page.click(".account-menu button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/en/auth/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/2fa/authenticate/"))
    page.fill("input[name=code]", totp_code(secret, offset=1))
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/en/account/security/"))
    assert page.locator("h1").inner_text() == "Security"

    # Switch to Arabic: the page is right-to-left and its layout mirrors
    page.select_option("#language-select", "ar")
    page.wait_for_url(re.compile(r"/ar/account/security/"))
    assert page.get_attribute("html", "dir") == "rtl"
    brand = page.locator(".brand").bounding_box()
    tools = page.locator(".header-tools").bounding_box()
    assert brand["x"] > tools["x"], "the brand should sit on the right in RTL"
    user.refresh_from_db()
    assert user.language == "ar"

    # Freeze from the link in the security email we sent when 2FA was turned on
    # (its token is in the fragment, never sent to the server; the page's script posts it)
    freeze_path = last_mail_with(r"https?://\S+(/\w[\w-]*/account/freeze/link/#\S+)").group(1)
    page.goto(base + freeze_path)
    assert not page.locator("input[name=token]").is_visible() and "#" not in page.url
    page.check("input[name=confirm]")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/account/frozen/"))
    assert AccountFreeze.objects.filter(user=user, lifted_at__isnull=True).count() == 1

    # ... and can no longer sign in
    page.goto(f"{base}/en/auth/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "This account is frozen" in page.content()
    page.goto(f"{base}/en/account/security/")
    assert "/auth/login/" in page.url


def test_passkey_register_then_sign_in_with_it(live_server, page):
    """A passkey made by Chromium's virtual authenticator (over CDP) signs the user in."""
    from allauth.mfa.models import Authenticator

    from tests.factories import PASSWORD, UserFactory

    user = UserFactory(email="passkey@example.test")
    base = live_server.url.replace("127.0.0.1", "localhost")  # WebAuthn needs a secure context
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )

    page.goto(f"{base}/en/auth/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/en/account/security/"))

    page.goto(f"{base}/en/auth/2fa/webauthn/add/")
    if "/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r"/2fa/webauthn/add/"))
    page.fill("input[name=name]", "laptop")
    page.check("input[name=passwordless]")
    page.click("#mfa_webauthn_add")
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).count() == 1

    page.click(".account-menu summary")
    page.click(".account-menu button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/en/auth/login/")
    page.click("#passkey_login")
    page.wait_for_url(lambda url: "/auth/login/" not in url)
    page.goto(f"{base}/en/account/security/")
    assert "/en/account/security/" in page.url
    assert page.locator(".account-menu summary").inner_text().strip().endswith(user.email)


def test_deposit_confirmations_credit_then_withdraw_with_totp(live_server, page):
    """Deposit on the simulated chain -> the page shows confirmations -> credited -> withdraw with a TOTP code."""
    from decimal import Decimal

    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.factories import PASSWORD, UserFactory
    from wallets.chains import chain_adapter
    from wallets.models import Asset, Network, Withdrawal
    from wallets.services import chain_scan

    btc = Asset.objects.create(symbol="BTC", name="Bitcoin", precision=8, reference_price=Decimal("60000"))
    Network.objects.create(
        asset=btc,
        code="BTC",
        name="Bitcoin",
        confirmations=2,
        withdrawal_fee=Decimal("0.0002"),
        withdrawal_min=Decimal("0.001"),
        withdrawal_max=Decimal("10"),
    )
    user = UserFactory(email="depositor@example.test")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    base = live_server.url

    page.goto(f"{base}/en/auth/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/2fa/authenticate/"))
    page.fill("input[name=code]", totp_code(secret))
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/en/account/security/"))

    page.click("header a[href='/en/wallet/']")
    page.click("#balances tr[data-asset=BTC] a:text('Deposit')")
    page.wait_for_url(re.compile(r"/en/wallet/deposit/BTC/"))
    address = page.inner_text("#deposit-address").strip()
    assert page.locator(".qr svg").count() == 1

    chain = chain_adapter("BTC")
    chain.mine(token="BTC", to_address=address, amount=Decimal("0.75"), from_address="outside")
    chain_scan(chain="BTC")
    # The pending list refreshes itself (every 2 s) without reloading the page.
    page.wait_for_selector("#pending-deposits li:has-text('1 of 2 confirmations')", timeout=15_000)
    chain.mine()
    chain_scan(chain="BTC")
    page.wait_for_selector("p#pending-deposits", timeout=15_000)  # nothing is pending any more

    page.goto(f"{base}/en/wallet/")
    assert page.inner_text("#balances tr[data-asset=BTC] td:nth-child(2)").strip() == "0.75000000"
    assert page.inner_text("#estimated-total").strip() == "≈ 45,000.00 USDT"

    page.click("#balances tr[data-asset=BTC] a:text('Withdraw')")
    page.fill("input[name=address]", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    page.fill("input[name=amount]", "0.5")
    page.click("main form button[type=submit]")
    assert page.inner_text("#preview-fee").strip() == "0.00020000 BTC"
    assert page.inner_text("#preview-net").strip() == "0.49980000 BTC"
    page.fill("input[name=code]", totp_code(secret, offset=1))
    page.click("main form button.cta")
    page.wait_for_selector("#withdrawals tr[data-status=broadcast]")
    withdrawal = Withdrawal.objects.get()
    assert (withdrawal.amount, withdrawal.net_amount, withdrawal.status) == (Decimal("0.5"), Decimal("0.4998"), "broadcast")
    page.goto(f"{base}/en/wallet/")
    assert page.inner_text("#balances tr[data-asset=BTC] td:nth-child(2)").strip() == "0.25000000"


def _admin_session(page, live_server, user):
    """Sign `user` in for the browser through a session cookie (the admin login is not under test)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_reconciliation_and_distribution_admin_fit_1366_px(live_server, page):
    """The reconciliation report, its lines and a previewed distribution open without sideways
    scrolling on a 1366 px laptop screen."""
    from django.core.management import call_command

    from accounts.models import User
    from tests.factories import UserFactory
    from wallets.models import Asset, Distribution, Payout, Reconciliation
    from wallets.services import payout_preview, reconciliation_run

    call_command("seed_demo", verbosity=0)
    operator = User.objects.filter(groups__name="operator").first()
    report = reconciliation_run(trigger=Reconciliation.Trigger.MANUAL)
    payout = Distribution.objects.create(
        name="USDT airdrop for early holders of the platform token",
        purpose=Payout.Purpose.AIRDROP,
        basis=Payout.Basis.CSV,
        reward_asset=Asset.objects.get(symbol="USDT"),
        csv_text="maker@demo.test,1250.5\ntaker@demo.test,0.000001",
        created_by=operator,
    )
    payout_preview(payout=payout, by=operator)
    _admin_session(page, live_server, UserFactory(is_staff=True, is_superuser=True))
    page.set_viewport_size({"width": 1366, "height": 768})
    for path in (
        "/en/admin/wallets/reconciliation/",
        f"/en/admin/wallets/reconciliation/{report.pk}/change/",
        "/en/admin/wallets/reconciliationline/",
        "/en/admin/wallets/distribution/",
        f"/en/admin/wallets/distribution/{payout.pk}/change/",
    ):
        page.goto(live_server.url + path)
        assert page.title() and "Log in" not in page.title(), path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, (path, width)


# What sticks out of the viewport without a scrolling box around it (for the failure message).
OVERFLOWING = """() => {
    const clipped = e => { for (let p = e.offsetParent; p && p !== document.body; p = p.offsetParent) {
        if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
    return [...document.querySelectorAll('body *')]
        .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > innerWidth + 1 || r.left < -1); })
        .filter(e => !clipped(e))
        .sort((a, b) => b.getBoundingClientRect().width - a.getBoundingClientRect().width).slice(0, 6)
        .map(e => { const r = e.getBoundingClientRect(); return `${e.tagName}.${e.className}#${e.id} ${Math.round(r.left)}..${Math.round(r.right)}`; });
}"""


@pytest.mark.parametrize("language", ["en", "ar"])
def test_wallet_history_and_security_fit_a_390_px_phone(live_server, page, language):
    """A trader with balances, deposits, withdrawals and security events reads the wallet, its
    history and the security page on a 390 px phone without sideways scrolling, left-to-right and
    right-to-left."""
    from decimal import Decimal

    from django.core.management import call_command

    from accounts.models import LoginRecord, SecurityEvent, User
    from wallets.chains import chain_adapter
    from wallets.models import Network, Withdrawal
    from wallets.services import chain_scan, deposit_address_for

    call_command("seed_demo", verbosity=0)
    trader = User.objects.get(email="alice@demo.test")
    trader.language = language
    trader.withdrawals_locked_until = None
    trader.save(update_fields=["language", "withdrawals_locked_until"])
    # The widest rows each page shows: long hashes and addresses, IPv6, a full browser user agent.
    usdt = Network.objects.get(code="ERC20", asset__symbol="USDT")
    address = deposit_address_for(user=trader, network=usdt).address
    for _ in range(2):
        chain_adapter("ERC20").mine(token="USDT", to_address=address, amount=Decimal("1234567.891011"), from_address="0x" + "f" * 40)
    for _ in range(usdt.confirmations + 1):
        chain_adapter("ERC20").mine()
    chain_scan(chain="ERC20")
    Withdrawal.objects.create(
        user=trader,
        network=usdt,
        address="0x" + "ab" * 20,
        amount=Decimal("1000.5"),
        fee=Decimal("0.5"),
        net_amount=Decimal("1000"),
        status=Withdrawal.Status.REVIEW,
        idempotency_key="wide-row",
    )
    agent = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
    LoginRecord.objects.create(user=trader, ip="2001:db8:85a3:1234:5678:8a2e:370:7334", user_agent=agent, new_device=True)
    for kind in (SecurityEvent.Kind.LOGIN_NEW_DEVICE, SecurityEvent.Kind.WHITELIST_CHANGED, SecurityEvent.Kind.ANTI_PHISHING_SET):
        SecurityEvent.objects.create(user=trader, kind=kind, ip="2001:db8:85a3:1234:5678:8a2e:370:7334")
    _admin_session(page, live_server, trader)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("wallet/", "wallet/history/", "account/security/"):
        page.goto(f"{live_server.url}/{language}/{path}")
        assert page.get_attribute("html", "lang") == language and "/auth/" not in page.url, path
        assert page.locator("main table").count() >= 1, path  # the rows under test are there
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width, page.evaluate(OVERFLOWING))
        page.click(".account-menu summary")  # the open account menu stays on the screen too
        menu = page.locator(".account-menu ul").bounding_box()
        assert menu["x"] >= 0 and menu["x"] + menu["width"] <= 390, (path, menu)


AXE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node_modules", "axe-core", "axe.min.js")
# WCAG 2.1 A and AA, plus 2.2 AA for target size (the admin's filter links were too close together).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page) -> list[str]:
    """Run axe-core's WCAG 2.1 A/AA and 2.2 AA rules on the page; one line per violation and element."""
    if not os.path.exists(AXE):
        pytest.fail(f"{AXE} is missing: run `make browser-deps` (npm ci)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        with open(AXE, encoding="utf-8") as source:
            page.evaluate(source.read())  # evaluated through the debugger protocol, so the page's CSP allows it
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", WCAG_AA)
    return [
        f"{violation['id']} ({violation['impact']}): {' '.join(node['target'][-1:])} — {node['failureSummary'].splitlines()[-1].strip()}"
        for violation in result["violations"]
        for node in violation["nodes"]
    ]


def test_main_pages_pass_axe_wcag_aa(live_server, page):
    """axe-core finds no WCAG 2.1 A/AA (or 2.2 AA) violation on the pages people use most, signed out, signed
    in (wallet, deposit, withdraw, history, security) and in the admin's lists."""
    from django.core.management import call_command

    from accounts.models import User
    from tests.factories import UserFactory

    call_command("seed_demo", verbosity=0)
    base = live_server.url
    found = {}

    def check(path):
        page.goto(base + path)
        assert "/auth/login/" not in page.url or path.endswith("/auth/login/"), path
        violations = axe_violations(page)
        if violations:
            found[path] = violations

    for path in ("/en/", "/ar/", "/en/markets/", "/en/auth/login/"):
        check(path)
    trader = User.objects.get(email="alice@demo.test")  # seed_demo gives her an authenticator (the withdraw form shows)
    _admin_session(page, live_server, trader)
    for path in (
        "/en/wallet/",
        "/en/wallet/deposit/USDT/",
        "/en/wallet/withdraw/USDT/",
        "/en/wallet/history/",
        "/en/account/security/",
        "/ar/wallet/",
    ):
        check(path)
    page.context.clear_cookies()
    _admin_session(page, live_server, UserFactory(is_staff=True, is_superuser=True))
    for path in ("/en/admin/", "/en/admin/wallets/withdrawal/", "/en/admin/wallets/ledgeraccount/", "/en/admin/accounts/user/"):
        check(path)
    assert not found, "\n".join(f"{path}\n  " + "\n  ".join(lines) for path, lines in found.items())

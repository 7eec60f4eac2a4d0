"""The README's five journeys, followed step by step on a freshly seeded database (seed_demo):
deposit, a trade from a shell (the snippet is read out of README.md and executed), withdrawal,
a two-person distribution through admin, and a support ticket answered from the console and by email. The amounts asserted are the ones the README states.

Transactional tests: tasks and the in-process engine run when each request's transaction commits,
as the worker and the engine do under `make run`."""

import re
from decimal import Decimal as D
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User
from exchange.models import Market, Order, Trade
from exchange.runner import engines_reset
from exchange.services import order_place
from wallets.ledger import system_account, user_account
from wallets.models import AccountKind, Asset, Deposit, Payout, PoolFunding, SimTransfer, Withdrawal
from wallets.tasks import chain_tick

pytestmark = pytest.mark.django_db(transaction=True)

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
DEMO_PASSWORD = "agora-demo-2026"


@pytest.fixture
def seeded():
    engines_reset()  # in-process engines hold books of another test's database
    call_command("seed_demo", stdout=StringIO())
    yield
    engines_reset()


def demo_totp(email: str) -> str:
    out = StringIO()
    call_command("demo_totp", email, stdout=out, stderr=StringIO())
    return re.search(r"\b\d{6}\b", out.getvalue()).group()


def sign_in(client, email: str, totp: bool = True):
    response = client.post("/en/auth/login/", {"login": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    if totp:
        assert response["Location"] == "/en/auth/2fa/authenticate/"
        response = client.post("/en/auth/2fa/authenticate/", {"code": demo_totp(email)})
        assert response.status_code == 302


def available(email: str, symbol: str) -> D:
    return user_account(user=User.objects.get(email=email), asset=Asset.objects.get(symbol=symbol)).available


def ledger_check() -> str:
    out = StringIO()
    call_command("ledger_check", stdout=out)  # raises (non-zero exit) when an invariant fails
    return out.getvalue()


# --- 1. Deposit ---------------------------------------------------------------------------------


def test_deposit_journey(client, seeded):
    assert "`.venv/bin/python manage.py chain_send BTC <address> 0.1`" in README
    sign_in(client, "alice@demo.test")
    page = client.get("/en/wallet/deposit/BTC/")
    assert page.status_code == 200
    address = page.context["address"].address
    assert address in page.content.decode()

    out = StringIO()
    call_command("chain_send", "BTC", address, "0.1", stdout=out)
    assert f"sent 0.1 BTC on BTC to {address}" in out.getvalue()
    fragment = client.get("/en/wallet/deposit/BTC/?fragment=pending").content.decode()
    assert "Deposit of 0.10 BTC: 1 of 2 confirmations" in fragment
    assert available("alice@demo.test", "BTC") == D("2")

    chain_tick()  # the next block (beat runs this every CHAIN_BLOCK_SECONDS)
    deposit = Deposit.objects.get(address=address)
    assert (deposit.amount, deposit.status) == (D("0.1"), Deposit.Status.CREDITED)
    assert available("alice@demo.test", "BTC") == D("2.1")
    assert "No deposits are waiting for confirmations." in client.get("/en/wallet/deposit/BTC/?fragment=pending").content.decode()
    assert '<bdi class="num" dir="ltr">2.10000000</bdi>' in client.get("/en/wallet/").content.decode()
    ledger_check()


def test_deposit_without_scan_is_credited_by_the_next_block(client, seeded):
    """Why chain_send scans at once (--no-scan leaves it to the worker): the simulated chain puts the transfer in a block of its own, so
    the next tick (mine, then scan) finds it 2 blocks deep and credits it without a pending stage."""
    sign_in(client, "alice@demo.test")
    address = client.get("/en/wallet/deposit/BTC/").context["address"].address
    call_command("chain_send", "BTC", address, "0.1", "--no-scan", stdout=StringIO())
    assert "No deposits are waiting for confirmations." in client.get("/en/wallet/deposit/BTC/?fragment=pending").content.decode()
    chain_tick()
    assert Deposit.objects.get(address=address).status == Deposit.Status.CREDITED
    assert available("alice@demo.test", "BTC") == D("2.1")


# --- 2. Trade from a shell ------------------------------------------------------------------------


def readme_trade_snippet() -> tuple[str, str]:
    """The shell command between the journey:trade markers, and the example output after it."""
    block = re.search(r"<!-- journey:trade -->\n```sh\n(.*?)\n```\n<!-- /journey:trade -->", README, re.S).group(1)
    prefix, suffix = '.venv/bin/python manage.py shell --no-imports -c "\n', '\n"'
    assert block.startswith(prefix) and block.endswith(suffix)
    code = block[len(prefix) : -len(suffix)]
    # Inside sh double quotes these would be expanded or end the string: copy-paste would differ.
    assert not set(code) & set('"$`\\'), "the snippet must survive sh double quotes unchanged"
    after = README[README.index("<!-- /journey:trade -->") :]
    example = re.search(r"```text\n(.*?)\n```", after, re.S).group(1)
    return code, example


def test_trade_journey_runs_the_readme_snippet(seeded, capsys):
    maker = User.objects.get(email="maker@demo.test")
    btcusdt = Market.objects.get(symbol="BTCUSDT")
    # The market maker's best ask (what `market_maker` quotes under make run), at the README's price.
    ask = order_place(user=maker, market=btcusdt, side="SELL", type="LIMIT", quantity="0.01", price="67000")
    assert Order.objects.get(pk=ask.pk).status == Order.Status.NEW

    code, example = readme_trade_snippet()
    capsys.readouterr()
    call_command("shell", command=code, no_imports=True)
    printed = capsys.readouterr().out.strip()

    order = Order.objects.get(user__email="alice@demo.test")
    trade = Trade.objects.get(buy_order=order)
    assert (order.status, order.executed_qty, order.cumulative_quote_qty) == (Order.Status.FILLED, D("0.001"), D("67"))
    assert (trade.price, trade.quantity, trade.sell_order_id, trade.taker_side) == (D("67000"), D("0.001"), ask.pk, "BUY")
    assert (trade.buyer_fee, trade.buyer_fee_asset.symbol, trade.seller_fee, trade.seller_fee_asset.symbol) == (
        D("0.000001"),
        "BTC",
        D("0.067"),
        "USDT",
    )
    # The output is the README's example, ids aside.
    assert printed == example.replace("order 1234", f"order {order.pk}").replace("trade 567", f"trade {trade.pk}")
    assert printed.splitlines() == [
        f"order {order.pk} FILLED bought 0.001 BTC for 67 USDT",
        f"trade {trade.pk} 0.001 at 67000 fee 0.000001 BTC",
        "BTC 2 -> 2.000999",
        "USDT 50000 -> 49933",
    ]
    assert available("alice@demo.test", "BTC") == D("2.000999")
    assert available("alice@demo.test", "USDT") == D("49933")
    maker_btc = user_account(user=maker, asset=btcusdt.base)
    assert (maker_btc.available, maker_btc.locked) == (D("49.99"), D("0.009"))  # the rest of the ask still rests
    assert available("maker@demo.test", "USDT") == D("5000066.933")  # 67 less the maker fee of 0.1 %
    assert system_account(kind=AccountKind.FEES, asset=btcusdt.base).available == D("0.000001")
    ledger_check()


def test_trade_snippet_says_what_is_missing_without_quotes(seeded, capsys):
    code, _example = readme_trade_snippet()
    with pytest.raises(AssertionError, match="no quotes in BTCUSDT yet: is make run"):
        call_command("shell", command=code, no_imports=True)
    assert not Order.objects.filter(user__email="alice@demo.test").exists()


# --- 3. Withdraw ----------------------------------------------------------------------------------


def test_withdraw_journey(client, seeded):
    address = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    assert f"`{address}`" in README
    sign_in(client, "alice@demo.test")
    form = {"network": "BTC", "address": address, "memo": "", "amount": "0.01"}
    preview = client.post("/en/wallet/withdraw/BTC/", form)
    html = preview.content.decode()
    assert preview.status_code == 200 and "Check and confirm" in html
    assert '<dd id="preview-fee"><bdi class="num" dir="ltr">0.00020000</bdi> BTC</dd>' in html
    assert '<dd id="preview-net"><strong><bdi class="num" dir="ltr">0.00980000</bdi> BTC</strong></dd>' in html
    assert Withdrawal.objects.count() == 0
    key = preview.context["form"].initial["key"]

    # Signing in used the current code; the README says to wait for the next one. The same
    # code is refused here, as it is in the browser.
    from django.core.cache import cache

    again = client.post("/en/wallet/withdraw/BTC/", {**form, "key": key, "code": demo_totp("alice@demo.test")})
    assert again.status_code == 400 and Withdrawal.objects.count() == 0
    cache.clear()  # stands for the 30 seconds until the next code: the used-code memory is in the cache
    done = client.post("/en/wallet/withdraw/BTC/", {**form, "key": key, "code": demo_totp("alice@demo.test")})
    assert done.status_code == 302

    withdrawal = Withdrawal.objects.get()
    assert (withdrawal.address, withdrawal.amount, withdrawal.fee, withdrawal.net_amount) == (address, D("0.01"), D("0.0002"), D("0.0098"))
    assert withdrawal.status == Withdrawal.Status.BROADCAST  # no review below 1 BTC; the worker sent it
    assert available("alice@demo.test", "BTC") == D("1.99")
    sent = SimTransfer.objects.get(to_address=address)
    assert (sent.token, sent.amount) == ("BTC", D("0.0098"))
    page = client.get("/en/wallet/withdraw/BTC/").content.decode()
    assert 'data-status="broadcast"' in page and "Sent, confirming" in page

    chain_tick()  # the second confirmation
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.COMPLETED
    assert "Completed" in client.get("/en/wallet/withdraw/BTC/").content.decode()
    ledger_check()


# --- 4. Two-person distribution --------------------------------------------------------------------


def admin_action(client, model: str, action: str, pk: int):
    return client.post(f"/en/admin/wallets/{model}/", {"action": action, "_selected_action": [pk], "index": 0}, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_two_person_distribution_journey(client, seeded):
    from django.test import Client

    operator, operator2 = Client(), Client()
    sign_in(operator, "operator@demo.test", totp=False)
    sign_in(operator2, "operator2@demo.test", totp=False)
    index = operator.get("/en/admin/").content.decode()
    for name in ("Wallets and ledger", "Pool fundings", "Distributions", "Sim transfers", "Orders", "Trades"):
        assert f">{name}<" in index, name  # the admin names the README's clicks use
    agr = Asset.objects.get(symbol="AGR")
    adjustments = system_account(kind=AccountKind.ADJUSTMENTS, asset=agr)
    assert adjustments.available == D("100000")  # the demo treasury

    # 1. operator requests pool funding.
    response = operator.post(
        "/en/admin/wallets/poolfunding/add/",
        {
            "asset": agr.pk,
            "source_kind": "adjustments",
            "pool_kind": "distribution_pool",
            "amount": "1000",
            "reason": "README airdrop",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    funding = PoolFunding.objects.get()
    assert (funding.status, funding.amount, funding.requested_by.email) == ("requested", D("1000"), "operator@demo.test")
    refused = admin_action(operator, "poolfunding", "approve", funding.pk)
    assert f"#{funding.pk}: Another operator must approve a pool funding you requested." in messages_of(refused)

    # 2. operator2 approves it.
    admin_action(operator2, "poolfunding", "approve", funding.pk)
    funding.refresh_from_db()
    pool = system_account(kind=AccountKind.DISTRIBUTION_POOL, asset=agr)
    assert (funding.status, pool.available) == ("posted", D("1000"))

    # 3. operator prepares and previews the distribution.
    response = operator.post(
        "/en/admin/wallets/distribution/add/",
        {
            "name": "README airdrop",
            "purpose": "airdrop",
            "basis": "csv",
            "reward_asset": agr.pk,
            "funding_kind": "distribution_pool",
            "csv_text": "email,amount\nalice@demo.test,10\nbob@demo.test,5",
            "pool_amount": "0",
            "rate": "0",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    payout = Payout.objects.get()
    preview = admin_action(operator, "distribution", "preview", payout.pk)
    shown = " ".join(messages_of(preview))
    assert "2 users, budget 15.00000000, dust 0.00000000" in shown and "enough for the budget" in shown
    too_early = admin_action(operator, "distribution", "approve", payout.pk)
    assert "a payout must be approved by someone other than whoever prepared it" in " ".join(messages_of(too_early))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PREVIEWED

    # 4. operator2 approves; the worker pays it.
    approved = admin_action(operator2, "distribution", "approve", payout.pk)
    assert "approved; paying in the background" in " ".join(messages_of(approved))
    payout.refresh_from_db()
    assert (payout.status, payout.lines_paid, payout.lines_total, payout.paid_total) == ("completed", 2, 2, D("15"))
    assert "2 / 2 paid" in operator.get(f"/en/admin/wallets/distribution/{payout.pk}/change/").content.decode()
    assert available("alice@demo.test", "AGR") == D("5010")
    assert available("bob@demo.test", "AGR") == D("5")
    pool.refresh_from_db()
    assert (pool.available, pool.locked) == (D("985"), D("0"))
    ledger_check()


# --- 5. Support ------------------------------------------------------------------------------------


def test_support_journey(client, seeded, mailoutbox):
    from django.test import Client

    assert ".venv/bin/python manage.py support_mail_inbound < reply.eml" in README

    from support.models import CannedReply, InboundMail, Message, SlaClock, Ticket

    ticket = Ticket.objects.get(customer__email="carmen@demo.test")
    # The other demo tickets are as the README says.
    queues = {t.customer.email: (t.language, t.queue.language, t.status) for t in Ticket.objects.select_related("customer", "queue")}
    assert queues["kenji@demo.test"] == ("ja", "en", "open")
    assert queues["aigerim@demo.test"] == ("kk", "ru", "open")
    assert queues["bob@demo.test"][2] == "pending"
    vip = SlaClock.objects.get(ticket__customer__email="liwei@demo.test", metric="first_response")
    assert vip.state == SlaClock.State.RUNNING and vip.warned_at is not None
    # Carmen (Latin-American Spanish) sees her week-old ticket: nobody has answered, the promise is late.
    sign_in(client, "carmen@demo.test", totp=False)
    page = client.get("/es-419/support/").content.decode()
    assert "Mi retiro de USDT sigue pendiente" in page
    assert "Nuestra respuesta está demorada." in page  # its first-response clock breached days ago

    # The Spanish agent: Carmen's breached ticket heads the es queue.
    agent = Client()
    sign_in(agent, "agent-es@demo.test", totp=False)
    queue = agent.get("/es/console/").content.decode()
    rows = re.findall(r'data-reference="([A-Z0-9]{10})"', queue)
    assert rows[0] == ticket.reference, rows
    first = SlaClock.objects.get(ticket=ticket, metric="first_response")
    assert first.state == SlaClock.State.BREACHED
    # The canned reply "Saludo", inserted in Carmen's language, then sent.
    greeting = CannedReply.objects.get(title_en="Greeting")
    assert greeting.title_es == "Saludo"
    view = agent.get(f"/es/console/tickets/{ticket.reference}/")
    last_seen = view.context["reply_form"]["last_seen"].value()
    inserted = agent.post(
        f"/es/console/tickets/{ticket.reference}/reply/", {"insert": "1", "pick": greeting.pk, "last_seen": last_seen, "body": ""}
    )
    body = inserted.context["reply_form"]["body"].value()
    assert body.startswith("Hola, Carmen:\n\nGracias por comunicarte con el soporte de Agora."), body  # es-419, her variant
    sent = agent.post(
        f"/es/console/tickets/{ticket.reference}/reply/", {"body": body, "last_seen": last_seen, "status": "", "priority": ""}
    )
    assert sent.status_code == 302, sent.content.decode()[:2000]
    first.refresh_from_db()
    assert first.fulfilled_at is not None and first.state == SlaClock.State.BREACHED  # answered, late
    (reply_mail,) = [m for m in mailoutbox if m.to == ["carmen@demo.test"]]
    assert reply_mail.body.count("Hola, Carmen:") == 1
    reply_to = reply_mail.reply_to[0]
    assert re.fullmatch(r"Agora Support <support\+[a-z0-9.-]+@support\.agora\.example>", reply_to), reply_to

    # Carmen answers by email; the MTA pipes it to support_mail_inbound.
    eml = (
        f"From: Carmen <carmen@demo.test>\nTo: {reply_to}\nSubject: Re: {ticket.subject}\n"
        "Message-ID: <carmen-1@mail.example>\n\nGracias, ya lo veo en la red.\n"
    )
    call_command("support_mail_inbound", stdin=BytesIO(eml.encode()), stdout=StringIO())
    assert Message.objects.filter(ticket=ticket, kind="customer", body="Gracias, ya lo veo en la red.").exists()
    # The same address written to by anyone else is refused and shown to agents only.
    forged = eml.replace("carmen@demo.test", "mallory@evil.example").replace("carmen-1", "mallory-1")
    call_command("support_mail_inbound", stdin=BytesIO(forged.encode()), stdout=StringIO())
    assert InboundMail.objects.get(mail_id__contains="mallory-1").outcome == InboundMail.Outcome.REFUSED
    assert Message.objects.filter(ticket=ticket, event="mail_refused", internal=True).count() == 1
    assert not Message.objects.filter(ticket=ticket, body__contains="mallory").exists()
    assert "Gracias, ya lo veo" in client.get(f"/es-419/support/tickets/{ticket.reference}/").content.decode()

"""A fund-recovery request opens (or joins) a ticket of its category, and every state it reaches
is a public system event in that conversation, written in the same transaction."""

from decimal import Decimal as D

import pytest
from django.db import transaction

from support.models import Message, Ticket
from support.selectors.customer import conversation_for_customer
from support.services.tickets import ticket_status_set
from tests.factories import UserFactory
from tests.support import conftest_customer as fixtures
from tests.support.conftest_customer import ticket_open
from tests.support.factories import agent_create
from tests.wallets import conftest as wallets_fixtures
from wallets.chains import chain_adapter
from wallets.models import RecoveryRequest
from wallets.services import (
    RecoveryRefused,
    chain_scan,
    deposit_address_for,
    recovery_answer,
    recovery_approve,
    recovery_ownership_verify,
    recovery_reject,
    recovery_submit,
)

pytestmark = pytest.mark.django_db
desk, customer, chain = fixtures.desk, fixtures.customer, wallets_fixtures.chain


def missing_memo_transfer(customer, chain):
    deposit_address_for(user=customer, network=chain["XRP"])
    transfer = wallets_fixtures.send("XRP", chain_adapter("XRP").hot_wallet(), "50", "XRP")
    chain_scan(chain="XRP")
    return transfer


def submit(customer, transfer, **kwargs):
    return recovery_submit(
        user=customer, tx_hash=transfer.tx_hash, chain="XRP", token="XRP", amount=D("50"), address=transfer.to_address, **kwargs
    )


def events(ticket) -> list[dict]:
    return list(ticket.messages.filter(kind="system", event="recovery").values_list("internal", "data"))


def test_a_request_opens_a_fund_recovery_ticket_and_every_state_appears_in_it(desk, customer, chain):
    transfer = missing_memo_transfer(customer, chain)
    request = submit(customer, transfer)
    ticket = Ticket.objects.get()
    assert (ticket.customer, ticket.category.slug, ticket.recovery, ticket.status) == (customer, "fund_recovery", request, "open")
    assert ticket.subject == "Fund recovery: 50.00 XRP on XRP"
    first = ticket.messages.order_by("id").first()
    assert first.kind == "customer" and f"Transaction hash: {transfer.tx_hash}" in first.body
    assert events(ticket) == [(False, {"request": request.pk, "status": "submitted"})]

    request = recovery_ownership_verify(request=request, by=UserFactory())
    recovery_answer(request=request, user=customer, accept=True)
    first_operator, second_operator = UserFactory(), UserFactory()
    recovery_approve(request=request, by=first_operator)
    recovery_approve(request=request, by=second_operator)
    assert events(ticket) == [
        (False, {"request": request.pk, "status": "submitted"}),
        (False, {"request": request.pk, "status": "quoted", "fee": "2.5", "token": "XRP"}),
        (False, {"request": request.pk, "status": "accepted"}),
        (False, {"request": request.pk, "status": "approved_once"}),
        (False, {"request": request.pk, "status": "credited"}),
    ]
    shown = [m.shown_text for m in conversation_for_customer(ticket=ticket) if m.kind == "system"]
    n = request.pk
    assert shown == [
        f"Your fund recovery request #{n} is now: Submitted",
        f"Your fund recovery request #{n}: the fee is 2.50 XRP. Accept or decline it on the recovery page.",
        f"Your fund recovery request #{n} is now: Accepted, waiting for approval",
        f"Your fund recovery request #{n} is now: Approved by one operator",
        f"Your fund recovery request #{n} is now: Credited",
    ]


def test_rejected_and_declined_requests_say_so_with_the_reason(desk, customer, chain, client):
    rejected = recovery_submit(user=customer, tx_hash="0xnothing", chain="ERC20", token="USDT", amount=D("5"), address="0xabc")
    assert rejected.status == "rejected"
    ticket = Ticket.objects.get(recovery=rejected)
    assert events(ticket) == [(False, {"request": rejected.pk, "status": "rejected", "rejection": "not_found"})]
    client.force_login(customer)
    page = client.get(f"/en/support/tickets/{ticket.reference}/").content.decode()
    assert (
        f"Your fund recovery request #{rejected.pk} was rejected. Reason: "
        "We found no transfer with this hash to an Agora address on this network." in page
    )

    transfer = missing_memo_transfer(customer, chain)
    quoted = recovery_ownership_verify(request=submit(customer, transfer), by=UserFactory())
    recovery_answer(request=quoted, user=customer, accept=False)
    declined_ticket = Ticket.objects.get(recovery=quoted)
    assert [d["status"] for _i, d in events(declined_ticket)] == ["submitted", "quoted", "declined"]


def test_an_operators_rejection_appears_with_the_reason_but_never_the_staff_note(desk, customer, chain, client):
    request = submit(customer, missing_memo_transfer(customer, chain))
    recovery_reject(request=request, by=UserFactory(), rejection="ownership_not_proven", note="STAFF-ONLY: looks like a scam")
    ticket = Ticket.objects.get(recovery=request)
    assert events(ticket)[-1] == (False, {"request": request.pk, "status": "rejected", "rejection": "ownership_not_proven"})
    client.force_login(customer)
    page = client.get(f"/en/support/tickets/{ticket.reference}/").content.decode()
    assert "We could not confirm that you sent this transfer." in page and "STAFF-ONLY" not in page


def test_the_events_read_in_the_readers_language(desk, customer, chain, client):
    request = submit(customer, missing_memo_transfer(customer, chain))
    request = recovery_ownership_verify(request=request, by=UserFactory())
    recovery_answer(request=request, user=customer, accept=True)
    ticket = Ticket.objects.get()
    client.force_login(customer)
    page = client.get(f"/es/support/tickets/{ticket.reference}/").content.decode()
    assert "Aceptada, pendiente de aprobación" in page  # the wallets status label, in Spanish


def test_a_request_joins_the_open_ticket_the_customer_chose(desk, customer, chain):
    chosen = ticket_open(customer, desk, category="fund_recovery", subject="I sent XRP without a memo")
    request = submit(customer, missing_memo_transfer(customer, chain), ticket_reference=chosen.reference.lower())
    assert Ticket.objects.count() == 1
    chosen.refresh_from_db()
    assert chosen.recovery == request and events(chosen) == [(False, {"request": request.pk, "status": "submitted"})]


@pytest.mark.parametrize("whose", ["another customer's", "closed", "already linked", "unknown"])
def test_a_chosen_ticket_that_is_not_the_customers_open_one_gets_a_new_ticket(desk, customer, chain, whose):
    agent = agent_create(languages=["en"])
    if whose == "another customer's":
        reference = ticket_open(UserFactory(), desk, category="fund_recovery").reference
    elif whose == "closed":
        closed = ticket_open(customer, desk, category="fund_recovery")
        ticket_status_set(ticket=closed, status=Ticket.Status.CLOSED, by=agent)
        reference = closed.reference
    elif whose == "already linked":
        earlier = recovery_submit(user=customer, tx_hash="0xother", chain="ERC20", token="USDT", amount=D("5"), address="0xabc")
        reference = Ticket.objects.get(recovery=earlier).reference
    else:
        reference = "NOSUCHREF2"
    before = set(Ticket.objects.values_list("pk", flat=True))
    request = submit(customer, missing_memo_transfer(customer, chain), ticket_reference=reference)
    [new] = Ticket.objects.exclude(pk__in=before)
    assert (new.customer, new.recovery, new.category.slug) == (customer, request, "fund_recovery")
    assert not Ticket.objects.filter(reference=reference, recovery=request).exists()


def test_without_a_desk_the_request_still_works(db, customer, chain):
    request = submit(customer, missing_memo_transfer(customer, chain))
    assert request.status == "submitted" and Ticket.objects.count() == 0 and Message.objects.count() == 0


def test_the_event_is_in_the_requests_transaction(desk, customer, chain):
    request = submit(customer, missing_memo_transfer(customer, chain))
    request = recovery_ownership_verify(request=request, by=UserFactory())
    with pytest.raises(RuntimeError), transaction.atomic():
        recovery_answer(request=request, user=customer, accept=True)
        raise RuntimeError("the caller's transaction fails after the answer")
    request.refresh_from_db()
    assert request.status == "quoted"
    assert [d["status"] for _i, d in events(Ticket.objects.get())] == ["submitted", "quoted"]
    with pytest.raises(RecoveryRefused):  # a refused transition posts nothing
        recovery_approve(request=request, by=UserFactory())
    assert len(events(Ticket.objects.get())) == 2


def test_the_recovery_page_links_the_request_to_the_ticket_it_came_from(desk, customer, chain, client):
    chosen = ticket_open(customer, desk, category="fund_recovery")
    client.force_login(customer)
    page = client.get(f"/en/support/tickets/{chosen.reference}/").content.decode()
    assert f'href="/en/wallet/recovery/?ticket={chosen.reference}"' in page
    form = client.get(f"/en/wallet/recovery/?ticket={chosen.reference}").content.decode()
    assert f'<input type="hidden" name="ticket" value="{chosen.reference}">' in form
    transfer = missing_memo_transfer(customer, chain)
    response = client.post(
        "/en/wallet/recovery/",
        {
            "tx_hash": transfer.tx_hash,
            "chain": "XRP",
            "token": "XRP",
            "amount": "50",
            "address": transfer.to_address,
            "ticket": chosen.reference,
        },
    )
    assert response.status_code == 302
    chosen.refresh_from_db()
    assert chosen.recovery == RecoveryRequest.objects.get() and Ticket.objects.count() == 1


def test_a_new_recovery_ticket_is_acknowledged_a_joined_one_is_not(desk, customer, chain, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(customer, missing_memo_transfer(customer, chain))
    ticket = Ticket.objects.get(recovery=request)
    (sent,) = mailoutbox
    assert sent.to == [customer.email]
    assert f"We have your request: Fund recovery: 50.00 XRP on XRP [#{ticket.reference}]" in sent.subject
    mailoutbox.clear()
    chosen = ticket_open(customer, desk, category="fund_recovery")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        recovery_submit(
            user=customer,
            tx_hash="0xnothing",
            chain="ERC20",
            token="USDT",
            amount=D("5"),
            address="0xabc",
            ticket_reference=chosen.reference,
        )
    assert Ticket.objects.get(recovery__tx_hash="0xnothing") == chosen
    assert mailoutbox == []  # the customer's own ticket was acknowledged when it was opened


def test_the_new_ticket_form_offers_only_the_customers_own_recovery_requests(desk, customer, chain):
    from freezegun import freeze_time

    from support.selectors.customer import linkable_objects

    with freeze_time("2026-03-01 12:00"):
        request = submit(customer, missing_memo_transfer(customer, chain))
    recovery_submit(user=UserFactory(), tx_hash="0xother", chain="ERC20", token="USDT", amount=D("5"), address="0xabc")
    assert linkable_objects(customer=customer, kind="recovery") == [
        (str(request.pk), "\u206650.00 XRP\u2069 · XRP · 03/01/2026 · Submitted")
    ]
    assert linkable_objects(customer=customer, kind="nonsense") == []

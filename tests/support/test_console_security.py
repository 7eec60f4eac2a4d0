"""Security actions from a ticket: each needs a reason and re-authentication, goes through the
accounts service, is audited (security event, audit log with the agent and the reason) and is
an internal event in the ticket; lifting a freeze needs a second person."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountFreeze, ApiKey, SecurityEvent, User
from support.errors import TicketRefused
from support.models import Message
from support.services.security import customer_freeze_lift_approve, customer_freeze_lift_request, customer_protect
from tests.conftest import on_postgres, run_concurrently
from tests.support.conftest_console import *  # noqa: F403 - the fixtures
from tests.support.conftest_console import customer_make, reauthenticate, ticket_make


def security_url(ticket):
    return reverse("console:security", args=[ticket.reference])


def api_key(user, label):
    return ApiKey.objects.create(user=user, label=label, secret_encrypted="not-a-real-secret")


def act(client, ticket, action, reason="Customer reported a stolen phone on the call"):
    """POST the action, answer the re-authentication, return the final response."""
    response = client.post(security_url(ticket), {"action": action, "reason": reason})
    assert response.status_code == 302 and "/reauthenticate/" in response["Location"], "re-authentication must be asked first"
    return reauthenticate(client, security_url(ticket))


@pytest.fixture
def case(helpdesk):
    customer = customer_make("es")
    return customer, ticket_make(helpdesk, customer=customer)


def audit(customer, action):
    return LogEntry.objects.get(object_pk=str(customer.pk), additional_data__kind="support_security", additional_data__action=action)


def test_nothing_happens_before_re_authentication(client, case, es_agent):
    customer, ticket = case
    client.force_login(es_agent)
    response = client.post(security_url(ticket), {"action": "freeze", "reason": "stolen phone"})
    assert response.status_code == 302 and "/reauthenticate/" in response["Location"]
    customer.refresh_from_db()
    assert customer.frozen_at is None and not Message.objects.filter(ticket=ticket, event="security").exists()
    assert client.post(reverse("account_reauthenticate"), {"password": "wrong"}).status_code == 200  # refused, asked again
    customer.refresh_from_db()
    assert customer.frozen_at is None


def test_freeze_the_account(client, case, es_agent):
    customer, ticket = case
    key = api_key(customer, "bot")
    client.force_login(es_agent)
    response = act(client, ticket, "freeze")
    assert response.status_code == 302 and response["Location"] == reverse("console:ticket", args=[ticket.reference])
    customer.refresh_from_db()
    freeze = AccountFreeze.objects.get(user=customer)
    assert customer.frozen_at is not None
    assert (freeze.source, freeze.created_by, freeze.reason, freeze.ip) == (
        "support",
        es_agent,
        "Customer reported a stolen phone on the call",
        None,
    )
    key.refresh_from_db()
    assert key.revoked_at is not None  # the freeze revokes keys (accounts.account_freeze)
    event = SecurityEvent.objects.get(user=customer, kind="account_frozen")
    assert (event.ip, event.data["source"]) == (None, "support")  # the agent's IP is not on the customer's page
    entry = audit(customer, "freeze")
    assert (entry.actor, entry.remote_addr, entry.additional_data["ticket"]) == (es_agent, "127.0.0.1", ticket.reference)
    assert entry.additional_data["reason"] == "Customer reported a stolen phone on the call"
    message = Message.objects.get(ticket=ticket, event="security")
    assert (message.internal, message.author, message.data["action"], message.data["api_keys_revoked"]) == (True, es_agent, "freeze", 1)
    html = client.get(reverse("console:ticket", args=[ticket.reference])).content.decode()
    assert "lucia froze the customer&#x27;s account." in html and "Reason: Customer reported a stolen phone on the call" in html
    # Freezing again is refused, not repeated.
    response = client.post(security_url(ticket), {"action": "freeze", "reason": "again"}, follow=True)
    assert "This account is already frozen." in response.content.decode()
    assert Message.objects.filter(ticket=ticket, event="security").count() == 1


def test_lock_withdrawals(client, case, es_agent):
    customer, ticket = case
    client.force_login(es_agent)
    act(client, ticket, "withdrawals", reason="Suspicious withdrawal address")
    customer.refresh_from_db()
    assert timezone.now() + timedelta(hours=23, minutes=59) < customer.withdrawals_locked_until <= timezone.now() + timedelta(hours=24)
    event = SecurityEvent.objects.get(user=customer, kind="withdrawal_lock")
    assert event.data["reason"] == f"support {ticket.reference}: Suspicious withdrawal address" and event.ip is None
    assert audit(customer, "withdrawals").changes["withdrawals_locked_until"][1] == customer.withdrawals_locked_until.isoformat()
    message = Message.objects.get(ticket=ticket, event="security")
    assert message.internal and message.data == {
        "action": "withdrawals",
        "reason": "Suspicious withdrawal address",
        "until": customer.withdrawals_locked_until.isoformat(),
    }


def test_end_every_session(client, case, es_agent):
    customer, ticket = case
    theirs = Client()
    theirs.force_login(customer)
    assert theirs.get(reverse("accounts:security")).status_code == 200
    client.force_login(es_agent)
    act(client, ticket, "sessions", reason="Unknown device signed in")
    assert User.objects.get(pk=customer.pk).session_epoch == 1
    response = theirs.get(reverse("accounts:security"))
    assert response.status_code == 302 and "/auth/login/" in response["Location"]  # signed out everywhere
    assert audit(customer, "sessions").changes == {"session_epoch": [0, 1]}
    assert Message.objects.get(ticket=ticket, event="security").data["action"] == "sessions"


def test_revoke_every_api_key(client, case, es_agent):
    customer, ticket = case
    keys = [api_key(customer, "one"), api_key(customer, "two")]
    old = api_key(customer, "old")
    ApiKey.objects.filter(pk=old.pk).update(revoked_at=timezone.now() - timedelta(days=3), revoked_reason="revoked by user")
    client.force_login(es_agent)
    act(client, ticket, "api_keys", reason="Keys leaked on a forum")
    for key in keys:
        key.refresh_from_db()
        assert key.revoked_at is not None and key.revoked_reason == f"support {ticket.reference}"
    old.refresh_from_db()
    assert old.revoked_reason == "revoked by user"  # untouched
    assert SecurityEvent.objects.filter(user=customer, kind="api_key_revoked").count() == 2
    assert Message.objects.get(ticket=ticket, event="security").data["api_keys_revoked"] == 2
    entry = audit(customer, "api_keys")
    assert (entry.actor, entry.changes, entry.additional_data["reason"]) == (
        es_agent,
        {"api_keys_revoked": [0, 2]},
        "Keys leaked on a forum",
    )
    response = client.post(security_url(ticket), {"action": "api_keys", "reason": "again"}, follow=True)
    assert "This customer has no active API key." in response.content.decode()


def test_a_reason_is_required(client, case, es_agent):
    customer, ticket = case
    client.force_login(es_agent)
    response = act(client, ticket, "sessions", reason="   ")
    assert response.status_code == 302
    assert User.objects.get(pk=customer.pk).session_epoch == 0
    assert not Message.objects.filter(ticket=ticket, event="security").exists()
    with pytest.raises(TicketRefused) as refused:
        customer_protect(ticket=ticket, action="sessions", reason="", by=es_agent)
    assert refused.value.code == "reason_required"


def test_refusals_of_the_service(case, es_agent, de_agent, supervisor, helpdesk):
    customer, ticket = case
    with pytest.raises(TicketRefused) as refused:
        customer_protect(ticket=ticket, action="sessions", reason="x", by=de_agent)
    assert refused.value.code == "not_found"
    with pytest.raises(TicketRefused) as refused:
        customer_protect(ticket=ticket, action="delete_everything", reason="x", by=es_agent)
    assert refused.value.code == "bad_action"
    es_agent.groups.first().permissions.remove(Permission.objects.get(codename="freeze_account"))
    es_agent = User.objects.get(pk=es_agent.pk)  # fresh permission cache
    with pytest.raises(TicketRefused) as refused:
        customer_protect(ticket=ticket, action="sessions", reason="x", by=es_agent)
    assert refused.value.code == "no_permission"
    staff_ticket = ticket_make(helpdesk, customer=supervisor, language="en")
    with pytest.raises(TicketRefused) as refused:
        customer_protect(ticket=staff_ticket, action="freeze", reason="x", by=User.objects.get(pk=supervisor.pk))
    assert refused.value.code == "staff_account"
    assert not SecurityEvent.objects.exists() and not LogEntry.objects.filter(additional_data__kind="support_security").exists()


def test_the_same_form_sent_twice_acts_once(client, case, es_agent):
    """A double click (or the replay after re-authentication followed by a second click) used to lock
    the withdrawals twice: two security emails to the customer, two audit entries, two events."""
    customer, ticket = case
    client.force_login(es_agent)
    page = client.get(reverse("console:ticket", args=[ticket.reference]))
    token = page.context["security_form"]["token"].value()
    assert len(token) == 32 and f'name="token" value="{token}"' in page.content.decode()
    data = {"action": "withdrawals", "reason": "Suspicious address", "token": token}
    assert "/reauthenticate/" in client.post(security_url(ticket), data)["Location"]
    reauthenticate(client, security_url(ticket))
    until = User.objects.get(pk=customer.pk).withdrawals_locked_until
    assert client.post(security_url(ticket), data).status_code == 302  # the second click
    assert User.objects.get(pk=customer.pk).withdrawals_locked_until == until
    assert SecurityEvent.objects.filter(user=customer, kind="withdrawal_lock").count() == 1
    assert LogEntry.objects.filter(additional_data__kind="support_security").count() == 1
    assert Message.objects.filter(ticket=ticket, event="security").count() == 1
    # A new page (a new token) is a new decision: it acts again.
    again = client.get(reverse("console:ticket", args=[ticket.reference])).context["security_form"]["token"].value()
    assert again != token
    client.post(security_url(ticket), {**data, "token": again})
    assert Message.objects.filter(ticket=ticket, event="security").count() == 2


def test_a_superuser_is_not_a_target_either(case, es_agent, helpdesk):
    root = customer_make("es", is_superuser=True)
    ticket = ticket_make(helpdesk, customer=root)
    with pytest.raises(TicketRefused) as refused:
        customer_protect(ticket=ticket, action="sessions", reason="x", by=es_agent)
    assert refused.value.code == "staff_account"


def test_an_agent_of_another_language_gets_404_before_any_re_authentication(client, case, de_agent):
    _customer, ticket = case
    client.force_login(de_agent)
    assert client.post(security_url(ticket), {"action": "freeze", "reason": "x"}).status_code == 404
    assert client.post(reverse("console:freeze_lift_request", args=[ticket.reference]), {"freeze": 1, "reason": "x"}).status_code == 404
    assert client.post(reverse("console:freeze_lift_approve", args=[ticket.reference, 1])).status_code == 404


def test_re_authentication_lasts_a_few_minutes(client, case, es_agent):
    customer, ticket = case
    client.force_login(es_agent)
    act(client, ticket, "sessions")
    response = client.post(security_url(ticket), {"action": "withdrawals", "reason": "and lock withdrawals"})
    assert response.status_code == 302 and "/reauthenticate/" not in response["Location"]
    assert User.objects.get(pk=customer.pk).withdrawals_locked


# --- Lifting a freeze takes two people ---------------------------------------------------------------------


def test_unfreezing_needs_a_second_person(client, case, es_agent, supervisor, second_supervisor):
    customer, ticket = case
    customer_protect(ticket=ticket, action="freeze", reason="stolen phone", by=es_agent)
    freeze = AccountFreeze.objects.get(user=customer)
    # The agent asks (with a reason, re-authenticated); agents cannot approve.
    client.force_login(es_agent)
    lift = reverse("console:freeze_lift_request", args=[ticket.reference])
    response = client.post(lift, {"freeze": freeze.pk, "reason": "Identity confirmed by video call"})
    assert "/reauthenticate/" in response["Location"]
    assert AccountFreeze.objects.get(pk=freeze.pk).lift_requested_by is None
    reauthenticate(client, lift)
    freeze.refresh_from_db()
    assert (freeze.lift_requested_by, freeze.lift_reason, freeze.lifted_at) == (es_agent, "Identity confirmed by video call", None)
    page = client.get(reverse("console:ticket", args=[ticket.reference])).content.decode()
    assert 'id="lift-waiting"' in page and "Approve lifting the freeze" not in page
    approve = reverse("console:freeze_lift_approve", args=[ticket.reference, freeze.pk])
    client.post(approve, follow=True)
    assert User.objects.get(pk=customer.pk).frozen_at is not None
    # A supervisor sees the request, on the ticket and in the list, and approves.
    other = Client()
    other.force_login(supervisor)
    page = other.get(reverse("console:ticket", args=[ticket.reference])).content.decode()
    assert 'id="lift-pending"' in page and "Identity confirmed by video call" in page and approve in page
    listing = other.get(reverse("console:freeze_lifts")).content.decode()
    assert customer.email in listing and ticket.reference in listing
    response = other.post(approve)
    assert "/reauthenticate/" in response["Location"]
    reauthenticate(other, approve)
    freeze.refresh_from_db()
    assert freeze.lifted_by == supervisor and User.objects.get(pk=customer.pk).frozen_at is None
    assert SecurityEvent.objects.filter(user=customer, kind="account_unfrozen", ip=None).count() == 1
    events = list(Message.objects.filter(ticket=ticket, kind="system").values_list("event", "author", "internal"))
    assert events == [("security", es_agent.pk, True), ("freeze_lift_requested", es_agent.pk, True), ("freeze_lifted", supervisor.pk, True)]
    assert audit(customer, "freeze_lift_approve").actor == supervisor
    assert other.get(reverse("console:freeze_lifts")).context["rows"] == []


def test_the_one_who_asked_cannot_approve(case, supervisor, second_supervisor):
    customer, ticket = case
    customer_protect(ticket=ticket, action="freeze", reason="stolen phone", by=supervisor)
    freeze = AccountFreeze.objects.get(user=customer)
    customer_freeze_lift_request(ticket=ticket, freeze_id=freeze.pk, reason="confirmed", by=supervisor)
    with pytest.raises(TicketRefused) as refused:
        customer_freeze_lift_approve(ticket=ticket, freeze_id=freeze.pk, by=supervisor)
    assert refused.value.code == "second_person"
    with pytest.raises(TicketRefused) as refused:
        customer_freeze_lift_request(ticket=ticket, freeze_id=freeze.pk, reason="again", by=second_supervisor)
    assert refused.value.code == "lift_already_requested"
    assert User.objects.get(pk=customer.pk).frozen_at is not None
    customer_freeze_lift_approve(ticket=ticket, freeze_id=freeze.pk, by=second_supervisor)
    assert User.objects.get(pk=customer.pk).frozen_at is None
    with pytest.raises(TicketRefused) as refused:
        customer_freeze_lift_approve(ticket=ticket, freeze_id=freeze.pk, by=second_supervisor)
    assert refused.value.code == "lift_refused"  # already lifted (accounts' own check)


def test_approving_needs_the_unfreeze_permission_and_a_request(case, es_agent, supervisor):
    customer, ticket = case
    customer_protect(ticket=ticket, action="freeze", reason="stolen phone", by=es_agent)
    freeze = AccountFreeze.objects.get(user=customer)
    with pytest.raises(TicketRefused) as refused:
        customer_freeze_lift_approve(ticket=ticket, freeze_id=freeze.pk, by=supervisor)
    assert refused.value.code == "lift_refused"  # nobody asked yet
    customer_freeze_lift_request(ticket=ticket, freeze_id=freeze.pk, reason="confirmed", by=supervisor)
    with pytest.raises(TicketRefused) as refused:
        customer_freeze_lift_approve(ticket=ticket, freeze_id=freeze.pk, by=es_agent)
    assert refused.value.code == "no_permission"
    with pytest.raises(TicketRefused) as refused:
        customer_freeze_lift_request(ticket=ticket, freeze_id=freeze.pk + 99, reason="x", by=supervisor)
    assert refused.value.code == "not_found"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not on_postgres(), reason="row-lock races need PostgreSQL (DATABASE_URL)")
def test_two_clicks_at_once_freeze_once():
    """Both requests checked `frozen_at` before either locked: the second freeze returned the first
    (accounts.account_freeze is idempotent) but wrote a second audit entry and ticket event."""
    from tests.support.factories import agent_create, desk

    helpdesk = desk()
    agent = agent_create(languages=["es"])
    customer = customer_make("es")
    ticket = ticket_make(helpdesk, customer=customer)
    outcomes = run_concurrently(
        4, lambda i: customer_protect(ticket=ticket, action="freeze", reason="stolen phone", by=User.objects.get(pk=agent.pk))
    )
    refused = [o for o in outcomes if isinstance(o, TicketRefused)]
    assert len(refused) == 3 and {o.code for o in refused} == {"already_frozen"}, outcomes
    assert AccountFreeze.objects.filter(user=customer).count() == 1
    assert LogEntry.objects.filter(additional_data__kind="support_security").count() == 1
    assert Message.objects.filter(ticket=ticket, event="security").count() == 1

"""Security actions an agent takes on a customer's account from a ticket: freeze the account,
lock withdrawals, end every session, revoke the API keys, and the two-person lifting of a freeze.

Each one goes through the accounts service that owns it (never a copy), needs a reason, is
written to the audit log with the agent, their IP and the reason, and is shown in the ticket as
an internal system event (agents only). Re-authentication is asked for by the views (allauth's
reauthentication_required), which are the only callers that have a request to ask it of.

The customer's security events record no client: the agent's IP and browser are in the audit log,
never on the customer's security page or in their email (as for staff changes in accounts).
"""

from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services as accounts
from accounts.client import ClientInfo
from accounts.models import AccountFreeze, ApiKey, User
from support.errors import TicketRefused
from support.models import Message, Ticket
from support.selectors.access import tickets_for_agent

ACTIONS = {
    "freeze": gettext_lazy("Freeze the account"),
    "withdrawals": gettext_lazy("Lock withdrawals for 24 hours"),
    "sessions": gettext_lazy("End every session"),
    "api_keys": gettext_lazy("Revoke every API key"),
}
# Each action is part of what a freeze does, so whoever may freeze an account may take it.
ACTION_PERMISSION = "accounts.freeze_account"
LIFT_APPROVE_PERMISSION = "accounts.unfreeze_account"
NO_CLIENT = ClientInfo()


def _check_ticket(*, ticket: Ticket, by: User) -> User:
    """The ticket's customer, row-locked (inside the caller's transaction): two clicks, or two
    agents, act one after the other, and the second sees what the first did."""
    if not tickets_for_agent(by).filter(pk=ticket.pk).exists():
        raise TicketRefused("not_found", _("This ticket does not exist or is not in your queues."))
    customer = User.objects.select_for_update(no_key=True).get(pk=ticket.customer_id)
    if customer.is_staff or customer.is_superuser:
        # Staff accounts are protected by operators in admin, not by a colleague from a ticket.
        raise TicketRefused("staff_account", _("This is a staff account: ask an operator."))
    return customer


def _audit(*, customer: User, by: User, client: ClientInfo, ticket: Ticket, action: str, reason: str, changes: dict) -> None:
    LogEntry.objects.log_create(
        customer,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        changes=changes,
        actor=by,
        remote_addr=client.ip,
        additional_data={"kind": "support_security", "action": action, "reason": reason, "ticket": ticket.reference},
    )


def _event(*, ticket: Ticket, by: User, event: str, data: dict) -> Message:
    # Internal: the customer reads their own security events on their security page and by email.
    return Message.event_add(ticket=ticket, event=event, data=data, internal=True, by=by)


def customer_protect(*, ticket: Ticket, action: str, reason: str, by: User, client: ClientInfo = NO_CLIENT, token: str = "") -> Message:
    """Take one protective action on the ticket's customer (`action` in ACTIONS) with a reason.

    Refused (TicketRefused) without the permission, without a reason, on a ticket the agent may
    not open, on a staff account, and when there is nothing to do (already frozen, no active key).
    The action, the audit entry and the ticket's internal event commit together. `token` (the
    form's, one per page) makes it idempotent: the same form sent twice (a double click, a replay
    after re-authentication) returns the first event and does nothing more."""
    reason = (reason or "").strip()
    if action not in ACTIONS:
        raise TicketRefused("bad_action", _("Choose an action from the list."))
    if not by.has_perm(ACTION_PERMISSION):
        raise TicketRefused("no_permission", _("You may not take security actions on customer accounts."))
    if not reason:
        raise TicketRefused("reason_required", _("Give the reason for this action."))
    token = (token or "")[:64]
    data = {"action": action, "reason": reason[:2000], **({"token": token} if token else {})}
    with transaction.atomic():
        customer = _check_ticket(ticket=ticket, by=by)
        done = Message.objects.filter(ticket=ticket, event="security", data__token=token).first() if token else None
        if done is not None:
            return done
        if action == "freeze":
            if customer.frozen_at is not None:
                raise TicketRefused("already_frozen", _("This account is already frozen."))
            keys = ApiKey.objects.filter(user=customer, revoked_at__isnull=True).count()
            freeze = accounts.account_freeze(user=customer, source=AccountFreeze.Source.SUPPORT, reason=reason, by=by)
            data.update(freeze=freeze.pk, api_keys_revoked=keys)
            changes = {"frozen_at": [None, customer.frozen_at.isoformat()]}
        elif action == "withdrawals":
            before = customer.withdrawals_locked_until
            accounts.withdrawal_lock_apply(user=customer, reason=f"support {ticket.reference}: {reason}"[:500])
            data["until"] = customer.withdrawals_locked_until.isoformat()
            changes = {"withdrawals_locked_until": [before.isoformat() if before else None, data["until"]]}
        elif action == "sessions":
            before = customer.session_epoch
            accounts.sessions_end_all(user=customer)
            changes = {"session_epoch": [before, customer.session_epoch]}
        else:
            keys = list(ApiKey.objects.filter(user=customer, revoked_at__isnull=True).order_by("pk"))
            if not keys:
                raise TicketRefused("no_api_keys", _("This customer has no active API key."))
            for key in keys:
                accounts.api_key_revoke(api_key=key, reason=f"support {ticket.reference}"[:64])
            data["api_keys_revoked"] = len(keys)
            changes = {"api_keys_revoked": [0, len(keys)]}
        _audit(customer=customer, by=by, client=client, ticket=ticket, action=action, reason=reason, changes=changes)
        return _event(ticket=ticket, by=by, event="security", data=data)


def _freeze_of(*, ticket: Ticket, freeze_id: int) -> AccountFreeze:
    freeze = AccountFreeze.objects.filter(pk=freeze_id, user_id=ticket.customer_id).first()
    if freeze is None:
        raise TicketRefused("not_found", _("This freeze does not exist."))
    return freeze


def customer_freeze_lift_request(*, ticket: Ticket, freeze_id: int, reason: str, by: User, client: ClientInfo = NO_CLIENT) -> Message:
    """First of two people: asks for the customer's freeze to be lifted (accounts.freeze_lift_request),
    with the reason. Nothing is lifted until a different person with the unfreeze permission approves."""
    if not (by.has_perm(ACTION_PERMISSION) or by.has_perm(LIFT_APPROVE_PERMISSION)):
        raise TicketRefused("no_permission", _("You may not take security actions on customer accounts."))
    reason = (reason or "").strip()
    if not reason:
        raise TicketRefused("reason_required", _("Give the reason for this action."))
    with transaction.atomic():
        customer = _check_ticket(ticket=ticket, by=by)
        freeze = _freeze_of(ticket=ticket, freeze_id=freeze_id)
        if freeze.lift_requested_by_id is not None and freeze.lifted_at is None:
            raise TicketRefused("lift_already_requested", _("Lifting this freeze has already been requested."))
        try:
            accounts.freeze_lift_request(freeze=freeze, by=by, reason=reason)
        except ValidationError as error:
            raise TicketRefused("lift_refused", " ".join(error.messages)) from error
        _audit(
            customer=customer,
            by=by,
            client=client,
            ticket=ticket,
            action="freeze_lift_request",
            reason=reason,
            changes={"lift_requested_by": [None, by.pk]},
        )
        return _event(ticket=ticket, by=by, event="freeze_lift_requested", data={"freeze": freeze.pk, "reason": reason[:2000]})


def customer_freeze_lift_approve(*, ticket: Ticket, freeze_id: int, by: User, client: ClientInfo = NO_CLIENT) -> Message:
    """Second person: lifts the freeze someone else asked to lift (accounts.freeze_lift_approve,
    which refuses the requester; the database refuses it too). Needs the unfreeze permission."""
    if not by.has_perm(LIFT_APPROVE_PERMISSION):
        raise TicketRefused("no_permission", _("Only a supervisor can approve lifting a freeze."))
    with transaction.atomic():
        customer = _check_ticket(ticket=ticket, by=by)
        freeze = _freeze_of(ticket=ticket, freeze_id=freeze_id)
        if freeze.lift_requested_by_id == by.pk:
            raise TicketRefused("second_person", _("A second person must approve lifting a freeze."))
        try:
            accounts.freeze_lift_approve(freeze=freeze, by=by)
        except ValidationError as error:
            raise TicketRefused("lift_refused", " ".join(error.messages)) from error
        _audit(
            customer=customer,
            by=by,
            client=client,
            ticket=ticket,
            action="freeze_lift_approve",
            reason=freeze.lift_reason,
            changes={"frozen_at": [customer.frozen_at.isoformat() if customer.frozen_at else None, None]},
        )
        return _event(ticket=ticket, by=by, event="freeze_lifted", data={"freeze": freeze.pk, "requested_by": freeze.lift_requested_by_id})

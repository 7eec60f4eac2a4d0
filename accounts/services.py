"""Every write to accounts and their security. Callers pass who and from where (ClientInfo)."""

import ipaddress
import logging
import secrets
import string
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.client import ClientInfo
from accounts.encryption import encrypt as secret_encrypt
from accounts.models import AccountFreeze, ApiKey, KnownDevice, LoginRecord, SecurityEvent, User
from config.errors import AppError
from config.languages import LANGUAGE_CODES

log = logging.getLogger(__name__)

NO_CLIENT = ClientInfo()
MAX_ACTIVE_API_KEYS = 30
MAX_IP_ALLOWLIST = 30
FREEZE_SALT = "accounts.freeze-link"


# --- Profile -----------------------------------------------------------------------------------


@transaction.atomic
def profile_update(*, user: User, language: str | None = None, time_zone: str | None = None) -> User:
    import zoneinfo

    fields = []
    if language is not None:
        if language not in LANGUAGE_CODES:
            raise ValidationError({"language": _("Choose one of the offered languages.")})
        user.language = language
        fields.append("language")
    if time_zone is not None:
        if time_zone not in zoneinfo.available_timezones():
            raise ValidationError({"time_zone": _("Choose a time zone from the list.")})
        user.time_zone = time_zone
        fields.append("time_zone")
    if fields:
        user.save(update_fields=fields)
    return user


ANTI_PHISHING_ALPHABET = set(string.ascii_letters + string.digits)


@transaction.atomic
def anti_phishing_code_set(*, user: User, code: str, client: ClientInfo = NO_CLIENT) -> User:
    """Set the code shown in every email we send, so the user can tell our mail from a fake."""
    code = (code or "").strip()
    if not 4 <= len(code) <= 20 or not set(code) <= ANTI_PHISHING_ALPHABET:
        raise ValidationError({"code": _("Use 4 to 20 letters (A–Z) or digits.")})
    user.anti_phishing_code = code
    user.save(update_fields=["anti_phishing_code"])
    security_event_record(user=user, kind=SecurityEvent.Kind.ANTI_PHISHING_SET, client=client)
    return user


# --- Security events, logins, sessions -------------------------------------------------------------------


def security_event_record(*, user: User, kind: str, client: ClientInfo = NO_CLIENT, data: dict | None = None) -> SecurityEvent:
    """Append an event; events in SecurityEvent.NOTIFY email the user after commit."""
    event = SecurityEvent.objects.create(user=user, kind=kind, ip=client.ip, user_agent=client.user_agent, data=data or {})
    if kind in SecurityEvent.NOTIFY:
        from accounts.tasks import security_event_notify

        transaction.on_commit(lambda: security_event_notify.delay(event.id))
    return event


@transaction.atomic
def login_record(*, user: User, client: ClientInfo) -> LoginRecord:
    """Record a completed login; a login from a browser the account has not used before (when it
    has used others) is a new-device login and emails the user."""
    now = timezone.now()
    new_device = False
    if client.device_id:
        device, created = KnownDevice.objects.get_or_create(
            user=user,
            device_id=client.device_id,
            defaults={"user_agent": client.user_agent, "last_ip": client.ip, "first_seen_at": now, "last_seen_at": now},
        )
        if created:
            new_device = KnownDevice.objects.filter(user=user).exclude(pk=device.pk).exists()
        else:
            KnownDevice.objects.filter(pk=device.pk).update(last_seen_at=now, last_ip=client.ip, user_agent=client.user_agent)
    record = LoginRecord.objects.create(
        user=user,
        created_at=now,
        ip=client.ip,
        user_agent=client.user_agent,
        device_id=client.device_id,
        new_device=new_device,
    )
    kind = SecurityEvent.Kind.LOGIN_NEW_DEVICE if new_device else SecurityEvent.Kind.LOGIN
    security_event_record(user=user, kind=kind, client=client)
    return record


def sessions_end_all(*, user: User) -> None:
    """End every session of the user everywhere: the session hash changes, so every stored
    session stops authenticating at once, and the session list is cleared."""
    from allauth.usersessions.models import UserSession

    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    for session in UserSession.objects.filter(user=user):
        session.end()


@transaction.atomic
def withdrawal_lock_apply(*, user: User, reason: str, client: ClientInfo = NO_CLIENT) -> User:
    """Lock withdrawals for 24 h after a credential change (a stolen session changes them first)."""
    until = timezone.now() + timedelta(hours=settings.SECURITY_WITHDRAWAL_LOCK_HOURS)
    User.objects.filter(pk=user.pk).update(withdrawals_locked_until=until)
    user.withdrawals_locked_until = until
    security_event_record(
        user=user,
        kind=SecurityEvent.Kind.WITHDRAWAL_LOCK,
        client=client,
        data={"reason": reason, "until": until.isoformat()},
    )
    return user


def credential_changed(*, user: User, kind: str, client: ClientInfo = NO_CLIENT, data: dict | None = None) -> None:
    """A password, email or MFA change: log it (emails the user) and lock withdrawals."""
    with transaction.atomic():
        security_event_record(user=user, kind=kind, client=client, data=data)
        withdrawal_lock_apply(user=user, reason=kind, client=client)


# --- Freeze ------------------------------------------------------------------------------------------------


def _freeze_state(user_id: int) -> int:
    return AccountFreeze.objects.filter(user_id=user_id).count()


def freeze_link_token(*, user: User) -> str:
    """A signed token for the freeze link in emails. It names the user's freeze state (how many
    freezes the account has had), so it stops working once it, or anything else, has frozen the
    account: lifting that freeze does not bring old links back. Valid FREEZE_LINK_MAX_AGE."""
    return signing.TimestampSigner(salt=FREEZE_SALT).sign(f"{user.pk}.{_freeze_state(user.pk)}")


def freeze_link_user(*, token: str) -> User | None:
    """The user a freeze link was made for, or None when it is forged, altered, expired or used
    (the account was frozen since it was made)."""
    try:
        value = signing.TimestampSigner(salt=FREEZE_SALT).unsign(token or "", max_age=settings.FREEZE_LINK_MAX_AGE)
        pk, state = (int(part) for part in value.split("."))
    except (signing.BadSignature, ValueError):
        return None
    if _freeze_state(pk) != state:
        return None
    return User.objects.filter(pk=pk).first()


def account_freeze(*, user: User, source: str, reason: str = "", by: User | None = None, client: ClientInfo = NO_CLIENT) -> AccountFreeze:
    """Freeze the account: ends all sessions, revokes every API key, blocks login, trading and
    withdrawals until support lifts it. Idempotent: freezing a frozen account returns its freeze."""
    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        if locked.frozen_at is not None:
            return AccountFreeze.objects.get(user=locked, lifted_at__isnull=True)
        now = timezone.now()
        freeze = AccountFreeze.objects.create(user=locked, source=source, reason=reason[:2000], created_by=by, ip=client.ip, created_at=now)
        User.objects.filter(pk=user.pk).update(frozen_at=now)
        user.frozen_at = now
        revoked = ApiKey.objects.filter(user=locked, revoked_at__isnull=True).update(revoked_at=now, revoked_reason="account frozen")
        sessions_end_all(user=user)
        from exchange.services import order_cancel_for_freeze  # exchange builds on accounts, not the other way round

        order_cancel_for_freeze(user=locked)
        data = {"source": source, "api_keys_revoked": revoked}
        if by is not None and by.pk != user.pk:
            data["by_staff"] = by.pk  # the email says support did it, not "if this was you"
        security_event_record(user=user, kind=SecurityEvent.Kind.ACCOUNT_FROZEN, client=client, data=data)
        transaction.on_commit(lambda: _publish_account_event(user.pk, "account.frozen"))
    log.info("account %s frozen (%s)", user.pk, source)
    return freeze


@transaction.atomic
def freeze_lift_request(*, freeze: AccountFreeze, by: User, reason: str) -> AccountFreeze:
    """First of two people: asks for the freeze to be lifted, with the reason."""
    freeze = AccountFreeze.objects.select_for_update(no_key=True).get(pk=freeze.pk)
    if freeze.lifted_at is not None:
        raise ValidationError(_("This freeze has already been lifted."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for lifting the freeze."))
    freeze.lift_requested_by, freeze.lift_requested_at, freeze.lift_reason = by, timezone.now(), reason.strip()
    freeze.save(update_fields=["lift_requested_by", "lift_requested_at", "lift_reason"])
    return freeze


@transaction.atomic
def freeze_lift_approve(*, freeze: AccountFreeze, by: User, client: ClientInfo = NO_CLIENT) -> AccountFreeze:
    """Second person: lifts a freeze someone else asked to lift. API keys stay revoked."""
    freeze = AccountFreeze.objects.select_for_update(no_key=True).get(pk=freeze.pk)
    if freeze.lifted_at is not None:
        raise ValidationError(_("This freeze has already been lifted."))
    if freeze.lift_requested_by_id is None:
        raise ValidationError(_("Lifting a freeze must be requested first."))
    if freeze.lift_requested_by_id == by.pk:
        raise ValidationError(_("A second person must approve lifting a freeze."))
    now = timezone.now()
    freeze.lifted_by, freeze.lifted_at = by, now
    freeze.save(update_fields=["lifted_by", "lifted_at"])
    User.objects.filter(pk=freeze.user_id).update(frozen_at=None)
    # Lifting is always staff's (requested by one, approved by another): the email says so.
    security_event_record(user=freeze.user, kind=SecurityEvent.Kind.ACCOUNT_UNFROZEN, client=client, data={"by_staff": by.pk})
    return freeze


def _publish_account_event(user_id: int, event_type: str) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(f"account.{user_id}", {"type": event_type})
    except Exception:  # a page that misses the push still finds its session ended on next request
        log.warning("could not publish %s for user %s", event_type, user_id, exc_info=True)


# --- TOTP codes checked by the product ---------------------------------------------------------------


class TotpRefused(AppError):
    """A TOTP check that did not pass: `mfa_required` (no authenticator app), `mfa_invalid` (wrong
    or already used code), `mfa_locked` (too many wrong codes for this user or IP; wait)."""


def _ip_bucket(ip: str | None) -> str | None:
    """The address the per-IP limit counts: an IPv4 address as is, an IPv6 address by its /64 (one
    subscriber gets a whole /64 and can pick any address in it)."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:76]
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _totp_scopes(*, user: User, ip: str | None) -> dict[str, int]:
    scopes = {f"user:{user.pk}": settings.TOTP_FAILURES_PER_USER}
    bucket = _ip_bucket(ip)
    if bucket:
        scopes[f"ip:{bucket}"] = settings.TOTP_FAILURES_PER_IP
    return scopes


def _totp_locked_refusal(until: float) -> TotpRefused:
    minutes = max(1, -(-int(until - timezone.now().timestamp()) // 60))
    return TotpRefused(
        "mfa_locked",
        ngettext(
            "Too many wrong authenticator codes. Try again in %(minutes)d minute.",
            "Too many wrong authenticator codes. Try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
    )


def totp_verify(*, user: User, code: str, ip: str | None, purpose: str) -> None:
    """Check a code of the user's authenticator app, for `purpose` (api_key, withdrawal, ...).

    Every TOTP check outside allauth's login goes through here. A code is accepted once. Wrong codes
    are counted per user and per IP (an IPv6 client by its /64) in TotpFailureCounter rows: the Nth
    wrong one within TOTP_LOCKOUT_SECONDS (settings.TOTP_FAILURES_PER_USER / _PER_IP) locks further
    checks for TOTP_LOCKOUT_SECONDS, the right code included, and records a TOTP_LOCKED security
    event (which emails the user). The check runs under the counters' row locks (SQLite: the
    IMMEDIATE transaction), so parallel guesses are checked one after another and cannot get past
    the limit, whatever the cache backend. Call it outside a transaction that a refusal would roll
    back, or the lock-out event is lost. Raises TotpRefused.
    """
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    from accounts.models import TotpFailureCounter

    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        raise TotpRefused("mfa_required", _("Set up an authenticator app first."))
    scopes = _totp_scopes(user=user, ip=ip)
    window = timedelta(seconds=settings.TOTP_LOCKOUT_SECONDS)
    locked: list[str] = []
    with transaction.atomic():
        now = timezone.now()
        # Rows are created and then locked in scope order, so two checks never wait on each other.
        TotpFailureCounter.objects.bulk_create(
            [TotpFailureCounter(scope=scope, window_start=now) for scope in sorted(scopes)], ignore_conflicts=True
        )
        counters = list(TotpFailureCounter.objects.select_for_update(no_key=True).filter(scope__in=scopes).order_by("scope"))
        for counter in counters:
            if counter.locked_until is not None and counter.locked_until > now:
                raise _totp_locked_refusal(counter.locked_until.timestamp())
            if counter.locked_until is not None or counter.window_start + window <= now:  # served its time or the window passed
                counter.count, counter.window_start, counter.locked_until = 0, now, None
        right = TOTP(authenticator).validate_code((code or "").strip())
        for counter in counters:
            if right and counter.scope.startswith("user:"):
                counter.count, counter.window_start = 0, now  # only wrong codes count against an IP
            elif not right:
                counter.count += 1
                if counter.count >= scopes[counter.scope]:
                    counter.locked_until = now + window
                    locked.append(counter.scope)
            counter.save(update_fields=["count", "window_start", "locked_until"])
        if locked:
            security_event_record(
                user=user,
                kind=SecurityEvent.Kind.TOTP_LOCKED,
                client=ClientInfo(ip=ip),
                data={"purpose": purpose, "locked": [scope.split(":", 1)[0] for scope in locked], "seconds": settings.TOTP_LOCKOUT_SECONDS},
            )
    if right:
        return
    if not locked:
        raise TotpRefused("mfa_invalid", _("The authenticator code is wrong or was already used. Enter the current code."))
    log.warning("TOTP checks locked for %s after wrong codes (%s)", ", ".join(locked), purpose)
    raise _totp_locked_refusal((now + window).timestamp())


def totp_counters_prune() -> int:
    """Delete the TOTP failure counters that no longer count: window passed and not locked (or the
    lock ended). One row per IP ever seen would otherwise pile up. Returns how many were deleted."""
    from django.db.models import Q

    from accounts.models import TotpFailureCounter

    now = timezone.now()
    stale = Q(window_start__lte=now - timedelta(seconds=settings.TOTP_LOCKOUT_SECONDS)) & (
        Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    )
    deleted, _per_model = TotpFailureCounter.objects.filter(stale).delete()
    return deleted


# --- Secrets at rest ------------------------------------------------------------------------------------


def mfa_data_encrypt(data: dict, *, box) -> tuple[dict, bool]:
    """allauth MFA data with every secret under the newest key: a plain one (stored before
    MFAAdapter) is encrypted, an old-key one re-encrypted. `box(value) -> (new, changed)`."""
    from accounts import encryption

    data, changed = dict(data), False

    def one(value: str) -> str:
        nonlocal changed
        if not encryption.is_encrypted(value):
            changed = True
            return encryption.encrypt(value)
        new, moved = box(value)
        changed = changed or moved
        return new

    for field in ("secret", "seed"):
        if isinstance(data.get(field), str):
            data[field] = one(data[field])
    if isinstance(data.get("migrated_codes"), list):
        data["migrated_codes"] = [one(code) for code in data["migrated_codes"]]
    return data, changed


def secrets_reencrypt(*, legacy_secret_keys: tuple[str, ...] = ()) -> dict[str, dict[str, int]]:
    """Put every stored secret (API secrets, TOTP secrets, recovery-code seeds) under the newest
    FIELD_ENCRYPTION_KEYS key; idempotent (a second run changes nothing). Rows are updated one by
    one under their row lock. `legacy_secret_keys` (SECRET_KEY values) also opens API secrets
    encrypted before FIELD_ENCRYPTION_KEYS existed. Returns counts per kind: reencrypted,
    current (already under the newest key), unreadable (no configured key opens it)."""
    from allauth.mfa.models import Authenticator

    from accounts import encryption

    extra = tuple(encryption.legacy_key_from_secret_key(k) for k in legacy_secret_keys)

    def box(token: str) -> tuple[str, bool]:
        return encryption.reencrypt(token, extra_keys=extra)

    counts = {kind: {"reencrypted": 0, "current": 0, "unreadable": 0} for kind in ("api_keys", "mfa")}

    def each(kind: str, queryset, field: str, rewrite) -> None:
        """Row by row under its lock: the stored value rewritten (or counted current/unreadable)."""
        for pk in queryset.values_list("pk", flat=True).order_by("pk"):
            with transaction.atomic():
                row = queryset.select_for_update(no_key=True).get(pk=pk)
                try:
                    new, changed = rewrite(getattr(row, field))
                except encryption.InvalidToken:
                    counts[kind]["unreadable"] += 1
                    log.error("%s %s: secret unreadable with the configured keys", queryset.model.__name__, pk)
                    continue
                if changed:
                    queryset.filter(pk=pk).update(**{field: new})
                counts[kind]["reencrypted" if changed else "current"] += 1

    each("api_keys", ApiKey.objects.only("secret_encrypted"), "secret_encrypted", box)
    mfa = Authenticator.objects.filter(type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES])
    each("mfa", mfa, "data", lambda data: mfa_data_encrypt(data, box=box))
    return counts


# --- API keys ----------------------------------------------------------------------------------------------


def _ip_allowlist_parse(raw: str) -> list[str]:
    entries = [item.strip() for item in raw.replace(",", " ").split() if item.strip()]
    if len(entries) > MAX_IP_ALLOWLIST:
        raise ValidationError(
            {
                "ip_allowlist": ngettext("At most %(count)d address.", "At most %(count)d addresses.", MAX_IP_ALLOWLIST)
                % {"count": MAX_IP_ALLOWLIST}
            }
        )
    parsed = []
    for entry in entries:
        try:
            parsed.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ValidationError({"ip_allowlist": _("“%(entry)s” is not an IP address or network.") % {"entry": entry}})
    return parsed


WITHDRAW_MIN_PREFIX = {4: 24, 6: 48}


def withdraw_allowlist_check(*, allowlist: list[str]) -> None:
    """A key that can withdraw is restricted to at most a /24 (IPv4) or /48 (IPv6) per entry:
    `0.0.0.0/0` or a /8 "restricts" it to the whole internet or a whole provider."""
    for entry in allowlist:
        network = ipaddress.ip_network(entry, strict=False)
        limit = WITHDRAW_MIN_PREFIX[network.version]
        if network.prefixlen < limit:
            raise ValidationError(
                {
                    "ip_allowlist": _(
                        "“%(entry)s” is too wide for a key that can withdraw: use single addresses or networks of at most /%(limit)d."
                    )
                    % {"entry": entry, "limit": limit}
                }
            )


def ip_allowlist_check(*, raw: str, can_withdraw: bool) -> list[str]:
    """The allowlist as stored, or ValidationError: the same rules the form and api_key_create apply."""
    allowlist = _ip_allowlist_parse(raw or "")
    if can_withdraw:
        withdraw_allowlist_check(allowlist=allowlist)
    return allowlist


def _api_key_create_allowed(*, user: User) -> None:
    if user.is_frozen:
        raise ValidationError(_("Your account is frozen. Contact support to unfreeze it."))
    if ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_API_KEYS:
        raise ValidationError(
            ngettext(
                "You already have %(count)d active key. Revoke it first.",
                "You already have %(count)d active keys. Revoke one first.",
                MAX_ACTIVE_API_KEYS,
            )
            % {"count": MAX_ACTIVE_API_KEYS}
        )


def api_key_create(
    *,
    user: User,
    label: str,
    can_trade: bool = False,
    can_withdraw: bool = False,
    ip_allowlist: str = "",
    code: str = "",
    totp_waived_by_operator: bool = False,
    client: ClientInfo = NO_CLIENT,
) -> tuple[ApiKey, str]:
    """Create a key; returns it with its secret, which is never readable from the page again.

    Needs a current TOTP code of the user (totp_verify: attempt-limited), checked after the other
    fields, the frozen state and the key limit, so neither a typo nor a refusal burns the code. Only the operator command
    `create_api_key --without-totp` passes totp_waived_by_operator (recorded in the event).
    Withdrawal permission requires an IP allowlist. Frozen accounts cannot create keys.
    Raises ValidationError or TotpRefused.
    """
    label = (label or "").strip()
    if not label:
        raise ValidationError({"label": _("Give the key a label.")})
    allowlist = ip_allowlist_check(raw=ip_allowlist, can_withdraw=can_withdraw)
    if can_withdraw and not allowlist:
        raise ValidationError({"ip_allowlist": _("A key that can withdraw must be restricted to IP addresses.")})
    # The cheap refusals first, so a user who cannot get a key anyway does not spend a code (and an
    # attempt) on it; they are checked again under the user's row lock below.
    _api_key_create_allowed(user=User.objects.get(pk=user.pk))
    if not totp_waived_by_operator:
        totp_verify(user=user, code=code, ip=client.ip, purpose="api_key")
    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        _api_key_create_allowed(user=locked)
        secret = secrets.token_urlsafe(48)[:64]
        api_key = ApiKey.objects.create(
            user=locked,
            label=label[:64],
            secret_encrypted=secret_encrypt(secret),
            can_read=True,
            can_trade=can_trade,
            can_withdraw=can_withdraw,
            ip_allowlist=allowlist,
        )
        security_event_record(
            user=user,
            kind=SecurityEvent.Kind.API_KEY_CREATED,
            client=client,
            data={
                "label": api_key.label,
                "key": api_key.key[:8],
                "permissions": api_key.permissions,
                **({"totp": "waived by operator"} if totp_waived_by_operator else {}),
            },
        )
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, reason: str = "revoked by user", client: ClientInfo = NO_CLIENT) -> ApiKey:
    updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_reason=reason[:64])
    api_key.refresh_from_db()
    if updated:
        security_event_record(
            user=api_key.user,
            kind=SecurityEvent.Kind.API_KEY_REVOKED,
            client=client,
            data={"label": api_key.label, "key": api_key.key[:8]},
        )
    return api_key


# --- Roles -------------------------------------------------------------------------------------------------

ROLE_PERMISSIONS = {
    "trader": [],
    "support_agent": [
        "accounts.view_user",
        "accounts.view_securityevent",
        "accounts.view_loginrecord",
        "accounts.view_accountfreeze",
        "accounts.view_apikey",
        "accounts.freeze_account",
        "accounts.view_customer_security",
        "support.view_announcement",
        "support.work_ticket",
        # The desk's reference data; never tickets in admin (the console's access rule decides those).
        "support.view_queue",
        "support.view_ticketcategory",
        "support.view_cannedreply",
        "wallets.view_deposit",
        "wallets.view_withdrawal",
        "wallets.view_recoveryrequest",
    ],
    "supervisor": [
        "accounts.view_user",
        "accounts.view_securityevent",
        "accounts.view_loginrecord",
        "accounts.view_totpfailurecounter",
        "accounts.view_accountfreeze",
        "accounts.change_accountfreeze",
        "accounts.view_apikey",
        "accounts.freeze_account",
        "accounts.unfreeze_account",
        "accounts.view_customer_security",
        "support.view_announcement",
        "support.work_ticket",
        "support.supervise_ticket",
        "support.view_calendar",
        "support.view_calendarinterval",
        "support.view_holiday",
        "support.view_queue",
        "support.view_ticketcategory",
        "support.view_cannedreply",
        "support.view_agentprofile",
        "support.view_slapolicy",
        "support.view_slatarget",
        "support.view_slapolicyversion",
        "support.view_ticket",
        "support.view_message",
        "support.view_slaclock",
        "support.view_slaevent",
        "support.view_inboundmail",
        "support.view_satisfactionrating",
        "support.view_outboundmail",
        "support.view_slanotification",
        "auditlog.view_logentry",
        "wallets.view_ledgeraccount",
        "wallets.view_journal",
        "wallets.view_deposit",
        "wallets.view_withdrawal",
        "wallets.view_recoveryrequest",
    ],
    "operator": [
        "accounts.view_user",
        "accounts.change_user",
        "accounts.view_securityevent",
        "accounts.view_loginrecord",
        "accounts.view_knowndevice",
        "accounts.view_totpfailurecounter",
        "accounts.view_accountfreeze",
        "accounts.change_accountfreeze",
        "accounts.view_apikey",
        "accounts.change_apikey",
        "accounts.freeze_account",
        "accounts.unfreeze_account",
        "accounts.view_customer_security",
        "support.view_announcement",
        "support.add_announcement",
        "support.change_announcement",
        "support.delete_announcement",
        # The desk's configuration: calendars, SLA policies, queues, categories, canned replies, agents.
        "support.view_calendar",
        "support.add_calendar",
        "support.change_calendar",
        "support.view_calendarinterval",
        "support.add_calendarinterval",
        "support.change_calendarinterval",
        "support.delete_calendarinterval",
        "support.view_holiday",
        "support.add_holiday",
        "support.change_holiday",
        "support.delete_holiday",
        "support.view_slapolicy",
        "support.add_slapolicy",
        "support.change_slapolicy",
        "support.view_slatarget",
        "support.add_slatarget",
        "support.change_slatarget",
        "support.delete_slatarget",
        "support.view_slapolicyversion",
        "support.view_queue",
        "support.add_queue",
        "support.change_queue",
        "support.view_ticketcategory",
        "support.add_ticketcategory",
        "support.change_ticketcategory",
        "support.view_cannedreply",
        "support.add_cannedreply",
        "support.change_cannedreply",
        "support.delete_cannedreply",
        "support.view_agentprofile",
        "support.add_agentprofile",
        "support.change_agentprofile",
        "support.delete_agentprofile",
        "auditlog.view_logentry",
        # View only: changing a periodic task could point one at accounts.tasks.mail_send with any
        # address and text, i.e. phishing sent from our own domain. Schedules change in deploys.
        "django_celery_beat.view_periodictask",
        "wallets.view_asset",
        "wallets.add_asset",
        "wallets.change_asset",
        "wallets.view_network",
        "wallets.add_network",
        "wallets.change_network",
        "wallets.view_ledgeraccount",
        "wallets.view_journal",
        "wallets.view_entry",
        "wallets.view_deposit",
        "wallets.view_depositaddress",
        "wallets.view_withdrawaladdress",
        "wallets.view_withdrawal",
        "wallets.review_withdrawal",
        "wallets.view_distribution",
        "wallets.add_distribution",
        "wallets.change_distribution",
        "wallets.view_campaign",
        "wallets.add_campaign",
        "wallets.change_campaign",
        "wallets.approve_payout",
        "wallets.view_poolfunding",
        "wallets.add_poolfunding",
        "wallets.change_poolfunding",
        "wallets.approve_poolfunding",
        "wallets.view_snapshotday",
        "wallets.view_holdingsnapshot",
        "wallets.view_chaincursor",
        "wallets.view_simtransfer",
        "wallets.view_reconciliation",
        "wallets.add_reconciliation",
        "wallets.view_reconciliationline",
        "wallets.change_reconciliationline",
        "wallets.view_recoveryrequest",
        "wallets.approve_recovery",
        "wallets.view_notice",
        "exchange.view_market",
        "exchange.change_market",
        "exchange.add_market",
        "exchange.view_feetier",
        "exchange.change_feetier",
        "exchange.view_order",
        "exchange.view_trade",
        "exchange.view_enginecommand",
        "exchange.view_kline",
        "exchange.view_marketdepth",
        "exchange.view_marketstatuschange",
    ],
}
STAFF_ROLES = {"support_agent", "supervisor", "operator"}


def roles_sync(*, using: str = "default", create_permissions: bool = False) -> dict[str, int]:
    """Create the role groups and give each exactly its permissions (safe to run any time).

    With create_permissions, every installed app's permissions are created first: after migrate,
    post_migrate reaches accounts before the apps listed after it have their permissions, and a
    role synced then would lack them until a second migrate.
    """
    if create_permissions:
        from django.apps import apps
        from django.contrib.auth.management import create_permissions as permissions_create

        for app_config in apps.get_app_configs():
            permissions_create(app_config, verbosity=0, using=using)
    result = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                wanted.append(perm)
            elif create_permissions:  # every permission exists by now: this one is misspelt or gone
                log.warning("role %s names the unknown permission %s", role, dotted)
        group.permissions.set(wanted)
        result[role] = len(wanted)
    return result


@transaction.atomic
def role_assign(*, user: User, role: str) -> User:
    if role not in ROLE_PERMISSIONS:
        raise ValidationError(f"unknown role {role}")
    user.groups.add(Group.objects.get(name=role))
    if role in STAFF_ROLES and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user


# --- Staff changes to accounts (roles, credentials) ------------------------------------------------------

ROLE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


class StaffChangeRefused(AppError, PermissionDenied):
    """A staff member tried a change to an account that their role does not allow (admin answers 403)."""


def _roles_state(user: User) -> dict:
    return {
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "user_permissions": sorted(
            f"{app}.{codename}" for app, codename in user.user_permissions.values_list("content_type__app_label", "codename")
        ),
    }


def user_roles_set(
    *,
    user: User,
    by: User,
    is_staff: bool,
    is_superuser: bool,
    groups,
    user_permissions,
    client: ClientInfo = NO_CLIENT,
) -> User:
    """Set the fields that grant power (staff, superuser, groups, permissions).

    Only a superuser may change them, and nobody on their own account: either would let one person
    defeat every two-person control. Each change is audited with who and the before/after values.
    A call that changes nothing is allowed for anyone and records nothing.
    """
    from auditlog.models import LogEntry

    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        before = _roles_state(locked)
        groups, user_permissions = list(groups), list(user_permissions)
        after = {
            "is_staff": bool(is_staff),
            "is_superuser": bool(is_superuser),
            "groups": sorted(group.name for group in groups),
            "user_permissions": sorted(f"{perm.content_type.app_label}.{perm.codename}" for perm in user_permissions),
        }
        changes = {field: [before[field], after[field]] for field in ROLE_FIELDS if before[field] != after[field]}
        if not changes:
            return locked
        if not by.is_superuser:
            raise StaffChangeRefused("roles_superuser_only", _("Only a superuser can change roles and permissions."))
        if by.pk == locked.pk:
            raise StaffChangeRefused("roles_own_account", _("Nobody can change the roles or permissions of their own account."))
        # A queryset update, so the one audit entry below (with the groups too) is the whole record.
        User.objects.filter(pk=locked.pk).update(is_staff=after["is_staff"], is_superuser=after["is_superuser"])
        locked.groups.set(groups)
        locked.user_permissions.set(user_permissions)
        LogEntry.objects.log_create(
            locked,
            action=LogEntry.Action.UPDATE,
            changes={field: [str(old), str(new)] for field, (old, new) in changes.items()},
            actor=by,
            remote_addr=client.ip,
            additional_data={"kind": "roles_changed", "before": before, "after": after},
        )
    log.info("roles of user %s changed by %s: %s", user.pk, by.pk, sorted(changes))
    user.is_staff, user.is_superuser = after["is_staff"], after["is_superuser"]
    return user


def _staff_audit(*, user: User, by: User, changes: dict, kind: str, client: ClientInfo) -> None:
    from auditlog.models import LogEntry

    LogEntry.objects.log_create(
        user, action=LogEntry.Action.UPDATE, changes=changes, actor=by, remote_addr=client.ip, additional_data={"kind": kind}
    )


def user_email_change_by_staff(*, user: User, email: str, by: User, client: ClientInfo = NO_CLIENT) -> User:
    """Support changes a user's sign-in address: the same consequences as the user doing it.

    The security event emails the old and the new address (in the user's language, with the
    anti-phishing code), withdrawals lock for 24 h, and allauth's address record moves to the new
    address unverified, so the next sign-in sends a confirmation there before it lets anyone in.
    """
    from allauth.account.models import EmailAddress
    from django.core.validators import validate_email

    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid email address.")})
    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        old = locked.email
        if email == old:
            return locked
        if User.objects.filter(email__iexact=email).exclude(pk=locked.pk).exists() or (
            EmailAddress.objects.filter(email__iexact=email).exclude(user=locked).exists()
        ):
            raise ValidationError({"email": _("This email address belongs to another account.")})
        User.objects.filter(pk=locked.pk).update(email=email)
        locked.email = email
        EmailAddress.objects.filter(user=locked).delete()
        EmailAddress.objects.create(user=locked, email=email, primary=True, verified=False)
        _staff_audit(user=locked, by=by, changes={"email": [old, email]}, kind="email_changed_by_staff", client=client)
        # The event (and the customer's email) carries no client: it would show the operator's IP and browser.
        credential_changed(user=locked, kind=SecurityEvent.Kind.EMAIL_CHANGED, data={"from": old, "to": email, "by_staff": by.pk})
    user.email = email
    return user


def user_password_set_by_staff(*, user: User, password: str | None, by: User, client: ClientInfo = NO_CLIENT) -> User:
    """Support sets (or, with None, disables) a user's password: the same consequences as the user
    changing it (security event and email, 24 h withdrawal lock), every session ends, and it is audited."""
    from django.contrib.auth import password_validation

    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        if password is None:
            locked.set_unusable_password()
        else:
            password_validation.validate_password(password, locked)
            locked.set_password(password)
        locked.save(update_fields=["password"])
        sessions_end_all(user=locked)
        _staff_audit(user=locked, by=by, changes={"password": ["", "set by staff"]}, kind="password_set_by_staff", client=client)
        credential_changed(user=locked, kind=SecurityEvent.Kind.PASSWORD_CHANGED, data={"by_staff": by.pk})
    user.password, user.session_epoch = locked.password, locked.session_epoch
    return user

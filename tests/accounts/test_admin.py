import pytest

from accounts import services
from accounts.models import AccountFreeze
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "accounts/user",
    "accounts/apikey",
    "accounts/accountfreeze",
    "accounts/securityevent",
    "accounts/loginrecord",
    "accounts/knowndevice",
    "accounts/totpfailurecounter",
    "support/announcement",
    "auditlog/logentry",
    "wallets/asset",
    "wallets/network",
    "wallets/ledgeraccount",
    "wallets/journal",
    "wallets/deposit",
    "wallets/depositaddress",
    "wallets/withdrawaladdress",
    "wallets/withdrawal",
    "wallets/distribution",
    "wallets/campaign",
    "wallets/snapshotday",
    "wallets/holdingsnapshot",
    "wallets/chaincursor",
    "wallets/simtransfer",
    "wallets/reconciliation",
    "wallets/reconciliationline",
    "wallets/recoveryrequest",
    "wallets/notice",
    "exchange/market",
    "exchange/feetier",
    "exchange/order",
    "exchange/trade",
    "exchange/enginecommand",
    "exchange/kline",
    "exchange/marketdepth",
]


@pytest.fixture
def operator():
    user = UserFactory()
    services.roles_sync()
    services.role_assign(user=user, role="operator")
    return user


def test_operator_sees_every_accounts_page(client, operator):
    target = UserFactory()
    services.api_key_create(totp_waived_by_operator=True, user=target, label="bot")
    services.account_freeze(user=target, source=AccountFreeze.Source.SELF)
    client.force_login(operator)
    for page in PAGES:
        response = client.get(f"/en/admin/{page}/")
        assert response.status_code == 200, page
    assert client.get(f"/en/admin/accounts/user/{target.pk}/change/").status_code == 200


def test_ledger_is_read_only_in_admin(client, operator):
    from decimal import Decimal

    from wallets.models import Asset, Journal
    from wallets.services import ledger_adjust

    asset = Asset.objects.create(symbol="BTC", name="Bitcoin", precision=8)
    ledger_adjust(user=UserFactory(), asset=asset, amount=Decimal("1"), reason="r", idempotency_key="k")
    journal = Journal.objects.get()
    client.force_login(operator)
    page = client.get(f"/en/admin/wallets/journal/{journal.pk}/change/")
    assert page.status_code == 200 and b"Save" not in page.content
    assert client.get("/en/admin/wallets/journal/add/").status_code == 403
    assert client.post(f"/en/admin/wallets/journal/{journal.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Journal.objects.count() == 1
    assert client.get(f"/en/admin/wallets/asset/{asset.pk}/change/").status_code == 200


def test_trader_cannot_open_admin(client, user):
    client.force_login(user)
    assert client.get("/en/admin/").status_code == 302


def test_support_agent_freezes_from_admin_with_reason_and_is_audited(client):
    from auditlog.models import LogEntry

    agent = UserFactory()
    services.roles_sync()
    services.role_assign(user=agent, role="support_agent")
    target = UserFactory()
    client.force_login(agent)
    data = {"action": "freeze_accounts", "_selected_action": [target.pk]}
    page = client.post("/en/admin/accounts/user/", data)
    assert page.status_code == 200 and b"Reason" in page.content  # asks for a reason first
    target.refresh_from_db()
    assert not target.is_frozen
    client.post("/en/admin/accounts/user/", {**data, "reason": "customer called: SIM swap"})
    target.refresh_from_db()
    freeze = AccountFreeze.objects.get(user=target)
    assert target.is_frozen and freeze.created_by == agent and freeze.source == AccountFreeze.Source.SUPPORT
    assert LogEntry.objects.filter(object_pk=str(freeze.pk), actor=agent).exists()


def test_admin_lift_needs_two_people(client):
    first, second = UserFactory(), UserFactory()
    services.roles_sync()
    for person in (first, second):
        services.role_assign(user=person, role="supervisor")
    freeze = services.account_freeze(user=UserFactory(), source=AccountFreeze.Source.SELF)
    client.force_login(first)
    client.post("/en/admin/accounts/accountfreeze/", {"action": "request_lift", "_selected_action": [freeze.pk], "reason": "verified"})
    client.post("/en/admin/accounts/accountfreeze/", {"action": "approve_lift", "_selected_action": [freeze.pk]})
    freeze.refresh_from_db()
    assert freeze.lift_requested_by == first and freeze.lifted_at is None
    client.force_login(second)
    client.post("/en/admin/accounts/accountfreeze/", {"action": "approve_lift", "_selected_action": [freeze.pk]})
    freeze.refresh_from_db()
    assert freeze.lifted_by == second and not freeze.user.is_frozen


def test_operator_cannot_change_a_customers_anti_phishing_code(client, operator):
    target = UserFactory()
    services.anti_phishing_code_set(user=target, code="Blue42")
    client.force_login(operator)
    page = client.get(f"/en/admin/accounts/user/{target.pk}/change/")
    assert page.status_code == 200 and b'name="anti_phishing_code"' not in page.content and b"Blue42" in page.content
    form = {
        "email": target.email,
        "first_name": "",
        "last_name": "",
        "language": target.language,
        "time_zone": target.time_zone,
        "anti_phishing_code": "Evil99",
        "vip_tier": target.vip_tier,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = client.post(f"/en/admin/accounts/user/{target.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    target.refresh_from_db()
    assert target.anti_phishing_code == "Blue42"


def test_operator_only_views_periodic_tasks(client, operator):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    assert "django_celery_beat.change_periodictask" not in services.ROLE_PERMISSIONS["operator"]
    assert operator.has_perm("django_celery_beat.view_periodictask")
    assert not operator.has_perm("django_celery_beat.change_periodictask")
    every = IntervalSchedule.objects.create(every=15, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(name="heartbeat", task="config.tasks.worker_heartbeat", interval=every)
    client.force_login(operator)
    page = client.get(f"/en/admin/django_celery_beat/periodictask/{task.pk}/change/")
    assert page.status_code == 200 and b'name="task"' not in page.content
    data = {
        "name": "heartbeat",
        "regtask": "accounts.tasks.mail_send",
        "task": "accounts.tasks.mail_send",
        "interval": every.pk,
        "enabled": "on",
    }
    assert client.post(f"/en/admin/django_celery_beat/periodictask/{task.pk}/change/", data).status_code == 403
    task.refresh_from_db()
    assert task.task == "config.tasks.worker_heartbeat"

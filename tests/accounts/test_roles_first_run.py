"""One `migrate` on an empty database gives every role all of its permissions (first run)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from accounts.services import ROLE_PERMISSIONS

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import json
from django.contrib.auth.models import Group
from django.test import Client
from accounts.models import User
from accounts.services import role_assign
groups = {g.name: sorted(f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.select_related("content_type")) for g in Group.objects.all()}
operator = role_assign(user=User.objects.create_user(email="first-run-operator@example.test"), role="operator")
client = Client()
client.force_login(operator)
pages = {path: client.get(path).status_code for path in ("/en/admin/", "/en/admin/wallets/asset/", "/en/admin/exchange/market/", "/en/admin/support/announcement/", "/en/admin/support/calendar/", "/en/admin/support/slapolicy/add/", "/en/admin/support/agentprofile/")}
print(json.dumps({"groups": groups, "pages": pages}))
"""


def test_one_migrate_on_an_empty_database_gives_every_role_its_permissions(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'first-run.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    checked = subprocess.run([*manage, "shell", "-c", CHECK], cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=300)
    result = json.loads(checked.stdout.strip().splitlines()[-1])
    assert result["groups"] == {role: sorted(perms) for role, perms in ROLE_PERMISSIONS.items()}
    # 61, + 4 pool funding, + market status changes and TOTP counters (view), - periodic-task change, + 33 desk configuration
    assert len(result["groups"]["operator"]) == 99
    assert len(result["groups"]["supervisor"]) == 19 + 18  # + the desk's models and its two outboxes, viewed
    assert len(result["groups"]["support_agent"]) == 12 + 3  # + queues, categories, canned replies (viewed)
    assert result["pages"] == {
        "/en/admin/": 200,
        "/en/admin/wallets/asset/": 200,
        "/en/admin/exchange/market/": 200,
        "/en/admin/support/announcement/": 200,
        "/en/admin/support/calendar/": 200,
        "/en/admin/support/slapolicy/add/": 200,
        "/en/admin/support/agentprofile/": 200,
    }

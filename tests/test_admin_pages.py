"""Every admin page staff use opens: each registered model's list, its add form where adding is
allowed, and one object's change form, on the seeded demo data with a few trades."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from exchange.models import Market
from exchange.runner import engine_for, engines_reset
from exchange.services import order_place
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    engines_reset()
    call_command("seed_demo", verbosity=0)
    from accounts.models import User

    market = Market.objects.get(symbol="BTCUSDT")
    maker, taker = User.objects.get(email="maker@demo.test"), User.objects.get(email="taker@demo.test")
    order_place(user=maker, market=market, side="SELL", type="LIMIT", quantity="0.01", price="60000")
    order_place(user=taker, market=market, side="BUY", type="LIMIT", quantity="0.01", price="60000")
    engine_for(market.pk).apply_all()
    yield
    engines_reset()


def test_every_admin_list_add_and_change_page_opens(client, demo):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    opened = 0
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        opened += 1
        if model_admin.has_add_permission(_request(client)):
            add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
            assert client.get(add).status_code == 200, add
        obj = model_admin.get_queryset(_request(client)).first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, change
    assert opened >= 30


def _request(client):
    from django.contrib.auth import get_user
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = get_user(client)
    return request

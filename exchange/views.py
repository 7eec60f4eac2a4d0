"""Exchange pages: the markets with their 24-hour statistics, and the fee schedule."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exchange.selectors import (
    fee_tiers_with_discount,
    fee_token,
    fee_token_balance_for,
    fee_token_discount,
    markets_listed,
    tickers_24h,
    volumes_30d,
)
from exchange.services import fee_token_choice_set


def markets(request):
    markets = markets_listed()
    rows = list(zip(markets, tickers_24h(markets=markets)))
    return render(request, "exchange/markets.html", {"rows": rows})


def fees(request):
    """Public: every tier's maker and taker rates, with and without the platform-token discount.
    Signed in: the reader's tier, 30-day volume, token balance and the choice to pay in it."""
    discount = fee_token_discount()
    tiers = fee_tiers_with_discount(discount=discount)
    context = {"tiers": tiers, "token": fee_token(), "discount": discount}
    if request.user.is_authenticated:
        user = request.user
        context["volume"] = volumes_30d(user_ids=[user.pk]).get(user.pk, Decimal(0))
        context["current"] = next((t for t, _m, _t in tiers if t.tier == user.vip_tier), None)
        context["next_tier"] = next((t for t, _m, _t in tiers if t.tier > user.vip_tier), None)
        if context["token"] is not None:
            context["token_balance"] = fee_token_balance_for(user=user, token=context["token"])
    return render(request, "exchange/fees.html", context)


@login_required
@require_POST
def fee_token_choice(request):
    token = fee_token()
    if token is not None:
        pay = request.POST.get("pay_in_token") == "1"
        fee_token_choice_set(user=request.user, pay_in_token=pay)
        if pay:
            messages.success(
                request,
                _("Your trading fees are now paid in %(token)s at a discount, while you hold enough of it.") % {"token": token.symbol},
            )
        else:
            messages.success(request, _("Your trading fees are now paid in the asset you receive."))
    return redirect("exchange:fees")

"""Wallet pages: thin views over wallets.selectors (reads) and wallets.services (writes)."""

import csv
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.http import require_POST

from accounts.client import client_info
from accounts.selectors import user_has_totp
from config.formatting import csv_cell
from wallets import selectors, services
from wallets.forms import AddressBookForm, HistoryFilterForm, RecoveryForm, WithdrawConfirmForm, WithdrawForm
from wallets.models import Asset, Journal, Network, RecoveryRequest, Withdrawal

HISTORY_LABELS = {
    "deposit": pgettext_lazy("history type", "Deposit"),
    "withdrawal": pgettext_lazy("history type", "Withdrawal"),
    "transfer": gettext_lazy("Internal transfer"),
    "distribution": pgettext_lazy("history type", "Distribution"),
    "compensation": pgettext_lazy("history type", "Compensation"),
    "recovery": gettext_lazy("Fund recovery"),
    "adjustment": pgettext_lazy("history type", "Adjustment"),
    "trade": pgettext_lazy("history type", "Trade"),
    "fee": pgettext_lazy("history type", "Fee"),
}


def history_label(kind: str) -> str:
    """A history type in the reader's language (the ledger's own label for a kind the page does not list)."""
    label = HISTORY_LABELS.get(kind)
    if label is None:
        label = Journal.Kind(kind).label if kind in Journal.Kind.values else kind
    return str(label)


def _asset(symbol: str) -> Asset:
    return get_object_or_404(selectors.assets_listed_with_networks(), symbol=symbol.upper())


def _qr_svg(data: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode")


@login_required
def overview(request):
    rows, total = selectors.balances_for(user=request.user)
    hide_zero = request.GET.get("hide_zero") == "1"
    if hide_zero:
        rows = [row for row in rows if row.total]
    context = {
        "rows": rows,
        "total": total,
        "hide_zero": hide_zero,
        "pending": selectors.deposits_pending_for(user=request.user),
        "withdrawals": selectors.withdrawals_in_flight_for(user=request.user),
    }
    return render(request, "wallets/overview.html", context)


@login_required
def deposit(request, symbol):
    asset = _asset(symbol)
    networks = list(asset.networks.all())
    if not networks:
        raise Http404
    network = next((n for n in networks if n.code == request.GET.get("network")), networks[0])
    address = qr = None
    if network.deposit_enabled:
        address = services.deposit_address_for(user=request.user, network=network)
        qr = mark_safe(_qr_svg(address.address))  # generated SVG, no user input in markup
    context = {
        "asset": asset,
        "networks": networks,
        "network": network,
        "address": address,
        "qr": qr,
        "pending": selectors.deposits_pending_for(user=request.user, asset=asset),
    }
    template = "wallets/deposit_pending.html" if request.GET.get("fragment") == "pending" else "wallets/deposit.html"
    return render(request, template, context)


@login_required
def withdraw(request, symbol):
    asset = _asset(symbol)
    networks = list(asset.networks.all())
    user = request.user
    account_rows, _total = selectors.balances_for(user=user)
    balance = next((row for row in account_rows if row.asset.pk == asset.pk), None)
    book = selectors.address_book_for(user=user, asset=asset)
    preview = done = None
    form = WithdrawForm(networks=networks, initial={"network": request.GET.get("network", networks[0].code if networks else "")})
    if request.method == "POST":
        confirming = "code" in request.POST
        form = (WithdrawConfirmForm if confirming else WithdrawForm)(request.POST, networks=networks)
        if form.is_valid():
            data = form.cleaned_data
            network = next(n for n in networks if n.code == data["network"])
            try:
                if confirming:
                    done = services.withdrawal_request(
                        user=user,
                        network=network,
                        address=data["address"],
                        memo=data["memo"],
                        amount=data["amount"],
                        mfa_code=data["code"],
                        idempotency_key=data["key"],
                        client=client_info(request),
                    )
                    messages.success(request, _("Your withdrawal request is received. Follow its status below."))
                    return redirect("wallets:withdraw", symbol=asset.symbol)
                preview = _withdraw_preview(user=user, network=network, data=data)
                form = WithdrawConfirmForm(networks=networks, initial={**data, "key": uuid.uuid4().hex})
            except services.WithdrawalRefused as refused:
                form.add_error(None, refused.message)
                if confirming and refused.code in ("mfa_invalid", "mfa_locked"):
                    preview = _withdraw_preview(user=user, network=network, data=data)
    context = {
        "asset": asset,
        "networks": networks,
        "form": form,
        "preview": preview,
        "done": done,
        "balance": balance,
        "book": book,
        "has_totp": user_has_totp(user=user),
        # said before the user fills the form; the service refuses it anyway
        "locked_until": user.withdrawals_locked_until if user.withdrawals_locked else None,
        "withdrawals": selectors.withdrawals_recent_for(user=user, asset=asset),
    }
    return render(request, "wallets/withdraw.html", context, status=400 if form.errors else 200)


def _withdraw_preview(*, user, network: Network, data) -> dict:
    address, memo, recipient = services.withdrawal_destination(user=user, network=network, address=data["address"], memo=data["memo"])
    internal = recipient is not None
    quote = services.internal_quote if internal else services.withdrawal_quote
    amount, fee, net = quote(network=network, amount=data["amount"])
    return {
        "network": network,
        "address": address,
        "memo": memo,
        "amount": amount,
        "fee": fee,
        "net": net,
        "internal": internal,
    }


@login_required
@require_POST
def withdrawal_cancel(request, pk):
    withdrawal = get_object_or_404(Withdrawal, pk=pk, user=request.user)
    try:
        services.withdrawal_cancel(withdrawal=withdrawal, user=request.user)
        messages.success(request, _("The withdrawal is cancelled and the funds are back in your available balance."))
    except services.WithdrawalRefused as refused:
        messages.error(request, refused.message)
    return redirect("wallets:withdraw", symbol=withdrawal.network.asset.symbol)


@login_required
def address_book(request):
    user = request.user
    networks = selectors.networks_listed()
    form = AddressBookForm(networks=networks)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "whitelist":
            services.whitelist_mode_set(user=user, enabled=request.POST.get("enabled") == "1", client=client_info(request))
            if user.withdrawal_whitelist_only:
                messages.success(request, _("Withdrawals now go only to addresses in your address book."))
            else:
                messages.warning(request, _("Withdrawals may go to any address. For your protection they are paused for 24 hours."))
            return redirect("wallets:address_book")
        if action == "remove":
            services.address_book_remove(user=user, entry_id=int(request.POST.get("entry", 0) or 0))
            messages.success(request, _("The address is removed."))
            return redirect("wallets:address_book")
        form = AddressBookForm(request.POST, networks=networks)
        if form.is_valid():
            data = form.cleaned_data
            network = next(n for n in networks if str(n.pk) == data["network"])
            try:
                services.address_book_add(
                    user=user, network=network, label=data["label"], address=data["address"], memo=data["memo"], client=client_info(request)
                )
                messages.success(request, _("The address is added. For your protection it can be used after a cooling period."))
                return redirect("wallets:address_book")
            except services.WithdrawalRefused as refused:
                form.add_error(None, refused.message)
    entries = selectors.address_book_for(user=user)
    return render(request, "wallets/address_book.html", {"form": form, "entries": entries}, status=400 if form.errors else 200)


@login_required
def history(request):
    assets = selectors.asset_symbols_listed()
    form = HistoryFilterForm(request.GET or None, assets=assets, kind_labels=HISTORY_LABELS)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    entries = selectors.history_for(
        user=request.user, kind=filters.get("kind", ""), asset=filters.get("asset", ""), start=filters.get("start"), end=filters.get("end")
    )
    if request.GET.get("format") == "csv":
        return _history_csv(request, entries)
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    rows = selectors.history_rows(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "wallets/history.html", {"form": form, "rows": rows, "page": page, "labels": HISTORY_LABELS, "query": query.urlencode()}
    )


def _history_csv(request, entries) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="agora-history.csv"'
    writer = csv.writer(response)
    # Headers and the type cells in the reader's language, like the page; times, amounts and
    # references stay machine-readable.
    writer.writerow(
        [
            pgettext("CSV column", "Time (UTC)"),
            pgettext("kind of history entry", "Type"),
            _("Asset"),
            pgettext("quantity", "Amount"),
            pgettext("CSV column", "Reference"),
        ]
    )
    for row in selectors.history_rows(entries.iterator(chunk_size=2000)):
        writer.writerow(
            [row.when.isoformat(), history_label(row.kind), row.asset, row.amount_text, csv_cell(selectors.history_reference(row))]
        )
    return response


@login_required
def recovery(request):
    user = request.user
    chains = selectors.chains_active()
    form = RecoveryForm(chains=chains)
    if request.method == "POST":
        answer = request.POST.get("answer")
        if answer in ("accept", "decline"):
            item = get_object_or_404(RecoveryRequest, pk=request.POST.get("request"), user=user)
            try:
                services.recovery_answer(request=item, user=user, accept=answer == "accept")
                messages.success(
                    request,
                    _("Thank you. Two of our operators will review the request.")
                    if answer == "accept"
                    else _("You declined the quote. The request is closed."),
                )
            except services.RecoveryRefused as refused:
                messages.error(request, refused.message)
            return redirect("wallets:recovery")
        form = RecoveryForm(request.POST, chains=chains)
        if form.is_valid():
            try:
                item = services.recovery_submit(user=user, ticket_reference=request.POST.get("ticket", ""), **form.cleaned_data)
                if item.status == RecoveryRequest.Status.QUOTED:
                    messages.success(request, _("We found your transfer. Review the fee quote below."))
                elif item.status == RecoveryRequest.Status.SUBMITTED:
                    messages.info(
                        request,
                        _(
                            "We found the transfer, but nothing on the chain shows it is yours. "
                            "Our team will ask you for proof that you sent it."
                        ),
                    )
                else:
                    messages.error(request, item.get_rejection_display())
                return redirect("wallets:recovery")
            except services.RecoveryRefused as refused:
                form.add_error(None, refused.message)
    items = selectors.recovery_requests_for(user=user)
    return render(request, "wallets/recovery.html", {"form": form, "items": items}, status=400 if form.errors else 200)

"""Every write in the wallets app (see each module's docstring for its guarantees)."""
from wallets.services.adjustments import ledger_adjust
from wallets.services.deposits import chain_scan, chains_active, deposit_address_for, deposit_credit, deposit_record
from wallets.services.payouts import (
    PayoutError, csv_lines_parse, holdings_snapshot_take, payout_approve, payout_cancel, payout_execute, payout_preview, payout_report_rows,
)
from wallets.services.reconciliation import custody_positions, reconciliation_run, reconciliation_surplus_book
from wallets.services.recovery import RecoveryRefused, recovery_answer, recovery_approve, recovery_ownership_verify, recovery_reject, recovery_submit
from wallets.services.withdrawals import (
    WithdrawalRefused, address_book_add, address_book_remove, internal_quote, internal_recipient, whitelist_mode_set, withdrawal_broadcast,
    withdrawal_cancel, withdrawal_quote, withdrawal_request, withdrawal_review, withdrawals_confirm,
)

__all__ = [
    "PayoutError", "RecoveryRefused", "WithdrawalRefused", "address_book_add", "address_book_remove", "chain_scan", "chains_active",
    "csv_lines_parse", "custody_positions", "deposit_address_for", "deposit_credit", "deposit_record", "holdings_snapshot_take",
    "internal_quote", "internal_recipient", "ledger_adjust", "payout_approve", "payout_cancel", "payout_execute", "payout_preview", "payout_report_rows",
    "reconciliation_run", "reconciliation_surplus_book", "recovery_answer", "recovery_approve", "recovery_ownership_verify", "recovery_reject", "recovery_submit",
    "whitelist_mode_set", "withdrawal_broadcast", "withdrawal_cancel", "withdrawal_quote", "withdrawal_request", "withdrawal_review",
    "withdrawals_confirm",
]

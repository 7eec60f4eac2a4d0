"""One base for every refusal a user, an operator or an API client can meet.

`code` is stable (snake_case; it never changes once shipped): tests, logs and the Binance-compatible
API match on it, and the API maps it to Binance's numeric codes and texts. `message` is what a
person reads, translated into the language active when the service raised it (a request's, or a
task's `translation.override`). Services raise subclasses (OrderRejected, WithdrawalRefused,
PayoutError, RecoveryRefused, LedgerError, ...); views show `message`, the API maps `code`.
"""


class AppError(Exception):
    code: str = "error"

    def __init__(self, code: str | None = None, message: str | None = None):
        if code is not None:
            self.code = code
        self.message = "" if message is None else str(message)
        super().__init__(f"{self.code}: {self.message}" if self.message else self.code)

from config.errors import AppError


class TicketRefused(AppError):
    """A ticket action the actor may not take, or bad input (the message is translated)."""

    code = "ticket_refused"

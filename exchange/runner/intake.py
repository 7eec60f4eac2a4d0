"""Intake: the raw SQL between the command log and the engine.

`Intake.pending` reads a market's next pending commands in id order, each with its order, in one
query; `commands_mark_applied` sets `applied_at` where it is still unset (the fence against a second
engine); `freezes_pending` names the users whose freeze left cancels not applied yet."""

from typing import NamedTuple

from django.db import connection
from django.db.models.base import ModelState
from django.utils import timezone

from exchange.models import EngineCommand, Order


class Command(NamedTuple):
    pk: int
    kind: str
    reason: str
    order: Order


class Intake:
    """One market's pending commands. The statement and the column converters are built on the
    first read and kept (one Intake per engine)."""

    def __init__(self, market_id: int):
        self.market_id = market_id
        self._query = None

    def pending(self, limit: int) -> list[Command]:
        """The next pending commands in id order, each with its order, in one query. Orders are
        built without Model.__init__ (and its signals), and without their timestamps (parsing them
        costs more than the rest of the row; the engine does not read them, and a deferred field
        loads on access): a thousand a batch, this is the hot read."""
        if self._query is None:
            fields = [f for f in Order._meta.concrete_fields if f.name not in ("created_at", "updated_at")]
            quote = connection.ops.quote_name
            columns = ", ".join(f"o.{quote(f.column)}" for f in fields)
            self._query = (
                f"SELECT c.id, c.kind, c.reason, {columns} FROM {quote(EngineCommand._meta.db_table)} c JOIN {quote(Order._meta.db_table)} o "
                f"ON o.id = c.order_id WHERE c.market_id = %s AND c.applied_at IS NULL ORDER BY c.id LIMIT %s",
                [
                    (f.attname, f.cached_col, connection.ops.get_db_converters(f.cached_col) + f.get_db_converters(connection))
                    for f in fields
                ],
            )
        sql, converters = self._query
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.market_id, limit])
            rows = cursor.fetchall()
        commands, db = [], connection.alias
        for row in rows:
            order = Order.__new__(Order)
            state = order._state = ModelState()
            state.adding, state.db = False, db
            values = order.__dict__
            for (attname, column, convert), value in zip(converters, row[3:]):
                for converter in convert:
                    value = converter(value, column, connection)
                values[attname] = value
            commands.append(Command(row[0], row[1], row[2], order))
        return commands

    def freezes_pending(self) -> set[int]:
        """Users whose freeze left cancel commands for this market not applied yet (the small
        command_freeze_pending index: never a scan of the backlog)."""
        return set(
            EngineCommand.objects.filter(
                market_id=self.market_id, applied_at__isnull=True, kind=EngineCommand.Kind.CANCEL, reason=Order.Reason.ACCOUNT_FROZEN
            )
            .order_by()
            .values_list("order__user_id", flat=True)
        )


def commands_mark_applied(ids: list[int]) -> int:
    """Set applied_at on these commands if still unset; returns how many were. One array
    parameter on PostgreSQL (an IN list of a thousand placeholders costs more to parse)."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        return EngineCommand.objects.filter(pk__in=ids, applied_at__isnull=True).update(applied_at=now)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {EngineCommand._meta.db_table} SET applied_at = %s WHERE id = ANY(%s) AND applied_at IS NULL", [now, ids])
        return cursor.rowcount

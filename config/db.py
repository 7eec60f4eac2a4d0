"""Database helpers for the hot paths, where Django's bulk_update (one CASE WHEN per field and
row) costs more than the work itself."""

import itertools

from django.db import connection, transaction

_TEMP_SEQ = itertools.count(1)
# Up to this many rows an executemany (pipelined by psycopg) costs less than creating a temporary table.
SMALL_UPDATE = 64


def rows_update(model, objects, fields: list[str]) -> None:
    """UPDATE many rows by primary key: on PostgreSQL by COPY into a temporary table and one
    `UPDATE ... FROM` it (no statement with thousands of parameters to build and parse);
    a few rows, and other databases, by executemany."""
    objects = list(objects)
    if not objects:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns = [meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql" or len(objects) <= SMALL_UPDATE:
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
        rows = [
            [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns] + [meta.pk.get_db_prep_save(obj.pk, connection)]
            for obj in objects
        ]
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", rows)
        return
    temp = f"_rows_update_{next(_TEMP_SEQ)}"
    selected = ", ".join([pk] + [quote(f.column) for f in columns])
    assignments = ", ".join(f"{quote(f.column)} = t.{quote(f.column)}" for f in columns)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:  # the temporary table lives until this commit
        cursor.execute(f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS SELECT {selected} FROM {table} WITH NO DATA")
        with cursor.cursor.copy(f"COPY {temp} ({selected}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row([obj.pk] + [getattr(obj, f.attname) for f in columns])
        cursor.execute(f"UPDATE {table} SET {assignments} FROM {temp} t WHERE {table}.{pk} = t.{pk}")


def rows_insert(model, fields: list[str], rows: list[list], returning: bool = False) -> list[int]:
    """INSERT many rows given as value lists (in `fields` order), skipping model instances and
    their signals. Returns the new primary keys in row order when `returning`."""
    if not rows:
        return []
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    table = connection.ops.quote_name(meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    prepared = [[f.get_db_prep_save(value, connection) for f, value in zip(columns, row)] for row in rows]
    ids: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            one = "(" + ", ".join(["%s"] * len(columns)) + ")"
            for start in range(0, len(prepared), 1000):
                chunk = prepared[start : start + 1000]
                sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(chunk))}"
                if returning:
                    sql += f" RETURNING {connection.ops.quote_name(meta.pk.column)}"
                cursor.execute(sql, [value for row in chunk for value in row])
                if returning:
                    ids += [row[0] for row in cursor.fetchall()]
        elif returning:
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))}) RETURNING {connection.ops.quote_name(meta.pk.column)}"
            for row in prepared:
                cursor.execute(sql, row)
                ids.append(cursor.fetchone()[0])
        else:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})", prepared)
    return ids


def ids_allocate(model, count: int) -> list[int]:
    """Primary keys for `count` new rows, taken from the table's sequence (PostgreSQL)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, model._meta.pk.column, count])
        return [row[0] for row in cursor.fetchall()]


def rows_copy(model, fields: list[str], rows) -> None:
    """COPY rows into a table (PostgreSQL): the fastest way in; values must already be plain
    Python values psycopg adapts (int, str, Decimal, aware datetime, None)."""
    meta = model._meta
    names = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in fields)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

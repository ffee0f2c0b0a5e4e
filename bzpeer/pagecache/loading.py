"""Load one record with its page version in one plain SQL statement.

On a cache hit this query is all the request does, so it must be cheap on both sides:
the ORM spends more time compiling a select_related query with subqueries than Postgres
spends running it. The SQL here is built once per model (at first use) and the rows are
turned into model instances with Model.from_db, as select_related would, so the miss
path reuses the same objects (no second query for the record).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache as memoize
from typing import Any, TypeVar, cast

import psycopg
from django.db import InterfaceError, OperationalError, connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


@memoize
def _statement(
    model: type[Model], related: tuple[str, ...], joins: str, extra: tuple[str, ...], where: str
) -> tuple[str, list]:
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields]
    select = [f'r."{c}"' for c in columns]
    layout: list = [(model, [f.attname for f in model._meta.concrete_fields], len(columns))]
    for index, name in enumerate(related):
        # A forward relation (ForeignKey or OneToOneField) of `model`.
        field: Any = model._meta.get_field(name)
        other: Any = field.related_model
        alias = f"j{index}"
        other_columns = [f.column for f in other._meta.concrete_fields]
        select += [f'{alias}."{c}"' for c in other_columns]
        joins = (
            f' LEFT JOIN "{other._meta.db_table}" {alias} ON {alias}."{other._meta.pk.column}"'
            f' = r."{field.column}"' + joins
        )
        layout.append(
            (name, other, [f.attname for f in other._meta.concrete_fields], len(other_columns))
        )
    select += [
        "coalesce(v.version, 0)",
        "v.changed_at",
        "(SELECT value FROM pagecache_epoch LIMIT 1)",
        *extra,
    ]
    sql = (
        f'SELECT {", ".join(select)} FROM "{table}" r{joins}'
        f" LEFT JOIN pagecache_contentversion v ON v.kind = %s AND v.object_id = r.id"
        f" WHERE r.id = %s{where}"
    )
    return sql, layout


class _PreparedStatementCursor(psycopg.Cursor):
    """Server-side binding, prepared on first use on each connection: Postgres plans this
    statement once per connection instead of on every request (planning costs more than
    running it). Django turns psycopg's automatic preparing off for connection poolers in
    transaction mode; PgBouncer 1.21+ tracks protocol-level prepared statements."""

    def execute(self, query, params=None, **kwargs):
        return super().execute(query, params, prepare=True)


# Django leaves psycopg's prepare_threshold at None, which refuses even an explicit
# prepare; a threshold no statement reaches allows it without preparing anything else
# (Django's cursors bind on the client side and never prepare).
ONLY_EXPLICIT = 2**31 - 1


def _prepared_cursor():
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:
        connection.connection.prepare_threshold = ONLY_EXPLICIT
    raw = _PreparedStatementCursor(connection.connection)
    # Through Django's wrapper, so query logging and counting see it like any other.
    cursor: Any = raw
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


def fetch_one(sql: str, params: Sequence | Mapping) -> tuple | None:
    """The first row of a fixed SQL statement, prepared on this connection at its first
    use (for statements run on every request of a hot page).

    A connection that went away (a database restart) is replaced and the statement run
    once more. That is what Django's per-request health check (a `SELECT 1` before the
    first query) buys, without its round trip: a cache hit then costs one round trip to
    Postgres."""
    for attempt in (1, 2):
        try:
            with _prepared_cursor() as cursor:
                cursor.execute(sql, params)
                row = cursor.fetchone()
        except (OperationalError, InterfaceError):
            if attempt == 2 or connection.in_atomic_block:
                raise
            connection.close()
            continue
        connection.health_check_done = True  # type: ignore[attr-defined]  # it just answered
        return row
    return None


@memoize
def _converters(model: type[Model]) -> list:
    return [getattr(f, "from_db_value", None) for f in model._meta.concrete_fields]


def _converted(model: type[Model], values: tuple) -> list:
    """Values as the ORM would hand them over (JSON decoded, and so on)."""
    return [
        value if convert is None or value is None else convert(value, None, connection)
        for convert, value in zip(_converters(model), values, strict=True)
    ]


def load_with_version(
    model: type[M],
    pk: int,
    *,
    kind: str,
    related: tuple[str, ...] = (),
    joins: str = "",
    extra: dict[str, str] | None = None,
    where: str = "",
    join_params: Sequence = (),
) -> M | None:
    """The record `pk` (None if absent or filtered out by `where`), its forward relations
    in `related` attached as select_related would, and these attributes: page_version,
    page_changed_at, page_epoch, and one per `extra` (name → SQL over alias r and `joins`).
    `join_params` are the parameters of `joins`, in order."""
    if not -(2**63) <= pk < 2**63:  # no such id: the ORM answers "none" too, not an error
        return None
    extra = extra or {}
    sql, layout = _statement(model, related, joins, tuple(extra.values()), where)
    row = fetch_one(sql, [*join_params, kind, pk])
    if row is None:
        return None
    _, names, width = layout[0]
    record: Any = model.from_db(connection.alias, names, _converted(model, row[:width]))
    position = width
    for name, other, other_names, other_width in layout[1:]:
        values = row[position : position + other_width]
        position += other_width
        instance = (
            None if values[0] is None else other.from_db(connection.alias, other_names, values)
        )
        record._state.fields_cache[name] = instance
    record.page_version, record.page_changed_at, record.page_epoch = row[position : position + 3]
    for name, value in zip(extra, row[position + 3 :], strict=True):
        setattr(record, name, value)
    return cast(M, record)


def record_columns(model: type[Model], alias: str) -> str:
    """The columns `load_record` reads, qualified by `alias`: for a statement that reads
    the record along with another row (`record_from_row` then builds it)."""
    return ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)


def record_from_row(model: type[M], values: Sequence) -> M | None:
    """The record from the values of `record_columns` (None when its key is NULL: no row)."""
    if values[_pk_position(model)] is None:
        return None
    names = [f.attname for f in model._meta.concrete_fields]
    return model.from_db(connection.alias, names, _converted(model, tuple(values)))


@memoize
def _pk_position(model: type[Model]) -> int:
    return list(model._meta.concrete_fields).index(model._meta.pk)


@memoize
def _record_statement(model: type[Model]) -> tuple[str, list[str]]:
    fields = model._meta.concrete_fields
    columns = ", ".join(f'"{f.column}"' for f in fields)
    sql = f'SELECT {columns} FROM "{model._meta.db_table}" WHERE "{model._meta.pk.column}" = %s'
    return sql, [f.attname for f in fields]


def load_record(model: type[M], pk: int) -> M | None:
    """The record `pk` of `model` (None if absent), as `model.objects.get(pk=pk)` would
    return it, from a statement prepared once per connection: for the rows every signed-in
    request reads (the user), where compiling the ORM query costs more than running it."""
    if not -(2**63) <= pk < 2**63:
        return None
    sql, names = _record_statement(model)
    row = fetch_one(sql, [pk])
    if row is None:
        return None
    return model.from_db(connection.alias, names, _converted(model, row))

"""Set-based writes for the importer: rows go through `COPY` into a staging table, then one
`INSERT … SELECT … ON CONFLICT` moves them into the real table.

No model instance is built and no per-row SQL is compiled: a batch costs one COPY stream
and one statement per table. Columns the caller does not give are filled with the model
field's default (Django's defaults live in Python, not in the database). Rows are inserted
in the conflict key's order, so concurrent importers take row locks in one order and do not
deadlock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone
from psycopg.types.json import Jsonb


def _staging(table: str, columns: Sequence[str]) -> str:
    """A temporary table with these columns of `table` (no constraints), empty."""
    digest = hashlib.sha1(",".join(columns).encode()).hexdigest()[:8]
    stage = f"stage_{table}_{digest}"
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {quoted} FROM {table} WITH NO DATA"
        )
        # DELETE, not TRUNCATE: no new file and no catalog change per batch.
        cursor.execute(f"DELETE FROM {stage}")
    return stage


def copy_into_staging(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    stage = _staging(table, columns)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    # Django's wrapper turns psycopg's errors into django.db ones (DataError, ...), which
    # the import reports against the batch's records like any other refused write.
    with (
        connection.wrap_database_errors,
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY {stage} ({quoted}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return stage


def _defaults(model: type[models.Model], given: Sequence[str]) -> tuple[list[str], list[Any]]:
    """The model's other columns (not the primary key) and the values Django would give."""
    columns, values = [], []
    now = timezone.now()
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in given:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value: Any = now
        elif field.has_default():
            value = field.get_default()
        elif field.null:
            value = None
        else:
            continue  # a database default, if any, applies
        assert field.column is not None  # a concrete field has a column
        columns.append(field.column)
        values.append(field.get_db_prep_save(value, connection))
    return columns, values


def _json_wrapped(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Sequence[Sequence[Any]]:
    """Rows with the values of JSON columns wrapped for COPY (psycopg adapts no bare dict);
    the callers keep plain values, so comparing them with stored ones stays exact."""
    json_columns = {
        f.column for f in model._meta.concrete_fields if isinstance(f, models.JSONField)
    }
    positions = [i for i, column in enumerate(columns) if column in json_columns]
    if not positions:
        return rows
    wrapped = []
    for row in rows:
        values = list(row)
        for i in positions:
            if values[i] is not None:
                values[i] = Jsonb(values[i])
        wrapped.append(values)
    return wrapped


def upsert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str] | None,
    returning: Sequence[str] = (),
    changed_only: Sequence[str] = (),
    expressions: dict[str, str] | None = None,
    inserted_flag: bool = False,
) -> list[tuple]:
    """Insert `rows` (values for `columns`, database column names) into the model's table.

    On a conflict over `conflict`, the columns in `update` are overwritten (and auto_now
    ones set to now); with `update=None` the stored row is kept. `expressions` replaces
    `EXCLUDED.col` for some of them (SQL over the stored row `t` and `EXCLUDED`). With
    `changed_only`, a stored row is updated only when one of those columns differs (IS
    DISTINCT FROM): the comparison happens in Postgres, against the row it locks. Returns
    the `returning` columns of every row inserted or updated (not of rows left alone),
    followed by True for an inserted row and False for an updated one with `inserted_flag`.
    """
    if not rows:
        return []
    table = model._meta.db_table
    quote = connection.ops.quote_name
    stage = copy_into_staging(table, columns, _json_wrapped(model, columns, rows))
    extra, values = _defaults(model, columns)
    target = ", ".join(quote(c) for c in (*columns, *extra))
    source = ", ".join([*(f"s.{quote(c)}" for c in columns), *(["%s"] * len(values))])
    order = ", ".join(f"s.{quote(c)}" for c in conflict)
    keys = ", ".join(quote(c) for c in conflict)
    if update is None:
        action = "DO NOTHING"
    else:
        touched = [
            *update,
            *(str(f.column) for f in model._meta.concrete_fields if _is_auto_now(f)),
        ]
        given = expressions or {}

        def value(column: str) -> str:
            return given.get(column, f"EXCLUDED.{quote(column)}")

        action = "DO UPDATE SET " + ", ".join(
            f"{quote(c)} = {value(c)}" for c in dict.fromkeys(touched)
        )
        if changed_only:
            stored = ", ".join(f"t.{quote(c)}" for c in changed_only)
            incoming = ", ".join(value(c) for c in changed_only)
            action += f" WHERE ROW({stored}) IS DISTINCT FROM ROW({incoming})"
    outputs = [*(f"t.{quote(c)}" for c in returning)]
    if inserted_flag:
        outputs.append("(t.xmax = 0)")  # xmax is 0 on a row version this statement inserted
    tail = f" RETURNING {', '.join(outputs)}" if outputs else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS t ({target}) SELECT {source} FROM {stage} s "
            f"ORDER BY {order} ON CONFLICT ({keys}) {action}{tail}",
            values,
        )
        return cursor.fetchall() if outputs else []


def _is_auto_now(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False))


def ids_for(model: type[models.Model], source_ids: Iterable[str]) -> dict[str, int]:
    """source_id -> id for the stored rows among `source_ids`, in one statement."""
    keys = list(source_ids)
    if not keys:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT source_id, id FROM {model._meta.db_table} WHERE source_id = ANY(%s)",
            [keys],
        )
        return dict(cursor.fetchall())


def copy_into_temp(
    name: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]
) -> str:
    """A temporary table `name` with these (column, SQL type) pairs holding exactly `rows`
    (for the set-based comparisons that need columns no real table has together)."""
    stage = f"stage_{name}"
    definition = ", ".join(f"{column} {kind}" for column, kind in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ({definition})")
        cursor.execute(f"DELETE FROM {stage}")
    names = ", ".join(column for column, _ in columns)
    with (
        connection.wrap_database_errors,
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return stage


def fetch(sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []

"""Rebuild a whole derived table into a fresh copy and swap it in (`rebuilt_table`).

Filling a table with no index, constraint or foreign key to maintain per row, then creating
them in one pass each, is several times cheaper than rewriting the rows in place; readers
see the old rows until the commit and wait only for the swap itself. Used by the full
rebuilds of derived tables (co-author edges, search documents, institution membership).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BUILD_SUFFIX = "_build"


@contextmanager
def rebuilt_table(cursor: Any, table: str) -> Iterator[str]:
    """Yield the name of an empty copy of `table` (columns, defaults, identity, CHECK
    constraints; no index, key or foreign key) for the caller to fill; on leaving, create
    the indexes and constraints `table` has (read from the catalog, so the copy follows the
    migrations), drop `table` and give the copy its name, its indexes', constraints' and
    triggers. Run inside a transaction. Filling the copy fires none of `table`'s triggers:
    the caller does what they would have done (a page-cache bump) before leaving."""
    build = create_copy(cursor, table)
    yield build
    index_copy(cursor, table)
    swap_in(cursor, table)


def create_copy(cursor: Any, table: str) -> str:
    """An empty copy of `table` (see `rebuilt_table`), replacing any left by an earlier
    rebuild that did not finish. Returns its name."""
    build = f"{table}{BUILD_SUFFIX}"
    cursor.execute(f"DROP TABLE IF EXISTS {build}")
    cursor.execute(
        f"CREATE TABLE {build} (LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY "
        "INCLUDING CONSTRAINTS)"
    )
    return build


def index_copy(cursor: Any, table: str) -> None:
    """Give the filled copy of `table` its keys and indexes, not its foreign keys: this
    locks no other table, so it may run in a transaction of its own beside writers of the
    tables `table` refers to. `swap_in` adds the foreign keys."""
    build = f"{table}{BUILD_SUFFIX}"
    indexes, constraints = _table_definition(cursor, table)
    for name, definition in constraints:
        if not definition.startswith("FOREIGN KEY"):
            cursor.execute(f"ALTER TABLE {build} ADD CONSTRAINT {name}{BUILD_SUFFIX} {definition}")
    for name, definition in indexes:
        cursor.execute(
            definition.replace(f"INDEX {name} ON", f"INDEX {name}{BUILD_SUFFIX} ON", 1).replace(
                f" ON public.{table} ", f" ON public.{build} ", 1
            )
        )


def swap_in(cursor: Any, table: str) -> None:
    """Add the indexed copy's foreign keys (each validated in one pass), then drop `table`
    and give the copy its name, its indexes', constraints' and triggers. Takes the lock
    that dropping a table's foreign keys needs on the tables it refers to: two swaps of
    tables referring to the same one must not run in concurrent transactions."""
    build = f"{table}{BUILD_SUFFIX}"
    indexes, constraints = _table_definition(cursor, table)
    cursor.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
        "AND NOT tgisinternal ORDER BY tgname",
        [table],
    )
    triggers = [definition for (definition,) in cursor.fetchall()]
    for name, definition in constraints:
        if definition.startswith("FOREIGN KEY"):
            cursor.execute(f"ALTER TABLE {build} ADD CONSTRAINT {name}{BUILD_SUFFIX} {definition}")
    # Deferred foreign-key checks queued on the old table in this transaction would block
    # its drop: run them now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(f"DROP TABLE {table}")
    cursor.execute(f"ALTER TABLE {build} RENAME TO {table}")
    for name, _ in constraints:
        cursor.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {name}{BUILD_SUFFIX} TO {name}")
    for name, _ in indexes:
        cursor.execute(f"ALTER INDEX {name}{BUILD_SUFFIX} RENAME TO {name}")
    for definition in triggers:  # named after the table, which now has its name again
        cursor.execute(definition)
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    cursor.execute(f"ANALYZE {table}")


def _table_definition(cursor: Any, table: str) -> tuple[list[Any], list[Any]]:
    """(plain indexes as (name, CREATE INDEX ...), constraints other than CHECK as
    (name, definition)); foreign keys last, so they find their keys."""
    cursor.execute(
        """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f', 'x')
        ORDER BY contype = 'f', conname
        """,
        [table],
    )
    constraints = list(cursor.fetchall())
    cursor.execute(
        """
        SELECT indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename = %s
          AND indexname NOT IN (SELECT conname FROM pg_constraint
                                WHERE conrelid = %s::regclass)
        ORDER BY indexname
        """,
        [table, table],
    )
    return list(cursor.fetchall()), constraints

"""The SQL that keeps `WorkTitleSearch` current: triggers on works_work, and a fill.

Statement-level triggers with transition tables (as bzpeer.pagecache.triggers): the
importer writes many works per statement, and each statement then costs one set-based
write here, in the same transaction. A work has a row while it is visible (not hidden; a
merged work is hidden too); an UPDATE rewrites the rows of works whose searched columns
changed, so a re-import of the same data writes nothing. A change of what is stored here
comes with a migration re-running `install_sql()` (and `FILL_SQL` when existing rows
must change).
"""

from __future__ import annotations

from django.db import connection, transaction

from bzpeer.textsearch import TEXT_CONFIG

TABLE = "works_worktitlesearch"

# The stored row of a work `n` (a works_work row or transition row).
COLUMNS = "work_id, document, cited_by_count, type, publication_year"
VALUES = (
    f"n.id, to_tsvector('{TEXT_CONFIG}'::regconfig, COALESCE(n.title, '')),"
    " n.cited_by_count, n.type, n.publication_year"
)
# The columns of works_work the row is made of.
SEARCHED = "(n.title, n.is_hidden, n.cited_by_count, n.type, n.publication_year)"
SEARCHED_OLD = SEARCHED.replace("n.", "o.")

UPSERT = f"""
  INSERT INTO {TABLE} AS s ({COLUMNS})
  SELECT {VALUES} FROM {{rows}} n WHERE NOT n.is_hidden
  -- One lock order for every writer, so two bulk statements cannot deadlock here.
  ORDER BY n.id
  ON CONFLICT (work_id) DO UPDATE
    SET document = EXCLUDED.document, cited_by_count = EXCLUDED.cited_by_count,
        type = EXCLUDED.type, publication_year = EXCLUDED.publication_year
"""

FUNCTIONS = {
    "INSERT": ("NEW TABLE AS new_rows", UPSERT.format(rows="new_rows") + ";"),
    "UPDATE": (
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        f"""
  WITH changed AS MATERIALIZED (
    SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE {SEARCHED} IS DISTINCT FROM {SEARCHED_OLD}
  ),
  gone AS (
    DELETE FROM {TABLE} s USING changed n WHERE s.work_id = n.id AND n.is_hidden
  )
  {UPSERT.format(rows="changed").strip()};""",
    ),
    "DELETE": (
        "OLD TABLE AS old_rows",
        f"  DELETE FROM {TABLE} s USING old_rows o WHERE s.work_id = o.id;",
    ),
}

# Transition tables have no index and no statistics: hash and merge joins stay allowed
# whatever the statement that fired the trigger turned off.
PLANNER_SETTINGS = "SET enable_hashjoin = on SET enable_mergejoin = on"


def install_sql() -> list[str]:
    statements = []
    for event, (referencing, body) in FUNCTIONS.items():
        name = f"works_title_search_{event.lower()}"
        statements.append(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
            f"{PLANNER_SETTINGS} AS $$\nBEGIN\n{body}\n  RETURN NULL;\nEND $$;"
        )
        statements.append(
            f"DROP TRIGGER IF EXISTS {name} ON works_work;\n"
            f"CREATE TRIGGER {name} AFTER {event} ON works_work REFERENCING {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {name}();"
        )
    return statements


def uninstall_sql() -> list[str]:
    statements = []
    for event in FUNCTIONS:
        name = f"works_title_search_{event.lower()}"
        statements.append(f"DROP TRIGGER IF EXISTS {name} ON works_work;")
        statements.append(f"DROP FUNCTION IF EXISTS {name}();")
    return statements


# Every visible work's row, set-based (one statement, whatever the corpus): the migration
# that creates the table, and a load that ran with triggers off. Written most cited first:
# within a prior tier, search takes the first matches the index finds in the table's order
# (bzpeer.search.queries), so in a table filled in one go those are the tier's most cited.
# Rows written later (new works, new titles or counts) go where there is room.
FILL_SQL = f"""
INSERT INTO {TABLE} AS s ({COLUMNS})
SELECT {VALUES} FROM works_work n WHERE NOT n.is_hidden
ORDER BY n.cited_by_count DESC NULLS LAST, n.id
ON CONFLICT (work_id) DO UPDATE
  SET document = EXCLUDED.document, cited_by_count = EXCLUDED.cited_by_count,
      type = EXCLUDED.type, publication_year = EXCLUDED.publication_year
"""


def fill() -> None:
    """Write every visible work's row (after a load with triggers off); hidden works'
    rows are dropped."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {TABLE} s USING works_work w WHERE w.id = s.work_id AND w.is_hidden"
        )
        cursor.execute(FILL_SQL)

"""The SQL that keeps content versions right: which table moves which page.

Why triggers in Postgres rather than a bump in each service: the rows a page shows are
written by the importer (set-based SQL), curation services, the admin, owner tools and
tasks, and by anyone with a shell. A trigger runs for all of them, inside the writing
transaction, so the new version becomes visible exactly when the change does (a reader
never sees new data under an old key that is then kept).

Why statement-level triggers with transition tables rather than row-level ones: the
importer writes hundreds of thousands of rows per statement; a row trigger would run an
upsert per row, a statement trigger runs one set-based upsert per statement, deduplicated
(one version row per record touched, however many of its rows changed). Measured on a
20,000-work database: updating every work took 1.7 s more with these triggers (each work
page and, through authorships, each author's profile bumped), 22 s more with the same
bumps as row-level triggers. An UPDATE that changes nothing (a re-import of the same data)
bumps nothing: changed rows are found by comparing the old and new images.

Each entry names, for one table, the pages (kind + id) that show its rows. `{rows}` is the
transition relation (new rows, old rows, or both for an UPDATE, changed rows only).
"""

from __future__ import annotations

# As many first authors as a works-list item names (claims.listing.WORK_LIST_AUTHORS; the
# toolkit cannot import it). A change there must come with a migration re-running
# install_sql().
WORK_LIST_AUTHORS = 3

# How a work page shows one of its authors changed (n: new image, o: old): the name, or
# whether the record is public (hidden, or merged into another): only a public one is linked.
AUTHOR_SHOWN_CHANGED = (
    "(n.display_name IS DISTINCT FROM o.display_name"
    " OR (n.hidden_at IS NULL) IS DISTINCT FROM (o.hidden_at IS NULL)"
    " OR n.merged_into_id IS DISTINCT FROM o.merged_into_id)"
)

# Pages: R = researcher profile (its works list, chart, topics, header, stats),
#        W = work page (its authors, their institutions, topics, venue).
CHILD_TABLES: dict[str, list[tuple[str, str]]] = {
    "works_authorship": [
        ("R", "SELECT researcher_id FROM {rows}"),
        ("W", "SELECT work_id FROM {rows}"),
    ],
    "works_authorship_institutions": [
        (
            "W",
            "SELECT a.work_id FROM works_authorship a"
            " WHERE a.id IN (SELECT authorship_id FROM {rows})",
        ),
    ],
    "works_work_topics": [("W", "SELECT work_id FROM {rows}")],
    "profiles_researchertopic": [("R", "SELECT researcher_id FROM {rows}")],
    "profiles_follow": [("R", "SELECT researcher_id FROM {rows}")],
    "claims_claim": [("R", "SELECT researcher_id FROM {rows}")],
    "claims_notmereport": [("R", "SELECT researcher_id FROM {rows}")],
}

# Tables whose own row is (part of) a page: UPDATE only (an inserted record has no cached
# page yet; a deleted one answers 404, and its child rows go first and bump their pages).
# `{changed}` is the set of changed rows (new image), `{old}` their old image.
ROW_TABLES: dict[str, list[tuple[str, str]]] = {
    "profiles_researcher": [
        ("R", "SELECT id FROM {changed} c"),
        # Work pages name their authors, linked while the record is public: only a new
        # name or a change of that (hidden or shown, merged) moves them, not counts or trust.
        # The few such records are found first and their authorships read through the
        # index: joining all changed rows to the authorships would read the whole table
        # when a statement rewrites many records' figures (metrics, counts, trust).
        (
            "W",
            "SELECT a.work_id FROM works_authorship a WHERE a.researcher_id = ANY(ARRAY("
            "SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id"
            f" WHERE {AUTHOR_SHOWN_CHANGED}))",
        ),
        # Works lists name each work's first authors (unlinked): a new name moves their
        # co-authors' profiles (only works where the renamed author is among the first).
        (
            "R",
            "SELECT a2.researcher_id FROM works_authorship a"
            " JOIN works_authorship a2 ON a2.work_id = a.work_id"
            f" WHERE a.order < {WORK_LIST_AUTHORS} AND a.researcher_id = ANY(ARRAY("
            "SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id"
            " WHERE n.display_name IS DISTINCT FROM o.display_name))",
        ),
    ],
    "works_work": [
        ("W", "SELECT id FROM {changed} c"),
        (
            "R",
            "SELECT a.researcher_id FROM works_authorship a WHERE a.work_id IN"
            " (SELECT id FROM {changed} c)",
        ),
    ],
    "works_topic": [
        (
            "R",
            "SELECT rt.researcher_id FROM profiles_researchertopic rt"
            " WHERE rt.topic_id IN (SELECT id FROM {changed} c)",
        ),
        (
            "W",
            "SELECT wt.work_id FROM works_work_topics wt"
            " WHERE wt.topic_id IN (SELECT id FROM {changed} c)",
        ),
    ],
    "works_institution": [
        (
            "R",
            "SELECT r.id FROM profiles_researcher r"
            " WHERE r.last_known_institution_id IN (SELECT id FROM {changed} c)",
        ),
        (
            "W",
            "SELECT a.work_id FROM works_authorship a JOIN works_authorship_institutions ai"
            " ON ai.authorship_id = a.id WHERE ai.institution_id IN (SELECT id FROM {changed} c)",
        ),
    ],
    "works_source": [
        ("W", "SELECT w.id FROM works_work w WHERE w.venue_id IN (SELECT id FROM {changed} c)"),
        (
            "R",
            "SELECT a.researcher_id FROM works_authorship a JOIN works_work w ON w.id = a.work_id"
            " WHERE w.venue_id IN (SELECT id FROM {changed} c)",
        ),
    ],
}

# The setting a bulk writer turns on (SET LOCAL) to collect its bumps in a temporary table
# and write them once, right before its transaction commits (see defer_bumps in
# bzpeer/pagecache/bumps.py). Two importer processes name the same prolific authors in
# every batch: bumped statement by statement, each batch held those version rows locked
# from its first authorship write to its commit, and the other process waited that long.
DEFER_SETTING = "pagecache.defer_bumps"
DEFERRED_TABLE = "pagecache_deferred_bumps"

BUMP_FUNCTION = f"""
CREATE OR REPLACE FUNCTION pagecache_bump(p_kind text, p_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('{DEFER_SETTING}', true) = 'on' THEN
    INSERT INTO pg_temp.{DEFERRED_TABLE} (kind, object_id)
    SELECT p_kind, id FROM unnest(p_ids) AS id WHERE id IS NOT NULL;
    RETURN;
  END IF;
  INSERT INTO pagecache_contentversion AS v (kind, object_id, version, changed_at)
  SELECT p_kind, s.id, nextval('pagecache_version_seq'), date_trunc('second', clock_timestamp())
  FROM (SELECT DISTINCT id FROM unnest(p_ids) AS id WHERE id IS NOT NULL) s
  -- One lock order for every writer, so two bulk statements cannot deadlock here.
  ORDER BY s.id
  ON CONFLICT (kind, object_id) DO UPDATE
    SET version = EXCLUDED.version,
        changed_at = greatest(EXCLUDED.changed_at, v.changed_at + interval '1 second');
END $$;
"""

# Writes the collected bumps (each record once, in (kind, id) order) and stops collecting.
FLUSH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION pagecache_flush_deferred_bumps() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('{DEFER_SETTING}', 'off', true);
  INSERT INTO pagecache_contentversion AS v (kind, object_id, version, changed_at)
  SELECT s.kind, s.object_id, nextval('pagecache_version_seq'),
         date_trunc('second', clock_timestamp())
  FROM (SELECT DISTINCT kind, object_id FROM pg_temp.{DEFERRED_TABLE}) s
  ORDER BY s.kind, s.object_id
  ON CONFLICT (kind, object_id) DO UPDATE
    SET version = EXCLUDED.version,
        changed_at = greatest(EXCLUDED.changed_at, v.changed_at + interval '1 second');
  DELETE FROM pg_temp.{DEFERRED_TABLE};
END $$;
"""


def bump_sql(kind: str, ids_query: str) -> str:
    """A statement bumping the pages of `kind` (R, W) whose ids `ids_query` selects: for a
    write that fires no trigger (a derived table rebuilt into a copy and swapped in)."""
    return f"SELECT pagecache_bump('{kind}', ARRAY({ids_query}))"


def _bumps(entries: list[tuple[str, str]], **relations: str) -> str:
    return "\n".join(
        f"  PERFORM pagecache_bump('{kind}', ARRAY({query.format(**relations)}));"
        for kind, query in entries
    )


# A trigger's statements join the transition tables (no index, no statistics) with each
# other and with real tables: they are planned with hash and merge joins allowed whatever
# the statement that fired them turned off (the derived-data refresh turns them off for its
# own index-driven plans; nested loops over two transition tables are quadratic).
PLANNER_SETTINGS = "SET enable_hashjoin = on SET enable_mergejoin = on"


def _function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
        f"{PLANNER_SETTINGS} AS $$\n"
        f"BEGIN\n{body}\n  RETURN NULL;\nEND $$;"
    )


def _trigger(table: str, event: str, referencing: str, function: str) -> str:
    name = f"pagecache_{table}_{event.lower()}"
    return (
        f"DROP TRIGGER IF EXISTS {name} ON {table};\n"
        f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
    )


# Rows of an UPDATE that changed (a whole-row comparison of the two images).
CHANGED = "(SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n IS DISTINCT FROM o)"

# Columns no researcher or work page shows: a change of only these moves no page. The
# researcher counts of institutions and topics are read by the index, search and home
# pages (not cached here); the derived-data refresh rewrites them after every import, and
# each such rewrite would otherwise bump every work page naming the institution or topic.
UNSHOWN_COLUMNS: dict[str, tuple[str, ...]] = {
    "works_institution": ("researchers_count",),
    "works_topic": ("researchers_count",),
}


def _changed(table: str) -> str:
    unshown = UNSHOWN_COLUMNS.get(table)
    if not unshown:
        return CHANGED
    drop = "ARRAY[" + ", ".join(f"'{column}'" for column in unshown) + "]"
    return (
        "(SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id"
        f" WHERE to_jsonb(n) - {drop} IS DISTINCT FROM to_jsonb(o) - {drop})"
    )


CHANGED_OLD = (
    "(SELECT o.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n IS DISTINCT FROM o)"
)


def install_sql() -> list[str]:
    statements = [BUMP_FUNCTION, FLUSH_FUNCTION]
    for table, entries in CHILD_TABLES.items():
        for event, referencing, rows in (
            ("INSERT", "NEW TABLE AS new_rows", "new_rows"),
            ("DELETE", "OLD TABLE AS old_rows", "old_rows"),
            (
                "UPDATE",
                "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                f"(SELECT * FROM {CHANGED} c UNION ALL SELECT * FROM {CHANGED_OLD} d) x",
            ),
        ):
            function = f"pagecache_{table}_{event.lower()}"
            statements.append(_function(function, _bumps(entries, rows=rows)))
            statements.append(_trigger(table, event, referencing, function))
    for table, entries in ROW_TABLES.items():
        function = f"pagecache_{table}_update"
        body = _bumps(entries, changed=_changed(table), old="old_rows")
        statements.append(_function(function, body))
        statements.append(
            _trigger(table, "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", function)
        )
    return statements


def uninstall_sql() -> list[str]:
    statements = []
    for table in CHILD_TABLES:
        for event in ("insert", "delete", "update"):
            statements.append(f"DROP TRIGGER IF EXISTS pagecache_{table}_{event} ON {table};")
            statements.append(f"DROP FUNCTION IF EXISTS pagecache_{table}_{event}();")
    for table in ROW_TABLES:
        statements.append(f"DROP TRIGGER IF EXISTS pagecache_{table}_update ON {table};")
        statements.append(f"DROP FUNCTION IF EXISTS pagecache_{table}_update();")
    statements.append("DROP FUNCTION IF EXISTS pagecache_flush_deferred_bumps();")
    statements.append("DROP FUNCTION IF EXISTS pagecache_bump(text, bigint[]);")
    return statements


# TRUNCATE empties a table without row images (and RESTART IDENTITY hands the same ids out
# again): every cached page may be wrong, so the database's epoch, part of every key,
# changes, and nothing cached before is used again.
ROTATE_EPOCH_FUNCTION = """
CREATE OR REPLACE FUNCTION pagecache_rotate_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE pagecache_epoch SET value = md5(random()::text || clock_timestamp()::text);
  RETURN NULL;
END $$;
"""


def truncate_sql() -> list[str]:
    statements = [ROTATE_EPOCH_FUNCTION]
    for table in [*CHILD_TABLES, *ROW_TABLES]:
        name = f"pagecache_{table}_truncate"
        statements.append(
            f"DROP TRIGGER IF EXISTS {name} ON {table};\n"
            f"CREATE TRIGGER {name} AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION pagecache_rotate_epoch();"
        )
    return statements


def truncate_uninstall_sql() -> list[str]:
    statements = [
        f"DROP TRIGGER IF EXISTS pagecache_{table}_truncate ON {table};"
        for table in [*CHILD_TABLES, *ROW_TABLES]
    ]
    return [*statements, "DROP FUNCTION IF EXISTS pagecache_rotate_epoch();"]

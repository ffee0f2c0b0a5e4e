"""The derived data researcher search reads, and its refresh (writes).

1. `ResearcherInstitution`: every institution a researcher is linked to by the data, their
   last known institution and each institution named by the authorships their profile
   lists (claims.listing: not hidden, not reported "not me"), with how many works. None
   for a record the public may not see (merged or hidden) or whose affiliation its subject
   hid: searching or filtering by an institution never finds them.
2. `ResearcherSearch`: one search document per public researcher (not merged, not hidden;
   without institutions when the affiliation is hidden): the display name
   (weight A), alternative names (B), institution names (C) and their top topics (D), in
   the unaccenting `bzpeer_names` configuration; the folded names for trigram search; the
   works count, the ranking prior. The words of those names join `SearchWord`, the
   vocabulary near spellings of a typed word are looked up in.
3. `researchers_count` of the institutions and topics those researchers touch (the index
   pages and the home page sort by it, without a COUNT per page view).

`refresh_search_documents` is set-based (a few statements per chunk of ids, whatever the
number of researchers); bzpeer.curation.derived.refresh_derived_data calls it, so imports,
merges, splits, claims and admin edits keep the documents current, and the hiding services
(bzpeer.curation) call it directly. A merged duplicate loses its rows: only its survivor is
found; a hidden record loses them until it is shown again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import connection, transaction

from bzpeer.tableswap import rebuilt_table
from bzpeer.textsearch import NAMES_CONFIG
from bzpeer.utils import chunked
from claims import listing
from profiles.models import (
    Researcher,
    ResearcherInstitution,
    ResearcherSearch,
    ResearcherTopic,
    SearchWord,
    visible_sql,
)
from works.models import Authorship, Institution, Topic, Work
from works.reading import authorships_in_work_order_sql

TOPICS_IN_DOCUMENT = 10
INSTITUTIONS_IN_DOCUMENT = 10


def _tables() -> dict[str, str]:
    return {
        "researcher": Researcher._meta.db_table,
        "search": ResearcherSearch._meta.db_table,
        "word": SearchWord._meta.db_table,
        "member": ResearcherInstitution._meta.db_table,
        "rtopic": ResearcherTopic._meta.db_table,
        "authorship": Authorship._meta.db_table,
        "affiliation": Authorship.institutions.through._meta.db_table,
        "work": Work._meta.db_table,
        "institution": Institution._meta.db_table,
        "topic": Topic._meta.db_table,
    }


def refresh_search_documents(
    *,
    researcher_ids: Iterable[int],
    topic_ids: Iterable[int] = (),
    recount_topics: bool = True,
) -> None:
    """Rebuild the membership rows and search documents of these researchers, then the
    researcher counts of every institution and topic they are (or were) linked to.

    Institutions' counts move with the membership rows written here. Per-topic rows are
    kept by the counts refresh, which runs first and deletes the rows of topics a
    researcher left: pass those topics (read before it) as `topic_ids`, and each topic
    they are or were linked to is recounted in full (what a change that hid, showed or
    merged someone needs). `recount_topics=False` when the counts refresh already moved
    the topics' counts with the rows it wrote (`move_topic_counts`, an import's refresh):
    a recount reads every researcher of a topic, which grows with the corpus, not with
    the change."""
    t = _tables()
    listed = listing.listed_sql("a", "w")
    # A record's institutions are public while the record is and its affiliation is shown.
    shown = f"{visible_sql('r')} AND NOT r.affiliation_hidden"
    # Authorship ids follow their works' order, so their institutions are read in order too.
    mine = authorships_in_work_order_sql(
        "a.researcher_id = ANY(%(ids)s)", columns="a.id, a.researcher_id, a.work_id"
    )
    topics = set(topic_ids)
    for chunk in chunked(sorted(set(researcher_ids))):
        members_moved: Counter[int] = Counter()  # per institution: rows inserted - deleted
        with transaction.atomic(), connection.cursor() as cursor:
            # The rows as they should be go into temporary tables, and only the difference
            # is written: a change moves a few of the touched researchers' rows, and
            # rewriting all of them (GIN entries of every document included) cost most of
            # the refresh. An institution's count is its number of membership rows, so it
            # moves by the rows deleted and inserted here (a row whose works count moved
            # leaves it as it is): recounting every member of each institution a touched
            # researcher is linked to read hundreds of rows for each.
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS search_member_new (LIKE {t['member']}, "
                "PRIMARY KEY (researcher_id, institution_id)) "
                "ON COMMIT DELETE ROWS"
            )
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS search_document_new (LIKE {t['search']}, "
                "PRIMARY KEY (researcher_id)) "
                "ON COMMIT DELETE ROWS"
            )
            cursor.execute("TRUNCATE search_member_new, search_document_new")
            cursor.execute(
                f"""
                WITH a AS MATERIALIZED ({mine})
                INSERT INTO search_member_new (id, researcher_id, institution_id, works_count,
                                               is_last_known)
                SELECT 0, researcher_id, institution_id, SUM(works), BOOL_OR(last_known)
                FROM (
                    SELECT a.researcher_id, ai.institution_id,
                           COUNT(*) AS works, false AS last_known
                    FROM a
                    JOIN {t["affiliation"]} ai ON ai.authorship_id = a.id
                    JOIN {t["work"]} w ON w.id = a.work_id
                    JOIN {t["researcher"]} r ON r.id = a.researcher_id AND {shown}
                    WHERE {listed}
                    GROUP BY a.researcher_id, ai.institution_id
                    UNION ALL
                    SELECT r.id, r.last_known_institution_id, 0, true
                    FROM {t["researcher"]} r
                    WHERE r.id = ANY(%(ids)s) AND {shown}
                      AND r.last_known_institution_id IS NOT NULL
                ) linked
                GROUP BY researcher_id, institution_id
                """,
                {"ids": chunk},
            )
            cursor.execute("ANALYZE search_member_new")
            cursor.execute(
                f"""
                DELETE FROM {t["member"]} m WHERE m.researcher_id = ANY(%s)
                AND NOT EXISTS (SELECT 1 FROM search_member_new n
                                WHERE (n.researcher_id, n.institution_id)
                                    = (m.researcher_id, m.institution_id))
                RETURNING m.institution_id
                """,
                [chunk],
            )
            for (institution_id,) in cursor.fetchall():
                members_moved[institution_id] -= 1
            cursor.execute(
                f"""
                INSERT INTO {t["member"]} AS m (researcher_id, institution_id, works_count,
                                                is_last_known)
                SELECT researcher_id, institution_id, works_count, is_last_known
                FROM search_member_new ORDER BY researcher_id, institution_id
                ON CONFLICT (researcher_id, institution_id) DO UPDATE
                SET works_count = EXCLUDED.works_count, is_last_known = EXCLUDED.is_last_known
                WHERE (m.works_count, m.is_last_known)
                    IS DISTINCT FROM (EXCLUDED.works_count, EXCLUDED.is_last_known)
                RETURNING m.institution_id, m.xmax = 0
                """
            )
            for institution_id, inserted in cursor.fetchall():
                members_moved[institution_id] += inserted
            cursor.execute(
                f"""
                INSERT INTO search_document_new (researcher_id, document, names, works_count)
                {_document_select(f"r.id = ANY(%(ids)s) AND {visible_sql('r')}", full=False)}
                """,
                {"ids": chunk, **_document_params()},
            )
            cursor.execute("ANALYZE search_document_new")
            cursor.execute(
                f"""
                DELETE FROM {t["search"]} s WHERE s.researcher_id = ANY(%s)
                AND NOT EXISTS (SELECT 1 FROM search_document_new n
                                WHERE n.researcher_id = s.researcher_id)
                """,
                [chunk],
            )
            cursor.execute(
                f"""
                INSERT INTO {t["search"]} AS s (researcher_id, document, names, works_count)
                SELECT researcher_id, document, names, works_count FROM search_document_new
                ORDER BY researcher_id
                ON CONFLICT (researcher_id) DO UPDATE
                SET document = EXCLUDED.document, names = EXCLUDED.names,
                    works_count = EXCLUDED.works_count
                WHERE (s.document, s.names, s.works_count)
                    IS DISTINCT FROM (EXCLUDED.document, EXCLUDED.names, EXCLUDED.works_count)
                """
            )
            # The words of their names join the vocabulary near spellings are looked up
            # in (a word with a quote or a backslash is left out: it could not be written
            # into a query as it is, and names hardly have one).
            cursor.execute(
                f"""
                INSERT INTO {t["word"]} (word)
                SELECT DISTINCT w.word
                FROM search_document_new s,
                     unnest(tsvector_to_array(to_tsvector(%(config)s::regconfig, s.names)))
                       AS w(word)
                WHERE strpos(w.word, chr(39)) = 0 AND strpos(w.word, chr(92)) = 0
                ON CONFLICT (word) DO NOTHING
                """,
                {"ids": chunk, "config": NAMES_CONFIG},
            )
            if recount_topics:
                cursor.execute(
                    f"SELECT DISTINCT topic_id FROM {t['rtopic']} WHERE researcher_id = ANY(%s)",
                    [chunk],
                )
                topics |= {row[0] for row in cursor.fetchall()}
            # In the transaction that wrote the rows: a refresh killed after it commits
            # has nothing left to move, and one killed before moved nothing.
            _move_counts(t["institution"], members_moved)
    if recount_topics:
        # Once for all the chunks: a count is one indexed scan per topic.
        refresh_topic_counts(topic_ids=topics)


def _document_params() -> dict[str, str | int]:
    return {"config": NAMES_CONFIG, "inst": INSTITUTIONS_IN_DOCUMENT, "topics": TOPICS_IN_DOCUMENT}


def _document_select(where: str, *, full: bool) -> str:
    """The search documents of the researchers `where` selects (alias r), from their
    membership and per-topic rows: their top institutions (last known first, then by works)
    and top topics (by works), ties broken by id so every path writes the same document.
    `full`: every researcher at once, their top rows ranked in one pass over each table (a
    lookup per researcher costs more there); otherwise one index lookup per researcher."""
    t = _tables()
    if full:
        top_institutions = f"""
            LEFT JOIN (
                SELECT mi.researcher_id, string_agg(i.display_name, ' ' ORDER BY mi.rank) AS names
                FROM (
                    SELECT m.researcher_id, m.institution_id, ROW_NUMBER() OVER (
                        PARTITION BY m.researcher_id
                        ORDER BY m.is_last_known DESC, m.works_count DESC, m.institution_id
                    ) AS rank FROM {t["member"]} m
                ) mi JOIN {t["institution"]} i ON i.id = mi.institution_id
                WHERE mi.rank <= %(inst)s GROUP BY mi.researcher_id
            ) inst ON inst.researcher_id = r.id"""
        top_topics = f"""
            LEFT JOIN (
                SELECT rt.researcher_id, string_agg(tp.display_name, ' ' ORDER BY rt.rank) AS names
                FROM (
                    SELECT x.researcher_id, x.topic_id, ROW_NUMBER() OVER (
                        PARTITION BY x.researcher_id ORDER BY x.works_count DESC, x.topic_id
                    ) AS rank FROM {t["rtopic"]} x
                ) rt JOIN {t["topic"]} tp ON tp.id = rt.topic_id
                WHERE rt.rank <= %(topics)s GROUP BY rt.researcher_id
            ) top ON top.researcher_id = r.id"""
    else:
        top_institutions = f"""
            LEFT JOIN LATERAL (
                SELECT string_agg(i.display_name, ' ' ORDER BY mi.rank) AS names FROM (
                    SELECT institution_id, ROW_NUMBER() OVER (
                        ORDER BY m.is_last_known DESC, m.works_count DESC, m.institution_id
                    ) AS rank
                    FROM {t["member"]} m WHERE m.researcher_id = r.id
                    ORDER BY m.is_last_known DESC, m.works_count DESC, m.institution_id
                    LIMIT %(inst)s
                ) mi JOIN {t["institution"]} i ON i.id = mi.institution_id
            ) inst ON true"""
        top_topics = f"""
            LEFT JOIN LATERAL (
                SELECT string_agg(tp.display_name, ' ' ORDER BY x.rank) AS names FROM (
                    SELECT topic_id, ROW_NUMBER() OVER (
                        ORDER BY rt.works_count DESC, rt.topic_id
                    ) AS rank
                    FROM {t["rtopic"]} rt WHERE rt.researcher_id = r.id
                    ORDER BY rt.works_count DESC, rt.topic_id LIMIT %(topics)s
                ) x JOIN {t["topic"]} tp ON tp.id = x.topic_id
            ) top ON true"""
    return f"""
        SELECT r.id,
          setweight(to_tsvector(%(config)s::regconfig, r.display_name), 'A')
          || setweight(to_tsvector(%(config)s::regconfig,
                       array_to_string(r.alternative_names, ' ')), 'B')
          || setweight(to_tsvector(%(config)s::regconfig, COALESCE(inst.names, '')), 'C')
          || setweight(to_tsvector(%(config)s::regconfig, COALESCE(top.names, '')), 'D'),
          bzpeer_fold(concat_ws(' ', r.display_name, array_to_string(r.alternative_names, ' '))),
          r.works_count
        FROM {t["researcher"]} r {top_institutions} {top_topics}
        WHERE {where}
    """


def move_topic_counts(deltas: dict[int, int]) -> None:
    """Move topics' `researchers_count` by `deltas` (per topic: per-topic rows of public
    researchers added, less those removed)."""
    _move_counts(_tables()["topic"], deltas)


def _move_counts(table: str, deltas: dict[int, int]) -> None:
    """Move `researchers_count` of these institutions or topics (`table`) by `deltas`."""
    moved = sorted((pk, delta) for pk, delta in deltas.items() if delta)
    if not moved:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} x
            SET researchers_count = GREATEST(x.researchers_count + d.delta, 0)
            FROM unnest(%s::bigint[], %s::integer[]) AS d(id, delta)
            WHERE x.id = d.id
            """,
            [[pk for pk, _ in moved], [delta for _, delta in moved]],
        )


def refresh_topic_counts(*, topic_ids: Iterable[int]) -> None:
    """Recount `researchers_count` of these topics (merged and hidden researchers left
    out)."""
    t = _tables()
    topic_ids = sorted(set(topic_ids))
    if not topic_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {t["topic"]} tp SET researchers_count = COALESCE(c.n, 0)
            FROM unnest(%(ids)s::bigint[]) AS x(id)
            LEFT JOIN (SELECT rt.topic_id, COUNT(*) AS n FROM {t["rtopic"]} rt
                       JOIN {t["researcher"]} r ON r.id = rt.researcher_id
                            AND {visible_sql("r")}
                       WHERE rt.topic_id = ANY(%(ids)s) GROUP BY rt.topic_id) c
                   ON c.topic_id = x.id
            WHERE tp.id = x.id AND tp.researchers_count IS DISTINCT FROM COALESCE(c.n, 0)
            """,
            {"ids": topic_ids},
        )


def refresh_all_search_documents(*, memberships: bool = True) -> int:
    """Every researcher (a first import, a new deployment, the benchmark corpus): the
    membership rows (`refresh_all_memberships`, unless `memberships` is False: the caller
    ran it) and the search documents rebuilt set-based, each into a fresh table swapped in
    (`bzpeer.tableswap`), then every topic's count. One pass over each source table
    whatever the number of researchers: a chunked refresh repeats its joins per chunk,
    which grows faster than the corpus. Returns how many documents."""
    if memberships:
        refresh_all_memberships()
    t = _tables()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {t['researcher']})")
        if not cursor.fetchone()[0]:
            return 0  # nothing to index (a migration on an empty database runs this)
        # A few large hash aggregates and index builds: give them memory.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        with rebuilt_table(cursor, t["search"]) as search:
            cursor.execute(
                f"""
                INSERT INTO {search} (researcher_id, document, names, works_count)
                {_document_select(f"{visible_sql('r')}", full=True)}
                """,
                _document_params(),
            )
            documents = cursor.rowcount
            cursor.execute(
                f"""
                INSERT INTO {t["word"]} (word)
                SELECT DISTINCT w.word
                FROM {search} s,
                     unnest(tsvector_to_array(to_tsvector(%(config)s::regconfig, s.names)))
                       AS w(word)
                WHERE strpos(w.word, chr(39)) = 0 AND strpos(w.word, chr(92)) = 0
                ON CONFLICT (word) DO NOTHING
                """,
                {"config": NAMES_CONFIG},
            )
        cursor.execute(
            f"""
            UPDATE {t["topic"]} tp SET researchers_count = COALESCE(c.n, 0)
            FROM {t["topic"]} tp2
            LEFT JOIN (SELECT rt.topic_id, COUNT(*) AS n FROM {t["rtopic"]} rt
                       JOIN {t["researcher"]} r ON r.id = rt.researcher_id
                            AND {visible_sql("r")}
                       GROUP BY rt.topic_id) c ON c.topic_id = tp2.id
            WHERE tp.id = tp2.id AND tp.researchers_count IS DISTINCT FROM COALESCE(c.n, 0)
            """
        )
    return documents


def refresh_all_memberships() -> None:
    """Every researcher's institution rows (from the listed authorships' affiliations and
    the last known institution), rebuilt set-based into a fresh table swapped in, then
    every institution's researcher count; in a transaction of its own."""
    t = _tables()
    listed = listing.listed_sql("a", "w")
    shown = f"{visible_sql('r')} AND NOT r.affiliation_hidden"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {t['researcher']})")
        if not cursor.fetchone()[0]:
            return
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        with rebuilt_table(cursor, t["member"]) as member:
            # An authorship names an institution once and a researcher once per work, so a
            # count of rows is the count of distinct works.
            cursor.execute(
                f"""
                INSERT INTO {member} (researcher_id, institution_id, works_count, is_last_known)
                SELECT researcher_id, institution_id, SUM(works), BOOL_OR(last_known)
                FROM (
                    SELECT a.researcher_id, ai.institution_id, COUNT(*) AS works,
                           false AS last_known
                    FROM {t["authorship"]} a
                    JOIN {t["affiliation"]} ai ON ai.authorship_id = a.id
                    JOIN {t["work"]} w ON w.id = a.work_id
                    JOIN {t["researcher"]} r ON r.id = a.researcher_id AND {shown}
                    WHERE {listed}
                    GROUP BY a.researcher_id, ai.institution_id
                    UNION ALL
                    SELECT r.id, r.last_known_institution_id, 0, true
                    FROM {t["researcher"]} r
                    WHERE {shown} AND r.last_known_institution_id IS NOT NULL
                ) linked
                GROUP BY researcher_id, institution_id
                -- In key order: a researcher's rows share a page for the next refresh.
                ORDER BY researcher_id, institution_id
                """
            )
        cursor.execute(
            f"""
            UPDATE {t["institution"]} i SET researchers_count = COALESCE(c.n, 0)
            FROM {t["institution"]} i2
            LEFT JOIN (SELECT institution_id, COUNT(*) AS n FROM {t["member"]}
                       GROUP BY institution_id) c ON c.institution_id = i2.id
            WHERE i.id = i2.id AND i.researchers_count IS DISTINCT FROM COALESCE(c.n, 0)
            """
        )

"""Load the corpus files into Postgres with COPY (psycopg's `cursor.copy`).

Each table gets the columns the generator wrote plus every other column of its model at
that field's default, so the loader follows the models as they change (a new NOT NULL
column without a default stops it with a clear message).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from django.db import connection, models
from django.utils import timezone

from profiles.models import Researcher, ResearcherTopic
from works import title_search
from works.models import Authorship, Institution, Source, Topic, Work

COPY_CHUNK = 1 << 20
# (file, model, the columns the file holds, in order)
TABLES: list[tuple[str, type[models.Model], list[str]]] = [
    ("institutions", Institution, ["id", "source_id", "display_name", "country_code"]),
    ("venues", Source, ["id", "source_id", "display_name"]),
    ("topics", Topic, ["id", "source_id", "display_name"]),
    (
        "researchers",
        Researcher,
        ["id", "source_id", "display_name", "last_known_institution_id", "orcid"],
    ),
    (
        "works",
        Work,
        [
            "id",
            "source_id",
            "title",
            "publication_year",
            "venue_id",
            "cited_by_count",
            "authors_count",
            "team_size",
            "doi",
        ],
    ),
    ("authorships", Authorship, ["id", "work_id", "researcher_id", "author_position", "order"]),
    ("work_topics", Work.topics.through, ["id", "work_id", "topic_id"]),
]


def _copy_text(value: object) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict):
        value = json.dumps(value)
    elif isinstance(value, list | tuple):
        if value:
            raise ValueError("only empty array defaults are supported")
        value = "{}"
    elif isinstance(value, datetime | date):
        value = value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def default_columns(model: type[models.Model], given: list[str]) -> tuple[list[str], str]:
    """The model's other columns and their defaults as one COPY text suffix."""
    now = timezone.now()
    columns, values = [], []
    for f in model._meta.concrete_fields:
        assert f.column is not None  # a concrete field has a column
        if f.column in given:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value: object = now
        elif f.has_default():
            value = f.get_default()
        elif f.null:
            value = None
        elif isinstance(f, models.CharField | models.TextField):
            value = ""
        else:
            raise ValueError(f"{model.__name__}.{f.name}: no default to load the benchmark with")
        columns.append(f.column)
        values.append(_copy_text(value))
    return columns, "".join("\t" + v for v in values)


def copy_file(path: Path, model: type[models.Model], given: list[str]) -> int:
    extra_columns, suffix = default_columns(model, given)
    columns = ", ".join(f'"{c}"' for c in [*given, *extra_columns])
    table = model._meta.db_table
    rows = 0
    connection.ensure_connection()
    statement = f"COPY {table} ({columns}) FROM STDIN"
    with (
        connection.connection.cursor() as cursor,
        path.open() as source,
        cursor.copy(statement) as copy,
    ):
        while lines := source.readlines(COPY_CHUNK):
            rows += len(lines)
            if suffix:
                copy.write("".join(line[:-1] + suffix + "\n" for line in lines))
            else:
                copy.write("".join(lines))
    return rows


def truncate_all() -> None:
    tables = [model._meta.db_table for _, model, _ in TABLES]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def load(directory: Path) -> dict[str, int]:
    """COPY every file; foreign keys are not checked row by row (the generator's ids are
    consistent by construction), then the sequences move past the loaded ids."""
    counts = {}
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        for name, model, given in TABLES:
            counts[name] = copy_file(directory / f"{name}.tsv", model, given)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
    with connection.cursor() as cursor:
        for _, model, _ in TABLES:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )
    # What the triggers, off during the COPY, would have written.
    title_search.fill()
    return counts


def derive_counts() -> None:
    """What an import's refresh would leave: per-researcher topics and the denormalised
    works/topics counts, set-based over the whole corpus."""
    authorship = Authorship._meta.db_table
    work = Work._meta.db_table
    work_topics = Work.topics.through._meta.db_table
    researcher_topic = ResearcherTopic._meta.db_table
    researcher = Researcher._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute(
            f"""
            INSERT INTO {researcher_topic} (researcher_id, topic_id, works_count)
            SELECT a.researcher_id, wt.topic_id, COUNT(*)
            FROM {authorship} a JOIN {work_topics} wt ON wt.work_id = a.work_id
            GROUP BY a.researcher_id, wt.topic_id
            """
        )
        cursor.execute(
            f"""
            UPDATE {researcher} r SET works_count = c.works, topics_count = c.topics
            FROM (
                SELECT w.researcher_id, w.works, COALESCE(t.topics, 0) AS topics
                FROM (SELECT researcher_id, COUNT(*) AS works FROM {authorship}
                      GROUP BY researcher_id) w
                LEFT JOIN (SELECT researcher_id, COUNT(*) AS topics FROM {researcher_topic}
                           GROUP BY researcher_id) t ON t.researcher_id = w.researcher_id
            ) c
            WHERE c.researcher_id = r.id
            """
        )
        cursor.execute(f"UPDATE {researcher} SET is_stub = false, verification_level = 1")
        cursor.execute("RESET work_mem")
        for table in (researcher_topic, researcher, work, authorship, work_topics):
            cursor.execute(f"ANALYZE {table}")

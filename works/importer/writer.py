"""Write one batch of parsed records. The caller wraps each call in transaction.atomic.

Order inside a batch: full institutions, sources, topics; stubs for what records only
reference; full authors; co-author stubs; works; then each work's topic links and
authorships (with their institutions), so unchanged rows keep their ids.

Only new or different rows are written, so a re-run writes nothing and reports
"unchanged". Works and every relation are compared in Postgres, not in Python: the batch
goes through COPY into staging tables, the upsert updates a stored row only when it IS
DISTINCT FROM the incoming one, and rows no longer listed are deleted by an anti-join
against the staging table (only for works stored before the batch: a first import
deletes nothing). Institutions, sources, topics and authors, a few per batch or needing
the stored values (a claimed record's ORCID and level), are still read and compared here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone

from profiles.models import Researcher, VerificationLevel, merge_survivor_ids
from works.importer.copy import copy_into_staging, copy_into_temp, fetch, ids_for, upsert
from works.importer.normalize import OPENALEX
from works.importer.reader import Location
from works.importer.records import (
    AuthorRow,
    InstitutionRow,
    Row,
    SourceRow,
    TopicRow,
    WorkRow,
)
from works.importer.stats import ImportStats
from works.models import Authorship, Institution, Source, Topic, Work

Values = dict[str, Any]
Pending = dict[str, tuple[Location, Values]]  # source_id -> (where it came from, column values)


@dataclass(slots=True)
class BatchOutcome:
    """What one batch did; merged into the run's totals only once its transaction commits."""

    stats: ImportStats = field(default_factory=ImportStats)
    warnings: list[str] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)  # researchers whose data changed
    recount: set[int] = field(default_factory=set)  # of those, whose own rows moved
    works: set[int] = field(default_factory=set)  # works whose co-author pairs may move
    departed: set[tuple[int, int]] = field(default_factory=set)  # (work, researcher) removed
    referenced: set[int] = field(default_factory=set)  # every researcher the batch named
    referenced_works: set[int] = field(default_factory=set)  # every work the batch holds


def write_batch(items: Sequence[tuple[Location, Row]], outcome: BatchOutcome) -> None:
    _Batch(items, outcome).write()


def _institution_values(row: InstitutionRow) -> Values:
    return {
        "display_name": row.display_name,
        "ror": row.ror,
        "country_code": row.country_code,
        "type": row.type,
        "homepage_url": row.homepage_url,
    }


def _source_values(row: SourceRow) -> Values:
    return {
        "display_name": row.display_name,
        "type": row.type,
        "issn_l": row.issn_l,
        "homepage_url": row.homepage_url,
    }


def _topic_values(row: TopicRow) -> Values:
    return {"display_name": row.display_name, "kind": row.kind, "field_name": row.field_name}


def _stub_level(source_id: str, orcid: str | None) -> int:
    # DESIGN: L1 is a record backed by a source and/or an ORCID; an OpenAlex author id is one.
    if source_id.startswith(OPENALEX) or orcid:
        return VerificationLevel.L1
    return VerificationLevel.L0


class _Batch:
    def __init__(self, items: Sequence[tuple[Location, Row]], outcome: BatchOutcome) -> None:
        self.out = outcome
        self.stats = outcome.stats
        self.institutions: dict[str, tuple[Location, InstitutionRow]] = {}
        self.sources: dict[str, tuple[Location, SourceRow]] = {}
        self.topics: dict[str, tuple[Location, TopicRow]] = {}
        self.authors: dict[str, tuple[Location, AuthorRow]] = {}
        self.works: dict[str, tuple[Location, WorkRow]] = {}
        for location, row in items:
            target = self._bucket(row)
            if row.source_id in target:
                self.stats.repeated += 1
            target[row.source_id] = (location, row)
        self.ids: dict[type[models.Model], dict[str, int]] = {
            model: {} for model in (Institution, Source, Topic, Researcher, Work)
        }
        self.now = timezone.now()

    def _bucket(self, row: Row) -> dict[str, Any]:
        if isinstance(row, InstitutionRow):
            return self.institutions
        if isinstance(row, SourceRow):
            return self.sources
        if isinstance(row, TopicRow):
            return self.topics
        if isinstance(row, AuthorRow):
            return self.authors
        return self.works

    def warn(self, location: Location, message: str) -> None:
        self.out.warnings.append(f"{location}: warning: {message}")
        self.stats.warnings += 1

    # --- orchestration ---------------------------------------------------------------------

    def write(self) -> None:
        self._drop_older_copies()
        self._write_simple(Institution, self.institutions, _institution_values, "institution")
        self._write_simple(Source, self.sources, _source_values, "source")
        self._write_simple(Topic, self.topics, _topic_values, None)
        self._reference_stubs()
        self._write_authors()
        self._author_stubs()
        work_status = self._write_works()
        topics_changed = self._sync_work_topics(work_status)
        changed_works = topics_changed | self._sync_authorships(work_status, topics_changed)
        for source_id, status in work_status.items():
            if status == "unchanged" and self.ids[Work][source_id] in changed_works:
                status = "updated"  # its topics or authorships changed
            self._count("work", status)

    def _drop_older_copies(self) -> None:
        """A work or author whose stored copy has a newer updated_date is left out of the
        batch entirely (its fields, authorships, topics and references). Equal dates go
        through: an identical copy is then "unchanged"."""
        for model, rows in ((Work, self.works), (Researcher, self.authors)):
            dated = [sid for sid, (_, row) in rows.items() if row.updated_date is not None]
            if not dated:
                continue
            stored = dict(
                fetch(
                    f"SELECT source_id, openalex_updated FROM {model._meta.db_table} "
                    "WHERE source_id = ANY(%s) AND openalex_updated IS NOT NULL",
                    [dated],
                )
            )
            for source_id, when in stored.items():
                updated = rows[source_id][1].updated_date
                if updated is not None and when is not None and updated < when:
                    del rows[source_id]
                    self.stats.older += 1

    def _count(self, entity: str, status: str, n: int = 1) -> None:
        counts = self.stats.entities[entity]
        setattr(counts, status, getattr(counts, status) + n)

    # --- generic upsert ---------------------------------------------------------------------

    def _existing(
        self,
        model: type[models.Model],
        keys: Iterable[str],
        columns: list[str],
        *,
        lock: bool = False,
    ) -> dict[str, Values]:
        queryset = model._default_manager.filter(source_id__in=list(keys))
        if lock:  # a claim approved meanwhile must not be overwritten by stale values
            queryset = queryset.select_for_update()
        stamps = [name for name in _import_stamps(model) if name == "first_imported_at"]
        return {
            row["source_id"]: row
            for row in queryset.values("id", "source_id", "is_stub", *stamps, *columns)
        }

    def _upsert(
        self, model: type[models.Model], pending: Pending, existing: dict[str, Values]
    ) -> dict[str, str]:
        """Insert new rows and update changed ones (is_stub False: these are full records).
        Returns created / updated / unchanged per source_id."""
        status: dict[str, str] = {}
        to_write: list[tuple[Any, ...]] = []
        columns: list[str] = []
        stamps = _import_stamps(model)
        for source_id, (_location, values) in pending.items():
            values["is_stub"] = False
            old = existing.get(source_id)
            if old is None:
                status[source_id] = "created"
            elif any(old[column] != value for column, value in values.items()):
                status[source_id] = "updated"
            else:
                status[source_id] = "unchanged"
                self.ids[model][source_id] = old["id"]
                continue
            if "imported_at" in stamps:
                values["imported_at"] = self.now
            if "first_imported_at" in stamps:
                # A stub filled in by its own record counts as new from now on.
                first = old.get("first_imported_at") if old and not old["is_stub"] else None
                values["first_imported_at"] = first or self.now
            columns = list(values)
            to_write.append((source_id, *values.values()))
        if to_write:
            written = upsert(
                model,
                [_column(model, name) for name in ("source_id", *columns)],
                to_write,
                conflict=["source_id"],
                update=[_column(model, name) for name in columns],
                returning=["source_id", "id"],
            )
            self.ids[model].update(written)
        return status

    def _write_simple(
        self,
        model: type[models.Model],
        rows: dict[str, tuple[Location, Any]],
        to_values: Callable[[Any], Values],
        entity: str | None,
    ) -> None:
        if not rows:
            return
        pending = {sid: (loc, to_values(row)) for sid, (loc, row) in rows.items()}
        existing = self._existing(model, pending, list(next(iter(pending.values()))[1]))
        if model is Institution:
            self._claim_unique(Institution, "ror", pending, empty="", label="ROR", full=True)
        for source_id, status in self._upsert(model, pending, existing).items():
            self._count(entity or rows[source_id][1].kind, status)

    def _claim_unique(
        self,
        model: type[models.Model],
        column: str,
        pending: Pending,
        *,
        empty: Any,
        label: str,
        full: bool,
    ) -> None:
        """Keep a unique value (ORCID, DOI, ROR) on its first holder; the later record is
        stored without it, with a warning. A full record takes the value from a stub (a stub
        only repeats what some other record said about it)."""
        wanted = {values[column] for _, values in pending.values() if values[column] != empty}
        if not wanted:
            return
        stored = {
            value: {"pk": pk, "source_id": source_id, "is_stub": is_stub}
            for pk, source_id, is_stub, value in fetch(
                f"SELECT id, source_id, is_stub, {column} FROM {model._meta.db_table} "
                f"WHERE {column} = ANY(%s)",
                [list(wanted)],
            )
        }
        holders: dict[Any, str] = {}
        for source_id, (location, values) in pending.items():
            value = values[column]
            if value == empty:
                continue
            holder = stored.get(value)
            if holder is not None and holder["source_id"] != source_id:
                if full and holder["is_stub"]:
                    model._default_manager.filter(pk=holder["pk"]).update(**{column: empty})
                    stored.pop(value)
                    self.warn(
                        location,
                        f"{label} {value} moved to this record from stub {holder['source_id']}",
                    )
                else:
                    values[column] = empty
                    self.warn(
                        location,
                        f"{label} {value} already belongs to {holder['source_id']}; "
                        f"{_noun(model)} {source_id} stored without it",
                    )
                    continue
            if value in holders:
                values[column] = empty
                self.warn(
                    location,
                    f"{label} {value} already belongs to {holders[value]} (same batch); "
                    f"{_noun(model)} {source_id} stored without it",
                )
                continue
            holders[value] = source_id

    def _ensure_stubs(
        self,
        model: type[models.Model],
        refs: Pending,
        entity_of: Callable[[Values], str],
        unique: tuple[str, Any, str] | None = None,
    ) -> None:
        """Create rows for referenced records that are not stored yet; never touch stored
        ones (a stub must not overwrite a full record, or an older stub)."""
        if not refs:
            return
        known = ids_for(model, refs)
        self.ids[model].update(known)
        missing = {sid: ref for sid, ref in refs.items() if sid not in known}
        if not missing:
            return
        if unique:
            column, empty, label = unique
            self._claim_unique(model, column, missing, empty=empty, label=label, full=False)
        names = list(next(iter(missing.values()))[1])
        upsert(
            model,
            [_column(model, name) for name in ("source_id", "is_stub", *names)],
            [(sid, True, *values.values()) for sid, (_, values) in missing.items()],
            conflict=["source_id"],
            update=None,
        )
        created = ids_for(model, missing)
        if len(created) != len(missing):
            # Rolls the batch back; its records are then retried and reported one by one.
            raise RuntimeError(f"could not create {len(missing) - len(created)} stub row(s)")
        self.ids[model].update(created)
        for _, values in missing.values():
            self._count(entity_of(values), "stubs")

    # --- entities -------------------------------------------------------------------------

    def _reference_stubs(self) -> None:
        institutions: Pending = {}
        sources: Pending = {}
        topics: Pending = {}
        for location, author in self.authors.values():
            if author.last_known_institution:
                ref = author.last_known_institution
                institutions.setdefault(ref.source_id, (location, _institution_values(ref)))
        for location, work in self.works.values():
            if work.venue:
                sources.setdefault(work.venue.source_id, (location, _source_values(work.venue)))
            for topic in work.topics:
                topics.setdefault(topic.source_id, (location, _topic_values(topic)))
            for authorship in work.authorships:
                for ref in authorship.institutions:
                    institutions.setdefault(ref.source_id, (location, _institution_values(ref)))
        self._ensure_stubs(
            Institution, institutions, lambda _: "institution", unique=("ror", "", "ROR")
        )
        self._ensure_stubs(Source, sources, lambda _: "source")
        self._ensure_stubs(Topic, topics, lambda values: values["kind"])

    def _write_authors(self) -> None:
        if not self.authors:
            return
        columns = [
            "display_name",
            "alternative_names",
            "orcid",
            "last_known_institution_id",
            "verification_level",
            "source_cited_by_count",
            "source_counts_by_year",
            "source_summary_stats",
            "openalex_updated",
        ]
        existing = self._existing(Researcher, self.authors, columns, lock=True)
        pending: Pending = {}
        for source_id, (location, row) in self.authors.items():
            old = existing.get(source_id)
            old_level = old["verification_level"] if old else VerificationLevel.L0
            orcid = row.orcid
            if old and old_level == VerificationLevel.L3 and old["orcid"]:
                orcid = old["orcid"]  # proved by the owner's ORCID sign-in: it is the identity
            institution = row.last_known_institution
            pending[source_id] = (
                location,
                {
                    "display_name": row.display_name,
                    "alternative_names": row.alternative_names,
                    "orcid": orcid,
                    "last_known_institution_id": (
                        self.ids[Institution][institution.source_id] if institution else None
                    ),
                    # Never lower a claimed record (L2/L3).
                    "verification_level": max(old_level, VerificationLevel.L1),
                    "source_cited_by_count": row.cited_by_count,
                    "source_counts_by_year": row.counts_by_year,
                    "source_summary_stats": row.summary_stats,
                    "openalex_updated": row.updated_date
                    or (old["openalex_updated"] if old else None),
                },
            )
        self._claim_unique(Researcher, "orcid", pending, empty=None, label="ORCID", full=True)
        for source_id, status in self._upsert(Researcher, pending, existing).items():
            self._count("author", status)
            researcher_id = self.ids[Researcher][source_id]
            self.out.referenced.add(researcher_id)
            if status != "unchanged":
                self.out.touched.add(researcher_id)
                self.out.recount.add(researcher_id)  # names, institution: the document

    def _author_stubs(self) -> None:
        refs: Pending = {}
        for location, work in self.works.values():
            for authorship in work.authorships:
                author = authorship.author
                refs.setdefault(
                    author.source_id,
                    (
                        location,
                        {
                            "display_name": author.display_name,
                            "orcid": author.orcid,
                            "verification_level": _stub_level(author.source_id, author.orcid),
                        },
                    ),
                )
        # A new stub is touched through its new authorship (see _sync_authorships).
        self._ensure_stubs(Researcher, refs, lambda _: "author", unique=("orcid", None, "ORCID"))

    def _write_works(self) -> dict[str, str]:
        """Upsert the works; Postgres compares each with the stored row (IS DISTINCT FROM)
        and leaves an identical one alone, so no stored work is read into Python."""
        if not self.works:
            return {}
        pending: Pending = {}
        for source_id, (location, row) in self.works.items():
            pending[source_id] = (
                location,
                {
                    "doi": row.doi,
                    "arxiv_id": row.arxiv_id,
                    "title": row.title,
                    "abstract": row.abstract,
                    "type": row.type,
                    "publication_year": row.publication_year,
                    "publication_date": row.publication_date,
                    "venue_id": self.ids[Source][row.venue.source_id] if row.venue else None,
                    "landing_page_url": row.landing_page_url,
                    "cited_by_count": row.cited_by_count,
                    "referenced_works": _text_array(row.referenced_works),
                    "authors_count": row.authors_count,
                    "counts_by_year": row.counts_by_year,
                    "team_size": row.team_size,
                    "openalex_updated": row.updated_date,
                },
            )
        self._claim_unique(Work, "doi", pending, empty=None, label="DOI", full=True)
        names = [*next(iter(pending.values()))[1], "is_stub"]
        columns = [_column(Work, name) for name in names]
        rows = [
            (source_id, *values.values(), False, self.now, self.now)
            for source_id, (_, values) in pending.items()
        ]
        written = upsert(
            Work,
            ["source_id", *columns, "imported_at", "first_imported_at"],
            rows,
            conflict=["source_id"],
            update=[*columns, "imported_at", "first_imported_at"],
            changed_only=columns,
            expressions={
                # A copy without a date keeps the stored one.
                "openalex_updated": 'COALESCE(EXCLUDED."openalex_updated", t."openalex_updated")',
                # A stub filled in by its own record counts as new from now on.
                "first_imported_at": 'CASE WHEN t."is_stub" THEN EXCLUDED."first_imported_at" '
                'ELSE COALESCE(t."first_imported_at", EXCLUDED."first_imported_at") END',
            },
            returning=["source_id", "id"],
            inserted_flag=True,
        )
        status = dict.fromkeys(pending, "unchanged")
        for source_id, pk, inserted in written:
            self.ids[Work][source_id] = pk
            status[source_id] = "created" if inserted else "updated"
        self.ids[Work].update(ids_for(Work, [sid for sid, s in status.items() if s == "unchanged"]))
        return status

    # --- relations --------------------------------------------------------------------------
    # Each batch's wanted rows go to a staging table; what is stored for the batch's works
    # and not wanted is deleted by an anti-join, what is wanted and not stored is inserted,
    # all in Postgres. Rows go in key order (concurrent importers lock in one order).

    def _work_ids(self) -> list[int]:
        return sorted(self.ids[Work][sid] for sid in self.works)

    def _stored_work_ids(self, work_status: dict[str, str]) -> list[int]:
        """The batch's works that were stored before it: only they can have rows to delete
        (none in a first import, which then skips the anti-joins)."""
        return sorted(self.ids[Work][sid] for sid, s in work_status.items() if s != "created")

    def _sync_work_topics(self, work_status: dict[str, str]) -> set[int]:
        if not self.works:
            return set()
        through = Work.topics.through._meta.db_table
        wanted = sorted(
            {
                (self.ids[Work][sid], self.ids[Topic][topic.source_id])
                for sid, (_, row) in self.works.items()
                for topic in row.topics
            }
        )
        stage = copy_into_staging(through, ["work_id", "topic_id"], wanted)
        stored = self._stored_work_ids(work_status)
        removed = (
            fetch(
                f"DELETE FROM {through} wt WHERE wt.work_id = ANY(%s) AND NOT EXISTS ("
                f"SELECT 1 FROM {stage} s WHERE s.work_id = wt.work_id "
                "AND s.topic_id = wt.topic_id) RETURNING wt.work_id",
                [stored],
            )
            if stored
            else []
        )
        added = fetch(
            f"INSERT INTO {through} (work_id, topic_id) SELECT work_id, topic_id FROM {stage} "
            "ORDER BY work_id, topic_id ON CONFLICT (work_id, topic_id) DO NOTHING "
            "RETURNING work_id",
            [],
        )
        self.stats.relations["work topic links added"] += len(added)
        self.stats.relations["work topic links removed"] += len(removed)
        return {work_id for (work_id,) in (*removed, *added)}

    def _sync_authorships(self, work_status: dict[str, str], topics_changed: set[int]) -> set[int]:
        """Make each work's authorships exactly the listed ones; returns works that changed.

        Records what the refresh needs: every author of a changed work is touched (trust,
        metrics, slices); authors whose own rows moved (an authorship or affiliation came or
        went, or the work's topics changed) are recounted; the works themselves, and who
        left them, go to the co-author pairs refresh."""
        if not self.works:
            return set()
        researcher_ids = self.ids[Researcher]
        # A merged record gets no new authorships: they go to its survivor.
        survivors = merge_survivor_ids(
            {
                researcher_ids[a.author.source_id]
                for _, row in self.works.values()
                for a in row.authorships
            }
        )
        # (work, researcher) -> (position, order, raw name, institution ids)
        wanted: dict[tuple[int, int], tuple[str, int, str, tuple[int, ...]]] = {}
        institution_ids = self.ids[Institution]
        for sid, (_, row) in self.works.items():
            work_id = self.ids[Work][sid]
            for a in row.authorships:
                key = (work_id, survivors[researcher_ids[a.author.source_id]])
                if key in wanted:
                    continue  # the same person listed twice: keep the first
                institutions = tuple(
                    dict.fromkeys(institution_ids[i.source_id] for i in a.institutions)
                )
                wanted[key] = (a.author_position, a.order, a.raw_author_name, institutions)

        table = Authorship._meta.db_table
        links_table = Authorship.institutions.through._meta.db_table
        work_ids = self._work_ids()
        stored = self._stored_work_ids(work_status)
        keys = sorted(wanted)
        stage = copy_into_staging(
            table,
            ["work_id", "researcher_id", "author_position", "order", "raw_author_name"],
            [(*key, *wanted[key][:3]) for key in keys],
        )
        links = copy_into_temp(
            "authorship_links",
            [("work_id", "bigint"), ("researcher_id", "bigint"), ("institution_id", "bigint")],
            [(*key, institution) for key in keys for institution in wanted[key][3]],
        )
        # Institution links first: of authorships that go, and links that are not listed.
        links_removed = (
            fetch(
                f"DELETE FROM {links_table} ai USING {table} a "
                "WHERE ai.authorship_id = a.id AND a.work_id = ANY(%s) AND NOT EXISTS ("
                f"SELECT 1 FROM {links} l WHERE l.work_id = a.work_id "
                "AND l.researcher_id = a.researcher_id AND l.institution_id = ai.institution_id) "
                "RETURNING a.work_id, a.researcher_id",
                [stored],
            )
            if stored
            else []
        )
        removed = (
            fetch(
                f"DELETE FROM {table} a WHERE a.work_id = ANY(%s) AND NOT EXISTS ("
                f"SELECT 1 FROM {stage} s WHERE s.work_id = a.work_id "
                "AND s.researcher_id = a.researcher_id) RETURNING a.work_id, a.researcher_id",
                [stored],
            )
            if stored
            else []
        )
        # ON CONFLICT (work, researcher) DO UPDATE keeps the id of a row that stays.
        written = fetch(
            f'INSERT INTO {table} AS t (work_id, researcher_id, author_position, "order", '
            'raw_author_name) SELECT work_id, researcher_id, author_position, "order", '
            f"raw_author_name FROM {stage} ORDER BY work_id, researcher_id "
            "ON CONFLICT (work_id, researcher_id) DO UPDATE SET "
            'author_position = EXCLUDED.author_position, "order" = EXCLUDED."order", '
            "raw_author_name = EXCLUDED.raw_author_name "
            'WHERE ROW(t.author_position, t."order", t.raw_author_name) IS DISTINCT FROM '
            'ROW(EXCLUDED.author_position, EXCLUDED."order", EXCLUDED.raw_author_name) '
            "RETURNING t.work_id, t.researcher_id, (t.xmax = 0)",
            [],
        )
        links_added = fetch(
            f"WITH added AS (INSERT INTO {links_table} (authorship_id, institution_id) "
            f"SELECT a.id, l.institution_id FROM {links} l JOIN {table} a "
            "ON a.work_id = l.work_id AND a.researcher_id = l.researcher_id "
            "WHERE a.work_id = ANY(%s) ORDER BY a.id, l.institution_id "
            "ON CONFLICT (authorship_id, institution_id) DO NOTHING RETURNING authorship_id) "
            f"SELECT a.work_id, a.researcher_id FROM added JOIN {table} a "
            "ON a.id = added.authorship_id",
            [work_ids],
        )
        created = sum(1 for _, _, inserted in written if inserted)
        relations = self.stats.relations
        relations["authorships created"] += created
        relations["authorships updated"] += len(written) - created
        relations["authorships removed"] += len(removed)
        relations["authorship institution links added"] += len(links_added)
        # Links of an authorship that goes are counted with it, not as links removed.
        links_removed = [row for row in links_removed if row in wanted]
        relations["authorship institution links removed"] += len(links_removed)
        changed = {row[0] for row in (*removed, *written, *links_added, *links_removed)}
        rows_changed = {self.ids[Work][sid] for sid, s in work_status.items() if s != "unchanged"}
        changed |= rows_changed
        out = self.out
        # Whose own rows moved: a new authorship (not one whose position or name changed),
        # one removed, an affiliation added or removed, or a topic of one of their works.
        recount = {researcher_id for _, researcher_id, inserted in written if inserted}
        recount.update(researcher_id for _, researcher_id in (*removed, *links_removed))
        recount.update(researcher_id for _, researcher_id in links_added)
        for work_id, researcher_id in keys:
            out.referenced.add(researcher_id)
            if work_id in changed:
                out.touched.add(researcher_id)
            if work_id in topics_changed:
                recount.add(researcher_id)
        out.touched.update(researcher_id for _, researcher_id in removed)
        out.recount |= recount
        # A new or changed row (team size, year), or authorships that came or went.
        out.works |= rows_changed | {row[0] for row in (*removed, *written)}
        out.departed.update(removed)
        out.referenced_works.update(work_ids)
        return changed


# Ids as the importer stores them: an array of them needs no quoting in Postgres' text form.
_PLAIN_IDS = re.compile(r"[A-Za-z0-9:/._\x1f-]*")


def _text_array(values: list[str]) -> str | list[str]:
    """`values` as a Postgres array literal when no element needs quoting (ids nearly
    always), so COPY sends it without escaping each element; else the list itself."""
    joined = "\x1f".join(values)
    if "" in values or not _PLAIN_IDS.fullmatch(joined) or "null" in joined.lower():
        return values
    return "{" + joined.replace("\x1f", ",") + "}"


def _import_stamps(model: type[models.Model]) -> set[str]:
    """The import timestamp columns a model has (imported_at, first_imported_at)."""
    names = {field.name for field in model._meta.concrete_fields}
    return names & {"imported_at", "first_imported_at"}


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)  # a field's name or attname (venue_id)
    assert isinstance(field, models.Field) and field.column is not None
    return field.column


def _noun(model: type[models.Model]) -> str:
    return {Researcher: "author", Work: "work", Institution: "institution"}.get(model, "record")

"""Write one batch of parsed records. The caller wraps each call in transaction.atomic.

Order inside a batch: full institutions, sources, topics; stubs for what records only
reference; full authors; co-author stubs; works; then each work's topic links and
authorships, diffed against what is stored so unchanged rows keep their ids.

Rows are compared with what is stored first and only new or different ones are written
(bulk upserts keyed on source_id), so a re-run writes nothing and reports "unchanged".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone

from profiles.models import Researcher, VerificationLevel, merge_survivor_ids
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

WRITE_BATCH = 1000

Values = dict[str, Any]
Pending = dict[str, tuple[Location, Values]]  # source_id -> (where it came from, column values)


@dataclass(slots=True)
class BatchOutcome:
    """What one batch did; merged into the run's totals only once its transaction commits."""

    stats: ImportStats = field(default_factory=ImportStats)
    warnings: list[str] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)  # researchers whose data changed
    referenced: set[int] = field(default_factory=set)  # every researcher the batch named


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
        self._write_simple(Institution, self.institutions, _institution_values, "institution")
        self._write_simple(Source, self.sources, _source_values, "source")
        self._write_simple(Topic, self.topics, _topic_values, None)
        self._reference_stubs()
        self._write_authors()
        self._author_stubs()
        work_status = self._write_works()
        changed_works = self._sync_work_topics()
        changed_works |= self._sync_authorships(work_status)
        for source_id, status in work_status.items():
            if status == "unchanged" and self.ids[Work][source_id] in changed_works:
                status = "updated"  # its topics or authorships changed
            self._count("work", status)

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
        to_write: list[Any] = []  # rows of `model`, which all have a source_id
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
            to_write.append(model(source_id=source_id, **values))
        if to_write:
            update_fields = [model._meta.get_field(column).name for column in columns]
            model._default_manager.bulk_create(
                to_write,
                update_conflicts=True,
                unique_fields=["source_id"],
                update_fields=[*update_fields, "updated_at"],
                batch_size=WRITE_BATCH,
            )
            for obj in to_write:
                self.ids[model][obj.source_id] = obj.pk
            if any(obj.pk is None for obj in to_write):  # a backend that returns no ids
                written = [obj.source_id for obj in to_write]
                self.ids[model].update(
                    model._default_manager.filter(source_id__in=written).values_list(
                        "source_id", "id"
                    )
                )
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
            row[column]: row
            for row in model._default_manager.filter(**{f"{column}__in": wanted}).values(
                "pk", "source_id", "is_stub", column
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
        known = dict(
            model._default_manager.filter(source_id__in=list(refs)).values_list("source_id", "id")
        )
        self.ids[model].update(known)
        missing = {sid: ref for sid, ref in refs.items() if sid not in known}
        if not missing:
            return
        if unique:
            column, empty, label = unique
            self._claim_unique(model, column, missing, empty=empty, label=label, full=False)
        model._default_manager.bulk_create(
            [model(source_id=sid, is_stub=True, **values) for sid, (_, values) in missing.items()],
            ignore_conflicts=True,
            batch_size=WRITE_BATCH,
        )
        created = dict(
            model._default_manager.filter(source_id__in=list(missing)).values_list(
                "source_id", "id"
            )
        )
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
                },
            )
        self._claim_unique(Researcher, "orcid", pending, empty=None, label="ORCID", full=True)
        for source_id, status in self._upsert(Researcher, pending, existing).items():
            self._count("author", status)
            researcher_id = self.ids[Researcher][source_id]
            self.out.referenced.add(researcher_id)
            if status != "unchanged":
                self.out.touched.add(researcher_id)

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
        if not self.works:
            return {}
        columns = [
            "doi",
            "arxiv_id",
            "title",
            "abstract",
            "type",
            "publication_year",
            "publication_date",
            "venue_id",
            "landing_page_url",
            "cited_by_count",
            "referenced_works",
            "authors_count",
            "counts_by_year",
        ]
        existing = self._existing(Work, self.works, columns)
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
                    "referenced_works": row.referenced_works,
                    "authors_count": row.authors_count,
                    "counts_by_year": row.counts_by_year,
                },
            )
        self._claim_unique(Work, "doi", pending, empty=None, label="DOI", full=True)
        return self._upsert(Work, pending, existing)

    # --- relations --------------------------------------------------------------------------

    def _sync_work_topics(self) -> set[int]:
        if not self.works:
            return set()
        through = Work.topics.through
        work_ids = [self.ids[Work][sid] for sid in self.works]
        wanted = {
            (self.ids[Work][sid], self.ids[Topic][topic.source_id])
            for sid, (_, row) in self.works.items()
            for topic in row.topics
        }
        stored = {
            (work_id, topic_id): pk
            for pk, work_id, topic_id in through.objects.filter(work_id__in=work_ids).values_list(
                "pk", "work_id", "topic_id"
            )
        }
        removed = [pair for pair in stored if pair not in wanted]
        added = [pair for pair in wanted if pair not in stored]
        through.objects.filter(pk__in=[stored[pair] for pair in removed]).delete()
        through.objects.bulk_create(
            [through(work_id=w, topic_id=t) for w, t in added],
            ignore_conflicts=True,
            batch_size=WRITE_BATCH,
        )
        self.stats.relations["work topic links added"] += len(added)
        self.stats.relations["work topic links removed"] += len(removed)
        return {work_id for work_id, _ in (*removed, *added)}

    def _sync_authorships(self, work_status: dict[str, str]) -> set[int]:
        """Make each work's authorships exactly the listed ones; returns works that changed."""
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
        for sid, (_, row) in self.works.items():
            work_id = self.ids[Work][sid]
            for a in row.authorships:
                key = (work_id, survivors[researcher_ids[a.author.source_id]])
                if key in wanted:
                    continue  # the same person listed twice: keep the first
                institutions = tuple(
                    dict.fromkeys(self.ids[Institution][i.source_id] for i in a.institutions)
                )
                wanted[key] = (a.author_position, a.order, a.raw_author_name, institutions)

        work_ids = [self.ids[Work][sid] for sid in self.works]
        stored = {
            (row["work_id"], row["researcher_id"]): row
            for row in Authorship.objects.filter(work_id__in=work_ids).values(
                "id", "work_id", "researcher_id", "author_position", "order", "raw_author_name"
            )
        }
        removed = [key for key in stored if key not in wanted]
        Authorship.objects.filter(id__in=[stored[key]["id"] for key in removed]).delete()

        to_write: list[Authorship] = []
        counts: Counter[str] = Counter()
        for key, (position, order, raw_name, _) in wanted.items():
            old = stored.get(key)
            if old is None:
                counts["authorships created"] += 1
            elif (old["author_position"], old["order"], old["raw_author_name"]) != (
                position,
                order,
                raw_name,
            ):
                counts["authorships updated"] += 1
            else:
                continue
            to_write.append(
                Authorship(
                    work_id=key[0],
                    researcher_id=key[1],
                    author_position=position,
                    order=order,
                    raw_author_name=raw_name,
                )
            )
        # ON CONFLICT (work, researcher) DO UPDATE keeps the id of a row that stays.
        Authorship.objects.bulk_create(
            to_write,
            update_conflicts=True,
            unique_fields=["work", "researcher"],
            update_fields=["author_position", "order", "raw_author_name"],
            batch_size=WRITE_BATCH,
        )
        authorship_ids = {key: row["id"] for key, row in stored.items() if key in wanted}
        authorship_ids.update({(a.work_id, a.researcher_id): a.pk for a in to_write})
        changed_links = self._sync_authorship_institutions(wanted, authorship_ids)

        counts["authorships removed"] = len(removed)
        self.stats.relations.update(counts)
        changed = {key[0] for key in removed} | {a.work_id for a in to_write} | changed_links
        changed |= {self.ids[Work][sid] for sid, s in work_status.items() if s != "unchanged"}
        for (work_id, researcher_id), _ in wanted.items():
            self.out.referenced.add(researcher_id)
            if work_id in changed:
                self.out.touched.add(researcher_id)
        self.out.touched.update(key[1] for key in removed)
        return changed

    def _sync_authorship_institutions(
        self,
        wanted: dict[tuple[int, int], tuple[str, int, str, tuple[int, ...]]],
        authorship_ids: dict[tuple[int, int], int],
    ) -> set[int]:
        through = Authorship.institutions.through
        wanted_links = {
            (authorship_ids[key], institution_id)
            for key, (*_, institutions) in wanted.items()
            for institution_id in institutions
        }
        work_of = {authorship_id: key[0] for key, authorship_id in authorship_ids.items()}
        stored = {
            (authorship_id, institution_id): pk
            for pk, authorship_id, institution_id in through.objects.filter(
                authorship_id__in=list(authorship_ids.values())
            ).values_list("pk", "authorship_id", "institution_id")
        }
        removed = [link for link in stored if link not in wanted_links]
        added = [link for link in wanted_links if link not in stored]
        through.objects.filter(pk__in=[stored[link] for link in removed]).delete()
        through.objects.bulk_create(
            [through(authorship_id=a, institution_id=i) for a, i in added],
            ignore_conflicts=True,
            batch_size=WRITE_BATCH,
        )
        self.stats.relations["authorship institution links added"] += len(added)
        self.stats.relations["authorship institution links removed"] += len(removed)
        return {work_of[a] for a, _ in (*removed, *added)}


def _import_stamps(model: type[models.Model]) -> set[str]:
    """The import timestamp columns a model has (imported_at, first_imported_at)."""
    names = {field.name for field in model._meta.concrete_fields}
    return names & {"imported_at", "first_imported_at"}


def _noun(model: type[models.Model]) -> str:
    return {Researcher: "author", Work: "work", Institution: "institution"}.get(model, "record")

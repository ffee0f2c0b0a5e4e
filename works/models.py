"""Bibliographic records imported from OpenAlex (or built by hand with urn:bzpeer ids)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.urls import reverse

from bzpeer.identifiers import arxiv_url, doi_url
from bzpeer.textsearch import Fold


def name_trigram_index(name: str) -> GinIndex:
    """Trigram index on the folded name: accent- and case-blind fuzzy name search."""
    return GinIndex(OpClass(Fold("display_name"), name="gin_trgm_ops"), name=name)


class Institution(models.Model):
    source_id = models.CharField(max_length=255, unique=True)
    display_name = models.CharField(max_length=500)
    ror = models.CharField(max_length=255, blank=True, default="")
    country_code = models.CharField(max_length=8, blank=True, default="")
    type = models.CharField(max_length=64, blank=True, default="")
    homepage_url = models.URLField(max_length=1000, blank=True, default="")
    is_stub = models.BooleanField(
        default=True, help_text="Known only from a reference inside another record."
    )
    # Researchers last seen here or named here by an authorship (kept by the search refresh).
    researchers_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["ror"], condition=~Q(ror=""), name="institution_unique_ror"
            )
        ]
        indexes = [
            name_trigram_index("institution_name_trgm"),
            models.Index(
                fields=["-researchers_count", "display_name"], name="institution_rank_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("institution_detail", args=[self.pk])

    @property
    def ror_url(self) -> str:
        # OpenAlex stores the full https://ror.org/... URL; hand-built records may hold the id.
        if not self.ror:
            return ""
        if "://" in self.ror:
            return self.ror if self.ror.startswith(("https://", "http://")) else ""
        return f"https://ror.org/{self.ror}"


class Source(models.Model):
    """A venue: journal, conference, repository (arXiv)."""

    source_id = models.CharField(max_length=255, unique=True)
    display_name = models.CharField(max_length=500)
    type = models.CharField(max_length=64, blank=True, default="")
    issn_l = models.CharField(max_length=32, blank=True, default="")
    homepage_url = models.URLField(max_length=1000, blank=True, default="")
    is_stub = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


class Topic(models.Model):
    """A subject label: an OpenAlex topic, or a legacy OpenAlex concept."""

    class Kind(models.TextChoices):
        TOPIC = "topic", "Topic"
        CONCEPT = "concept", "Concept"

    source_id = models.CharField(max_length=255, unique=True)
    display_name = models.CharField(max_length=500)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TOPIC)
    field_name = models.CharField(max_length=255, blank=True, default="")
    is_stub = models.BooleanField(default=True)
    # Researchers with a work on this topic (kept by the search refresh).
    researchers_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]
        indexes = [
            name_trigram_index("topic_name_trgm"),
            models.Index(fields=["-researchers_count", "display_name"], name="topic_rank_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("topic_detail", args=[self.pk])


class WorkType(models.TextChoices):
    """OpenAlex's work types, then Crossref's, which older snapshots carry in `type` (the
    importer keeps a type as read, so a value outside these can still be stored)."""

    ARTICLE = "article"
    BOOK = "book"
    BOOK_CHAPTER = "book-chapter"
    DATASET = "dataset"
    DISSERTATION = "dissertation"
    EDITORIAL = "editorial"
    ERRATUM = "erratum"
    GRANT = "grant"
    LETTER = "letter"
    LIBGUIDES = "libguides"
    OTHER = "other"
    PARATEXT = "paratext"
    PEER_REVIEW = "peer-review"
    PREPRINT = "preprint"
    REFERENCE_ENTRY = "reference-entry"
    REPORT = "report"
    RETRACTION = "retraction"
    REVIEW = "review"
    STANDARD = "standard"
    SUPPLEMENTARY_MATERIALS = "supplementary-materials"
    JOURNAL_ARTICLE = "journal-article", "journal-article (older snapshots)"
    PROCEEDINGS_ARTICLE = "proceedings-article", "proceedings-article (older snapshots)"
    POSTED_CONTENT = "posted-content", "posted-content (older snapshots)"
    MONOGRAPH = "monograph", "monograph (older snapshots)"
    EDITED_BOOK = "edited-book", "edited-book (older snapshots)"
    JOURNAL_ISSUE = "journal-issue", "journal-issue (older snapshots)"
    COMPONENT = "component", "component (older snapshots)"


class Work(models.Model):
    source_id = models.CharField(max_length=255, unique=True)
    # NULL, not "", for a missing DOI: the unique constraint applies to present values only.
    doi = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    arxiv_id = models.CharField(max_length=64, blank=True, default="")
    title = models.TextField(blank=True, default="")
    abstract = models.TextField(blank=True, default="", help_text="Plain text, never HTML.")
    type = models.CharField(max_length=64, blank=True, default="", choices=WorkType.choices)
    publication_year = models.PositiveSmallIntegerField(null=True, blank=True)
    publication_date = models.DateField(null=True, blank=True)
    # The venue (journal, repository): named venue because source_id is the record id.
    venue = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="works"
    )
    landing_page_url = models.URLField(max_length=2000, blank=True, default="")
    topics = models.ManyToManyField(Topic, blank=True, related_name="works")
    cited_by_count = models.PositiveIntegerField(null=True, blank=True)
    # The source's citations per year ([{"year": 2024, "cited_by_count": 12}, ...]); NULL
    # when the record did not say (absent is not zero).
    counts_by_year = models.JSONField(null=True, blank=True)
    # The works this one cites, as the record lists them (OpenAlex ids). Kept, not indexed:
    # no page or service looks works up by what they cite, and the index (a GIN over some
    # 25 ids a work) was most of the cost of writing a work at a million of them.
    referenced_works = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    # Authorship entries on the record, as listed (the page's "and N more" counts them).
    authors_count = models.PositiveIntegerField(default=0)
    # Distinct resolved authors: entries with an author id, the placeholder excluded, a
    # person listed twice counted once. The co-author rules (close collaborators, the
    # hyper-authored cut at >100) use this, never the raw entry count, which also counts
    # affiliation strings and reference-list names parsed as authors.
    team_size = models.PositiveIntegerField(default=0)
    is_hidden = models.BooleanField(
        default=False, help_text="Hidden by a curator: off every public page."
    )
    is_stub = models.BooleanField(default=False)
    # The work OpenAlex (or a curator) merged this one into: its URL redirects there. A
    # merged work is also hidden, so every list, search, sitemap and export that leaves
    # hidden works out leaves it out too (bzpeer.curation.services.merge_works).
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_works"
    )
    # When an import first stored this record as a full work, and last changed it; NULL for
    # hand-built records. Feeds and digests list works by the first.
    first_imported_at = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    # OpenAlex's updated_date of the copy stored: an older copy never overwrites it.
    openalex_updated = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-publication_year", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["doi"], condition=Q(doi__isnull=False), name="work_unique_doi"
            )
        ]
        indexes = [
            models.Index(fields=["publication_year"]),
            models.Index(fields=["arxiv_id"]),
            # What a refresh after an import reads of each work of the researchers and pairs
            # it recounts (whether it is listed, its team, its year), by index only: a work
            # row with its abstract is a fifth of a page, so reading rows meant a page a
            # work.
            models.Index(
                fields=["id"],
                include=["is_hidden", "team_size", "publication_year"],
                name="work_listing_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.source_id

    def get_absolute_url(self) -> str:
        return reverse("work_detail", args=[self.pk])

    @property
    def doi_url(self) -> str:
        return doi_url(self.doi or "")

    @property
    def arxiv_url(self) -> str:
        return arxiv_url(self.arxiv_id)


# Title search reads its candidates tier by tier, the most cited first: the lowest
# citation count of each tier but the last, which holds the rest (none, or unknown).
TITLE_PRIOR_TIERS = (10, 1)


def title_prior_tiers() -> list[tuple[Q, str]]:
    """The tiers of `TITLE_PRIOR_TIERS`, most cited first, each as the condition of its
    partial index and the same condition in SQL on `s.cited_by_count` (a query must
    state it as written for Postgres to use that index)."""
    tiers: list[tuple[Q, str]] = []
    upper: int | None = None
    for low in TITLE_PRIOR_TIERS:
        condition, sql = Q(cited_by_count__gte=low), f"s.cited_by_count >= {low}"
        if upper is not None:
            condition &= Q(cited_by_count__lt=upper)
            sql += f" AND s.cited_by_count < {upper}"
        tiers.append((condition, sql))
        upper = low
    tiers.append(
        (
            Q(cited_by_count__lt=upper) | Q(cited_by_count__isnull=True),
            f"(s.cited_by_count < {upper} OR s.cited_by_count IS NULL)",
        )
    )
    return tiers


class WorkTitleSearch(models.Model):
    """The title search of works: one row per visible work (not hidden, hence not merged),
    its title as a stored tsvector (`bzpeer.textsearch.TEXT_CONFIG`) and the columns
    search filters, counts and orders by.

    Why a table: title search on the works table itself (an expression index) read the
    wide rows (abstracts, counts by year, references) of every candidate, and ranking had
    to rebuild each title's vector; here a candidate costs a narrow row and its stored
    vector. Why triggers (statement-level, with transition tables, installed by the
    migration): works are written by the importer (COPY, INSERT ... ON CONFLICT),
    curation, the admin and shells; a trigger keeps this table current for all of them,
    in the writing transaction, with one set-based statement per statement written.
    Nothing in Python writes it, except `works.title_search.fill` after a load that ran
    with triggers off (the benchmark corpus)."""

    work = models.OneToOneField(
        Work, primary_key=True, on_delete=models.DO_NOTHING, related_name="+"
    )
    document = SearchVectorField()
    cited_by_count = models.PositiveIntegerField(null=True)
    type = models.CharField(max_length=64, default="")
    publication_year = models.PositiveSmallIntegerField(null=True)

    class Meta:
        indexes = [
            # One GIN index per prior tier: a word common enough to fill the candidates
            # in the first tier never reads the entries of the others. A small pending
            # list: bulk writes still merge in batches, and a search never scans more than
            # this many kB of entries not yet merged.
            GinIndex(
                fields=["document"],
                name=f"work_title_search_doc_{tier}",
                condition=condition,
                gin_pending_list_limit=256,
            )
            for tier, (condition, _) in enumerate(title_prior_tiers())
        ]

    def __str__(self) -> str:
        return f"title search of work {self.work_id}"


class Authorship(models.Model):
    class Position(models.TextChoices):
        FIRST = "first", "First"
        MIDDLE = "middle", "Middle"
        LAST = "last", "Last"

    # Each key leads an index of two columns (the unique pair, and researcher then work), so
    # neither has an index of its own: one more random-order index to keep per row was a
    # large share of an import's cost at a million works.
    work = models.ForeignKey(
        Work, on_delete=models.CASCADE, related_name="authorships", db_index=False
    )
    researcher = models.ForeignKey(
        "profiles.Researcher", on_delete=models.CASCADE, related_name="authorships", db_index=False
    )
    author_position = models.CharField(max_length=16, blank=True, default="")
    order = models.PositiveIntegerField(default=0)
    raw_author_name = models.CharField(max_length=500, blank=True, default="")
    institutions = models.ManyToManyField(Institution, blank=True, related_name="authorships")

    class Meta:
        ordering = ["work", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["work", "researcher"], name="authorship_unique_work_researcher"
            )
        ]
        # A researcher's works, with the authorship's id (what their institutions are
        # joined on) by index only: no table page read per authorship.
        indexes = [
            models.Index(
                fields=["researcher", "work"], include=["id"], name="authorship_researcher_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.raw_author_name or self.researcher_id} on {self.work_id}"


class TouchedResearcher(models.Model):
    """A researcher whose derived data (counts, co-author edges, trust, slices) is stale.

    The importer writes a row in the same transaction as the batch that changed the
    researcher's records, and the refresh after the import deletes the rows it consumed; a
    killed import therefore leaves an exact list of what the next refresh must do. Plain
    ids, no foreign key: the table is a queue, written in bulk.
    """

    researcher_id = models.BigIntegerField(primary_key=True)
    touched_at = models.DateTimeField(db_default=Now())
    # Their own rows moved (an authorship came or went, an affiliation, a work's topics,
    # their record): counts, per-topic rows and search document are recomputed. Without
    # it only trust, metrics and slices are (a work of theirs changed its title, say).
    recount = models.BooleanField(db_default=True)

    def __str__(self) -> str:
        return f"researcher {self.researcher_id} touched at {self.touched_at}"


class TouchedWork(models.Model):
    """A work whose co-author pairs must be recomputed (its authorships, team size, year
    changed, or it is new), with the researchers whose authorship of it was removed. The
    refresh recomputes the edges of exactly those pairs, so its cost follows the change,
    not the authors' whole records. A queue like TouchedResearcher, same life cycle."""

    work_id = models.BigIntegerField(primary_key=True)
    departed_ids = ArrayField(models.BigIntegerField(), db_default="{}")
    touched_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"work {self.work_id} touched at {self.touched_at}"


class ImportedPart(models.Model):
    """One file of an OpenAlex snapshot that was imported whole: a rerun skips it (same
    path and size), a killed import resumes at the first part without a row, and a newer
    snapshot imports only the partitions not recorded yet. Merged-id lists are recorded
    the same way once applied."""

    path = models.CharField(max_length=1000, unique=True, help_text="Relative to the root.")
    entity = models.CharField(max_length=64)
    size = models.BigIntegerField()
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file.")
    records = models.PositiveIntegerField(default=0)
    bad = models.PositiveIntegerField(default=0)
    manifest_records = models.PositiveIntegerField(null=True, blank=True)
    imported_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path

"""The public author record, follows and collaboration invitations."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.db import connection, models
from django.db.models import Q
from django.db.models.functions import Left, Length
from django.urls import reverse
from django.utils import timezone
from slugify import slugify

from bzpeer.identifiers import orcid_url


class VerificationLevel(models.IntegerChoices):
    L0 = 0, "L0 - bare name"
    L1 = 1, "L1 - public record"
    L2 = 2, "L2 - claimed, verified"
    L3 = 3, "L3 - claimed through ORCID"


class TrustBand(models.TextChoices):
    NEW = "New"
    EMERGING = "Emerging"
    ESTABLISHED = "Established"
    TRUSTED = "Trusted"
    HIGHLY_TRUSTED = "Highly trusted"


class CollaborationKind(models.TextChoices):
    COAUTHORING = "coauthoring", "Co-authoring"
    REVIEWING = "reviewing", "Reviewing"
    DATA_CODE = "data_code", "Data and code"


class FollowersVisibility(models.TextChoices):
    EVERYONE = "everyone", "Everyone"
    OWNER = "owner", "Only me"


class HiddenBy(models.TextChoices):
    OWNER = "owner", "The record's owner"
    REQUEST = "request", "A curator, on a hide request"


def visible_q(prefix: str = "") -> Q:
    """The one rule for "this record may be shown to the public": not merged into another
    record and not hidden. `prefix` reaches it through a relation ("researcher__")."""
    return Q(**{f"{prefix}merged_into__isnull": True, f"{prefix}hidden_at__isnull": True})


def visible_sql(alias: str) -> str:
    """The same rule in SQL, for raw queries over the researcher table aliased `alias`."""
    return f"({alias}.merged_into_id IS NULL AND {alias}.hidden_at IS NULL)"


class ResearcherQuerySet(models.QuerySet):
    def visible(self) -> ResearcherQuerySet:
        """Records any public list may show (visible_q)."""
        return self.filter(visible_q())

    def open_for_followers(self) -> ResearcherQuerySet:
        """Visible records open to collaborate today whose owner lets followers see that
        (the owner's "open to collaborate" visibility control): for a follower's list."""
        today = timezone.localdate()
        return self.visible().filter(
            Q(open_until__isnull=True) | Q(open_until__gte=today),
            open_to_collaborate=True,
            open_visible_to_followers=True,
        )


class Researcher(models.Model):
    source_id = models.CharField(
        max_length=255,
        unique=True,
        help_text="Where the record came from: an OpenAlex URL or a local urn:bzpeer id.",
    )
    display_name = models.CharField(max_length=500)
    alternative_names = ArrayField(models.CharField(max_length=500), default=list, blank=True)
    summary = models.TextField(blank=True, default="", help_text="Plain text bio.")
    # NULL, not "", for a missing iD: the unique constraint applies to present values only.
    orcid = models.CharField(  # noqa: DJ001
        max_length=19, null=True, blank=True, help_text="0000-0000-0000-0000"
    )
    last_known_institution = models.ForeignKey(
        "works.Institution",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="researchers",
        db_index=False,  # leads the institution-page index (Meta.indexes)
    )
    topics = models.ManyToManyField(
        "works.Topic", through="ResearcherTopic", blank=True, related_name="researchers"
    )
    open_to_collaborate = models.BooleanField(default=True)
    collaboration_kinds = ArrayField(
        models.CharField(max_length=16, choices=CollaborationKind.choices),
        default=list,
        blank=True,
        help_text="What the owner is open to; empty means any kind.",
    )
    open_until = models.DateField(
        null=True, blank=True, help_text="Open to collaborate until this day (inclusive)."
    )
    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="researcher",
    )
    verification_level = models.PositiveSmallIntegerField(
        choices=VerificationLevel.choices, default=VerificationLevel.L0
    )
    trust_score = models.PositiveSmallIntegerField(default=0)
    trust_band = models.CharField(max_length=32, choices=TrustBand.choices, default=TrustBand.NEW)
    trust_components = models.JSONField(default=dict, blank=True)
    trust_computed_at = models.DateTimeField(null=True, blank=True)
    # Denormalised counts, kept right by services and tasks (never counted on a page view).
    works_count = models.PositiveIntegerField(default=0)
    followers_count = models.PositiveIntegerField(default=0)
    topics_count = models.PositiveIntegerField(default=0)
    close_collaborators_count = models.PositiveIntegerField(default=0)
    # The source's own figures for this author (over every work it knows, listed here or
    # not); NULL when the record did not carry them (absent is not zero).
    source_cited_by_count = models.PositiveIntegerField(null=True, blank=True)
    source_counts_by_year = models.JSONField(null=True, blank=True)
    source_summary_stats = models.JSONField(null=True, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    # Our figures, computed by the worker from the listed works (profiles/metrics.py).
    citations_count = models.PositiveIntegerField(default=0)
    # Listed works whose source record gives a citation count (0: the figures are unknown).
    works_with_citations = models.PositiveIntegerField(default=0)
    h_index = models.PositiveIntegerField(default=0)
    i10_index = models.PositiveIntegerField(default=0)
    citations_by_year = models.JSONField(default=dict, blank=True)
    metrics_computed_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_records",
        db_index=False,  # indexed once, in Meta.indexes
    )
    is_stub = models.BooleanField(
        default=True, help_text="Known only as a co-author inside a work record."
    )
    # OpenAlex's updated_date of the author record stored: an older copy never overwrites it.
    openalex_updated = models.DateTimeField(null=True, blank=True)
    # Privacy: set by a curator approving a hide request, or by the owner at once. No
    # import writes these columns, so a re-import never brings a hidden part back.
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.CharField(max_length=16, choices=HiddenBy.choices, blank=True, default="")
    summary_hidden = models.BooleanField(default=False)
    affiliation_hidden = models.BooleanField(default=False)
    # The owner's visibility controls.
    followers_visibility = models.CharField(
        max_length=16, choices=FollowersVisibility.choices, default=FollowersVisibility.EVERYONE
    )
    in_suggestions = models.BooleanField(
        default=True, help_text='Shown in other profiles\' "never worked with" suggestions.'
    )
    open_visible_to_followers = models.BooleanField(
        default=True, help_text='Followers see this record in their "open to collaborate" list.'
    )
    accepts_invitations = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResearcherQuerySet.as_manager()

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["orcid"], condition=Q(orcid__isnull=False), name="researcher_unique_orcid"
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("pk")), name="researcher_not_merged_into_self"
            ),
        ]
        indexes = [
            models.Index(fields=["merged_into"]),
            # The directory sorted by name.
            models.Index(fields=["display_name", "id"], name="researcher_name_idx"),
            # Institution pages list their researchers by productivity.
            models.Index(fields=["last_known_institution", "-works_count"]),
            models.Index(fields=["-works_count", "display_name"], name="researcher_rank_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("researcher_detail", kwargs={"pk": self.pk, "slug": self.slug})

    @property
    def works_without_citations(self) -> int:
        """Listed works whose source record gives no citation count: their citations are
        not known (absent is not zero), and our figures leave them out."""
        return max(self.works_count - self.works_with_citations, 0)

    @property
    def slug(self) -> str:
        return slugify(self.display_name, max_length=80) or "researcher"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_public(self) -> bool:
        """visible_q for a loaded row: may a public page link to it?"""
        return self.hidden_at is None and self.merged_into_id is None

    def followers_visible_to(self, user) -> bool:
        """May `user` see who follows this record (the owner's control)? Its owner always."""
        if self.followers_visibility == FollowersVisibility.EVERYONE:
            return True
        return bool(getattr(user, "is_authenticated", False)) and user.pk == self.owner_id

    @property
    def shown_summary(self) -> str:
        return "" if self.summary_hidden else self.summary

    @property
    def shown_institution(self):
        """The affiliation public pages show (None when the subject asked to hide it)."""
        return None if self.affiliation_hidden else self.last_known_institution

    @property
    def is_claimed(self) -> bool:
        return self.owner_id is not None

    @property
    def is_open_now(self) -> bool:
        """Open to collaborate today (the owner may have set an end date)."""
        if not self.open_to_collaborate:
            return False
        return self.open_until is None or self.open_until >= timezone.localdate()

    @property
    def collaboration_kind_labels(self) -> list[str]:
        labels = dict(CollaborationKind.choices)
        return [labels.get(kind, kind) for kind in self.collaboration_kinds]

    @property
    def collaboration_kind_options(self) -> list[dict]:
        """The owner form's checkboxes: every kind, ticked when chosen."""
        return [
            {"value": value, "label": label, "checked": value in self.collaboration_kinds}
            for value, label in CollaborationKind.choices
        ]

    @property
    def orcid_url(self) -> str:
        return orcid_url(self.orcid or "")


class ResearcherTopic(models.Model):
    """A researcher's topic with how many of their works carry it (refreshed by services)."""

    # Each key leads an index of its own below: no single-column index as well.
    researcher = models.ForeignKey(Researcher, on_delete=models.CASCADE, db_index=False)
    topic = models.ForeignKey("works.Topic", on_delete=models.CASCADE, db_index=False)
    works_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["researcher", "topic"], name="researcher_topic_unique")
        ]
        indexes = [
            models.Index(fields=["researcher", "-works_count"]),
            models.Index(fields=["topic", "-works_count"]),
        ]

    def __str__(self) -> str:
        return f"{self.researcher_id}: {self.topic_id} ({self.works_count})"


class ResearcherSearch(models.Model):
    """A researcher's search document, one row per current (unmerged) researcher.

    A maintained table rather than columns on Researcher or a generated column: the
    document draws on other tables (institution and topic names), which a generated
    column cannot; rewriting it (after every import batch) then touches neither the
    researcher row (no lock taken against claims or edits, no updated_at churn) nor the
    width of every researcher read. Written only by `bzpeer.search.documents`.
    """

    researcher = models.OneToOneField(
        Researcher, primary_key=True, on_delete=models.CASCADE, related_name="search"
    )
    # Name (A), alternative names (B), institutions (C), topics (D); words unaccented.
    document = SearchVectorField()
    # Display and alternative names, folded (lower case, no accents): the word similarity
    # part of the relevance, and the words of `SearchWord`.
    names = models.TextField()
    # The ranking prior, copied when the document is written (the counts refresh runs just
    # before): matches are ordered and capped by it without reading the researcher rows.
    works_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            GinIndex(fields=["document"], name="researcher_search_doc"),
            # Matches in prior order: a common word (a frequent surname) reads this index
            # and stops at the cap instead of sorting every match. It carries the document,
            # so the words are matched in the index: a surname in one document of 250 read
            # 22,000 researchers' rows from the table to find its first 100 (38 ms at 400k
            # researchers), 2.6 ms by index only.
            models.Index(
                models.F("works_count").desc(),
                "researcher",
                name="researcher_search_prior",
                include=["document"],
            ),
        ]

    def __str__(self) -> str:
        return f"search document of {self.researcher_id}"


class SearchWord(models.Model):
    """The vocabulary of researcher names: every word of a display or alternative name,
    folded as the search documents index it (`bzpeer_names`).

    A typed word that matches no document is looked up here for near spellings (trigram
    similarity, or a small edit distance under the same first letter); the document
    search then runs again with those words. The near-spelling lookup thus reads a few
    thousand short strings, never the names of every researcher. Written only by
    `bzpeer.search.documents`; never pruned: a word no current name has any more adds an
    alternative that no name matches."""

    word = models.TextField(primary_key=True)

    class Meta:
        indexes = [
            GinIndex(OpClass("word", name="gin_trgm_ops"), name="search_word_trgm"),
            # The edit-distance lookup: words with the same first letter and a close length.
            models.Index(Left("word", 1), Length("word"), name="search_word_initial"),
        ]

    def __str__(self) -> str:
        return self.word


class ResearcherInstitution(models.Model):
    """Where a researcher is, or was, as the data says: the last known institution and every
    institution their (visible) authorships name. Institution pages and the institution
    filter read it; kept by
    `bzpeer.search.documents.refresh_search_documents`."""

    # Each key leads an index below (the unique pair, the members index): none of its own.
    researcher = models.ForeignKey(Researcher, on_delete=models.CASCADE, db_index=False)
    institution = models.ForeignKey("works.Institution", on_delete=models.CASCADE, db_index=False)
    works_count = models.PositiveIntegerField(default=0)
    is_last_known = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["researcher", "institution"], name="researcher_institution_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["institution", "-works_count", "researcher"],
                name="institution_members_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.researcher_id} at {self.institution_id}"


class Follow(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    researcher = models.ForeignKey(Researcher, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(auto_now_add=True)
    # The follower asked to be emailed this researcher's new works in the weekly digest.
    email_digest = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "researcher"], name="follow_unique_pair")
        ]
        indexes = [models.Index(fields=["researcher", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.researcher_id}"


class DigestState(models.Model):
    """Where a follower's weekly digest stands: works imported after `since` are new to them.
    The digest task claims the row with a conditional UPDATE, so a second run sends nothing."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_state"
    )
    since = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"digest of {self.user_id} since {self.since:%Y-%m-%d}"


# Beside the model so that its Meta constraints can name a status.
class InvitationStatus(models.TextChoices):
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class Invitation(models.Model):
    Status = InvitationStatus

    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations_sent"
    )
    researcher = models.ForeignKey(Researcher, on_delete=models.CASCADE, related_name="invitations")
    # The record's owner when the invitation was sent: if the record later changes hands,
    # the invitation stays with the person it was written to.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations_received",
    )
    subject = models.CharField(max_length=200)
    message = models.TextField(max_length=5000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENT)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Accepting shows each side the other's email address; either may withdraw that.
    email_withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "researcher"],
                condition=Q(status=InvitationStatus.SENT),
                name="invitation_one_pending_per_pair",
            )
        ]
        indexes = [
            models.Index(fields=["sender", "-created_at"]),
            models.Index(fields=["researcher", "status"]),
            models.Index(fields=["recipient", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.subject


# --- merge chains --------------------------------------------------------------------------

# A merge points every earlier duplicate straight at the survivor, so chains are one hop
# unless a curator edits `merged_into` by hand; the cap only guards against a cycle.
MAX_MERGE_HOPS = 10


def merge_survivor_ids(researcher_ids: Iterable[int]) -> dict[int, int]:
    """Each id -> the id at the end of its `merged_into` chain (itself when not merged or
    unknown), at most MAX_MERGE_HOPS hops: one recursive query whatever the chains.

    The one merge-chain rule. It sits with the model because the importer, which may use
    the models of the apps it fills and nothing above them, needs it too."""
    wanted = list(dict.fromkeys(researcher_ids))
    survivors = {pk: pk for pk in wanted}
    if not wanted:
        return survivors
    table = connection.ops.quote_name(Researcher._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE chain (start_id, id, merged_into_id, hops) AS (
                SELECT id, id, merged_into_id, 0 FROM {table}
                WHERE id = ANY(%s) AND merged_into_id IS NOT NULL
                UNION ALL
                SELECT chain.start_id, r.id, r.merged_into_id, chain.hops + 1
                FROM chain JOIN {table} r ON r.id = chain.merged_into_id
                WHERE chain.hops < %s
            )
            SELECT DISTINCT ON (start_id) start_id, id FROM chain ORDER BY start_id, hops DESC
            """,
            [wanted, MAX_MERGE_HOPS],
        )
        survivors.update(cursor.fetchall())
    return survivors

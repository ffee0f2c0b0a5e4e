"""The audit trail: Postgres triggers (django-pghistory) copy every curated change into an
event table, whatever made it: the admin's forms, bulk actions and `QuerySet.update()`,
curation services, the importer. Each event row carries the context of the request or
service that made it (who, which URL or action, which profiles it corrects).

1. Updates are stored twice, before ("before") and after ("update"), and only when a
   tracked field changes: denormalised counts, trust and timestamps are left out, so a
   recount or an import that changes nothing writes no event.
2. Deletes are always stored (the row as it was).
3. Inserts are stored only inside a context (an admin request, a curation service): the
   importer creates hundreds of thousands of rows in bulk outside any context, and its
   source files are the record of those.

The tracked models belong to other apps; their event models live here, so this app owns
the migrations. The triggers are installed after each migrate (PGTRIGGER_MIGRATIONS off,
see settings) instead of by migrations in the tracked apps.
"""

from __future__ import annotations

import pghistory
import pgtrigger

from claims.models import Claim, HideRequest, NotMeReport
from profiles.models import Follow, Researcher
from works.models import Authorship, Institution, Source, Topic, Work

IN_CONTEXT = pgtrigger.Condition(
    "COALESCE(CURRENT_SETTING('pghistory.context_id', TRUE), '') <> ''"
)


def trackers() -> tuple:
    return (
        pghistory.InsertEvent(condition=IN_CONTEXT),
        pghistory.UpdateEvent("before", row=pghistory.Old),
        pghistory.UpdateEvent("update"),
        pghistory.DeleteEvent(),
    )


def _track(model, *, fields: list[str], name: str):
    pghistory.track(*trackers(), fields=fields, app_label="audit", model_name=name)(model)


RESEARCHER_FIELDS = [
    "source_id",
    "display_name",
    "alternative_names",
    "summary",
    "orcid",
    "last_known_institution",
    "open_to_collaborate",
    "owner",
    "verification_level",
    "merged_into",
    "is_stub",
    "hidden_at",
    "hidden_by",
    "summary_hidden",
    "affiliation_hidden",
]
WORK_FIELDS = [
    "source_id",
    "doi",
    "arxiv_id",
    "title",
    "abstract",
    "type",
    "publication_year",
    "publication_date",
    "venue",
    "landing_page_url",
    "is_hidden",
    "merged_into",
]

_track(Researcher, fields=RESEARCHER_FIELDS, name="ResearcherEvent")
_track(Work, fields=WORK_FIELDS, name="WorkEvent")
_track(
    Authorship,
    fields=["work", "researcher", "author_position", "order", "raw_author_name"],
    name="AuthorshipEvent",
)
_track(
    Institution,
    fields=["source_id", "display_name", "ror", "country_code", "type", "homepage_url"],
    name="InstitutionEvent",
)
_track(
    Source,
    fields=["source_id", "display_name", "type", "issn_l", "homepage_url"],
    name="SourceEvent",
)
_track(Topic, fields=["source_id", "display_name", "kind", "field_name"], name="TopicEvent")
_track(
    Claim,
    fields=[
        "user",
        "researcher",
        "method",
        "is_dispute",
        "status",
        "reviewer",
        "decided_at",
        "reason",
    ],
    name="ClaimEvent",
)
_track(
    NotMeReport,
    fields=["researcher", "work", "user", "status", "reviewer", "decided_at", "decision_reason"],
    name="NotMeReportEvent",
)
_track(Follow, fields=["user", "researcher"], name="FollowEvent")
# The requester's name, email and message are personal data the retention task erases: the
# trail keeps the fact of the request and of its decision only.
_track(
    HideRequest,
    fields=["researcher", "scope", "proof", "status", "reviewer", "decided_at", "reason"],
    name="HideRequestEvent",
)

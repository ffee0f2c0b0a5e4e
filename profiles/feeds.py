"""An Atom feed of a researcher's works, newest imports first."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.contrib.syndication.views import Feed
from django.db.models import F
from django.http import HttpRequest
from django.utils.feedgenerator import Atom1Feed

from claims import listing
from profiles.access import get_researcher_or_404
from profiles.models import Researcher
from works.models import Work

FEED_ITEMS = 50


class ResearcherWorksFeed(Feed):
    """Two queries: the researcher, then their latest listed works with venues."""

    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, pk: int) -> Researcher:
        return get_researcher_or_404(pk)

    def title(self, obj: Researcher) -> str:
        return f"New works by {obj.display_name} · BZPEER"

    def subtitle(self, obj: Researcher) -> str:
        return f"Works of {obj.display_name} as they are imported into BZPEER."

    def link(self, obj: Researcher) -> str:
        return obj.get_absolute_url()

    def feed_url(self, obj: Researcher) -> str:
        return f"/researchers/{obj.pk}/feed.atom"

    def author_name(self, obj: Researcher) -> str:
        return obj.display_name

    def items(self, obj: Researcher) -> list[Work]:
        return list(
            listing.researcher_works(obj)
            .select_related("venue")
            .order_by(
                F("first_imported_at").desc(nulls_last=True),
                F("publication_date").desc(nulls_last=True),
                "-id",
            )[:FEED_ITEMS]
        )

    def item_title(self, item: Work) -> str:
        return item.title or "Untitled work"

    def item_description(self, item: Work) -> str:
        parts = [str(part) for part in (item.type, item.publication_year, item.venue) if part]
        summary = ", ".join(parts)
        return f"{summary}. {item.abstract}" if item.abstract else summary

    def item_link(self, item: Work) -> str:
        return item.get_absolute_url()

    def item_guid(self, item: Work) -> str:
        # The record's own id (an OpenAlex URL or a urn:bzpeer URN): stable across renames.
        return item.source_id

    def item_guid_is_permalink(self, item: Work) -> bool:
        return False

    def _published(self, item: Work) -> datetime | None:
        if item.publication_date:
            return datetime.combine(item.publication_date, time.min, tzinfo=UTC)
        return item.first_imported_at

    def item_pubdate(self, item: Work) -> datetime | None:
        return self._published(item)

    def item_updateddate(self, item: Work) -> datetime:
        # Atom requires <updated> on every entry: the last import, else the publication.
        return item.imported_at or self._published(item) or item.updated_at

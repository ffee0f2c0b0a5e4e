"""Link previews and machine-readable pages: OpenGraph/Twitter card values and schema.org
JSON-LD. Pages build plain dicts with these helpers; base.html renders them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

SITE_NAME = "BZPEER"
DESCRIPTION_MAX = 300

# Inside <script>, "</script>" or "<!--" in a title would end or change the element:
# escape the characters that can start markup (JSON readers decode them back).
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def jsonld_script(data: dict | list) -> SafeString:
    """The JSON for a <script type="application/ld+json"> element, safe inside HTML."""
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_ESCAPES))


@dataclass(frozen=True)
class Social:
    """What a link preview shows (og:* and twitter:* tags)."""

    title: str
    description: str
    url: str
    type: str = "website"  # og:type: profile, article, website

    @property
    def short_description(self) -> str:
        text = " ".join(self.description.split())
        return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"


def absolute(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)


def breadcrumbs(request: HttpRequest, trail: list[tuple[str, str]]) -> dict:
    """A schema.org BreadcrumbList from (name, path) pairs, home first."""
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": index, "name": name, "item": absolute(request, path)}
            for index, (name, path) in enumerate(trail, start=1)
        ],
    }


def _clean(data: dict) -> dict:
    """Drop empty values: absent is better than an empty string in structured data."""
    return {key: value for key, value in data.items() if value not in ("", None, [], {})}


def organization(name: str, *, url: str = "", same_as: list[str] | None = None) -> dict:
    return _clean({"@type": "Organization", "name": name, "url": url, "sameAs": same_as or []})


def person(
    *,
    name: str,
    url: str,
    same_as: list[str],
    affiliation: dict | None = None,
    alternate_names: list[str] | None = None,
    knows_about: list[str] | None = None,
) -> dict:
    return _clean(
        {
            "@context": "https://schema.org",
            "@type": "Person",
            "name": name,
            "url": url,
            "sameAs": [link for link in same_as if link],
            "affiliation": affiliation,
            "alternateName": alternate_names or [],
            "knowsAbout": knows_about or [],
        }
    )


def scholarly_article(
    *,
    headline: str,
    url: str,
    authors: list[dict],
    date_published: str = "",
    doi: str = "",
    same_as: list[str] | None = None,
    is_part_of: dict | None = None,
    about: list[str] | None = None,
    abstract: str = "",
) -> dict:
    return _clean(
        {
            "@context": "https://schema.org",
            "@type": "ScholarlyArticle",
            "headline": headline[:110],  # the length link-preview consumers accept
            "name": headline,
            "url": url,
            "author": authors,
            "datePublished": date_published,
            "identifier": (
                {"@type": "PropertyValue", "propertyID": "DOI", "value": doi} if doi else None
            ),
            "sameAs": [link for link in same_as or [] if link],
            "isPartOf": is_part_of,
            "about": about or [],
            "abstract": abstract,
        }
    )

"""Text filters for profile pages."""

from __future__ import annotations

from django import template

register = template.Library()

# A cut further back than this share of the limit would drop too much: cut mid-word instead.
MIN_KEPT_SHARE = 0.6


@register.filter
def truncate_at_word(value: str, limit: int) -> str:
    """At most `limit` characters (plus the ellipsis), cut at the last space before the
    limit so that no word is broken; punctuation left at the cut goes too."""
    text = str(value or "")
    limit = int(limit)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit + 1)
    if cut < limit * MIN_KEPT_SHARE:
        cut = limit
    return text[:cut].rstrip(" ,;:.-–—(") + "…"

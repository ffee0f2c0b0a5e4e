"""Text-search building blocks shared by the models that carry search indexes.

The database objects (created by the works app's search migration):
* `pg_trgm` and `unaccent`;
* `bzpeer_fold(text)`: lower case without accents. `unaccent()` is only STABLE (its
  dictionary could change), so it cannot sit in an index expression; this wrapper names
  the dictionary explicitly and is declared IMMUTABLE, the usual way to index it. It
  cannot be inlined (its body is only STABLE), so each call is a real function call: its
  declared COST (10000) tells the planner so, and name searches use the trigram indexes
  instead of folding every row;
* two text search configurations that unaccent every word before the dictionary sees it:
  `bzpeer_names` (no stemming, no stop words: "He" and "Li" are surnames) and
  `bzpeer_english` (English stemming, for titles).
"""

from __future__ import annotations

from django.db.models import Func, TextField

NAMES_CONFIG = "bzpeer_names"
TEXT_CONFIG = "bzpeer_english"


class Fold(Func):
    """`bzpeer_fold(expr)`: the form names are indexed and compared in."""

    function = "bzpeer_fold"
    output_field = TextField()

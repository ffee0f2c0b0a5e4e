"""Reads behind the search results, the fragment, the directory and the index pages.

Ranking of researchers (one SQL statement per page, whatever the corpus):
1. Candidates: the search document matches every word, the last as a prefix (full text,
   accents and case folded, any order, a middle name may be missing); when few do, every
   word or one of its near spellings from the names' vocabulary (small typos). At most
   CANDIDATES of them, the most productive first, so a page costs the same for a rare
   name and for the commonest surname.
2. Relevance: ts_rank of the document (the name weighs most, then alternative names,
   institutions, topics) plus the word similarity of the names, rounded to one decimal
   so that equally good matches fall back to the prior.
3. Prior: works count (kept beside the document), then id.
Works rank by full-text rank of the title (English stemming, accents folded), then
citations, among at most CANDIDATES matches read from the narrow title search table
(`works.models.WorkTitleSearch`): those of the most cited tier first (ten citations or
more, then one or more, then the rest: `TITLE_PRIOR_TIERS`, each with its own index), in
the table's order within a tier. Ordering every match by citations would read all of
them, a quarter of the corpus for a common word; a tier is read only while the cap is
not reached. Every list has a fixed number of
queries: ids and total in one statement, then the rows with their related records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet, Value, Window

from bzpeer.search.params import Filters, SearchInput, prefix_tsquery
from bzpeer.textsearch import NAMES_CONFIG, TEXT_CONFIG, Fold
from profiles.models import (
    Researcher,
    ResearcherInstitution,
    ResearcherSearch,
    ResearcherTopic,
    SearchWord,
    TrustBand,
    VerificationLevel,
    visible_sql,
)
from works.models import (
    Authorship,
    Institution,
    Topic,
    Work,
    WorkTitleSearch,
    title_prior_tiers,
)

PER_PAGE = 20
GROUP_SIZE = 5  # per kind on the grouped results page
FRAGMENT_SIZE = 8  # as-you-type suggestions
FACET_VALUES = 8
COUNT_CAP = 1_000  # beyond this a total reads "more than 1,000"
# At most this many matches are ranked and counted per kind: the cost of a page stays
# bounded when a query matches a large part of the corpus (one common word or surname).
CANDIDATES = 1_000
# The as-you-type fragment ranks fewer: its few suggestions come from the most productive
# matches, and a common word then stops at the first of them in the prior's index order.
FRAGMENT_CANDIDATES = 100
# A words query counts its researcher filters over the most productive of its matches: the
# first matches of a common word are prolific people with a hundred topics or more each,
# and counting every topic of a thousand of them cost a results page 70 ms on the 1M
# corpus. The directory (no words) counts over its CANDIDATES.
FACET_CANDIDATES = 250
# Near spellings are looked up when fewer researchers than this match the words as typed,
# at most NEAR_WORDS per word.
NEAR_BELOW = 8
NEAR_WORDS = 5
WORK_AUTHORS_SHOWN = 3


@dataclass
class Ranked:
    """One page of a ranked list: the records, the total (capped) and paging."""

    items: list
    total: int
    page: int
    per_page: int
    exact: bool = False  # the total is the full count (the directory), not a capped one

    @property
    def capped(self) -> bool:
        return not self.exact and self.total > COUNT_CAP

    @property
    def sampled(self) -> bool:
        """More matches than the filter counts cover (the directory's first CANDIDATES, a
        words query's FACET_CANDIDATES most productive matches)."""
        return self.total > (CANDIDATES if self.exact else FACET_CANDIDATES)

    @property
    def has_next(self) -> bool:
        limit = self.total if self.exact else min(self.total, COUNT_CAP)
        return self.page * self.per_page < limit

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def start_index(self) -> int:
        return (self.page - 1) * self.per_page + 1


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool = False
    url: str = ""


@dataclass
class Facet:
    name: str  # the GET parameter
    label: str
    values: list[FacetValue] = field(default_factory=list)


# --- researchers ---------------------------------------------------------------------------


def _researcher_where(filters: Filters) -> tuple[list[str], dict]:
    """SQL conditions on researcher `r` for the filters (parameters by name)."""
    where = [visible_sql("r")]  # not merged, not hidden
    params: dict = {}
    member = ResearcherInstitution._meta.db_table
    rtopic = ResearcherTopic._meta.db_table
    institution = Institution._meta.db_table
    if filters.institution:
        where.append(
            f"EXISTS (SELECT 1 FROM {member} m WHERE m.researcher_id = r.id "
            "AND m.institution_id = %(f_institution)s)"
        )
        params["f_institution"] = filters.institution
    if filters.topic:
        where.append(
            f"EXISTS (SELECT 1 FROM {rtopic} rt WHERE rt.researcher_id = r.id "
            "AND rt.topic_id = %(f_topic)s)"
        )
        params["f_topic"] = filters.topic
    if filters.country:
        # The country of the affiliation the profile shows (none when its subject hid it).
        where.append(
            f"NOT r.affiliation_hidden AND EXISTS (SELECT 1 FROM {institution} li "
            "WHERE li.id = r.last_known_institution_id AND li.country_code = %(f_country)s)"
        )
        params["f_country"] = filters.country
    if filters.claimed:
        where.append("r.owner_id IS NOT NULL")
    if filters.verification is not None:
        where.append("r.verification_level = %(f_verification)s")
        params["f_verification"] = filters.verification
    if filters.trust_band:
        where.append("r.trust_band = %(f_band)s")
        params["f_band"] = filters.trust_band
    if filters.has_orcid:
        where.append("r.orcid IS NOT NULL")
    return where, params


def _match_sql(search: SearchInput) -> tuple[str, dict]:
    """The candidate researchers as a SELECT of (id, relevance, works_count): at most
    CANDIDATES, the most productive first. The researcher rows are read only when a
    filter needs them.

    Two steps in one statement: the documents that match the words as typed; then, only
    when fewer than NEAR_BELOW do, the documents that match with each word or one of its
    near spellings (`SearchWord`), so a typo still finds the person. The second step is
    gated by Postgres itself (a one-time filter): a query with enough exact matches never
    runs it."""
    where, params = _researcher_where(search.filters)
    terms = search.terms
    params.update(
        {
            "tsq": prefix_tsquery(terms),
            "terms": terms,
            "last": len(terms),
            "q": search.query,
            "config": NAMES_CONFIG,
            "near_below": NEAR_BELOW,
            "near_words": NEAR_WORDS,
        }
    )
    join = ""
    if len(where) > 1:  # more than "public" (documents exist for public records only)
        join = f"JOIN {Researcher._meta.db_table} r ON r.id = s.researcher_id"
        condition = " AND " + " AND ".join(where[1:])
    else:
        condition = ""
    search_table = ResearcherSearch._meta.db_table
    words = SearchWord._meta.db_table
    # Near spellings of a folded word `t.folded` (3 letters or more): trigram-similar
    # words, and words under the same first letter within an edit distance of 1 (2 from
    # five letters: a swap of two letters costs 2).
    near_words = f"""
        SELECT string_agg(chr(39) || n.word || chr(39), ' | ') FROM (
            SELECT v.word FROM (
                SELECT sw.word FROM {words} sw WHERE sw.word %% t.folded
                UNION
                SELECT sw.word FROM {words} sw
                WHERE left(sw.word, 1) = left(t.folded, 1)
                  AND length(sw.word) BETWEEN length(t.folded) - 2 AND length(t.folded) + 2
                  AND levenshtein_less_equal(sw.word, t.folded, 2)
                      <= CASE WHEN length(t.folded) < 5 THEN 1 ELSE 2 END
            ) v
            WHERE v.word <> t.folded AND length(t.folded) >= 3
            ORDER BY levenshtein(v.word, t.folded), similarity(v.word, t.folded) DESC, v.word
            LIMIT %(near_words)s
        ) n
    """
    sql = f"""
        WITH typed AS MATERIALIZED (
            SELECT s.researcher_id AS id, s.document, s.names, s.works_count, false AS near
            FROM {search_table} s {join}
            WHERE s.document @@ to_tsquery(%(config)s::regconfig, %(tsq)s){condition}
            ORDER BY s.works_count DESC, s.researcher_id
            LIMIT %(candidates)s
        ),
        near_query AS MATERIALIZED (
            SELECT to_tsquery(%(config)s::regconfig, string_agg(
                       '(' || concat_ws(' | ', t.own, ({near_words})) || ')', ' & '
                       ORDER BY t.ord)) AS q
            FROM (
                SELECT u.ord, bzpeer_fold(u.term) AS folded,
                       CASE WHEN u.ord = %(last)s THEN u.term || ':*' ELSE u.term END AS own
                FROM unnest(%(terms)s::text[]) WITH ORDINALITY AS u(term, ord)
            ) t
        ),
        near AS MATERIALIZED (
            SELECT s.researcher_id AS id, s.document, s.names, s.works_count, true AS near
            FROM {search_table} s {join}
            WHERE (SELECT COUNT(*) FROM typed) < %(near_below)s
              AND s.document @@ (SELECT q FROM near_query)
              AND s.researcher_id NOT IN (SELECT id FROM typed){condition}
            ORDER BY s.works_count DESC, s.researcher_id
            LIMIT %(candidates)s
        )
        SELECT c.id,
               round((ts_rank(c.document,
                              CASE WHEN c.near THEN (SELECT q FROM near_query)
                                   ELSE to_tsquery(%(config)s::regconfig, %(tsq)s) END)
                      + word_similarity(bzpeer_fold(%(q)s), c.names))::numeric, 1)::float
                 AS relevance,
               c.works_count
        FROM (SELECT * FROM typed UNION ALL SELECT * FROM near) c
    """
    return sql, params


RESEARCHER_SORTS = {
    "relevance": "m.relevance DESC, m.works_count DESC, m.id",
    "works": "r.works_count DESC, r.display_name, r.id",
    "name": "r.display_name, r.id",
}


def researchers_for_display() -> QuerySet[Researcher]:
    """The rows of a page of researchers. Only public ones: a record hidden by a plain
    UPDATE (not through the hiding services, which drop its search document) is left out
    of the page until its document is refreshed."""
    return Researcher.objects.visible().select_related("last_known_institution")


def _researcher_facets_sql() -> str:
    """Counts per filter value over the researchers `fm`, as three JSON arrays."""
    researcher = Researcher._meta.db_table
    institution = Institution._meta.db_table
    return f"""
        (SELECT json_agg(g) FROM (
            SELECT r.verification_level AS level, r.trust_band AS band,
                   (r.owner_id IS NOT NULL) AS claimed, (r.orcid IS NOT NULL) AS orcid,
                   COALESCE(li.country_code, '') AS country, COUNT(*) AS n
            FROM fm JOIN {researcher} r ON r.id = fm.id
            LEFT JOIN {institution} li ON li.id = r.last_known_institution_id
                 AND NOT r.affiliation_hidden
            GROUP BY 1, 2, 3, 4, 5) g),
        (SELECT json_agg(x) FROM (
            SELECT i.id, i.display_name AS name, c.n FROM (
                SELECT mi.institution_id, COUNT(*) AS n
                FROM fm JOIN {ResearcherInstitution._meta.db_table} mi ON mi.researcher_id = fm.id
                GROUP BY mi.institution_id ORDER BY n DESC, mi.institution_id LIMIT %(facet_n)s
            ) c JOIN {institution} i ON i.id = c.institution_id) x),
        (SELECT json_agg(y) FROM (
            SELECT t.id, t.display_name AS name, c.n FROM (
                SELECT rt.topic_id, COUNT(*) AS n
                FROM fm JOIN {ResearcherTopic._meta.db_table} rt ON rt.researcher_id = fm.id
                GROUP BY rt.topic_id ORDER BY n DESC, rt.topic_id LIMIT %(facet_n)s
            ) c JOIN {Topic._meta.db_table} t ON t.id = c.topic_id) y)
    """


@dataclass
class ResearcherResults:
    ranked: Ranked
    facets: list[Facet]


def search_researchers(
    search: SearchInput,
    *,
    per_page: int = PER_PAGE,
    page: int = 1,
    sort: str = "relevance",
    facets: bool = False,
    candidates: int = CANDIDATES,
) -> ResearcherResults:
    """A page of researchers, and the filter counts when asked: two queries whatever the
    corpus (one statement for the candidates, their count, the page's ids and the counts;
    then the page's rows). Without words (the directory) the order is by works or name.

    The candidates are capped (CANDIDATES): a query matching more (a very common surname)
    ranks and counts its CANDIDATES most productive matches."""
    researcher = Researcher._meta.db_table
    if search.terms:
        match, params = _match_sql(search)
        order = RESEARCHER_SORTS.get(sort, RESEARCHER_SORTS["relevance"])
        page_ids = f"SELECT m.id FROM m ORDER BY {order}"
        total_sql = "(SELECT COUNT(*) FROM m)"
        counted = "SELECT id FROM m ORDER BY works_count DESC, id LIMIT %(facet_candidates)s"
    else:
        where, params = _researcher_where(search.filters)
        match = f"SELECT r.id FROM {researcher} r WHERE {' AND '.join(where)}"
        order = RESEARCHER_SORTS["works" if sort == "works" else "name"]
        # The directory: the page is read in index order straight from the table; the
        # candidates (for the counts) are the first ones in that order.
        page_ids = f"{match} ORDER BY {order}"
        # Everyone is listed, page after page: the full count (one index-only scan).
        total_sql = f"(SELECT COUNT(*) FROM ({match}) every_one)"
        match = f"{page_ids} LIMIT %(candidates)s"
        counted = "SELECT id FROM m"
    facet_sql = _researcher_facets_sql() if facets else "NULL, NULL, NULL"
    sql = f"""
        WITH m AS MATERIALIZED ({match}),
             fm AS MATERIALIZED ({counted})
        SELECT {total_sql},
               ARRAY({page_ids} LIMIT %(limit)s OFFSET %(offset)s),
               {facet_sql}
    """
    params.update(
        {
            "limit": per_page,
            "offset": (page - 1) * per_page,
            # One more than the cap: the count then tells whether there were more.
            "candidates": candidates + 1,
            "facet_n": FACET_VALUES,
            "facet_candidates": FACET_CANDIDATES,
        }
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total, ids, grouped, institutions, topics = cursor.fetchone()
    by_id = researchers_for_display().in_bulk(ids) if ids else {}
    ranked = Ranked(
        [by_id[i] for i in ids if i in by_id], total, page, per_page, exact=not search.terms
    )
    return ResearcherResults(
        ranked,
        _researcher_facets(search.filters, grouped or [], institutions or [], topics or [])
        if facets
        else [],
    )


def ranked_researchers(
    search: SearchInput,
    *,
    per_page: int = PER_PAGE,
    page: int = 1,
    sort: str = "relevance",
    candidates: int = CANDIDATES,
) -> Ranked:
    return search_researchers(
        search, per_page=per_page, page=page, sort=sort, candidates=candidates
    ).ranked


def _researcher_facets(filters, grouped, institutions, topics) -> list[Facet]:
    levels: dict[int, int] = {}
    bands: dict[str, int] = {}
    countries: dict[str, int] = {}
    claimed = orcid = 0
    for row in grouped:
        level, band, country, n = row["level"], row["band"], row["country"], row["n"]
        is_claimed, has_orcid = row["claimed"], row["orcid"]
        levels[level] = levels.get(level, 0) + n
        bands[band] = bands.get(band, 0) + n
        if country:
            countries[country] = countries.get(country, 0) + n
        claimed += n if is_claimed else 0
        orcid += n if has_orcid else 0
    level_labels = dict(VerificationLevel.choices)
    top_countries = sorted(countries.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_VALUES]
    return [
        Facet(
            "institution",
            "Institution",
            [
                FacetValue(str(row["id"]), row["name"], row["n"], filters.institution == row["id"])
                for row in sorted(institutions, key=lambda row: (-row["n"], row["name"]))
            ],
        ),
        Facet(
            "topic",
            "Topic",
            [
                FacetValue(str(row["id"]), row["name"], row["n"], filters.topic == row["id"])
                for row in sorted(topics, key=lambda row: (-row["n"], row["name"]))
            ],
        ),
        Facet(
            "country",
            "Country",
            [FacetValue(c, c, n, filters.country == c) for c, n in top_countries],
        ),
        Facet("claimed", "Claimed", [FacetValue("1", "Claimed only", claimed, filters.claimed)]),
        Facet(
            "verification",
            "Verification",
            [
                FacetValue(
                    str(level), level_labels[level], levels[level], filters.verification == level
                )
                for level in sorted(levels)
                if level in level_labels
            ],
        ),
        Facet(
            "trust_band",
            "Trust band",
            [
                FacetValue(band, band, bands[band], filters.trust_band == band)
                for band in TrustBand.values
                if band in bands
            ],
        ),
        Facet("has_orcid", "ORCID", [FacetValue("1", "Has an ORCID iD", orcid, filters.has_orcid)]),
    ]


# --- works ---------------------------------------------------------------------------------


def works_for_display() -> QuerySet[Work]:
    first_authors = Authorship.objects.select_related("researcher").order_by("order", "pk")
    return Work.objects.select_related("venue").prefetch_related(
        Prefetch("authorships", queryset=first_authors, to_attr="listed_authorships")
    )


@dataclass
class WorkResults:
    ranked: Ranked
    facets: list[Facet]


def search_works(
    search: SearchInput,
    *,
    per_page: int = PER_PAGE,
    page: int = 1,
    facets: bool = False,
    candidates: int = CANDIDATES,
    full_rows: bool = True,
) -> WorkResults:
    """A page of works ranked by the title's full-text rank (rounded, so equal matches
    fall back to citations), and the type and year counts when asked.

    One statement for the candidates (`WorkTitleSearch`: at most CANDIDATES, the most
    cited tier first), their count, the page's ids and the counts; then the
    rows and their first authors. Ranked by the stored title vector."""
    if not search.terms:
        return WorkResults(Ranked([], 0, page, per_page), [])
    title_search = WorkTitleSearch._meta.db_table
    tsquery = f"to_tsquery('{TEXT_CONFIG}'::regconfig, %(tsq)s)"
    where = [f"s.document @@ {tsquery}"]
    f = search.filters
    params: dict[str, Any] = {"tsq": prefix_tsquery(search.terms)}
    if f.work_type:
        where.append("s.type = %(type)s")
        params["type"] = f.work_type
    if f.year_from:
        where.append("s.publication_year >= %(year_from)s")
        params["year_from"] = f.year_from
    if f.year_to:
        where.append("s.publication_year <= %(year_to)s")
        params["year_to"] = f.year_to
    facet_sql = (
        """(SELECT json_agg(t) FROM (SELECT type, COUNT(*) AS n FROM m WHERE type <> ''
               GROUP BY type ORDER BY n DESC, type LIMIT %(facet_n)s) t),
           (SELECT json_agg(y) FROM (SELECT publication_year AS year, COUNT(*) AS n FROM m
               WHERE publication_year IS NOT NULL GROUP BY publication_year
               ORDER BY publication_year DESC LIMIT %(facet_n)s) y)"""
        if facets
        else "NULL, NULL"
    )
    # The candidates tier by tier, most cited first: Postgres reads a tier only while
    # the cap is not reached. Each tier is its own CTE, planned to read all its matches
    # (its GIN index), then read only as far as the cap needs: under a LIMIT, a tier's
    # own plan would be a sequential scan hoping to stop early, which reads the whole
    # table when the words match nothing there.
    tiers = [
        f"""t{number} AS MATERIALIZED (
            SELECT s.work_id, s.document, s.cited_by_count, s.type, s.publication_year
            FROM {title_search} s WHERE {" AND ".join([*where, tier])})"""
        for number, (_, tier) in enumerate(title_prior_tiers())
    ]
    every_tier = " UNION ALL ".join(f"SELECT * FROM t{n}" for n in range(len(tiers)))
    sql = f"""
        WITH {", ".join(tiers)},
        c AS MATERIALIZED ({every_tier} LIMIT %(candidates)s),
        m AS MATERIALIZED (
            SELECT c.work_id AS id, round(ts_rank(c.document, {tsquery})::numeric, 2) AS rank,
                   c.cited_by_count, c.type, c.publication_year
            FROM c)
        SELECT (SELECT COUNT(*) FROM m),
               ARRAY(SELECT id FROM m ORDER BY rank DESC, cited_by_count DESC NULLS LAST, id
                     LIMIT %(limit)s OFFSET %(offset)s),
               {facet_sql}
    """
    params.update(
        {
            "limit": per_page,
            "offset": (page - 1) * per_page,
            # One more than the cap: the count then tells whether there were more.
            "candidates": candidates + 1,
            "facet_n": FACET_VALUES,
        }
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total, ids, types, years = cursor.fetchone()
    if not full_rows:
        # A suggestion shows the title and year: no venue, no authors.
        brief = Work.objects.only("id", "title", "publication_year").in_bulk(ids) if ids else {}
        return WorkResults(Ranked([brief[i] for i in ids if i in brief], total, page, per_page), [])
    rows = works_for_display().in_bulk(ids) if ids else {}
    items: list[Any] = [rows[i] for i in ids if i in rows]
    for item in items:
        # The first authors only (the prefetch reads the page's authorships once).
        item.first_authorships = item.listed_authorships[:WORK_AUTHORS_SHOWN]
        item.more_authors = max(item.authors_count, len(item.listed_authorships)) - len(
            item.first_authorships
        )
    ranked = Ranked(items, total, page, per_page)
    if not facets:
        return WorkResults(ranked, [])
    type_facet = Facet(
        "type",
        "Type",
        [
            FacetValue(
                row["type"], row["type"].replace("-", " "), row["n"], f.work_type == row["type"]
            )
            for row in types or []
        ],
    )
    year_facet = Facet(
        "year",
        "Year",
        [
            FacetValue(
                str(row["year"]),
                str(row["year"]),
                row["n"],
                f.year_from == f.year_to == row["year"],
            )
            for row in years or []
        ],
    )
    return WorkResults(ranked, [type_facet, year_facet])


def suggested_works(search: SearchInput, *, per_page: int, candidates: int) -> Ranked:
    """Works for the as-you-type suggestions: the ranking of `search_works` from fewer
    candidates, the rows without venue and authors (two queries)."""
    return search_works(search, per_page=per_page, candidates=candidates, full_rows=False).ranked


def ranked_works(search: SearchInput, *, per_page: int = PER_PAGE, page: int = 1) -> Ranked:
    return search_works(search, per_page=per_page, page=page).ranked


# --- topics and institutions ----------------------------------------------------------------


def _by_name(model, search: SearchInput, *, limit: int, page: int = 1) -> Ranked:
    folded = Fold(Value(search.query))
    rows = (
        model.objects.annotate(folded_name=Fold("display_name"))
        .filter(Q(folded_name__contains=folded) | Q(folded_name__trigram_word_similar=folded))
        .order_by("-researchers_count", "display_name", "pk")
    )
    start = (page - 1) * limit
    # The total rides on each row (a window count): one query, found or not.
    items = list(rows.annotate(total=Window(Count("pk")))[start : start + limit])
    total = items[0].total if items else 0
    return Ranked(items, total, page, limit)


def ranked_topics(search: SearchInput, *, per_page: int = PER_PAGE, page: int = 1) -> Ranked:
    return _by_name(Topic, search, limit=per_page, page=page)


def ranked_institutions(search: SearchInput, *, per_page: int = PER_PAGE, page: int = 1) -> Ranked:
    return _by_name(Institution, search, limit=per_page, page=page)

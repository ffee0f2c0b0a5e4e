"""Write the benchmark corpus as an OpenAlex snapshot tree (what `make bench-import` imports).

Layout, as OpenAlex publishes it:
    <root>/data/<entity>/updated_date=YYYY-MM-DD/part_NNN.gz   gzipped JSON Lines
    <root>/data/<entity>/manifest                              JSON: every part, its size
                                                               and record count
for the entities institutions, sources, topics, authors and works. Records carry the fields
the importer reads at real sizes (an abstract of about 150 words as an inverted index,
locations, topics with their hierarchy, authorships with institutions, about 25 references,
counts by year), so parsing and transfer cost what they cost on real data.

Works are streamed from the corpus files (works, authorships and work topics are written in
work order), so memory stays flat whatever the size.
"""

from __future__ import annotations

import gzip
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from graph.bench.corpus import WORDS, Corpus

OPENALEX = "https://openalex.org/"
# Parts small enough that `--workers 2` keeps both processes busy at 100k works (ten works
# parts, two author parts); OpenAlex's own parts are larger, and more numerous.
WORKS_PER_PART = 10_000
OTHERS_PER_PART = 20_000
UPDATED = "2025-01-01"
ABSTRACT_WORDS = 150
REFERENCES = 25
GZIP_LEVEL = 1  # OpenAlex's parts are gzip; the level changes the writing time, not the reading


@dataclass
class SnapshotStats:
    parts: int = 0
    records: dict[str, int] = field(default_factory=dict)
    bytes: int = 0


def _tsv(path: Path) -> Iterator[list[str]]:
    with path.open() as source:
        for line in source:
            yield line.rstrip("\n").split("\t")


class _PartWriter:
    def __init__(self, root: Path, entity: str, per_part: int, stats: SnapshotStats) -> None:
        self.directory = root / "data" / entity / f"updated_date={UPDATED}"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.entity = entity
        self.per_part = per_part
        self.stats = stats
        self.entries: list[dict] = []
        self.handle: gzip.GzipFile | None = None
        self.count = 0
        self.path: Path | None = None

    def write(self, record: dict) -> None:
        if self.handle is None or self.count >= self.per_part:
            self._close_part()
            self.path = self.directory / f"part_{len(self.entries):03d}.gz"
            self.handle = gzip.open(self.path, "wb", compresslevel=GZIP_LEVEL)  # noqa: SIM115 (closed in _close_part)
            self.count = 0
        self.handle.write(orjson.dumps(record) + b"\n")
        self.count += 1

    def _close_part(self) -> None:
        if self.handle is None or self.path is None:
            return
        self.handle.close()
        size = self.path.stat().st_size
        relative = self.path.relative_to(self.root).as_posix()
        self.entries.append(
            {
                "url": f"s3://openalex/{relative}",
                "meta": {"content_length": size, "record_count": self.count},
            }
        )
        self.stats.parts += 1
        self.stats.bytes += size
        self.handle = None

    def close(self) -> None:
        self._close_part()
        manifest: dict[str, Any] = {
            "entries": self.entries,
            "meta": {
                "content_length": sum(e["meta"]["content_length"] for e in self.entries),
                "record_count": sum(e["meta"]["record_count"] for e in self.entries),
            },
        }
        (self.root / "data" / self.entity / "manifest").write_bytes(
            orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
        )
        self.stats.records[self.entity] = manifest["meta"]["record_count"]


def _id(letter: str, number: int | str) -> str:
    return f"{OPENALEX}{letter}{number}"


def _institution(number: int, name: str, country: str) -> dict:
    return {
        "id": _id("I", number),
        "display_name": name,
        "ror": f"https://ror.org/0{number:06d}{number % 100:02d}"[:25],
        "country_code": country,
        "type": "education",
    }


def _topic(number: int, name: str) -> dict:
    field_name = WORDS[number % len(WORDS)].title() + " studies"
    return {
        "id": _id("T", number),
        "display_name": name,
        "subfield": {"id": _id("subfields/", 1000 + number % 250), "display_name": "Sub"},
        "field": {"id": _id("fields/", 10 + number % 26), "display_name": field_name},
        "domain": {"id": _id("domains/", 1 + number % 4), "display_name": "Domain"},
    }


def write_snapshot(
    corpus: Corpus,
    root: Path,
    seed: int = 7,
    *,
    works_per_part: int = WORKS_PER_PART,
    others_per_part: int = OTHERS_PER_PART,
) -> SnapshotStats:
    """Turn the corpus files in `corpus.directory` (after `generate()`) into a snapshot tree
    at `root`. The small tables come from the corpus' own generators."""
    rnd = random.Random(seed)
    stats = SnapshotStats()
    institutions = {
        int(i): (name, country) for i, _, name, country in corpus.institutions()
    }  # small: one per 100 works
    topics = {int(i): name for i, _, name in corpus.topics()}
    venues = {int(i): name for i, _, name in corpus.venues()}

    writer = _PartWriter(root, "institutions", others_per_part, stats)
    for number, (name, country) in institutions.items():
        writer.write(
            {**_institution(number, name, country), "works_count": 0, "updated_date": UPDATED}
        )
    writer.close()
    writer = _PartWriter(root, "sources", others_per_part, stats)
    for number, name in venues.items():
        writer.write(
            {
                "id": _id("S", number),
                "display_name": name,
                "issn_l": f"{number % 10000:04d}-{number % 9999:04d}",
                "type": "journal",
                "homepage_url": f"https://journal.example.org/{number}",
                "updated_date": UPDATED,
            }
        )
    writer.close()
    writer = _PartWriter(root, "topics", others_per_part, stats)
    for number, name in topics.items():
        writer.write({**_topic(number, name), "updated_date": UPDATED})
    writer.close()

    researcher_institution: dict[int, int] = {}
    writer = _PartWriter(root, "authors", others_per_part, stats)
    for researcher_key, _source, name, institution, _orcid in _tsv(corpus.path("researchers")):
        r, i = int(researcher_key), int(institution)
        researcher_institution[r] = i
        orcid = f"0000-000{r % 3}-{r // 10000 % 10000:04d}-{r % 10000:04d}" if r % 3 == 0 else None
        writer.write(
            {
                "id": _id("A", r),
                "orcid": f"https://orcid.org/{orcid}" if orcid else None,
                "display_name": name,
                "display_name_alternatives": [name, name.upper()],
                "last_known_institutions": [_institution(i, *institutions[i])],
                "works_count": 0,
                "cited_by_count": 0,
                "counts_by_year": [{"year": 2024, "works_count": 1, "cited_by_count": 2}],
                "updated_date": UPDATED,
            }
        )
    writer.close()

    authorships = itertools.groupby(_tsv(corpus.path("authorships")), key=lambda row: int(row[1]))
    work_topics = itertools.groupby(_tsv(corpus.path("work_topics")), key=lambda row: int(row[1]))
    next_authors = next(authorships, None)
    next_topics = next(work_topics, None)
    writer = _PartWriter(root, "works", works_per_part, stats)
    for work_key, _source, title, year, venue, cited, _count, _team, _doi in _tsv(
        corpus.path("works")
    ):
        w = int(work_key)
        team: list[list[str]] = []
        if next_authors is not None and next_authors[0] == w:
            team = list(next_authors[1])
            next_authors = next(authorships, None)
        chosen: list[int] = []
        if next_topics is not None and next_topics[0] == w:
            chosen = [int(row[2]) for row in next_topics[1]]
            next_topics = next(work_topics, None)
        writer.write(_work(rnd, w, title, int(year), int(venue), int(cited), team, chosen,
                           institutions, researcher_institution, topics, venues))  # fmt: skip
    writer.close()
    return stats


def _work(
    rnd: random.Random,
    w: int,
    title: str,
    year: int,
    venue: int,
    cited: int,
    team: list[list[str]],
    chosen: list[int],
    institutions: dict[int, tuple[str, str]],
    researcher_institution: dict[int, int],
    topics: dict[int, str],
    venues: dict[int, str],
) -> dict:
    words = [rnd.choice(WORDS) for _ in range(ABSTRACT_WORDS)]
    inverted: dict[str, list[int]] = {}
    for position, word in enumerate(words):
        inverted.setdefault(word, []).append(position)
    source = {"id": _id("S", venue), "display_name": venues[venue], "type": "journal"}
    location = {
        "is_oa": True,
        "landing_page_url": f"https://doi.org/10.5555/bench.{w}",
        "pdf_url": None,
        "source": source,
        "license": "cc-by",
        "version": "publishedVersion",
    }
    authorships = []
    for _row_id, _work_id, person_key, author_position, _order in team:
        r = int(person_key)
        i = researcher_institution.get(r, 1)
        authorships.append(
            {
                "author_position": author_position,
                "author": {"id": _id("A", r), "display_name": f"Researcher {r}", "orcid": None},
                "institutions": [_institution(i, *institutions[i])],
                "countries": [institutions[i][1]],
                "is_corresponding": author_position == "first",
                "raw_author_name": f"Researcher {r}",
                "raw_affiliation_strings": [institutions[i][0]],
            }
        )
    return {
        "id": _id("W", w),
        "doi": f"https://doi.org/10.5555/bench.{w}",
        "title": title,
        "display_name": title,
        "publication_year": year,
        "publication_date": f"{year}-06-15",
        "ids": {"openalex": _id("W", w), "doi": f"https://doi.org/10.5555/bench.{w}"},
        "language": "en",
        "primary_location": location,
        "locations": [location],
        "type": "article",
        "open_access": {"is_oa": True, "oa_status": "gold"},
        "authorships": authorships,
        "cited_by_count": cited,
        "topics": [
            {**_topic(t, topics[t]), "score": round(0.99 - k * 0.1, 4)}
            for k, t in enumerate(chosen)
        ],
        "referenced_works": [_id("W", rnd.randrange(1, w + 2)) for _ in range(REFERENCES)],
        "abstract_inverted_index": inverted,
        "counts_by_year": [{"year": year, "cited_by_count": cited}],
        "updated_date": f"{UPDATED}T00:00:00.000000",
        "created_date": f"{year}-06-20",
    }

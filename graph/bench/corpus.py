"""A synthetic but realistically shaped corpus, written as COPY text files.

Shape (for `works` works; 1,000,000 by default):
1. Researchers: 0.4 per work. Productivity is lognormal (sigma 1.6, capped), so most
   researchers have one or two works and a few have thousands.
2. Labs: researchers are grouped 25 to a lab; a lab has an institution and three topics.
   A work's lead author is drawn by productivity; three co-authors in four come from the
   lead's lab, so the same people publish together again, as they do.
3. Team sizes: 40% single author, then falling off; 2% with 11-30 authors, 0.15% with
   31-100, and 0.05% hyper-authored (101-1,000 authors, the ones that make no edges).
   About 3.2 authorships per work.
4. Planted researchers with exactly 20, 200 and 5,000 works lead that many works, so the
   benchmark always has its three sizes.
5. Years lean recent (exponential back from 2025), citations are Pareto-distributed,
   each work has one to three topics (mostly the lab's), a venue and a DOI.
6. Names and titles shaped like real text (`names.py`): accented first and last names
   from many languages, some with a middle name or initial; three researchers in five
   have an ORCID iD; titles of seven words from a few hundred, Zipf-distributed.
Everything comes from seeded generators: the same `works` gives the same corpus.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from graph.bench.names import Names, orcid_for

PLANTED = (20, 200, 5_000)
TEAM_SIZES = [  # (smallest, largest, share of works)
    (1, 1, 0.40),
    (2, 2, 0.26),
    (3, 3, 0.14),
    (4, 4, 0.08),
    (5, 5, 0.05),
    (6, 10, 0.0495),
    (11, 30, 0.0185),
    (31, 100, 0.0015),
    (101, 1_000, 0.0005),
]
LAB_SIZE = 25
LAB_SHARE = 0.75
PRODUCTIVITY_SIGMA = 1.6
PRODUCTIVITY_CAP = 1_000.0
WORDS = [
    "graph",
    "learning",
    "neural",
    "protein",
    "climate",
    "network",
    "model",
    "language",
    "quantum",
    "cell",
    "optimisation",
    "inference",
    "genome",
    "survey",
    "causal",
    "robust",
    "sparse",
    "transformer",
    "ocean",
    "catalysis",
    "imaging",
    "policy",
    "theory",
    "dynamics",
    "signal",
]


@dataclass
class Scale:
    works: int
    researchers: int
    topics: int
    institutions: int
    venues: int

    @classmethod
    def for_works(cls, works: int) -> Scale:
        return cls(
            works=works,
            researchers=max(len(PLANTED) + 10, int(works * 0.4)),
            topics=min(4_500, max(30, works // 200)),
            institutions=max(20, works // 100),
            venues=max(10, works // 200),
        )


@dataclass
class Stats:
    works: int = 0
    authorships: int = 0
    work_topics: int = 0
    hyper_authored: int = 0
    team_sizes: dict[str, int] = field(default_factory=dict)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class Corpus:
    """Writes one TSV file per table (ids assigned here, from 1) into `directory`."""

    def __init__(self, scale: Scale, directory: Path, seed: int = 42) -> None:
        self.scale = scale
        self.directory = directory
        self.random = random.Random(seed)
        self.names = Names(seed + 1)
        self.stats = Stats()

    def path(self, table: str) -> Path:
        return self.directory / f"{table}.tsv"

    # --- the small tables -----------------------------------------------------------------

    def institutions(self) -> Iterator[tuple]:
        countries = ["US", "GB", "FR", "DE", "CN", "JP", "BR", "IN", "CA", "NL"]
        for i in range(1, self.scale.institutions + 1):
            yield (i, f"urn:bzpeer:bench:I{i}", f"Institute {i}", countries[i % len(countries)])

    def venues(self) -> Iterator[tuple]:
        for i in range(1, self.scale.venues + 1):
            yield (i, f"urn:bzpeer:bench:S{i}", f"Journal of Synthetic Studies {i}")

    def topics(self) -> Iterator[tuple]:
        for i in range(1, self.scale.topics + 1):
            name = f"{WORDS[i % len(WORDS)].title()} {WORDS[(i * 7) % len(WORDS)]} {i}"
            yield (i, f"urn:bzpeer:bench:T{i}", name)

    # --- researchers and works ----------------------------------------------------------------

    def generate(self) -> None:
        rnd = self.random
        scale = self.scale
        n_researchers = scale.researchers
        n_labs = max(1, n_researchers // LAB_SIZE)
        lab_of = [0] * (n_researchers + 1)
        weights = [0.0] * (n_researchers + 1)
        for r in range(1, n_researchers + 1):
            lab_of[r] = rnd.randrange(n_labs)
            weights[r] = min(PRODUCTIVITY_CAP, math.exp(rnd.gauss(0.0, PRODUCTIVITY_SIGMA)))
        planted = list(range(1, len(PLANTED) + 1))  # researchers 1..3
        for r in planted:
            weights[r] = 0.0  # they lead exactly their planted works, nothing else
        # Lab mates drawn as co-authors; the planted researchers are never drawn (they are on
        # exactly their planted works).
        members: list[list[int]] = [[] for _ in range(n_labs)]
        for r in range(len(PLANTED) + 1, n_researchers + 1):
            members[lab_of[r]].append(r)
        for lab in members:
            if not lab:
                lab.append(n_researchers)
        lab_institution = [rnd.randrange(1, scale.institutions + 1) for _ in range(n_labs)]
        lab_topics = [[rnd.randrange(1, scale.topics + 1) for _ in range(3)] for _ in range(n_labs)]
        cumulative = list(itertools.accumulate(weights[1:]))
        total = cumulative[-1]

        def by_productivity() -> int:
            return bisect.bisect_left(cumulative, rnd.random() * total) + 1

        with self.path("researchers").open("w") as out:
            for r in range(1, n_researchers + 1):
                # Drawn for every row (planted ones too), so the names stay the same.
                drawn = self.names.person()
                name = drawn if r not in planted else f"Planted {PLANTED[r - 1]}"
                orcid = orcid_for(r) if r % 5 < 3 else r"\N"
                out.write(
                    f"{r}\turn:bzpeer:bench:A{r}\t{_escape(name)}\t{lab_institution[lab_of[r]]}"
                    f"\t{orcid}\n"
                )

        # Which works the planted researchers lead: spread over the whole run.
        forced: dict[int, int] = {}
        slots = rnd.sample(range(1, scale.works + 1), k=min(scale.works, sum(PLANTED)))
        start = 0
        for r, count in zip(planted, PLANTED, strict=True):
            for w in slots[start : start + count]:
                forced[w] = r
            start += count

        buckets = list(itertools.accumulate(share for _, _, share in TEAM_SIZES))
        counts = {f"{lo}-{hi}": 0 for lo, hi, _ in TEAM_SIZES}
        stats = self.stats
        with (
            self.path("works").open("w") as works_out,
            self.path("authorships").open("w") as authorships_out,
            self.path("work_topics").open("w") as topics_out,
        ):
            authorship_id = 0
            work_topic_id = 0
            for w in range(1, scale.works + 1):
                index = min(
                    bisect.bisect_left(buckets, rnd.random() * buckets[-1]), len(buckets) - 1
                )
                lo, hi, _ = TEAM_SIZES[index]
                size = rnd.randint(lo, hi)
                counts[f"{lo}-{hi}"] += 1
                lead = forced.get(w) or by_productivity()
                lab = members[lab_of[lead]]
                team = [lead]
                seen = {lead}
                for _ in range(size - 1):
                    if size <= 100 and rnd.random() < LAB_SHARE:
                        person = lab[rnd.randrange(len(lab))]
                    else:
                        person = by_productivity()
                    if person not in seen:
                        seen.add(person)
                        team.append(person)
                year = max(1970, 2025 - int(rnd.expovariate(1 / 8)))
                cited = min(100_000, int(rnd.paretovariate(1.2)) - 1)
                venue = rnd.randrange(1, scale.venues + 1)
                title = self.names.title()
                works_out.write(
                    f"{w}\turn:bzpeer:bench:W{w}\t{_escape(title)}\t{year}\t{venue}"
                    f"\t{cited}\t{len(team)}\t{len(team)}\t10.5555/bzpeer-bench.{w}\n"
                )
                for order, person in enumerate(team):
                    authorship_id += 1
                    position = (
                        "first" if order == 0 else "last" if order == len(team) - 1 else "middle"
                    )
                    authorships_out.write(f"{authorship_id}\t{w}\t{person}\t{position}\t{order}\n")
                topics = {lab_topics[lab_of[lead]][rnd.randrange(3)]}
                for _ in range(rnd.randrange(3)):
                    topics.add(
                        lab_topics[lab_of[lead]][rnd.randrange(3)]
                        if rnd.random() < 0.7
                        else rnd.randrange(1, scale.topics + 1)
                    )
                for topic in topics:
                    work_topic_id += 1
                    topics_out.write(f"{work_topic_id}\t{w}\t{topic}\n")
                if len(team) > 100:
                    stats.hyper_authored += 1
            stats.works = scale.works
            stats.authorships = authorship_id
            stats.work_topics = work_topic_id
            stats.team_sizes = counts

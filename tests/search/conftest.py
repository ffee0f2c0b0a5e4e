"""A small OpenAlex corpus written as JSON lines and imported with the real importer, so
search reads what an import leaves (documents, membership, counts), not factory rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from bzpeer.curation.importing import import_openalex
from profiles.models import Researcher
from works.models import Institution, Topic, Work

OA = "https://openalex.org/"
DEEPMIND = {
    "id": f"{OA}I4210090411",
    "display_name": "DeepMind (United Kingdom)",
    "ror": "https://ror.org/00971b260",
    "country_code": "GB",
    "type": "company",
}
GRANADA = {
    "id": f"{OA}I173304897",
    "display_name": "Universidad de Granada",
    "ror": "https://ror.org/04njjy449",
    "country_code": "ES",
    "type": "education",
}
KYOTO = {
    "id": f"{OA}I22299242",
    "display_name": "Kyoto University",
    "ror": "https://ror.org/02kpeqv85",
    "country_code": "JP",
    "type": "education",
}
PROTEIN = {"id": f"{OA}T10044", "display_name": "Protein Structure and Dynamics"}
ROBOTS = {"id": f"{OA}T10462", "display_name": "Reinforcement Learning in Robotics"}
MARIA_ORCID = "0000-0002-1825-0097"
GARCIAS = 24  # more than a page of the grouped results, less than a full page


def author(key: str, name: str, *, institution=None, orcid=None, alternatives=()):
    record = {
        "id": f"{OA}{key}",
        "display_name": name,
        "display_name_alternatives": list(alternatives),
        "last_known_institutions": [institution] if institution else [],
    }
    if orcid:
        record["orcid"] = f"https://orcid.org/{orcid}"
    return record


def work(key: str, title: str, authors, *, year=2021, doi=None, ids=None, topics=(), cited=0):
    return {
        "id": f"{OA}{key}",
        "doi": doi,
        "title": title,
        "display_name": title,
        "publication_year": year,
        "type": "article",
        "ids": {"openalex": f"{OA}{key}", **(ids or {})},
        "cited_by_count": cited,
        "topics": [dict(t, score=0.9) for t in topics],
        "authorships": [
            {
                "author_position": "first" if i == 0 else "middle",
                "author": {"id": f"{OA}{a}", "display_name": name},
                "institutions": [inst] if inst else [],
                "raw_author_name": name,
            }
            for i, (a, name, inst) in enumerate(authors)
        ],
    }


@dataclass
class Corpus:
    maria: Researcher
    hassabis: Researcher
    jumper: Researcher
    garcias: list[Researcher]
    alphafold: Work
    alphago: Work
    deepmind: Institution
    granada: Institution
    protein: Topic


def write_corpus(directory: Path, *, extra_garcias: int = 0) -> list[Path]:
    authors = [
        author(
            "A5000000001",
            "María José Ramírez Cacho",
            institution=GRANADA,
            orcid=MARIA_ORCID,
            alternatives=["Marijose Ramírez", "M. J. Ramírez-Cacho"],
        ),
        author("A5000000002", "Demis Hassabis", institution=DEEPMIND),
        # Last seen in Kyoto, but the AlphaFold paper names DeepMind.
        author("A5000000003", "John Jumper", institution=KYOTO),
    ]
    works = [
        work(
            "W3177828909",
            "Highly accurate protein structure prediction with AlphaFold",
            [
                ("A5000000003", "John Jumper", DEEPMIND),
                ("A5000000002", "Demis Hassabis", DEEPMIND),
            ],
            doi="https://doi.org/10.1038/s41586-021-03819-2",
            topics=[PROTEIN],
            cited=20000,
        ),
        work(
            "W2772709170",
            "Mastering chess and shogi by self-play with a general reinforcement learning "
            "algorithm",
            [("A5000000002", "Demis Hassabis", DEEPMIND)],
            year=2017,
            ids={"arxiv": "arXiv:1712.01815"},
            topics=[ROBOTS],
            cited=1500,
        ),
        work(
            "W3000000001",
            "Análisis de la dinámica de proteínas",
            [("A5000000001", "María José Ramírez Cacho", GRANADA)],
            year=2019,
            topics=[PROTEIN],
        ),
    ]
    for i in range(GARCIAS + extra_garcias):
        key = f"A51{i:08d}"
        name = (
            f"{['Ana', 'Luis', 'Pedro', 'Inés'][i % 4]} García {['Núñez', 'Ortega', 'Soto'][i % 3]}"
        )
        place = GRANADA if i % 2 == 0 else KYOTO
        authors.append(author(key, name, institution=place))
        # Works 1..n: a clear prior (most works first among equal matches).
        for j in range(i % 5 + 1):
            works.append(
                work(
                    f"W41{i:05d}{j:03d}",
                    f"Field notes {i} {j} on protein folding"
                    if i % 3 == 1
                    else f"Field notes {i} {j}",
                    [(key, name, place)],
                    year=2000 + j,
                    topics=[ROBOTS] if i % 3 == 0 else [PROTEIN] if i % 3 == 1 else [],
                )
            )
    paths = []
    for name, records in (("authors", authors), ("works", works)):
        path = directory / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        paths.append(path)
    return paths


def load_corpus(directory: Path, *, extra_garcias: int = 0) -> Corpus:
    import_openalex(write_corpus(directory, extra_garcias=extra_garcias))
    researcher = Researcher.objects.get
    return Corpus(
        maria=researcher(source_id=f"{OA}A5000000001"),
        hassabis=researcher(source_id=f"{OA}A5000000002"),
        jumper=researcher(source_id=f"{OA}A5000000003"),
        garcias=list(Researcher.objects.filter(display_name__contains="García")),
        alphafold=Work.objects.get(source_id=f"{OA}W3177828909"),
        alphago=Work.objects.get(source_id=f"{OA}W2772709170"),
        deepmind=Institution.objects.get(source_id=DEEPMIND["id"]),
        granada=Institution.objects.get(source_id=GRANADA["id"]),
        protein=Topic.objects.get(source_id=PROTEIN["id"]),
    )


@pytest.fixture
def corpus(db, tmp_path) -> Corpus:
    return load_corpus(tmp_path)

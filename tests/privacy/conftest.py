"""A small world around one record to hide: Ada (the subject) wrote two papers with Bob;
Cara publishes on the same topic and never worked with either (a suggestion for Bob);
Ada and Bob are at one institution."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from profiles.models import Researcher
from tests.builders import bulk_authorships, bulk_works, link_topics, refresh
from tests.claims.helpers import make_user
from tests.factories import InstitutionFactory, ResearcherFactory, TopicFactory
from works.models import Institution, Topic, Work


@dataclass
class World:
    ada: Researcher
    bob: Researcher
    cara: Researcher
    topic: Topic
    institution: Institution
    works: list[Work]


@pytest.fixture
def world(db) -> World:
    place = InstitutionFactory(display_name="Analytical Engine Institute")
    topic = TopicFactory(display_name="Computing Machinery")
    ada = ResearcherFactory(
        display_name="Ada Lovelace",
        summary="Writes notes on engines.",
        last_known_institution=place,
    )
    bob = ResearcherFactory(display_name="Bob Babbage", last_known_institution=place)
    cara = ResearcherFactory(display_name="Cara Countess")
    shared = bulk_works(2, each=lambda i: {"title": f"Notes on the engine {i}", "authors_count": 2})
    own = bulk_works(3, each=lambda i: {"title": f"Cara's machine {i}"})
    link_topics((work, topic) for work in [*shared, *own])
    bulk_authorships([(work, [ada, bob]) for work in shared] + [(w, [cara]) for w in own])
    refresh([ada, bob, cara], edges=True)
    for person in (bob, cara):
        person.refresh_from_db()
    return World(ada, bob, cara, topic, place, shared)


@pytest.fixture
def curator(db):
    return make_user("ellen.ripley@curators.test", staff=True)


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client

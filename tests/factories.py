"""factory_boy factories shared by every test package."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from profiles.models import Researcher, VerificationLevel
from works.models import Authorship, Institution, Source, Topic, Work


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw-test-123")


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    source_id = factory.Sequence(lambda n: f"urn:bzpeer:test:I{n}")
    display_name = factory.Sequence(lambda n: f"University {n}")
    is_stub = False


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    source_id = factory.Sequence(lambda n: f"urn:bzpeer:test:S{n}")
    display_name = factory.Sequence(lambda n: f"Journal {n}")
    type = "journal"
    is_stub = False


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic

    source_id = factory.Sequence(lambda n: f"urn:bzpeer:test:T{n}")
    display_name = factory.Sequence(lambda n: f"Topic {n}")
    is_stub = False


class ResearcherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Researcher

    source_id = factory.Sequence(lambda n: f"urn:bzpeer:test:A{n}")
    display_name = factory.Sequence(lambda n: f"Researcher {n}")
    verification_level = VerificationLevel.L1
    is_stub = False


class WorkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Work

    source_id = factory.Sequence(lambda n: f"urn:bzpeer:test:W{n}")
    title = factory.Sequence(lambda n: f"A study of things, part {n}")
    type = "article"
    publication_year = 2020
    venue = factory.SubFactory(SourceFactory)
    authors_count = 1
    # Tests set the record's entry count; the resolved team is the same unless they say so.
    team_size = factory.SelfAttribute("authors_count")


class AuthorshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Authorship

    work = factory.SubFactory(WorkFactory)
    researcher = factory.SubFactory(ResearcherFactory)
    author_position = "first"
    order = 0
    raw_author_name = factory.LazyAttribute(lambda a: a.researcher.display_name)

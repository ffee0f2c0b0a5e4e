"""The search documents and institution membership follow the data: imports, merges,
curators' edits, hidden works."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from bzpeer.curation.derived import refresh_derived_data
from bzpeer.curation.importing import import_openalex
from bzpeer.curation.services import hide_works, merge_researchers, researcher_edited
from profiles.models import ResearcherInstitution, ResearcherSearch, SearchWord
from tests.factories import ResearcherFactory
from tests.search.conftest import PROTEIN, ROBOTS, write_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def curator(django_user_model):
    """A superuser: these tests are about the documents, not permissions, and the Curators
    group (a data migration's row) is gone after a transactional test flushed the tables."""
    return django_user_model.objects.create_superuser(username="curator", email="c@example.org")


def found(client, query: str, researcher) -> bool:
    html = client.get(reverse("search"), {"q": query, "kind": "researchers"}).content.decode()
    return f'href="{researcher.get_absolute_url()}"' in html


def test_an_import_writes_a_document_per_researcher(corpus):
    document = ResearcherSearch.objects.get(researcher=corpus.maria)

    assert document.names == "maria jose ramirez cacho marijose ramirez m. j. ramirez-cacho"
    assert "granada" in str(document.document)
    assert ResearcherInstitution.objects.filter(
        researcher=corpus.jumper, institution=corpus.deepmind, works_count=1
    ).exists()


def test_the_words_of_names_join_the_vocabulary_of_near_spellings(corpus, curator):
    words = set(SearchWord.objects.values_list("word", flat=True))
    assert {"maria", "jose", "ramirez", "cacho", "marijose", "hassabis"} <= words
    assert "granada" not in words  # an institution's word, not a name's

    corpus.maria.display_name = "María José Ramírez-Olmedo"
    corpus.maria.save()
    researcher_edited(researcher=corpus.maria, curator=curator)

    assert SearchWord.objects.filter(word="olmedo").exists()


def test_a_typo_in_an_edited_name_still_finds_it(client, corpus, curator):
    corpus.maria.display_name = "María José Ramírez-Olmedo"
    corpus.maria.save()
    researcher_edited(researcher=corpus.maria, curator=curator)

    assert found(client, "Ramirez Olmdeo", corpus.maria)


def test_a_reimport_with_a_new_name_updates_the_document(client, corpus, tmp_path):
    paths = write_corpus(tmp_path)
    text = paths[0].read_text().replace("Demis Hassabis", "Demis H. Hassabis-Renamed")
    paths[0].write_text(text)

    import_openalex([paths[0]])

    corpus.hassabis.refresh_from_db()  # the new name, the new slug
    assert found(client, "Renamed", corpus.hassabis)


def test_a_merged_duplicate_is_found_as_its_survivor(client, corpus, curator):
    duplicate = ResearcherFactory(display_name="Demis Hasabis-Duplicate")
    refresh_derived_data(researcher_ids=[duplicate.pk])
    assert found(client, "Hasabis-Duplicate", duplicate)

    merge_researchers(survivor=corpus.hassabis, duplicates=[duplicate], curator=curator)

    assert found(client, "Hasabis-Duplicate", corpus.hassabis)  # now an alternative name
    assert not found(client, "Hasabis-Duplicate", duplicate)
    assert not ResearcherSearch.objects.filter(researcher=duplicate).exists()


def test_a_curators_edit_of_the_name_is_searchable(client, corpus, curator):
    corpus.maria.display_name = "María José Ramírez-Olmedo"
    corpus.maria.save()
    researcher_edited(researcher=corpus.maria, curator=curator)  # the admin's save, after

    assert found(client, "Olmedo", corpus.maria)


def test_hiding_the_only_work_naming_an_institution_drops_the_membership(client, corpus, curator):
    assert found(client, "Jumper DeepMind", corpus.jumper)

    hide_works(works=[corpus.alphafold], curator=curator)

    assert not ResearcherInstitution.objects.filter(
        researcher=corpus.jumper, institution=corpus.deepmind
    ).exists()
    assert not found(client, "Jumper DeepMind", corpus.jumper)
    corpus.deepmind.refresh_from_db()
    assert corpus.deepmind.researchers_count == 1  # Hassabis, last seen there


def _recounted_topics() -> dict[int, int]:
    from django.db.models import Count

    from profiles.models import ResearcherTopic
    from works.models import Topic

    counted = dict(
        ResearcherTopic.objects.filter(
            researcher__merged_into__isnull=True, researcher__hidden_at__isnull=True
        )
        .values_list("topic_id")
        .annotate(n=Count("researcher_id"))
    )
    return {topic.pk: counted.get(topic.pk, 0) for topic in Topic.objects.all()}


def test_a_reimport_moving_works_between_topics_moves_their_counts(corpus, tmp_path):
    from works.models import Topic

    stored = dict(Topic.objects.values_list("pk", "researchers_count"))
    assert stored == _recounted_topics()
    paths = write_corpus(tmp_path)
    # Every protein-folding work moves to robotics: their authors leave one topic.
    records = [json.loads(line) for line in paths[1].read_text().splitlines()]
    for record in records:
        record["updated_date"] = "2030-01-01T00:00:00"  # newer than the stored copy
    text = "".join(json.dumps(record) + "\n" for record in records)
    paths[1].write_text(text.replace(PROTEIN["id"], ROBOTS["id"]))

    import_openalex([paths[1]])

    stored = dict(Topic.objects.values_list("pk", "researchers_count"))
    assert stored == _recounted_topics()
    protein = Topic.objects.get(source_id=PROTEIN["id"])
    assert protein.researchers_count == 0


def _search_state() -> dict[str, object]:
    from works.models import Institution, Topic

    return {
        "member": sorted(
            ResearcherInstitution.objects.values_list(
                "researcher_id", "institution_id", "works_count", "is_last_known"
            )
        ),
        "documents": sorted(
            (d.researcher_id, str(d.document), d.names, d.works_count)
            for d in ResearcherSearch.objects.all()
        ),
        "words": sorted(SearchWord.objects.values_list("word", flat=True)),
        "institutions": sorted(Institution.objects.values_list("pk", "researchers_count")),
        "topics": sorted(Topic.objects.values_list("pk", "researchers_count")),
    }


def test_the_full_rebuild_writes_what_the_refresh_of_every_researcher_writes(corpus, curator):
    """The set-based rebuild (a first import, into swapped-in tables) and the per-researcher
    refresh (an incremental import) are two paths to the same rows."""
    from bzpeer.search.documents import refresh_all_search_documents
    from profiles.models import Researcher

    hide_works(works=[corpus.alphago], curator=curator)  # a hidden work counts for nothing
    incremental = _search_state()
    ResearcherInstitution.objects.all().delete()
    ResearcherSearch.objects.all().delete()

    assert (
        refresh_all_search_documents()
        == Researcher.objects.filter(merged_into=None, hidden_at=None).count()
    )

    assert _search_state() == incremental
    assert incremental["member"] and incremental["documents"]


def test_the_full_rebuild_stores_memberships_in_key_order(corpus):
    """A researcher's membership rows share a page after the rebuild, for the next import's
    refresh of them (aggregated by hash, as at scale, they would come out in any order)."""
    from django.db import connection, transaction

    from bzpeer.search.documents import refresh_all_search_documents

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        refresh_all_search_documents()
        cursor.execute(
            "SELECT researcher_id, institution_id FROM "
            f"{ResearcherInstitution._meta.db_table} ORDER BY ctid"
        )
        stored = cursor.fetchall()
    assert len(stored) > 5
    assert stored == sorted(stored)

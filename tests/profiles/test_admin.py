from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from bzpeer.identifiers import parse_orcid
from profiles.admin import ResearcherAdmin
from profiles.models import (
    Follow,
    Invitation,
    Researcher,
    ResearcherTopic,
    TrustBand,
    VerificationLevel,
)
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    TopicFactory,
    UserFactory,
    WorkFactory,
)
from tests.works.test_admin import form_data

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:profiles_researcher_changelist")


def changelist_names(admin_client, **params) -> set[str]:
    response = admin_client.get(CHANGELIST, params)
    assert response.status_code == 200
    return {r.display_name for r in response.context["cl"].result_list}


@pytest.fixture
def ada():
    """An imported, claimed OpenAlex author with an ORCID and alternative names."""
    return ResearcherFactory(
        display_name="Ada Lovelace",
        alternative_names=["Lovelace, Augusta Ada", "A. King"],
        source_id="https://openalex.org/A5000000001",
        orcid="0000-0002-1825-0097",
        last_known_institution=InstitutionFactory(display_name="Analytical Institute"),
        owner=UserFactory(username="ada"),
        verification_level=VerificationLevel.L3,
        trust_score=65,
        trust_band=TrustBand.TRUSTED,
        trust_components={"identity": 30, "record": 20},
    )


@pytest.fixture
def bob():
    """An unclaimed record without an ORCID, merged into another record."""
    survivor = ResearcherFactory(display_name="Robert Survivor")
    return ResearcherFactory(
        display_name="Bob Duplicate",
        source_id="https://openalex.org/A5000000002",
        merged_into=survivor,
    )


def test_researcher_changelist_lists_records(admin_client, ada, bob):
    assert changelist_names(admin_client) == {"Ada Lovelace", "Bob Duplicate", "Robert Survivor"}


def test_researcher_change_page_loads_with_authorship_inline(admin_client, ada):
    AuthorshipFactory(researcher=ada)
    response = admin_client.get(reverse("admin:profiles_researcher_change", args=[ada.pk]))
    assert response.status_code == 200
    assert "authorships-TOTAL_FORMS" in response.content.decode()
    assert "&quot;identity&quot;: 30" in response.content.decode()  # trust breakdown


def test_researcher_add_page_loads(admin_client):
    assert admin_client.get(reverse("admin:profiles_researcher_add")).status_code == 200


def test_researcher_with_many_authorships_links_instead_of_inlining(admin_client, ada, monkeypatch):
    monkeypatch.setattr(ResearcherAdmin, "authorship_inline_cap", 2)
    AuthorshipFactory.create_batch(3, researcher=ada)
    response = admin_client.get(reverse("admin:profiles_researcher_change", args=[ada.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "authorships-TOTAL_FORMS" not in body
    assert f"/admin/works/authorship/?researcher={ada.pk}" in body


def test_researcher_with_few_authorships_inlines_them(admin_client, ada, monkeypatch):
    monkeypatch.setattr(ResearcherAdmin, "authorship_inline_cap", 2)
    AuthorshipFactory.create_batch(2, researcher=ada)
    response = admin_client.get(reverse("admin:profiles_researcher_change", args=[ada.pk]))
    assert 'name="authorships-TOTAL_FORMS" value="2"' in response.content.decode()


def test_saving_keeps_alternative_names_with_commas_and_a_bare_orcid(admin_client, ada):
    url = reverse("admin:profiles_researcher_change", args=[ada.pk])
    data = {
        **form_data(admin_client.get(url)),
        "alternative_names": "Lovelace, Augusta Ada\r\nA. King\r\n\r\n",
        "orcid": "https://orcid.org/0000-0002-1825-0097",
        "collaboration_kinds": ["coauthoring", "reviewing"],
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    ada.refresh_from_db()
    assert ada.alternative_names == ["Lovelace, Augusta Ada", "A. King"]
    assert ada.orcid == "0000-0002-1825-0097"  # read-only here: the posted URL is ignored
    assert ada.collaboration_kinds == ["coauthoring", "reviewing"]


def test_a_malformed_orcid_is_a_form_error(admin_client, ada):
    # The iD changes through its action (the change form shows it read-only).
    data = {"action": "change_orcid", ACTION_CHECKBOX_NAME: [ada.pk], "apply": "1"}
    response = admin_client.post(CHANGELIST, {**data, "orcid": "12-34", "reason": "Typo."})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["orcid"]


def test_merging_a_record_into_itself_is_a_form_error(admin_client, bob):
    survivor = bob.merged_into
    url = reverse("admin:profiles_researcher_change", args=[survivor.pk])
    response = admin_client.get(url)
    data = {**form_data(response), "merged_into": survivor.pk}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["__all__"], errors  # the check constraint, nothing else
    survivor.refresh_from_db()
    assert survivor.merged_into_id is None


# --- search -------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["ada", "Lovelace", "Ada Lovelace", "augusta", "a. king"])
def test_search_by_name_or_alternative_name(admin_client, ada, bob, term):
    assert changelist_names(admin_client, q=term) == {"Ada Lovelace"}


@pytest.mark.parametrize(
    "term",
    [
        "0000-0002-1825-0097",
        "0000000218250097",
        "https://orcid.org/0000-0002-1825-0097",
        " orcid.org/0000-0002-1825-0097 ",
    ],
)
def test_search_by_orcid(admin_client, ada, bob, term):
    assert changelist_names(admin_client, q=term) == {"Ada Lovelace"}


@pytest.mark.parametrize(
    "term",
    [
        "A5000000001",
        "a5000000001",
        "https://openalex.org/A5000000001",
        "openalex.org/authors/A5000000001",
    ],
)
def test_search_by_openalex_id(admin_client, ada, bob, term):
    assert changelist_names(admin_client, q=term) == {"Ada Lovelace"}


def test_search_by_local_urn_id(admin_client, ada):
    local = ResearcherFactory(display_name="Hand Made", source_id="urn:bzpeer:test:Ahand")
    assert changelist_names(admin_client, q=local.source_id) == {"Hand Made"}


def test_search_by_other_entity_id_finds_nothing(admin_client, ada):
    assert changelist_names(admin_client, q="W5000000001") == set()


def test_parse_orcid_accepts_checksum_x():
    assert parse_orcid("https://orcid.org/0000-0001-5109-371x") == "0000-0001-5109-371X"
    assert parse_orcid("Ada") is None


# --- filters ------------------------------------------------------------------------


def test_claimed_filter(admin_client, ada, bob):
    assert changelist_names(admin_client, claimed="yes") == {"Ada Lovelace"}
    assert changelist_names(admin_client, claimed="no") == {"Bob Duplicate", "Robert Survivor"}


def test_verification_level_filter(admin_client, ada, bob):
    names = changelist_names(admin_client, verification_level__exact=VerificationLevel.L3)
    assert names == {"Ada Lovelace"}


def test_trust_band_filter(admin_client, ada, bob):
    assert changelist_names(admin_client, trust_band__exact="Trusted") == {"Ada Lovelace"}
    assert changelist_names(admin_client, trust_band__exact="New") == {
        "Bob Duplicate",
        "Robert Survivor",
    }


def test_has_orcid_filter(admin_client, ada, bob):
    ResearcherFactory(display_name="Empty Orcid", orcid="")
    assert changelist_names(admin_client, has_orcid="yes") == {"Ada Lovelace"}
    assert "Empty Orcid" in changelist_names(admin_client, has_orcid="no")
    assert "Ada Lovelace" not in changelist_names(admin_client, has_orcid="no")


def test_merged_filter(admin_client, ada, bob):
    assert changelist_names(admin_client, merged="yes") == {"Bob Duplicate"}
    assert changelist_names(admin_client, merged="no") == {"Ada Lovelace", "Robert Survivor"}


def test_merged_duplicates_link_filters_by_survivor(admin_client, bob):
    names = changelist_names(admin_client, merged_into__id__exact=bob.merged_into_id)
    assert names == {"Bob Duplicate"}


# --- query budget -------------------------------------------------------------------


def _researchers_with_relations(count: int) -> None:
    for _ in range(count):
        ResearcherFactory(
            last_known_institution=InstitutionFactory(),
            owner=UserFactory(),
            merged_into=ResearcherFactory(),
        )


def test_researcher_changelist_queries_do_not_grow_with_rows(admin_client, query_budget):
    for more in (3, 27):
        _researchers_with_relations(more)
        with query_budget("admin.researchers"):
            assert admin_client.get(CHANGELIST).status_code == 200


def test_researcher_search_queries_do_not_grow_with_rows(admin_client, query_budget):
    for more in (3, 27):
        _researchers_with_relations(more)
        with query_budget("admin.researchers_search"):
            assert admin_client.get(CHANGELIST, {"q": "Researcher"}).status_code == 200


# --- autocomplete -------------------------------------------------------------------


def autocomplete(admin_client, app_label: str, model_name: str, field_name: str, term: str):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": term},
    )
    assert response.status_code == 200
    return [result["text"] for result in response.json()["results"]]


def test_researcher_autocomplete_by_name_and_id(admin_client, ada, bob):
    assert autocomplete(admin_client, "profiles", "researcher", "merged_into", "lovel") == [
        "Ada Lovelace"
    ]
    assert autocomplete(admin_client, "works", "authorship", "researcher", "A5000000001") == [
        "Ada Lovelace"
    ]


def test_merged_into_autocomplete_offers_only_survivors(admin_client, bob):
    texts = autocomplete(admin_client, "profiles", "researcher", "merged_into", "o")
    assert texts == ["Robert Survivor"]
    # Elsewhere a merged record is still found (curators look duplicates up too).
    assert "Bob Duplicate" in autocomplete(admin_client, "works", "authorship", "researcher", "o")


def test_institution_autocomplete(admin_client, ada):
    texts = autocomplete(
        admin_client, "profiles", "researcher", "last_known_institution", "analytical"
    )
    assert texts == ["Analytical Institute"]


def test_owner_autocomplete(admin_client, ada):
    assert autocomplete(admin_client, "profiles", "researcher", "owner", "ada") == ["ada"]


# --- follows, invitations, topics ---------------------------------------------------


def test_follow_pages_load_and_filter_by_researcher(admin_client, ada, bob, user):
    follow = Follow.objects.create(user=user, researcher=ada)
    Follow.objects.create(user=user, researcher=bob)
    url = reverse("admin:profiles_follow_changelist")
    response = admin_client.get(url, {"researcher": ada.pk})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [follow]
    assert admin_client.get(url, {"q": "ada lovelace"}).status_code == 200
    change = reverse("admin:profiles_follow_change", args=[follow.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.get(reverse("admin:profiles_follow_add")).status_code == 200


def test_invitation_pages_load_and_filter_by_status(admin_client, ada, user):
    sent = Invitation.objects.create(sender=user, researcher=ada, subject="Hi", message="Hello")
    Invitation.objects.create(
        sender=UserFactory(), researcher=ada, subject="Yo", message="x", status="declined"
    )
    url = reverse("admin:profiles_invitation_changelist")
    response = admin_client.get(url, {"status__exact": "sent"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [sent]
    change = reverse("admin:profiles_invitation_change", args=[sent.pk])
    assert admin_client.get(change).status_code == 200


def test_researcher_topic_is_read_only(admin_client, ada):
    row = ResearcherTopic.objects.create(researcher=ada, topic=TopicFactory(), works_count=3)
    url = reverse("admin:profiles_researchertopic_changelist")
    response = admin_client.get(url, {"researcher": ada.pk})
    assert list(response.context["cl"].result_list) == [row]
    change = reverse("admin:profiles_researchertopic_change", args=[row.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.get(reverse("admin:profiles_researchertopic_add")).status_code == 403


def test_researcher_filter_with_bad_value_shows_nothing(admin_client, ada, user):
    Follow.objects.create(user=user, researcher=ada)
    response = admin_client.get(reverse("admin:profiles_follow_changelist"), {"researcher": "x"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


# --- writes go through the services -------------------------------------------------


def test_adding_and_deleting_a_follow_keeps_the_count(admin_client, ada, user):
    response = admin_client.post(
        reverse("admin:profiles_follow_add"), {"user": user.pk, "researcher": ada.pk}
    )
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.followers_count == 1
    follow = Follow.objects.get()
    delete = reverse("admin:profiles_follow_delete", args=[follow.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    ada.refresh_from_db()
    assert ada.followers_count == 0


def test_following_twice_is_a_form_error(admin_client, ada, user):
    Follow.objects.create(user=user, researcher=ada)
    response = admin_client.post(
        reverse("admin:profiles_follow_add"), {"user": user.pk, "researcher": ada.pk}
    )
    assert response.status_code == 200
    assert Follow.objects.count() == 1


def test_recompute_action_recounts_the_selected_records(admin_client, ada):
    AuthorshipFactory(researcher=ada)
    Researcher.objects.filter(pk=ada.pk).update(works_count=99)
    response = admin_client.post(
        CHANGELIST, {"action": "recompute", ACTION_CHECKBOX_NAME: [ada.pk], "index": 0}
    )
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.works_count == 1


def test_deleting_a_researcher_recounts_the_coauthors(admin_client, ada):
    from bzpeer.curation.derived import refresh_derived_data

    coauthor = ResearcherFactory()
    work = WorkFactory(authors_count=2)
    AuthorshipFactory(researcher=ada, work=work)
    AuthorshipFactory(researcher=coauthor, work=work)
    refresh_derived_data(researcher_ids=[ada.pk, coauthor.pk])
    coauthor.refresh_from_db()
    assert coauthor.close_collaborators_count == 1

    delete = reverse("admin:profiles_researcher_delete", args=[ada.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    coauthor.refresh_from_db()
    assert coauthor.close_collaborators_count == 0

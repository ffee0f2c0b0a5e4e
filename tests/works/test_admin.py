from __future__ import annotations

import pytest
from django.urls import reverse

import bzpeer.admin_toolkit as admin_toolkit
from bzpeer.admin_toolkit import LargeTablePaginator, parse_source_id
from bzpeer.curation.admin import WorkAdmin
from profiles.models import Researcher
from tests.factories import (
    AuthorshipFactory,
    InstitutionFactory,
    ResearcherFactory,
    SourceFactory,
    TopicFactory,
    WorkFactory,
)
from works.models import Work

pytestmark = pytest.mark.django_db

WORKS = reverse("admin:works_work_changelist")


def changelist_titles(admin_client, **params) -> set[str]:
    response = admin_client.get(WORKS, params)
    assert response.status_code == 200
    return {w.title for w in response.context["cl"].result_list}


@pytest.fixture
def engines():
    work = WorkFactory(
        title="Sketch of the Analytical Engine",
        source_id="https://openalex.org/W2000000001",
        doi="10.1000/engine.1843",
        arxiv_id="1843.00001",
        type="article",
        publication_year=1843,
        cited_by_count=99,
    )
    work.topics.set([TopicFactory(display_name="Computing machinery")])
    return work


@pytest.fixture
def notes():
    return WorkFactory(
        title="Notes on numbers",
        source_id="https://openalex.org/W2000000002",
        type="preprint",
        publication_year=2024,
        is_hidden=True,
    )


@pytest.fixture
def undated():
    return WorkFactory(title="Undated leaflet", type="", publication_year=None)


# --- pages --------------------------------------------------------------------------


def test_work_changelist_and_change_page_load(admin_client, engines, notes):
    AuthorshipFactory(work=engines, researcher=ResearcherFactory(display_name="Ada"))
    assert changelist_titles(admin_client) == {engines.title, notes.title}
    response = admin_client.get(reverse("admin:works_work_change", args=[engines.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "authorships-TOTAL_FORMS" in body
    assert "Computing machinery" in body  # selected topic rendered by its autocomplete
    assert admin_client.get(reverse("admin:works_work_add")).status_code == 200


def test_hyper_authored_work_links_to_authorships_instead_of_inlining(
    admin_client, engines, monkeypatch
):
    monkeypatch.setattr(WorkAdmin, "authorship_inline_cap", 2)
    AuthorshipFactory.create_batch(3, work=engines)
    response = admin_client.get(reverse("admin:works_work_change", args=[engines.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "authorships-TOTAL_FORMS" not in body
    assert f"/admin/works/authorship/?work={engines.pk}" in body


@pytest.mark.parametrize(
    ("name", "factory"),
    [
        ("institution", InstitutionFactory),
        ("source", SourceFactory),
        ("topic", TopicFactory),
        ("authorship", AuthorshipFactory),
    ],
)
def test_other_changelists_and_change_pages_load(admin_client, name, factory):
    obj = factory()
    assert admin_client.get(reverse(f"admin:works_{name}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:works_{name}_change", args=[obj.pk])).status_code == 200
    assert admin_client.get(reverse(f"admin:works_{name}_add")).status_code == 200


def form_data(response) -> dict:
    """A change form's current values and its inlines', as the browser would post them."""
    forms = [response.context["adminform"].form]
    data: dict = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(n): management[n].value() for n in management.fields})
        forms.extend(inline.formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if value is None or value is False:
                continue
            if value is True:
                value = "on"
            elif isinstance(value, list) and hasattr(field, "delimiter"):
                value = field.prepare_value(value)  # an array edited as text
            data[form.add_prefix(name)] = value
    return data


# --- search -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "analytical",
        "sketch engine",
        "W2000000001",
        "https://openalex.org/W2000000001",
        "10.1000/engine.1843",
        "https://doi.org/10.1000/ENGINE.1843",
        "1843.00001",
        "arXiv:1843.00001v2",
        "https://arxiv.org/abs/1843.00001",
    ],
)
def test_search_work_by_title_or_identifier(admin_client, engines, notes, term):
    assert changelist_titles(admin_client, q=term) == {engines.title}


def test_parse_source_id_accepts_the_usual_forms():
    expected = "https://openalex.org/W12"
    for term in ("W12", "w12", "openalex.org/works/W12", "https://api.openalex.org/works/W12"):
        assert parse_source_id(term, "work") == expected
    assert parse_source_id("A12", "work") is None
    assert parse_source_id("Ada", "author") is None
    assert parse_source_id("urn:bzpeer:demo:A7", "author") == "urn:bzpeer:demo:A7"


def test_work_form_stores_canonical_identifiers(admin_client, engines):
    url = reverse("admin:works_work_change", args=[engines.pk])
    data = {
        "title": engines.title,
        "type": "article",
        "publication_year": "1843",
        "venue": engines.venue_id,
        "topics": [t.pk for t in engines.topics.all()],
        "source_id": engines.source_id,
        "doi": "https://doi.org/10.1000/ENGINE.1843",
        "arxiv_id": "arXiv:1843.00001v3",
        "cited_by_count": "99",
        "authors_count": "1",
        "authorships-TOTAL_FORMS": "0",
        "authorships-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    engines.refresh_from_db()
    assert (engines.doi, engines.arxiv_id) == ("10.1000/engine.1843", "1843.00001")

    response = admin_client.post(url, {**data, "doi": "not a doi"})
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["doi"]


# --- filters ------------------------------------------------------------------------


def test_type_filter(admin_client, engines, notes, undated):
    assert changelist_titles(admin_client, type="preprint") == {notes.title}
    assert changelist_titles(admin_client, type="-") == {undated.title}


def test_is_hidden_filter(admin_client, engines, notes):
    assert changelist_titles(admin_client, is_hidden__exact="1") == {notes.title}
    assert changelist_titles(admin_client, is_hidden__exact="0") == {engines.title}


def test_publication_year_filter(admin_client, engines, notes, undated):
    assert changelist_titles(admin_client, year="2024") == {notes.title}
    assert changelist_titles(admin_client, year="1843-2014") == {engines.title}
    assert changelist_titles(admin_client, year="unknown") == {undated.title}
    assert changelist_titles(admin_client, year="junk") == set()


def test_publication_year_filter_options_come_from_bounds(admin_client, engines, notes):
    response = admin_client.get(WORKS)
    spec = next(
        s for s in response.context["cl"].filter_specs if getattr(s, "parameter_name", "") == "year"
    )
    values = [value for value, _ in spec.lookup_choices]
    # 2015..2024 one by one, then decades down to 1900, then one bucket before that.
    assert values[:2] == ["2024", "2023"]
    assert values[9] == "2015"
    assert values[10:12] == ["2010-2014", "2000-2009"]
    assert values[-2:] == ["1843-1899", "unknown"]


# --- query budget and counting -------------------------------------------------------


def test_work_changelist_queries_do_not_grow_with_rows(admin_client, query_budget):
    for more in (3, 27):
        WorkFactory.create_batch(more)
        with query_budget("admin.works"):
            assert admin_client.get(WORKS).status_code == 200


def test_authorship_changelist_queries_do_not_grow_with_rows(admin_client, query_budget):
    url = reverse("admin:works_authorship_changelist")
    for more in (3, 27):
        AuthorshipFactory.create_batch(more)
        with query_budget("admin.authorships"):
            assert admin_client.get(url).status_code == 200


def test_unfiltered_big_table_uses_the_estimate(monkeypatch):
    WorkFactory.create_batch(2)
    monkeypatch.setattr(admin_toolkit, "estimated_row_count", lambda model: 5_000_000)
    assert LargeTablePaginator(Work.objects.all(), 50).count == 5_000_000
    # Filtered lists are counted exactly.
    assert LargeTablePaginator(Work.objects.filter(type="article"), 50).count == 2


def test_small_table_is_counted_exactly():
    WorkFactory.create_batch(2)
    assert admin_toolkit.estimated_row_count(Work) < admin_toolkit.ESTIMATE_COUNT_ABOVE
    assert LargeTablePaginator(Work.objects.all(), 50).count == 2


# --- authorships --------------------------------------------------------------------


def test_authorship_filters_by_researcher_and_work(admin_client):
    mine = AuthorshipFactory()
    AuthorshipFactory()
    url = reverse("admin:works_authorship_changelist")
    for params in ({"researcher": mine.researcher_id}, {"work": mine.work_id}):
        response = admin_client.get(url, params)
        assert list(response.context["cl"].result_list) == [mine]
    response = admin_client.get(url, {"position": "first"})
    assert response.status_code == 200


def test_authorship_search_by_openalex_ids(admin_client):
    mine = AuthorshipFactory(
        work=WorkFactory(source_id="https://openalex.org/W7"),
        researcher=ResearcherFactory(source_id="https://openalex.org/A7"),
    )
    AuthorshipFactory()
    url = reverse("admin:works_authorship_changelist")
    for term in ("W7", "A7"):
        response = admin_client.get(url, {"q": term})
        assert list(response.context["cl"].result_list) == [mine]


# --- institutions, sources, topics --------------------------------------------------


def test_institution_search_and_filters(admin_client):
    mit = InstitutionFactory(
        display_name="Massachusetts Institute of Technology",
        source_id="https://openalex.org/I63966007",
        ror="https://ror.org/042nb2s44",
        country_code="US",
        type="education",
    )
    InstitutionFactory(display_name="Acme Labs", country_code="GB", type="company")
    url = reverse("admin:works_institution_changelist")

    def names(**params):
        response = admin_client.get(url, params)
        assert response.status_code == 200
        return {i.display_name for i in response.context["cl"].result_list}

    for term in ("massachusetts", "042nb2s44", "I63966007", "https://openalex.org/I63966007"):
        assert names(q=term) == {mit.display_name}
    assert names(type__exact="education") == {mit.display_name}
    assert names(country_code__exact="US") == {mit.display_name}


def test_topic_kind_filter(admin_client):
    concept = TopicFactory(kind="concept", display_name="Old concept")
    TopicFactory(kind="topic")
    response = admin_client.get(reverse("admin:works_topic_changelist"), {"kind__exact": "concept"})
    assert list(response.context["cl"].result_list) == [concept]


# --- autocomplete -------------------------------------------------------------------


def autocomplete(admin_client, model_name: str, field_name: str, term: str) -> list[str]:
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "works", "model_name": model_name, "field_name": field_name, "term": term},
    )
    assert response.status_code == 200
    return [result["text"] for result in response.json()["results"]]


def test_work_autocomplete_by_title_and_id(admin_client, engines, notes):
    assert autocomplete(admin_client, "authorship", "work", "analytical") == [engines.title]
    assert autocomplete(admin_client, "authorship", "work", "W2000000002") == [notes.title]


def test_institution_autocomplete(admin_client):
    InstitutionFactory(display_name="Analytical Institute")
    InstitutionFactory(display_name="Other Place")
    assert autocomplete(admin_client, "authorship", "institutions", "analyt") == [
        "Analytical Institute"
    ]


def test_venue_and_topic_autocomplete(admin_client, engines):
    assert autocomplete(admin_client, "work", "venue", engines.venue.display_name) == [
        engines.venue.display_name
    ]
    assert autocomplete(admin_client, "work", "topics", "machinery") == ["Computing machinery"]


# --- every model of the project's apps ----------------------------------------------

PROJECT_APPS = ("works", "profiles", "claims", "graph")


def project_model_admins():
    from django.apps import apps
    from django.contrib import admin

    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            yield model, admin.site._registry.get(model)


def test_every_model_is_registered():
    missing = [model.__name__ for model, model_admin in project_model_admins() if not model_admin]
    assert missing == []


def test_every_foreign_key_in_list_display_is_select_related():
    for model, model_admin in project_model_admins():
        relations = {f.name for f in model._meta.concrete_fields if f.is_relation}
        shown = relations.intersection(model_admin.list_display)
        assert shown <= set(model_admin.list_select_related or ()), model.__name__


def test_every_relation_autocompletes(rf, admin_user):
    request = rf.get("/")
    request.user = admin_user
    for model, model_admin in project_model_admins():
        autocompleted = set(model_admin.get_autocomplete_fields(request))
        for field in model._meta.get_fields():
            if not (field.concrete and field.is_relation and field.editable):
                continue
            through = getattr(field.remote_field, "through", None)
            if through is not None and not through._meta.auto_created:
                continue
            assert field.name in autocompleted, f"{model.__name__}.{field.name}"


def test_every_changelist_and_add_page_answers(admin_client):
    for model, _ in project_model_admins():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert admin_client.get(changelist).status_code == 200, changelist
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert admin_client.get(add).status_code in (200, 403), add


# --- a curator's edit recounts the researchers it touches ----------------------------


def test_hiding_a_work_recounts_its_authors(admin_client):
    from bzpeer.curation.derived import refresh_researcher_counts

    authorship = AuthorshipFactory()
    researcher = authorship.researcher
    refresh_researcher_counts(researcher_ids=[researcher.pk])
    researcher.refresh_from_db()
    assert researcher.works_count == 1

    url = reverse("admin:works_work_change", args=[authorship.work_id])
    data = {**form_data(admin_client.get(url)), "is_hidden": "on"}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    researcher.refresh_from_db()
    assert researcher.works_count == 0


def test_deleting_an_authorship_recounts_its_researcher(admin_client):
    authorship = AuthorshipFactory()
    researcher = authorship.researcher
    Researcher.objects.filter(pk=researcher.pk).update(works_count=1)
    url = reverse("admin:works_authorship_delete", args=[authorship.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    researcher.refresh_from_db()
    assert researcher.works_count == 0

"""Finding a researcher in headless Chromium: the header field's suggestions with the
keyboard, and the plain form without JavaScript. Records from the real importer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from graph.models import GraphSlice
from profiles.models import Researcher
from tests.search.conftest import load_corpus
from tests.waiting import wait_until

# Serialized rollback: the flush after each test restores the rows the migrations made
# (the Curators group), which tests that run later rely on.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def corpus(tmp_path, request):
    """The search corpus imported for real. The import queues trust for its researchers and
    a profile page asks for its graph slice; the session's worker does both, and the test
    waits for them, before and after: no task may still be reading the tables when the
    test's flush empties them."""
    request.getfixturevalue("celery_worker")
    corpus = load_corpus(tmp_path)
    wait_until(
        lambda: not Researcher.objects.filter(trust_computed_at__isnull=True).exists(),
        timeout=60,
        what="the worker to compute trust after the import",
    )
    yield corpus
    wait_until(
        lambda: (
            not GraphSlice.objects.filter(
                status__in=[GraphSlice.Status.QUEUED, GraphSlice.Status.BUILDING]
            ).exists()
        ),
        timeout=60,
        what="the worker to finish the graph slices the pages asked for",
    )


def test_type_a_partial_name_choose_with_the_keyboard_land_on_the_profile(
    page, live_server, corpus
):
    page.goto(f"{live_server.url}/")
    page.wait_for_function("() => window.htmx !== undefined")
    field = page.locator("#site-search")
    suggestions = page.locator("#site-search-suggestions")

    # A first word, then another typed over it: only the last one's suggestions stay.
    field.press_sequentially("Hassa", delay=30)
    expect(suggestions.get_by_role("option", name=re.compile("Demis Hassabis"))).to_be_visible()
    field.fill("")
    field.press_sequentially("ramír cach", delay=30)
    maria = suggestions.get_by_role("option", name=re.compile("María José Ramírez Cacho"))
    expect(maria).to_be_visible()
    expect(suggestions.get_by_role("option", name=re.compile("Hassabis"))).to_have_count(0)
    expect(field).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#site-search-status")).to_contain_text("1 suggestion;")

    field.press("ArrowDown")
    expect(field).to_have_attribute("aria-activedescendant", f"suggestion-r{corpus.maria.pk}")
    expect(maria).to_have_attribute("aria-selected", "true")
    field.press("ArrowDown")
    field.press("ArrowUp")
    expect(field).to_have_attribute("aria-activedescendant", f"suggestion-r{corpus.maria.pk}")
    field.press("Enter")

    page.wait_for_url(f"{live_server.url}{corpus.maria.get_absolute_url()}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("María José Ramírez Cacho")


def test_escape_closes_the_suggestions_and_enter_searches(page, live_server, corpus):
    page.goto(f"{live_server.url}/")
    page.wait_for_function("() => window.htmx !== undefined")
    field = page.locator("#site-search")
    field.press_sequentially("garcia", delay=30)
    expect(page.locator("#site-search-suggestions [role=option]").first).to_be_visible()

    field.press("Escape")
    expect(page.locator("#site-search-suggestions [role=option]")).to_have_count(0)
    field.press("Enter")

    page.wait_for_url(re.compile(r"/search/\?q=garcia$"))
    expect(page.get_by_role("heading", name=re.compile(r"^Researchers"))).to_be_visible()


def test_without_javascript_the_plain_form_finds_the_profile(browser, live_server, corpus):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/")
        page.locator("#site-search").fill("Ramirez Cacho")
        page.locator("#site-search").press("Enter")

        page.wait_for_url(re.compile(r"/search/\?q=Ramirez\+Cacho$"))
        link = page.get_by_role("link", name="María José Ramírez Cacho")
        expect(link).to_be_visible()
        link.click()

        page.wait_for_url(f"{live_server.url}{corpus.maria.get_absolute_url()}")
        expect(page.get_by_role("heading", level=1)).to_contain_text("María José Ramírez Cacho")
    finally:
        context.close()


def test_without_javascript_an_orcid_goes_straight_to_the_profile(browser, live_server, corpus):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/topics/")
        page.locator("#site-search").fill(f"https://orcid.org/{corpus.maria.orcid}")
        page.get_by_role("button", name="Search").click()

        page.wait_for_url(f"{live_server.url}{corpus.maria.get_absolute_url()}")
    finally:
        context.close()

"""A reader filters a profile's works, opens Cite on one and copies its BibTeX, in headless
Chromium against the live server, with the metrics the real worker computed."""

from __future__ import annotations

import bibtexparser
import pytest
from playwright.sync_api import Page, expect

from profiles.models import Researcher
from tests.browser.test_profile_page import assert_no_reload, open_profile, set_marker
from works.models import Work

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_filter_works_open_cite_and_copy_bibtex(page: Page, live_server, teven: Researcher):
    first_authored = Work.objects.filter(
        authorships__researcher=teven, authorships__author_position="first"
    )
    (work,) = first_authored  # one preprint where he is the first author
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    open_profile(page, live_server, teven)
    set_marker(page)

    # The worker computed the figures from the listed works: none of them gives a count.
    expect(page.locator("#metrics-unknown")).to_contain_text("No citation counts")

    works = page.locator("#published-work")
    expect(works.get_by_role("heading", level=2)).to_have_text("7 published items")
    works.get_by_label("Role").select_option("first")
    works.get_by_role("button", name="Filter").click()
    expect(works.get_by_role("heading", level=2)).to_have_text(
        "1 published item matching the filters"
    )
    assert "role=first" in page.url  # shareable: the address bar holds the filters
    assert_no_reload(page)

    item = works.locator("li.work")
    expect(item.locator(".work-title")).to_have_text(work.title)
    item.get_by_role("link", name="Cite").click()
    panel = item.locator(".cite-panel")
    expect(panel.get_by_role("heading", name="APA (7th edition)")).to_be_visible()
    panel.get_by_role("button", name="Copy BibTeX").click()
    expect(panel.get_by_role("button", name="Copied")).to_be_visible()
    assert_no_reload(page)

    copied = page.evaluate("navigator.clipboard.readText()")
    (entry,) = bibtexparser.parse_string(copied).entries
    assert entry["title"] == work.title
    assert entry["eprint"] == work.arxiv_id
    assert entry["author"].startswith("Le Scao, Teven")

    # The same filtered list, opened from the shared URL without JavaScript's help.
    page.goto(page.url)
    expect(works.get_by_role("heading", level=2)).to_have_text(
        "1 published item matching the filters"
    )

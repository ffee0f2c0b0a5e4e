"""Teven Le Scao's profile in headless Chromium, as a newcomer and then as a reader who
logs in and follows him. Live server, real worker, demo data from the real importer.

A full-page screenshot goes to the test's temporary directory only, so a test run leaves
the working tree as it was (the README's screenshots come from tests/browser/test_screens.py).
"""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import Locator, Page, expect

from profiles.models import Follow, Researcher

pytestmark = [pytest.mark.browser, pytest.mark.worker]

# The worker builds the slice in well under a second; the page polls every few seconds.
SLICE_TIMEOUT_MS = 30_000
MARKER = "window.__bzpeerNoReload"


def follow_button(scope: Page | Locator, label: str, count: int) -> Locator:
    """The follow button by what it says: "Following 1", read out as "Following 1 follower"."""
    noun = "follower" if count == 1 else "followers"
    return scope.get_by_role("button", name=f"{label} {count} {noun}", exact=True)


def set_marker(page: Page) -> None:
    """A value on window that a full page load would wipe out."""
    page.evaluate(f"{MARKER} = 'still here'")


def assert_no_reload(page: Page) -> None:
    assert page.evaluate(MARKER) == "still here", "the page reloaded"


def assert_in_document_order(locators: list[Locator]) -> None:
    handles = [locator.element_handle() for locator in locators]
    for earlier, later in zip(handles, handles[1:], strict=False):
        follows = earlier.evaluate(
            "(a, b) => Boolean(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)",
            later,
        )
        assert follows, f"{earlier.text_content()!r} should come before {later.text_content()!r}"


def open_profile(page: Page, live_server, researcher: Researcher) -> None:
    page.goto(f"{live_server.url}{researcher.get_absolute_url()}")
    # htmx 2 from node_modules, served by the live server's static files handler.
    page.wait_for_function("() => window.htmx !== undefined")
    assert page.evaluate("htmx.version").startswith("2.")


def test_newcomer_reads_the_profile(page: Page, live_server, teven: Researcher, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 900})
    open_profile(page, live_server, teven)
    set_marker(page)
    main = page.locator("main")
    stats = main.locator("dl.stats")

    sections = [
        main.get_by_text("Researcher profile", exact=True),
        main.get_by_role("heading", level=1, name="Teven Le Scao"),
        main.locator("p.summary"),
        main.locator("li.chip", has_text=re.compile(r"^Researcher$")),
        main.get_by_text("Affiliation not imported", exact=True),
        main.get_by_text("Open to collaborate", exact=True),
        main.get_by_text(re.compile(r"^Trust \d+ - (New|Emerging|Established|Trusted|Highly)")),
        main.get_by_text("Verification L1", exact=True),
        main.get_by_text("Unclaimed author", exact=True),
        stats.locator(".stat", has_text="works"),
        stats.locator(".stat", has_text="followers"),
        stats.locator(".stat", has_text="topics"),
        stats.locator(".stat", has_text="close collaborators"),
        follow_button(main, "Follow researcher", 0),
        main.get_by_role("link", name="Log in to claim"),
        main.get_by_text("Claim this author entity first to unlock direct invitations."),
        main.get_by_role("link", name="Open full explorer"),
        main.get_by_role("heading", name="7 published items"),
    ]
    for locator in sections:
        expect(locator).to_be_visible()
    assert_in_document_order(sections)
    # No bio imported: the summary is written from his topics.
    expect(main.locator("p.summary")).to_have_text(
        "Teven Le Scao publishes on Deep Learning Methods, Large Language Models"
        " and Natural Language Processing."
    )
    expect(stats.locator(".stat", has_text="works").locator("dd")).to_have_text("7")
    expect(stats.locator("#stat-followers")).to_have_text("0")
    expect(stats.locator(".stat", has_text="topics").locator("dd")).to_have_text("3")

    # The graph slice arrives in place: the placeholder polls until the worker is done.
    graph = main.locator("#graph-slice")
    expect(graph.get_by_role("heading", name="Building this graph slice")).to_be_visible()
    expect(graph).to_have_class(re.compile(r"graph-slice-ready"), timeout=SLICE_TIMEOUT_MS)
    expect(main.get_by_text("Building this graph slice")).to_have_count(0)
    people = graph.locator("section.slice-group", has=page.locator("#slice-people"))
    expect(people.get_by_role("link", name="Thomas Wang")).to_be_visible()
    expect(graph.locator("#slice-topics")).to_contain_text("Topics (3)")
    # The drawing's legend keys stay icon-sized (the drawing's own rule must not reach them).
    for key in graph.locator(".legend svg").all():
        assert key.bounding_box()["width"] <= 16
    assert_no_reload(page)

    page.screenshot(path=tmp_path / "profile.png", full_page=True)

    # A long abstract opens in place.
    works = main.locator("#published-work")
    first_work = works.locator("li.work").first
    expect(first_work.locator("h3")).to_have_text("Ministral 3")
    full_abstract = first_work.locator("details.abstract > p")
    expect(full_abstract).to_be_hidden()
    first_work.get_by_text("Show full abstract").click()
    expect(full_abstract).to_be_visible()
    expect(full_abstract).to_contain_text("all under the Apache 2.0 license.")

    # Sorting swaps the list without loading the page again, and the URL follows.
    works.get_by_role("link", name="Oldest first").click()
    expect(page).to_have_url(re.compile(r"\?sort=oldest$"))
    works = main.locator("#published-work")
    expect(works.get_by_role("link", name="Oldest first")).to_have_attribute("aria-current", "true")
    expect(works.locator("li.work").first.locator(".work-meta")).to_contain_text("2020")
    expect(works.locator("li.work").last.locator("h3")).to_have_text("Ministral 3")
    expect(works.locator("li.work")).to_have_count(7)
    assert_no_reload(page)


def test_reader_logs_in_and_follows_in_place(
    page: Page, live_server, teven: Researcher, django_user_model
):
    reader = django_user_model.objects.create_user(
        username="newcomer", email="newcomer@example.org", password="pw-newcomer-123"
    )
    # Sign-in needs a confirmed address (mandatory email verification).
    EmailAddress.objects.create(user=reader, email=reader.email, verified=True, primary=True)
    open_profile(page, live_server, teven)

    site_nav = page.get_by_role("navigation", name="Site")
    site_nav.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("newcomer@example.org")
    page.get_by_label("Password").fill("pw-newcomer-123")
    page.get_by_role("button", name="Log in", exact=True).click()

    # Back on the profile he came from, signed in.
    expect(page).to_have_url(f"{live_server.url}{teven.get_absolute_url()}")
    expect(site_nav.get_by_role("link", name="newcomer@example.org")).to_be_visible()
    page.wait_for_function("() => window.htmx !== undefined")
    set_marker(page)
    followers = page.locator("#stat-followers")
    expect(followers).to_have_text("0")

    follow_button(page, "Follow researcher", 0).click()

    expect(follow_button(page, "Following", 1)).to_be_visible()
    expect(page.locator("#follow-control button .count")).to_have_text("1")
    expect(followers).to_have_text("1")
    assert_no_reload(page)
    assert Follow.objects.filter(researcher=teven, user__username="newcomer").count() == 1

    page.reload()
    expect(follow_button(page, "Following", 1)).to_be_visible()
    expect(page.locator("#stat-followers")).to_have_text("1")

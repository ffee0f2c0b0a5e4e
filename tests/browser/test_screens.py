"""Every page a person meets, in headless Chromium at phone, tablet and desktop widths:
no horizontal overflow, no serious or critical axe-core violation (light and dark), focus
visible with enough contrast and kept after HTMX swaps, the research-first layout, and the
explorer's labels and counts.

axe-core comes from node_modules (package.json pins it) and is injected with
page.add_script_tag(path=...), so nothing is fetched from outside.

Set UPDATE_SCREENSHOTS=1 to rewrite docs/screenshots/profile-desktop.png and
profile-phone.png (the README shows them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bzpeer.privacy import services as privacy_services
from bzpeer.privacy.models import DataExport
from claims.models import Claim
from graph.services import build_slice
from profiles.models import Researcher
from profiles.services import follow_researcher
from tests.claims.helpers import make_user

pytestmark = [pytest.mark.browser, pytest.mark.worker]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
WIDTHS = (320, 390, 768)
LONG_URL = "https://example.org/" + "a-very-long-path-segment-without-any-break/" * 6
LONG_NAME = "Maximiliana Wolkenstein-Oberhausen-Rautenstrauch de la Fuente y Villalobos"

RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}"""

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > width + 1;
    })
    .slice(0, 5)
    .map((el) => {
      const right = Math.round(el.getBoundingClientRect().right);
      return `${el.tagName.toLowerCase()}.${el.className} (${right}px)`;
    });
  return { scroll: document.documentElement.scrollWidth, width, wide };
}"""


@dataclass
class Site:
    url: str
    researcher: Researcher
    paths: dict[str, tuple[str, str | None]]  # state -> (path, who is logged in)
    sessions: dict[str, str]
    # What a person does on the page before it is checked (opening a panel, typing).
    actions: dict[str, Callable[[Page], None]] = field(default_factory=dict)


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def site(live_server, teven: Researcher, settings) -> Site:
    """Teven's profile in every state, the pages around it, and the admin."""
    settings.DEBUG = False  # the site's own error pages
    visitor = make_user("visitor@example.org")
    owner = make_user("owner@example.org")
    # A superuser (transactional tests flush the Curators group the migrations made).
    curator = make_user("curator@example.org")
    curator.is_staff = curator.is_superuser = True
    curator.save()

    # A claimed record with a long name, a summary holding a long URL and many chips.
    owned = Researcher.objects.exclude(pk=teven.pk).filter(is_stub=False).first() or teven
    owned.display_name = LONG_NAME
    owned.owner = owner
    owned.verification_level = 2
    owned.summary = f"I study language models; my notes are at {LONG_URL} and elsewhere."
    owned.open_to_collaborate = True
    owned.save()
    build_slice(researcher_id=owned.pk)
    # The reader has a claim pending elsewhere, so "My claims" has a row; Teven stays
    # claimable for the other states.
    Claim.objects.create(
        user=visitor,
        researcher=owned,
        method=Claim.Method.EVIDENCE,
        evidence="Me.",
        is_dispute=True,
    )

    # The reader follows the claimed record (open to collaborate); the owner follows Teven,
    # whose follower list then names the owner's record.
    follow_researcher(user=visitor, researcher=owned)
    follow_researcher(user=owner, researcher=teven)

    work = teven.authorships.select_related("work").first().work
    topic = teven.topics.first()
    paths = {
        "home": ("/", None),
        "profile, newcomer": (teven.get_absolute_url(), None),
        "profile, reader logged in": (teven.get_absolute_url(), "visitor"),
        "profile, owner with long name and URL": (owned.get_absolute_url(), "owner"),
        "profile, visitor of the long one": (owned.get_absolute_url(), None),
        "work": (work.get_absolute_url(), None),
        "explorer": (f"/researchers/{teven.pk}/graph/", None),
        "log in": ("/accounts/login/", None),
        "sign up": ("/accounts/signup/", None),
        "my claims": ("/me/claims/", "visitor"),
        "inbox": ("/me/invitations/", "owner"),
        "claim start": (f"/researchers/{teven.pk}/claim/", "owner"),
        "owner's works": (f"/researchers/{owned.pk}/owner/works/", "owner"),
        "not found": ("/no/such/page/", None),
        "admin index": ("/admin/", "curator"),
        "admin claims": ("/admin/claims/claim/", "curator"),
        "admin researchers": ("/admin/profiles/researcher/", "curator"),
    }
    if topic is not None:
        paths["topic"] = (f"/topics/{topic.pk}/", None)
    institution = teven.last_known_institution
    if institution is not None:
        paths["institution"] = (f"/institutions/{institution.pk}/", None)

    # The owner's data export, built as the worker would, and its readable page.
    export = DataExport.objects.create(user=owner)
    privacy_services.build_data_export(export_id=export.pk)
    token = privacy_services.export_token(export)
    first_name = teven.display_name.split()[0]
    paths.update(
        {
            "search results": (f"/search/?q={first_name}", None),
            "search results, reader logged in": (f"/search/?q={first_name}", "visitor"),
            "search suggestions open": ("/", None),
            "directory": ("/researchers/", None),
            "topic index": ("/topics/", None),
            "institution index": ("/institutions/", None),
            "co-authors": (f"/researchers/{teven.pk}/coauthors/", None),
            "co-authors of the long one": (f"/researchers/{owned.pk}/coauthors/", None),
            "followers": (f"/researchers/{teven.pk}/followers/", None),
            "following, with one open to collaborate": ("/me/following/", "visitor"),
            "privacy": ("/privacy/", None),
            "hide request form": (f"/researchers/{owned.pk}/hide-request/", None),
            "account data and deletion": ("/me/privacy/", "owner"),
            "account data export": (f"/me/privacy/export/{token}/html/", "owner"),
            "cite page": (f"/works/{work.pk}/cite/", None),
            "profile with the cite panel open": (teven.get_absolute_url(), None),
            "admin hide requests": ("/admin/claims/hiderequest/", "curator"),
        }
    )

    def open_cite_panel(page: Page) -> None:
        page.wait_for_function("() => window.htmx !== undefined")
        work_item = page.locator("#published-work li.work").first
        work_item.get_by_role("link", name="Cite").click()
        expect(work_item.locator(".cite-slot *").first).to_be_visible()

    def open_suggestions(page: Page) -> None:
        page.wait_for_function("() => window.htmx !== undefined")
        page.locator("#site-search").press_sequentially(first_name[:4], delay=30)
        expect(page.locator("#site-search-suggestions [role=option]").first).to_be_visible()

    return Site(
        url=live_server.url,
        researcher=teven,
        paths=paths,
        sessions={
            "visitor": session_cookie(visitor),
            "owner": session_cookie(owner),
            "curator": session_cookie(curator),
        },
        actions={
            "profile with the cite panel open": open_cite_panel,
            "search suggestions open": open_suggestions,
        },
    )


def context_for(browser: Browser, site: Site, who: str | None, **options) -> BrowserContext:
    context = browser.new_context(**options)
    if who:
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": site.sessions[who], "url": site.url}]
        )
    return context


def visit(page: Page, site: Site, path: str, state: str = "") -> None:
    page.goto(f"{site.url}{path}")
    page.wait_for_load_state("load")
    if "/graph/" in path:
        page.wait_for_function("() => document.getElementById('explorer').dataset.ready === 'true'")
    if state in site.actions:
        site.actions[state](page)


def check_urls_resolve(site: Site, browser: Browser) -> None:
    context = context_for(browser, site, None)
    page = context.new_page()
    for state, (path, who) in site.paths.items():
        if who or state == "not found":
            continue
        response = page.goto(f"{site.url}{path}")
        assert response is not None and response.status == 200, (state, path)
    context.close()


def test_no_page_scrolls_sideways_at_phone_and_tablet_widths(browser: Browser, site: Site):
    check_urls_resolve(site, browser)
    problems = []
    for who in (None, "visitor", "owner"):
        # The admin's own (Django) changelists scroll sideways on narrow screens by design.
        states = {s: p for s, (p, w) in site.paths.items() if w == who}
        for width in WIDTHS:
            context = context_for(browser, site, who, viewport={"width": width, "height": 800})
            page = context.new_page()
            for state, path in states.items():
                visit(page, site, path, state)
                found = page.evaluate(OVERFLOW)
                if found["scroll"] > found["width"]:
                    problems.append(
                        f"{state} at {width}px: {found['scroll']}px wide {found['wide']}"
                    )
            context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_on_any_page(browser: Browser, site: Site, scheme: str):
    problems = []
    for who in (None, "visitor", "owner", "curator"):
        states = {s: p for s, (p, w) in site.paths.items() if w == who}
        for width in (390, 1366):
            # axe-core goes in as an inline script, which the Content-Security-Policy forbids.
            context = context_for(
                browser,
                site,
                who,
                viewport={"width": width, "height": 900},
                color_scheme=scheme,
                bypass_csp=True,
            )
            page = context.new_page()
            for state, path in states.items():
                visit(page, site, path, state)
                page.add_script_tag(path=str(AXE))
                for violation in page.evaluate(RUN_AXE):
                    problems.append(f"{state} at {width}px ({scheme}): {violation}")
            context.close()
    assert not problems, "\n".join(problems)


def contrast(a: list[float], b: list[float]) -> float:
    def luminance(rgb: list[float]) -> float:
        def channel(c: float) -> float:
            c = c / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b_ = (channel(c) for c in rgb[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


FOCUS_COLOURS = """() => {
  const rgb = (value) => value.match(/[\\d.]+/g).map(Number);
  const el = document.activeElement;
  const style = getComputedStyle(el);
  let card = el;
  const clear = (node) => getComputedStyle(node).backgroundColor === "rgba(0, 0, 0, 0)";
  while (card && clear(card)) card = card.parentElement;
  return {
    outline: rgb(style.outlineColor), width: parseFloat(style.outlineWidth),
    style: style.outlineStyle, behind: rgb(getComputedStyle(card || document.body).backgroundColor),
    page: rgb(getComputedStyle(document.documentElement).backgroundColor),
  };
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_focus_is_visible_with_at_least_3_to_1_contrast(browser: Browser, site: Site, scheme):
    context = context_for(browser, site, None, color_scheme=scheme)
    page = context.new_page()
    visit(page, site, site.researcher.get_absolute_url())
    # Tab to the first link inside a card (the keyboard path, so :focus-visible applies).
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('.card')"):
            break
    colours = page.evaluate(FOCUS_COLOURS)
    assert colours["style"] != "none" and colours["width"] >= 2
    assert contrast(colours["outline"], colours["behind"]) >= 3, colours
    assert contrast(colours["outline"], colours["page"]) >= 3, colours
    context.close()


def test_the_first_work_comes_before_the_cards(browser: Browser, site: Site):
    path = site.researcher.get_absolute_url()
    # Desktop: a side column beside the main one; the works start above the fold's
    # second screen and no side card sits above them in the main column.
    context = context_for(browser, site, None, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    visit(page, site, path)
    # The slice drawn (the worker builds it), as a visitor sees the page a moment later.
    expect(page.locator("#graph-slice")).to_have_class(
        re.compile("graph-slice-ready"), timeout=30_000
    )
    main = page.locator("#published-work").bounding_box()
    for card in ("#connect", "#identity", "#direct-collaboration"):
        box = page.locator(card).bounding_box()
        assert box["x"] >= main["x"] + main["width"], f"{card} is not in the side column"
    trust = page.locator("section.trust").bounding_box()
    assert trust["x"] >= main["x"] + main["width"]
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "profile-desktop.png")
    context.close()

    # Phone: header, the trust and stats strip, then the works within two screens.
    context = context_for(browser, site, None, viewport={"width": 390, "height": 844})
    page = context.new_page()
    visit(page, site, path)
    first_work = page.locator("#published-work li.work").first.bounding_box()
    assert first_work["y"] < 2 * 844, f"first work at {first_work['y']}px"
    works_top = page.locator("#published-work").bounding_box()["y"]
    for card in ("#connect", "#identity", "#direct-collaboration", "#research-graph"):
        assert page.locator(card).bounding_box()["y"] > works_top, f"{card} comes before the works"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=SCREENSHOTS / "profile-phone.png")
    context.close()


def test_focus_follows_the_works_list_and_the_follow_button(browser: Browser, site: Site):
    context = context_for(browser, site, "visitor", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    visit(page, site, site.researcher.get_absolute_url())
    page.wait_for_function("() => window.htmx !== undefined")

    works = page.locator("#published-work")
    works.get_by_role("link", name="Oldest first").focus()
    page.keyboard.press("Enter")
    # Another request starting meanwhile (as the graph slice's polling does) changes nothing.
    page.evaluate("htmx.ajax('GET', '/', { source: document.body, swap: 'none' })")
    expect(page).to_have_url(re.compile(r"\?sort=oldest$"))
    expect(page.locator("#works-heading")).to_be_focused()
    # The next Tab goes on inside the list, not from the top of the page.
    page.keyboard.press("Tab")
    assert page.evaluate("!!document.activeElement.closest('#published-work')")

    follow = page.locator("#follow-control button[aria-pressed]")
    follow.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#follow-control button[aria-pressed]")).to_contain_text("Following")
    expect(page.locator("#follow-control button[aria-pressed]")).to_be_focused()
    context.close()


def test_abstract_toggle_has_a_short_name_and_its_state(browser: Browser, site: Site):
    context = context_for(browser, site, None)
    page = context.new_page()
    visit(page, site, site.researcher.get_absolute_url())
    toggle = page.locator("#published-work li.work").first.locator("details.abstract summary")
    expect(toggle).to_have_accessible_name("Show full abstract")
    assert toggle.evaluate("el => el.parentElement.open") is False
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_accessible_name("Show less")
    assert toggle.evaluate("el => el.parentElement.open") is True
    context.close()


LABEL_BOXES = """() => window.bzpeerExplorer.cy.nodes('.labelled').filter((n) => n.visible())
  .map((n) => n.renderedBoundingBox({
    includeNodes: false, includeEdges: false, includeLabels: true,
  }))"""


def assert_no_label_overlaps(page: Page) -> int:
    boxes = page.evaluate(LABEL_BOXES)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap = (
                a["x1"] < b["x2"] and b["x1"] < a["x2"] and a["y1"] < b["y2"] and b["y1"] < a["y2"]
            )
            assert not overlap, (a, b)
    return len(boxes)


def test_explorer_labels_do_not_collide_and_counts_stay_true(browser: Browser, site: Site):
    context = context_for(browser, site, None, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    visit(page, site, f"/researchers/{site.researcher.pk}/graph/")
    assert assert_no_label_overlaps(page) >= 3

    # Zoomed in, labels keep their size on screen (so more of them can fit), still apart.
    font = "parseFloat(window.bzpeerExplorer.cy.nodes('.labelled')[0].renderedStyle('font-size'))"
    assert abs(page.evaluate(font) - 11) < 0.5
    zoom = page.evaluate(
        "() => { const cy = window.bzpeerExplorer.cy; cy.zoom({ level: cy.zoom() * 2,"
        " renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } }); return cy.zoom(); }"
    )
    page.wait_for_function(
        "z => document.getElementById('explorer').dataset.labelZoom === z.toFixed(4)", arg=zoom
    )
    assert abs(page.evaluate(font) - 11) < 0.5
    assert assert_no_label_overlaps(page) >= 1

    # Selecting a node labels it, still without collisions.
    page.evaluate("id => window.bzpeerExplorer.select(id)", f"researcher:{site.researcher.pk}")
    assert_no_label_overlaps(page)

    # Filter out the papers: the counts are of what is left, edges between shown nodes.
    page.get_by_role("checkbox", name="paper").uncheck()
    shown = page.evaluate("window.bzpeerExplorer.cy.nodes().not('.filtered').length")
    edges = page.evaluate("window.bzpeerExplorer.visibleEdges().length")
    total_edges = page.evaluate("window.bzpeerExplorer.cy.edges().length")
    assert edges < total_edges
    assert page.evaluate(
        "window.bzpeerExplorer.visibleEdges().every(e => !e.source().hasClass('filtered')"
        " && !e.target().hasClass('filtered'))"
    )
    noun = "edge" if edges == 1 else "edges"
    expect(page.locator("#explorer-status")).to_contain_text(f"{shown} nodes and {edges} {noun}")
    assert_no_label_overlaps(page)
    context.close()

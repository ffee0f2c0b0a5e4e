"""The full graph explorer in headless Chromium: cytoscape from node_modules, a click that
expands a node from the neighbours JSON, the type filter, search, a 2,000-node graph, and
the lists that work without JavaScript.

No worker is needed: the slices are built in the test (the service the worker runs)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bzpeer.curation.derived import refresh_researcher_counts
from graph.composition import freshness_key
from graph.models import GraphSlice
from graph.services import build_slice
from profiles.models import Researcher
from tests.builders import researcher_with_coauthors
from tests.factories import AuthorshipFactory, TopicFactory, WorkFactory

pytestmark = pytest.mark.browser

LARGE_NODES = 2_000
# The explorer marks itself ready once its layout has finished (positions are final).
READY = "() => document.getElementById('explorer').dataset.ready === 'true'"


VISIBLE_PAPERS = (
    "window.bzpeerExplorer.cy.nodes('[type = \"paper\"]').filter(n => n.visible()).length"
)


def node_count(page: Page, selector: str = "node") -> int:
    return page.evaluate(f"window.bzpeerExplorer.cy.elements({selector!r}).length")


def wait_for_count(page: Page, expression: str, expected: int, *, what: str) -> None:
    """Wait until the JavaScript `expression` counts `expected`; fail with the last count.

    For what cytoscape settles on its next drawn frame: a class change (the type filter)
    only marks an element's style dirty, and `visible()` answers from a per-element cache
    that is refreshed when the renderer next draws, so a count taken in the same moment as
    the filter can still see the nodes as visible."""
    try:
        page.wait_for_function(f"expected => ({expression}) === expected", arg=expected)
    except PlaywrightTimeoutError:
        pytest.fail(f"{page.evaluate(expression)} {what} (expected {expected})")


def open_explorer(page: Page, live_server, researcher: Researcher) -> None:
    page.goto(f"{live_server.url}/researchers/{researcher.pk}/graph/")
    page.wait_for_function(READY)


def click_node(page: Page, node_id: str, *, double: bool = False) -> None:
    """A real mouse click where cytoscape drew the node.

    The node is first centred in the graph and the graph scrolled into the window: a random
    layout can put it below the fold, where a click at its coordinates hits nothing."""
    canvas = page.locator("#explorer-canvas")
    canvas.scroll_into_view_if_needed()
    page.evaluate(
        "id => { const cy = window.bzpeerExplorer.cy; cy.center(cy.getElementById(id)); }",
        node_id,
    )
    box = canvas.bounding_box()
    viewport_height = page.viewport_size["height"]
    page.evaluate(
        "dy => window.scrollBy(0, dy)", box["y"] + box["height"] / 2 - viewport_height / 2
    )
    box = canvas.bounding_box()
    position = page.evaluate(
        "id => window.bzpeerExplorer.cy.getElementById(id).renderedPosition()", node_id
    )
    x, y = box["x"] + position["x"], box["y"] + position["y"]
    if double:
        page.mouse.dblclick(x, y)
    else:
        page.mouse.click(x, y)


@pytest.fixture
def lead(transactional_db) -> Researcher:
    """A researcher whose co-authors also publish without them (so expanding a co-author
    brings new papers and a new topic)."""
    researcher = researcher_with_coauthors(coauthors=6, works=5, topics=3, institutions=2)
    elsewhere = TopicFactory(display_name="Elsewhere")
    coauthors = [e.coauthor for e in researcher.coauthor_edges.select_related("coauthor")]
    for person in coauthors:
        for year in (2018, 2019):
            work = WorkFactory(title=f"{person.display_name} alone, {year}", publication_year=year)
            work.topics.add(elsewhere)
            AuthorshipFactory(work=work, researcher=person)
    refresh_researcher_counts(researcher_ids=[p.pk for p in coauthors])
    build_slice(researcher_id=researcher.pk)
    return researcher


def test_open_expand_filter_search(page: Page, live_server, lead: Researcher):
    open_explorer(page, live_server, lead)
    payload = GraphSlice.objects.get(researcher=lead).payload
    assert node_count(page) == len(payload["nodes"])
    assert page.evaluate("typeof cytoscape.version") == "string"
    expect(page.locator("#explorer-graph")).to_be_visible()
    expect(page.locator("#explorer-status")).to_contain_text(f"{len(payload['nodes'])} nodes")

    # Expand a co-author: their neighbours come from the JSON endpoint and join the graph
    # and the lists.
    person = next(n for n in payload["nodes"] if n["type"] == "person")
    before = node_count(page)
    people_before = page.locator('[data-group="people"] li').count()
    with page.expect_response(re.compile(r"/graph/nodes/.+/neighbours\.json$")) as response:
        click_node(page, person["id"])
    assert response.value.status == 200
    expect(page.locator("#explorer-status")).to_contain_text("Added")
    assert node_count(page) > before
    assert page.evaluate(
        "id => window.bzpeerExplorer.cy.getElementById(id).hasClass('expanded')", person["id"]
    )
    expect(page.locator("#explorer-panel-label")).to_have_text(person["label"])
    expect(page.locator("#explorer-panel-open")).to_have_attribute("href", person["url"])
    assert page.locator('[data-group="people"] li').count() >= people_before

    # Filter by type: papers leave the graph and the lists, then come back.
    papers = node_count(page, 'node[type = "paper"]')
    assert papers > 0
    page.get_by_role("checkbox", name="paper").uncheck()
    assert node_count(page, 'node[type = "paper"].filtered') == papers
    wait_for_count(page, VISIBLE_PAPERS, 0, what="paper nodes still visible after the filter")
    expect(page.locator('[data-group="papers"] li').first).to_be_hidden()
    expect(page.locator("#explorer-status")).to_contain_text(f"{papers} hidden by the type filter")
    page.get_by_role("checkbox", name="paper").check()
    assert node_count(page, ".filtered") == 0
    expect(page.locator('[data-group="papers"] li').first).to_be_visible()

    # Search highlights the matching node and selects it on Enter.
    page.get_by_label("Find a node").fill(lead.display_name)
    page.get_by_label("Find a node").press("Enter")
    expect(page.locator("#explorer-status")).to_contain_text("1 node matches")
    assert page.evaluate("window.bzpeerExplorer.cy.nodes('.match').map(n => n.id())") == [
        f"researcher:{lead.pk}"
    ]
    expect(page.locator("#explorer-panel-label")).to_have_text(lead.display_name)


def test_keyboard_expands_from_the_list(page: Page, live_server, lead: Researcher):
    open_explorer(page, live_server, lead)
    topic = next(
        n for n in GraphSlice.objects.get(researcher=lead).payload["nodes"] if n["type"] == "topic"
    )
    button = page.locator(f'li[data-node-id="{topic["id"]}"] button')
    button.focus()
    with page.expect_response(re.compile(r"/graph/nodes/.+/neighbours\.json$")) as response:
        page.keyboard.press("Enter")
    expect(page.locator("#explorer-status")).to_contain_text("Added")
    # Every neighbour the endpoint returned is now in the graph (some may have been there).
    neighbour_ids = [node["id"] for node in response.value.json()["nodes"]]
    assert neighbour_ids
    assert page.evaluate(
        "ids => ids.every(id => window.bzpeerExplorer.cy.getElementById(id).nonempty())",
        neighbour_ids,
    )
    assert page.evaluate(
        "id => window.bzpeerExplorer.cy.getElementById(id).hasClass('expanded')", topic["id"]
    )


def test_double_click_opens_the_node_page(page: Page, live_server, lead: Researcher):
    open_explorer(page, live_server, lead)
    topic = next(
        n for n in GraphSlice.objects.get(researcher=lead).payload["nodes"] if n["type"] == "topic"
    )
    click_node(page, topic["id"], double=True)
    expect(page).to_have_url(re.compile(re.escape(topic["url"]) + "$"))


def test_two_thousand_nodes_render(page: Page, live_server, transactional_db):
    """A synthetic slice of 2,000 nodes: the page loads it into cytoscape and draws it
    (not timed; the layout that scales and the batched add are what keep it usable)."""
    researcher = researcher_with_coauthors(coauthors=0, works=0, topics=1)
    center = f"researcher:{researcher.pk}"
    kinds = ["person", "paper", "topic", "institution"]
    nodes = [{"id": center, "type": "researcher", "label": researcher.display_name, "url": "/"}]
    edges = []
    for i in range(1, LARGE_NODES):
        kind = kinds[i % 4]
        nodes.append({"id": f"x:{i}", "type": kind, "label": f"{kind} {i}", "url": "/"})
        edges.append(
            {"source": center if i < 50 else f"x:{i // 2}", "target": f"x:{i}", "type": "t"}
        )
    GraphSlice.objects.update_or_create(
        researcher=researcher,
        defaults={
            "status": GraphSlice.Status.READY,
            "payload": {
                "center": center,
                "nodes": nodes,
                "edges": edges,
                "freshness": freshness_key(researcher),
            },
        },
    )
    open_explorer(page, live_server, researcher)
    assert node_count(page) == LARGE_NODES
    assert node_count(page, "edge") == LARGE_NODES - 1
    expect(page.locator("#explorer-status")).to_contain_text(f"{LARGE_NODES} nodes")
    # Laid out (not all at the origin) and drawn inside the viewport.
    spread = page.evaluate(
        "(() => { const bb = window.bzpeerExplorer.cy.nodes().boundingBox();"
        " return [bb.w, bb.h]; })()"
    )
    assert min(spread) > 100
    assert page.evaluate("window.bzpeerExplorer.cy.zoom()") > 0
    page.get_by_role("checkbox", name="paper").uncheck()
    assert node_count(page, ".filtered") == LARGE_NODES // 4


def test_without_javascript_the_lists_remain(browser, live_server, lead: Researcher):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/researchers/{lead.pk}/graph/")
        expect(page.locator("#explorer-graph")).to_be_hidden()
        people = page.locator('[data-group="people"]')
        expect(people.get_by_role("link").first).to_be_visible()
        expect(page.get_by_role("heading", name=re.compile(r"^People \(6\)$"))).to_be_visible()
    finally:
        context.close()

"""Odd input never makes a 500: every URL pattern of the resolved urlconf is fuzzed with
hostile path values and hostile query parameters, as anonymous and as a signed-in curator,
with GET, HEAD and POST (CSRF enforced)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.claims.helpers import make_user
from tests.factories import ResearcherFactory, WorkFactory

# Real transactions (autocommit, as in production): a failed query must not poison the
# requests after it, as it would inside one test transaction.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("locmem_cache")]

# Values as they appear in a URL (already percent-encoded where needed).
HOSTILE = [
    "%00",
    "a%00b",
    "%C2%B2",  # "²": str.isdigit() is True, int() refuses it
    "%D9%A1%D9%A2",  # Arabic-Indic digits: int() accepts them
    "-1",
    "99999999999999999999999999",
    "1e9",
    "%0D%0A",
    "%FF%FE",  # not UTF-8
    "%E2%80%AE",
    "..%2F..%2Fetc%2Fpasswd",
    "%3Cscript%3E'%22",
    "x" * 600,
    "researcher:%C2%B2",
    "work:99999999999999999999",
    "topic:%D9%A1",
    "A%C2%B2",
    "https:%2F%2Fopenalex.org%2FA%00",
]
# The admin repeats one set of views per model: a shorter list is enough there.
HOSTILE_SHORT = ["%00", "%C2%B2", "99999999999999999999999999", "%FF%FE"]
PARAMS = ["page", "sort", "poll", "q", "next", "pk", "id", "o", "p", "e", "all"]
POST_DATA = dict.fromkeys(("subject", "message", "email", "login", "reason"), "x\x00²")


def _routes(patterns, prefix: str = "") -> list[str]:
    """Every route of the urlconf as a URL template with {} where a value goes."""
    routes = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            routes += _routes(entry.url_patterns, prefix + _template(entry.pattern))
        elif isinstance(entry, URLPattern):
            routes.append(prefix + _template(entry.pattern))
    return routes


def _template(pattern) -> str:
    text = str(pattern)
    if hasattr(pattern, "_route"):  # path(): <conv:name>
        return re.sub(r"<[^>]+>", "{}", text)
    # re_path(): named and unnamed groups become a slot; anchors and escapes go.
    text = re.sub(r"\(\?P<\w+>(?:[^()]|\([^()]*\))*\)", "{}", text)
    text = re.sub(r"\((?:[^()]|\([^()]*\))*\)", "{}", text)
    text = text.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    return text.replace("?", "").replace("*", "").replace("+", "")


@pytest.fixture
def owner():
    return make_user("owner@uni.test")


@pytest.fixture
def researcher(owner):
    WorkFactory()
    return ResearcherFactory(owner=owner, verification_level=2)


def _urls(route: str, real_id: int) -> list[str]:
    """The route with each slot hostile in turn (the others a real id, so the view runs
    past its first lookup), plus the route with real ids and hostile query parameters."""
    slots = route.count("{}")
    values = HOSTILE_SHORT if route.startswith("admin/") else HOSTILE
    urls = []
    for value in values if slots else []:
        for i in range(slots):
            parts = [str(real_id)] * slots
            parts[i] = value
            urls.append("/" + route.format(*parts))
    return urls


def _query_urls(route: str, real_id: int) -> list[str]:
    """The route with real ids and every parameter name set to one hostile value (NUL is
    covered by the path values above)."""
    values = HOSTILE_SHORT if route.startswith("admin/") else HOSTILE
    base = "/" + route.format(*[str(real_id)] * route.count("{}"))
    return [
        base + "?" + "&".join(f"{name}={value}" for name in PARAMS)
        for value in values
        if "%00" not in value
    ]


def _request(client: Client, method: str, url: str):
    if method == "post":
        return client.post(url, POST_DATA)
    return getattr(client, method)(url)


def _hit_all(client: Client, routes: list[str], real_id: int) -> list[str]:
    failures = []
    for route in routes:
        for url in _urls(route, real_id):
            get = _request(client, "get", url)
            if get.status_code >= 500:
                failures.append(f"GET {url[:140]} -> {get.status_code}")
            head = _request(client, "head", url)
            if head.status_code >= 500 or (head.status_code == 405 and get.status_code != 405):
                failures.append(f"HEAD {url[:140]} -> {head.status_code} (GET {get.status_code})")
            post = _request(client, "post", url)
            if post.status_code >= 500:
                failures.append(f"POST {url[:140]} -> {post.status_code}")
        for url in _query_urls(route, real_id):
            get = _request(client, "get", url)
            if get.status_code >= 500:
                failures.append(f"GET {url[:140]} -> {get.status_code}")
    return failures


def test_no_hostile_path_or_parameter_makes_a_500_and_head_works_where_get_does(researcher, owner):
    routes = _routes(get_resolver().url_patterns)
    assert len(routes) > 40  # the whole urlconf, admin and accounts included
    site = [route for route in routes if not route.startswith("admin/")]
    anonymous, owner_client, curator = (
        Client(enforce_csrf_checks=True, raise_request_exception=False) for _ in range(3)
    )
    owner_client.force_login(owner)  # signed in, verified, owner of the record in the URLs
    # A superuser: every admin page and action is open (the Curators group, made by a
    # migration, is gone after an earlier transactional test's flush).
    admin_user = make_user("curator@bzpeer.test")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    curator.force_login(admin_user)
    failures = _hit_all(anonymous, site, researcher.pk) + _hit_all(
        owner_client, site, researcher.pk
    )
    # The admin answers only staff (others get its login redirect).
    failures += _hit_all(curator, [r for r in routes if r not in site], researcher.pk)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:80])


def test_a_nul_byte_in_the_path_or_a_parameter_is_a_400(client):
    assert client.get("/researchers/source/%00/").status_code == 400
    assert client.get("/researchers/1/graph/slice/?poll=%00").status_code == 400
    assert client.post("/accounts/login/", {"login": "a\x00@b.test"}).status_code == 400


def test_a_non_ascii_digit_in_a_node_id_is_a_404(client):
    url = "/graph/nodes/researcher:%C2%B2/neighbours.json"
    assert client.get(url).status_code == 404
    assert client.get("/graph/nodes/researcher:%D9%A1/neighbours.json").status_code == 404

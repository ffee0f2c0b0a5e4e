"""Odd input never makes a 500: every URL pattern of the resolved urlconf is fuzzed with
hostile path values and hostile query parameters, as anonymous and as a signed-in curator,
with GET, HEAD and POST (CSRF enforced)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.crypto import get_random_string

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
# Every query parameter a view reads (search filters, the works list, the explorer, the
# admin's autocomplete), and a few any page might.
PARAMS = [
    *("page", "sort", "poll", "q", "next", "pk", "id", "o", "p", "e", "all"),
    *("kind", "type", "country", "trust_band", "year_from", "year_to", "institution"),
    *("topic", "claimed", "verification", "has_orcid", "from", "to", "role", "author"),
    *("authors", "term", "app_label", "model_name", "field_name", "token"),
]
FIELDS = (
    *("subject", "message", "email", "login", "reason", "password", "password1", "password2"),
    *("confirm", "action", "email_digest", "summary", "evidence", "orcid", "note", "name"),
    *("url", "next", "kind", "visibility", "open_to_collaborate", "researcher", "claim", "back"),
)
POST_DATA = dict.fromkeys(FIELDS, "x\x00²")
# What Django renders when it refuses a CSRF token (settings.CSRF_FAILURE_VIEW's default).
CSRF_FAILURE_TEMPLATE = "403_csrf.html"
# Form values that pass the NUL check and reach the views' forms (with a CSRF token).
HOSTILE_FORM_VALUES = [
    "²",
    "99999999999999999999999999",
    "a\r\nBcc: x@evil.test",
    "<script>alert(1)</script>" + "x" * 5000,
]


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


def _get_and_head(client: Client, url: str) -> list[str]:
    """No 5xx for GET or HEAD, and HEAD answered wherever GET is."""
    failures = []
    get = _request(client, "get", url)
    if get.status_code >= 500:
        failures.append(f"GET {url[:140]} -> {get.status_code}")
    head = _request(client, "head", url)
    if head.status_code >= 500 or (head.status_code == 405 and get.status_code != 405):
        failures.append(f"HEAD {url[:140]} -> {head.status_code} (GET {get.status_code})")
    return failures


def _post_forms(client: Client, routes: list[str], real_id: int, relogin=None) -> list[str]:
    """POST every route (real ids) with a valid CSRF token and each hostile form value in
    every usual field, so the views' own forms and lookups meet them."""
    failures = []
    secret = get_random_string(32)
    for route in routes:
        url = "/" + route.format(*[str(real_id)] * route.count("{}"))
        for value in HOSTILE_FORM_VALUES:
            client.cookies[settings.CSRF_COOKIE_NAME] = secret
            data = {**dict.fromkeys(FIELDS, value), "csrfmiddlewaretoken": secret}
            response = client.post(url, data)
            if response.status_code >= 500:
                failures.append(f"POST {url[:100]} {value[:30]!r} -> {response.status_code}")
            # The CSRF failure page by its template: a signed-in 403 page in the site layout
            # carries the token for htmx, so its text would name CSRF too.
            if response.status_code == 403 and CSRF_FAILURE_TEMPLATE in {
                template.name for template in response.templates
            }:
                failures.append(f"POST {url[:100]}: the CSRF token was refused")
            if relogin is not None:
                relogin()  # a sign-out or similar form must not end the owner's round
    return failures


def _hit_all(client: Client, routes: list[str], real_id: int) -> list[str]:
    failures = []
    for route in routes:
        # The route itself (real ids): HEAD must work here too, not only on odd values.
        failures += _get_and_head(client, "/" + route.format(*[str(real_id)] * route.count("{}")))
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
        for i, url in enumerate(_query_urls(route, real_id)):
            # HEAD with the first odd value (it runs the GET view; the rest are GETs).
            if i == 0:
                failures += _get_and_head(client, url)
            elif (get := _request(client, "get", url)).status_code >= 500:
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
    # Forms with a valid CSRF token (none of the values confirms the account deletion; a
    # sign-out is undone after each post).
    failures += _post_forms(anonymous, site, researcher.pk)
    failures += _post_forms(
        owner_client, site, researcher.pk, lambda: owner_client.force_login(owner)
    )
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:80])


def test_a_nul_byte_in_the_path_or_a_parameter_is_a_400(client):
    assert client.get("/researchers/source/%00/").status_code == 400
    assert client.get("/researchers/1/graph/slice/?poll=%00").status_code == 400
    assert client.post("/accounts/login/", {"login": "a\x00@b.test"}).status_code == 400


def test_a_non_ascii_digit_in_a_node_id_is_a_404(client):
    url = "/graph/nodes/researcher:%C2%B2/neighbours.json"
    assert client.get(url).status_code == 404
    assert client.get("/graph/nodes/researcher:%D9%A1/neighbours.json").status_code == 404


def test_the_fuzz_recognises_a_refused_csrf_token():
    strict = Client(enforce_csrf_checks=True)
    strict.cookies[settings.CSRF_COOKIE_NAME] = get_random_string(32)
    response = strict.post("/researchers/1/follow/", {"csrfmiddlewaretoken": "x" * 32})
    assert response.status_code == 403
    assert CSRF_FAILURE_TEMPLATE in {template.name for template in response.templates}

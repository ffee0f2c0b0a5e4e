from __future__ import annotations

import pytest

from bzpeer.pagecache.responses import clear_all

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _empty_page_cache():
    # Every test starts cold; keys are unique per database anyway (epoch + ids).
    clear_all()
    yield


def get(client, url: str, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return response


def html(response) -> str:
    return response.content.decode()


def assert_cached_then_fresh(
    client, url: str, change, *, before: str, after: str, gone: bool = True, **kwargs
):
    """Render the page, prove the next request comes from the cache, make the change,
    and assert the next request shows it (and, with `gone`, no longer shows `before`)."""
    first = get(client, url, **kwargs)
    assert before in html(first), f"{before!r} not on {url} before the change"
    second = get(client, url, **kwargs)
    assert second["X-Page-Cache"] == "hit", f"{url} was not served from the cache"
    change()
    third = get(client, url, **kwargs)
    assert after in html(third), f"{after!r} not on {url} after the change"
    if gone and before not in after:
        assert before not in html(third), f"{before!r} still on {url} after the change"
    return third

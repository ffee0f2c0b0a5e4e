from __future__ import annotations

import os
import uuid

import pytest

from tests.query_budgets import BUDGETS

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make beside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="reader", password="pw-reader-123")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="other", password="pw-other-123")


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def query_budget(django_assert_num_queries):
    """`with query_budget("profile.anonymous"): ...` runs the block on exactly the number of
    queries tests/query_budgets.py gives that page or fragment."""

    def check(page: str):
        return django_assert_num_queries(BUDGETS[page])

    return check


@pytest.fixture
def locmem_cache(settings):
    """An empty in-memory cache of this test's own, for tests that are not about Redis:
    rate-limit windows (ours and allauth's) and cached fragments start empty, and no live
    Redis is needed."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"bzpeer-test-{uuid.uuid4().hex}",
        }
    }


def clear_rate_limits() -> None:
    # Our fixed windows (bzpeer.ratelimit) and allauth's (login_failed etc.) in the Redis
    # cache; nothing else there is touched (the broker may share the database).
    from django.core.cache import cache

    cache.delete_pattern("ratelimit:*")
    cache.delete_pattern("allauth:rl:*")


@pytest.fixture
def redis_rate_limits():
    """The real Redis cache with no rate-limit window open, for the tests of rate limiting
    on Redis and for end-to-end tests."""
    clear_rate_limits()
    yield
    clear_rate_limits()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- browser launch (pytest-playwright) -------------------------------------------------
# Debian's Chromium (/usr/bin/chromium), not a browser downloaded by `playwright install`:
# the machines that run the suite have no access to Playwright's download host.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(executable, os.X_OK):
        pytest.skip(f"No Chromium at {executable} (apt-get install -y chromium, or CHROMIUM_PATH)")
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


# --- CI: a skipped test fails the run ------------------------------------------------------
# Locally a test may skip (no Redis, no Chromium); in CI a skip would hide a missing
# service, so the session fails and names every skipped test.
_skipped: list[str] = []


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _note_skip(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_runtest_logreport(report) -> None:
    _note_skip(report)


def pytest_collectreport(report) -> None:
    _note_skip(report)


def pytest_terminal_summary(terminalreporter) -> None:
    if _ci() and _skipped:
        terminalreporter.write_sep("=", "CI=true: skipped tests fail the run", red=True)
        for line in _skipped:
            terminalreporter.write_line(f"SKIPPED {line}")


def pytest_sessionfinish(session, exitstatus) -> None:
    if _ci() and _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

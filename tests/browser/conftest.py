"""Browser tests: headless Chromium (launch options in tests/conftest.py) against
pytest-django's live server, with the real Celery worker from tests/integration."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from profiles.models import Researcher

# The same session worker as the integration tests (one per session, see there), and the
# hook that adds its log to a failed test's report.
from tests.integration.conftest import (  # noqa: F401
    celery_worker,
    celery_worker_process,
    pytest_runtest_makereport,
    wait_until,
)

DEMO_DATA = Path(settings.BASE_DIR) / "bzpeer" / "demo_data"
SEED_SOURCE_ID = "urn:bzpeer:seed:A1"  # Teven Le Scao, the reference page's researcher


@pytest.fixture(autouse=True)
def _served_like_local(settings):
    """The live server over plain http, whatever DEBUG the environment set: cookies that
    need no TLS and static files straight from the finders (no collectstatic manifest)."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def teven(transactional_db, request: pytest.FixtureRequest) -> Researcher:
    """The seed profile imported with the real command; the worker has computed trust.

    Only seed_profile: the larger openalex_demo import takes about half a minute and has
    nothing in common with this researcher."""
    worker = request.getfixturevalue("celery_worker")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_openalex", str(DEMO_DATA / "seed_profile"), stdout=out, stderr=err)
    researcher = Researcher.objects.get(source_id=SEED_SOURCE_ID)

    def trust_computed() -> bool:
        researcher.refresh_from_db()
        return researcher.trust_computed_at is not None

    # The import queued trust for every researcher it touched, on commit.
    wait_until(
        trust_computed,
        timeout=60,
        what=f"the worker to compute trust after the import:\n{out.getvalue()}{err.getvalue()}",
    )
    worker.wait_idle(timeout=60)
    return researcher

"""An anonymous visitor asks for a profile to be hidden; a curator approves it in the
admin; the profile is gone (410, neutral page) and the work's page keeps the author's name
without a link. Headless Chromium against the live server and the real worker."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect

from claims.models import HideRequest
from profiles.models import Researcher
from tests.waiting import wait_until
from works.models import Work

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.usefixtures("redis_rate_limits")]

PASSWORD = "a-long-pass-phrase-42"


def test_anonymous_hide_request_through_curator_approval(
    page: Page, browser: Browser, live_server, teven: Researcher, mailoutbox
):
    profile_url = f"{live_server.url}{teven.get_absolute_url()}"

    # 1. A visitor, not signed in, finds the link on the profile and files the request.
    page.goto(profile_url)
    page.get_by_role("link", name="Request removal or hiding").click()
    expect(
        page.get_by_role("heading", name=re.compile("Request removal or hiding"))
    ).to_be_visible()
    page.get_by_label("Your name").fill("Teven Le Scao")
    page.get_by_label("Your email address").fill("teven@bigscience.test")
    page.get_by_label("Hide the whole profile").check()
    page.get_by_label("Who you are and why").fill(
        "I am the researcher this record describes; please take the profile down."
    )
    page.get_by_role("button", name="Send the request").click()
    expect(page.get_by_role("heading", name="Request received")).to_be_visible()
    wait_until(lambda: [m for m in mailoutbox if m.to == ["teven@bigscience.test"]], what="receipt")
    assert HideRequest.objects.get().status == "pending"
    page.goto(profile_url)
    expect(page.get_by_role("heading", name="Teven Le Scao")).to_be_visible()

    # 2. A curator approves it from the review queue. (A superuser: a live-server test's
    # database is flushed between tests, which drops the Curators group its migration made.)
    get_user_model().objects.create_superuser("curator", "curator@bzpeer.test", PASSWORD)
    context = browser.new_context()
    admin = context.new_page()
    admin.goto(f"{live_server.url}/admin/login/")
    admin.get_by_label("Username").fill("curator")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.goto(f"{live_server.url}/admin/claims/hiderequest/")
    request = HideRequest.objects.get()
    admin.locator(f'input[name="_selected_action"][value="{request.pk}"]').check()
    admin.locator('select[name="action"]').select_option("approve")
    admin.get_by_role("button", name="Go").click()
    admin.get_by_label("Reason").fill("ORCID record and staff page match.")
    # The confirmation says what will happen; the message after it, what happened.
    expect(admin.get_by_text("Nothing has changed yet.")).to_be_visible()
    admin.get_by_role("button", name="Approve 1 hide request").click()
    expect(admin.get_by_text("Approved 1 hide request.")).to_be_visible()
    context.close()

    # 3. The profile is gone for everyone; the requester hears of the decision.
    response = page.goto(profile_url)
    assert response is not None and response.status == 410
    expect(page.get_by_role("heading", name="This profile is not available")).to_be_visible()
    expect(page.get_by_text("Teven Le Scao")).to_have_count(0)
    wait_until(lambda: [m for m in mailoutbox if "approved" in m.subject], what="the decision mail")
    # 4. His works stay, his name unlinked.
    work = Work.objects.get(source_id="urn:bzpeer:seed:W6")  # three authors, all shown
    page.goto(f"{live_server.url}{work.get_absolute_url()}")
    authors = page.locator(".author-list")
    expect(authors).to_contain_text("Teven Le Scao")
    expect(authors.locator(f'a[href="{teven.get_absolute_url()}"]')).to_have_count(0)

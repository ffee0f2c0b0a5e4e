"""From sign-up to a collaboration, in headless Chromium against the live server and the
real worker: a newcomer signs up, confirms the email from the outbox, claims Teven Le
Scao's record with evidence; a curator approves it in the admin; the owner sees
"Claimed author" and L2 (trust recomputed by the worker) and opens up to collaboration;
a second user sends an invitation, the owner accepts, and both see the other's email."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect

from claims.models import Claim
from profiles.models import Invitation, Researcher
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.usefixtures("redis_rate_limits")]

NEWCOMER = "teven@bigscience.test"
SECOND = "grace@navy.test"
PASSWORD = "a-long-pass-phrase-42"


def wait_for_htmx(page: Page) -> None:
    page.wait_for_function("() => window.htmx !== undefined")


def sign_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(
        page.get_by_role("navigation", name="Site").get_by_role("link", name=email)
    ).to_be_visible()


def test_sign_up_claim_approve_open_up_and_collaborate(
    page: Page, browser: Browser, live_server, teven: Researcher, celery_worker, mailoutbox
):
    profile_url = f"{live_server.url}{teven.get_absolute_url()}"
    nav = page.get_by_role("navigation", name="Site")

    # 1. A newcomer signs up and confirms the address from the mail we sent.
    page.goto(profile_url)
    nav.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill(NEWCOMER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up", exact=True).click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    confirm = wait_until(lambda: [m for m in mailoutbox if m.to == [NEWCOMER]], what="mail")[0]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", confirm.body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(nav.get_by_role("link", name=NEWCOMER)).to_be_visible()

    # 2. He claims the record with evidence; the answer arrives in place.
    page.goto(profile_url)
    identity = page.locator("#identity")
    identity.get_by_role("link", name="Claim this profile").click()
    wait_for_htmx(page)
    page.get_by_label("Who you are and why this record is yours").fill(
        "I am Teven Le Scao, a researcher at Mistral AI; these are my papers."
    )
    page.get_by_label("Links (one per line)").fill("https://scholar.example.org/teven")
    page.get_by_role("button", name="Send my claim for review").click()
    expect(page.get_by_text("Your claim is waiting for a curator.")).to_be_visible()
    page.goto(profile_url)
    expect(identity.get_by_text("Your claim on this record is pending review")).to_be_visible()
    expect(page.locator("#trust-badges")).to_contain_text("Unclaimed author")

    # 3. A curator approves it in the admin, through the review queue's action.
    get_user_model().objects.create_superuser("curator", "curator@bzpeer.test", PASSWORD)
    trust_computed_at = Researcher.objects.get(pk=teven.pk).trust_computed_at
    curator = browser.new_context()
    admin = curator.new_page()
    admin.goto(f"{live_server.url}/admin/login/")
    admin.get_by_label("Username").fill("curator")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.goto(f"{live_server.url}/admin/claims/claim/")
    claim = Claim.objects.get(researcher=teven)
    admin.locator(f'input[name="_selected_action"][value="{claim.pk}"]').check()
    admin.locator('select[name="action"]').select_option("approve")
    admin.get_by_role("button", name="Go").click()
    admin.get_by_label("Reason").fill("The staff page links these papers.")
    admin.get_by_role("button", name="Approve 1 claim").click()
    expect(
        admin.get_by_text(
            "Approved 1 claim. Each claimant becomes the owner of the record and is told by email."
        )
    ).to_be_visible()
    curator.close()

    # 4. The owner sees the new state; the worker recomputes trust and it shows too.
    wait_until(
        lambda: Researcher.objects.get(pk=teven.pk).trust_computed_at != trust_computed_at,
        what="the worker's trust recomputation",
    )
    teven.refresh_from_db()
    page.goto(profile_url)
    badges = page.locator("#trust-badges")
    expect(badges).to_contain_text("Claimed author")
    expect(badges).to_contain_text("Verification L2")
    expect(badges).to_contain_text(f"Trust {teven.trust_score} - {teven.trust_band}")
    expect(identity.get_by_text("You own this record.")).to_be_visible()

    # 5. He says he is open to co-authoring; the header follows without a reload.
    wait_for_htmx(page)
    page.evaluate("window.__noReload = true")
    page.get_by_label("Co-authoring").check()
    page.get_by_label("Open to collaborate").check()
    page.get_by_role("button", name="Save collaboration settings").click()
    expect(page.get_by_text("You are open to collaborate.", exact=True)).to_be_visible()
    expect(page.locator("#profile-chips")).to_contain_text("Open to collaborate: co-authoring")
    assert page.evaluate("window.__noReload") is True

    # 6. A second user writes to him.
    second = get_user_model().objects.create_user("grace", SECOND, PASSWORD)
    EmailAddress.objects.create(user=second, email=SECOND, verified=True, primary=True)
    visitor = browser.new_context()
    other = visitor.new_page()
    sign_in(other, live_server, SECOND)
    other.goto(profile_url)
    wait_for_htmx(other)
    direct = other.locator("#direct-collaboration")
    direct.get_by_role("link", name="Write an invitation").click()
    expect(direct.get_by_role("heading", name="Conflicts of interest")).to_be_visible()
    direct.get_by_label("Subject").fill("Multilingual evaluation")
    direct.get_by_label("Message").fill("Would you co-author a multilingual benchmark paper?")
    direct.get_by_role("button", name="Send invitation").click()
    expect(direct.get_by_text("Your invitation to Teven Le Scao is on its way.")).to_be_visible()

    # 7. The owner accepts from his inbox and sees her email...
    nav.get_by_role("link", name="Inbox").click()
    card = page.locator("li.invitation", has_text="Multilingual evaluation")
    expect(card).not_to_contain_text(SECOND)
    card.get_by_role("button", name="Accept").click()
    expect(page.locator("li.invitation-accepted")).to_contain_text(f"Contact email: {SECOND}")
    assert Invitation.objects.get().status == "accepted"

    # 8. ...and she sees his.
    other.get_by_role("navigation", name="Site").get_by_role("link", name="Inbox").click()
    expect(other.locator("li.invitation-accepted")).to_contain_text(f"Contact email: {NEWCOMER}")
    visitor.close()

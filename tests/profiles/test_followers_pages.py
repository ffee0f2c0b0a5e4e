"""Who follows a record (its owner decides who may see the list) and the page of the records
an account follows, with the digest switch, unfollow and "open to collaborate"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bzpeer.pagecache.responses import clear_all
from profiles.models import Follow, HiddenBy, Researcher
from profiles.queries import FOLLOWERS_PER_PAGE
from profiles.services import follow_researcher
from tests.claims.helpers import make_user
from tests.factories import InstitutionFactory, ResearcherFactory, UserFactory
from tests.privacy.helpers import VISIBILITY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem_cache")]


@pytest.fixture(autouse=True)
def _cold_page_cache():
    clear_all()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def own(researcher: Researcher, email: str):
    user = make_user(email)
    Researcher.objects.filter(pk=researcher.pk).update(owner=user, verification_level=2)
    researcher.refresh_from_db()
    return user


def body(response) -> str:
    return response.content.decode()


def links_to(html: str, researcher: Researcher) -> bool:
    return f"/researchers/{researcher.pk}-" in html or f"/researchers/{researcher.pk}/" in html


@pytest.fixture
def ada() -> Researcher:
    return ResearcherFactory(display_name="Ada Lovelace")


@pytest.fixture
def ada_user(ada):
    return own(ada, "ada@engines.test")


@pytest.fixture
def followers(ada):
    """Ada's followers: Bob (a public record, at an institution), Cara (a hidden record),
    Dan (a record merged into Bob's), and Eve (no record at all)."""
    bob = ResearcherFactory(
        display_name="Bob Babbage", last_known_institution=InstitutionFactory(display_name="AEI")
    )
    cara = ResearcherFactory(display_name="Cara Countess", hidden_at=timezone.now())
    dan = ResearcherFactory(display_name="Dan Duplicate", merged_into=bob)
    users = {name: make_user(f"{name}@followers.test") for name in ("bob", "cara", "dan", "eve")}
    for name, record in (("bob", bob), ("cara", cara), ("dan", dan)):
        Researcher.objects.filter(pk=record.pk).update(owner=users[name])
    for user in users.values():
        follow_researcher(user=user, researcher=ada)
    return {"bob": bob, "cara": cara, "dan": dan, "users": users}


# --- the followers page ----------------------------------------------------------------------


def test_followers_are_named_by_their_public_record_and_the_others_counted(ada, followers):
    response = Client().get(reverse("researcher_followers", args=[ada.pk]))
    assert response.status_code == 200
    html = body(response)
    assert links_to(html, followers["bob"]) and "Bob Babbage" in html and "AEI" in html
    for hidden in ("cara", "dan"):
        assert not links_to(html, followers[hidden])
    assert "Cara Countess" not in html and "Dan Duplicate" not in html
    assert "4 followers" in html
    assert "3 people without a public profile" in html
    for user in followers["users"].values():
        assert user.email not in html and f">{user.get_username()}<" not in html


def test_only_me_keeps_the_list_from_everyone_but_the_owner(ada, ada_user, followers):
    owner = signed_in(ada_user)
    owner.post(
        reverse("owner_visibility", args=[ada.pk]), {**VISIBILITY, "followers_visibility": "owner"}
    )
    url = reverse("researcher_followers", args=[ada.pk])
    for visitor in (
        Client(),
        signed_in(make_user("mallory@evil.test")),
        signed_in(followers["users"]["bob"]),
    ):
        response = visitor.get(url)
        assert response.status_code == 403
        assert "keeps the list of followers private" in body(response)
        assert "Bob Babbage" not in body(response)
        # The count stays public on the profile.
        profile = body(visitor.get(ada.get_absolute_url()))
        assert '<dd id="stat-followers">4</dd>' in profile
        assert url not in profile
    mine = owner.get(url)
    assert mine.status_code == 200
    assert "Bob Babbage" in body(mine)
    assert url in body(owner.get(ada.get_absolute_url()))


def test_everyone_shows_the_list_to_anyone(ada, ada_user, followers):
    url = reverse("researcher_followers", args=[ada.pk])
    for visitor in (Client(), signed_in(make_user("mallory@evil.test")), signed_in(ada_user)):
        assert "Bob Babbage" in body(visitor.get(url))


def test_the_cached_profile_links_the_list_only_while_the_owner_allows(ada, ada_user, followers):
    visitor = Client()
    profile = ada.get_absolute_url()
    list_url = reverse("researcher_followers", args=[ada.pk])
    visitor.get(profile)
    cached = visitor.get(profile)
    assert cached["X-Page-Cache"] == "hit"
    assert f'href="{list_url}"' in body(cached)
    owner = signed_in(ada_user)

    owner.post(
        reverse("owner_visibility", args=[ada.pk]), {**VISIBILITY, "followers_visibility": "owner"}
    )
    assert f'href="{list_url}"' not in body(visitor.get(profile))
    stranger = signed_in(make_user("mallory@evil.test"))
    assert f'href="{list_url}"' not in body(stranger.get(profile))
    assert f'href="{list_url}"' in body(owner.get(profile))
    visitor.get(profile)
    assert visitor.get(profile)["X-Page-Cache"] == "hit"

    owner.post(reverse("owner_visibility", args=[ada.pk]), VISIBILITY)
    assert f'href="{list_url}"' in body(visitor.get(profile))
    assert f'href="{list_url}"' in body(stranger.get(profile))


def test_a_hidden_record_answers_gone_and_a_merged_one_moves(ada, followers):
    url = reverse("researcher_followers", args=[ada.pk])
    Researcher.objects.filter(pk=ada.pk).update(hidden_at=timezone.now(), hidden_by=HiddenBy.OWNER)
    assert Client().get(url).status_code == 410
    old = ResearcherFactory(merged_into=followers["bob"])
    response = Client().get(reverse("researcher_followers", args=[old.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("researcher_followers", args=[followers["bob"].pk])
    assert Client().get(reverse("researcher_followers", args=[999999])).status_code == 404


def test_followers_page_costs_the_same_whatever_the_followers(ada, query_budget):
    url = reverse("researcher_followers", args=[ada.pk])
    institution = InstitutionFactory()
    for round_size in (1, FOLLOWERS_PER_PAGE + 5):
        for _ in range(round_size):
            record = ResearcherFactory(last_known_institution=institution)
            user = UserFactory()
            Researcher.objects.filter(pk=record.pk).update(owner=user)
            follow_researcher(user=user, researcher=ada)
            follow_researcher(user=UserFactory(), researcher=ada)
        with query_budget("profile.followers"):
            response = Client().get(url + "?page=2")
        assert response.status_code == 200
    assert "Page 2 of 2" in body(response)
    assert f"{FOLLOWERS_PER_PAGE + 6} people without a public profile" in body(response)


def test_odd_page_numbers_fall_back(ada, followers):
    url = reverse("researcher_followers", args=[ada.pk])
    for page in ("0", "-1", "x", "99999999999999999999", "²"):
        assert Client().get(url, {"page": page}).status_code == 200


# --- the following page ----------------------------------------------------------------------


@pytest.fixture
def reader():
    return make_user("reader@engines.test")


def test_following_needs_signing_in():
    response = Client().get(reverse("following"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_account_menu_links_the_following_page(reader):
    assert f'href="{reverse("following")}"' in body(signed_in(reader).get("/"))
    assert f'href="{reverse("following")}"' not in body(Client().get("/"))


def test_following_lists_the_public_records_the_user_follows_and_nothing_else(reader):
    mine = ResearcherFactory(display_name="Grace Hopper")
    hidden = ResearcherFactory(display_name="Hidden Person")
    theirs = ResearcherFactory(display_name="Not Followed By Me")
    for record in (mine, hidden):
        follow_researcher(user=reader, researcher=record)
    follow_researcher(user=make_user("other@engines.test"), researcher=theirs)
    Researcher.objects.filter(pk=hidden.pk).update(hidden_at=timezone.now())
    html = body(signed_in(reader).get(reverse("following")))
    assert links_to(html, mine) and "Grace Hopper" in html
    assert "Hidden Person" not in html and not links_to(html, hidden)
    assert "Not Followed By Me" not in html
    assert "1 researcher." in html
    assert reverse("researcher_unfollow", args=[mine.pk]) in html
    assert reverse("researcher_digest", args=[mine.pk]) in html


def open_section(html: str) -> str:
    return html.split('id="open-heading"', 1)[1]


def test_open_to_collaborate_follows_the_owners_choices(reader):
    today = timezone.localdate()
    records = {
        name: ResearcherFactory(display_name=name, **fields)
        for name, fields in {
            "Open Olga": {},
            "Until Tomorrow Tom": {"open_until": today + timedelta(days=1)},
            "Expired Ed": {"open_until": today - timedelta(days=1)},
            "Closed Clara": {"open_to_collaborate": False},
            "Private Pia": {"open_visible_to_followers": False},
            "Hidden Hugo": {"hidden_at": timezone.now()},
            "Unclaimed Uma": {},
            "Refusing Rita": {"accepts_invitations": False},
            "Unfollowed Ulf": {},
        }.items()
    }
    for name, record in records.items():
        if name != "Unclaimed Uma":
            own(record, f"{name.split()[-1].lower()}@open.test")
        if name != "Unfollowed Ulf":
            Follow.objects.create(user=reader, researcher=record)
    section = open_section(body(signed_in(reader).get(reverse("following"))))
    for shown in ("Open Olga", "Until Tomorrow Tom", "Refusing Rita"):
        assert links_to(section, records[shown]), shown
    for left_out in (
        "Expired Ed",
        "Closed Clara",
        "Private Pia",
        "Hidden Hugo",
        "Unclaimed Uma",
        "Unfollowed Ulf",
    ):
        assert left_out not in section, left_out
    assert reverse("invitation_new", args=[records["Open Olga"].pk]) in section
    assert reverse("invitation_new", args=[records["Refusing Rita"].pk]) not in section
    assert "Does not accept invitations." in section


def test_open_to_collaborate_moves_with_the_owners_switch(reader, ada, ada_user):
    follow_researcher(user=reader, researcher=ada)
    page = signed_in(reader)
    assert "Ada Lovelace" in open_section(body(page.get(reverse("following"))))
    signed_in(ada_user).post(
        reverse("owner_visibility", args=[ada.pk]),
        {**VISIBILITY, "open_visible_to_followers": ""},
    )
    following = body(page.get(reverse("following")))
    assert "Ada Lovelace" not in open_section(following)
    assert "Ada Lovelace" in following  # still followed


def test_following_page_costs_the_same_whatever_the_follows(reader, query_budget):
    client = signed_in(reader)
    for round_size in (1, 60):
        for _ in range(round_size):
            record = ResearcherFactory(last_known_institution=InstitutionFactory())
            own(record, f"{UserFactory().username}@open.test")
            follow_researcher(user=reader, researcher=record)
        with query_budget("profile.following"):
            response = client.get(reverse("following"))
        assert response.status_code == 200


def token_of(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_unfollow_and_digest_from_the_page_need_the_token_and_come_back(reader, ada):
    follow_researcher(user=reader, researcher=ada)
    client = Client(enforce_csrf_checks=True)
    client.force_login(reader)
    unfollow = reverse("researcher_unfollow", args=[ada.pk])
    digest = reverse("researcher_digest", args=[ada.pk])
    assert client.post(digest, {"email_digest": "on", "back": "following"}).status_code == 403
    assert client.post(unfollow, {"back": "following"}).status_code == 403
    assert Follow.objects.filter(user=reader, researcher=ada, email_digest=False).exists()

    token = token_of(body(client.get(reverse("following"))))
    response = client.post(
        digest, {"email_digest": "on", "back": "following", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302 and response["Location"] == reverse("following")
    assert Follow.objects.get(user=reader, researcher=ada).email_digest
    page = body(client.get(reverse("following")))
    assert re.search(r'name="email_digest" checked', page)

    response = client.post(unfollow, {"back": "following", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == reverse("following")
    assert not Follow.objects.filter(user=reader).exists()
    assert "You no longer follow Ada Lovelace." in body(client.get(reverse("following")))


def test_back_is_a_name_never_an_address(reader, ada):
    client = signed_in(reader)
    response = client.post(
        reverse("researcher_follow", args=[ada.pk]), {"back": "https://evil.test/"}
    )
    assert response["Location"] == f"{ada.get_absolute_url()}#connect"

"""Who follows a record (as its owner allows), and the records an account follows."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from bzpeer.decorators import login_required
from bzpeer.types import AuthenticatedHttpRequest
from profiles import queries
from profiles.access import get_researcher_or_404
from profiles.models import Researcher

# The unfollow and digest forms of the following page send this as `back`, so that a
# plain form post returns there instead of to the profile.
BACK_TO_FOLLOWING = "following"


def back_url(request: HttpRequest, researcher: Researcher) -> str:
    """Where a plain follow, unfollow or digest post returns: the following page when it
    came from there, else the profile's connect section. A name, never a URL from the
    request, so it cannot send anyone elsewhere."""
    if request.POST.get("back") == BACK_TO_FOLLOWING:
        return reverse("following")
    return f"{researcher.get_absolute_url()}#connect"


@require_safe
def followers(request: HttpRequest, pk: int) -> HttpResponse:
    """The followers of a record who own a public record, by name, and a count of the
    others; only when the owner lets the viewer see the list (the count on the profile
    stays public). A hidden record answers 410, a merged one moves to its survivor."""
    researcher = get_researcher_or_404(pk)
    if researcher.pk != int(pk):
        return redirect("researcher_followers", pk=researcher.pk)
    if not researcher.followers_visible_to(request.user):
        return render(
            request, "profiles/followers_private.html", {"researcher": researcher}, status=403
        )
    listing = queries.followers_list(researcher, page_number=request.GET.get("page"))
    context = {"researcher": researcher, "page": listing.page, "listing": listing}
    return render(request, "profiles/followers.html", context)


@require_safe
@login_required
def following(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The public records the user follows, each with unfollow and the digest switch, and
    those of them open to collaborate (as their owners allow), with an invitation link."""
    context = {
        "page": queries.followed_page(request.user, page_number=request.GET.get("page")),
        "open_records": queries.open_followed(request.user),
        "back": BACK_TO_FOLLOWING,
    }
    return render(request, "profiles/following.html", context)

"""The follower's digest switch and the signed unsubscribe link from the email."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from bzpeer.htmx import partial_or_redirect
from bzpeer.types import HtmxHttpRequest
from profiles import digest, queries
from profiles.access import get_researcher_or_404
from profiles.follow_views import back_url
from profiles.models import Follow


@require_POST
@login_required
def digest_toggle(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    researcher = get_researcher_or_404(pk)
    enabled = request.POST.get("email_digest") == "on"
    changed = digest.set_digest(user=request.user, researcher=researcher, enabled=enabled)
    context = {
        "researcher": researcher,
        "following": changed or queries.is_following(request.user, researcher),
        "email_digest": enabled and changed,
    }
    message = ""
    if changed:
        verb = "will get" if enabled else "will no longer get"
        message = f"You {verb} a weekly email of {researcher.display_name}'s new works."
    return partial_or_redirect(
        request,
        "profiles/_follow.html",
        context,
        redirect_to=back_url(request, researcher),
        message=message,
    )


# Reached from an email (no session, no CSRF cookie): the signature is the credential. A
# GET only shows the confirmation, so link scanners that fetch it change nothing; the
# POST (the page's button, or a mail client's one-click unsubscribe) does the change.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def digest_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    parsed = digest.read_unsubscribe_token(token)
    if parsed is None:
        return render(request, "profiles/unsubscribe.html", {"invalid": True}, status=400)
    researcher = None
    if parsed.researcher_id is not None:
        follow = (
            Follow.objects.filter(user_id=parsed.user_id, researcher_id=parsed.researcher_id)
            .select_related("researcher")
            .first()
        )
        researcher = follow.researcher if follow else None
    done = False
    if request.method == "POST":
        digest.unsubscribe(request=parsed)
        done = True
    context = {"researcher": researcher, "all": parsed.researcher_id is None, "done": done}
    return render(request, "profiles/unsubscribe.html", context)

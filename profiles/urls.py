from __future__ import annotations

from django.urls import path, re_path

from profiles import (
    digest_views,
    follow_views,
    invitation_views,
    owner_views,
    record_views,
    views,
)
from profiles.feeds import ResearcherWorksFeed

urlpatterns = [
    path("topics/<int:pk>/", record_views.topic_detail, name="topic_detail"),
    path("institutions/<int:pk>/", record_views.institution_detail, name="institution_detail"),
    path("researchers/<int:pk>/works/", views.works_fragment, name="researcher_works"),
    path("researchers/<int:pk>/works.<str:fmt>", views.export_works, name="researcher_export"),
    path("researchers/<int:pk>/follow/", views.follow, name="researcher_follow"),
    path("researchers/<int:pk>/digest/", digest_views.digest_toggle, name="researcher_digest"),
    path("researchers/<int:pk>/feed.atom", ResearcherWorksFeed(), name="researcher_feed"),
    path(
        "digest/unsubscribe/<str:token>/",
        digest_views.digest_unsubscribe,
        name="digest_unsubscribe",
    ),
    path("researchers/<int:pk>/unfollow/", views.unfollow, name="researcher_unfollow"),
    path("researchers/<int:pk>/followers/", follow_views.followers, name="researcher_followers"),
    path("me/following/", follow_views.following, name="following"),
    path("researchers/<int:pk>/", views.researcher_detail, name="researcher_detail_short"),
    path(
        "researchers/source/<path:source_id>/",
        views.researcher_by_source,
        name="researcher_by_source",
    ),
    re_path(
        r"^researchers/(?P<pk>\d+)-(?P<slug>[-a-zA-Z0-9_]+)/$",
        views.researcher_detail,
        name="researcher_detail",
    ),
    # Owner tools (the record's owner only).
    path("researchers/<int:pk>/owner/summary/", owner_views.owner_summary, name="owner_summary"),
    path(
        "researchers/<int:pk>/owner/collaboration/",
        owner_views.owner_collaboration,
        name="owner_collaboration",
    ),
    path(
        "researchers/<int:pk>/owner/visibility/",
        owner_views.owner_visibility,
        name="owner_visibility",
    ),
    path("researchers/<int:pk>/owner/hide/", owner_views.owner_hide, name="owner_hide"),
    path("researchers/<int:pk>/owner/unhide/", owner_views.owner_unhide, name="owner_unhide"),
    path("researchers/<int:pk>/owner/release/", owner_views.owner_release, name="owner_release"),
    path("researchers/<int:pk>/owner/works/", owner_views.owner_works, name="owner_works"),
    path(
        "researchers/<int:pk>/owner/works/<int:work_id>/not-me/",
        owner_views.owner_not_me,
        name="owner_not_me",
    ),
    # Direct collaboration.
    path("researchers/<int:pk>/invite/", invitation_views.invitation_new, name="invitation_new"),
    path(
        "researchers/<int:pk>/invite/send/",
        invitation_views.invitation_send,
        name="invitation_send",
    ),
    path("me/invitations/", invitation_views.inbox, name="invitation_inbox"),
    path(
        "invitations/<int:invitation_id>/",
        invitation_views.invitation_detail,
        name="invitation_detail",
    ),
    path(
        "invitations/<int:invitation_id>/accept/",
        invitation_views.invitation_accept,
        name="invitation_accept",
    ),
    path(
        "invitations/<int:invitation_id>/withdraw-email/",
        invitation_views.invitation_withdraw_email,
        name="invitation_withdraw_email",
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        invitation_views.invitation_decline,
        name="invitation_decline",
    ),
]

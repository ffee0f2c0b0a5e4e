from __future__ import annotations

from django.urls import path, re_path

from profiles import views

urlpatterns = [
    path("researchers/<int:pk>/works/", views.works_fragment, name="researcher_works"),
    path("researchers/<int:pk>/follow/", views.follow, name="researcher_follow"),
    path("researchers/<int:pk>/unfollow/", views.unfollow, name="researcher_unfollow"),
    path("researchers/<int:pk>/", views.researcher_detail, name="researcher_detail_short"),
    re_path(
        r"^researchers/(?P<pk>\d+)-(?P<slug>[-a-zA-Z0-9_]+)/$",
        views.researcher_detail,
        name="researcher_detail",
    ),
]

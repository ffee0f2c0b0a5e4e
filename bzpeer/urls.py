from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from profiles import views as profile_views

urlpatterns = [
    path("", profile_views.home, name="home"),
    # Sign up, sign in (email + password, ORCID), email confirmation, connections.
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("profiles.urls")),
    path("", include("works.urls")),
    path("", include("graph.urls")),
    path("", include("claims.urls")),
]

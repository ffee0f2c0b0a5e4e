from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from bzpeer.admin_shortcut import view_on_site
from profiles import views as profile_views

urlpatterns = [
    path("", profile_views.home, name="home"),
    # Sign up, sign in (email + password, ORCID), email confirmation, connections.
    path("accounts/", include("allauth.urls")),
    # Before the admin's own /admin/r/: the same redirect, a 404 for table-less models.
    path("admin/r/<path:content_type_id>/<path:object_id>/", view_on_site),
    path("admin/", admin.site.urls),
    # Search, the directory, the topic and institution indexes, sitemap.xml, robots.txt.
    path("", include("bzpeer.search.urls")),
    path("", include("profiles.urls")),
    path("", include("works.urls")),
    path("", include("graph.urls")),
    path("", include("claims.urls")),
    path("", include("bzpeer.privacy.urls")),
]

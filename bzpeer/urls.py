from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from profiles import views as profile_views

urlpatterns = [
    path("", profile_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("profiles.urls")),
    path("", include("works.urls")),
    path("", include("graph.urls")),
    path("", include("claims.urls")),
]

from __future__ import annotations

from django.urls import path

from bzpeer.privacy import views

urlpatterns = [
    path("privacy/", views.privacy_page, name="privacy"),
    path("me/privacy/", views.account_privacy, name="account_privacy"),
    path("me/privacy/export/", views.export_request, name="account_export"),
    path(
        "me/privacy/export/<str:token>/<str:fmt>/",
        views.export_download,
        name="account_export_download",
    ),
    path("me/privacy/delete/", views.account_delete, name="account_delete"),
]

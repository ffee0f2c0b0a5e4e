from __future__ import annotations

from django.urls import path

from works import views

urlpatterns = [
    path("works/<int:pk>/", views.work_detail, name="work_detail"),
    path("works/<int:pk>/cite/", views.work_cite, name="work_cite"),
    path("works/<int:pk>/cite.<str:fmt>", views.work_cite_download, name="work_cite_download"),
]

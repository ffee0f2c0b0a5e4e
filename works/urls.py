from __future__ import annotations

from django.urls import path

from works import views

urlpatterns = [
    path("works/<int:pk>/", views.work_detail, name="work_detail"),
]

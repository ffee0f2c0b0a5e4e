from __future__ import annotations

from django.urls import path

from works import views

urlpatterns = [
    path("works/<int:pk>/", views.work_detail, name="work_detail"),
    path("topics/<int:pk>/", views.topic_detail, name="topic_detail"),
    path("institutions/<int:pk>/", views.institution_detail, name="institution_detail"),
]

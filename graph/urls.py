from __future__ import annotations

from django.urls import path

from graph import views

urlpatterns = [
    path("researchers/<int:pk>/graph/", views.explorer, name="graph_explorer"),
    path("researchers/<int:pk>/coauthors/", views.coauthors, name="researcher_coauthors"),
    path("researchers/<int:pk>/graph/slice/", views.slice_fragment, name="graph_slice"),
    path(
        "graph/nodes/<str:node_id>/neighbours.json",
        views.node_neighbours,
        name="graph_node_neighbours",
    ),
]

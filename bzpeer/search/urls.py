from __future__ import annotations

from django.contrib.sitemaps import views as sitemap_views
from django.urls import path

from bzpeer.search import views
from bzpeer.search.sitemaps import SITEMAPS, robots_txt

urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/suggest/", views.suggestions, name="search_suggestions"),
    path("researchers/", views.directory, name="researcher_directory"),
    path("topics/", views.topic_index, name="topic_index"),
    path("institutions/", views.institution_index, name="institution_index"),
    path("robots.txt", robots_txt, name="robots_txt"),
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
]

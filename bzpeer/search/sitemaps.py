"""sitemap.xml (an index of sections, each paged by Django at 50,000 URLs, so millions of
records fit) and robots.txt, which points to it."""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from profiles.models import Researcher
from works.models import Institution, Topic, Work


class ResearcherSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        # Merged duplicates redirect to their survivor and hidden records answer 410:
        # only records the public may see are listed.
        return Researcher.objects.visible().order_by("pk").only("pk", "display_name", "updated_at")

    def lastmod(self, researcher: Researcher):
        return researcher.updated_at


class WorkSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return Work.objects.filter(is_hidden=False).order_by("pk").only("pk", "updated_at")

    def lastmod(self, work: Work):
        return work.updated_at


class TopicSitemap(Sitemap):
    def items(self):
        return Topic.objects.order_by("pk").only("pk")


class InstitutionSitemap(Sitemap):
    def items(self):
        return Institution.objects.order_by("pk").only("pk")


class PageSitemap(Sitemap):
    def items(self):
        return ["home", "researcher_directory", "topic_index", "institution_index"]

    def location(self, name: str) -> str:
        return reverse(name)


SITEMAPS = {
    "pages": PageSitemap,
    "researchers": ResearcherSitemap,
    "works": WorkSitemap,
    "topics": TopicSitemap,
    "institutions": InstitutionSitemap,
}


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        # Result pages are endless combinations of the same records: index the records.
        "Disallow: /search/",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")

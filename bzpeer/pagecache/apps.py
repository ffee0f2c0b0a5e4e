from __future__ import annotations

from django.apps import AppConfig


class PageCacheConfig(AppConfig):
    name = "bzpeer.pagecache"
    label = "pagecache"
    verbose_name = "Page cache versions"

"""Settings for the page throughput benchmark: the production settings (the environment
the benchmark sets: DEBUG off, its own database) plus one URL, a "hello" view."""

from __future__ import annotations

from bzpeer.settings import *  # noqa: F403

ROOT_URLCONF = "graph.bench.pages_urls"

"""`manage.py rebuild_coauthor_edges`: recompute the co-author edges from the authorships.

The import keeps edges current incrementally; this is for a curator's bulk fix, a changed
rule, or a database loaded by other means. With --researcher, only those researchers'
edges (the incremental path the import uses).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from graph.edges import rebuild_all_coauthor_edges, rebuild_coauthor_edges


class Command(BaseCommand):
    help = "Rebuild co-author edges and close-collaborator counts from the authorships."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--researcher",
            type=int,
            action="append",
            default=[],
            metavar="ID",
            help="only the edges touching this researcher (repeatable); default: all",
        )
        parser.add_argument(
            "--recompute",
            action="store_true",
            help="then queue trust and graph-slice recomputation for the affected researchers",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        if options["researcher"]:
            affected = rebuild_coauthor_edges(researcher_ids=options["researcher"])
            self.stdout.write(f"Rebuilt the edges of {len(affected)} researcher(s)")
        else:
            stats = rebuild_all_coauthor_edges()
            self.stdout.write(
                f"Rebuilt {stats.edges} edge rows for {stats.researchers_with_edges} "
                f"researcher(s); {stats.counts_changed} close-collaborator count(s) changed"
            )
            affected = None
        if options["recompute"]:
            from bzpeer.curation.derived import queue_recompute
            from graph.models import CoauthorEdge

            if affected is None:
                affected = set(
                    CoauthorEdge.objects.values_list("researcher_id", flat=True).distinct()
                )
            queue_recompute(researcher_ids=affected)
            self.stdout.write(f"Queued recomputation for {len(affected)} researcher(s)")
        self.stdout.write(self.style.SUCCESS(f"Done in {time.perf_counter() - started:.1f}s"))

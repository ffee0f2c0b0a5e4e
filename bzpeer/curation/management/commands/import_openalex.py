"""manage.py import_openalex PATH... — thin wrapper over bzpeer.curation.importing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bzpeer.curation.importing import import_openalex
from works.importer import InputPathError
from works.importer.service import BATCH_SIZE


class Command(BaseCommand):
    help = (
        "Import OpenAlex records (authors, works, institutions, sources, topics, concepts) "
        "from JSON Lines, API result pages or single entities, plain or gzipped. "
        "Directories are searched for *.json, *.jsonl, *.ndjson and *.gz files. "
        "Re-running with the same files changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="files or directories to import")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"records per transaction (default {BATCH_SIZE})",
        )
        parser.add_argument(
            "--refresh-all",
            action="store_true",
            help="refresh every researcher the files name, not only the changed ones "
            "(use after an interrupted import)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = import_openalex(
                options["paths"],
                report=self.stderr.write,
                progress=self.stdout.isatty(),
                batch_size=options["batch_size"],
                refresh_all=options["refresh_all"],
            )
        except InputPathError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(result.summary())
        if result.bad:
            raise CommandError(
                f"{result.bad} bad record(s) were not imported (listed above with file and "
                "line); every other record was."
            )

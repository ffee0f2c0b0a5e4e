"""The OpenAlex importer: `import_openalex(paths)` streams OpenAlex JSON/JSONL(.gz) files
into works and profiles rows. See service.py for the flow."""

from __future__ import annotations

from works.importer.reader import InputPathError, read_records
from works.importer.service import ImportResult, import_openalex

__all__ = ["ImportResult", "InputPathError", "import_openalex", "read_records"]

"""Set-based reads of the works tables that refreshes of derived data share."""

from __future__ import annotations

from works.models import Authorship


def authorships_in_work_order_sql(where: str, *, columns: str) -> str:
    """The body of a MATERIALIZED CTE: `columns` of the authorships `where` selects (alias
    a), ordered by work. A nested loop reading each one's work, topics or institutions
    next then visits those indexes in key order, so on a cold cache the kernel reads ahead;
    in researcher order every lookup read one random page. The per-topic counts of 605
    prolific researchers (12,709 authorships) on a 1M-work corpus with nothing cached:
    2.0 s in researcher order, 0.28 s in work order."""
    return f"SELECT {columns} FROM {Authorship._meta.db_table} a WHERE {where} ORDER BY a.work_id"

from __future__ import annotations

from collections.abc import Iterable, Iterator


def chunked(values: Iterable[int], size: int = 1000) -> Iterator[list[int]]:
    """Yield lists of at most `size` values: bounded SQL parameters and transactions."""
    batch: list[int] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

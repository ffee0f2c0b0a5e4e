"""What an import did, counted per entity, and the summary printed at the end."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

ENTITIES = ("work", "author", "institution", "source", "topic", "concept")
RELATIONS = (
    "authorships created",
    "authorships updated",
    "authorships removed",
    "work topic links added",
    "work topic links removed",
    "authorship institution links added",
    "authorship institution links removed",
)


@dataclass(slots=True)
class EntityCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stubs: int = 0  # rows created from a reference inside another record

    def add(self, other: EntityCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.stubs += other.stubs


@dataclass(slots=True)
class ImportStats:
    entities: dict[str, EntityCounts] = field(
        default_factory=lambda: {name: EntityCounts() for name in ENTITIES}
    )
    relations: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    files: int = 0
    records: int = 0  # every value read, good or bad
    bad: int = 0
    warnings: int = 0
    repeated: int = 0  # the same id twice in one batch: the later record wins
    older: int = 0  # copies older (updated_date) than the one stored: ignored

    def merge(self, other: ImportStats) -> None:
        for name, counts in other.entities.items():
            self.entities[name].add(counts)
        self.relations.update(other.relations)
        self.skipped.update(other.skipped)
        self.records += other.records
        self.bad += other.bad
        self.warnings += other.warnings
        self.repeated += other.repeated
        self.older += other.older

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated or c.stubs for c in self.entities.values()) or any(
            self.relations.values()
        )

    def summary(self) -> str:
        width = max(len(name) for name in ENTITIES) + 2
        lines = [
            f"Read {self.records} record(s) from {self.files} file(s): {self.bad} bad, "
            f"{sum(self.skipped.values())} skipped, {self.warnings} warning(s).",
            f"{'entity':<{width}}{'created':>9}{'updated':>9}{'unchanged':>11}{'stubs':>8}",
        ]
        for name in ENTITIES:
            c = self.entities[name]
            lines.append(
                f"{name:<{width}}{c.created:>9}{c.updated:>9}{c.unchanged:>11}{c.stubs:>8}"
            )
        lines.append(", ".join(f"{name} {self.relations[name]}" for name in RELATIONS) + ".")
        if self.skipped:
            skipped = ", ".join(f"{name} {n}" for name, n in sorted(self.skipped.items()))
            lines.append(f"Skipped (not stored): {skipped}.")
        if self.repeated:
            lines.append(f"Repeated ids in a batch (later record kept): {self.repeated}.")
        if self.older:
            lines.append(f"Older copies ignored (a newer updated_date is stored): {self.older}.")
        if not self.changed:
            lines.append("Nothing changed: every record was already up to date.")
        return "\n".join(lines)

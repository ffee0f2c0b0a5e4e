"""Small per-year bar charts (works, citations), drawn on the server as SVG geometry."""

from __future__ import annotations

from dataclasses import dataclass

from profiles.queries import YearCount

WIDTH, HEIGHT, LABEL_SPACE, MAX_YEARS = 240, 90, 16, 16


@dataclass(frozen=True)
class Bar:
    year: int
    count: int
    x: float
    y: float
    width: float
    height: float
    show_label: bool


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    description: str
    first_year: int | None
    last_year: int | None
    # What the bars count ("Works per year"), and the prefix of the SVG's element ids.
    label: str = "Works per year"
    key: str = "chart"


def works_per_year_chart(counts: list[YearCount]) -> Chart:
    return year_chart(counts, label="Works per year", key="chart", empty="No dated works.")


def citations_per_year_chart(by_year: dict[str, int]) -> Chart:
    """From the stored {"2023": 41, ...} our metrics computed over the listed works."""
    counts = [YearCount(year=int(year), count=n) for year, n in sorted(by_year.items())]
    return year_chart(
        counts, label="Citations per year", key="citations-chart", empty="No citations counted."
    )


def year_chart(counts: list[YearCount], *, label: str, key: str, empty: str) -> Chart:
    """Bars for every year from the first to the last (gaps as zero), the last 16 years at most."""
    if not counts:
        return Chart([], WIDTH, HEIGHT, empty, None, None, label, key)
    by_year = {row.year: row.count for row in counts}
    last = max(by_year)
    first = max(min(by_year), last - MAX_YEARS + 1)
    years = list(range(first, last + 1))
    peak = max(by_year.get(year, 0) for year in years) or 1
    slot = WIDTH / len(years)
    plot_height = HEIGHT - LABEL_SPACE
    bars = []
    for index, year in enumerate(years):
        count = by_year.get(year, 0)
        height = round(plot_height * count / peak, 1)
        bars.append(
            Bar(
                year=year,
                count=count,
                x=round(index * slot + slot * 0.15, 1),
                y=round(plot_height - height, 1),
                width=round(slot * 0.7, 1),
                height=height,
                show_label=index in (0, len(years) - 1),
            )
        )
    described = ", ".join(f"{bar.year}: {bar.count}" for bar in bars if bar.count)
    return Chart(bars, WIDTH, HEIGHT, f"{label}. {described}.", first, last, label, key)

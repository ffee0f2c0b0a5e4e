"""A small works-per-year bar chart, drawn on the server as SVG geometry."""

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


def works_per_year_chart(counts: list[YearCount]) -> Chart:
    """Bars for every year from the first to the last (gaps as zero), the last 16 years at most."""
    if not counts:
        return Chart([], WIDTH, HEIGHT, "No dated works.", None, None)
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
    return Chart(bars, WIDTH, HEIGHT, f"Works per year. {described}.", first, last)

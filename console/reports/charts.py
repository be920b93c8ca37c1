"""Chart geometry for server-rendered SVG: bars and lines drawn from report figures, no script, no inline style.

The templates draw what these functions measure (`reports/_charts.html`); the look is in `reports.css`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH = 640
HEIGHT = 220
TOP = 16
BOTTOM = 36  # room for the labels under the axis
LEFT = 48
RIGHT = 8
MAX_LABELS = 12

Figure = Decimal | int | None


@dataclass(frozen=True)
class Bar:
    """One bar: its box in chart units, its label and its value as written."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    show_label: bool


@dataclass(frozen=True)
class Point:
    """One point of a line: where it sits and what it says."""

    x: float
    y: float
    label: str
    value: str
    show_label: bool


@dataclass(frozen=True)
class Chart:
    """A chart's frame (size, axis, top value) and its bars or its line."""

    width: int
    height: int
    left: int
    baseline: float
    top_value: str
    bars: tuple[Bar, ...] = ()
    points: tuple[Point, ...] = ()

    @property
    def polyline(self) -> str:
        """Return the line's points as SVG's `points` attribute wants them."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def _scale(values: Sequence[Figure]) -> Decimal:
    top = max((Decimal(v) for v in values if v is not None), default=Decimal(0))
    return top if top > 0 else Decimal(1)


def _written(value: Figure) -> str:
    return "" if value is None else format(value, "f") if isinstance(value, Decimal) else str(value)


def _every(count: int) -> int:
    return max(1, -(-count // MAX_LABELS))


def bar_chart(figures: Sequence[tuple[str, Figure]]) -> Chart:
    """Measure one bar per (label, figure); a missing figure draws no bar."""
    top = _scale([value for _, value in figures])
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(figures), 1)
    every = _every(len(figures))
    bars = []
    for index, (label, value) in enumerate(figures):
        height = _share(value or 0, top) * plot_height
        bars.append(Bar(x=LEFT + index * slot + slot * 0.1, y=TOP + plot_height - height, width=slot * 0.8,
                        height=height, label=label, value=_written(value), show_label=index % every == 0))  # fmt: skip
    return Chart(WIDTH, HEIGHT, LEFT, TOP + plot_height, _written(top if top != 1 else _max(figures)), bars=tuple(bars))


def _share(value: Decimal | int, top: Decimal) -> float:
    """Return the fraction of the plot's height a figure fills: SVG geometry in pixels, never money.

    The figure itself stays exact (its label is written from the Decimal); only the ratio to the axis top
    becomes a float, because SVG coordinates are floats.
    """
    return float(Decimal(value) / top)


def line_chart(figures: Sequence[tuple[str, Figure]]) -> Chart:
    """Measure a line through the (label, figure) points that have a figure."""
    top = _scale([value for _, value in figures])
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(figures), 1)
    every = _every(len(figures))
    points = tuple(
        Point(x=LEFT + index * slot + slot / 2, y=TOP + plot_height - _share(value, top) * plot_height,
              label=label, value=_written(value), show_label=index % every == 0)
        for index, (label, value) in enumerate(figures)
        if value is not None
    )  # fmt: skip
    return Chart(WIDTH, HEIGHT, LEFT, TOP + plot_height, _written(top if top != 1 else _max(figures)), points=points)


def _max(figures: Sequence[tuple[str, Figure]]) -> Figure:
    return max((Decimal(v) for _, v in figures if v is not None), default=0)

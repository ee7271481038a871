"""Charts drawn on the server as inline SVG: no script, nothing to download, and printable.

A chart is a picture of figures the page also gives as a table, so it is one image to assistive
technology (``role="img"``, named by its ``<title>`` and described by its ``<desc>``) and its
marks are hidden from it. Lines differ by colour, dash and marker and bars carry their values, so
nothing is told by colour alone. Amounts are integer pence; only the drawing's coordinates are
fractional.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT_SIZE = 14
INK = "#0b0c0c"
GRID = "#b1b4b6"

# Each line's look: colour (at least 3:1 against white), dash pattern and marker shape.
LINE_STYLES: tuple[tuple[str, str, str], ...] = (
    ("#0b0c0c", "", "square"),
    ("#1d70b8", "8 4", "circle"),
    ("#d53880", "2 3", "diamond"),
    ("#00703c", "12 4 2 4", "triangle"),
)
BAR_COLOUR = "#1d70b8"


@dataclass(frozen=True)
class Series:
    """One line: its name for the legend and a value (pence) for each of the first labels."""

    name: str
    values: Sequence[int]


def nice_ticks(maximum: int, *, most: int = 6) -> list[int]:
    """Axis ticks from 0 past ``maximum`` in steps of 1, 2 or 5 times a power of ten, at most ``most``."""
    if maximum <= 0:
        return [0, 100]
    raw = -(-maximum // (most - 1))  # the smallest step that fits in ``most`` ticks
    power = 10 ** (len(str(raw)) - 1)
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    top = -(-maximum // step) * step
    return list(range(0, top + step, step))


def whole_pounds(pence: int) -> str:
    """An axis label: ``£60,000``, or with pence where the tick has them (``£0.50``)."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}£{whole:,}" + (f".{part:02d}" if part else "")


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open_svg(chart_id: str, width: int, height: int, title: str, description: str) -> list[str]:
    return [
        (
            f'<svg class="app-chart" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">'
        ),
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        '<g aria-hidden="true">',
    ]


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "circle":
        return f'<circle cx="{_number(x)}" cy="{_number(y)}" r="4" fill="{colour}"/>'
    if shape == "square":
        return f'<rect x="{_number(x - 4)}" y="{_number(y - 4)}" width="8" height="8" fill="{colour}"/>'
    if shape == "diamond":
        points = f"{_number(x)},{_number(y - 5)} {_number(x + 5)},{_number(y)} {_number(x)},{_number(y + 5)} "
        points += f"{_number(x - 5)},{_number(y)}"
    else:  # triangle
        points = f"{_number(x)},{_number(y - 5)} {_number(x + 5)},{_number(y + 4)} {_number(x - 5)},{_number(y + 4)}"
    return f'<polygon points="{points}" fill="{colour}"/>'


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    tick_text: Callable[[int], str] = whole_pounds,
    width: int = 720,
    height: int = 380,
) -> Markup:
    """Lines over ``labels`` (months, say); a series may stop early (a year not yet over)."""
    if len(series) > len(LINE_STYLES):
        raise ValueError(f"at most {len(LINE_STYLES)} lines can be told apart")
    if any(len(line.values) > len(labels) for line in series):
        raise ValueError("a series has more values than there are labels")
    left, right, top, bottom = 96, 16, 48, 40
    plot_width, plot_height = width - left - right, height - top - bottom
    ticks = nice_ticks(max((value for line in series for value in line.values), default=0))
    highest = ticks[-1]

    def x_of(index: int) -> float:
        return left + plot_width * (index + 0.5) / len(labels)

    def y_of(value: int) -> float:
        return top + plot_height * (1 - value / highest)

    parts = _open_svg(chart_id, width, height, title, description)
    for tick in ticks:
        y = _number(y_of(tick))
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(
            f'<text x="{left - 8}" y="{y}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(tick_text(tick))}</text>"
        )
    for index, label in enumerate(labels):
        parts.append(f'<text x="{_number(x_of(index))}" y="{height - 14}" text-anchor="middle">{escape(label)}</text>')
    for index, (line, (colour, dash, shape)) in enumerate(zip(series, LINE_STYLES, strict=False)):
        points = [(x_of(i), y_of(value)) for i, value in enumerate(line.values)]
        dashing = f' stroke-dasharray="{dash}"' if dash else ""
        if len(points) > 1:
            path = " ".join(f"{_number(x)},{_number(y)}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="3"{dashing}/>')
        parts.extend(_marker(shape, x, y, colour) for x, y in points)
        # The legend, across the top: a sample of the line and its marker, then the name.
        key_x = left + index * (plot_width // len(series))
        parts.append(
            f'<line x1="{key_x}" x2="{key_x + 36}" y1="16" y2="16" stroke="{colour}" stroke-width="3"{dashing}/>'
        )
        parts.append(_marker(shape, key_x + 18, 16, colour))
        parts.append(f'<text x="{key_x + 44}" y="16" dominant-baseline="middle">{escape(line.name)}</text>')
    parts.append("</g></svg>")
    return Markup("".join(parts))


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[tuple[str, int | None]],
    value_text: Callable[[int], str],
    suppressed_text: str = "Suppressed",
    width: int = 720,
    label_width: int = 280,
    row_height: int = 36,
) -> Markup:
    """Horizontal bars, one per ``(label, value)``, each with its value written beside it.

    A value of None is a figure withheld (a small count suppressed): it gets no bar, since a bar of
    any length, zero included, would state a figure, and ``suppressed_text`` in italics instead; the
    scale is set by the figures shown."""
    if not bars:
        raise ValueError("a bar chart needs at least one bar")
    if any(value is not None and value < 0 for _, value in bars):
        raise ValueError("bars are drawn from zero: no negative values")
    top, value_room = 8, 120
    height = top * 2 + row_height * len(bars)
    bar_room = width - label_width - value_room
    highest = max((value for _, value in bars if value is not None), default=0) or 1
    parts = _open_svg(chart_id, width, height, title, description)
    parts.append(
        f'<line x1="{label_width}" x2="{label_width}" y1="{top}" y2="{height - top}" stroke="{INK}" stroke-width="1"/>'
    )
    for index, (label, value) in enumerate(bars):
        y = top + index * row_height
        middle = _number(y + row_height / 2)
        parts.append(
            f'<text x="{label_width - 8}" y="{middle}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(label)}</text>"
        )
        if value is None:
            parts.append(
                f'<text x="{label_width + 8}" y="{middle}" dominant-baseline="middle" font-style="italic">'
                f"{escape(suppressed_text)}</text>"
            )
            continue
        length = bar_room * value / highest
        parts.append(
            f'<rect x="{label_width}" y="{_number(y + 6)}" width="{_number(length)}" height="{row_height - 12}" '
            f'fill="{BAR_COLOUR}"/>'
        )
        parts.append(
            f'<text x="{_number(label_width + length + 8)}" y="{middle}" dominant-baseline="middle">'
            f"{escape(value_text(value))}</text>"
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))

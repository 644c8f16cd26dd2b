"""The gapkit chart style, in one place: page geometry, type, colours, text blocks and deterministic saving.

Every chart is 6.5 in wide (a letter page inside 1 in margins) and as tall as its content. Layout is
done in inches, top to bottom: the title (which states the finding), a subtitle (sector, region,
years), the chart body, and a footer with the sources, vintages and method options. All type is 9 pt
or larger at that width. Colours come from the Okabe-Ito palette and the ColorBrewer RdBu diverging
scale, both readable with the common forms of colour blindness.

matplotlib is imported here (and in the other ``gapkit.render.charts`` modules) only: the CLI imports this
package inside the chart/report commands, never at start-up. Figures are built with the object API
and the Agg canvas, so drawing a chart never changes a notebook's pyplot backend.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib

if "matplotlib.pyplot" not in sys.modules:  # a notebook's inline backend is left alone
    matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.font_manager import FontProperties, findfont, get_font  # noqa: E402
from matplotlib.ft2font import LoadFlags  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

WIDTH_IN = 6.5
DPI = 300
MARGIN_IN = 0.16  # left/right page margin

# type sizes (points): nothing below 9 pt at 6.5 in wide
TITLE_PT = 12.5
SUBTITLE_PT = 10.0
LABEL_PT = 10.0
TICK_PT = 9.0
ANNOT_PT = 9.0
FOOTER_PT = 9.0

INK = "#1a1a1a"
MUTED = "#555555"
GRID = "#dddddd"
NODATA = "#f0f0f0"

# Okabe-Ito (colour-blind safe); openings and supply keep the same colours in every chart
OPENINGS = "#0072B2"  # blue
SUPPLY = "#E69F00"  # orange
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*"]
DIVERGING = "RdBu_r"  # ColorBrewer RdBu reversed: red = more openings than completers, blue = more completers

RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans", "sans-serif"],
    "font.size": TICK_PT,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#888888",
    "axes.linewidth": 0.6,
    "axes.labelsize": LABEL_PT,
    "axes.titlesize": LABEL_PT,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
    "xtick.labelsize": TICK_PT,
    "ytick.labelsize": TICK_PT,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "legend.fontsize": TICK_PT,
    "legend.frameon": False,
    "svg.fonttype": "none",  # text stays text: searchable, selectable, editable in a brief
    "svg.hashsalt": "gapkit",  # stable element ids: the same chart gives the same bytes
    "pdf.fonttype": 42,
    "path.simplify": True,
    # Text is text: a "$" in a title from a sector file (or an agency's title) is never TeX to typeset
    # ("$\\foo$" would stop the drawing; pairs of "$" would turn prose into italics).
    "text.parse_math": False,
}

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


@contextmanager
def style() -> Iterator[None]:
    """The gapkit rcParams for the duration of a drawing or saving (global settings are untouched)."""
    with matplotlib.rc_context(RC):
        yield


@lru_cache(maxsize=4)
def _font_file(weight: str) -> str:
    with style():
        return str(findfont(FontProperties(weight=weight)))


@lru_cache(maxsize=8192)
def text_width_pt(text: str, size: float, weight: str = "normal") -> float:
    """Width of a one-line text in points, measured with the font the chart uses (unhinted outlines,
    so the width scales exactly with size and resolution)."""
    if not text:
        return 0.0
    from gapkit.render.tables import terminal_text

    text = terminal_text(text)  # what _plain_text leaves of it: control characters have no glyph
    font = get_font(_font_file(weight))
    font.set_size(size, 72)
    font.set_text(text, 0.0, flags=LoadFlags.NO_HINTING)
    w, _ = font.get_width_height()
    return float(w) / 64


def wrap(text: str, width_in: float, size: float, weight: str = "normal") -> list[str]:
    """Greedy word wrap to a width in inches, by measured glyph widths (not character counts).

    A line's width is the sum of its words' widths and spaces (kerning across a space is nil in
    DejaVu Sans), so each distinct word is measured once.
    """
    limit = width_in * 72 * 0.98  # a little slack: SVG/PDF viewers may set the same font slightly wider
    space = text_width_pt("a a", size, weight) - 2 * text_width_pt("a", size, weight)
    lines: list[str] = []
    for para in text.split("\n"):
        words = para.split()
        if not words:
            lines.append("")
            continue
        cur, cur_w = words[0], text_width_pt(words[0], size, weight)
        for w in words[1:]:
            ww = text_width_pt(w, size, weight)
            if cur_w + space + ww <= limit:
                cur, cur_w = f"{cur} {w}", cur_w + space + ww
            else:
                lines.append(cur)
                cur, cur_w = w, ww
        lines.append(cur)
    return lines


def shorten(text: str, width_in: float, size: float, max_lines: int = 2) -> str:
    """Wrap to at most ``max_lines`` lines, ending with an ellipsis when the text had to be cut."""
    lines = wrap(text, width_in, size)
    if len(lines) <= max_lines:
        return "\n".join(lines)
    kept = lines[:max_lines]
    last = kept[-1]
    while last and text_width_pt(last + "…", size) > width_in * 72:
        last = last[:-1]
    kept[-1] = last.rstrip(" ,;") + "…"
    return "\n".join(kept)


def line_height_in(size: float, spacing: float = 1.25) -> float:
    return size * spacing / 72


@dataclass
class Page:
    """A figure laid out in inches: header and footer placed, the body box left for the chart."""

    fig: Figure
    height_in: float
    body_top_in: float  # distance from the top of the figure to the top of the body
    body_height_in: float

    def axes(self, left_in: float, right_in: float, top_in: float = 0.0, bottom_in: float = 0.0,
             height_in: float | None = None) -> Axes:
        """Axes inside the body: insets in inches from the body's left/right/top (and bottom) edges."""
        x0 = MARGIN_IN + left_in
        w = WIDTH_IN - 2 * MARGIN_IN - left_in - right_in
        top = self.body_top_in + top_in
        h = height_in if height_in is not None else self.body_height_in - top_in - bottom_in
        y0 = self.height_in - top - h
        return self.fig.add_axes((x0 / WIDTH_IN, y0 / self.height_in, w / WIDTH_IN, h / self.height_in))

    def y_frac(self, from_top_in: float) -> float:
        return 1 - from_top_in / self.height_in

    def x_frac(self, from_left_in: float) -> float:
        return from_left_in / WIDTH_IN

    @property
    def body_width_in(self) -> float:
        return WIDTH_IN - 2 * MARGIN_IN


def page(title: str, subtitle: str, footer: str, body_height_in: float) -> Page:
    """A new figure with the title, subtitle and footer set, sized so that ``body_height_in`` fits."""
    text_w = WIDTH_IN - 2 * MARGIN_IN
    t_lines = wrap(title, text_w, TITLE_PT, "bold")
    s_lines = wrap(subtitle, text_w, SUBTITLE_PT)
    f_lines = wrap(footer, text_w, FOOTER_PT)
    top_pad, gap, bottom_pad = 0.14, 0.10, 0.10
    th = len(t_lines) * line_height_in(TITLE_PT, 1.2)
    sh = len(s_lines) * line_height_in(SUBTITLE_PT)
    fh = len(f_lines) * line_height_in(FOOTER_PT, 1.3)
    body_top = top_pad + th + 0.05 + sh + gap + 0.08
    height = body_top + body_height_in + gap + 0.12 + fh + bottom_pad
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    p = Page(fig, height, body_top, body_height_in)
    fig.text(p.x_frac(MARGIN_IN), p.y_frac(top_pad), "\n".join(t_lines), ha="left", va="top", fontsize=TITLE_PT,
             fontweight="bold", color=INK, linespacing=1.2, gid="gapkit-title")
    fig.text(p.x_frac(MARGIN_IN), p.y_frac(top_pad + th + 0.05), "\n".join(s_lines), ha="left", va="top",
             fontsize=SUBTITLE_PT, color=MUTED, linespacing=1.25, gid="gapkit-subtitle")
    rule_y = p.y_frac(body_top + body_height_in + gap)
    fig.add_artist(Line2D([p.x_frac(MARGIN_IN), p.x_frac(WIDTH_IN - MARGIN_IN)], [rule_y, rule_y],
                                           color=GRID, linewidth=0.8))
    fig.text(p.x_frac(MARGIN_IN), p.y_frac(body_top + body_height_in + gap + 0.08), "\n".join(f_lines), ha="left",
             va="top", fontsize=FOOTER_PT, color=MUTED, linespacing=1.3, gid="gapkit-footer")
    return p


def save(fig: Figure, path: str | Path | io.BytesIO, fmt: str | None = None, dpi: int = DPI) -> None:
    """Write PNG/SVG/PDF with no timestamps (re-running gives the same bytes)."""
    if fmt is None:
        fmt = FORMATS[Path(str(path)).suffix.lower()]
    metadata: dict[str, Any] = {
        "png": {"Software": None},
        "svg": {"Date": None, "Creator": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    }[fmt]
    _plain_text(fig)
    with style():
        fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata, facecolor="white")


def _plain_text(fig: Figure) -> None:
    """Every text of the figure as plain text, in one place before any output: no TeX, no control characters or
    escape sequences (they come from sector files and agency titles, not from gapkit)."""
    from matplotlib.text import Text

    from gapkit.render.tables import terminal_text

    for t in fig.findobj(Text):
        t.set_parse_math(False)
        raw = t.get_text()
        clean = terminal_text(raw, newlines=True)
        if clean != raw:
            t.set_text(clean)


def to_bytes(fig: Figure, fmt: str = "png", dpi: int = DPI) -> bytes:
    buf = io.BytesIO()
    save(fig, buf, fmt=fmt, dpi=dpi)
    return buf.getvalue()


def fmt_people(v: float) -> str:
    """A people-per-year count as printed in charts: thousands separators, no false precision."""
    if v >= 100 or v == 0:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:,.0f}"
    return f"{v:,.1f}"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "no supply"
    if r >= 100:
        return f"{r:,.0f}"
    if r >= 10:
        return f"{r:.0f}"
    return f"{r:.1f}"


def luminance(rgba: tuple[float, float, float, float]) -> float:
    r, g, b = rgba[:3]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b

"""The gapkit chart style, in one place: page geometry, type, colours, text blocks and deterministic saving.

Every chart is 6.5 in wide (a letter page inside 1 in margins) and as tall as its content. Layout is
done in inches, top to bottom: the title (which states the finding), a subtitle (sector, region,
years), the chart body, and a footer of at most four lines (sources, vintages, the method options and
the chart's own notes). The full method sentence (sources with sha256 prefixes, every option and
assumption, every note) travels with the file: SVG <title>/<desc> and Dublin Core metadata, PDF
Title/Subject, PNG Title/Description text chunks. All type is 9 pt or larger at that width.

Colour: one meaning per colour, in every chart (Okabe-Ito hues, readable with the common forms of
colour blindness). Categories that carry no judgement (occupational groups, allocation modes) are
told apart by marker shape, never by colour.

    =================  =========  =====================================================================
    name               colour     meaning (the only one, in every chart)
    =================  =========  =====================================================================
    UNDER              #D55E00    vermillion: more openings than completers (undersupplied, ratio > 1,
                                  "expand"); the warm end of the ratio scale; hatched: no completers
    OVER               #0072B2    blue: more completers than openings (oversupplied, ratio < 1); the
                                  cool end of the ratio scale
    RATIO_MID          #F7F7F7    near-white: balanced (ratio 1), the middle of the ratio scale
    BALANCED           #009E73    bluish green: a program whose occupations are balanced (programs)
    WEAK               #CC79A7    reddish purple: a weakly aligned program (programs)
    OPENINGS           #4D4D4D    charcoal: openings, a count of demand (bars)
    COMPLETERS         #E69F00    orange: completers, a count of supply (bars); its tints and shade
                                  (COMPLETER_TINTS) are the award levels of the trend
    NODATA             #E0E0E0    light grey: no data (no state projections, no linked occupation)
    NODATA_DARK        #A6A6A6    mid grey: no data on one side (a program with no linked openings)
    =================  =========  =====================================================================

The ratio scale (state map tiles, pathway bubbles) is fixed and the same for every sector and region:
openings per completer on a log scale from 1/10 (OVER) through 1 (RATIO_MID) to 10 (UNDER), clipped
beyond and marked so (the colour bar's end arrows, "≤1/10" and "≥10"); ``ratio_norm`` and
``RATIO_CMAP`` are the one definition. Text, axes and grid greys (INK, MUTED, GRID) encode nothing.

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

# colour: one meaning per colour (the table in the module docstring); COLOR_MEANINGS is that table
UNDER = "#D55E00"
OVER = "#0072B2"
RATIO_MID = "#F7F7F7"
BALANCED = "#009E73"
WEAK = "#CC79A7"
OPENINGS = "#4D4D4D"
COMPLETERS = "#E69F00"
COMPLETER_TINTS = ("#F5D08A", "#E69F00", "#9A6A00")  # award levels, lowest first: light tint, the hue, a shade
NODATA = "#E0E0E0"
NODATA_DARK = "#A6A6A6"
NO_COMPLETERS_HATCH = "////"  # drawn over UNDER: openings and no completers at all
COLOR_MEANINGS: dict[str, str] = {
    UNDER: "more openings than completers (undersupplied)",
    OVER: "more completers than openings (oversupplied)",
    RATIO_MID: "balanced (1 opening per completer)",
    BALANCED: "balanced program",
    WEAK: "weakly aligned program",
    OPENINGS: "openings",
    COMPLETERS: "completers",
    COMPLETER_TINTS[0]: "completers (lowest award level)",
    COMPLETER_TINTS[2]: "completers (highest award level)",
    NODATA: "no data",
    NODATA_DARK: "no data (one side)",
}
RATIO_LIMIT = 10.0  # the ratio scale runs from 1/RATIO_LIMIT to RATIO_LIMIT, for every sector and region
RATIO_TICKS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
RATIO_TICKS_NARROW = (0.1, 1 / 3, 1.0, 3.0, 10.0)
# shapes tell categories apart (occupational groups, allocation modes); colour never does
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*"]

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
    font = get_font(_font_file(weight))
    font.set_size(size, 72)
    font.set_text(text, 0.0, flags=LoadFlags.NO_HINTING)
    w, _ = font.get_width_height()
    return float(w) / 64


def wrap(text: str, width_in: float, size: float, weight: str = "normal", slash: bool = False) -> list[str]:
    """Greedy word wrap to a width in inches, by measured glyph widths (not character counts).

    A line's width is the sum of its words' widths and spaces (kerning across a space is nil in
    DejaVu Sans), so each distinct word is measured once. ``slash``: a word such as
    "Nursing/Registered" may also break after its "/" (program titles); words are never cut.
    """
    limit = width_in * 72 * 0.98  # a little slack: SVG/PDF viewers may set the same font slightly wider
    space = text_width_pt("a a", size, weight) - 2 * text_width_pt("a", size, weight)
    lines: list[str] = []
    for para in text.split("\n"):
        words = [w for w in para.split(" ") if w]  # a no-break space (U+00A0) keeps two words on one line
        if slash:  # "A/B" -> "A/" + "B" glued with no space unless a line breaks there
            pieces: list[tuple[str, bool]] = []  # (piece, joins the previous piece without a space)
            for w in words:
                parts = w.split("/")
                for k, part in enumerate(parts):
                    if not part and k == len(parts) - 1:
                        continue
                    pieces.append((part + ("/" if k < len(parts) - 1 else ""), k > 0))
        else:
            pieces = [(w, False) for w in words]
        if not pieces:
            lines.append("")
            continue
        cur, cur_w = pieces[0][0], text_width_pt(pieces[0][0], size, weight)
        for w, glued in pieces[1:]:
            ww = text_width_pt(w, size, weight)
            gap = 0.0 if glued else space
            if cur_w + gap + ww <= limit:
                cur, cur_w = (cur + w, text_width_pt(cur + w, size, weight)) if glued else (f"{cur} {w}", cur_w + gap + ww)
            else:
                lines.append(cur)
                cur, cur_w = w, ww
        lines.append(cur)
    return lines


def shorten(text: str, width_in: float, size: float, max_lines: int = 2, slash: bool = False) -> str:
    """Wrap to at most ``max_lines`` lines. A text too long is cut between words, at the end of a clause
    (a comma) when one is near, and ends with an ellipsis; a word is never cut."""
    lines = wrap(text, width_in, size, slash=slash)
    if len(lines) <= max_lines:
        return "\n".join(lines)
    words = text.split()
    for n in range(len(words) - 1, 0, -1):
        head = " ".join(words[:n]).rstrip(" ,;:")
        cand = wrap(head + "…", width_in, size, slash=slash)
        if len(cand) <= max_lines:
            # prefer ending a clause: go back to the last comma when it keeps at least half the words
            for k in range(n, max(n // 2, 1) - 1, -1):
                if words[k - 1].endswith(","):
                    head = " ".join(words[:k]).rstrip(" ,;:")
                    return "\n".join(wrap(head + "…", width_in, size, slash=slash))
            return "\n".join(cand)
    return "\n".join(wrap(words[0] + "…", width_in, size, slash=slash))


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
    f_lines = wrap(fit_footer(footer, text_w), text_w, FOOTER_PT)
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


FOOTER_MAX_LINES = 4


def fit_footer(text: str, width_in: float = WIDTH_IN - 2 * MARGIN_IN, max_lines: int = FOOTER_MAX_LINES) -> str:
    """The footer in at most ``max_lines`` lines: whole sentences before the last are left out, from the end
    (every note is in the file's metadata, which the last sentence says), until it fits."""
    if len(wrap(text, width_in, FOOTER_PT)) <= max_lines:
        return text
    sentences = _sentences(text)
    last = sentences[-1]
    body = sentences[:-1]
    while body:
        body = body[:-1]
        cand = " ".join([*body, last])
        if len(wrap(cand, width_in, FOOTER_PT)) <= max_lines:
            return cand
    return last


def _sentences(text: str) -> list[str]:
    """Split after '. ' (not inside parentheses, where 'e.g. ' or 'U.S. ' may sit)."""
    out: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "." and depth == 0 and (i + 1 == len(text) or text[i + 1] == " "):
            out.append(text[start : i + 1].strip())
            start = i + 1
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


# ---------------------------------------------------------------------------------------------
# the ratio scale: one definition for the state map and the pathway bubbles
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def ratio_cmap() -> Any:
    """OVER (1/10 and below) -> RATIO_MID (1) -> UNDER (10 and above), linear in log ratio."""
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("gapkit-ratio", [OVER, RATIO_MID, UNDER], N=256)
    return cmap.with_extremes(under=OVER, over=UNDER)


def ratio_norm() -> Any:
    from matplotlib.colors import LogNorm

    return LogNorm(vmin=1 / RATIO_LIMIT, vmax=RATIO_LIMIT, clip=True)


def ratio_color(ratio: float) -> tuple[float, float, float, float]:
    """The ratio scale's colour for one ratio (clipped to the scale's ends)."""
    v = min(max(ratio, 1 / RATIO_LIMIT), RATIO_LIMIT)
    return tuple(float(c) for c in ratio_cmap()(ratio_norm()(v)))  # type: ignore[return-value]


def ratio_tick_label(v: float) -> str:
    """1/10 .. 10; the ends say that the scale is clipped there."""
    if v <= 1 / RATIO_LIMIT * 1.0001:
        return f"≤1/{RATIO_LIMIT:g}"
    if v >= RATIO_LIMIT * 0.9999:
        return f"≥{RATIO_LIMIT:g}"
    return f"1/{1 / v:.0f}" if v < 1 else f"{v:g}"


def ratio_colorbar(cax: Axes, title: str, ticks: tuple[float, ...] = RATIO_TICKS) -> Any:
    """The fixed colour bar of the ratio scale in ``cax`` (horizontal), its ends marked as clipped
    (``RATIO_TICKS_NARROW`` for a bar under 3 in)."""
    from matplotlib.colorbar import ColorbarBase
    from matplotlib.ticker import NullFormatter, NullLocator

    cb = ColorbarBase(cax, cmap=ratio_cmap(), norm=ratio_norm(), orientation="horizontal", extend="both",
                      extendfrac=0.06)
    cb.set_ticks(list(ticks))
    cb.ax.xaxis.set_minor_locator(NullLocator())
    cb.ax.xaxis.set_minor_formatter(NullFormatter())
    cb.set_ticklabels([ratio_tick_label(t) for t in ticks])
    cb.ax.tick_params(labelsize=TICK_PT, length=3, pad=2)
    cb.outline.set_linewidth(0.5)
    cax.set_title(title, fontsize=TICK_PT, loc="left", pad=3)
    return cb


# ---------------------------------------------------------------------------------------------
# saving
# ---------------------------------------------------------------------------------------------
def save(fig: Figure, path: str | Path | io.BytesIO, fmt: str | None = None, dpi: int = DPI,
         title: str | None = None, description: str | None = None) -> None:
    """Write PNG/SVG/PDF with no timestamps (re-running gives the same bytes). ``title`` and
    ``description`` (the full method) go into the file's metadata."""
    if fmt is None:
        fmt = FORMATS[Path(str(path)).suffix.lower()]
    metadata: dict[str, Any] = {
        "png": {"Software": None},
        "svg": {"Date": None, "Creator": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    }[fmt]
    if title:
        metadata["Title"] = title
    if description:
        metadata[{"png": "Description", "svg": "Description", "pdf": "Subject"}[fmt]] = description
    if fmt == "svg" and (title or description):
        buf = io.BytesIO()
        with style():
            fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata, facecolor="white")
        data = _svg_desc(buf.getvalue(), description)
        if isinstance(path, io.BytesIO):
            path.write(data)
        else:
            Path(path).write_bytes(data)
        return
    with style():
        fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata, facecolor="white")


def _svg_desc(data: bytes, description: str | None) -> bytes:
    """A <desc> (the full method) right after the SVG's <title>, where screen readers and tools look."""
    if not description:
        return data
    from xml.sax.saxutils import escape

    desc = f"<desc>{escape(description)}</desc>".encode()
    i = data.find(b"</title>")
    if i >= 0:
        i += len(b"</title>")
    else:
        j = data.find(b"<svg ")
        i = data.find(b">", j) + 1
    return data[:i] + b"\n " + desc + data[i:]


def to_bytes(fig: Figure, fmt: str = "png", dpi: int = DPI, title: str | None = None,
             description: str | None = None) -> bytes:
    buf = io.BytesIO()
    save(fig, buf, fmt=fmt, dpi=dpi, title=title, description=description)
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

"""The chart kinds, drawn in the gapkit style from a :class:`~gapkit.render.charts.data.ChartData`.

bars         openings vs supply by group, subsector or occupation: paired horizontal bars, ratio column
states       openings per completer by state on a US tile grid, diverging log scale centred on 1
scatter      occupations, openings vs supply on log axes with the diagonal; largest gaps labelled
sensitivity  the headline ratio under every allocation mode × award preset
trend        completions over the ingested IPEDS years in the sector's linked programs
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.colorbar import ColorbarBase
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.patheffects import withStroke
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from gapkit.analysis.sweeps import PRESET_LABELS
from gapkit.render.charts import style as st
from gapkit.render.charts.data import ALLOC_LABELS, ChartData

OPENINGS_LABEL = "Annual openings (BLS)"
STATE_OPENINGS_LABEL = "Annual openings (state)"


def _openings_label(cd: ChartData) -> str:
    """A state's openings come from Projections Central (times the national sector share)."""
    region = cd.method.get("region", "US")
    return OPENINGS_LABEL if region in {"US", "all"} else STATE_OPENINGS_LABEL
SUPPLY_LABEL = "Annual completers (IPEDS, allocated)"


def draw(cd: ChartData) -> Figure:
    fn: dict[str, Callable[[ChartData], Figure]] = {
        "bars": draw_bars, "states": draw_states, "scatter": draw_scatter, "sensitivity": draw_sensitivity,
        "trend": draw_trend,
    }
    with st.style():
        return fn[cd.kind](cd)


def _people_axis(axis: Any) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Decade ticks (1, 10, 100, ...) or, for a short range, 1-2-5 ticks, inside [lo, hi]."""
    decades = [10.0 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]
    ticks = [t for t in decades if lo <= t <= hi]
    if len(ticks) < 3:
        ticks = [d * m for d in decades for m in (1, 2, 5) if lo <= d * m <= hi]
    return ticks


def _plain(v: float) -> str:
    if v >= 1:
        return f"{v:,.0f}"
    return f"{v:g}"


# ---------------------------------------------------------------------------------------------
# bars
# ---------------------------------------------------------------------------------------------
def draw_bars(cd: ChartData) -> Figure:
    rows = cd.frame.to_dicts()
    n = len(rows)
    label_w = 1.9 if cd.meta["by"] == "occupation" else 1.7
    # the caveat marks (†, *) survive shortening: the label is cut, then the marks are appended
    labels = [st.shorten(r["label"], label_w - (st.text_width_pt(" " + r["marks"], st.TICK_PT) / 72 if r["marks"] else 0),
                         st.TICK_PT, 2) + (" " + r["marks"] if r["marks"] else "") for r in rows]
    two_line = any("\n" in lab for lab in labels)
    row_h = 0.50 if two_line else 0.44
    legend_h, axis_h = 0.34, 0.50
    body = legend_h + n * row_h + axis_h
    p = st.page(cd.title, cd.subtitle, cd.footer, body)
    left = max(st.text_width_pt(line, st.TICK_PT) for lab in labels for line in lab.split("\n")) / 72 + 0.12
    right = 0.95
    ax = p.axes(left, right, top_in=legend_h, bottom_in=axis_h)
    y = np.arange(n)
    opening = [r["openings"] for r in rows]
    supply = [r["supply"] for r in rows]
    ax.barh(y - 0.2, opening, height=0.38, color=st.OPENINGS, label=_openings_label(cd), zorder=2)
    ax.barh(y + 0.2, supply, height=0.38, color=st.SUPPLY, label=SUPPLY_LABEL, zorder=2)
    ax.set_yticks(y, labels)
    ax.tick_params(axis="y", length=0, pad=6)
    ax.set_ylim(n - 0.45, -0.55)
    # room at the right of the longest bar for its value label (measured, in data units)
    ax_w_pt = (st.WIDTH_IN - 2 * st.MARGIN_IN - left - right) * 72
    vmax = max(max(opening), max(supply), 1.0)
    label_pt = max(st.text_width_pt(st.fmt_people(v), st.ANNOT_PT) for v in opening + supply) + 6
    xmax = vmax / max(0.35, 1 - label_pt / ax_w_pt)
    ax.set_xlim(0, xmax)
    ax.set_xlabel("People per year")
    _people_axis(ax.xaxis)
    ax.xaxis.set_major_locator(_nice_locator(vmax))
    ax.grid(axis="x", zorder=0)
    ax.spines["left"].set_visible(False)
    for yi, v in zip(y, opening, strict=True):
        ax.annotate(st.fmt_people(v), (v, yi - 0.2), xytext=(3, 0), textcoords="offset points", va="center",
                    fontsize=st.ANNOT_PT, color=st.INK)
    for yi, v in zip(y, supply, strict=True):
        ax.annotate(st.fmt_people(v), (v, yi + 0.2), xytext=(3, 0), textcoords="offset points", va="center",
                    fontsize=st.ANNOT_PT, color=st.INK)
    # ratio column, outside the axes on the right
    x_col = 1 + 0.1 / (ax_w_pt / 72)
    ax.text(x_col, 1.0, "Openings per\ncompleter", transform=ax.transAxes, ha="left", va="bottom",
            fontsize=st.ANNOT_PT, color=st.MUTED, linespacing=1.1)
    trans = ax.get_yaxis_transform()
    for yi, r in zip(y, rows, strict=True):
        txt = st.fmt_ratio(r["ratio"])
        ax.text(x_col, yi, txt, transform=trans, ha="left", va="center", fontsize=st.LABEL_PT,
                fontweight="bold" if r["ratio"] is not None else "normal", color=st.INK)
    p.fig.legend(handles=[Patch(color=st.OPENINGS, label=_openings_label(cd)), Patch(color=st.SUPPLY, label=SUPPLY_LABEL)],
                 loc="upper left", bbox_to_anchor=(p.x_frac(st.MARGIN_IN), p.y_frac(p.body_top_in - 0.04)),
                 ncols=2, fontsize=st.TICK_PT, handlelength=1.2, columnspacing=1.4, borderaxespad=0)
    return p.fig


def _nice_locator(vmax: float) -> FixedLocator:
    """About five round ticks from 0 up to the largest value."""
    raw = vmax / 5
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return FixedLocator([step * k for k in range(int(vmax // step) + 2)])


# ---------------------------------------------------------------------------------------------
# states: tile grid
# ---------------------------------------------------------------------------------------------
# (row, column) of each state on a 8 × 12 grid (NPR-style layout; DC beside MD)
TILES: dict[str, tuple[int, int]] = {
    "AK": (0, 0), "ME": (0, 11), "VT": (1, 10), "NH": (1, 11),
    "WA": (2, 1), "ID": (2, 2), "MT": (2, 3), "ND": (2, 4), "MN": (2, 5), "IL": (2, 6), "WI": (2, 7), "MI": (2, 8),
    "NY": (2, 9), "RI": (2, 10), "MA": (2, 11),
    "OR": (3, 1), "NV": (3, 2), "WY": (3, 3), "SD": (3, 4), "IA": (3, 5), "IN": (3, 6), "OH": (3, 7), "PA": (3, 8),
    "NJ": (3, 9), "CT": (3, 10),
    "CA": (4, 1), "UT": (4, 2), "CO": (4, 3), "NE": (4, 4), "MO": (4, 5), "KY": (4, 6), "WV": (4, 7), "VA": (4, 8),
    "MD": (4, 9), "DE": (4, 10),
    "AZ": (5, 2), "NM": (5, 3), "KS": (5, 4), "AR": (5, 5), "TN": (5, 6), "NC": (5, 7), "SC": (5, 8), "DC": (5, 9),
    "OK": (6, 4), "LA": (6, 5), "MS": (6, 6), "AL": (6, 7), "GA": (6, 8),
    "HI": (7, 0), "TX": (7, 4), "FL": (7, 9),
}
NICE_LIMITS = (2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000)


def _sym_limit(ratios: list[float]) -> float:
    """The smallest 'nice' M with every ratio inside [1/M, M] (so 1 sits in the middle of the scale)."""
    need = max([max(r, 1 / r) for r in ratios if r > 0] or [2.0])
    return float(next((m for m in NICE_LIMITS if m >= need), NICE_LIMITS[-1]))


def _ratio_tick_label(v: float) -> str:
    if v >= 1:
        return f"{v:,.0f}"
    return f"1/{1 / v:,.0f}"


def draw_states(cd: ChartData) -> Figure:
    rows = {r["region"]: r for r in cd.frame.to_dicts()}
    tile = (st.WIDTH_IN - 2 * st.MARGIN_IN) / 12
    body = 8 * tile
    p = st.page(cd.title, cd.subtitle, cd.footer, body)
    ax = p.axes(0, 0, top_in=0, height_in=body)
    ax.set_xlim(0, 12)
    ax.set_ylim(8, 0)
    ax.set_axis_off()
    ratios = [r["ratio"] for r in rows.values() if r.get("ratio") is not None]
    lim = _sym_limit(ratios)
    norm = LogNorm(vmin=1 / lim, vmax=lim)
    from matplotlib import colormaps

    cmap = colormaps[st.DIVERGING]
    gap = 0.05
    for abbr, (r, c) in TILES.items():
        row = rows.get(abbr) or {}
        ratio = row.get("ratio")
        has_data = row.get("openings") is not None
        if ratio is not None:
            face = cmap(norm(min(max(ratio, 1 / lim), lim)))
            ax.add_patch(Rectangle((c + gap, r + gap), 1 - 2 * gap, 1 - 2 * gap, facecolor=face, edgecolor="none"))
            ink = "white" if st.luminance(face) < 0.5 else st.INK
            value = st.fmt_ratio(ratio) + ("*" if row.get("odd") else "")
        elif has_data:  # openings but no completers
            ax.add_patch(Rectangle((c + gap, r + gap), 1 - 2 * gap, 1 - 2 * gap, facecolor="white", edgecolor=st.MUTED,
                                   hatch="////", linewidth=0.8))
            ink, value = st.INK, "none"
        else:
            ax.add_patch(Rectangle((c + gap, r + gap), 1 - 2 * gap, 1 - 2 * gap, facecolor=st.NODATA, edgecolor="#999999",
                                   linestyle=(0, (2, 2)), linewidth=0.8))
            ink, value = st.MUTED, "n/a"
        ax.text(c + 0.5, r + 0.36, abbr, ha="center", va="center", fontsize=st.ANNOT_PT, fontweight="bold", color=ink)
        ax.text(c + 0.5, r + 0.70, value, ha="center", va="center", fontsize=st.ANNOT_PT, color=ink,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none"} if value == "none" else None)
    # colour scale in the empty band above the lower 48 (rows 0-1, columns 2-8)
    bar_left_in = st.MARGIN_IN + 2.2 * tile
    bar_w_in = 6.6 * tile
    bar_top_in = p.body_top_in + 0.50 * tile
    cax = p.fig.add_axes((bar_left_in / st.WIDTH_IN, p.y_frac(bar_top_in + 0.16), bar_w_in / st.WIDTH_IN, 0.16 / p.height_in))
    cb = ColorbarBase(cax, cmap=cmap, norm=norm, orientation="horizontal")
    ticks = [t for t in (1 / 1000, 1 / 300, 1 / 100, 1 / 30, 1 / 10, 1 / 3, 1, 3, 10, 30, 100, 300, 1000)
             if 1 / lim <= t * 1.0001 and t <= lim * 1.0001]
    cb.set_ticks(ticks)
    cb.ax.xaxis.set_minor_locator(NullLocator())
    cb.ax.xaxis.set_minor_formatter(NullFormatter())
    cb.set_ticklabels([_ratio_tick_label(t) for t in ticks])
    cb.ax.tick_params(labelsize=st.TICK_PT, length=3)
    cb.outline.set_linewidth(0.5)
    cb.ax.set_title("Openings per completer (log scale; 1 = balanced)", fontsize=st.LABEL_PT, loc="left", pad=4)
    cax.text(0.0, -1.9, "◀ more completers", transform=cax.transAxes, ha="left", va="top", fontsize=st.ANNOT_PT,
             color=st.MUTED)
    cax.text(1.0, -1.9, "more openings ▶", transform=cax.transAxes, ha="right", va="top", fontsize=st.ANNOT_PT,
             color=st.MUTED)
    # legend for the two kinds of empty tiles, lower left (rows 6-7, columns 1-3)
    for i, (label, kw) in enumerate((
        ("No completers", {"facecolor": "white", "edgecolor": st.MUTED, "hatch": "////", "linewidth": 0.8}),
        ("No state projections", {"facecolor": st.NODATA, "edgecolor": "#999999", "linestyle": (0, (2, 2)), "linewidth": 0.8}),
    )):
        y0 = 6.08 + i * 0.48
        ax.add_patch(Rectangle((0.1, y0), 0.36, 0.36, **kw))
        ax.text(0.58, y0 + 0.18, label, ha="left", va="center", fontsize=st.ANNOT_PT, color=st.INK)
    return p.fig


# ---------------------------------------------------------------------------------------------
# scatter
# ---------------------------------------------------------------------------------------------
def draw_scatter(cd: ChartData) -> Figure:
    df = cd.frame
    floor = float(cd.meta["floor"])
    groups: list[tuple[str, str]] = [g for g in cd.meta["groups"] if g[0] in set(df["group"].to_list())]
    handle_w = [st.text_width_pt(t, st.TICK_PT) / 72 + 0.42 for _, t in groups]
    per_row = max(1, min(len(groups), int((st.WIDTH_IN - 2 * st.MARGIN_IN) // max(handle_w or [1.0]))))
    legend_rows = math.ceil(len(groups) / per_row) if groups else 0
    legend_h, strip_h, axis_h = 0.12 + 0.22 * legend_rows, 0.34, 0.52
    main_h = 4.0
    has_none = bool((df["supply"] <= 0).any())
    body = legend_h + main_h + (strip_h + 0.06 if has_none else 0) + axis_h
    p = st.page(cd.title, cd.subtitle, cd.footer, body)
    hi_val = max(float(df["openings"].max()), float(df["supply"].max()), 10.0) * 1.15
    mag = 10 ** math.floor(math.log10(hi_val))
    hi = float(next(m * mag for m in (1, 2, 5, 10) if m * mag >= hi_val))
    ticks = _log_ticks(floor, hi)
    left = max(st.text_width_pt(_plain(t), st.TICK_PT) for t in ticks) / 72 + 0.42
    right = 0.3
    ax = p.axes(left, right, top_in=legend_h, height_in=main_h)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(floor, hi)
    ax.set_ylim(floor, hi)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FuncFormatter(lambda v, _p: _plain(v)))
        axis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="major", zorder=0)
    ax.set_ylabel("Completers per year (allocated)")
    ax.plot([floor, hi], [floor, hi], color=st.MUTED, linestyle="--", linewidth=0.9, zorder=1)
    strip = None
    if has_none:
        strip = p.axes(left, right, top_in=legend_h + main_h + 0.06, height_in=strip_h)
        strip.set_xscale("log")
        strip.set_xlim(floor, hi)
        strip.set_ylim(0, 1)
        strip.set_yticks([0.5], ["none"])
        strip.tick_params(axis="y", length=0)
        strip.xaxis.set_major_locator(FixedLocator(ticks))
        strip.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _plain(v)))
        strip.xaxis.set_minor_formatter(NullFormatter())
        strip.grid(True, axis="x", zorder=0)
        strip.set_facecolor("#f7f7f7")
        strip.spines["left"].set_visible(False)
        ax.tick_params(axis="x", labelbottom=False)
        strip.set_xlabel("Openings per year")
    else:
        ax.set_xlabel("Openings per year")
    pts_px: list[tuple[float, float]] = []
    recs = df.to_dicts()
    where: dict[str, tuple[Any, float, float]] = {}
    handles = []
    for i, (gkey, gtitle) in enumerate(groups):
        sub = [r for r in recs if r["group"] == gkey]
        color, marker = st.PALETTE[i % len(st.PALETTE)], st.MARKERS[i % len(st.MARKERS)]
        pos = [(r["openings"], max(r["supply"], floor)) for r in sub if r["supply"] > 0]
        if pos:
            ax.scatter([a for a, _ in pos], [b for _, b in pos], s=16, color=color, marker=marker, alpha=0.85,
                       linewidths=0, zorder=3, clip_on=False)
        zero = [r["openings"] for r in sub if r["supply"] <= 0]
        if zero and strip is not None:
            strip.scatter(zero, [0.5] * len(zero), s=16, facecolor="none", edgecolor=color, marker=marker,
                          linewidths=0.9, zorder=3, clip_on=False)
        for r in sub:
            if r["supply"] > 0:
                where[r["soc_code"]] = (ax, r["openings"], max(r["supply"], floor))
            elif strip is not None:
                where[r["soc_code"]] = (strip, r["openings"], 0.5)
        handles.append(Line2D([], [], linestyle="none", marker=marker, color=color, markersize=5, label=gtitle))
    for a, x, y in where.values():
        pts_px.append(tuple(a.transData.transform((x, y))))
    # guides: the diagonal and which side is which
    fixed_boxes = []
    d = 10 ** (math.log10(floor) + 0.86 * (math.log10(hi) - math.log10(floor)))
    t = ax.text(d, d, "completers = openings", rotation=45, rotation_mode="anchor", ha="center", va="bottom",
                fontsize=st.ANNOT_PT, color=st.MUTED, transform_rotates_text=True)
    fixed_boxes.append(text_box(p.fig, t))
    t1 = ax.text(0.98, 0.03, "more openings than completers", transform=ax.transAxes, ha="right", va="bottom",
                 fontsize=st.ANNOT_PT, color=st.MUTED, style="italic")
    t2 = ax.text(0.02, 0.97, "more completers than openings", transform=ax.transAxes, ha="left", va="top",
                 fontsize=st.ANNOT_PT, color=st.MUTED, style="italic")
    fixed_boxes += [text_box(p.fig, t1), text_box(p.fig, t2)]
    # label the largest gaps without overlaps
    top = sorted(recs, key=lambda r: -r["gap"])[:8]
    bounds = ax.get_window_extent()  # labels stay in the main panel (the strip is too low to hold one)
    place_labels(p.fig, [(where[r["soc_code"]], st.shorten(r["title"], 1.8, st.ANNOT_PT, 2)) for r in top
                         if r["soc_code"] in where], np.array(pts_px), fixed_boxes, bounds)
    p.fig.legend(handles=handles, loc="upper left", ncols=per_row, fontsize=st.TICK_PT, handletextpad=0.3,
                 columnspacing=1.0, borderaxespad=0,
                 bbox_to_anchor=(p.x_frac(st.MARGIN_IN), p.y_frac(p.body_top_in - 0.04)))
    return p.fig


def text_box(fig: Figure, t: Any) -> tuple[float, float, float, float]:
    bb = t.get_window_extent(renderer=fig.canvas.get_renderer())
    return (bb.x0, bb.y0, bb.x1, bb.y1)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _segments_cross(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float], d: tuple[float, float]) -> bool:
    def orient(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    return (orient(a, b, c) * orient(a, b, d) < 0) and (orient(c, d, a) * orient(c, d, b) < 0)


def _segment_hits_box(a: tuple[float, float], b: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    for k in range(1, 20):
        x = a[0] + (b[0] - a[0]) * k / 20
        y = a[1] + (b[1] - a[1]) * k / 20
        if box[0] <= x <= box[2] and box[1] <= y <= box[3]:
            return True
    return False


def place_labels(fig: Figure, items: list[tuple[tuple[Any, float, float], str]], points: np.ndarray,
                 fixed: list[tuple[float, float, float, float]], bounds: Any) -> None:
    """Greedy label placement in display space.

    For each point, in priority order, offsets at growing distances in 18 directions are tried; a
    candidate is rejected when the label would leave ``bounds``, overlap an earlier label or a guide
    text, cover a labelled point, or when its leader line would cross an earlier leader or label (or
    an earlier leader would run through it).
    Among the rest the label covering the fewest other points, then the nearest, wins. A point with no
    admissible place stays unlabelled rather than overprinted.
    """
    px = fig.dpi / 72
    placed: list[tuple[float, float, float, float]] = list(fixed)
    n_fixed = len(fixed)  # guide texts: labels may not cover them, leader lines may cross them
    leaders: list[tuple[tuple[float, float], tuple[float, float]]] = []
    anchors = [tuple(a.transData.transform((x, y))) for (a, x, y), _ in items]
    pad = 2 * px
    for (target, text), (ax_, ay_) in zip(items, anchors, strict=True):
        lines = text.split("\n")
        w = max(st.text_width_pt(line, st.ANNOT_PT) for line in lines) * px
        h = len(lines) * st.ANNOT_PT * 1.2 * px
        own = [q for q in anchors if q != (ax_, ay_)]
        best: tuple[float, float, float, str, str, tuple[float, float, float, float]] | None = None
        for r_pt in (5, 12, 22, 34, 48, 64, 82, 104, 130, 160):
            for ang in range(0, 360, 20):
                dx = r_pt * math.cos(math.radians(ang)) * px
                dy = r_pt * math.sin(math.radians(ang)) * px
                tx, ty = ax_ + dx, ay_ + dy
                ha = "left" if dx > 0.5 else ("right" if dx < -0.5 else "center")
                va = "bottom" if dy > 0.5 else ("top" if dy < -0.5 else "center")
                x0 = tx if ha == "left" else (tx - w if ha == "right" else tx - w / 2)
                y0 = ty if va == "bottom" else (ty - h if va == "top" else ty - h / 2)
                box = (x0 - pad, y0 - pad, x0 + w + pad, y0 + h + pad)
                if box[0] < bounds.x0 or box[2] > bounds.x1 or box[1] < bounds.y0 or box[3] > bounds.y1:
                    continue
                if any(_overlap(box, b) > 0 for b in placed):
                    continue
                if any(box[0] - 3 * px <= q[0] <= box[2] + 3 * px and box[1] - 3 * px <= q[1] <= box[3] + 3 * px for q in own):
                    continue
                seg = ((ax_, ay_), (tx, ty))
                if r_pt > 5 and (any(_segments_cross(seg[0], seg[1], s0, s1) for s0, s1 in leaders)
                                 or any(_segment_hits_box(seg[0], seg[1], b) for b in placed[n_fixed:])):
                    continue
                if any(_segment_hits_box(s0, s1, box) for s0, s1 in leaders):
                    continue
                covered = int(((points[:, 0] >= box[0]) & (points[:, 0] <= box[2]) & (points[:, 1] >= box[1])
                               & (points[:, 1] <= box[3])).sum()) if len(points) else 0
                cost = covered * 2 + r_pt / 8
                if best is None or cost < best[0]:
                    best = (cost, tx, ty, ha, va, box)
            if best is not None and best[0] <= 1.5:
                break
        if best is None:
            continue
        _, tx, ty, ha, va, box = best
        placed.append(box)
        dist = math.hypot(tx - ax_, ty - ay_) / px
        if dist > 7:
            leaders.append(((ax_, ay_), (tx, ty)))
        a, x, y = target
        # figure points, not pixels: SVG and PDF are drawn at 72 dpi, PNG at 300
        a.annotate(text, (x, y), xycoords="data", xytext=(tx / px, ty / px), textcoords="figure points", ha=ha, va=va,
                   fontsize=st.ANNOT_PT, color=st.INK, linespacing=1.1, annotation_clip=False, zorder=5,
                   path_effects=[withStroke(linewidth=2.5, foreground="white")],
                   arrowprops={"arrowstyle": "-", "color": st.MUTED, "linewidth": 0.6, "shrinkA": 0, "shrinkB": 3}
                   if dist > 7 else None)


# ---------------------------------------------------------------------------------------------
# sensitivity
# ---------------------------------------------------------------------------------------------
def draw_sensitivity(cd: ChartData) -> Figure:
    df = cd.frame
    presets = list(dict.fromkeys(df["awards"].to_list()))
    allocs = list(dict.fromkeys(df["alloc"].to_list()))
    sub_h = 0.17
    row_h = sub_h * len(allocs) + 0.16
    legend_h, axis_h = 0.78, 0.50
    body = legend_h + row_h * len(presets) + axis_h
    p = st.page(cd.title, cd.subtitle, cd.footer, body)
    labels = [PRESET_LABELS.get(k, k) for k in presets]
    left = max(st.text_width_pt(lab, st.TICK_PT) for lab in labels) / 72 + 0.14
    right = 0.2
    ax = p.axes(left, right, top_in=legend_h, bottom_in=axis_h)
    ratios = [r for r in df["ratio"].to_list() if r is not None]
    lo = min([*ratios, 1.0]) / 1.25 if ratios else 0.5
    hi_v = max([*ratios, 1.0]) if ratios else 2.0
    # leave room right of the largest marker for its value label
    ax_w_pt = (st.WIDTH_IN - 2 * st.MARGIN_IN - left - right) * 72
    frac = (st.text_width_pt("000.0", st.ANNOT_PT) + 10) / ax_w_pt
    span = math.log10(hi_v) - math.log10(lo)
    hi = 10 ** (math.log10(hi_v) + span * frac / (1 - frac))
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if lo <= t <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _plain(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.grid(axis="x", zorder=0)
    if lo < 1 < hi:
        ax.axvline(1, color=st.MUTED, linewidth=0.9, zorder=1)
        ax.text(1, 0.01, " 1 = balanced", transform=ax.get_xaxis_transform(), ha="left", va="bottom",
                fontsize=st.ANNOT_PT, color=st.MUTED)
    centers = [i * row_h + row_h / 2 for i in range(len(presets))]
    ax.set_ylim(len(presets) * row_h, 0)
    ax.set_yticks(centers, labels)
    ax.tick_params(axis="y", length=0, pad=6)
    ax.spines["left"].set_visible(False)
    for i in range(1, len(presets)):
        ax.axhline(i * row_h, color=st.GRID, linewidth=0.6, zorder=0)
    handles = []
    for j, alloc in enumerate(allocs):
        color, marker = st.PALETTE[j % len(st.PALETTE)], st.MARKERS[j % len(st.MARKERS)]
        handles.append(Line2D([], [], linestyle="none", marker=marker, color=color, markersize=6,
                              label=ALLOC_LABELS.get(alloc, alloc)))
        for i, preset in enumerate(presets):
            rec = df.filter((df["alloc"] == alloc) & (df["awards"] == preset)).row(0, named=True)
            yy = centers[i] + (j - (len(allocs) - 1) / 2) * sub_h
            if rec["ratio"] is None:
                ax.text(lo, yy, "  no supply", ha="left", va="center", fontsize=st.ANNOT_PT, color=color)
                continue
            ax.plot([rec["ratio"]], [yy], marker=marker, color=color, markersize=6, linestyle="none", zorder=3)
            if rec["chosen"]:
                ax.plot([rec["ratio"]], [yy], marker="o", markersize=12, markerfacecolor="none", markeredgecolor=st.INK,
                        markeredgewidth=1.2, linestyle="none", zorder=4)
            ax.annotate(st.fmt_ratio(rec["ratio"]), (rec["ratio"], yy), xytext=(7 if not rec["chosen"] else 9, 0),
                        textcoords="offset points", va="center", fontsize=st.ANNOT_PT,
                        fontweight="bold" if rec["chosen"] else "normal", color=st.INK)
    ax.set_xlabel("Openings per completer (log scale)")
    leg = p.fig.legend(handles=handles, loc="upper left", ncols=2, fontsize=st.TICK_PT, handletextpad=0.3,
                       columnspacing=1.2, borderaxespad=0, title="Completions allocated to occupations (--alloc):",
                       title_fontsize=st.TICK_PT, alignment="left",
                       bbox_to_anchor=(p.x_frac(st.MARGIN_IN), p.y_frac(p.body_top_in - 0.04)))
    leg.get_title().set_color(st.MUTED)
    return p.fig


# ---------------------------------------------------------------------------------------------
# trend
# ---------------------------------------------------------------------------------------------
def draw_trend(cd: ChartData) -> Figure:
    df = cd.frame
    years: list[int] = cd.meta["years"]
    counted = df.filter(df["kind"] == "counted")
    series = list(dict.fromkeys(counted["series"].to_list()))
    legend_h, axis_h = 0.34, 0.52
    body = legend_h + 2.6 + axis_h
    p = st.page(cd.title, cd.subtitle, cd.footer, body)
    totals = {y: float(counted.filter(counted["year"] == y)["completions"].sum()) for y in years}
    ymax = max([*totals.values(), 1.0])
    locator = _nice_locator(ymax * 1.12)
    tick_labels = [f"{v:,.0f}" for v in locator.tick_values(0, ymax)]
    left = max(st.text_width_pt(t, st.TICK_PT) for t in tick_labels) / 72 + 0.42
    ax = p.axes(left, 0.1, top_in=legend_h, bottom_in=axis_h)
    bottom = {y: 0.0 for y in years}
    handles = []
    width = 0.62
    for k, name in enumerate(series):
        sub = {int(r["year"]): float(r["completions"]) for r in counted.filter(counted["series"] == name).to_dicts()}
        vals = [sub.get(y, 0.0) for y in years]
        color = st.PALETTE[k % len(st.PALETTE)]
        ax.bar(years, vals, width=width, bottom=[bottom[y] for y in years], color=color, zorder=2, edgecolor="white",
               linewidth=0.6)
        handles.append(Patch(color=color, label=name))
        for y, v in zip(years, vals, strict=True):
            # the segment's value inside it when there is room (>= 2 lines of 9 pt)
            seg_in = v / (ymax * 1.12) * 2.6
            if seg_in > 0.22:
                rgba = matplotlib_rgba(color)
                ax.text(y, bottom[y] + v / 2, f"{v:,.0f}", ha="center", va="center", fontsize=st.ANNOT_PT,
                        color="white" if st.luminance(rgba) < 0.5 else st.INK, zorder=3)
            bottom[y] += v
    for y in years:
        ax.annotate(f"{totals[y]:,.0f}", (y, totals[y]), xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom", fontsize=st.ANNOT_PT, fontweight="bold", color=st.INK)
    ax.set_ylim(0, max(locator.tick_values(0, ymax * 1.12)[-1], ymax * 1.12))
    ax.yaxis.set_major_locator(locator)
    _people_axis(ax.yaxis)
    ax.set_ylabel("Completers per year")
    ax.set_xticks(years, [str(y) for y in years])
    ax.tick_params(axis="x", length=0)
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    ax.set_xlabel("IPEDS academic year (July–June, ending)")
    ax.grid(axis="y", zorder=0)
    p.fig.legend(handles=handles, loc="upper left", ncols=len(handles), fontsize=st.TICK_PT, handlelength=1.2,
                 columnspacing=1.2, borderaxespad=0,
                 bbox_to_anchor=(p.x_frac(st.MARGIN_IN + left - 0.08), p.y_frac(p.body_top_in - 0.04)))
    return p.fig


def matplotlib_rgba(color: str) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(color)

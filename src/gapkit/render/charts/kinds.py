"""The chart kinds, drawn in the gapkit style from a :class:`~gapkit.render.charts.data.ChartData`.

bars         openings vs supply by group, subsector or occupation: paired horizontal bars, ratio column
states       openings per completer by state on a US tile grid, on the fixed ratio scale (1/10 to 10, the
             same for every sector); a state asked for (``--region OH``) is outlined
scatter      occupations, openings vs supply on log axes with the diagonal; colour says which side of it a
             point is, shape its occupational group; the largest gaps, openings and supplies labelled
sensitivity  the headline ratio under every allocation mode (shape) × award preset (row)
trend        completions over the ingested IPEDS years in the sector's linked programs, by award level

Colours follow the one table in :mod:`gapkit.render.charts.style`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from gapkit.analysis.sweeps import PRESET_LABELS
from gapkit.render.charts import labels as lb
from gapkit.render.charts import style as st
from gapkit.render.charts.data import ALLOC_LABELS, ChartData, region_name

OPENINGS_LABEL = "Annual openings (BLS)"
STATE_OPENINGS_LABEL = "Annual openings (state)"


def _demand_word(cd: ChartData) -> str:
    """What the chart's demand bars and ratios count, capitalized: Openings, Entrant openings or New jobs."""
    return {"openings": "Openings", "entrants": "Entrant openings", "growth": "New jobs"}.get(cd.method.get("demand", "openings"),
                                                                                           "Openings")


def _openings_label(cd: ChartData) -> str:
    """A state's openings come from Projections Central (times the national sector share); an area's are estimated
    from its state's (the method names how)."""
    region = cd.method.get("region", "US")
    base = OPENINGS_LABEL if region in {"US", "all"} else STATE_OPENINGS_LABEL
    if cd.meta.get("by") in {"metro", "county", "wda"}:
        base = "Annual openings (area estimate)"
    word = _demand_word(cd)
    return base if word == "Openings" else base.replace("openings", word.lower())


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
    ax.barh(y + 0.2, supply, height=0.38, color=st.COMPLETERS, label=SUPPLY_LABEL, zorder=2)
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
    ax.text(x_col, 1.0, "Per\ncompleter" if _demand_word(cd) != "Openings" else "Openings per\ncompleter", transform=ax.transAxes, ha="left", va="bottom",
            fontsize=st.ANNOT_PT, color=st.MUTED, linespacing=1.1)
    trans = ax.get_yaxis_transform()
    for yi, r in zip(y, rows, strict=True):
        txt = st.fmt_ratio(r["ratio"])
        ax.text(x_col, yi, txt, transform=trans, ha="left", va="center", fontsize=st.LABEL_PT,
                fontweight="bold" if r["ratio"] is not None else "normal", color=st.INK)
    p.fig.legend(handles=[Patch(color=st.OPENINGS, label=_openings_label(cd)), Patch(color=st.COMPLETERS, label=SUPPLY_LABEL)],
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
def draw_states(cd: ChartData) -> Figure:
    rows = {r["region"]: r for r in cd.frame.to_dicts()}
    highlight = cd.meta.get("highlight")
    tile = (st.WIDTH_IN - 2 * st.MARGIN_IN) / 12
    key_h = 0.34  # a row of keys under the map
    body = 8 * tile + key_h
    p = st.page(cd.title, cd.subtitle, cd.footer, body)
    ax = p.axes(0, 0, top_in=0, height_in=body)
    ax.set_xlim(0, 12)
    ax.set_ylim(8 + key_h / tile, 0)
    ax.set_axis_off()
    gap = 0.05
    for abbr, (r, c) in TILES.items():
        row = rows.get(abbr) or {}
        ratio = row.get("ratio")
        has_data = row.get("openings") is not None
        box = (c + gap, r + gap)
        size = 1 - 2 * gap
        if ratio is not None:
            face = st.ratio_color(ratio)
            ax.add_patch(Rectangle(box, size, size, facecolor=face, edgecolor="none", gid=f"tile-{abbr}"))
            ink = "white" if st.luminance(face) < 0.45 else st.INK
            value = st.fmt_ratio(ratio) + ("*" if row.get("odd") else "")
        elif has_data:  # openings but no completers: the far end of "more openings", hatched
            ax.add_patch(Rectangle(box, size, size, facecolor=st.UNDER, edgecolor="white", hatch=st.NO_COMPLETERS_HATCH,
                                   linewidth=0, gid=f"tile-{abbr}"))
            ink, value = st.INK, "none"
        else:
            ax.add_patch(Rectangle(box, size, size, facecolor=st.NODATA, edgecolor="#999999", linestyle=(0, (2, 2)),
                                   linewidth=0.8, gid=f"tile-{abbr}"))
            ink, value = st.INK, "n/a"
        ax.text(c + 0.5, r + 0.36, abbr, ha="center", va="center", fontsize=st.ANNOT_PT, fontweight="bold", color=ink,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none"} if value == "none" else None)
        ax.text(c + 0.5, r + 0.70, value, ha="center", va="center", fontsize=st.ANNOT_PT, color=ink,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none"} if value == "none" else None)
        if abbr == highlight:
            ax.add_patch(Rectangle((c + gap / 2, r + gap / 2), 1 - gap, 1 - gap, facecolor="none", edgecolor=st.INK,
                                   linewidth=2.4, zorder=4, gid="gapkit-highlight"))
    # the fixed colour scale in the empty band above the lower 48 (rows 0-1, columns 2-8)
    bar_left_in = st.MARGIN_IN + 2.3 * tile
    bar_w_in = 6.4 * tile
    bar_top_in = p.body_top_in + 0.50 * tile
    cax = p.fig.add_axes((bar_left_in / st.WIDTH_IN, p.y_frac(bar_top_in + 0.16), bar_w_in / st.WIDTH_IN, 0.16 / p.height_in))
    st.ratio_colorbar(cax, f"{_demand_word(cd)} per completer (log scale; 1 = balanced)")
    cax.title.set_fontsize(st.LABEL_PT)
    cax.text(0.0, -1.9, "◀ more completers", transform=cax.transAxes, ha="left", va="top", fontsize=st.ANNOT_PT,
             color=st.MUTED)
    cax.text(1.0, -1.9, "more openings ▶", transform=cax.transAxes, ha="right", va="top", fontsize=st.ANNOT_PT,
             color=st.MUTED)
    # keys for the tiles that are not on the scale (and the outlined state), in a row under the map
    keys: list[tuple[str, dict[str, Any]]] = [
        ("No completers", {"facecolor": st.UNDER, "edgecolor": "white", "hatch": st.NO_COMPLETERS_HATCH, "linewidth": 0}),
        ("No state projections", {"facecolor": st.NODATA, "edgecolor": "#999999", "linestyle": (0, (2, 2)), "linewidth": 0.8}),
    ]
    if highlight:
        keys.insert(0, (f"{region_name(highlight)}: the state asked for", {"facecolor": "none", "edgecolor": st.INK,
                                                                           "linewidth": 2.0}))
    x = 0.1
    y0 = 8 + (key_h / tile - 0.36) / 2
    for label, kw in keys:
        ax.add_patch(Rectangle((x, y0), 0.36, 0.36, **kw))
        ax.text(x + 0.48, y0 + 0.18, label, ha="left", va="center", fontsize=st.ANNOT_PT, color=st.INK)
        x += 0.48 + st.text_width_pt(label, st.ANNOT_PT) / 72 / tile + 0.45
    return p.fig


# ---------------------------------------------------------------------------------------------
# scatter
# ---------------------------------------------------------------------------------------------
def draw_scatter(cd: ChartData) -> Figure:
    df = cd.frame
    floor = float(cd.meta["floor"])
    groups: list[tuple[str, str]] = [g for g in cd.meta["groups"] if g[0] in set(df["group"].to_list())]
    has_none = bool((df["supply"] <= 0).any())
    # legend: one entry per group (shape), then what the colours say
    keys = [(t, "shape") for _, t in groups] + [("more openings than completers", "under"),
                                                ("more completers than openings", "over")]
    if has_none:
        keys.append(("no completers (strip)", "none"))
    # room for one more key: the diagonal's, when no place on the plot is free for its label
    handle_w = [st.text_width_pt(t, st.TICK_PT) / 72 + 0.42 for t, _ in [*keys, ("completers = openings", "diagonal")]]
    per_row = max(1, min(len(keys) + 1, int((st.WIDTH_IN - 2 * st.MARGIN_IN) // max(handle_w))))
    legend_rows = math.ceil((len(keys) + 1) / per_row)
    legend_h, strip_h, axis_h = 0.12 + 0.22 * legend_rows, 0.34, 0.52
    main_h = 4.5
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
    if bool(((df["supply"] > 0) & (df["supply"] < floor)).any()):  # under 1 completer a year sits on the bottom edge
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"≤{_plain(v)}" if v <= floor else _plain(v)))
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
        strip.set_facecolor("white")
        strip.spines["left"].set_visible(False)
        ax.tick_params(axis="x", labelbottom=False)
        strip.set_xlabel(f"{_demand_word(cd)} per year")
    else:
        ax.set_xlabel(f"{_demand_word(cd)} per year")
    recs = df.to_dicts()
    where: dict[str, tuple[Any, float, float]] = {}
    size = 16.0  # marker area, pt²
    for i, (gkey, _gtitle) in enumerate(groups):
        sub = [r for r in recs if r["group"] == gkey]
        marker = st.MARKERS[i % len(st.MARKERS)]
        for side, color in (("under", st.UNDER), ("over", st.OVER)):
            pos = [(r["openings"], max(r["supply"], floor)) for r in sub
                   if r["supply"] > 0 and ((r["openings"] > r["supply"]) == (side == "under"))]
            if pos:
                ax.scatter([a for a, _ in pos], [b for _, b in pos], s=size, color=color, marker=marker, alpha=0.85,
                           linewidths=0, zorder=3, clip_on=False, gid=f"points-{side}")
        zero = [r["openings"] for r in sub if r["supply"] <= 0]
        if zero and strip is not None:
            strip.scatter(zero, [0.5] * len(zero), s=size, facecolor="none", edgecolor=st.UNDER, marker=marker,
                          linewidths=0.9, zorder=3, clip_on=False, gid="points-none")
        for r in sub:
            if r["supply"] > 0:
                where[r["soc_code"]] = (ax, r["openings"], max(r["supply"], floor))
            elif strip is not None:
                where[r["soc_code"]] = (strip, r["openings"], 0.5)
    p.fig.canvas.draw()  # tick labels and transforms settle before text is measured
    markers = np.vstack([lb.markers_px(a) for a in ([ax, strip] if strip is not None else [ax])])
    # label the largest gaps, the most openings and the most completers (the top-right point; each point once)
    order: list[dict[str, Any]] = []
    by_gap = sorted(recs, key=lambda r: (-r["gap"], r["soc_code"]))
    by_open = sorted(recs, key=lambda r: (-r["openings"], r["soc_code"]))
    by_sup = sorted(recs, key=lambda r: (-r["supply"], r["soc_code"]))
    for trio in zip(by_gap[:6], [*by_open[:3], None, None, None], [*by_sup[:1], None, None, None, None, None], strict=False):
        for r in trio:
            if r is not None and r["soc_code"] in where and all(r["soc_code"] != o["soc_code"] for o in order):
                order.append(r)
    targets = [lb.Target(*where[r["soc_code"]], math.sqrt(size) / 2, *lb.layouts(r["title"], (1.8, 2.6, 1.4), 2))
               for r in order[:8]]
    bounds = [lb.text_box(p.fig, ax.patch)]  # labels stay in the main panel (the strip is too thin to hold one)
    diag_px = [tuple(ax.transData.transform((floor, floor))), tuple(ax.transData.transform((hi, hi)))]
    placed = lb.label_points(p.fig, targets, markers, [], bounds, [(diag_px[0], diag_px[1])])  # type: ignore[list-item]
    taken = [q.box for q in placed]
    leaders = [lb.leader_of(q) for q in placed if q.leader]
    # guides, where they cover no point, label or leader: which side of the diagonal is which, the diagonal's own
    # label (or, when no place on the plot is free for it, a key in the legend)
    corner_kw = {"fontsize": st.ANNOT_PT, "color": st.MUTED, "style": "italic", "zorder": 2, "bbox": lb.GUIDE_BOX,
                 "gid": "gapkit-guide"}
    t_up = lb.free_spot(p.fig, ax, "more completers than openings",
                        [(x, y, "left", "top") for y in (0.97, 0.91, 0.85, 0.79, 0.73, 0.67) for x in (0.02, 0.1, 0.2)],
                        markers, taken, leaders, **corner_kw)
    taken.append(lb.text_box(p.fig, t_up))
    t_down = lb.free_spot(p.fig, ax, "more openings than completers",
                          [(x, y, "right", "bottom") for y in (0.03, 0.08, 0.13, 0.18, 0.23, 0.28, 0.33, 0.38)
                           for x in (0.98, 0.9, 0.8, 0.7)], markers, taken, leaders, **corner_kw)
    taken.append(lb.text_box(p.fig, t_down))
    diag = _diagonal_label(p.fig, ax, floor, hi, markers, taken, leaders)
    handles: list[Any] = []
    if diag is None:
        keys.append(("completers = openings", "diagonal"))
    for label, kind in keys:
        if kind == "shape":
            i = [t for _, t in groups].index(label)
            handles.append(Line2D([], [], linestyle="none", marker=st.MARKERS[i % len(st.MARKERS)], markerfacecolor="none",
                                  markeredgecolor=st.INK, markersize=5, label=label))
        elif kind == "diagonal":
            handles.append(Line2D([], [], color=st.MUTED, linestyle="--", linewidth=0.9, label=label))
        elif kind == "none":
            handles.append(Line2D([], [], linestyle="none", marker="o", markerfacecolor="none", markeredgecolor=st.UNDER,
                                  markersize=5, label=label))
        else:
            handles.append(Patch(color=st.UNDER if kind == "under" else st.OVER, label=label))
    p.fig.legend(handles=handles, loc="upper left", ncols=per_row, fontsize=st.TICK_PT, handletextpad=0.3,
                 columnspacing=1.0, borderaxespad=0, handlelength=1.0,
                 bbox_to_anchor=(p.x_frac(st.MARGIN_IN), p.y_frac(p.body_top_in - 0.04)))
    return p.fig


def _diagonal_label(fig: Figure, ax: Any, floor: float, hi: float, markers: np.ndarray, taken: list[lb.Box],
                    leaders: list[lb.Segment]) -> Any:
    """'completers = openings' along the diagonal, just above it, nearest the top right where the rotated text
    covers no point (tested on the rotated rectangle), no label and no leader line; None when there is no such place."""
    px = fig.dpi / 72
    text = "completers = openings"
    w, h = lb.measure(fig, text)
    p0 = ax.transData.transform((floor, floor))
    p1 = ax.transData.transform((hi, hi))
    theta = math.atan2(p1[1] - p0[1], p1[0] - p0[0])
    c, s = math.cos(theta), math.sin(theta)
    lo_l, hi_l = math.log10(floor), math.log10(hi)
    axbox = lb.text_box(fig, ax.patch)
    for k in range(40):
        f = 0.9 - k * 0.02
        d = 10 ** (lo_l + f * (hi_l - lo_l))
        ax_, ay_ = ax.transData.transform((d, d))
        clear = True
        for qx, qy, qr in markers:
            u = (qx - ax_) * c + (qy - ay_) * s
            v = -(qx - ax_) * s + (qy - ay_) * c
            if abs(u) <= w / 2 + qr + 2 * px and -qr - 2 * px <= v <= h + qr + 3 * px:
                clear = False
                break
        if not clear:
            continue
        t = ax.text(d, d, text, rotation=45, rotation_mode="anchor", ha="center", va="bottom", fontsize=st.ANNOT_PT,
                    color=st.MUTED, transform_rotates_text=True, gid="gapkit-diagonal")
        box = lb.text_box(fig, t)
        inside = box[0] >= axbox[0] and box[2] <= axbox[2] and box[1] >= axbox[1] and box[3] <= axbox[3]
        if inside and not any(lb.overlap(box, b) for b in taken) and not any(lb.segment_hits_box(sg, box) for sg in leaders):
            return t
        t.remove()
    return None


# ---------------------------------------------------------------------------------------------
# sensitivity
# ---------------------------------------------------------------------------------------------
def draw_sensitivity(cd: ChartData) -> Figure:
    df = cd.frame
    presets = list(dict.fromkeys(df["awards"].to_list()))
    allocs = list(dict.fromkeys(df["alloc"].to_list()))
    sub_h = 0.17
    row_h = sub_h * len(allocs) + 0.16
    legend_h, balanced_h, axis_h = 0.98, 0.22, 0.50
    body = legend_h + balanced_h + row_h * len(presets) + axis_h
    p = st.page(cd.title, cd.subtitle, cd.footer, body)
    labels = [PRESET_LABELS.get(k, k) for k in presets]
    left = max(st.text_width_pt(lab, st.TICK_PT) for lab in labels) / 72 + 0.14
    right = 0.2
    ax = p.axes(left, right, top_in=legend_h + balanced_h, bottom_in=axis_h)
    ratios = [r for r in df["ratio"].to_list() if r is not None]
    # room left of the smallest and right of the largest marker for their value labels (labels sit on the side away from 1)
    ax_w_pt = (st.WIDTH_IN - 2 * st.MARGIN_IN - left - right) * 72
    frac = (st.text_width_pt("000.0", st.ANNOT_PT) + 12) / ax_w_pt
    lo_v = min([*ratios, 1.0]) if ratios else 0.5
    hi_v = max([*ratios, 1.0]) if ratios else 2.0
    span = max(math.log10(hi_v) - math.log10(lo_v), 0.3)
    pad = span * frac / (1 - 2 * frac)
    lo = 10 ** (math.log10(lo_v) - (pad if lo_v < 1 else span * 0.04))
    hi = 10 ** (math.log10(hi_v) + pad)
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
        # the line's label above the plot, where no marker or value can reach it
        ax.text(1, 1.0, "1 = balanced", transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                fontsize=st.ANNOT_PT, color=st.MUTED, gid="gapkit-balanced")
    centers = [i * row_h + row_h / 2 for i in range(len(presets))]
    ax.set_ylim(len(presets) * row_h, 0)
    ax.set_yticks(centers, labels)
    ax.tick_params(axis="y", length=0, pad=6)
    ax.spines["left"].set_visible(False)
    for i in range(1, len(presets)):
        ax.axhline(i * row_h, color=st.GRID, linewidth=0.6, zorder=0)
    handles: list[Any] = []
    for j, alloc in enumerate(allocs):
        marker = st.MARKERS[j % len(st.MARKERS)]
        handles.append(Line2D([], [], linestyle="none", marker=marker, markerfacecolor="none", markeredgecolor=st.INK,
                              markersize=6, label=ALLOC_LABELS.get(alloc, alloc)))
        for i, preset in enumerate(presets):
            rec = df.filter((df["alloc"] == alloc) & (df["awards"] == preset)).row(0, named=True)
            yy = centers[i] + (j - (len(allocs) - 1) / 2) * sub_h
            ratio = rec["ratio"]
            if ratio is None:
                ax.text(hi, yy, "no supply ", ha="right", va="center", fontsize=st.ANNOT_PT, color=st.INK)
                continue
            color = st.UNDER if ratio > 1 else (st.OVER if ratio < 1 else st.INK)
            ax.plot([ratio], [yy], marker=marker, color=color, markersize=6, linestyle="none", zorder=3)
            if rec["chosen"]:
                ax.plot([ratio], [yy], marker="o", markersize=12, markerfacecolor="none", markeredgecolor=st.INK,
                        markeredgewidth=1.2, linestyle="none", zorder=4)
            off = 7 if not rec["chosen"] else 9
            right_side = ratio >= 1  # the value on the side away from the balanced line
            ax.annotate(st.fmt_ratio(ratio), (ratio, yy), xytext=(off if right_side else -off, 0),
                        textcoords="offset points", va="center", ha="left" if right_side else "right",
                        fontsize=st.ANNOT_PT, fontweight="bold" if rec["chosen"] else "normal", color=st.INK)
    handles += [Line2D([], [], linestyle="none", marker="o", markersize=10, markerfacecolor="none", markeredgecolor=st.INK,
                       markeredgewidth=1.2, label=f"chosen method (alloc={cd.meta['alloc']}, awards={cd.meta['awards']})")]
    if any(r > 1 for r in ratios):  # a key for each colour drawn
        handles.append(Patch(color=st.UNDER, label="ratio above 1: more openings"))
    if any(r < 1 for r in ratios):
        handles.append(Patch(color=st.OVER, label="ratio below 1: more completers"))
    ax.set_xlabel("Openings per completer (log scale)")
    leg = p.fig.legend(handles=handles, loc="upper left", ncols=2, fontsize=st.TICK_PT, handletextpad=0.3,
                       columnspacing=1.2, borderaxespad=0, handlelength=1.2,
                       title="Marker: how completions are allocated to occupations (--alloc)",
                       title_fontsize=st.TICK_PT, alignment="left",
                       bbox_to_anchor=(p.x_frac(st.MARGIN_IN), p.y_frac(p.body_top_in - 0.04)))
    leg.get_title().set_color(st.MUTED)
    return p.fig


# ---------------------------------------------------------------------------------------------
# trend
# ---------------------------------------------------------------------------------------------
def _completer_tints(n: int) -> list[str]:
    """The completers hue for ``n`` award levels, lowest level lightest."""
    tints = list(st.COMPLETER_TINTS)
    if n <= len(tints):
        return tints[:n] if n > 1 else [st.COMPLETERS]
    from matplotlib.colors import LinearSegmentedColormap, to_hex

    cmap = LinearSegmentedColormap.from_list("completers", tints)
    return [to_hex(cmap(k / (n - 1))) for k in range(n)]


def draw_trend(cd: ChartData) -> Figure:
    df = cd.frame
    years: list[int] = cd.meta["years"]
    counted = df.filter(df["kind"] == "counted")
    series = list(dict.fromkeys(counted["series"].to_list()))
    legend_h, axis_h = 0.52, 0.52
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
    colors = _completer_tints(len(series))
    for k, name in enumerate(series):
        sub = {int(r["year"]): float(r["completions"]) for r in counted.filter(counted["series"] == name).to_dicts()}
        vals = [sub.get(y, 0.0) for y in years]
        color = colors[k]
        ax.bar(years, vals, width=width, bottom=[bottom[y] for y in years], color=color, zorder=2, edgecolor="white",
               linewidth=0.6)
        handles.append(Patch(color=color, label=name))
        for y, v in zip(years, vals, strict=True):
            # the segment's value inside it when there is room (>= 2 lines of 9 pt)
            seg_in = v / (ymax * 1.12) * 2.6
            if seg_in > 0.22:
                rgba = matplotlib_rgba(color)
                ax.text(y, bottom[y] + v / 2, f"{v:,.0f}", ha="center", va="center", fontsize=st.ANNOT_PT,
                        color="white" if st.luminance(rgba) < 0.45 else st.INK, zorder=3)
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
                 columnspacing=1.2, borderaxespad=0, title="Completers by award level:", title_fontsize=st.TICK_PT,
                 alignment="left",
                 bbox_to_anchor=(p.x_frac(st.MARGIN_IN + left - 0.08), p.y_frac(p.body_top_in - 0.04)))
    return p.fig


def matplotlib_rgba(color: str) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(color)

"""Two chart kinds for pathway priorities, drawn in the gapkit chart style.

pathways  occupations as bubbles: median wage (x) against 10-year growth (y), bubble area = annual
          openings, colour = openings per completer (the gap ratio) on the fixed ratio scale of the
          states chart (hatched: no completers); dashed lines at the high-wage and high-growth
          thresholds of the rules. A top-coded wage (OEWS publishes "at least $239,200") does not
          stretch the axis: its bubble sits on the right edge and its label says so.
programs  the largest programs (CIP) of a region: completions as bars coloured by alignment, and the
          openings-per-completer ratio of the occupations each feeds on a log scale (1/20 to 20) with
          the balanced band of the rules shaded; a ratio beyond the scale is drawn at its edge as an
          arrow with its value.

Colours follow the one table in :mod:`gapkit.render.charts.style`.

    gapkit.chart("pathways", region="OH").save("oh-pathways.png")
    gapkit.chart("programs", region="OH").save("oh-programs.png")

Like the other kinds they take a prepared :class:`~gapkit.render.charts.data.ChartData` (``pathways_data`` /
``programs_data``) so a report can reuse one computation, and return a :class:`~gapkit.render.charts.Chart`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter

from gapkit.render.charts import PATHWAY_KINDS
from gapkit.render.charts import labels as lb
from gapkit.render.charts import style as st
from gapkit.render.charts.data import ChartData, footer, method_text, region_name, subtitle, title_of

if TYPE_CHECKING:
    from gapkit.analysis.pathways import PathwayResult
    from gapkit.analysis.programs import ProgramResult

KINDS = PATHWAY_KINDS
ALIGN_COLORS = {  # the alignment of a program, in the colours of the one table (style.py)
    "undersupplied (expand)": st.UNDER,
    "balanced": st.BALANCED,
    "oversupplied": st.OVER,
    "weakly aligned": st.WEAK,
    "no linked openings": st.NODATA_DARK,
    "no linked occupation": st.NODATA,
}
PROGRAM_RATIO_LIMIT = 20.0  # the programs chart's ratio axis runs from 1/20 to 20; beyond, an arrow at the edge


def _money_k(v: float) -> str:
    return f"${v / 1000:,.0f}k"


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def pathways_data(res: PathwayResult, limit: int = 40) -> ChartData:
    """The ``limit`` occupations with the most openings that have a wage and a growth figure."""
    import polars as pl

    occ = res.selected
    shown = occ.filter(pl.col("wage_value").is_not_null() & pl.col("growth_pct").is_not_null() & (pl.col("openings") > 0))
    frame = shown.sort(["openings", "soc_code"], descending=[True, False]).head(limit)
    cut = float(frame["openings"].min()) if frame.height == limit else 0.0
    dropped = occ.filter((pl.col("openings") >= cut) & (pl.col("openings") > 0)).height - shown.filter(pl.col("openings") >= cut).height
    a, r = res.area, res.rules
    top = r.tiers[0].name
    n_top = frame.filter(pl.col("tier") == top).height
    where = region_name(a.region, a.name)
    title = title_of(f"{where}: {n_top} of the {frame.height} occupations with the most openings are {top} "
                     f"(above the {_money_k(a.wage_threshold(r))} wage line and in demand)")
    notes: list[str] = []
    full = [f"Wages: {a.wage_source}; growth: {a.growth_source}.",
            f"Lines: high-wage above {r.wage_factor:g} × the {where} median ({_money_k(a.wage_median)}); high-growth above "
            f"{a.growth_threshold(r):.1f}% ({where} all occupations {a.growth_all_pct:.1f}%) ({r.origin})."]
    topcoded = frame.filter(pl.col("wage_status") == "top-coded")
    if topcoded.height:
        cap = _money_k(float(topcoded["wage_value"].min()))
        notes.append(f"▸ Top-coded wage (OEWS publishes at least {cap}): drawn on the right edge.")
        full.append(f"▸ Top-coded median wage (OEWS publishes only a floor, {cap}): the bubble is drawn on the right edge of "
                    "the wage axis, not at its value.")
    notes.append(f"Wages: {a.wage_source.split(' (')[0]}; growth: {a.growth_source.split(',')[0]}.")
    if dropped:
        notes.append(f"{dropped} occupation(s) with as many openings but no wage or growth figure are not shown.")
        full.append(notes[-1])
    meta = {"wage_threshold": a.wage_threshold(r), "growth_threshold": a.growth_threshold(r), "area_median": a.wage_median,
            "area_growth": a.growth_all_pct, "region": a.region, "top_tier": top, "limit": limit,
            "wage_line": f"high wage: {_money_k(a.wage_threshold(r))}"
            + (f" ({where} median)" if r.wage_factor == 1 else f" ({r.wage_factor:g} × {where} median)"),
            "growth_line": f"high growth: {a.growth_threshold(r):+.1f}%"
            + (" (all occupations)" if abs(a.growth_threshold(r) - a.growth_all_pct) < 1e-9 else "")}
    return ChartData("pathways", frame, title, subtitle(res.method), footer(res.method, notes), res.method, res.notes, meta,
                     method_text(res.method, full))


def programs_data(res: ProgramResult, limit: int = 20) -> ChartData:
    import polars as pl

    from gapkit.errors import UsageError

    if "cipcode" not in res.programs.columns:
        raise UsageError("The programs chart shows programs one by one; drop --by cluster.")
    t = res.programs.filter(pl.col("completions") > 0).sort(["completions", "cipcode"], descending=[True, False]).head(limit)
    r, a = res.rules, res.area
    where = region_name(a.region, a.name)
    counts = {k: t.filter(pl.col("alignment") == k).height for k in ALIGN_COLORS}
    only = str(t["cip_title"][0]).rstrip(".") if t.height == 1 and "cip_title" in t.columns and t["cip_title"][0] else "the program"
    title = title_of(f"{where}: {_programs_finding(t.height, counts, only)}")
    full = [f"Alignment ({r.origin}): openings per completer of the occupations each program feeds (NCES CIP-SOC crosswalk) as "
            f"`gapkit gap --by occupation` computes them; balanced between {r.oversupplied_ratio:g} and {r.undersupplied_ratio:g}; "
            f"weakly aligned when those occupations' median wage is below {_money_k(a.wage_median * r.weak_wage_factor)} or their "
            f"employment is projected to shrink below {r.weak_growth_pct:g}%."]
    notes = [f"Weakly aligned: the occupations a program feeds pay under {_money_k(a.wage_median * r.weak_wage_factor)} "
             f"(median) or shrink below {r.weak_growth_pct:g}%."]
    meta = {"under": r.undersupplied_ratio, "over": r.oversupplied_ratio, "years": res.method["completions_years"]}
    return ChartData("programs", t, title, subtitle(res.method), footer(res.method, notes), res.method, res.notes, meta,
                     method_text(res.method, full))


# ---------------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------------
def _programs_finding(n: int, counts: dict[str, int], only: str = "the program") -> str:
    """'of the 14 largest programs, 3 feed undersupplied occupations and 1 is weakly aligned' (only the non-zero counts)."""
    def verb(c: int, one: str, many: str) -> str:
        return one if c == 1 else many

    if n == 1:
        one = {"undersupplied (expand)": "feeds undersupplied occupations", "oversupplied": "feeds oversupplied occupations",
               "weakly aligned": "is weakly aligned"}
        said = next((v for k, v in one.items() if counts.get(k)), "is balanced against the occupations it feeds")
        return f"{only} {said}"
    head = f"the {n} largest programs"
    parts = []
    if c := counts.get("undersupplied (expand)", 0):
        parts.append(f"{c} {verb(c, 'feeds', 'feed')} undersupplied occupations")
    if c := counts.get("oversupplied", 0):
        parts.append(f"{c} {verb(c, 'feeds', 'feed')} oversupplied ones" if parts else f"{c} {verb(c, 'feeds', 'feed')} oversupplied occupations")
    if c := counts.get("weakly aligned", 0):
        parts.append(f"{c} {verb(c, 'is', 'are')} weakly aligned")
    if not parts:
        return f"{head} are all balanced against the occupations they feed"
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"of {head}, {listed}"


def draw(cd: ChartData) -> Figure:
    with st.style():
        return draw_pathways(cd) if cd.kind == "pathways" else draw_programs(cd)


SMAX = 700.0  # marker area (pt²) of the occupation with the most openings


def _bubble_area(o: float, omax: float) -> float:
    return max(10.0, SMAX * o / omax)


def draw_pathways(cd: ChartData) -> Figure:
    df = cd.frame
    recs = df.to_dicts()
    m = cd.meta
    omax = max((r["openings"] for r in recs), default=1.0)
    keys = _key_items(omax)
    two_rows = CBAR_W_IN + 0.35 + _keys_width_in(keys) > st.WIDTH_IN - 2 * st.MARGIN_IN
    key_h = max(math.sqrt(a) for a, _, _ in keys) / 72 + 0.06
    legend_h, main_h, axis_h = (0.80 + key_h + 0.12 if two_rows else 0.86), 4.3, 0.55
    p = st.page(cd.title, cd.subtitle, cd.footer, legend_h + main_h + axis_h)
    radius = {i: math.sqrt(_bubble_area(r["openings"], omax)) / 2 for i, r in enumerate(recs)}  # points
    r_max = max(radius.values(), default=5.0)
    left, right = 0.62, max(0.25, (r_max + 4) / 72 + 0.05)
    ax = p.axes(left, right, top_in=legend_h, height_in=main_h)
    ax_w_pt = (st.WIDTH_IN - 2 * st.MARGIN_IN - left - right) * 72
    ax_h_pt = main_h * 72
    capped = {i for i, r in enumerate(recs) if r["wage_status"] == "top-coded"}
    xs = [r["wage_value"] for i, r in enumerate(recs) if i not in capped]
    ys = [r["growth_pct"] for r in recs]
    # the data span, then margins in points: bubbles never reach the axes' edges, and a band at the top and the
    # bottom (one line of text) stays free for the quadrant labels
    x_lo_d = min([*xs, m["wage_threshold"]]) if xs else m["wage_threshold"] * 0.8
    x_hi_d = max([*xs, m["wage_threshold"]]) if xs else m["wage_threshold"] * 1.2
    y_lo_d = min([*ys, m["growth_threshold"], 0.0])
    y_hi_d = max([*ys, m["growth_threshold"]])
    band = st.ANNOT_PT * 1.3 + 4
    pad_x = r_max + 4
    xspan = max(x_hi_d - x_lo_d, 1.0)
    upx = xspan / (ax_w_pt - 2 * pad_x)
    x_lo, x_hi = x_lo_d - pad_x * upx, x_hi_d + pad_x * upx
    yspan = max(y_hi_d - y_lo_d, 1.0)
    upy = yspan / (ax_h_pt - 2 * (r_max + 3 + band))
    y_lo, y_hi = y_lo_d - (r_max + 3 + band) * upy, y_hi_d + (r_max + 3 + band) * upy
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)

    def xpos(i: int) -> float:
        return x_hi if i in capped else recs[i]["wage_value"]

    order = sorted(range(len(recs)), key=lambda i: (-recs[i]["openings"], recs[i]["soc_code"]))  # big bubbles below small ones
    for i in order:
        r = recs[i]
        area = _bubble_area(r["openings"], omax)
        none = r["ratio"] is None or r["supply"] <= 0
        face = st.UNDER if none else st.ratio_color(r["ratio"])
        ax.scatter([xpos(i)], [r["growth_pct"]], s=area, color=face, edgecolors="#333333", linewidths=0.5, zorder=3,
                   clip_on=False, gid="bubble-none" if none else "bubble")
        if none:  # hatched: openings and no completers at all
            ax.scatter([xpos(i)], [r["growth_pct"]], s=area, facecolor="none", edgecolors="white", hatch=st.NO_COMPLETERS_HATCH,
                       linewidths=0, zorder=3, clip_on=False)
        if i in capped:
            ax.annotate("▸", (xpos(i), r["growth_pct"]), xytext=(radius[i] + 0.5, 0), textcoords="offset points",
                        va="center", ha="left", fontsize=st.ANNOT_PT, color=st.INK, zorder=4, annotation_clip=False)
    ax.axvline(m["wage_threshold"], color=st.MUTED, linestyle="--", linewidth=0.9, zorder=1)
    ax.axhline(m["growth_threshold"], color=st.MUTED, linestyle="--", linewidth=0.9, zorder=1)
    ax.axhline(0, color=st.GRID, linewidth=0.8, zorder=0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _money_k(v)))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=7, steps=[1, 2, 5, 10]))  # whole-percent ticks, printed exactly
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:+g}%" if v else "0%"))
    ax.set_xlabel("Median annual wage (OEWS)" + ("; ▸ top-coded, on the edge" if capped else ""))
    ax.set_ylabel("Employment change over 10 years")
    ax.grid(True, zorder=0)
    p.fig.canvas.draw()
    markers = lb.markers_px(ax)
    corner_kw = {"fontsize": st.ANNOT_PT, "color": st.MUTED, "style": "italic", "zorder": 2, "bbox": lb.GUIDE_BOX,
                 "gid": "gapkit-guide"}
    t1 = lb.free_spot(p.fig, ax, "high-wage, high-growth", [(0.99, 0.985, "right", "top"), (0.75, 0.985, "right", "top")],
                      markers, **corner_kw)
    t2 = lb.free_spot(p.fig, ax, "lower wage, slower growth", [(0.01, 0.015, "left", "bottom"), (0.2, 0.015, "left", "bottom")],
                      markers, **corner_kw)
    fixed = [lb.text_box(p.fig, t1), lb.text_box(p.fig, t2)]
    # the dashed lines say what they are, in the free bands or along the line, where they cover no bubble
    line_kw = {"fontsize": st.ANNOT_PT, "color": st.MUTED, "zorder": 2, "bbox": lb.GUIDE_BOX, "gid": "gapkit-guide"}
    fx = (m["wage_threshold"] - x_lo) / (x_hi - x_lo)
    fy = (m["growth_threshold"] - y_lo) / (y_hi - y_lo)
    dx = 4 / ax_w_pt
    dy = 3 / ax_h_pt
    t3 = lb.free_spot(p.fig, ax, m["wage_line"], [(fx + dx, 0.985, "left", "top"), (fx - dx, 0.985, "right", "top"),
                                                  (fx + dx, 0.015, "left", "bottom"), (fx - dx, 0.015, "right", "bottom")],
                      markers, fixed, **line_kw)
    fixed.append(lb.text_box(p.fig, t3))
    along = [(x, fy + sgn * dy, ha, "bottom" if sgn > 0 else "top")
             for x in (0.99, 0.01, *(k / 20 for k in range(19, 0, -1))) for ha in ("right", "left") for sgn in (1, -1)]
    t4 = lb.free_spot(p.fig, ax, m["growth_line"], along, markers, fixed, **line_kw)
    fixed.append(lb.text_box(p.fig, t4))
    # labels: the largest bubbles first, then the top tier's largest, then any top-coded one (its label says so)
    chosen: list[int] = order[:6]
    for i in order:
        if len(chosen) >= 8:
            break
        if recs[i]["tier"] == m["top_tier"] and i not in chosen:
            chosen.append(i)
    chosen += [i for i in sorted(capped) if i not in chosen]
    targets = []
    for i in chosen:
        r = recs[i]
        text = r["title"] + (f" (wage top-coded: at least {_money_k(r['wage_value'])})" if i in capped else "")
        targets.append(lb.Target(ax, xpos(i), r["growth_pct"], radius[i], *lb.layouts(text)))
    tl = ax.transData.transform
    guides = [(tuple(tl((m["wage_threshold"], y_lo))), tuple(tl((m["wage_threshold"], y_hi)))),
              (tuple(tl((x_lo, m["growth_threshold"]))), tuple(tl((x_hi, m["growth_threshold"]))))]
    lb.label_points(p.fig, targets, markers, fixed, [lb.text_box(p.fig, ax.patch)], guides)  # type: ignore[arg-type]
    _pathway_keys(p, keys, two_rows)
    return p.fig


CBAR_W_IN = 2.3
KEY_GAP_PT, KEY_TEXT_GAP_PT = 10.0, 3.0


def _key_items(omax: float) -> list[tuple[float, str, bool]]:
    """(marker area, text, hatched) of the size keys: reference sizes, then the no-completers bubble."""
    items = [(_bubble_area(v, omax), f"{v:,.0f}", False) for v in _size_refs(omax)]
    items.append((_bubble_area(omax / 4, omax), "no completers", True))
    return items


def _keys_width_in(items: list[tuple[float, str, bool]]) -> float:
    widths = [math.sqrt(a) + KEY_TEXT_GAP_PT + st.text_width_pt(t, st.TICK_PT) for a, t, _ in items]
    return (sum(widths) + KEY_GAP_PT * (len(items) - 1)) / 72 + 0.02


def _pathway_keys(p: st.Page, items: list[tuple[float, str, bool]], two_rows: bool) -> None:
    """The legend band: the ratio scale; bubble sizes and the no-completers bubble beside it (or under it when the
    row is too narrow for both), drawn in an axes measured in points so that circles and their values never overlap."""
    cax = p.axes(0.0, p.body_width_in - CBAR_W_IN, top_in=0.26 if two_rows else 0.40, height_in=0.13)
    st.ratio_colorbar(cax, "Colour: openings per completer", st.RATIO_TICKS_NARROW)
    gap_pt, text_gap = KEY_GAP_PT, KEY_TEXT_GAP_PT
    widths = [math.sqrt(a) + text_gap + st.text_width_pt(t, st.TICK_PT) for a, t, _ in items]
    h_pt = max(math.sqrt(a) for a, _, _ in items) + 4
    w_in = _keys_width_in(items)
    if two_rows:
        kax = p.axes(0.0, p.body_width_in - w_in, top_in=0.80, height_in=h_pt / 72)
    else:
        kax = p.axes(p.body_width_in - w_in, 0.0, top_in=0.26, height_in=h_pt / 72)
    kax.set_xlim(0, w_in * 72)
    kax.set_ylim(0, h_pt)
    kax.set_axis_off()
    kax.set_title("Size: openings a year", fontsize=st.TICK_PT, loc="left", pad=3)
    x = 0.0
    for (area, text, none), w in zip(items, widths, strict=True):
        d = math.sqrt(area)
        cx, cy = x + d / 2, h_pt / 2
        kax.scatter([cx], [cy], s=area, color=st.UNDER if none else "white", edgecolors="#333333", linewidths=0.5,
                    clip_on=False)
        if none:
            kax.scatter([cx], [cy], s=area, facecolor="none", edgecolors="white", hatch=st.NO_COMPLETERS_HATCH, linewidths=0,
                        clip_on=False)
        kax.text(x + d + text_gap, cy, text, ha="left", va="center", fontsize=st.TICK_PT, color=st.INK)
        x += w + gap_pt


def _size_refs(omax: float) -> list[float]:
    mag = 10 ** math.floor(math.log10(max(omax, 1.0)))
    big = next(x * mag for x in (5, 2, 1) if x * mag <= omax) if omax >= 1 else 1.0
    return [big / 10, big / 2, big] if big >= 10 else [big]


def draw_programs(cd: ChartData) -> Figure:
    rows = cd.frame.to_dicts()
    n = max(len(rows), 1)
    m = cd.meta
    label_w = 2.7
    labels = [st.shorten(f"{r['cipcode']} {(r['cip_title'] or '').rstrip('.')}".strip(), label_w, st.TICK_PT, 2, slash=True)
              for r in rows]
    present = [k for k in ALIGN_COLORS if any(r["alignment"] == k for r in rows)]
    ncols = 2
    two_line = any("\n" in lab for lab in labels)
    row_h = 0.36 if two_line else 0.27
    legend_h, axis_h = 0.14 + 0.22 * math.ceil(max(len(present), 1) / ncols) + 0.16, 0.72
    p = st.page(cd.title, cd.subtitle, cd.footer, legend_h + n * row_h + axis_h)
    label_in = max([st.text_width_pt(line, st.TICK_PT) for lab in labels for line in lab.split("\n")] or [50]) / 72 + 0.1
    avail = st.WIDTH_IN - 2 * st.MARGIN_IN - label_in
    bar_w = avail * 0.46
    gap_in = 0.42  # between the two panels: room for the last tick labels of both
    ax = p.axes(label_in, avail - bar_w, top_in=legend_h, bottom_in=axis_h)
    rx = p.axes(label_in + bar_w + gap_in, 0.05, top_in=legend_h, bottom_in=axis_h)
    y = np.arange(len(rows))
    comp = [r["completions"] for r in rows]
    colors = [ALIGN_COLORS.get(r["alignment"], st.NODATA) for r in rows]
    ax.barh(y, comp, height=0.68, color=colors, zorder=2)
    ax.set_yticks(y, labels)
    ax.tick_params(axis="y", length=0, pad=4)
    ax.set_ylim(n - 0.5, -0.5)
    vmax = max(comp or [1.0])
    bar_pt = bar_w * 72
    label_pt = max([st.text_width_pt(st.fmt_people(v), st.ANNOT_PT) for v in comp] or [20]) + 6
    ax.set_xlim(0, vmax / max(0.4, 1 - label_pt / bar_pt))
    for yi, v in zip(y, comp, strict=True):
        ax.annotate(st.fmt_people(v), (v, yi), xytext=(2, 0), textcoords="offset points", va="center", fontsize=st.ANNOT_PT)
    ax.xaxis.set_major_locator(_nice_ticks(vmax))
    # a narrow panel: thousands as "100k" once the ticks reach five digits
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v / 1000:,.0f}k" if vmax >= 10_000 and v else f"{v:,.0f}"))
    ax.set_xlabel("Completers a year\n(IPEDS)")
    ax.grid(axis="x", zorder=0)
    ax.spines["left"].set_visible(False)
    # the ratio of the linked occupations, log scale, balanced band shaded; beyond the scale: an arrow at the edge
    lo, hi = 1 / PROGRAM_RATIO_LIMIT, PROGRAM_RATIO_LIMIT
    rx.set_xscale("log")
    rx.set_xlim(lo, hi)
    rx.set_ylim(n - 0.5, -0.5)
    rx.axvspan(m["over"], m["under"], color=st.BALANCED, alpha=0.12, linewidth=0, zorder=0, gid="balanced-band")
    rx.axvline(1, color=st.MUTED, linewidth=0.8, zorder=1)
    ticks = [0.05, 0.2, 1, 5, 20]
    rx.xaxis.set_major_locator(FixedLocator(ticks))
    rx.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _ratio_tick(v)))
    rx.xaxis.set_minor_formatter(NullFormatter())
    rx.set_yticks([])
    rx.spines["left"].set_visible(False)
    rx.set_xlabel("Openings per completer\n(occupations it feeds)")
    note = {"bbox": {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"}}
    for yi, r in zip(y, rows, strict=True):
        color = ALIGN_COLORS.get(r["alignment"], st.NODATA)
        ratio = r["ratio"]
        if r["occupations"] == 0 or not r["openings"]:
            rx.text(math.sqrt(lo * hi), yi, r["alignment"], ha="center", va="center", fontsize=st.ANNOT_PT, color=st.MUTED,
                    zorder=3, **note)
        elif ratio is None:
            rx.scatter([hi], [yi], s=40, marker=">", color=color, zorder=3, clip_on=False)
            rx.annotate("no supply", (hi, yi), xytext=(-6, 0), textcoords="offset points", ha="right", va="center",
                        fontsize=st.ANNOT_PT, color=st.INK, zorder=3, **note)
        elif ratio > hi or ratio < lo:  # off the scale: an arrow on the edge and the value
            edge = hi if ratio > hi else lo
            rx.scatter([edge], [yi], s=40, marker=">" if ratio > hi else "<", color=color, zorder=3, clip_on=False,
                       gid="off-scale")
            rx.annotate(f"{st.fmt_ratio(ratio)}" if ratio > hi else f"1/{st.fmt_ratio(1 / ratio)}", (edge, yi),
                        xytext=(-6 if ratio > hi else 6, 0), textcoords="offset points",
                        ha="right" if ratio > hi else "left", va="center", fontsize=st.ANNOT_PT, color=st.INK, zorder=3, **note)
        else:
            rx.scatter([ratio], [yi], s=30, color=color, edgecolors="white", linewidths=0.5, zorder=3, clip_on=False)
    rx.text(math.sqrt(m["over"] * m["under"]), -0.5, "balanced", ha="center", va="bottom", fontsize=st.ANNOT_PT, color=st.MUTED,
            gid="gapkit-guide")
    said = {"undersupplied (expand)": f"undersupplied (expand): over {m['under']:g}",
            "balanced": f"balanced: {m['over']:g} to {m['under']:g}", "oversupplied": f"oversupplied: under {m['over']:g}"}
    p.fig.legend(handles=[Patch(color=ALIGN_COLORS[k], label=said.get(k, k)) for k in present], loc="upper left", ncols=ncols,
                 fontsize=st.TICK_PT, handlelength=1.0, columnspacing=1.0, borderaxespad=0,
                 bbox_to_anchor=(p.x_frac(st.MARGIN_IN), p.y_frac(p.body_top_in - 0.04)))
    return p.fig


def _ratio_tick(v: float) -> str:
    return f"1/{1 / v:g}" if v < 1 else f"{v:g}"


def _nice_ticks(vmax: float) -> FixedLocator:
    """Three or four round ticks from 0 (the completions panel is narrow)."""
    raw = vmax / 3
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(k * mag for k in (1, 2, 2.5, 5, 10) if k * mag >= raw)
    return FixedLocator([step * k for k in range(int(vmax // step) + 1)])


# ---------------------------------------------------------------------------------------------
# library entry points
# ---------------------------------------------------------------------------------------------
__all__ = ["KINDS", "draw", "pathways_data", "programs_data"]

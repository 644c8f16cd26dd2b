"""Two chart kinds for pathway priorities, drawn in the gapkit chart style.

pathways  occupations as bubbles: median wage (x) against 10-year growth (y), bubble area = annual
          openings, colour = openings per completer (the gap ratio) on the diverging log scale of the
          states chart; dashed lines at the high-wage and high-growth thresholds of the rules.
programs  the largest programs (CIP) of a region: completions as bars coloured by alignment, and the
          openings-per-completer ratio of the occupations each feeds on a log scale with the
          balanced band of the rules shaded.

    gapkit.chart("pathways", region="OH").save("oh-pathways.png")
    gapkit.chart("programs", region="OH").save("oh-programs.png")

Like the other kinds they take a prepared :class:`~gapkit.render.charts.data.ChartData` (``pathways_data`` /
``programs_data``) so a report can reuse one computation, and return a :class:`~gapkit.render.charts.Chart`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colorbar import ColorbarBase
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from gapkit.render.charts import PATHWAY_KINDS
from gapkit.render.charts import style as st
from gapkit.render.charts.data import ChartData, footer, region_name, subtitle
from gapkit.render.charts.kinds import place_labels, text_box

if TYPE_CHECKING:
    from gapkit.analysis.pathways import PathwayResult
    from gapkit.analysis.programs import ProgramResult

KINDS = PATHWAY_KINDS
RATIO_LIMIT = 10.0  # the colour scale runs from 1/10 to 10 openings per completer (clipped beyond)
NO_SUPPLY = "#bdbdbd"
ALIGN_COLORS = {
    "undersupplied (expand)": "#D55E00",  # vermillion
    "balanced": "#009E73",  # bluish green
    "oversupplied": "#0072B2",  # blue
    "weakly aligned": "#CC79A7",  # reddish purple
    "no linked openings": "#999999",
    "no linked occupation": "#cccccc",
}


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
    title = (f"{where}: {n_top} of the {frame.height} occupations with the most openings are {top} "
             f"(above the {_money_k(a.wage_threshold(r))} wage line and in demand)")
    extra = [f"Wages: {a.wage_source}; growth: {a.growth_source}.",
             f"Lines: high-wage above {r.wage_factor:g} × the {where} median ({_money_k(a.wage_median)}); high-growth above "
             f"{a.growth_threshold(r):.1f}% ({where} all occupations {a.growth_all_pct:.1f}%) ({r.origin})."]
    if dropped:
        extra.append(f"{dropped} occupation(s) with as many openings but no published wage or growth figure are not shown.")
    if frame.filter(pl.col("wage_status") == "top-coded").height:
        extra.append("▸ top-coded median wage: at least the value shown.")
    meta = {"wage_threshold": a.wage_threshold(r), "growth_threshold": a.growth_threshold(r), "area_median": a.wage_median,
            "area_growth": a.growth_all_pct, "region": a.region, "top_tier": top, "limit": limit}
    cd_title = title
    return ChartData("pathways", frame, cd_title, subtitle(res.method), footer(res.method, extra), res.method, res.notes, meta)


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
    title = f"{where}: {_programs_finding(t.height, counts, only)}"
    extra = [f"Alignment ({r.origin}): openings per completer of the occupations each program feeds (NCES CIP-SOC crosswalk) as "
             f"`gapkit gap --by occupation` computes them; balanced between {r.oversupplied_ratio:g} and {r.undersupplied_ratio:g}; "
             f"weakly aligned when those occupations' median wage is below {_money_k(a.wage_median * r.weak_wage_factor)} or their "
             f"employment is projected to shrink below {r.weak_growth_pct:g}%."]
    meta = {"under": r.undersupplied_ratio, "over": r.oversupplied_ratio, "years": res.method["completions_years"]}
    return ChartData("programs", t, title, subtitle(res.method), footer(res.method, extra), res.method, res.notes, meta)


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


def _ratio_norm() -> LogNorm:
    return LogNorm(vmin=1 / RATIO_LIMIT, vmax=RATIO_LIMIT, clip=True)


def _ratio_tick(v: float) -> str:
    return f"1/{1 / v:g}" if v < 1 else f"{v:g}"


def draw_pathways(cd: ChartData) -> Figure:
    import matplotlib

    df = cd.frame
    recs = df.to_dicts()
    m = cd.meta
    legend_h, main_h, axis_h = 0.78, 4.3, 0.55
    p = st.page(cd.title, cd.subtitle, cd.footer, legend_h + main_h + axis_h)
    left, right = 0.62, 0.25
    ax = p.axes(left, right, top_in=legend_h, height_in=main_h)
    cmap = matplotlib.colormaps[st.DIVERGING]
    norm = _ratio_norm()
    omax = max((r["openings"] for r in recs), default=1.0)
    smax = 700.0  # marker area (pt²) of the largest occupation

    def size(o: float) -> float:
        return max(10.0, smax * o / omax)

    xs = [r["wage_value"] for r in recs]
    ys = [r["growth_pct"] for r in recs]
    x_lo = min([*xs, m["wage_threshold"]]) * 0.9 if xs else 20000.0
    x_hi = max([*xs, m["wage_threshold"]]) * 1.08 if xs else 100000.0
    y_lo = min([*ys, m["growth_threshold"], 0.0]) - 2
    y_hi = max([*ys, m["growth_threshold"]]) + 2
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    order = sorted(range(len(recs)), key=lambda i: -recs[i]["openings"])  # big bubbles below small ones
    for i in order:
        r = recs[i]
        ratio = r["ratio"]
        face = cmap(norm(ratio)) if ratio is not None and r["supply"] > 0 else NO_SUPPLY
        ax.scatter([r["wage_value"]], [r["growth_pct"]], s=size(r["openings"]), color=face, edgecolors="#333333",
                   linewidths=0.5, alpha=0.9, zorder=3)
        if r["wage_status"] == "top-coded":
            ax.annotate("▸", (r["wage_value"], r["growth_pct"]), xytext=(math.sqrt(size(r["openings"])) / 2 + 1, 0),
                        textcoords="offset points", va="center", ha="left", fontsize=st.ANNOT_PT, color=st.INK, zorder=4)
    ax.axvline(m["wage_threshold"], color=st.MUTED, linestyle="--", linewidth=0.9, zorder=1)
    ax.axhline(m["growth_threshold"], color=st.MUTED, linestyle="--", linewidth=0.9, zorder=1)
    ax.axhline(0, color=st.GRID, linewidth=0.8, zorder=0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _money_k(v)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:+.0f}%" if v else "0%"))
    ax.set_xlabel("Median annual wage (OEWS)")
    ax.set_ylabel("Employment change over 10 years")
    ax.grid(True, zorder=0)
    fixed = []
    t1 = ax.text(0.99, 0.98, "high-wage, high-growth", transform=ax.transAxes, ha="right", va="top", fontsize=st.ANNOT_PT,
                 color=st.MUTED, style="italic")
    t2 = ax.text(0.01, 0.02, "lower wage, slower growth", transform=ax.transAxes, ha="left", va="bottom", fontsize=st.ANNOT_PT,
                 color=st.MUTED, style="italic")
    fixed += [text_box(p.fig, t1), text_box(p.fig, t2)]
    pts = np.array([tuple(ax.transData.transform((r["wage_value"], r["growth_pct"]))) for r in recs]) if recs else np.zeros((0, 2))
    labelled = sorted(recs, key=lambda r: (r["tier"] != m["top_tier"], -r["openings"]))[:8]
    place_labels(p.fig, [((ax, r["wage_value"], r["growth_pct"]), st.shorten(r["title"], 1.6, st.ANNOT_PT, 2)) for r in labelled],
                 pts, fixed, ax.get_window_extent())
    # legend row: colour scale, no-supply swatch, bubble sizes
    cax = p.axes(0.0, st.WIDTH_IN - 2 * st.MARGIN_IN - 2.3, top_in=0.36, height_in=0.13)
    cb = ColorbarBase(cax, cmap=cmap, norm=norm, orientation="horizontal")
    ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10]
    cb.set_ticks(ticks)
    cb.set_ticklabels([_ratio_tick(v) for v in ticks])
    cb.ax.xaxis.set_minor_locator(NullLocator())
    cb.outline.set_linewidth(0.5)
    cax.set_title("Openings per completer", fontsize=st.TICK_PT, loc="left", pad=3)
    ref = [v for v in _size_refs(omax)]
    handles = [Line2D([], [], linestyle="none", marker="o", markersize=math.sqrt(size(v)), markerfacecolor="white",
                      markeredgecolor="#333333", markeredgewidth=0.5, label=f"{v:,.0f}") for v in ref]
    handles.append(Patch(facecolor=NO_SUPPLY, edgecolor="#333333", linewidth=0.5, label="no supply"))
    p.fig.legend(handles=handles, loc="upper right", ncols=len(handles), fontsize=st.TICK_PT, title="Openings a year",
                 title_fontsize=st.TICK_PT, handlelength=2.0, handleheight=1.6, handletextpad=0.2, columnspacing=0.8,
                 borderaxespad=0,
                 bbox_to_anchor=(p.x_frac(st.WIDTH_IN - st.MARGIN_IN), p.y_frac(p.body_top_in - 0.06)))
    return p.fig


def _size_refs(omax: float) -> list[float]:
    mag = 10 ** math.floor(math.log10(max(omax, 1.0)))
    big = next(x * mag for x in (5, 2, 1) if x * mag <= omax) if omax >= 1 else 1.0
    return [big / 10, big / 2, big] if big >= 10 else [big]


def _fit(text: str, width_in: float, size: float) -> str:
    """One line cut to ``width_in`` at a character (long single words such as 'Cosmetology/Cosmetologist')."""
    limit = width_in * 72
    if st.text_width_pt(text, size) <= limit:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with its ellipsis
        mid = (lo + hi + 1) // 2
        if st.text_width_pt(text[:mid].rstrip(" ,;/") + "…", size) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip(" ,;/") + "…"


def draw_programs(cd: ChartData) -> Figure:
    rows = cd.frame.to_dicts()
    n = max(len(rows), 1)
    m = cd.meta
    label_w = 2.3
    labels = [_fit(f"{r['cipcode']} {r['cip_title'] or ''}".strip(), label_w, st.TICK_PT) for r in rows]
    present = [k for k in ALIGN_COLORS if any(r["alignment"] == k for r in rows)]
    ncols = 3
    row_h, legend_h, axis_h = 0.27, 0.14 + 0.22 * math.ceil(max(len(present), 1) / ncols), 0.72
    p = st.page(cd.title, cd.subtitle, cd.footer, legend_h + n * row_h + axis_h)
    label_in = max([st.text_width_pt(lab, st.TICK_PT) for lab in labels] or [50]) / 72 + 0.1
    avail = st.WIDTH_IN - 2 * st.MARGIN_IN - label_in
    bar_w = avail * 0.48
    ax = p.axes(label_in, avail - bar_w, top_in=legend_h, bottom_in=axis_h)
    rx = p.axes(label_in + bar_w + 0.25, 0.05, top_in=legend_h, bottom_in=axis_h)
    y = np.arange(len(rows))
    comp = [r["completions"] for r in rows]
    colors = [ALIGN_COLORS.get(r["alignment"], "#cccccc") for r in rows]
    ax.barh(y, comp, height=0.68, color=colors, zorder=2)
    ax.set_yticks(y, labels)
    ax.tick_params(axis="y", length=0, pad=4)
    ax.set_ylim(n - 0.5, -0.5)
    vmax = max(comp or [1.0])
    ax.set_xlim(0, vmax * 1.22)
    for yi, v in zip(y, comp, strict=True):
        ax.annotate(st.fmt_people(v), (v, yi), xytext=(2, 0), textcoords="offset points", va="center", fontsize=st.ANNOT_PT)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    ax.set_xlabel("Completers a year\n(IPEDS)")
    ax.grid(axis="x", zorder=0)
    ax.spines["left"].set_visible(False)
    # the ratio of the linked occupations, log scale, balanced band shaded
    lo, hi = 1 / 20, 20.0
    rx.set_xscale("log")
    rx.set_xlim(lo, hi)
    rx.set_ylim(n - 0.5, -0.5)
    rx.axvspan(m["over"], m["under"], color="#eeeeee", zorder=0)
    rx.axvline(1, color=st.MUTED, linewidth=0.8, zorder=1)
    ticks = [0.05, 0.2, 1, 5, 20]
    rx.xaxis.set_major_locator(FixedLocator(ticks))
    rx.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _ratio_tick(v)))
    rx.xaxis.set_minor_formatter(NullFormatter())
    rx.set_yticks([])
    rx.spines["left"].set_visible(False)
    rx.set_xlabel("Openings per completer\n(occupations it feeds)")
    for yi, r in zip(y, rows, strict=True):
        color = ALIGN_COLORS.get(r["alignment"], "#cccccc")
        ratio = r["ratio"]
        if r["occupations"] == 0 or not r["openings"]:
            rx.text(math.sqrt(lo * hi), yi, r["alignment"], ha="center", va="center", fontsize=st.ANNOT_PT, color=st.MUTED)
        elif ratio is None:
            rx.annotate("no supply ▸", (hi, yi), xytext=(-2, 0), textcoords="offset points", ha="right", va="center",
                        fontsize=st.ANNOT_PT, color=color)
        else:
            v = min(max(ratio, lo), hi)
            rx.scatter([v], [yi], s=30, color=color, edgecolors="white", linewidths=0.5, zorder=3, clip_on=False)
    rx.text(math.sqrt(m["over"] * m["under"]), -0.5, "balanced", ha="center", va="bottom", fontsize=st.ANNOT_PT, color=st.MUTED)
    p.fig.legend(handles=[Patch(color=ALIGN_COLORS[k], label=k) for k in present], loc="upper left", ncols=ncols,
                 fontsize=st.TICK_PT, handlelength=1.0, columnspacing=1.0, borderaxespad=0,
                 bbox_to_anchor=(p.x_frac(st.MARGIN_IN), p.y_frac(p.body_top_in - 0.04)))
    return p.fig


# ---------------------------------------------------------------------------------------------
# library entry points
# ---------------------------------------------------------------------------------------------
__all__ = ["KINDS", "draw", "pathways_data", "programs_data"]

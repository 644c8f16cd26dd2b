"""``gapkit report``: a self-contained brief (Markdown + single-file HTML) for one sector and region.

The brief holds the headline numbers, the tables by subsector, group, occupation and state, the
charts, the method and the provenance (sources, vintages, sha256, retrieval dates). Everything is
computed once from one resolved question and one :class:`~gapkit.analysis.tables.Tables` and rendered from rounded (published) numbers,
so re-running on the same data gives the same bytes except the one ``Generated at`` line.

Files written to ``--out DIR``: ``brief.md``, ``brief.html`` (charts inlined as SVG) and
``charts/<kind>[-<by>].svg`` (referenced by the Markdown; the HTML inlines the same SVG, text kept as text).
PNG copies of the same charts sit beside them (``charts/<kind>[-<by>].png``, 300 dpi); ``brief.pdf`` is brief.html
printed by headless Chromium (:mod:`gapkit.render.pdf`).
"""

from __future__ import annotations

import contextlib
import html
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapkit import __version__
from gapkit.errors import GapkitError, UsageError

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.query import Resolved
    from gapkit.analysis.tables import Tables
    from gapkit.render.charts import Chart

GENERATED_PREFIX = "Generated at "
OCCUPATION_ROWS = 25
CHART_NAMES = ("bars-subsector", "bars-group", "states", "scatter", "sensitivity", "trend")
CHART_FILES = tuple(f"{n}.{x}" for n in CHART_NAMES for x in ("svg", "png"))


# ---------------------------------------------------------------------------------------------
# document model: a list of blocks rendered to Markdown and to HTML
# ---------------------------------------------------------------------------------------------
@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    caption: str = ""
    css: str = ""  # a class for the HTML table (e.g. "provenance": digests wrap)


@dataclass
class ChartImage:
    file: str  # charts/<name>.svg
    title: str
    svg: bytes


@dataclass
class Doc:
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", (level, text)))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def ul(self, items: list[str]) -> None:
        self.blocks.append(("ul", items))

    def table(self, t: Table, css: str = "") -> None:
        if css:
            t.css = css
        self.blocks.append(("table", t))

    def summary(self, text: str) -> None:
        self.blocks.append(("summary", text))

    def box(self, title: str, items: list[str]) -> None:
        self.blocks.append(("box", (title, items)))

    def figure(self, f: ChartImage) -> None:
        self.blocks.append(("figure", f))

    def generated(self, text: str) -> None:
        self.blocks.append(("generated", text))


def _md_escape(text: str) -> str:
    """A table cell: neutralized like all Markdown text (render.tables.md_text), pipes escaped."""
    from gapkit.render.tables import md_text

    return md_text(text).replace("|", "\\|")


def to_markdown(doc: Doc) -> str:
    """The document as Markdown. Every text goes through render.tables.md_text: titles and descriptions from a
    user's sector file (or an agency's titles) cannot smuggle raw HTML or links into brief.md."""
    from gapkit.render.tables import md_text

    out: list[str] = []
    for kind, v in doc.blocks:
        if kind == "h":
            out += ["#" * v[0] + " " + md_text(v[1]), ""]
        elif kind in {"p", "generated", "summary"}:
            out += [f"*{md_text(v)}*" if kind == "generated" else md_text(v), ""]
        elif kind == "box":
            out += [f"> **{md_text(v[0])}**", ">"] + [f"> - {md_text(item)}" for item in v[1]] + [""]
        elif kind == "ul":
            out += [f"- {md_text(item)}" for item in v] + [""]
        elif kind == "table":
            if v.caption:
                out += [f"**{md_text(v.caption)}**", ""]
            out.append("| " + " | ".join(_md_escape(c) for c in v.columns) + " |")
            out.append("|" + "|".join("---:" if n else "---" for n in v.numeric) + "|")
            out += ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in v.rows]
            out.append("")
        elif kind == "figure":
            out += [f"![{md_text(v.title)}]({v.file})", ""]
    return "\n".join(out).rstrip("\n") + "\n"


CSS = """
*,*::before,*::after{box-sizing:border-box}
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#1a1a1a;max-width:7.5in;margin:2em auto;padding:0 1em;
line-height:1.45;font-size:11pt;overflow-wrap:break-word}
h1{font-size:20pt;margin-bottom:.2em;line-height:1.2}
h2{font-size:15pt;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
h3{font-size:12pt;margin-top:1.2em}
h1,h2,h3,caption{break-after:avoid;page-break-after:avoid}
p.summary{font-size:12pt;background:#f2f6fa;border-left:4px solid #0072b2;padding:.6em .9em;margin:.6em 0}
aside.caveats{border:1px solid #d8c27a;background:#fdf8e6;padding:.2em 1em .4em;margin:1.2em 0}
aside.caveats h2{font-size:12pt;margin:.4em 0 .2em;border:0;padding:0}
aside.caveats ul{margin:.2em 0;padding-left:1.2em}aside.caveats li{font-size:9.5pt;margin:.15em 0}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:9pt;width:100%}
th,td{border-bottom:1px solid #e4e4e4;padding:3px 5px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f4f4f4}td.n{text-align:right;white-space:nowrap}th.n{text-align:right}
td:first-child{min-width:9em}
caption{text-align:left;font-weight:bold;padding:.3em 0}
div.scroll{overflow-x:auto;max-width:100%}
table.provenance td:nth-child(6){font-family:"DejaVu Sans Mono",monospace;font-size:7.5pt;word-break:break-all;min-width:12em}
table.provenance td:nth-child(3){min-width:12em}
figure{margin:1.2em 0;break-inside:avoid;page-break-inside:avoid}
svg.chart{width:100%;height:auto;display:block;overflow:hidden}
p.generated{color:#555;font-size:9.5pt}code{font-size:9.5pt;overflow-wrap:anywhere}
li,p{overflow-wrap:break-word}
@media (max-width:600px){body{font-size:10.5pt;margin:1em auto;padding:0 .6em}h1{font-size:16pt}h2{font-size:13pt}
p.summary{font-size:11pt}}
@page{size:letter;margin:.55in .5in}
@media print{
html,body{overflow:visible}
body{max-width:none;margin:0;padding:0;font-size:9.5pt}
p.summary{font-size:10.5pt}
div.scroll{overflow:visible}
table{font-size:7.5pt;width:100%}
thead{display:table-header-group}
th,td{padding:2px 3px;overflow-wrap:break-word}
td:first-child{min-width:0}
table.provenance td:nth-child(3),table.provenance td:nth-child(4){min-width:0;overflow-wrap:anywhere}
table.provenance td:nth-child(6){font-size:6.5pt;min-width:0;width:24%}
tr,figure,aside.caveats,p.summary{break-inside:avoid;page-break-inside:avoid}
svg.chart{width:100%;max-height:5.2in}
}
""".strip()


def to_html(doc: Doc, title: str) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<meta name=\"generator\" content=\"gapkit {e(__version__)}\">", f"<title>{e(title)}</title>",
           f"<style>{CSS}</style>", "</head>", "<body>"]
    for kind, v in doc.blocks:
        if kind == "h":
            out.append(f"<h{v[0]}>{e(v[1])}</h{v[0]}>")
        elif kind == "p":
            out.append(f"<p>{_inline(v)}</p>")
        elif kind == "summary":
            out.append(f'<p class="summary">{_inline(v)}</p>')
        elif kind == "box":
            out.append(f'<aside class="caveats" aria-label="{e(v[0])}"><h2>{e(v[0])}</h2><ul>'
                       + "".join(f"<li>{_inline(i)}</li>" for i in v[1]) + "</ul></aside>")
        elif kind == "generated":
            out.append(f'<p class="generated">{e(v)}</p>')
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in v) + "</ul>")
        elif kind == "table":
            cells = [f'<div class="scroll"><table{f" class={chr(34)}{e(v.css)}{chr(34)}" if v.css else ""}>']
            if v.caption:
                cells.append(f"<caption>{e(v.caption)}</caption>")
            cells.append("<thead><tr>" + "".join(f'<th{" class=n" if n else ""}>{e(c)}</th>'
                                                 for c, n in zip(v.columns, v.numeric, strict=True)) + "</tr></thead>")
            cells.append("<tbody>")
            for r in v.rows:
                cells.append("<tr>" + "".join(f'<td{" class=n" if n else ""}>{e(c)}</td>'
                                              for c, n in zip(r, v.numeric, strict=True)) + "</tr>")
            cells.append("</tbody></table></div>")
            out.append("".join(cells))
        elif kind == "figure":
            out.append(f'<figure role="img" aria-label="{e(v.title)}">{_inline_svg(v.svg)}</figure>')
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _inline_svg(svg: bytes) -> str:
    """The chart's SVG without its XML prolog, sized to the page width (text stays selectable)."""
    text = svg.decode("utf-8")
    start = text.index("<svg")
    text = text[start:]
    return text.replace("<svg ", '<svg class="chart" preserveAspectRatio="xMinYMin meet" ', 1)


def _inline(text: str) -> str:
    """Escape, then render `code` and **bold** spans (the only Markdown the brief's prose uses)."""
    import re

    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", t)


# ---------------------------------------------------------------------------------------------
# number formatting (the brief's tables)
# ---------------------------------------------------------------------------------------------
def _people(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:,.0f}" if abs(v) >= 10 or v == 0 else f"{v:,.1f}"


def _ratio(v: float | None, note: str | None = None) -> str:
    if v is None:
        return note or "no supply"
    return f"{v:,.2f}" if v < 100 else f"{v:,.0f}"


def _notes(flags: str) -> str:
    """A row's flags as the charts' marks (the legend is printed above the tables); "no supply" and "none
    expected" already show in the ratio column and "estimated state share" is said once for all rows."""
    from gapkit.render.charts.data import COVERAGE_MARK, SMALL_MARK

    return ("" + (COVERAGE_MARK if "IPEDS coverage caveat" in flags else "")
            + (SMALL_MARK if "small numbers" in flags else ""))


def _gap_table(df: pl.DataFrame, label_cols: list[tuple[str, str]], demand: str, caption: str = "") -> Table:
    """A gap table: total and entrant openings, completers, the ratio of the question's demand measure, gap, notes."""
    per = {"openings": "Openings per completer", "entrants": "Entrant openings per completer", "growth": "New jobs per completer"}
    cols = [h for _, h in label_cols] + ["Openings/yr", "Entrant openings/yr", "Completers/yr", per[demand], "Gap/yr", "Notes"]
    numeric = [False] * len(label_cols) + [True, True, True, True, True, False]
    rows = []
    for r in df.to_dicts():
        flags = r.get("flags") or ""
        rows.append([str(r[c] or "") for c, _ in label_cols] + [
            _people(r["openings"]), _people(r["entrants"]), _people(r["supply"]), _ratio(r["ratio"], r.get("ratio_note")),
            _people(r["gap"]), _notes(flags),
        ])
    return Table(cols, rows, numeric, caption)


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
@dataclass
class Brief:
    markdown: str
    html: str
    charts: dict[str, bytes]
    title: str
    generated: str = ""  # the "Generated at ..." line as written in both documents
    timings: dict[str, float] = field(default_factory=dict)
    pdf: bytes | None = None  # brief.pdf once printed (kept with the brief in the result cache)
    pdf_error: str | None = field(default=None, repr=False)  # why printing failed, raised by write (never cached)

    def write(self, out: str | os.PathLike[str], pdf: bool | None = None) -> list[Path]:
        """Write brief.md, brief.html, charts/ and brief.pdf (when headless Chromium is found; ``pdf=False``: never,
        ``pdf=True``: required) into the folder ``out``."""
        return write(self, out, pdf)

    def to_json(self) -> dict[str, Any]:
        import base64

        return {"markdown": self.markdown, "html": self.html, "title": self.title, "generated": self.generated,
                "charts": {k: base64.b64encode(v).decode() for k, v in self.charts.items()},
                "pdf": base64.b64encode(self.pdf).decode() if self.pdf is not None else None}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Brief:
        import base64

        pdf = base64.b64decode(d["pdf"], validate=True) if d.get("pdf") else None
        if pdf is not None and not pdf.startswith(b"%PDF-"):
            raise ValueError("not a PDF")
        return cls(d["markdown"], d["html"], {k: base64.b64decode(v, validate=True) for k, v in d["charts"].items()}, d["title"],
                   d["generated"], pdf=pdf)


def _generated_line(generated_at: str | None) -> str:
    stamp = generated_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{GENERATED_PREFIX}{stamp} by gapkit {__version__}."


def build(r: Resolved, t: Tables, *, generated_at: str | None = None, pdf: bool | None = None) -> Brief:
    """Compute everything the brief shows and render it (nothing is written). ``pdf`` (as :meth:`Brief.write`): print
    brief.pdf too — None: when headless Chromium is found, False: never (``write`` prints one later if asked)."""
    import polars as pl

    from gapkit.analysis.method import DEMAND_WORDS, compute
    from gapkit.analysis.results import SMALL_OPENINGS, SMALL_SUPPLY, method_line, published
    from gapkit.analysis.sweeps import completions_trend, headline, sensitivity
    from gapkit.render.charts import draw_data
    from gapkit.render.charts.data import (
        COVERAGE_MARK,
        SMALL_MARK,
        bars_data,
        region_name,
        scatter_data,
        sensitivity_data,
        states_data,
        trend_data,
        trend_words,
        years_text,
    )

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    r = r.at(by="group")
    sector = r.sector
    region = r.region
    national = region.national
    where = region_name(region.code, region.name)
    # the state the map outlines and the peer table compares: the region's own, or a sub-state area's (first) state
    home_state = region.code if region.single_state else (region.state if region.substate else None)

    head = compute(r.at(by="sector"), t)  # warms the shared caches
    # The sensitivity grid and the trend are independent runs of the engine: overlap them with the
    # tables (polars releases the GIL while it works, so a second thread uses the second core).
    with ThreadPoolExecutor(max_workers=2) as pool:
        f_sens = pool.submit(sensitivity, r, t)
        f_trend = pool.submit(completions_trend, r, t)
        f_head = pool.submit(headline, r, t)
        by_group = compute(r, t)
        has_sub = bool(sector.subsectors) and not sector.whole_economy and r.scope == "sector"
        by_sub = compute(r.at(by="subsector"), t) if has_sub else None
        by_occ = compute(r.at(by="occupation"), t)
        by_state = _optional(lambda: compute(r.at(by="state", region="US"), t))
        nation = head if national else compute(r.at(by="sector", region="US"), t)
        state_head = compute(r.at(by="sector", region=home_state), t) if region.substate and home_state else None
        cycles = t.vintages("ep_occupations")
        by_cycle = [(c, compute(r.at(by="sector", vintage=c), t)) for c in cycles] if len(cycles) > 1 else []
        pathways, pathways_error = _pathways(r, t)  # while the pool still works on the grid and the trend
        programs, programs_error = _programs(r, t)
        sens = f_sens.result()
        trend = f_trend.result()
        head_range = f_head.result()
    timings["compute"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    charts: dict[str, Chart] = {}
    if by_sub is not None:
        charts["bars-subsector"] = draw_data(bars_data(r.at(by="subsector"), t, by_sub, head_range))
    charts["bars-group"] = draw_data(bars_data(r, t, by_group, head_range))
    if by_state is not None:
        charts["states"] = draw_data(states_data(r, t, by_state, highlight=home_state))
    charts["scatter"] = draw_data(scatter_data(r, t, by_occ))
    charts["sensitivity"] = draw_data(sensitivity_data(r, t, sens))
    charts["trend"] = draw_data(trend_data(r, t, trend))
    svgs = {f"{name}.svg": c.to_bytes("svg") for name, c in charts.items()}  # the PNGs: at the end, beside the PDF
    timings["charts"] = time.perf_counter() - t1

    def figure(name: str) -> None:
        if name in charts:
            doc.figure(ChartImage(f"charts/{name}.svg", charts[name].title, svgs[f"{name}.svg"]))

    m = head.method
    h = published(head.table).row(0, named=True)
    demand = r.demand
    dword = DEMAND_WORDS[demand]
    title = f"{sector.title} skills gap: {where}"
    doc = Doc()
    doc.h(1, title)
    generated = _generated_line(generated_at)
    doc.generated(generated)
    years = m["completions_years"]
    ep_v = m["vintages"]["ep_occupations"]["vintage"]
    pc = m["vintages"].get("state_projections", {}).get("vintage")
    nem = m["vintages"].get("nem_matrix", {}).get("vintage")
    share_text = f" times the sector's share of each occupation's openings in the BLS National Employment Matrix {nem}" if nem else ""
    source = (f"BLS national projections, {ep_v} cycle" if national or not pc else
              f"{where}'s Projections Central {pc} projections{share_text}")
    area_methods = _area_methods(head.table)
    if region.substate:
        source = (f"estimated for {where} from its state's Projections Central {pc} projections and area data — "
                  f"{'; '.join(area_methods)} (docs/METHOD.md section 6)")
    subject = "all occupations" if sector.whole_economy else f"{sector.title.lower()} occupations"

    occ = published(by_occ.table)
    grp = published(by_group.table)
    gtitles = {g.key: g.title for g in sector.groups}
    occ_sorted = occ.sort(["gap", "soc_code"], descending=[True, False])
    demand_total = float(occ[demand].sum()) if occ.height else 0.0
    cov = occ.filter(pl.col("flags").str.contains("IPEDS coverage caveat"))
    cov_share = float(cov[demand].sum()) / demand_total if demand_total else 0.0
    coverage = (f"{cov_share:.0%} of {dword} are in occupations whose training largely happens outside IPEDS (CDL schools, "
                "apprenticeships, employer training) or needs no postsecondary award, so IPEDS understates their supply "
                "and their ratios are upper bounds")
    estimate = _estimate_sentence(r, where, area_methods)
    state_rows = published(by_state.table) if by_state is not None else None

    # ---- executive summary: the range, what drives it, how it compares, the main caveat ----------
    doc.h(2, "Executive summary")
    summary = [f"{where} has **{head_range.text()}**: {h[demand]:,.0f} {dword} a year in {subject} against "
               f"{h['supply']:,.0f} completers of related programs counted as supply, a gap of about {h['gap']:,.0f} a year."]
    pos = grp.filter(pl.col("gap") > 0).sort("gap", descending=True)
    top_occ = occ_sorted.filter(pl.col("gap") > 0).head(3)
    if pos.height and h["gap"] > 0:
        g0 = pos.row(0, named=True)
        part = f" ({g0['gap'] / h['gap']:.0%} of it)" if g0["gap"] <= h["gap"] else ""
        lead = (f"The gap is largest in the {lower_first(gtitles.get(g0['group'], g0['group_title']))} group, {g0['gap']:,.0f} "
                f"a year{part}")
        if top_occ.height:
            names = [f"{lower_first(x['title'])} ({x['gap']:,.0f})" for x in top_occ.to_dicts()]
            lead += f"; the largest occupational gaps are {_and(names)}"
        summary.append(lead + ".")
    peer_sentence = _peer_sentence(r, where, head, nation, state_head, state_rows, home_state)
    if peer_sentence:
        summary.append(peer_sentence)
    summary.append(f"The main caveat: {coverage}{'; ' + estimate if estimate else ''}.")
    doc.summary(" ".join(summary))

    # ---- caveats box ------------------------------------------------------------------------------
    caveats = [coverage[0].upper() + coverage[1:] + "."]
    if estimate:
        caveats.append(estimate[0].upper() + estimate[1:] + ".")
    caveats += _flagged_notes([by_occ, head, by_group], region)
    if sector.sources:
        caveats.append(f"Sector definition: {sector.sources}")
    doc.box("Caveats", caveats)

    # ---- key findings -----------------------------------------------------------------------------
    doc.h(2, "Key findings")
    doc.p(f"Annual job openings in {subject} ({source}) compared with the people completing related programs each year "
          f"(IPEDS {years_text(years)}, first majors). All numbers are people per year.")
    items = [
        f"**{head_range.text()}**: quote the range, not one number. Total openings, which include people changing "
        f"occupations, are {h['openings']:,.0f} a year; entrant openings (growth plus people leaving the labor force, the "
        f"openings new completers fill) are {h['entrants']:,.0f}.",
    ]
    if by_sub is not None and by_sub.table.height:
        sub = published(by_sub.table).filter(pl.col("ratio").is_not_null()).sort("ratio", descending=True)
        if sub.height:
            r0 = sub.row(0, named=True)
            items.append(f"Tightest subsector: **{r0['subsector_title']}**, {r0['ratio']:.1f} {dword} per completer "
                         f"({r0[demand]:,.0f} {dword}, {r0['supply']:,.0f} completers).")
    if occ_sorted.height:
        top = occ_sorted.row(0, named=True)
        items.append(f"Largest occupational gap: **{top['title']}** ({top['soc_code']}), {top[demand]:,.0f} {dword} vs "
                     f"{top['supply']:,.0f} completers a year.")
    if h.get("misalignment") is not None:
        items.append(f"Misalignment index {h['misalignment']:.2f}: {h['misalignment']:.0%} of completers would have to be in "
                     "other fields for completions to match openings across the sector's occupations.")
    if state_rows is not None:
        stt = state_rows.filter(pl.col("ratio").is_not_null()).sort("ratio")
        if stt.height:
            lo, hi = stt.row(0, named=True), stt.row(-1, named=True)
            items.append(f"States range from {lo['ratio']:.1f} ({region_name(lo['region'])}) to {hi['ratio']:.1f} "
                         f"({region_name(hi['region'])}) {dword} per completer.")
    tyears = sorted(set(trend["year"].to_list()))
    if len(tyears) > 1:
        counted = trend.filter(pl.col("kind") == "counted").group_by("year").agg(pl.col("completions").sum()).sort("year")
        items.append("Completers counted as the sector's supply" + trend_words(tyears, counted["completions"].to_list()) + ".")
    if pathways is not None:
        top_tier = pathways.rules.tiers[0].name if pathways.rules.tiers else None
        n_top = pathways.occupations.filter(pl.col("tier") == top_tier).height if top_tier else 0
        if n_top:
            items.append(f"{n_top} occupations are in the top pathway tier ({top_tier}); the first by openings is "
                         f"**{pathways.table.row(0, named=True)['title']}**.")
    if programs is not None:
        from gapkit.analysis.programs import OVER, UNDER, WEAK

        al = programs.programs["alignment"]
        items.append(f"Of {programs.programs.height} programs with completers, {int((al == UNDER).sum())} are undersupplied "
                     f"(expand), {int((al == OVER).sum())} oversupplied and {int((al == WEAK).sum())} weakly aligned.")
    doc.ul(items)

    # ---- peer comparison --------------------------------------------------------------------------
    doc.h(2, "Peer comparison")
    if national:
        doc.p("The nation beside every state (state openings are estimates: each state's published openings × the "
              "national sector share). The map uses one fixed colour scale for every sector.")
        figure("states")
        if state_rows is not None:
            doc.table(_gap_table(state_rows.sort("ratio", descending=True, nulls_last=True), [("region", "State")], demand,
                                 caption="By state, tightest first"))
    else:
        peers = _peer_rows(r, where, head, nation, state_head, state_rows, home_state)
        what = ("its bordering states" if region.single_state else f"its state, {region_name(home_state or '')},")
        doc.p(f"{where} beside {what} and the nation, measured the same way. State rows are estimates (each state's "
              "published openings × the national sector share); the map outlines "
              f"{region_name(home_state) if home_state else where} on the fixed colour scale used for every sector.")
        doc.table(_gap_table(peers, [("area", "Area")], demand))
        figure("states")

    # ---- trends -----------------------------------------------------------------------------------
    if by_cycle or len(tyears) > 1:
        doc.h(2, "Trends")
    if by_cycle:
        doc.h(3, "Openings by BLS projections cycle")
        crow = []
        for c, res in by_cycle:
            x = published(res.table).row(0, named=True)
            crow.append([c, _people(x["openings"]), _people(x["entrants"]), _people(x["supply"]),
                         _ratio(x["ratio"], x.get("ratio_note"))])
        doc.table(Table(["Projections cycle", "Openings/yr", "Entrant openings/yr", "Completers/yr",
                         f"{dword.capitalize()} per completer"], crow, [False, True, True, True, True]))
        if not national:
            doc.p(f"Rows differ only in the BLS projections cycle; {where}'s openings come from Projections Central {pc} in "
                  "each, so they change little between cycles.")
    if len(tyears) > 1:
        doc.h(3, "Completions in the sector's programs, by IPEDS year")
        figure("trend")
        tw = trend.pivot(on="series", index="year", values="completions", sort_columns=False).sort("year")
        tcols = [c for c in tw.columns if c != "year"]
        doc.table(Table(["Year", *tcols], [[str(x["year"]), *[_people(x[c]) for c in tcols]] for x in tw.to_dicts()],
                        [False] + [True] * len(tcols)))
        doc.p("Counted columns are the completers the gap counts as the sector's supply for that single year (allocated to "
              "occupations, then the sector's share); the last column is every first-major completion in the programs the "
              "NCES crosswalk links to the sector's occupations, which also serve other sectors.")

    # ---- where the gap is -------------------------------------------------------------------------
    doc.h(2, "Where the gap is")
    legend = (f"Notes: {COVERAGE_MARK} IPEDS coverage caveat (training mostly outside Title IV institutions, or no "
              f"postsecondary award needed: supply is understated); {SMALL_MARK} small numbers (under "
              f"{SMALL_OPENINGS:.0f} openings or {SMALL_SUPPLY:.0f} completers a year). \"No supply\": no completers "
              "were linked; \"none expected\": the typical entry education needs no postsecondary award.")
    if region.substate:
        whose = "its state's institutions (--supply-area state)" if r.supply_area == "state" else "institutions in its counties"
        legend += (f" {where} rows are estimates ({'; '.join(area_methods)}); completers are those of {whose}.")
    elif not national:
        legend += (f" {where} rows are estimates: the state's published openings times the national sector share of "
                   "each occupation.")
    doc.p(legend)
    if by_sub is not None:
        doc.h(3, "By subsector")
        figure("bars-subsector")
        doc.table(_gap_table(published(by_sub.table), [("subsector_title", "Subsector")], demand))
    doc.h(3, "By occupational group")
    figure("bars-group")
    doc.table(_gap_table(grp, [("group_title", "Group")], demand))
    doc.h(3, f"Occupations: the {min(OCCUPATION_ROWS, occ.height)} largest gaps of {occ.height}")
    figure("scatter")
    occ_rows = occ_sorted.head(OCCUPATION_ROWS).with_columns(
        pl.col("group").replace_strict(gtitles, default=pl.col("group")).alias("group_title"))
    occ_rows = occ_rows.with_columns(pl.format("{} ({})", "title", "soc_code").alias("occupation"))
    doc.table(_gap_table(occ_rows, [("occupation", "Occupation (SOC)"), ("group_title", "Group"),
                                    ("education", "Typical entry education")], demand))
    doc.p(f"The full list: `gapkit gap --sector {r.sector_name if not r.query.sector_file else r.query.sector or 'transportation'} "
          f"--region {region.code} --by occupation --format csv`.")

    # ---- pathways and programs --------------------------------------------------------------------
    doc.h(2, "Pathways: occupations to build career pathways into")
    if pathways is None:
        doc.p(f"Not available for {where}: {pathways_error}")
    else:
        _pathways_section(doc, pathways, demand)
    doc.h(2, "Programs: to expand and to review")
    if programs is None:
        doc.p(f"Not available for {where}: {programs_error}")
    else:
        _programs_section(doc, programs, sector.title)

    # ---- method and provenance --------------------------------------------------------------------
    doc.h(2, "Method")
    items = _method_items(m, head)
    if region.substate:
        where_supply = ("every institution in its state(s) (`--supply-area state`)" if r.supply_area == "state"
                        else "the IPEDS institutions located in its counties (`--supply-area region`)")
        items.insert(1, f"**Region** {where} (`{region.code}`, {len(region.counties)} counties): demand by "
                        f"{'; '.join(area_methods)} (docs/METHOD.md section 6: the state's own sub-state projections, else "
                        "QCEW employment × the national staffing pattern × the state's openings per worker, else the area's "
                        f"OEWS or QCEW share of the state's openings); completers of {where_supply}.")
    if pathways is not None:
        items.append(f"**Pathways**: {pathways.method_line()}")
    if programs is not None:
        items.append(f"**Programs**: {programs.method_line()}")
    items.append("Charts: `charts/` holds each chart as SVG (inlined in brief.html) and PNG (300 dpi); their metadata carry "
                 "the full method sentence.")
    doc.ul(items)
    doc.p(method_line(m))
    doc.h(3, "The range: the headline under each defensible demand and supply measure")
    vrows = [[v["label"], _people(v["openings"]), _people(v["supply"]), _ratio(v["ratio"])] for v in head_range.variants]
    doc.table(Table(["Measure", "Openings counted/yr", "Completers/yr", "Ratio"], vrows, [False, True, True, True]))
    doc.h(3, "Method sensitivity: the headline under every allocation mode × award preset")
    figure("sensitivity")
    srows = [[x["alloc"], x["awards"], _people(x["openings"]), _people(x["supply"]), _ratio(x["ratio"]), _people(x["gap"]),
              "chosen" if (x["alloc"] == r.alloc and x["awards"] == r.awards) else ""]
             for x in published(sens).filter(pl.col("demand") == demand).to_dicts()]
    doc.table(Table(["alloc", "awards", f"{dword.capitalize()}/yr", "Completers/yr", "Ratio", "Gap/yr", ""], srows,
                    [False, False, True, True, True, True, False]))
    notes = list(dict.fromkeys([*head.notes, *(by_state.notes if by_state is not None and national else [])]))
    if notes:
        doc.h(3, "Notes from the data checks")
        doc.ul(notes)

    doc.h(2, "Provenance")
    doc.p("Every table gapkit read, as recorded in the data folder's manifest when it was ingested.")
    doc.table(_provenance(t, m, by_state.method if by_state is not None else None, tyears), css="provenance")
    doc.p(f"Sector definition: `{r.query.sector_file or ('gapkit/config/shipped/sectors/' + sector.name + '.toml')}`. {sector.sources}")

    md = to_markdown(doc)
    page = to_html(doc, title)
    timings["render"] = time.perf_counter() - t1 - timings["charts"]
    t2 = time.perf_counter()
    pngs, printed, pdf_error = _pngs_and_pdf(charts, page, pdf)
    both = {**svgs, **pngs}
    files = {f"{name}.{ext}": both[f"{name}.{ext}"] for name in charts for ext in ("svg", "png")}  # each chart's SVG, then PNG
    timings["png+pdf"] = time.perf_counter() - t2
    return Brief(md, page, files, title, generated, timings, pdf=printed, pdf_error=pdf_error)


def _pngs_and_pdf(charts: dict[str, Chart], page: str, pdf: bool | None) -> tuple[dict[str, bytes], bytes | None, str | None]:
    """The charts as PNG (300 dpi) and, when asked for (``pdf``: as :meth:`Brief.write`), the page printed by headless
    Chromium — at the same time: Chromium runs on the other core while matplotlib renders (the HTML shows the SVGs,
    so the PNGs are not needed to print it). A PDF that fails is kept as its message, raised where the brief is
    written (after brief.md and brief.html)."""
    from gapkit.render.pdf import PdfJob, find_chromium

    job, printed, error = None, None, None
    if pdf is not False and find_chromium() is not None:
        try:
            job = PdfJob(page)
        except GapkitError as exc:
            error = exc.message
    try:
        pngs = {f"{name}.png": c.to_bytes("png") for name, c in charts.items()}
        if job is not None:
            try:
                printed = job.result()
            except GapkitError as exc:
                error = exc.message
    finally:
        if job is not None:
            job.cancel()  # (an interruption while the PNGs render: Chromium stopped, its folder removed)
    return pngs, printed, error


def _optional(make: Any) -> Any:
    """``make()``, or None when the data it needs is not ingested (a brief without the state map)."""
    from gapkit.errors import MissingDataError

    try:
        return make()
    except (MissingDataError, UsageError):
        return None


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def lower_first(text: str) -> str:
    from gapkit.render.charts.data import lower_first as lf

    return lf(text)


def _estimate_sentence(r: Resolved, where: str, area_methods: list[str]) -> str:
    if r.region.substate:
        return (f"{where}'s openings are estimates from its state's projections and area data "
                f"({'; '.join(area_methods) or 'see Method'})")
    if not r.region.national:
        return f"{where}'s openings are estimates: the state's published openings × the national sector share of each occupation"
    return ""


def _flagged_notes(results: list[Any], region: Any) -> list[str]:
    """The data-check notes that explain a flag carried by rows of these results (suppressed or unreleased cells,
    state data that cannot carry a ratio), each once: the coverage caveats of this brief, taken from the results."""
    import re

    marks: set[str] = set()
    notes: list[str] = []
    for res in results:
        tab = res.table
        for col in ("flags", "ratio_note"):
            if col in tab.columns:
                marks |= {x.strip() for v in tab[col].drop_nulls().to_list() for x in str(v).split(";") if x.strip()}
        notes += res.notes
    out = []
    for n in dict.fromkeys(notes):
        quoted = set(re.findall(r'"([^"]+)"', n))
        if quoted & marks:
            out.append(n)
    return out


def _peer_sentence(r: Resolved, where: str, head: Any, nation: Any, state_head: Any, state_rows: Any,
                   home_state: str | None) -> str:
    import polars as pl

    from gapkit.analysis.results import published
    from gapkit.config.peers import peer_states
    from gapkit.render.charts.data import region_name

    def ratio(res: Any) -> float | None:
        return published(res.table).row(0, named=True)["ratio"] if res is not None and res.table.height else None

    mine, us = ratio(head), ratio(nation)
    if r.region.national:
        if state_rows is None:
            return ""
        stt = state_rows.filter(pl.col("ratio").is_not_null()).sort("ratio")
        if not stt.height:
            return ""
        above = stt.filter(pl.col("ratio") > (mine or 0)).height
        lo, hi = stt.row(0, named=True), stt.row(-1, named=True)
        return (f"Across states the ratio runs from {lo['ratio']:.1f} in {region_name(lo['region'])} to {hi['ratio']:.1f} in "
                f"{region_name(hi['region'])}; {above} of {stt.height} are above the nation's.")
    if mine is None or us is None:
        return ""
    if r.region.single_state and state_rows is not None:
        peers = peer_states().get(r.region.code, ())
        pr = state_rows.filter(pl.col("region").is_in(list(peers)) & pl.col("ratio").is_not_null())
        if pr.height:
            lo, hi = float(pr["ratio"].min()), float(pr["ratio"].max())  # type: ignore[arg-type]
            return (f"That compares with {us:.1f} for the nation and {lo:.1f} to {hi:.1f} in its bordering states "
                    f"({', '.join(sorted(pr['region'].to_list()))}).")
        return f"That compares with {us:.1f} for the nation."
    st = ratio(state_head)
    if st is not None and home_state:
        return f"That compares with {st:.1f} for {region_name(home_state)} as a whole and {us:.1f} for the nation."
    return f"That compares with {us:.1f} for the nation."


def _peer_rows(r: Resolved, where: str, head: Any, nation: Any, state_head: Any, state_rows: Any,
               home_state: str | None) -> pl.DataFrame:
    """Rows (area, the gap columns, flags) of the region, its peers and the nation, in that order."""
    import polars as pl

    from gapkit.analysis.results import published
    from gapkit.config.peers import peer_states
    from gapkit.render.charts.data import region_name

    cols = ["openings", "entrants", "growth", "supply", "ratio", "ratio_note", "gap", "flags"]

    def row(res_table: pl.DataFrame, label: str) -> pl.DataFrame:
        tab = published(res_table)
        keep = [c for c in cols if c in tab.columns]
        return tab.select(pl.lit(label).alias("area"), *keep)

    parts = [row(head.table, f"{where} (this brief)")]
    if r.region.single_state and state_rows is not None:
        peers = list(peer_states().get(r.region.code, ()))
        pr = state_rows.filter(pl.col("region").is_in(peers)).sort("ratio", descending=True, nulls_last=True)
        for x in pr["region"].to_list():
            parts.append(row(pr.filter(pl.col("region") == x), region_name(x)))
    elif state_head is not None and home_state:
        parts.append(row(state_head.table, region_name(home_state)))
    parts.append(row(nation.table, "United States"))
    return pl.concat(parts, how="diagonal_relaxed")


def _pathways(r: Resolved, t: Tables) -> tuple[Any, str]:
    from gapkit.analysis.pathways import run

    try:
        return run(r.at(question="pathways", by=None), t), ""
    except GapkitError as exc:
        return None, str(exc)


def _programs(r: Resolved, t: Tables) -> tuple[Any, str]:
    from gapkit.analysis.programs import run

    try:
        return run(r.at(question="programs", by=None), t), ""
    except GapkitError as exc:
        return None, str(exc)


PATHWAY_ROWS = 10
PROGRAM_ROWS = 8


def _pathways_section(doc: Doc, p: Any, demand: str) -> None:
    import polars as pl

    from gapkit.analysis.method import DEMAND_WORDS

    top_tier = p.rules.tiers[0].name if p.rules.tiers else None
    tab = p.table.filter(pl.col("tier") == top_tier) if top_tier else p.table
    shown = tab.head(PATHWAY_ROWS)
    a = p.area
    doc.p(f"The occupations of the top tier (**{top_tier}**: {p.rules.tiers[0].condition_text() if top_tier else ''}), by "
          f"openings: {shown.height} of {tab.height} shown, of {p.table.height} occupations ranked. Wages are OEWS medians "
          f"({a.wage_source}); high-wage means above ${a.wage_threshold(p.rules):,.0f}, high-growth a 10-year change above "
          f"{a.growth_threshold(p.rules):.1f}%. Full list: `gapkit pathways --sector {p.method.get('sector', '')}`"
          f" with the same --region.")
    if not shown.height:
        return
    rows = []
    for x in shown.to_dicts():
        wage = f"${x['median_wage']:,.0f}" if x.get("median_wage") is not None else (x.get("wage_note") or "")
        growth = f"{x['growth_pct']:+.1f}%" if x.get("growth_pct") is not None else ""
        rows.append([f"{x['title']} ({x['soc_code']})", _people(x[demand] if demand in x else x["openings"]), wage, growth,
                     x.get("education") or "", _people(x["supply"]), _ratio(x["ratio"], x.get("ratio_note"))])
    doc.table(Table(["Occupation (SOC)", f"{DEMAND_WORDS[demand].capitalize()}/yr", "Median wage", "10-yr growth",
                     "Typical entry education", "Completers/yr", "Ratio"], rows,
                    [False, True, True, True, False, True, True]))


def _programs_section(doc: Doc, pr: Any, sector_title: str) -> None:
    import polars as pl

    from gapkit.analysis.programs import OVER, UNDER, WEAK

    progs = pr.programs
    r = pr.rules
    doc.p(f"Programs (6-digit CIP) with completers in the region, judged by the {sector_title.lower()} occupations they feed "
          f"(the gap's own numbers: linked openings and linked supply are those occupations' openings and the completers the gap "
          f"counts for them, weighted by the program's share): **to expand** when linked openings are at least "
          f"{r.undersupplied_ratio:g} times the linked supply; **to review** when they are oversupplied (ratio at most {r.oversupplied_ratio:g}) "
          "or weakly aligned (low-wage or declining occupations). Full list: `gapkit programs` with the same --sector and "
          "--region.")

    def rows(frame: pl.DataFrame) -> list[list[str]]:
        out = []
        for x in frame.to_dicts():
            fed = "; ".join(str(x.get("top_occupations") or "").split("; ")[:2])
            out.append([f"{x['cip_title'].rstrip('.')} ({x['cipcode']})", _people(x["completions"]), _people(x["openings"]),
                        _people(x["supply"]), _ratio(x["ratio"]), x["alignment"], fed])
        return out

    cols = ["Program (CIP)", "Completers/yr", "Linked openings/yr", "Linked supply/yr", "Ratio", "Alignment",
            "Main occupations fed"]
    num = [False, True, True, True, True, False, False]
    expand = progs.filter(pl.col("alignment") == UNDER).sort(["gap", "cipcode"], descending=[True, False], nulls_last=True)
    review = progs.filter(pl.col("alignment").is_in([OVER, WEAK])).sort(["completions", "cipcode"], descending=[True, False])
    doc.h(3, f"To expand: {min(PROGRAM_ROWS, expand.height)} of {expand.height} undersupplied programs, largest gap first")
    if expand.height:
        doc.table(Table(cols, rows(expand.head(PROGRAM_ROWS)), num))
    doc.h(3, f"To review: {min(PROGRAM_ROWS, review.height)} of {review.height} oversupplied or weakly aligned programs, "
             "most completers first")
    if review.height:
        doc.table(Table(cols, rows(review.head(PROGRAM_ROWS)), num))


def _area_methods(table: pl.DataFrame) -> list[str]:
    """The sub-state demand methods a gap table's flags name (empty for the nation and states)."""
    from gapkit.analysis.regions import EDD, INDUSTRY_BASED, OEWS_SHARE, QCEW_SHARE

    flags = table["flags"].to_list() if "flags" in table.columns else []
    return sorted({x for f in flags for x in (f or "").split("; ") if x.startswith((INDUSTRY_BASED, OEWS_SHARE, QCEW_SHARE, EDD))})


def _method_items(m: dict[str, Any], head: Any) -> list[str]:
    from gapkit.analysis.sweeps import PRESET_LABELS
    from gapkit.render.charts.data import ALLOC_LABELS

    v = m["vintages"]
    un = head.unallocated
    items = [
        f"**Openings** (demand): BLS Employment Projections {v['ep_occupations']['vintage']} annual openings by detailed "
        "occupation"
        + (f"; the sector's share of each occupation from the National Employment Matrix {v['nem_matrix']['vintage']} "
           "(growth plus separations in the sector's industries)" if "nem_matrix" in v else "")
        + (f"; state openings from Projections Central {v['state_projections']['vintage']} times the national sector share "
           "(an estimate)" if "state_projections" in v else "") + ".",
        f"**Completers** (supply): IPEDS first-major completions at 6-digit CIP, {', '.join(map(str, m['completions_years']))}, "
        f"award levels: {PRESET_LABELS.get(m['awards'], m['awards'])} (`--awards {m['awards']}`), linked to occupations by the "
        f"NCES {v['cip_soc']['vintage']} crosswalk and allocated {ALLOC_LABELS.get(m['alloc'], m['alloc']).split(': ', 1)[-1]} "
        f"(`--alloc {m['alloc']}`); scope `{m['scope']}`"
        + (" (each occupation's supply times the sector's share of its openings)" if m["scope"] == "sector" else "") + ".",
        f"Retention factor {m['retention']:g}; extra non-IPEDS supply: {m['extra_supply'] or 'none'}.",
        f"**Demand measure** (`--demand {m.get('demand', 'openings')}`): total openings are growth + labor-force exits + "
        "occupational transfers (people changing occupations, mostly filled by people already working); entrant openings "
        "are growth + labor-force exits, the openings new completers fill; every table shows both.",
        "**Ratio** = the demand measure ÷ completers; no ratio prints when there are no completers (\"no supply\"; \"none "
        "expected\" when the occupation's typical entry education needs no postsecondary award), when there are too few "
        "to say anything (\"> N\" or \"no meaningful supply\") or when the state's data cannot carry one (\"state data "
        "unusable\"); **gap** = the demand measure − completers.",
    ]
    if un:
        items.append(f"Completions at the chosen award levels: {un.get('input', 0):,.0f}; allocated to occupations "
                     f"{un.get('allocated', 0):,.0f}; in programs the crosswalk links to no projections occupation "
                     f"{un.get('unlinked', 0):,.0f}; at award levels that are not an entry route into the occupations "
                     f"their programs are linked to {un.get('not_entry_route', 0):,.0f} (reported, never dropped silently).")
    from gapkit.config.method import method_settings

    for u in method_settings().upgrades:
        items.append(f"{u.note}: the range's low end counts none of the {u.soc} completions at those award levels as new supply.")
    items += m.get("assumptions", [])
    items.append("Flags: \"small numbers\" under 50 openings or 20 completers a year; \"IPEDS coverage caveat\" where "
                 "training mostly happens outside Title IV institutions; \"estimated state share\" for state rows.")
    return items


def _provenance(t: Tables, m: dict[str, Any], state_method: dict[str, Any] | None, trend_years: list[int]) -> Table:
    from gapkit.ingestion.sources import DATASET_SOURCE, get_source

    wanted: list[tuple[str, str]] = []
    vint = {**m["vintages"], **({"state_projections": state_method["vintages"]["state_projections"]}
                                if state_method and "state_projections" in state_method["vintages"] else {})}
    for ds, v in vint.items():
        for x in v if isinstance(v, list) else [v]:
            wanted.append((ds, x["vintage"]))
    for y in trend_years:
        wanted.append(("ipeds_completions", str(y)))
    hd = t.vintages("ipeds_institutions")
    for y in sorted({int(v) for ds, v in wanted if ds == "ipeds_completions"}):
        if hd:
            wanted.append(("ipeds_institutions", min(hd, key=lambda v, y=y: (abs(int(v) - y), -int(v)))))
    entries = {(e.dataset, e.vintage): e for e in t.store.entries()} if t.store is not None else {}
    titles: dict[str, str] = {}
    rows = []
    for ds, v in dict.fromkeys(wanted):
        e = entries.get((ds, v))
        if e is None:
            continue
        src = DATASET_SOURCE.get(ds, e.source)
        if src not in titles:
            try:
                s = get_source(src)
                titles[src] = f"{s.title} ({s.homepage})" if s.homepage else s.title
            except (KeyError, ImportError):
                titles[src] = src
        files = sorted({i.get("file") or Path(i.get("origin", "")).name for i in e.inputs.values()})
        shown = ", ".join(files[:2]) + (f" and {len(files) - 2} more" if len(files) > 2 else "")
        digest = e.sha256 + (f" (digest of {len(files)} files' sha256)" if len(files) > 1 else "")
        rows.append([ds, v, titles[src], shown, f"{e.rows:,}", digest, e.retrieved])
    return Table(["Dataset", "Vintage", "Source", "Files", "Rows", "sha256", "Retrieved"], rows,
                 [False, False, False, False, True, False, False])


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def check_out_dir(out: str | os.PathLike[str]) -> Path:
    from gapkit.render.tables import check_output_path

    p = check_output_path(out)  # length, links, pipes and devices: refused, never followed or replaced
    try:
        if p.exists() and not p.is_dir():
            raise UsageError(f"--out {out} is a file; give a folder for brief.md, brief.html and charts/.")
        parent = p if p.exists() else p.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise UsageError(f"--out {out}: {parent} is not a folder; choose a folder for the brief.")
        if not os.access(parent, os.W_OK):
            raise UsageError(f"--out {out}: {parent} is not writable; choose a writable folder.")
    except OSError as exc:
        raise UsageError(f"--out {out}: the path cannot be used ({exc.strerror or exc}); choose another.") from None
    return p


def write(brief: Brief, out: str | os.PathLike[str], pdf: bool | None = None) -> list[Path]:
    """Write brief.md, brief.html, charts/*.svg and *.png and (``pdf``) brief.pdf into ``out`` (created if needed).

    ``pdf=None`` prints brief.pdf when headless Chromium is found (see :mod:`gapkit.render.pdf`) and skips it
    otherwise; ``pdf=True`` requires it (a clear error when Chromium is missing); ``pdf=False`` never prints."""
    from gapkit.render.pdf import find_chromium
    from gapkit.render.tables import write_output
    from gapkit.store import check_target

    if pdf is None:
        pdf = brief.pdf is not None or find_chromium() is not None
    elif pdf and brief.pdf is None and find_chromium() is None:
        from gapkit.render.pdf import MISSING, NAMES

        raise UsageError(MISSING.format(names=", ".join(NAMES)))
    root = check_out_dir(out)
    written = []
    try:
        # every file of the brief is checked before the first is written: a link or pipe among them stops the
        # run with nothing changed
        targets = [root / "charts" / name for name in brief.charts] + [root / "brief.md", root / "brief.html"]
        targets += [root / "brief.pdf"] if pdf else []
        for target in targets:
            check_target(target, f"--out {out}: {target.relative_to(root)}", within=root)
        (root / "charts").mkdir(parents=True, exist_ok=True)
        for name in CHART_FILES:  # charts of an earlier brief for another region
            if name not in brief.charts and (root / "charts" / name).exists():
                (root / "charts" / name).unlink()
        if not pdf and (root / "brief.pdf").is_file():  # an earlier brief's PDF would no longer match
            (root / "brief.pdf").unlink()
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write the brief there ({exc.strerror or exc}); choose a writable folder.") from None
    for name, data in brief.charts.items():
        written.append(write_output(root / "charts" / name, data, label=f"--out {out}: charts/{name}", within=root))
    for name, text in (("brief.md", brief.markdown), ("brief.html", brief.html)):
        written.append(write_output(root / name, text.encode("utf-8"), label=f"--out {out}: {name}", within=root))
    if pdf:
        from gapkit.render.pdf import print_pdf

        # Chromium prints a private copy of the HTML into a temporary folder; the bytes are then written like
        # every other file of the brief (no write through links, the umask honoured, atomic replace)
        try:
            if brief.pdf is None and brief.pdf_error:  # printed with the brief, and failed
                raise GapkitError(f"--out {out}: {brief.pdf_error}")
            if brief.pdf is None:
                brief.pdf = print_pdf(brief.html, label=f"--out {out}: brief.pdf")
        except GapkitError:
            # an earlier brief's PDF would sit beside the new brief.md and brief.html as if it were theirs
            with contextlib.suppress(OSError):
                (root / "brief.pdf").unlink(missing_ok=True)
            raise
        written.append(write_output(root / "brief.pdf", brief.pdf, label=f"--out {out}: brief.pdf", within=root))
    return written

"""``gapkit report``: a self-contained brief (Markdown + single-file HTML) for one sector and region.

The brief holds the headline numbers, the tables by subsector, group, occupation and state, the
charts, the method and the provenance (sources, vintages, sha256, retrieval dates). Everything is
computed once from one resolved question and one :class:`~gapkit.analysis.tables.Tables` and rendered from rounded (published) numbers,
so re-running on the same data gives the same bytes except the one ``Generated at`` line.

Files written to ``--out DIR``: ``brief.md``, ``brief.html`` (charts inlined as SVG) and
``charts/<kind>[-<by>].svg`` (referenced by the Markdown; the HTML inlines the same SVG, text kept as text).
PNG/PDF copies of any chart: ``gapkit chart KIND --out FILE.png``.
"""

from __future__ import annotations

import html
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapkit import __version__
from gapkit.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.query import Resolved
    from gapkit.analysis.tables import Tables
    from gapkit.render.charts import Chart

GENERATED_PREFIX = "Generated at "
OCCUPATION_ROWS = 25
CHART_FILES = ("bars-subsector.svg", "bars-group.svg", "states.svg", "scatter.svg", "sensitivity.svg", "trend.svg")


# ---------------------------------------------------------------------------------------------
# document model: a list of blocks rendered to Markdown and to HTML
# ---------------------------------------------------------------------------------------------
@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    caption: str = ""


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

    def table(self, t: Table) -> None:
        self.blocks.append(("table", t))

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
        elif kind in {"p", "generated"}:
            out += [md_text(v) if kind == "p" else f"*{md_text(v)}*", ""]
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
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#1a1a1a;max-width:7.2in;margin:2em auto;padding:0 1em;
line-height:1.45;font-size:11pt}
h1{font-size:20pt;margin-bottom:.2em}h2{font-size:15pt;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
h3{font-size:12pt;margin-top:1.2em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:9pt;width:100%}
th,td{border-bottom:1px solid #e4e4e4;padding:3px 5px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f4f4f4}td.n{text-align:right;white-space:nowrap}th.n{text-align:right}
caption{text-align:left;font-weight:bold;padding:.3em 0}
div.scroll{overflow-x:auto}
figure{margin:1.2em 0}svg.chart{width:100%;max-width:6.5in;height:auto;display:block;overflow:hidden}
p.generated{color:#555;font-size:9.5pt}code{font-size:9.5pt}
@media print{body{max-width:none}figure{page-break-inside:avoid}}
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
        elif kind == "generated":
            out.append(f'<p class="generated">{e(v)}</p>')
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in v) + "</ul>")
        elif kind == "table":
            cells = ['<div class="scroll"><table>']
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

    def write(self, out: str | os.PathLike[str]) -> list[Path]:
        """Write brief.md, brief.html and charts/ into the folder ``out``."""
        return write(self, out)

    def restamped(self, generated_at: str | None = None) -> Brief:
        """The same brief with a new ``Generated at`` line (a cached brief written again)."""
        line = _generated_line(generated_at)
        if not self.generated:
            return self
        return Brief(self.markdown.replace(self.generated, line), self.html.replace(html.escape(self.generated), html.escape(line)),
                     self.charts, self.title, line, self.timings)

    def to_json(self) -> dict[str, Any]:
        import base64

        return {"markdown": self.markdown, "html": self.html, "title": self.title, "generated": self.generated,
                "charts": {k: base64.b64encode(v).decode() for k, v in self.charts.items()}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Brief:
        import base64

        return cls(d["markdown"], d["html"], {k: base64.b64decode(v) for k, v in d["charts"].items()}, d["title"], d["generated"])


def _generated_line(generated_at: str | None) -> str:
    stamp = generated_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{GENERATED_PREFIX}{stamp} by gapkit {__version__}."


def build(r: Resolved, t: Tables, *, generated_at: str | None = None) -> Brief:
    """Compute everything the brief shows and render it (nothing is written)."""
    import polars as pl

    from gapkit.analysis.method import compute
    from gapkit.analysis.results import method_line, published
    from gapkit.analysis.sweeps import completions_trend, headline, sensitivity
    from gapkit.render.charts import draw_data
    from gapkit.render.charts.data import (
        bars_data,
        region_name,
        scatter_data,
        sensitivity_data,
        states_data,
        trend_data,
        years_text,
    )

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    r = r.at(by="group")
    sector = r.sector
    national = r.region.national
    where = region_name(r.region.code, r.region.name)

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
        by_state = compute(r.at(by="state", region="US"), t) if national else None
        sens = f_sens.result()
        trend = f_trend.result()
        head_range = f_head.result()
    timings["compute"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    charts: list[tuple[str, Chart]] = []
    if by_sub is not None:
        charts.append(("bars-subsector.svg", draw_data(bars_data(r.at(by="subsector"), t, by_sub, head_range))))
    charts.append(("bars-group.svg", draw_data(bars_data(r, t, by_group, head_range))))
    if by_state is not None:
        charts.append(("states.svg", draw_data(states_data(r, t, by_state))))
    charts.append(("scatter.svg", draw_data(scatter_data(r, t, by_occ))))
    charts.append(("sensitivity.svg", draw_data(sensitivity_data(r, t, sens))))
    charts.append(("trend.svg", draw_data(trend_data(r, t, trend))))
    svgs = {name: c.to_bytes("svg") for name, c in charts}
    timings["charts"] = time.perf_counter() - t1

    m = head.method
    h = published(head.table).row(0, named=True)
    title = f"{sector.title} skills gap: {where}"
    doc = Doc()
    doc.h(1, title)
    generated = _generated_line(generated_at)
    doc.generated(generated)
    years = m["completions_years"]
    ep_v = m["vintages"]["ep_occupations"]["vintage"]
    pc = m["vintages"].get("state_projections", {}).get("vintage")
    nem = m["vintages"].get("nem_matrix", {}).get("vintage")
    share = f" times the sector's share of each occupation's openings in the BLS National Employment Matrix {nem}" if nem else ""
    source = (f"BLS national projections, {ep_v} cycle" if national or not pc else
              f"{where}'s Projections Central {pc} projections{share}")
    area_methods = _area_methods(head.table)
    if r.region.substate:
        source = (f"estimated for {where} from its state's Projections Central {pc} projections and area data — "
                  f"{'; '.join(area_methods)} (docs/METHOD.md section 6)")
    subject = "all occupations" if sector.whole_economy else f"{sector.title.lower()} occupations"
    doc.p(f"Annual job openings in {subject} ({source}) compared with the people "
          f"completing related programs each year (IPEDS {years_text(years)}, first majors). All numbers are people per year.")

    # headline: the range first, then what drives it
    from gapkit.analysis.method import DEMAND_WORDS

    doc.h(2, "Headline")
    demand = r.demand
    dword = DEMAND_WORDS[demand]
    items = [
        f"**{head_range.text()}** in {where}: {h[demand]:,.0f} {dword} a year against {h['supply']:,.0f} completers a year "
        f"counted as supply, a gap of **{h['gap']:,.0f}** a year.",
        f"Total openings, which include people changing occupations, are {h['openings']:,.0f} a year; entrant openings (growth "
        f"plus people leaving the labor force, the openings new completers fill) are {h['entrants']:,.0f}. The range runs over "
        "total vs entrant openings and education-aware vs all-awards supply: quote it, not one number.",
    ]
    if by_sub is not None and by_sub.table.height:
        sub = published(by_sub.table).filter(pl.col("ratio").is_not_null()).sort("ratio", descending=True)
        if sub.height:
            r0 = sub.row(0, named=True)
            items.append(f"Tightest subsector: **{r0['subsector_title']}**, {r0['ratio']:.1f} {dword} per completer "
                         f"({r0[demand]:,.0f} {dword}, {r0['supply']:,.0f} completers).")
    occ = published(by_occ.table)
    top = occ.sort("gap", descending=True).row(0, named=True)
    items.append(f"Largest occupational gap: **{top['title']}** ({top['soc_code']}), {top[demand]:,.0f} {dword} vs "
                 f"{top['supply']:,.0f} completers a year.")
    if h.get("misalignment") is not None:
        items.append(f"Misalignment index {h['misalignment']:.2f}: {h['misalignment']:.0%} of completers would have to be in other "
                     "fields for completions to match openings across the sector's occupations.")
    cov = occ.filter(pl.col("flags").str.contains("IPEDS coverage caveat"))
    share = float(cov[demand].sum()) / float(occ[demand].sum()) if occ.height and float(occ[demand].sum()) else 0.0
    items.append(f"{share:.0%} of {dword} are in occupations whose training largely happens outside IPEDS (CDL schools, "
                 "apprenticeships, employer training) or needs no postsecondary award, so IPEDS understates their supply.")
    if by_state is not None:
        stt = published(by_state.table).filter(pl.col("ratio").is_not_null()).sort("ratio")
        if stt.height:
            lo, hi = stt.row(0, named=True), stt.row(-1, named=True)
            items.append(f"States range from {lo['ratio']:.1f} ({region_name(lo['region'])}) to {hi['ratio']:.1f} "
                         f"({region_name(hi['region'])}) {dword} per completer.")
    doc.ul(items)

    # charts
    doc.h(2, "Charts")
    for name, c in charts:
        doc.figure(ChartImage(f"charts/{name}", c.title, svgs[name]))

    # tables
    doc.h(2, "Tables")
    from gapkit.analysis.results import SMALL_OPENINGS, SMALL_SUPPLY
    from gapkit.render.charts.data import COVERAGE_MARK, SMALL_MARK

    legend = (f"Notes: {COVERAGE_MARK} IPEDS coverage caveat (training mostly outside Title IV institutions, or no "
              f"postsecondary award needed: supply is understated); {SMALL_MARK} small numbers (under "
              f"{SMALL_OPENINGS:.0f} openings or {SMALL_SUPPLY:.0f} completers a year). \"No supply\": no completers "
              "were linked; \"none expected\": the typical entry education needs no postsecondary award.")
    if r.region.substate:
        whose = "its state's institutions (--supply-area state)" if r.supply_area == "state" else "institutions in its counties"
        legend += (f" {where} rows are estimates ({'; '.join(area_methods)}); completers are those of {whose}.")
    elif not national:
        legend += (f" {where} rows are estimates: the state's published openings times the national sector share of "
                   "each occupation.")
    doc.p(legend)
    if by_sub is not None:
        doc.h(3, "By subsector")
        doc.table(_gap_table(published(by_sub.table), [("subsector_title", "Subsector")], demand))
    doc.h(3, "By occupational group")
    doc.table(_gap_table(published(by_group.table), [("group_title", "Group")], demand))
    doc.h(3, f"Occupations: the {min(OCCUPATION_ROWS, occ.height)} largest gaps of {occ.height}")
    gtitles = {g.key: g.title for g in sector.groups}
    occ_rows = occ.sort(["gap", "soc_code"], descending=[True, False]).head(OCCUPATION_ROWS).with_columns(
        pl.col("group").replace_strict(gtitles, default=pl.col("group")).alias("group_title"))
    occ_rows = occ_rows.with_columns(pl.format("{} ({})", "title", "soc_code").alias("occupation"))
    doc.table(_gap_table(occ_rows, [("occupation", "Occupation (SOC)"), ("group_title", "Group"),
                                    ("education", "Typical entry education")], demand))
    doc.p(f"The full list: `gapkit gap --sector {r.sector_name if not r.query.sector_file else r.query.sector or 'transportation'} "
          f"--region {r.region.code} --by occupation --format csv`.")
    if by_state is not None:
        doc.h(3, "By state")
        doc.table(_gap_table(published(by_state.table), [("region", "State")], demand))
    doc.h(3, "The range: the headline under each defensible demand and supply measure")
    vrows = [[v["label"], _people(v["openings"]), _people(v["supply"]), _ratio(v["ratio"])] for v in head_range.variants]
    doc.table(Table(["Measure", "Openings counted/yr", "Completers/yr", "Ratio"], vrows, [False, True, True, True]))
    doc.h(3, "Method sensitivity: the headline under every allocation mode × award preset")
    srows = [[x["alloc"], x["awards"], _people(x["openings"]), _people(x["supply"]), _ratio(x["ratio"]), _people(x["gap"]),
              "chosen" if (x["alloc"] == r.alloc and x["awards"] == r.awards) else ""]
             for x in published(sens).filter(pl.col("demand") == demand).to_dicts()]
    doc.table(Table(["alloc", "awards", f"{dword.capitalize()}/yr", "Completers/yr", "Ratio", "Gap/yr", ""], srows,
                    [False, False, True, True, True, True, False]))
    doc.h(3, "Completions in the sector's programs, by IPEDS year")
    tw = trend.pivot(on="series", index="year", values="completions", sort_columns=False).sort("year")
    tcols = [c for c in tw.columns if c != "year"]
    doc.table(Table(["Year", *tcols], [[str(r["year"]), *[_people(r[c]) for c in tcols]] for r in tw.to_dicts()],
                    [False] + [True] * len(tcols)))
    doc.p("Counted columns are the completers the gap counts as the sector's supply for that single year (allocated to "
          "occupations, then the sector's share); the last column is every first-major completion in the programs the "
          "NCES crosswalk links to the sector's occupations, which also serve other sectors.")

    # method
    doc.h(2, "Method")
    items = _method_items(m, head)
    if r.region.substate:
        where_supply = ("every institution in its state(s) (`--supply-area state`)" if r.supply_area == "state"
                        else "the IPEDS institutions located in its counties (`--supply-area region`)")
        items.insert(1, f"**Region** {where} (`{r.region.code}`, {len(r.region.counties)} counties): demand by "
                        f"{'; '.join(area_methods)} (docs/METHOD.md section 6: the state's own sub-state projections, else "
                        "QCEW employment × the national staffing pattern × the state's openings per worker, else the area's "
                        f"OEWS or QCEW share of the state's openings); completers of {where_supply}.")
    doc.ul(items)
    doc.p(method_line(m))
    notes = list(dict.fromkeys([*head.notes, *(by_state.notes if by_state is not None else [])]))
    if notes:
        doc.h(3, "Notes from the data checks")
        doc.ul(notes)

    # provenance
    doc.h(2, "Provenance")
    doc.p("Every table gapkit read, as recorded in the data folder's manifest when it was ingested.")
    doc.table(_provenance(t, m, by_state.method if by_state is not None else None, sorted(set(trend["year"].to_list()))))
    doc.p(f"Sector definition: `{r.query.sector_file or ('gapkit/config/shipped/sectors/' + sector.name + '.toml')}`. {sector.sources}")

    md = to_markdown(doc)
    page = to_html(doc, title)
    timings["render"] = time.perf_counter() - t1 - timings["charts"]
    return Brief(md, page, svgs, title, generated, timings)


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


def write(brief: Brief, out: str | os.PathLike[str]) -> list[Path]:
    """Write brief.md, brief.html and charts/*.svg into ``out`` (created if needed)."""
    from gapkit.render.tables import write_output
    from gapkit.store import check_target

    root = check_out_dir(out)
    written = []
    try:
        # every file of the brief is checked before the first is written: a link or pipe among them stops the
        # run with nothing changed
        targets = [root / "charts" / name for name in brief.charts] + [root / "brief.md", root / "brief.html"]
        for target in targets:
            check_target(target, f"--out {out}: {target.relative_to(root)}", within=root)
        (root / "charts").mkdir(parents=True, exist_ok=True)
        for name in CHART_FILES:  # charts of an earlier brief for another region
            if name not in brief.charts and (root / "charts" / name).exists():
                (root / "charts" / name).unlink()
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write the brief there ({exc.strerror or exc}); choose a writable folder.") from None
    for name, data in brief.charts.items():
        written.append(write_output(root / "charts" / name, data, label=f"--out {out}: charts/{name}", within=root))
    for name, text in (("brief.md", brief.markdown), ("brief.html", brief.html)):
        written.append(write_output(root / name, text.encode("utf-8"), label=f"--out {out}: {name}", within=root))
    return written

"""What each chart shows, computed with the gap engine (no matplotlib here): the rows, a title that
states the finding, a subtitle (sector, region, years) and a footer (sources, vintages, method).

``completions_trend`` is the one computation the engine does not already offer: completions over the
ingested IPEDS years in the programs (6-digit CIPs) the NCES crosswalk links to the sector's
occupations, by award level, next to the part of them the gap counts as the sector's supply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gapkit import __version__
from gapkit.analysis.method import compute
from gapkit.analysis.results import SMALL_OPENINGS, SMALL_SUPPLY, GapResult, method_line, published
from gapkit.analysis.sweeps import Headline, completions_trend, headline, sensitivity
from gapkit.codes import ABBR_TO_FIPS, STATES
from gapkit.errors import UsageError
from gapkit.render.charts import GAP_KINDS

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.query import Resolved
    from gapkit.analysis.tables import Tables

KINDS = GAP_KINDS
TOP_OCCUPATIONS = 12  # bars --by occupation: the occupations with the most openings
ALLOC_LABELS = {"education": "education: by entry route, openings × workers holding the award",
                "openings": "openings: shares by openings", "employment": "employment: shares by employment",
                "equal": "equal: equal shares", "none": "none: full count to each (upper bound)"}
COVERAGE_MARK = "†"
SMALL_MARK = "*"


@dataclass
class ChartData:
    kind: str
    frame: pl.DataFrame
    title: str
    subtitle: str
    footer: str
    method: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------------------------
def region_name(region: str, name: str | None = None) -> str:
    """How a sentence names a region: the nation, a state's name, or a sub-state area's ``name`` (``Columbus, OH``)."""
    if name and ":" in region:
        return name
    if region in {"US", "all"}:
        return "United States" if region == "US" else "every state"
    fips = ABBR_TO_FIPS.get(region)
    return STATES[fips][1] if fips else region


def lower_first(text: str) -> str:
    """'Heavy and tractor-trailer truck drivers' -> 'heavy and ...' (acronyms such as 'HVAC' kept)."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def num(v: float) -> str:
    return f"{v:,.0f}"


DEMAND_NOUN = {"openings": "openings", "entrants": "entrant openings", "growth": "new jobs"}


def as_demand(table: pl.DataFrame, m: dict[str, Any]) -> pl.DataFrame:
    """A gap table whose ``openings`` column holds the question's demand measure (what its ratio compares)."""
    import polars as pl

    demand = m.get("demand", "openings")
    return table if demand == "openings" else table.with_columns(pl.col(demand).alias("openings"))


def ratio_words(r: float, noun: str = "openings") -> str:
    """A ratio as said in a sentence: 12 openings per completer, or 3 completers per opening."""
    if r >= 1:
        x = f"{r:,.0f}" if r >= 10 else f"{r:.1f}"
        return f"{x} {noun} for every completer"
    inv = 1 / r
    x = f"{inv:,.0f}" if inv >= 10 else f"{inv:.1f}"
    return f"{x} completers for every opening"


def years_text(years: list[int], mean: bool = True) -> str:
    ys = sorted(years)
    if not ys:
        return ""
    if len(ys) == 1:
        return str(ys[0])
    tail = " (mean)" if mean else " (each year)"
    if ys == list(range(ys[0], ys[-1] + 1)):
        return f"{ys[0]}–{ys[-1]}{tail}"
    return ", ".join(map(str, ys)) + tail


def subtitle(method: dict[str, Any], years: list[int] | None = None, region: str | None = None) -> str:
    """Sector · region · the vintages of openings and completions · units (``years`` given: one per year)."""
    v = method["vintages"]
    where = region_name(region or method["region"], method.get("region_name") if region in (None, method["region"]) else None)
    demand = f"openings: BLS projections {v['ep_occupations']['vintage']}"
    if "state_projections" in v:
        demand += f" with Projections Central {v['state_projections']['vintage']} for states"
    comp = years if years is not None else method["completions_years"]
    return (f"{method['sector_title']} · {where} · {demand} · completers: IPEDS {years_text(comp, mean=years is None)}"
            " · people per year")


def footer(method: dict[str, Any], extra: list[str] | None = None, *, alloc: str | None = None, awards: str | None = None) -> str:
    """The provenance sentence (sources, vintages, options, assumptions), then the chart's own notes."""
    text = method_line(method, alloc=alloc, awards=awards)
    for e in extra or []:
        text += " " + e
    return text + f" Chart: gapkit {__version__}."


def _coverage_note(n_flagged: int, n: int) -> str:
    return (f"{COVERAGE_MARK} IPEDS coverage caveat ({n_flagged} of {n}): much of the training happens outside "
            "Title IV institutions (CDL schools, apprenticeships, employers), so supply is understated.")


def _small_note() -> str:
    return f"{SMALL_MARK} Small numbers: under {SMALL_OPENINGS:.0f} openings or {SMALL_SUPPLY:.0f} completers a year."


def _marks(flags: str) -> str:
    m = ""
    if "IPEDS coverage caveat" in flags:
        m += COVERAGE_MARK
    if "small numbers" in flags:
        m += SMALL_MARK
    return m


def _where(region: str, name: str | None = None) -> str:
    return "" if region == "US" else f" in {region_name(region, name)}"


# ---------------------------------------------------------------------------------------------
# per kind
# ---------------------------------------------------------------------------------------------
def prepare(kind: str, r: Resolved, t: Tables) -> ChartData:
    """What chart ``kind`` shows for a resolved gap question (its options were checked by ``Query.resolve``)."""
    fn = {"bars": bars_data, "states": states_data, "scatter": scatter_data, "sensitivity": sensitivity_data,
          "trend": trend_data}[kind]
    return fn(r, t)


def bars_data(r: Resolved, tables: Tables, result: GapResult | None = None, head: Headline | None = None) -> ChartData:
    import polars as pl

    by = "group" if r.by == "sector" else r.by
    res = result or compute(r.at(by=by), tables)
    head = head or headline(r, tables)
    dnoun = DEMAND_NOUN[r.demand]
    t = as_demand(published(res.table), res.method)
    if t.height == 0:
        raise UsageError(f"Sector {r.sector_name}: no rows to chart for --by {by} in {r.region.code}.")
    label_col = {"group": "group_title", "subsector": "subsector_title", "occupation": "title"}[by]
    total_open, total_sup = float(t["openings"].sum()), float(t["supply"].sum())
    n_all = t.height
    if by == "occupation":
        t = t.sort("openings", descending=True).head(TOP_OCCUPATIONS)
    frame = t.select(pl.col(label_col).alias("label"), "openings", "supply", "ratio", "gap", "flags")
    noun = {"group": "occupational group", "subsector": "subsector", "occupation": "occupation"}[by]
    m = res.method
    sector = m["sector_title"]
    span = (f" (range {_ratio_short(head.low)}–{_ratio_short(head.high)})" if head.low is not None and head.high is not None
            and head.low != head.high else "")
    lead = (f"{sector}{_where(m['region'], m.get('region_name'))} has {ratio_words(total_open / total_sup, dnoun)}{span}"
            if total_sup > 0 else f"{sector}{_where(m['region'], m.get('region_name'))} has {dnoun} but no completers")
    rows = frame.to_dicts()
    short = [r for r in rows if r["ratio"] is None or r["ratio"] > 1]
    finite = [r for r in rows if r["ratio"] is not None]
    if by == "occupation":
        top = max(rows, key=lambda r: r["gap"])
        detail = f"the largest gap is for {lower_first(top['label'])} ({num(top['gap'])} a year)"
    elif len(short) == len(rows) and finite:
        # the headline names a real group: not a small-numbers row, not the sector's catch-all group
        catch_all = {g.title for g in r.sector.groups if "*" in g.soc}
        solid = ([r for r in finite if "small numbers" not in r["flags"] and r["label"] not in catch_all]
                 or [r for r in finite if "small numbers" not in r["flags"]] or finite)
        tight = max(solid, key=lambda r: r["ratio"])
        detail = f"{lower_first(tight['label'])} is tightest at {_ratio_short(tight['ratio'])}"
        if len(finite) < len(rows):
            detail = f"every {noun} is short; some have no completers at all"
    elif not short:
        detail = f"completers outnumber openings in every {noun}"
    else:
        detail = f"{len(short)} of {len(rows)} {noun}s have more openings than completers"
    title = f"{lead}; {detail}"
    cov = sum(1 for r in rows if COVERAGE_MARK in _marks(r["flags"]))
    small = sum(1 for r in rows if SMALL_MARK in _marks(r["flags"]))
    extra = []
    if by == "occupation":
        extra.append(f"The {len(rows)} occupations with the most openings of {n_all}.")
    if cov:
        extra.append(_coverage_note(cov, len(rows)))
    if small:
        extra.append(_small_note())
    frame = frame.with_columns(pl.col("flags").map_elements(_marks, return_dtype=pl.String).alias("marks"))
    return ChartData("bars", frame, title, subtitle(m), footer(m, extra), m, res.notes,
                     {"by": by, "noun": noun, "total_openings": total_open, "total_supply": total_sup})


def states_data(r: Resolved, tables: Tables, result: GapResult | None = None) -> ChartData:
    import polars as pl

    from gapkit.codes import STATE_FIPS_51

    res = result or compute(r.at(by="state", region="US"), tables)
    t = as_demand(published(res.table), res.method).select("region", "openings", "supply", "ratio", "gap", "flags")
    every = pl.DataFrame({"region": [STATES[f][0] for f in STATE_FIPS_51]})
    frame = every.join(t, on="region", how="left")
    have = frame.filter(pl.col("openings").is_not_null())
    if have.height == 0:
        raise UsageError(f"Sector {r.sector_name}: no state projections ingested; run `gapkit ingest projections`.")
    fin = have.filter(pl.col("ratio").is_not_null()).sort("ratio")
    n = have.height
    short = have.filter(pl.col("ratio").is_null() | (pl.col("ratio") > 1)).height
    m = res.method
    odd = [a for a in odd_states(res.notes) if a in set(every["region"].to_list())]

    def name(abbr: str) -> str:
        return region_name(abbr) + (SMALL_MARK if abbr in odd else "")

    if fin.height:
        lo, hi = fin.row(0, named=True), fin.row(-1, named=True)
        lead = (f"{'Every state' if short == n else f'{short} of {n} states'} "
                f"{'has' if short == n else 'have'} more {m['sector_title'].lower()} {DEMAND_NOUN[r.demand]} than completers")
        title = (f"{lead}; the ratio runs from {_ratio_short(lo['ratio'])} in {name(lo['region'])} "
                 f"to {_ratio_short(hi['ratio'])} in {name(hi['region'])}")
    else:
        title = f"No state has {m['sector_title'].lower()} completers to compare with its {DEMAND_NOUN[r.demand]}"
    missing = frame.filter(pl.col("openings").is_null())["region"].to_list()
    nosup = have.filter(pl.col("ratio").is_null())["region"].to_list()
    extra = ["Colour: openings per completer on a log scale centred on 1 (red: more openings than completers; "
             "blue: more completers). State openings are the state's published openings times the national sector share (estimates)."]
    frame = frame.with_columns(pl.col("region").is_in(odd).alias("odd"))
    if odd:
        extra.append(f"{SMALL_MARK} Published state openings look odd for {', '.join(odd)} (openings far from 6-20% of "
                     "employment); shown as published.")
    if missing:
        extra.append(f"No state projections ingested for {', '.join(missing)}.")
    if nosup:
        extra.append(f"No completers in {', '.join(nosup)}.")
    return ChartData("states", frame, title, subtitle({**m, "region": "all"}), footer(m, extra), m, res.notes,
                     {"missing": missing, "no_supply": nosup})


def odd_states(notes: list[str]) -> list[str]:
    """States whose published openings the projections source's checks call odd (from the gap notes)."""
    import re

    found = {m.group(1) for n in notes if "look odd" in n for m in [re.search(r"\(([A-Z]{2})\): published annual openings", n)] if m}
    return sorted(found)


def _ratio_short(r: float) -> str:
    return f"{r:,.0f}" if r >= 10 else f"{r:.1f}"


def scatter_data(r: Resolved, tables: Tables, result: GapResult | None = None) -> ChartData:
    import polars as pl

    res = result or compute(r.at(by="occupation"), tables)
    t = as_demand(published(res.table), res.method)
    floor = 1.0
    shown = t.filter(pl.col("openings") >= floor)
    hidden = t.height - shown.height
    if shown.height == 0:
        raise UsageError(f"Sector {r.sector_name}: no occupation has at least one opening a year in {r.region.code}.")
    frame = shown.select("soc_code", "title", "group", "openings", "supply", "ratio", "gap", "flags")
    top = frame.sort("gap", descending=True).row(0, named=True)
    m = res.method
    sup = "no completers" if top["supply"] <= 0 else f"{num(top['supply'])} completers"
    title = (f"{top['title']} have the largest gap{_where(m['region'], m.get('region_name'))}: {num(top['openings'])} {DEMAND_NOUN[r.demand]} a year "
             f"against {sup}")
    below = frame.filter((pl.col("supply") > 0) & (pl.col("supply") < floor)).height
    none_n = frame.filter(pl.col("supply") <= 0).height
    short = frame.filter(pl.col("openings") > pl.col("supply")).height
    extra = [f"{short} of {frame.height} occupations lie below the diagonal (more openings than completers)."]
    if none_n:
        extra.append(f"{none_n} with no completers are shown in the strip below the axis.")
    if below:
        extra.append(f"{below} with under 1 completer a year are drawn on the bottom edge.")
    if hidden:
        extra.append(f"{hidden} occupations with under 1 opening a year are not shown.")
    sector = r.sector
    return ChartData("scatter", frame, title, subtitle(m), footer(m, extra), m, res.notes,
                     {"floor": floor, "groups": [(g.key, g.title) for g in sector.groups]})


def sensitivity_data(r: Resolved, tables: Tables, table: pl.DataFrame | None = None) -> ChartData:
    import polars as pl

    sens = table if table is not None else sensitivity(r, tables)
    sens = sens.filter(pl.col("demand") == r.demand)
    base = compute(r.at(by="sector"), tables)
    m = base.method
    frame = published(sens).with_columns(
        ((pl.col("alloc") == r.alloc) & (pl.col("awards") == r.awards)).alias("chosen"))
    ratios = [x for x in frame["ratio"].to_list() if x is not None]
    chosen = frame.filter(pl.col("chosen"))
    cr = chosen["ratio"][0] if chosen.height else None
    if ratios:
        title = (f"Method choices move the {m['sector_title'].lower()} ratio{_where(m['region'], m.get('region_name'))} from "
                 f"{_ratio_short(min(ratios))} to {_ratio_short(max(ratios))} {DEMAND_NOUN[r.demand]} per completer"
                 + (f"; the chosen method gives {_ratio_short(cr)}" if cr is not None else ""))
    else:
        title = f"No method choice finds {m['sector_title'].lower()} completers{_where(m['region'], m.get('region_name'))}"
    extra = [f"Each row is an award-level preset, each marker an allocation mode; the ringed marker is the chosen "
             f"method (alloc={r.alloc}, awards={r.awards}). {DEMAND_NOUN[r.demand].capitalize()} are the same in every cell: "
             f"{num(float(frame['openings'][0]))} a year."]
    return ChartData("sensitivity", frame, title, subtitle(m), footer(m, extra, alloc="each", awards="each"), m,
                     base.notes, {"alloc": r.alloc, "awards": r.awards})


def trend_data(r: Resolved, tables: Tables, frame: pl.DataFrame | None = None) -> ChartData:
    import polars as pl

    region = "US" if r.region.kind in {"nation", "states"} else r.region.code
    trend = frame if frame is not None else completions_trend(r, tables)
    years = sorted(set(trend["year"].to_list()))
    base = compute(r.at(by="sector", region=region, completions_years=(years[-1],)), tables)
    m = base.method
    counted = trend.filter(pl.col("kind") == "counted").group_by("year").agg(pl.col("completions").sum()).sort("year")
    linked = trend.filter(pl.col("kind") == "linked").sort("year")
    first, last = float(counted["completions"][0]), float(counted["completions"][-1])
    what = f"Completers counted as {m['sector_title'].lower()} supply{_where(region, m.get('region_name'))}"
    if len(years) == 1:
        title = f"{what}: {num(last)} in {years[0]} (only one IPEDS year is ingested)"
    elif first <= 0:
        title = f"{what}: {num(last)} in {years[-1]}"
    else:
        pct = (last - first) / first * 100
        if abs(pct) < 1:
            title = f"{what} held steady at about {num(last)} a year from {years[0]} to {years[-1]}"
        else:
            title = (f"{what} {'grew' if pct > 0 else 'fell'} {abs(pct):.0f}% from {years[0]} to {years[-1]}, "
                     f"to {num(last)} a year")
    l0, l1 = float(linked["completions"][0]), float(linked["completions"][-1])
    extra = [f"Bars: first-major completions in the 6-digit programs the NCES crosswalk links to the sector's occupations, "
             f"counted as the gap counts them (allocated to occupations, then the sector's share), for each single year. "
             f"All completions in those programs, which also serve other sectors: {num(l0)} in {years[0]}"
             + (f", {num(l1)} in {years[-1]}." if len(years) > 1 else ".")]
    extra.append(f"Completions: IPEDS {years_text(years, mean=False)}.")
    return ChartData("trend", trend, title, subtitle(m, years=years, region=region), footer(m, extra), m,
                     base.notes, {"years": years})

"""What each chart shows, computed with the gap engine (no matplotlib here): the rows, a title that
states the finding, a subtitle (sector, region, years) and a footer (sources, vintages, method).

``completions_trend`` is the one computation the engine does not already offer: completions over the
ingested IPEDS years in the programs (6-digit CIPs) the NCES crosswalk links to the sector's
occupations, by award level, next to the part of them the gap counts as the sector's supply.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gapkit import __version__
from gapkit.analysis.engine import (
    SMALL_OPENINGS,
    SMALL_SUPPLY,
    GapData,
    GapOptions,
    GapResult,
    compute,
    published,
    sensitivity,
    validate_options,
)
from gapkit.codes import ABBR_TO_FIPS, STATES
from gapkit.errors import UsageError
from gapkit.render.charts import GAP_KINDS

if TYPE_CHECKING:
    import polars as pl

KINDS = GAP_KINDS
BARS_BY = ("group", "subsector", "occupation")
TOP_OCCUPATIONS = 12  # bars --by occupation: the occupations with the most openings
# the award presets that partition "all" (so their supplies add up to the all-levels supply)
AWARD_GROUPS = {"subbacc": "Certificates and associate's", "bachelor": "Bachelor's", "graduate": "Graduate"}
LINKED_SERIES = "All completions in linked programs"
PRESET_LABELS = {"all": "All award levels", "subbacc": "Sub-baccalaureate", "bachelor": "Bachelor's",
                 "graduate": "Graduate", "entry": "Entry-level match"}
ALLOC_LABELS = {"openings": "openings: shares by openings", "employment": "employment: shares by employment",
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
def region_name(region: str) -> str:
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


def ratio_words(r: float) -> str:
    """A ratio as said in a sentence: 12 openings per completer, or 3 completers per opening."""
    if r >= 1:
        x = f"{r:,.0f}" if r >= 10 else f"{r:.1f}"
        return f"{x} openings for every completer"
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
    where = region_name(region or method["region"])
    demand = f"openings: BLS projections {v['ep_occupations']['vintage']}"
    if "state_projections" in v:
        demand += f" with Projections Central {v['state_projections']['vintage']} for states"
    comp = years if years is not None else method["completions_years"]
    return (f"{method['sector_title']} · {where} · {demand} · completers: IPEDS {years_text(comp, mean=years is None)}"
            " · people per year")


def footer(method: dict[str, Any], extra: list[str] | None = None, *, alloc: str | None = None, awards: str | None = None,
           years: list[int] | None = None) -> str:
    """Sources with vintages, the method options, the engine's assumption and chart-specific notes."""
    v = method["vintages"]
    parts = [f"BLS Employment Projections {v['ep_occupations']['vintage']}"]
    if "nem_matrix" in v:
        parts.append(f"BLS National Employment Matrix {v['nem_matrix']['vintage']} (sector shares)")
    if "state_projections" in v:
        parts.append(f"Projections Central {v['state_projections']['vintage']} (state openings)")
    comp_years = years if years is not None else [int(x["vintage"]) for x in v["ipeds_completions"]]
    parts.append(f"NCES IPEDS completions {years_text(comp_years, mean=years is None)}, first majors")
    parts.append(f"NCES crosswalk {v['cip_soc']['vintage']}")
    opts = (f"awards={awards or method['awards']}, alloc={alloc or method['alloc']}, scope={method['scope']}, "
            f"retention={method['retention']:g}, extra supply={method['extra_supply'] or 'none'}")
    text = "Sources: " + "; ".join(parts) + f". Method: {opts}."
    if method.get("assumptions"):
        text += " Sector openings assume each occupation separates at the same rate in every industry."
    if (alloc or method["alloc"]) == "none":
        text += " alloc=none gives every linked occupation a program's full count (an upper bound)."
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


def _where(region: str) -> str:
    return "" if region == "US" else f" in {region_name(region)}"


# ---------------------------------------------------------------------------------------------
# per kind
# ---------------------------------------------------------------------------------------------
def prepare(kind: str, opts: GapOptions, data: GapData) -> ChartData:
    if kind not in KINDS:
        raise UsageError(f"Unknown chart kind {kind!r}: choose one of {', '.join(KINDS)}.")
    if opts.sector == "all":
        raise UsageError("Charts show one sector; pick --sector NAME (see `gapkit sectors`).")
    fn = {"bars": bars_data, "states": states_data, "scatter": scatter_data, "sensitivity": sensitivity_data,
          "trend": trend_data}[kind]
    return fn(opts, data)


def bars_data(opts: GapOptions, data: GapData, result: GapResult | None = None) -> ChartData:
    import polars as pl

    by = "group" if opts.by == "sector" else opts.by
    if by not in BARS_BY:
        raise UsageError(f"The bars chart shows --by group, subsector or occupation (not {opts.by}); "
                         "for states use `gapkit chart states`.")
    if opts.region == "all":
        raise UsageError("The bars chart shows one region; use --region US or a state (or `gapkit chart states`).")
    res = result or compute(replace(opts, by=by), data)
    t = published(res.table)
    if t.height == 0:
        raise UsageError(f"Sector {opts.sector}: no rows to chart for --by {by} in {opts.region}.")
    label_col = {"group": "group_title", "subsector": "subsector_title", "occupation": "title"}[by]
    total_open, total_sup = float(t["openings"].sum()), float(t["supply"].sum())
    n_all = t.height
    if by == "occupation":
        t = t.sort("openings", descending=True).head(TOP_OCCUPATIONS)
    frame = t.select(pl.col(label_col).alias("label"), "openings", "supply", "ratio", "gap", "flags")
    noun = {"group": "occupational group", "subsector": "subsector", "occupation": "occupation"}[by]
    m = res.method
    sector = m["sector_title"]
    head = (f"{sector}{_where(m['region'])} has {ratio_words(total_open / total_sup)}"
            if total_sup > 0 else f"{sector}{_where(m['region'])} has openings but no completers")
    rows = frame.to_dicts()
    short = [r for r in rows if r["ratio"] is None or r["ratio"] > 1]
    finite = [r for r in rows if r["ratio"] is not None]
    if by == "occupation":
        top = max(rows, key=lambda r: r["gap"])
        detail = f"the largest gap is for {lower_first(top['label'])} ({num(top['gap'])} a year)"
    elif len(short) == len(rows) and finite:
        # the headline names a real group: not a small-numbers row, not the sector's catch-all group
        from gapkit.config.sectors import load_sector

        catch_all = {g.title for g in load_sector(opts.sector_file or opts.sector).groups if "*" in g.soc}
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
    title = f"{head}; {detail}"
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


def states_data(opts: GapOptions, data: GapData, result: GapResult | None = None) -> ChartData:
    import polars as pl

    from gapkit.codes import STATE_FIPS_51

    if opts.region not in {"US", "us", "all", "USA", "national"}:
        raise UsageError(f"The states chart compares every state; drop --region {opts.region} (or use --region US).")
    res = result or compute(replace(opts, by="state", region="US"), data)
    t = published(res.table).select("region", "openings", "supply", "ratio", "gap", "flags")
    every = pl.DataFrame({"region": [STATES[f][0] for f in STATE_FIPS_51]})
    frame = every.join(t, on="region", how="left")
    have = frame.filter(pl.col("openings").is_not_null())
    if have.height == 0:
        raise UsageError(f"Sector {opts.sector}: no state projections ingested; run `gapkit ingest projections`.")
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
                f"{'has' if short == n else 'have'} more {m['sector_title'].lower()} openings than completers")
        title = (f"{lead}; the ratio runs from {_ratio_short(lo['ratio'])} in {name(lo['region'])} "
                 f"to {_ratio_short(hi['ratio'])} in {name(hi['region'])}")
    else:
        title = f"No state has {m['sector_title'].lower()} completers to compare with its openings"
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


def scatter_data(opts: GapOptions, data: GapData, result: GapResult | None = None) -> ChartData:
    import polars as pl

    if opts.region == "all":
        raise UsageError("The scatter chart shows one region; use --region US or a state.")
    res = result or compute(replace(opts, by="occupation"), data)
    t = published(res.table)
    floor = 1.0
    shown = t.filter(pl.col("openings") >= floor)
    hidden = t.height - shown.height
    if shown.height == 0:
        raise UsageError(f"Sector {opts.sector}: no occupation has at least one opening a year in {opts.region}.")
    frame = shown.select("soc_code", "title", "group", "openings", "supply", "ratio", "gap", "flags")
    top = frame.sort("gap", descending=True).row(0, named=True)
    m = res.method
    sup = "no completers" if top["supply"] <= 0 else f"{num(top['supply'])} completers"
    title = (f"{top['title']} have the largest gap{_where(m['region'])}: {num(top['openings'])} openings a year "
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
    from gapkit.config.sectors import load_sector

    sector = load_sector(opts.sector_file or opts.sector)
    return ChartData("scatter", frame, title, subtitle(m), footer(m, extra), m, res.notes,
                     {"floor": floor, "groups": [(g.key, g.title) for g in sector.groups]})


def sensitivity_data(opts: GapOptions, data: GapData, table: pl.DataFrame | None = None) -> ChartData:
    import polars as pl

    opts = validate_options(opts)
    if opts.region == "all":
        raise UsageError("The sensitivity chart shows one region; use --region US or a state.")
    sens = table if table is not None else sensitivity(opts, data)
    base = compute(replace(opts, by="sector"), data)
    m = base.method
    frame = published(sens).with_columns(
        ((pl.col("alloc") == opts.alloc) & (pl.col("awards") == opts.awards)).alias("chosen"))
    ratios = [r for r in frame["ratio"].to_list() if r is not None]
    chosen = frame.filter(pl.col("chosen"))
    cr = chosen["ratio"][0] if chosen.height else None
    if ratios:
        title = (f"Method choices move the {m['sector_title'].lower()} ratio{_where(m['region'])} from "
                 f"{_ratio_short(min(ratios))} to {_ratio_short(max(ratios))} openings per completer"
                 + (f"; the chosen method gives {_ratio_short(cr)}" if cr is not None else ""))
    else:
        title = f"No method choice finds {m['sector_title'].lower()} completers{_where(m['region'])}"
    extra = [f"Each row is an award-level preset, each marker an allocation mode; the ringed marker is the chosen "
             f"method (alloc={opts.alloc}, awards={opts.awards}). Openings are the same in every cell: "
             f"{num(float(frame['openings'][0]))} a year."]
    return ChartData("sensitivity", frame, title, subtitle(m), footer(m, extra, alloc="each", awards="each"), m,
                     base.notes, {"alloc": opts.alloc, "awards": opts.awards})


def completions_trend(opts: GapOptions, data: GapData) -> pl.DataFrame:
    """Completions per ingested IPEDS year for the sector's programs.

    The sector's programs are the 6-digit CIPs that the NCES crosswalk links to an occupation with
    sector openings in the region, at an award level the ``--awards`` preset accepts for it. Rows:
    ``year``, ``series``, ``kind``, ``completions`` where

    * ``kind == "counted"``: the part of those programs' first-major completions the gap counts as the
      sector's supply (allocation and scope applied), one row per award group (sub-baccalaureate,
      bachelor's, graduate; or the single preset chosen) — the gap's own supply for that single year;
    * ``kind == "linked"``: all first-major completions in those programs (``series`` "All completions in
      linked programs"), which also serve other sectors' occupations.
    """
    import polars as pl

    from gapkit.config.presets import award_config, preset

    opts = validate_options(opts)
    region = "US" if opts.region in {"US", "all"} else opts.region
    years = sorted(int(v) for v in data.store.vintages("ipeds_completions"))
    if not years:
        from gapkit.errors import MissingDataError

        raise MissingDataError("ipeds_completions", "gapkit ingest ipeds")
    occ = compute(replace(opts, by="occupation", region=region, completions_years=None), data).table
    socs = occ.filter(pl.col("openings") > 0).select("soc_code")
    ep = data.ep(data.vintage("ep_occupations", opts.vintage))
    p = preset(opts.awards)
    if p.by_entry_education:
        cfg = award_config()
        rows = [(edu, lvl) for edu, lvls in cfg.entry_education.items() for lvl in lvls]
        edu = pl.DataFrame(rows, schema={"education": pl.String, "awlevel": pl.Int8}, orient="row")
        eligible = ep.select("soc_code", "education").join(edu, on="education").select("soc_code", "awlevel")
    else:
        eligible = ep.select("soc_code").join(pl.DataFrame({"awlevel": p.levels}, schema={"awlevel": pl.Int8}), how="cross")
    programs = (data.crosswalk().join(socs, on="soc_code", how="semi").join(eligible, on="soc_code")
                .select("cipcode", "awlevel").unique())
    groups = list(AWARD_GROUPS) if opts.awards == "all" else [opts.awards]
    out = []
    for y in years:
        for g in groups:
            counted = compute(replace(opts, awards=g, by="sector", region=region, completions_years=(y,)), data).table
            out.append((y, AWARD_GROUPS.get(g, PRESET_LABELS.get(g, g)), "counted", float(counted["supply"].sum())))
        comp = data.completions((y,))
        if region != "US":
            comp = comp.filter(pl.col("state") == region)
        linked = float(comp.join(programs, on=["cipcode", "awlevel"], how="semi")["completions"].sum())
        out.append((y, LINKED_SERIES, "linked", linked))
    df = pl.DataFrame(out, schema={"year": pl.Int32, "series": pl.String, "kind": pl.String, "completions": pl.Float64},
                      orient="row")
    return df.with_columns(pl.col("completions").round(2))


def trend_data(opts: GapOptions, data: GapData, frame: pl.DataFrame | None = None) -> ChartData:
    import polars as pl

    opts = validate_options(opts)
    region = "US" if opts.region in {"US", "all"} else opts.region
    trend = frame if frame is not None else completions_trend(opts, data)
    years = sorted(set(trend["year"].to_list()))
    base = compute(replace(opts, by="sector", region=region, completions_years=(years[-1],)), data)
    m = base.method
    counted = trend.filter(pl.col("kind") == "counted").group_by("year").agg(pl.col("completions").sum()).sort("year")
    linked = trend.filter(pl.col("kind") == "linked").sort("year")
    first, last = float(counted["completions"][0]), float(counted["completions"][-1])
    what = f"Completers counted as {m['sector_title'].lower()} supply{_where(region)}"
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
    return ChartData("trend", trend, title, subtitle(m, years=years, region=region), footer(m, extra, years=years), m,
                     base.notes, {"years": years})

"""What each chart shows, computed with the gap engine (no matplotlib here): the rows, a title that
states the finding (and is true of the rows drawn: tests/test_charts.py checks each claim against
them), a subtitle (sector, region, years), a short footer (sources and vintages, the method options,
the chart's own notes: at most four lines when drawn) and the full method sentence, which goes into the
file's metadata and the brief.

A title is its clauses joined by "; " (``title_of``): a finding can be added as one more clause.

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
TOP_AREAS = 15  # bars --by metro|county|wda: the areas with the most openings
AREA_NOUN = {"metro": "metro area", "county": "county", "wda": "workforce area"}
AREA_NOUNS = {"metro area": "metro areas", "county": "counties", "workforce area": "workforce areas"}
ALLOC_LABELS = {"education": "education: entry routes × attainment",
                "openings": "openings: shares by openings", "employment": "employment: shares by employment",
                "equal": "equal: equal shares", "none": "none: full count to each (upper bound)"}
COVERAGE_MARK = "†"
SMALL_MARK = "*"


@dataclass
class ChartData:
    """What a chart draws. ``footer`` is the short footer printed under it; ``method_text`` is the full
    provenance sentence and every note (written into the file's metadata); ``notes`` are the engine's notes."""

    kind: str
    frame: pl.DataFrame
    title: str
    subtitle: str
    footer: str
    method: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    method_text: str = ""


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


def title_of(*clauses: str | None) -> str:
    """A title from its clauses ("Transportation has 10 openings for every completer", "operations is tightest at 29")."""
    return "; ".join(c for c in clauses if c)


def sources_short(m: dict[str, Any], ipeds_years: list[int] | None = None) -> str:
    """The sources and their vintages, without file hashes (those are in the metadata); ``ipeds_years``: the
    IPEDS years a chart draws when they are not the method's (the trend)."""
    from gapkit.analysis.results import sources_text

    return sources_text(m, short=True, ipeds_years=ipeds_years)


def options_short(m: dict[str, Any], *, alloc: str | None = None, awards: str | None = None) -> str:
    """The method options; scope, retention and extra supply only when not the defaults."""
    opts = [f"awards={awards or m['awards']}", f"alloc={alloc or m['alloc']}"]
    if m["scope"] != "sector":
        opts.append(f"scope={m['scope']}")
    if float(m["retention"]) != 1:
        opts.append(f"retention={m['retention']:g}")
    if m["extra_supply"]:
        opts.append(f"extra supply={m['extra_supply']}")
    return "Method: " + ", ".join(opts) + "."


def footer(method: dict[str, Any], extra: list[str] | None = None, *, alloc: str | None = None, awards: str | None = None,
           ipeds_years: list[int] | None = None) -> str:
    """The short footer: sources and vintages, method options, the chart's notes (most important first: a
    footer too long for four lines drops sentences from the end), the version."""
    parts = [sources_short(method, ipeds_years), options_short(method, alloc=alloc, awards=awards), *(extra or [])]
    return " ".join(parts) + f" Full method and notes: file\u00a0metadata; gapkit\u00a0{__version__}."


def method_text(method: dict[str, Any], extra: list[str] | None = None, *, alloc: str | None = None,
                awards: str | None = None) -> str:
    """The full provenance sentence (sources, vintages, sha256, options, assumptions) and every note of the chart."""
    text = method_line(method, alloc=alloc, awards=awards)
    for e in extra or []:
        text += " " + e
    return text + f" Chart: gapkit {__version__}."


def _coverage_note(n_flagged: int, n: int) -> str:
    return (f"{COVERAGE_MARK} IPEDS coverage caveat ({n_flagged} of {n}): much of the training happens outside "
            "Title IV institutions (CDL schools, apprenticeships, employers), so supply is understated.")


def _coverage_short() -> str:
    return (f"{COVERAGE_MARK} Supply understated: much training is outside Title IV schools (CDL schools, "
            "apprenticeships, employers).")


def _small_note() -> str:
    return f"{SMALL_MARK} Small numbers: under {SMALL_OPENINGS:.0f} openings or {SMALL_SUPPLY:.0f} completers a year."


def _small_short() -> str:
    return f"{SMALL_MARK} Under {SMALL_OPENINGS:.0f} openings or {SMALL_SUPPLY:.0f} completers a year."


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
    label_col = {"group": "group_title", "subsector": "subsector_title", "occupation": "title"}.get(by, "region_name")
    total_open, total_sup = float(t["openings"].sum()), float(t["supply"].sum())
    n_all = t.height
    if by == "occupation":
        t = t.sort("openings", descending=True).head(TOP_OCCUPATIONS)
    elif by in AREA_NOUN:
        t = t.sort("openings", descending=True).head(TOP_AREAS)
    frame = t.select(pl.col(label_col).alias("label"), "openings", "supply", "ratio", "gap", "flags")
    noun = {"group": "occupational group", "subsector": "subsector", "occupation": "occupation", **AREA_NOUN}[by]
    m = res.method
    if by in AREA_NOUN:
        return _area_bars(frame, res, head, by, noun, n_all, dnoun)
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
    title = title_of(lead, detail)
    cov = sum(1 for r in rows if COVERAGE_MARK in _marks(r["flags"]))
    small = sum(1 for r in rows if SMALL_MARK in _marks(r["flags"]))
    # the marks' keys first (a footer too long loses sentences from its end, and these explain marks on the chart)
    notes, full = [], []
    if cov:
        notes.append(_coverage_short())
        full.append(_coverage_note(cov, len(rows)))
    if small:
        notes.append(_small_short())
        full.append(_small_note())
    sub = subtitle(m)
    if by == "occupation":
        full.insert(0, f"The {len(rows)} occupations with the most openings of {n_all}.")
        sub += f" · the {len(rows)} of {n_all} occupations with the most openings"
    frame = frame.with_columns(pl.col("flags").map_elements(_marks, return_dtype=pl.String).alias("marks"))
    return ChartData("bars", frame, title, sub, footer(m, notes), m, res.notes,
                     {"by": by, "noun": noun, "total_openings": total_open, "total_supply": total_sup},
                     method_text(m, full))


def _area_bars(frame: pl.DataFrame, res: GapResult, head: Headline, by: str, noun: str, n_all: int, dnoun: str) -> ChartData:
    """A state's metros, counties or workforce areas side by side (the largest by openings): the title names the
    tightest and the loosest area with a ratio; areas need not cover the state (metros leave out rural counties),
    so no total is claimed for the state from them."""
    import polars as pl

    m = res.method
    rows = frame.to_dicts()
    finite = [r for r in rows if r["ratio"] is not None and "small numbers" not in r["flags"]] or \
        [r for r in rows if r["ratio"] is not None]
    state = region_name(m["region"], m.get("region_name"))
    lead = f"{m['sector_title']} in {state}'s {AREA_NOUNS[noun]}"
    if len(finite) >= 2:
        hi = max(finite, key=lambda r: r["ratio"])
        lo = min(finite, key=lambda r: r["ratio"])
        detail = (f"{dnoun} per completer run from {_ratio_short(lo['ratio'])} in {lo['label']} to "
                  f"{_ratio_short(hi['ratio'])} in {hi['label']}")
    elif finite:
        detail = f"{finite[0]['label']} has {ratio_words(finite[0]['ratio'], dnoun)}"
    else:
        detail = f"no {noun} has enough completers for a ratio"
    title = title_of(lead, detail)
    sub = subtitle(m) + (f" · the {len(rows)} of {n_all} {AREA_NOUNS[noun]} with the most openings" if len(rows) < n_all else "")
    notes, full = [], [f"The {len(rows)} {AREA_NOUNS[noun]} of {n_all} with the most openings."]
    if head.low is not None and head.high is not None:
        full.append(f"{state} as a whole: {head.text()}.")
    if any(COVERAGE_MARK in _marks(r["flags"]) for r in rows):
        notes.append(_coverage_short())
        full.append(_coverage_note(sum(1 for r in rows if COVERAGE_MARK in _marks(r["flags"])), len(rows)))
    if any(SMALL_MARK in _marks(r["flags"]) for r in rows):
        notes.append(_small_short())
        full.append(_small_note())
    frame = frame.with_columns(pl.col("flags").map_elements(_marks, return_dtype=pl.String).alias("marks"))
    return ChartData("bars", frame, title, sub, footer(m, notes), m, res.notes,
                     {"by": by, "noun": noun, "total_openings": float(frame["openings"].sum()),
                      "total_supply": float(frame["supply"].sum())}, method_text(m, full))


def states_data(r: Resolved, tables: Tables, result: GapResult | None = None, highlight: str | None = None) -> ChartData:
    """Every state's ratio; a question asked for one state (``--region OH``) highlights that state (``highlight``:
    another state's postal code, e.g. a metro brief's state)."""
    import polars as pl

    from gapkit.codes import STATE_FIPS_51

    highlight = highlight or (r.region.code if r.region.single_state else None)
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
    has_dc = "DC" in set(have["region"].to_list())

    def name(abbr: str) -> str:
        return region_name(abbr) + (SMALL_MARK if abbr in odd else "")

    sector = m["sector_title"].lower()
    if short == n:
        lead = f"Every state{' and DC' if has_dc else ''} has more {sector} {DEMAND_NOUN[r.demand]} than completers"
    else:
        lead = f"{short} of {n} states{' (counting DC)' if has_dc else ''} have more {sector} {DEMAND_NOUN[r.demand]} than completers"
    if fin.height:
        lo, hi = fin.row(0, named=True), fin.row(-1, named=True)
        spread = (f"the ratio runs from {_ratio_short(lo['ratio'])} in {name(lo['region'])} "
                  f"to {_ratio_short(hi['ratio'])} in {name(hi['region'])}")
        title = title_of(lead, spread)
    else:
        title = f"No state has {sector} completers to compare with its {DEMAND_NOUN[r.demand]}"
    if highlight:
        row = frame.filter(pl.col("region") == highlight).row(0, named=True)
        if row["openings"] is None:
            said = "no state projections"
        elif row["ratio"] is None:
            said = "no completers"
        else:
            said = _ratio_short(row["ratio"])
        title = title_of(title, f"{region_name(highlight)} (outlined) has {said}")
    missing = frame.filter(pl.col("openings").is_null())["region"].to_list()
    nosup = have.filter(pl.col("ratio").is_null())["region"].to_list()
    estimate = "State openings: the state's published openings × the national sector share (estimates)."
    notes, full = [estimate], [estimate]
    frame = frame.with_columns(pl.col("region").is_in(odd).alias("odd"),
                               (pl.col("region") == (highlight or "")).alias("highlight"))
    if odd:
        notes.append(f"{SMALL_MARK} Published state openings look odd for {', '.join(odd)}; shown as published.")
        full.append(f"{SMALL_MARK} Published state openings look odd for {', '.join(odd)} (openings far from 6-20% of "
                    "employment); shown as published.")
    if missing:
        notes.append(f"No state projections ingested for {', '.join(missing)}.")
        full.append(notes[-1])
    if nosup:
        notes.append(f"No completers in {', '.join(nosup)}.")
        full.append(notes[-1])
    full.append("Colour: openings per completer on the fixed gapkit scale, log, 1/10 to 10 (clipped beyond), the same "
                "for every sector.")
    return ChartData("states", frame, title, subtitle({**m, "region": "all"}), footer(m, notes), m, res.notes,
                     {"missing": missing, "no_supply": nosup, "highlight": highlight}, method_text(m, full))


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
    top = frame.sort(["gap", "soc_code"], descending=[True, False]).row(0, named=True)
    m = res.method
    sup = "no completers" if top["supply"] <= 0 else f"{num(top['supply'])} completers"
    title = title_of(f"{top['title']} have the largest gap{_where(m['region'], m.get('region_name'))}: {num(top['openings'])} {DEMAND_NOUN[r.demand]} a year "
                     f"against {sup}")
    below = frame.filter((pl.col("supply") > 0) & (pl.col("supply") < floor)).height
    none_n = frame.filter(pl.col("supply") <= 0).height
    short = frame.filter(pl.col("openings") > pl.col("supply")).height
    notes = [f"{short} of {frame.height} occupations have more openings than completers (below the diagonal or in the "
             "strip)." if none_n else f"{short} of {frame.height} occupations lie below the diagonal (more openings than "
             "completers)."]
    full = list(notes)
    if hidden:
        notes.append(f"{hidden} occupations with under 1 opening a year are not shown.")
        full.append(notes[-1])
    if below:
        notes.append(f"{below} with under 1 completer a year sit on the bottom edge (≤1).")
        full.append(notes[-1])
    if none_n:
        full.append(f"{none_n} with no completers are in the strip below the axis.")
    sector = r.sector
    return ChartData("scatter", frame, title, subtitle(m), footer(m, notes), m, res.notes,
                     {"floor": floor, "groups": [(g.key, g.title) for g in sector.groups]}, method_text(m, full))


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
        title = title_of(f"Method choices move the {m['sector_title'].lower()} ratio{_where(m['region'], m.get('region_name'))} from "
                         f"{_ratio_short(min(ratios))} to {_ratio_short(max(ratios))} {DEMAND_NOUN[r.demand]} per completer",
                         f"the chosen method gives {_ratio_short(cr)}" if cr is not None else None)
    else:
        title = f"No method choice finds {m['sector_title'].lower()} completers{_where(m['region'], m.get('region_name'))}"
    notes = [f"{DEMAND_NOUN[r.demand].capitalize()} are the same in every cell: {num(float(frame['openings'][0]))} a year."]
    full = [f"Each row is an award-level preset, each marker an allocation mode; the ringed marker is the chosen "
            f"method (alloc={r.alloc}, awards={r.awards}).", *notes]
    return ChartData("sensitivity", frame, title, subtitle(m), footer(m, notes, alloc="each", awards="each"), m,
                     base.notes, {"alloc": r.alloc, "awards": r.awards},
                     method_text(m, full, alloc="each", awards="each"))


def trend_words(years: list[int], totals: list[float]) -> str:
    """What the series did, true of the numbers drawn (rounded as printed): 'rose every year from 33,862 in 2021
    to 38,100 in 2024 (+13%)', 'rose from 1,081 in 2021 to 1,181 in 2022, then fell to 1,123 in 2024', or, with
    more turns, 'fell from 25,627 in 2021 to 25,122 in 2024 (-2%), not steadily: it rose in 2023'."""
    vals = [round(v) for v in totals]
    if len(vals) == 1:
        return f": {num(vals[0])} in {years[0]} (only one IPEDS year is ingested)"
    if len(set(vals)) == 1:
        return f" held at {num(vals[0])} a year from {years[0]} to {years[-1]}"
    # runs of the same direction (a year with no change joins the run it sits in)
    turns = [0]
    direction = 0
    for i in range(1, len(vals)):
        d = (vals[i] > vals[i - 1]) - (vals[i] < vals[i - 1])
        if d == 0:
            continue
        if direction and d != direction:
            turns.append(i - 1)
        direction = d
    turns.append(len(vals) - 1)

    def verb(a: int, b: int) -> str:
        return "rose" if vals[b] > vals[a] else ("fell" if vals[b] < vals[a] else "held")

    first, last = vals[0], vals[-1]
    pct = f" ({(last - first) / first * 100:+.0f}%)" if first > 0 else ""
    if len(turns) == 2:
        every = " every year" if all(vals[i] != vals[i - 1] for i in range(1, len(vals))) and len(vals) > 2 else ""
        return f" {verb(0, len(vals) - 1)}{every} from {num(first)} in {years[0]} to {num(last)} in {years[-1]}{pct}"
    if len(turns) == 3:
        a, b, c = turns
        return (f" {verb(a, b)} from {num(vals[a])} in {years[a]} to {num(vals[b])} in {years[b]}, then "
                f"{verb(b, c)} to {num(vals[c])} in {years[c]}")
    # three or more runs: the overall change, and the years that went the other way
    overall = verb(0, len(vals) - 1)
    if overall == "held":
        return (f" was {num(last)} in both {years[0]} and {years[-1]}, moving between {num(min(vals))} and {num(max(vals))} "
                "in between")
    against = [years[i] for i in range(1, len(vals)) if (vals[i] - vals[i - 1]) * (last - first) < 0]
    other = "fell" if overall == "rose" else "rose"
    return (f" {overall} from {num(first)} in {years[0]} to {num(last)} in {years[-1]}{pct}, not steadily: it {other} in "
            + _and([str(y) for y in against]))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def trend_data(r: Resolved, tables: Tables, frame: pl.DataFrame | None = None) -> ChartData:
    import polars as pl

    region = "US" if r.region.kind in {"nation", "states"} else r.region.code
    trend = frame if frame is not None else completions_trend(r, tables)
    years = sorted(set(trend["year"].to_list()))
    base = compute(r.at(by="sector", region=region, completions_years=(years[-1],)), tables)
    m = base.method
    counted = trend.filter(pl.col("kind") == "counted").group_by("year").agg(pl.col("completions").sum()).sort("year")
    linked = trend.filter(pl.col("kind") == "linked").sort("year")
    totals = [float(v) for v in counted["completions"].to_list()]
    what = f"Completers counted as {m['sector_title'].lower()} supply{_where(region, m.get('region_name'))}"
    title = title_of(what + trend_words(years, totals))
    l0, l1 = float(linked["completions"][0]), float(linked["completions"][-1])
    all_linked = (f"All completions in those programs (which also serve other sectors): {num(l0)} in {years[0]}"
                  + (f", {num(l1)} in {years[-1]}." if len(years) > 1 else "."))
    notes = ["Bars: completions in the programs the NCES crosswalk links to the sector's occupations, counted as the gap "
             "counts them, each year.", all_linked]
    full = ["Bars: first-major completions in the 6-digit programs the NCES crosswalk links to the sector's occupations, "
            "counted as the gap counts them (allocated to occupations, then the sector's share), for each single year. "
            + all_linked, f"Completions: IPEDS {years_text(years, mean=False)}."]
    return ChartData("trend", trend, title, subtitle(m, years=years, region=region), footer(m, notes, ipeds_years=years), m,
                     base.notes, {"years": years, "totals": totals}, method_text(m, full))

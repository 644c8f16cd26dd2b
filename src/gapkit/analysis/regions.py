"""Regions below the state: metros, counties, workforce areas and a user's own county lists.

A region is resolved once (:func:`resolve_region`, called by ``Query.resolve``) into a
:class:`~gapkit.analysis.query.Region` that lists its counties. The geography comes from the ingested
``geo`` datasets: the Census/OMB CBSA delineation (county → metro), the BLS OEWS area definitions
(county → OEWS area) and county → workforce development area files.

Demand in a sub-state area (every figure labelled with its method in the output's flags):

* where the state publishes sub-state projections (California EDD: dataset ``substate_projections``),
  the area's own openings, exits and transfers, times the national sector share;
* a sector, where the BLS QCEW area files cover every county of the area: the **industry-based method** —
  QCEW private employment in each subsector's NAICS industries × that subsector's national staffing
  pattern (National Employment Matrix) × each occupation's openings, entrant and growth rates (the
  state's from Projections Central where published, else national). A suppressed QCEW cell is a bounded
  estimate: its parent industry's employment minus the disclosed parts, shared among the suppressed
  ones by establishments (flagged);
* otherwise the **share method**: the state's (gated) openings × the area's share of the state's
  employment in the occupation (OEWS metro/nonmetro employment; for a county list that is not an OEWS
  area, QCEW employment by industry × the national staffing pattern), times the national sector share.

Supply: IPEDS completions of institutions in the area's counties (``--supply-area state``: the whole
state's), allocated as everywhere else.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gapkit.analysis.tables import SMALL
from gapkit.errors import GapkitError, MissingDataError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl

    from gapkit.analysis.query import Region, Resolved
    from gapkit.analysis.tables import Tables
    from gapkit.config.sectors import Sector

SUBSTATE = ("metro", "county", "wda", "custom")
INDUSTRY_BASED = "industry-based (QCEW x staffing pattern)"
OEWS_SHARE = "OEWS area share of the state"
QCEW_SHARE = "QCEW-staffing share of the state"
EDD = "state sub-state projections"
QCEW_ESTIMATED = "suppressed QCEW cells estimated"
OEWS_NOT_RELEASED = "unreleased OEWS cells estimated"
GEO_HINT = "Run `gapkit ingest geo` (county -> metro and OEWS area definitions; add --from ../shared offline)."


# ---------------------------------------------------------------------------------------------
# the geography
# ---------------------------------------------------------------------------------------------
def counties(t: Tables) -> pl.DataFrame:
    """Every known county: county_fips, county_name, state, cbsa_code, cbsa_title, cbsa_type, oews_area, oews_area_name."""
    import polars as pl

    def load() -> pl.DataFrame:
        frames = []
        if t.has("cbsa_delineation"):
            frames.append(t.scan("cbsa_delineation").select(
                "county_fips", "county_name", "state", "cbsa_code", "cbsa_title", "cbsa_type").collect(engine=SMALL))
        if t.has("oews_area_definitions"):
            oews = (t.scan("oews_area_definitions").filter(pl.col("township_code").is_null())
                    .select("county_fips", pl.col("name").alias("county_name"), "state",
                            pl.col("area_code").alias("oews_area"), pl.col("area_name").alias("oews_area_name")).collect(engine=SMALL))
            frames.append(oews)
        if not frames:
            raise MissingDataError("cbsa_delineation", "gapkit ingest geo")
        out = frames[0]
        for f in frames[1:]:
            out = out.join(f, on="county_fips", how="full", coalesce=True, suffix="_o").with_columns(
                pl.coalesce("county_name", "county_name_o").alias("county_name"), pl.coalesce("state", "state_o").alias("state"),
            ).drop("county_name_o", "state_o")
        for c in ("cbsa_code", "cbsa_title", "cbsa_type", "oews_area", "oews_area_name"):
            if c not in out.columns:
                out = out.with_columns(pl.lit(None, pl.String).alias(c))
        return out.unique("county_fips").sort("county_fips")

    return t.cached("geo-counties", load)


def metros(t: Tables) -> pl.DataFrame:
    """Every CBSA: cbsa_code, cbsa_title, cbsa_type (metro/micro), counties (list), states (list)."""
    import polars as pl

    def load() -> pl.DataFrame:
        c = counties(t).filter(pl.col("cbsa_code").is_not_null())
        return (c.group_by("cbsa_code", "cbsa_title", "cbsa_type")
                .agg(pl.col("county_fips").sort().alias("counties"), pl.col("state").unique().sort().alias("states"))
                .sort("cbsa_code"))

    return t.cached("geo-metros", load)


def workforce_areas(t: Tables) -> pl.DataFrame:
    """Workforce development areas: state, area_code, area_name, counties (list), note."""
    import polars as pl

    def load() -> pl.DataFrame:
        if not t.has("workforce_areas"):
            raise MissingDataError("workforce_areas", "gapkit ingest geo")
        return (t.scan("workforce_areas").collect(engine=SMALL).group_by("state", "area_code", "area_name")
                .agg(pl.col("county_fips").sort().alias("counties"), pl.col("note").drop_nulls().first())
                .sort("state", pl.col("area_code").cast(pl.Int32, strict=False)))

    return t.cached("geo-wda", load)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _region(kind: str, code: str, name: str, county_list: list[str], t: Tables, **extra: Any) -> Region:
    from gapkit.analysis.query import Region
    from gapkit.codes import STATES

    known = _county_states(t)
    found = [s for f in dict.fromkeys(county_list) for s in known.get(f, ())]  # the known counties' states
    states = tuple(sorted(set(found) or {STATES[f[:2]][0] for f in county_list if f[:2] in STATES}))
    # the primary state: the one with most of the counties (for cross-state metros, the state named first in the title)
    primary = extra.pop("state", None)
    if primary is None and states:
        counts = {s: found.count(s) for s in states}
        primary = max(states, key=lambda s: (counts[s], -states.index(s)))
    fips = {a: f for f, (a, _) in STATES.items()}.get(primary or "")
    return Region(code=code, kind=kind, name=name, fips=fips, state=primary, states=states,
                  counties=tuple(sorted(county_list)), **extra)


def _county_states(t: Tables) -> dict[str, list[str]]:
    """County FIPS -> the state of each known row of it (read once: a state's areas are built from it by lookups)."""
    def load() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for f, st in counties(t).select("county_fips", "state").rows():
            if st is not None:
                out.setdefault(f, []).append(st)
        return out

    return t.cached("county-states", load)


def resolve_metro(text: str, t: Tables) -> Region:
    """``metro:18140`` or ``metro:columbus`` (a unique part of a CBSA title; several: the one gapkit has data for)."""
    import polars as pl

    want = text.strip()
    m = metros(t)
    if re.fullmatch(r"\d{5}", want):
        hit = m.filter(pl.col("cbsa_code") == want)
        if hit.height == 0:
            raise UsageError(f"--region metro:{want}: no CBSA {want} in the {t.vintage('cbsa_delineation')} delineation. "
                             "List them with `gapkit regions STATE`.")
    else:
        key = _norm(want)
        if not key:
            raise UsageError("--region metro:NAME: give a CBSA code (metro:18140) or a metro name (metro:columbus).")
        titles = m.with_columns(pl.col("cbsa_title").map_elements(_norm, return_dtype=pl.String).alias("_t"))
        hit = titles.filter(pl.col("_t") == key)
        if hit.height == 0:
            hit = titles.filter(pl.col("_t").str.contains(rf"(^| ){re.escape(key)}"))
        if hit.height > 1:
            metro_only = hit.filter(pl.col("cbsa_type") == "metro")
            hit = metro_only if metro_only.height else hit
        if hit.height > 1:  # prefer the metros gapkit has area data for (OEWS metro rows or QCEW counties)
            have = _areas_with_data(t)
            known = hit.filter(pl.col("cbsa_code").is_in(list(have)))
            if known.height == 1:
                hit = known
        if hit.height == 0:
            import difflib

            near = difflib.get_close_matches(key, titles["_t"].to_list(), n=3, cutoff=0.6)
            names = titles.filter(pl.col("_t").is_in(near)).select("cbsa_code", "cbsa_title").rows()
            hint = ("; did you mean " + " or ".join(f"metro:{c} ({n})" for c, n in names) + "?") if names else ""
            raise UsageError(f"--region metro:{want}: no metropolitan or micropolitan area is called that{hint} "
                             "List them with `gapkit regions STATE`.")
        if hit.height > 1:
            shown = "; ".join(f"metro:{c} {n}" for c, n in hit.select("cbsa_code", "cbsa_title").rows()[:6])
            raise UsageError(f"--region metro:{want} matches {hit.height} areas: {shown}. Give the code or more of the name.")
    row = hit.row(0, named=True)
    return _region("metro", f"metro:{row['cbsa_code']}", row["cbsa_title"], row["counties"], t, cbsa=row["cbsa_code"])


def _areas_with_data(t: Tables) -> set[str]:
    """CBSA codes with OEWS metro rows ingested."""
    import polars as pl

    def load() -> set[str]:
        out: set[str] = set()
        for y in t.vintages("oews_wages"):
            out |= set(t.scan("oews_wages", y).filter(pl.col("area_type") == "metro").select("area_code").unique().collect(engine=SMALL)
                       ["area_code"].to_list())
        return out

    return t.cached("geo-metros-with-data", load)


def resolve_counties(text: str, t: Tables) -> Region:
    """``county:39049,39041``: five-digit county FIPS codes."""
    import polars as pl

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UsageError("--region county:FIPS: give one or more five-digit county FIPS codes, e.g. county:39049,39041.")
    dup = sorted({p for p in parts if parts.count(p) > 1})
    if dup:  # as a region file: a county listed twice is a typo for another one, not a weight
        raise UsageError(f"--region county:{text}: county listed twice: {', '.join(dup)}; list each county once.")
    known = counties(t)
    for p in parts:
        if not re.fullmatch(r"\d{5}", p):
            raise UsageError(f"--region county:{text}: {p!r} is not a five-digit county FIPS code (e.g. 39049 for Franklin County, OH).")
        if known.filter(pl.col("county_fips") == p).height == 0:
            raise UsageError(f"--region county:{text}: {p} is not a county of the ingested geography. {GEO_HINT}")
    rows = known.filter(pl.col("county_fips").is_in(parts)).sort("county_fips")
    names = [f"{n}, {s}" for n, s in rows.select("county_name", "state").rows()]
    name = names[0] if len(names) == 1 else f"{len(names)} counties ({'; '.join(names[:4])}{'; ...' if len(names) > 4 else ''})"
    return _region("county", "county:" + "+".join(sorted(set(parts))), name, sorted(set(parts)), t)


def resolve_wda(text: str, t: Tables) -> Region:
    """``wda:TX-9``: a workforce development area from an ingested county -> workforce area file."""
    import polars as pl

    m = re.fullmatch(r"([A-Za-z]{2})-(\w+)", text.strip())
    if not m:
        raise UsageError(f"--region wda:{text}: give a state and an area number, e.g. wda:TX-9 (`gapkit regions TX` lists them).")
    st, code = m.group(1).upper(), m.group(2)
    w = workforce_areas(t)
    hit = w.filter((pl.col("state") == st) & (pl.col("area_code") == code))
    if hit.height == 0:
        have = w.filter(pl.col("state") == st)
        known = ", ".join(f"{st}-{c}" for c in have["area_code"].to_list()[:30])
        if have.height == 0:
            raise UsageError(f"--region wda:{text}: no county -> workforce area file for {st} is ingested (gapkit ships Texas's: "
                             "`gapkit ingest geo`; `gapkit regions TX --kind wda` lists its areas).")
        raise UsageError(f"--region wda:{text}: no workforce area {code} in {st}'s file (known: {known}).")
    row = hit.row(0, named=True)
    return _region("wda", f"wda:{st}-{code}", f"{row['area_name']} workforce area ({st})", row["counties"], t, state=st,
                   note=row["note"])


def region_from_file(path: str, t: Tables) -> Region:
    """A user's region file (TOML: name, title, counties = [FIPS, ...]), validated, then checked against the geography."""
    import polars as pl

    from gapkit.config.user_files import read_region_file

    spec = read_region_file(path)
    known = counties(t)
    unknown = [c for c in spec["counties"] if known.filter(pl.col("county_fips") == c).height == 0]
    if unknown:
        raise UsageError(f"--region-file {path}: counties {', '.join(unknown)} are not counties of the ingested geography "
                         f"(check the FIPS codes). {GEO_HINT}")
    return _region("custom", f"custom:{spec['name']}", spec["title"], spec["counties"], t)


def areas_of(region: Region, grain: str, t: Tables) -> list[Region]:
    """The metros (CBSAs of type metro), counties or workforce areas of a state, for ``--by metro|county|wda``."""
    import polars as pl

    st = region.code
    if grain == "metro":
        m = metros(t).filter(pl.col("states").list.contains(st) & (pl.col("cbsa_type") == "metro"))
        return [_region("metro", f"metro:{c}", n, cs, t, cbsa=c) for c, n, cs in m.select("cbsa_code", "cbsa_title", "counties").rows()]
    if grain == "county":
        c = counties(t).filter(pl.col("state") == st)
        return [_region("county", f"county:{f}", f"{n}, {st}", [f], t) for f, n in c.select("county_fips", "county_name").rows()]
    w = workforce_areas(t).filter(pl.col("state") == st)
    if w.height == 0:
        raise UsageError(f"--by wda --region {st}: no county -> workforce area file for {st} is ingested (gapkit ships Texas's: "
                         "`gapkit ingest geo`).")
    return [_region("wda", f"wda:{st}-{c}", f"{n} workforce area ({st})", cs, t, state=st)
            for c, n, cs in w.select("area_code", "area_name", "counties").rows()]


def catalog(t: Tables, state: str | None = None) -> pl.DataFrame:
    """What ``--region`` accepts: kind, code, name, counties, data (what gapkit has for it), for one state or all."""
    import polars as pl

    rows: list[tuple[str, str, str, int, str]] = []
    have = _areas_with_data(t)
    q = qcew_counties(t)
    m = metros(t)
    if state:
        m = m.filter(pl.col("states").list.contains(state))
    for code, title, typ, cs in m.select("cbsa_code", "cbsa_title", "cbsa_type", "counties").rows():
        data = [x for x, ok in (("OEWS area", code in have), ("QCEW all counties", set(cs) <= q)) if ok]
        rows.append(("metro" if typ == "metro" else "micro", f"metro:{code}", title, len(cs), ", ".join(data)))
    if t.has("workforce_areas"):
        w = workforce_areas(t)
        if state:
            w = w.filter(pl.col("state") == state)
        for st, code, name, cs in w.select("state", "area_code", "area_name", "counties").rows():
            rows.append(("wda", f"wda:{st}-{code}", name, len(cs), "QCEW all counties" if set(cs) <= q else ""))
    c = counties(t)
    if state:
        c = c.filter(pl.col("state") == state)
    for f, n, st in c.select("county_fips", "county_name", "state").rows():
        rows.append(("county", f"county:{f}", f"{n}, {st}", 1, "QCEW" if f in q else ""))
    return pl.DataFrame(rows, schema={"kind": pl.String, "region": pl.String, "name": pl.String, "counties": pl.Int32,
                                      "area_data": pl.String}, orient="row")


# ---------------------------------------------------------------------------------------------
# area employment
# ---------------------------------------------------------------------------------------------
def qcew_year(t: Tables) -> str:
    if not t.has("qcew_area"):
        raise MissingDataError("qcew_area", "gapkit ingest qcew --counties FIPS,...")
    return t.vintages("qcew_area")[-1]


def qcew_counties(t: Tables) -> set[str]:
    """Counties with a QCEW area file ingested for the newest QCEW year."""
    import polars as pl

    if not t.has("qcew_area"):
        return set()
    return t.cached(("qcew-counties", qcew_year(t)), lambda: set(
        t.scan("qcew_area", qcew_year(t)).select(pl.col("area_fips").unique()).collect(engine=SMALL)["area_fips"].to_list()))


def qcew_employment(t: Tables, county_list: tuple[str, ...], codes: list[str]) -> tuple[dict[str, float], set[str]]:
    """Private employment (own_code 5) of each NAICS code summed over the counties, with suppressed cells estimated
    (parent minus disclosed siblings, shared by establishments). Returns {code: employment} and the codes estimated."""
    if not t.has("qcew_area"):
        raise MissingDataError("qcew_area", f"gapkit ingest qcew --counties {','.join(county_list)}")
    year = qcew_year(t)
    have = qcew_counties(t)
    missing = [c for c in county_list if c not in have]
    if missing:
        raise UsageError(f"No QCEW {year} area file is ingested for county {', '.join(missing[:8])}"
                         f"{' and more' if len(missing) > 8 else ''}: run `gapkit ingest qcew --counties {','.join(missing)} "
                         f"--years {year}` (or ingest the files with --from).")
    import polars as pl

    v = (_qcew_values(t, year).filter(pl.col("area_fips").is_in(list(county_list)) & pl.col("industry_code").is_in(codes))
         .group_by("industry_code").agg(pl.col("value").sum(), pl.col("estimated").any()))
    out = dict.fromkeys(codes, 0.0)  # a code no county has: no employment
    estimated: set[str] = set()
    for code, value, est in v.iter_rows():
        out[code] = float(value or 0.0)
        if est:
            estimated.add(code)
    return out, estimated


NAICS_RANGES = {"31": "31-33", "32": "31-33", "33": "31-33", "44": "44-45", "45": "44-45", "48": "48-49", "49": "48-49"}


def _qcew_values(t: Tables, year: str) -> pl.DataFrame:
    """(area_fips, industry_code, value, estimated): every ingested county's private employment (ownership 5) in every
    QCEW industry code, a suppressed cell estimated as its parent's employment (itself estimated when suppressed) less
    the disclosed siblings', shared among the suppressed siblings by establishments (equally when they have none); a
    suppressed total is 0. Resolved level by level for all counties at once; read once per Tables."""
    import polars as pl

    def load() -> pl.DataFrame:
        c = pl.col("industry_code")
        ranged = c.str.contains("-", literal=True)
        parent = (pl.when(c == "10").then(pl.lit(None, pl.String))
                  .when(ranged | (c.str.len_chars() == 2)).then(pl.lit("10"))
                  .when(c.str.len_chars() == 3).then(c.str.slice(0, 2).replace(NAICS_RANGES))
                  .otherwise(c.str.head(-1)))
        depth = pl.when(c == "10").then(1).when(ranged).then(2).otherwise(c.str.len_chars().cast(pl.Int32))
        hidden = pl.col("suppressed").fill_null(False) | pl.col("employment").is_null()
        siblings = ["area_fips", "parent", "depth"]  # domains (101, 102) are not siblings of the sectors under '10'
        cells = (t.scan("qcew_area", year).filter(pl.col("own_code") == "5")
                 .select("area_fips", "industry_code", "employment", pl.col("establishments").cast(pl.Float64).fill_null(0.0),
                         parent.alias("parent"), depth.alias("depth"), hidden.alias("hidden"))
                 .unique(["area_fips", "industry_code"], keep="last", maintain_order=True)
                 .with_columns(
                     pl.when(pl.col("hidden")).then(0.0).otherwise(pl.col("employment")).sum().over(siblings).alias("_disclosed"),
                     pl.when(pl.col("hidden")).then(pl.col("establishments")).otherwise(0.0).sum().over(siblings).alias("_est"),
                     pl.col("hidden").sum().over(siblings).alias("_n"))
                 .collect(engine=SMALL))
        share = pl.when(pl.col("_est") > 0).then(pl.col("establishments") / pl.col("_est")).otherwise(1.0 / pl.col("_n"))
        done = pl.DataFrame(schema={"area_fips": pl.String, "industry_code": pl.String, "value": pl.Float64, "estimated": pl.Boolean})
        for d in sorted(cells["depth"].unique().to_list()):  # a parent is always resolved before its children
            part = cells.filter(pl.col("depth") == d).join(
                done.select("area_fips", pl.col("industry_code").alias("parent"), pl.col("value").alias("_parent")),
                on=["area_fips", "parent"], how="left")
            part = part.select(
                "area_fips", "industry_code",
                pl.when(~pl.col("hidden")).then(pl.col("employment")).when(pl.col("parent").is_null()).then(0.0)
                .otherwise((pl.col("_parent").fill_null(0.0) - pl.col("_disclosed")).clip(lower_bound=0.0) * share).alias("value"),
                pl.col("hidden").alias("estimated"))
            done = pl.concat([done, part])
        return done

    return t.cached(("qcew-values", year), load)


def staffing(r: Resolved, t: Tables) -> pl.DataFrame:
    """(sector, subsector, soc_code, staff): each subsector's national staffing pattern — its matrix employment in the
    occupation over the subsector's total employment (restricted subsectors: over the listed occupations' total)."""
    key = ("staffing", r.matrix_cycle, tuple(x.name for x in r.sectors), str(r.query.sector_file or ""))
    return t.cached(key, lambda: _staffing(r, t))


def _staffing(r: Resolved, t: Tables) -> pl.DataFrame:
    import polars as pl

    from gapkit.analysis.method import sector_members

    open_members, restricted = sector_members(r)
    assert r.matrix_cycle is not None
    m = (t.scan("nem_matrix", r.matrix_cycle)
         .filter(pl.col("industry_type") == "Line item")
         .select("industry_code", "occupation_code", "occupation_type", pl.col("emp_base_k").fill_null(0.0)).collect(engine=SMALL))
    totals = m.filter(pl.col("occupation_code") == "00-0000").select("industry_code", pl.col("emp_base_k").alias("total"))
    lines = t.harmonize(m.filter(pl.col("occupation_type") == "Line item").rename({"occupation_code": "soc_code"}))
    a = lines.join(open_members, on="industry_code", how="inner").join(totals, on="industry_code", how="left")
    open_part = (a.group_by("sector", "subsector", "soc_code").agg(pl.col("emp_base_k").sum())
                 .join(a.select("sector", "subsector", "industry_code", "total").unique()
                       .group_by("sector", "subsector").agg(pl.col("total").sum()), on=["sector", "subsector"])
                 .select("sector", "subsector", "soc_code", (pl.col("emp_base_k") / pl.col("total")).alias("staff")))
    b = lines.join(restricted, on=["industry_code", "soc_code"], how="inner")
    restricted_part = (b.group_by("sector", "subsector", "soc_code").agg(pl.col("emp_base_k").sum())
                       .with_columns((pl.col("emp_base_k") / pl.col("emp_base_k").sum().over("sector", "subsector")).alias("staff"))
                       .select("sector", "subsector", "soc_code", "staff"))
    return pl.concat([open_part, restricted_part]).filter(pl.col("staff") > 0)


# ---------------------------------------------------------------------------------------------
# demand
# ---------------------------------------------------------------------------------------------
def _edd_areas(t: Tables, area: Region) -> list[str] | None:
    """The sub-state projection areas (e.g. California EDD) whose counties make up ``area`` exactly, or None."""

    if not t.has("substate_projections") or area.state is None or len(area.states) != 1:
        return None
    pieces: list[str] = []
    covered: set[str] = set()
    want = set(area.counties)
    for name, fips in _edd_catalog(t, area.state):
        if fips <= want:
            pieces.append(name)
            covered |= fips
    return pieces if covered == want and pieces else None


def _edd_catalog(t: Tables, state: str) -> list[tuple[str, set[str]]]:
    """The state's sub-state projection areas with their counties' FIPS codes (areas whose counties all resolve)."""
    import polars as pl

    def load() -> list[tuple[str, set[str]]]:
        c = counties(t).filter(pl.col("state") == state).select("county_fips", "county_name")
        key = {_norm(n.replace(" County", "")): f for f, n in c.rows()}
        areas = (t.scan("substate_projections").filter((pl.col("state") == state) & (pl.col("area_type") != "state"))
                 .select("area_name", "counties").unique("area_name").collect(engine=SMALL).sort("area_name"))
        out = []
        for name, names in areas.rows():
            fips = {key.get(_norm(x)) for x in (names or [])}
            if fips and None not in fips:
                out.append((name, {f for f in fips if f is not None}))
        return out

    return t.cached(("edd-catalog", state), load)


def _edd_demand(t: Tables, ep: pl.DataFrame, area: Region, pieces: list[str]) -> tuple[pl.DataFrame, str]:
    """Whole-economy demand by occupation of an area the state's sub-state projections cover exactly."""
    import polars as pl

    d = (t.scan("substate_projections").filter((pl.col("state") == area.state) & pl.col("area_name").is_in(pieces)
                                               & (pl.col("soc_level") == "detailed"))
         .select("soc_code", "openings", "transfers", "emp_base", "emp_proj", "years").collect(engine=SMALL))
    d = t.harmonize(d).group_by("soc_code").agg(
        pl.col("openings").sum(), (pl.col("openings") - pl.col("transfers")).clip(lower_bound=0.0).sum().alias("entrants"),
        ((pl.col("emp_proj") - pl.col("emp_base")) / pl.col("years")).clip(lower_bound=0.0).sum().alias("growth"))
    d = d.join(ep.select("soc_code"), on="soc_code", how="semi").with_columns(
        pl.col("openings").alias("expected"), pl.lit(False).alias("unusable"), pl.lit(False).alias("estimated"),
        pl.lit(False).alias("_fallback"))
    return d, f"{EDD} ({', '.join(pieces[:3])}{'...' if len(pieces) > 3 else ''})"


def areas_occupation_demand(r: Resolved, t: Tables, ep: pl.DataFrame, state_rows: pl.DataFrame, areas: list[Region]
                            ) -> tuple[pl.DataFrame, dict[str, GapkitError]]:
    """Whole-economy demand by occupation in sub-state areas, all in one query: (region, soc_code, openings, entrants,
    growth, expected, unusable, estimated, _fallback, how), and the areas that cannot be measured (code -> error).
    ``state_rows`` is the gated demand of the areas' states (method.state_demand)."""
    import polars as pl

    measures = ["openings", "entrants", "growth", "expected"]
    frames: list[pl.DataFrame] = []
    shared: list[Region] = []
    for a in areas:
        pieces = _edd_areas(t, a)
        if pieces:
            d, how = _edd_demand(t, ep, a, pieces)
            frames.append(d.with_columns(pl.lit(a.code).alias("region"), pl.lit(how).alias("how")))
        else:
            shared.append(a)
    errors: dict[str, GapkitError] = {}
    if shared:
        share, overall, hows, errors = area_shares(r, t, shared)
        keys, key_states, _ = _state_keys([a for a in shared if a.code not in errors])
        # every occupation of the state keeps its row (and so its supply); one neither OEWS file measures takes the
        # area's share of all employment, like one whose employment OEWS does not release
        st = (state_rows.lazy().join(key_states.lazy(), on="state")
              .group_by("_skey", "soc_code").agg(*(pl.col(m).sum() for m in measures), pl.col("unusable").any(),
                                                 pl.col("estimated").any()))
        how = pl.DataFrame({"region": list(hows), "how": list(hows.values())}, schema={"region": pl.String, "how": pl.String})
        d = (keys.lazy().join(st, on="_skey").drop("_skey")
             .join(share.lazy(), on=["region", "soc_code"], how="left").join(overall.lazy(), on="region", how="left")
             .join(how.lazy(), on="region", how="left")
             .with_columns(pl.col("_fallback").fill_null(True), pl.col("area_share").fill_null(pl.col("_overall")))
             .with_columns(*(pl.col(m) * pl.col("area_share") for m in measures)).drop("area_share", "_overall").collect(engine=SMALL))
        frames.append(d)
    cols = ["region", "soc_code", *measures, "unusable", "estimated", "_fallback", "how"]
    return pl.concat([f.select(cols) for f in frames], how="vertical_relaxed"), errors  # areas: never empty


def _state_keys(areas: list[Region]) -> tuple[pl.DataFrame, pl.DataFrame, dict[tuple[str, ...], int]]:
    """(region, _skey), (_skey, state) and {states: _skey}: each area's state(s) as a key, so sums over states are made
    once per set of states, not once per area."""
    import polars as pl

    index = {s: i for i, s in enumerate(sorted({a.states for a in areas}))}
    keys = pl.DataFrame([(a.code, index[a.states]) for a in areas], schema={"region": pl.String, "_skey": pl.Int32}, orient="row")
    states = pl.DataFrame([(i, st) for s, i in index.items() for st in s], schema={"_skey": pl.Int32, "state": pl.String},
                          orient="row")
    return keys, states, index


def _area_employment(r: Resolved, t: Tables, area: Region, state_year: int) -> tuple[pl.DataFrame, str]:
    """(soc_code, area_emp) of an area — its OEWS metro/nonmetro file, else QCEW × national staffing — and how it was
    measured."""
    if area.cbsa is not None and area.cbsa in _areas_with_data(t):
        y, frame = _oews_area_employment(t)[area.cbsa]
        return frame, f"{OEWS_SHARE} (OEWS May {y} area over May {state_year} state employment)"
    try:
        emp = _qcew_occupations(r, t, area)
    except UsageError as exc:
        if area.cbsa is None:
            raise
        raise UsageError(f"{exc.message.rstrip('.')}; or ingest the OEWS metro file that has {area.name} "
                         "(`gapkit ingest oews`: oesm<YY>ma.zip, MSA_M<year>_dl.xlsx).") from None
    return emp, f"{QCEW_SHARE} (QCEW {qcew_year(t)} × national staffing over OEWS May {state_year} state employment)"


def area_shares(r: Resolved, t: Tables, areas: list[Region]
                ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str], dict[str, GapkitError]]:
    """Each area's share of its state(s)' employment in each occupation, in one query: (region, soc_code, area_share,
    _fallback), each area's share of all employment (region, _overall), how each was measured, and the areas that
    cannot be measured (code -> error)."""
    import polars as pl

    emps, hows, errors = [], {}, {}
    for a in areas:
        try:
            state_year = _state_oews(t, a.states)[1]
            emp, hows[a.code] = _area_employment(r, t, a, state_year)
        except GapkitError as exc:
            errors[a.code] = exc
            continue
        emps.append(emp.lazy().select(pl.lit(a.code).alias("region"), "soc_code", "area_emp", pl.lit(True).alias("_in_area")))
    ok = [a for a in areas if a.code not in errors]
    keys, _, index = _state_keys(ok)
    state_emp = pl.concat([_state_oews(t, s)[0].lazy().with_columns(pl.lit(i, pl.Int32).alias("_skey")) for s, i in index.items()]
                          or [pl.LazyFrame(schema={"soc_code": pl.String, "state_emp": pl.Float64, "_skey": pl.Int32})])
    by_region = keys.lazy().join(state_emp, on="_skey").drop("_skey")
    area_emp = (pl.concat(emps) if emps else
                pl.LazyFrame(schema={"region": pl.String, "soc_code": pl.String, "area_emp": pl.Float64, "_in_area": pl.Boolean}))
    # OEWS "**" (estimate not released) is null, never 0: such an occupation, and one the state file lacks while the
    # area has it, takes the area's share of all the state's employment (over the occupations both publish), flagged.
    # An occupation absent from the area's file has no employment there (share 0).
    both = area_emp.join(by_region, on=["region", "soc_code"], how="full", coalesce=True)
    measured = (pl.col("area_emp").is_not_null() & (pl.col("state_emp") > 0)).fill_null(False)
    overall = (both.group_by("region").agg(
        pl.col("area_emp").filter(measured).sum().alias("_a"), pl.col("state_emp").filter(measured).sum().alias("_s"))
        .select("region", pl.when(pl.col("_s") > 0).then((pl.col("_a") / pl.col("_s")).clip(0.0, 1.0)).otherwise(0.0)
                .alias("_overall")))
    fallback = (pl.col("_in_area").fill_null(False) & ~measured
                & (pl.col("area_emp").is_null() | (pl.col("area_emp") > 0))).fill_null(False)
    share = both.join(overall, on="region", how="left").select(
        "region", "soc_code",
        pl.when(measured).then((pl.col("area_emp") / pl.col("state_emp")).clip(0.0, 1.0))
        .when(fallback).then(pl.col("_overall")).otherwise(pl.lit(0.0)).alias("area_share"),
        fallback.alias("_fallback"))
    share_df, overall_df = pl.collect_all([share, overall], engine=SMALL)
    return share_df, overall_df, hows, errors


def areas_sector_demand(r: Resolved, t: Tables, ep: pl.DataFrame, base: pl.DataFrame, areas: list[Region],
                        state_rows: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, set[str]], dict[str, GapkitError]]:
    """Rows (region, sector, subsector, soc_code, openings, entrants, growth, expected, unusable, estimated, area_method)
    of every area for every sector of the question; the NAICS codes whose suppressed QCEW cells were estimated, by area
    name; and the areas that cannot be measured (code -> error). ``base`` is the question's sector occupations
    (method.sector_base). Each method runs once for all the areas it measures."""
    import polars as pl

    from gapkit.analysis.method import MEASURES, subsector_weight

    industrial = [s for s in r.sectors if not s.whole_economy and any(sub.naics for sub in s.subsectors)] if r.scope == "sector" else []
    frames: list[pl.DataFrame] = []
    estimated: dict[str, set[str]] = {}
    errors: dict[str, GapkitError] = {}
    # which share rows each (area, sector) takes: every subsector ("all"), those without NAICS codes ("rest": the
    # industry-based method measured the others), or none
    takes: list[tuple[str, str, str]] = []
    have_qcew = qcew_counties(t) if industrial else set()
    measured = [a for a in areas if industrial and set(a.counties) <= have_qcew and _edd_areas(t, a) is None]
    if measured:
        part, estimated = _industry_based(r, t, ep, state_rows, measured, industrial)
        frames.append(part)
    rest_of = {s.name for s in industrial if any(not sub.naics for sub in s.subsectors)}
    measured_codes = {a.code for a in measured}
    for a in areas:
        done = {s.name for s in industrial} if a.code in measured_codes else set()
        takes += [(a.code, s, "rest") for s in sorted(done & rest_of)]
        takes += [(a.code, s.name, "all") for s in r.sectors if s.name not in done]
    whole_areas = sorted({c for c, _, _ in takes})
    if whole_areas:
        by_code = {a.code: a for a in areas}
        whole, errs = areas_occupation_demand(r, t, ep, state_rows, [by_code[c] for c in whole_areas])
        errors.update(errs)
        w_sub = subsector_weight()
        # occupation scope: the occupation's whole demand in the area (split among subsectors), not the sector's share
        coef_all = base.select("sector", "subsector", "soc_code", pl.lit("all").alias("_takes"),
                               (w_sub if r.scope == "occupation" else pl.col("share") * w_sub).alias("a"))
        rest = pl.DataFrame([(s.name, sub.key) for s in industrial for sub in s.subsectors if not sub.naics],
                            schema={"sector": pl.String, "subsector": pl.String}, orient="row")
        # the share of demand of the subsectors without NAICS codes only
        coef_rest = (base.join(rest, on=["sector", "subsector"], how="semi")
                     .join(base.group_by("sector", "soc_code").agg(pl.col("openings_s").sum().alias("_all")), on=["sector", "soc_code"])
                     .select("sector", "subsector", "soc_code", pl.lit("rest").alias("_takes"),
                             (pl.col("share") * pl.col("openings_s") / pl.col("_all")).alias("a")))
        plan = pl.DataFrame(takes, schema={"region": pl.String, "sector": pl.String, "_takes": pl.String}, orient="row")
        part = (whole.lazy().join(plan.lazy(), on="region")
                .join(pl.concat([coef_all, coef_rest]).lazy(), on=["sector", "_takes", "soc_code"], how="inner")
                .select("region", "sector", "subsector", "soc_code", *((pl.col(m) * pl.col("a")).alias(m) for m in (*MEASURES, "expected")),
                        "unusable", "estimated", pl.when(pl.col("_fallback")).then(pl.col("how") + f"; {OEWS_NOT_RELEASED}")
                        .otherwise(pl.col("how")).alias("area_method"))
                .collect(engine=SMALL))
        frames.append(part)
    # every area is measured by one method or the other, so frames is never empty
    cols = ["region", "sector", "subsector", "soc_code", *MEASURES, "expected", "unusable", "estimated", "area_method"]
    out = pl.concat([f.select(cols) for f in frames], how="vertical_relaxed")
    if errors:
        out = out.filter(~pl.col("region").is_in(list(errors)))
    # in the areas' order (a note lists the first few), the areas left out left out here too
    estimated = {a.name: estimated[a.name] for a in areas if a.name in estimated and a.code not in errors}
    return out, estimated, errors


def _area_share(r: Resolved, t: Tables, area: Region) -> tuple[pl.DataFrame, str]:
    """(soc_code, area_share): one area's share of its state(s)' employment in each occupation, and how it was measured."""
    share, _, hows, errors = area_shares(r, t, [area])
    if area.code in errors:
        raise errors[area.code]
    return share.drop("region", "_fallback"), hows[area.code]


def _known_sum(col: str) -> pl.Expr:
    """The sum of an OEWS employment column that stays null when every value is (``**``: estimate not released)."""
    import polars as pl

    return pl.when(pl.col(col).is_not_null().any()).then(pl.col(col).sum()).otherwise(None)


def read_inputs(r: Resolved, t: Tables, areas: list[Region]) -> None:
    """Read ahead what the area methods will read for ``areas`` (a :meth:`Tables.prefetch` call): the QCEW cells and the
    staffing pattern where the industry-based method measures an area, every state's OEWS employment, the OEWS areas'
    where an area is a metro. Each lands in the memo under the key the methods ask for; one that fails is left out
    (its error is raised again where a method asks for it)."""
    import contextlib

    reads: list[Callable[[], Any]] = []
    naics = r.scope == "sector" and any(sub.naics for s in r.sectors if not s.whole_economy for sub in s.subsectors)
    if naics and any(set(a.counties) <= qcew_counties(t) for a in areas):
        reads += [lambda: staffing(r, t), lambda: _qcew_values(t, qcew_year(t))]
    reads.append(lambda: _every_state_oews(t))
    if any(a.cbsa is not None for a in areas):
        reads.append(lambda: _oews_area_employment(t))
    for read in reads:
        with contextlib.suppress(Exception):
            read()


def _oews_area_employment(t: Tables) -> dict[str, tuple[str, pl.DataFrame]]:
    """Every OEWS metro/nonmetro area's employment by detailed occupation (harmonized), from the newest OEWS year that
    has the area: area code -> (year, frame of soc_code, area_emp). Read once per Tables."""
    import polars as pl

    def load() -> dict[str, tuple[str, pl.DataFrame]]:
        out: dict[str, tuple[str, pl.DataFrame]] = {}
        for y in reversed(t.vintages("oews_wages")):
            rows = (t.scan("oews_wages", y).filter(pl.col("area_type").is_in(["metro", "nonmetro"]) & (pl.col("o_group") == "detailed"))
                    .select("area_code", "soc_code", "tot_emp").collect(engine=SMALL))
            if rows.height == 0:
                continue
            rows = t.harmonize(rows).group_by("area_code", "soc_code").agg(_known_sum("tot_emp").alias("area_emp"))
            for (code,), frame in rows.partition_by("area_code", as_dict=True).items():
                out.setdefault(str(code), (y, frame.drop("area_code")))
        return out

    return t.cached("oews-area-employment", load)


def _state_oews(t: Tables, states: tuple[str, ...]) -> tuple[pl.DataFrame, int]:
    """(soc_code, state_emp) summed over the states, from the newest OEWS year with state rows, and that year."""
    import polars as pl

    def load() -> tuple[pl.DataFrame, int]:
        every, year = _every_state_oews(t)
        rows = every.filter(pl.col("state").is_in(list(states)))
        if rows.height == 0:
            raise UsageError(f"No OEWS state employment for {', '.join(states)} is ingested: run `gapkit ingest oews` (state "
                             "files, oesm<YY>st.zip) to measure a sub-state area's share of the state.")
        return rows.group_by("soc_code").agg(_known_sum("state_emp")), year

    return t.cached(("state-oews", tuple(sorted(states))), load)


def _every_state_oews(t: Tables) -> tuple[pl.DataFrame, int]:
    """(state, soc_code, state_emp) of every state in the newest OEWS year with state rows (harmonized), and that year;
    read once per Tables (the states of many areas are looked up in it, not scanned again)."""
    import polars as pl

    def load() -> tuple[pl.DataFrame, int]:
        for y in reversed(t.vintages("oews_wages")):
            rows = (t.scan("oews_wages", y).filter((pl.col("area_type") == "state") & (pl.col("o_group") == "detailed"))
                    .select("state", "soc_code", "tot_emp").collect(engine=SMALL))
            if rows.height:
                return t.harmonize(rows).group_by("state", "soc_code").agg(_known_sum("tot_emp").alias("state_emp")), int(y)
        return pl.DataFrame(schema={"state": pl.String, "soc_code": pl.String, "state_emp": pl.Float64}), 0

    return t.cached("every-state-oews", load)


def _qcew_occupations(r: Resolved, t: Tables, area: Region) -> pl.DataFrame:
    """(soc_code, area_emp): the area's employment by occupation estimated from QCEW private employment by NAICS sector
    × the national staffing pattern of the matrix industries in each sector."""
    import polars as pl

    pattern = _sector_staffing(t)
    codes = sorted(set(pattern["naics"].to_list()))
    emp, _ = qcew_employment(t, area.counties, codes)
    q = pl.DataFrame({"naics": list(emp), "qcew": list(emp.values())}, schema={"naics": pl.String, "qcew": pl.Float64})
    return (pattern.join(q, on="naics").group_by("soc_code").agg((pl.col("staff") * pl.col("qcew")).sum().alias("area_emp")))


def _sector_staffing(t: Tables) -> pl.DataFrame:
    """(naics, soc_code, staff): the national staffing pattern of each 2-digit NAICS sector (National Employment Matrix
    line-item industries grouped by their NAICS digits). Read once per Tables."""
    import polars as pl

    def load() -> pl.DataFrame:
        m_cycle = t.vintage("nem_matrix")
        m = (t.scan("nem_matrix", m_cycle).filter(pl.col("industry_type") == "Line item")
             .select("industry_code", "occupation_code", "occupation_type", pl.col("emp_base_k").fill_null(0.0)).collect(engine=SMALL))
        m = m.with_columns(pl.col("industry_code").str.slice(0, 2).replace(NAICS_RANGES).alias("naics"))
        totals = m.filter(pl.col("occupation_code") == "00-0000").group_by("naics").agg(pl.col("emp_base_k").sum().alias("total"))
        lines = t.harmonize(m.filter(pl.col("occupation_type") == "Line item").rename({"occupation_code": "soc_code"}))
        return (lines.group_by("naics", "soc_code").agg(pl.col("emp_base_k").sum())
                .join(totals, on="naics").select("naics", "soc_code", (pl.col("emp_base_k") / pl.col("total")).alias("staff")))

    return t.cached("naics-sector-staffing", load)


def occupation_rates(t: Tables, ep: pl.DataFrame, state_rows: pl.DataFrame, states: tuple[str, ...]) -> pl.DataFrame:
    """(soc_code, r_openings, r_entrants, r_growth): annual openings, entrants and growth per worker — the state's
    (Projections Central, gated) where published, else national — with the state's unusable/estimated marks."""
    import polars as pl

    mean_nat = (pl.col("emp_base") + pl.col("emp_proj")) / 2
    nat = ep.select("soc_code", (pl.col("openings_nat") / mean_nat).fill_nan(0.0).alias("n_o"),
                    (pl.col("entrants_nat") / mean_nat).fill_nan(0.0).alias("n_e"), (pl.col("growth_nat") / mean_nat).fill_nan(0.0).alias("n_g"))
    st = state_rows.filter(pl.col("state").is_in(list(states))).group_by("soc_code").agg(
        pl.col("openings").sum(), pl.col("entrants").sum(), pl.col("growth").sum(), pl.col("mean_emp").sum(),
        pl.col("unusable").any(), pl.col("estimated").any())
    out = nat.join(st, on="soc_code", how="left")
    ok = (pl.col("mean_emp") > 0) & ~pl.col("unusable").fill_null(True)
    return out.select(
        "soc_code",
        pl.when(ok).then(pl.col("openings") / pl.col("mean_emp")).otherwise(pl.col("n_o")).alias("r_openings"),
        pl.when(ok).then(pl.col("entrants") / pl.col("mean_emp")).otherwise(pl.col("n_e")).alias("r_entrants"),
        pl.when(ok).then(pl.col("growth") / pl.col("mean_emp")).otherwise(pl.col("n_g")).alias("r_growth"),
        pl.col("estimated").fill_null(False))


def _industry_based(r: Resolved, t: Tables, ep: pl.DataFrame, state_rows: pl.DataFrame, areas: list[Region],
                    sectors: list[Sector]) -> tuple[pl.DataFrame, dict[str, set[str]]]:
    """The industry-based demand of every (area, sector) in one query: QCEW employment of each subsector's NAICS codes in
    the area's counties × the subsector's national staffing pattern × the occupation's openings rates (the area's
    states', :func:`occupation_rates`). Rows (region, sector, subsector, soc_code, measures, unusable, estimated,
    area_method) and, by area name, the NAICS codes whose suppressed QCEW cells were estimated. Subsectors without NAICS
    codes are left to the share method."""
    import polars as pl

    keys, _, index = _state_keys(areas)
    rates = pl.concat([occupation_rates(t, ep, state_rows, s).with_columns(pl.lit(i, pl.Int32).alias("_skey"))
                       for s, i in index.items()])
    members = pl.DataFrame([(s.name, sub.key, c) for s in sectors for sub in s.subsectors for c in sub.naics],
                           schema={"sector": pl.String, "subsector": pl.String, "industry_code": pl.String}, orient="row").unique()
    where = pl.DataFrame([(a.code, c) for a in areas for c in a.counties], schema={"region": pl.String, "area_fips": pl.String},
                         orient="row").unique()
    cells = (where.lazy().join(_qcew_values(t, qcew_year(t)).lazy(), on="area_fips")
             .join(members.lazy(), on="industry_code"))
    # every subsector with NAICS codes has a row in every area, 0 where no county has its industries
    sub_emp = (keys.lazy().join(members.lazy().select("sector", "subsector").unique(), how="cross")
               .join(cells.group_by("region", "sector", "subsector").agg(pl.col("value").sum().alias("qcew")),
                     on=["region", "sector", "subsector"], how="left")
               .with_columns(pl.col("qcew").fill_null(0.0)))
    flagged = cells.filter(pl.col("estimated")).select("region", "sector", "industry_code").unique()
    rows = (staffing(r, t).lazy().join(sub_emp, on=["sector", "subsector"])
            .join(rates.lazy(), on=["_skey", "soc_code"])
            .join(flagged.select("region", "sector", pl.lit(True).alias("_est")).unique(), on=["region", "sector"], how="left")
            .with_columns((pl.col("staff") * pl.col("qcew")).alias("_emp"))
            .select("region", "sector", "subsector", "soc_code",
                    (pl.col("_emp") * pl.col("r_openings")).alias("openings"), (pl.col("_emp") * pl.col("r_entrants")).alias("entrants"),
                    (pl.col("_emp") * pl.col("r_growth")).alias("growth"), (pl.col("_emp") * pl.col("r_openings")).alias("expected"),
                    pl.lit(False).alias("unusable"), "estimated",
                    pl.when(pl.col("_est").fill_null(False)).then(pl.lit(f"{INDUSTRY_BASED}; {QCEW_ESTIMATED}"))
                    .otherwise(pl.lit(INDUSTRY_BASED)).alias("area_method")))
    out, flags = pl.collect_all([rows, flagged], engine=SMALL)
    names = {a.code: a.name for a in areas}
    estimated: dict[str, set[str]] = {}
    for code, _, naics in flags.iter_rows():
        estimated.setdefault(names[code], set()).add(naics)
    return out, estimated


# ---------------------------------------------------------------------------------------------
# training providers outside IPEDS (a state's Eligible Training Provider List)
# ---------------------------------------------------------------------------------------------
ETPL_COLUMNS = ("county_fips", "provider_name", "institution_type", "program_id", "program_name", "cipcode", "soc_codes",
                "apprenticeship", "apprentices", "in_ipeds", "credential_name", "contact_hours", "tuition_fees")


def etpl_programs(t: Tables, region: Region) -> pl.DataFrame | None:
    """The ETPL programs whose campus is in the region (its counties, or the whole state): one row each with the campus
    county's FIPS code, the provider, CIP, the SOC codes of its O*NET codes (harmonized to the projections'), whether it
    is a registered apprenticeship and how many apprentices it reports, and ``in_ipeds`` — whether the provider reports
    to IPEDS (a college, or a provider whose name matches an IPEDS institution of the state), so its completers are
    already in the IPEDS supply. None when no list is ingested for the region's state(s)."""
    import polars as pl

    if not t.has("etpl_programs"):
        return None
    states = list(region.states) if region.states else ([region.code] if region.single_state else [])
    if not states:
        return None
    e = t.scan("etpl_programs").filter(pl.col("state").is_in(states)).collect(engine=SMALL)
    if e.height == 0:
        return None
    geo = counties(t).filter(pl.col("state").is_in(states)).select(
        "state", pl.col("county_name").str.replace(r"(?i)\s+(county|parish|borough)$", "").map_elements(
            _norm, return_dtype=pl.String).alias("_key"), "county_fips")
    e = e.with_columns(pl.col("campus_county_key").map_elements(_norm, return_dtype=pl.String).alias("_key")).join(
        geo, on=["state", "_key"], how="left")
    if region.counties:
        e = e.filter(pl.col("county_fips").is_in(list(region.counties)))
    # IPEDS reporters: colleges, or a provider name that is an IPEDS institution's in the state
    inst = pl.concat([t.institutions(int(y)).select("name", "state") for y in t.vintages("ipeds_completions")[-1:]])
    names = set(inst.filter(pl.col("state").is_in(states))["name"].drop_nulls().map_elements(_norm, return_dtype=pl.String).to_list())
    from gapkit.config.method import method_settings

    college = pl.lit(False)
    for prefix in method_settings().etpl_ipeds_types:
        college = college | pl.col("institution_type").str.starts_with(prefix)
    e = e.with_columns(
        (college
         | pl.col("provider_name").map_elements(_norm, return_dtype=pl.String).is_in(list(names))).fill_null(False).alias("in_ipeds"))
    socs = (e.select("program_id", pl.concat_list("soc_code_1", "soc_code_2", "soc_code_3").alias("soc_code")).explode("soc_code")
            .drop_nulls("soc_code").unique())
    socs = t.harmonize(socs).unique().group_by("program_id").agg(pl.col("soc_code").sort().alias("soc_codes"))
    return (e.join(socs, on="program_id", how="left")
            .with_columns(pl.col("soc_codes").fill_null(pl.lit([], pl.List(pl.String))), pl.col("apprentices").fill_null(0.0))
            .select(*ETPL_COLUMNS).sort("county_fips", "provider_name", "program_id"))


def etpl_extra_supply(t: Tables, region: Region, areas: list[Region] | None, per_program: float, apprentice_years: float,
                      ep_codes: set[str]) -> tuple[list[tuple[str, str, float, str]], str]:
    """Extra-supply rows (soc, region code, completers a year, source) from the ETPL programs of providers outside IPEDS:
    ``per_program`` completers a year for each program, a registered apprenticeship its apprentices ÷ ``apprentice_years``;
    split equally among the program's SOC codes that are projections occupations. ``areas``: a state's areas side by side
    (each program counts in the area of its campus county). Returns the rows and the assumption, stated."""
    import polars as pl

    from gapkit.codes import STATES

    e = etpl_programs(t, region)
    if e is None:
        st = region.state or region.code
        raise UsageError(f"--etpl-completers: no Eligible Training Provider List is ingested for {STATES.get(region.fips or '', ('', st))[1] or st} "
                         "(gapkit reads Texas's: `gapkit ingest etpl`, add --from ../shared offline).")
    keyed = e.filter(~pl.col("in_ipeds"))
    if areas is not None:
        amap = pl.DataFrame([(c, a.code) for a in areas for c in a.counties], schema={"county_fips": pl.String, "region": pl.String},
                            orient="row")
        keyed = keyed.join(amap, on="county_fips", how="inner")
    else:
        keyed = keyed.with_columns(pl.lit(region.code).alias("region"))
    each = (keyed.with_columns(pl.when(pl.col("apprenticeship")).then(pl.col("apprentices") / apprentice_years)
                               .otherwise(pl.lit(per_program)).alias("_c"))
            .explode("soc_codes").rename({"soc_codes": "soc_code"}).filter(pl.col("soc_code").is_in(list(ep_codes)))
            .with_columns((pl.col("_c") / pl.len().over("program_id", "region")).alias("_c")))
    rows = each.group_by("region", "soc_code").agg(pl.col("_c").sum()).filter(pl.col("_c") > 0).sort("region", "soc_code")
    src = "ETPL (non-IPEDS providers)"
    out = [(s, reg, float(v), src) for reg, s, v in rows.rows()]
    n_prog = keyed.filter(~pl.col("apprenticeship")).height
    n_app = keyed.filter(pl.col("apprenticeship"))
    text = (f"Extra supply from the Eligible Training Provider List: {n_prog:,} program(s) of providers outside IPEDS counted at "
            f"{per_program:g} completer(s) a year each (an assumption: the list publishes no completer counts) and "
            f"{n_app.height:,} registered apprenticeship(s) at their {float(n_app['apprentices'].sum()):,.0f} reported apprentices ÷ "
            f"{apprentice_years:g} years; each program's completers split equally among its O*NET occupations.")
    return out, text


def completions_in(c: pl.DataFrame, r: Resolved, t: Tables, year: int) -> pl.DataFrame:
    """IPEDS completions (by unitid, with ``state``) of the institutions in the question's region: an area's counties (with
    --supply-area state, its state's), a state, or the nation (every row)."""
    import polars as pl

    reg = r.region
    if reg.national:
        return c
    if reg.substate and r.supply_area == "region":
        inst = t.institutions(year).filter(pl.col("county_fips").is_in(list(reg.counties))).select("unitid")
        return c.join(inst, on="unitid", how="semi")
    return c.filter(pl.col("state").is_in(list(reg.states) if reg.substate else [reg.code]))


# ---------------------------------------------------------------------------------------------
# an area's yardsticks (pathways and programs): wages, growth, size
# ---------------------------------------------------------------------------------------------
def oews_area_of(t: Tables, area: Region) -> tuple[str, str] | None:
    """(OEWS area code, its name) whose wages stand for the area: the metro itself, or the one metro (2023 delineation,
    the May 2024+ OEWS areas) or nonmetro area (May 2021 definitions, an approximation) holding all its counties, when
    OEWS rows for it are ingested; None otherwise (the state's wages are used)."""
    import polars as pl

    have = _areas_with_data(t) | _nonmetro_with_data(t)
    c = counties(t).filter(pl.col("county_fips").is_in(list(area.counties)))
    in_metro = pl.col("cbsa_type") == "metro"
    metro_codes = {area.cbsa} if area.cbsa is not None else set(c.filter(in_metro)["cbsa_code"].to_list())
    if metro_codes and (area.cbsa is not None or c.filter(in_metro).height == c.height):
        if len(metro_codes) == 1 and (code := next(iter(metro_codes))) in have:
            return code, metros(t).filter(pl.col("cbsa_code") == code)["cbsa_title"].item()
        return None
    if c.filter(in_metro).height == 0:
        nonmetro = set(c["oews_area"].to_list())
        if len(nonmetro) == 1 and (code := next(iter(nonmetro))) in have:
            return code, str(c["oews_area_name"][0])
    return None


def _nonmetro_with_data(t: Tables) -> set[str]:
    import polars as pl

    def load() -> set[str]:
        out: set[str] = set()
        for y in t.vintages("oews_wages"):
            out |= set(t.scan("oews_wages", y).filter(pl.col("area_type") == "nonmetro").select("area_code").unique().collect(engine=SMALL)
                       ["area_code"].to_list())
        return out

    return t.cached("geo-nonmetro-with-data", load)


def area_growth(t: Tables, area: Region) -> tuple[pl.DataFrame, float, str] | None:
    """(soc_code, emp_base, emp_proj, growth_pct), the all-occupation growth and its source, from the state's own sub-state
    projections when they cover the area exactly (California EDD); None otherwise."""
    import polars as pl

    pieces = _edd_areas(t, area)
    if not pieces:
        return None
    d = (t.scan("substate_projections").filter((pl.col("state") == area.state) & pl.col("area_name").is_in(pieces))
         .select("soc_code", "soc_level", "emp_base", "emp_proj", "base_year", "proj_year", "cycle").collect(engine=SMALL))
    det = t.harmonize(d.filter(pl.col("soc_level") == "detailed").select("soc_code", "emp_base", "emp_proj")).group_by("soc_code").agg(
        pl.col("emp_base").sum(), pl.col("emp_proj").sum())
    det = det.with_columns(pl.when(pl.col("emp_base") > 0).then((pl.col("emp_proj") / pl.col("emp_base") - 1) * 100)
                           .otherwise(None).alias("growth_pct"))
    tot = d.filter(pl.col("soc_code") == "00-0000")
    base, proj = (float(tot["emp_base"].sum()), float(tot["emp_proj"].sum())) if tot.height else (
        float(det["emp_base"].sum()), float(det["emp_proj"].sum()))
    y0, y1, cycle = d.select("base_year", "proj_year", "cycle").row(0)
    src = f"{area.state} sub-state projections {cycle} ({y0}–{y1}), {', '.join(pieces)}"
    return det, (proj / base - 1) * 100 if base else 0.0, src


def employment_share(r: Resolved, t: Tables, area: Region) -> tuple[float, str]:
    """The area's share of its state(s)' employment, and how it was measured (sub-state projections, OEWS area, or QCEW
    × national staffing)."""
    import polars as pl

    pieces = _edd_areas(t, area)
    if pieces:
        d = (t.scan("substate_projections").filter((pl.col("state") == area.state) & (pl.col("soc_code") == "00-0000"))
             .select("area_name", "area_type", "emp_base").collect(engine=SMALL))
        st = float(d.filter(pl.col("area_type") == "state")["emp_base"].sum())
        mine = float(d.filter(pl.col("area_name").is_in(pieces))["emp_base"].sum())
        if st > 0:
            return mine / st, EDD
    share, how = _area_share(r, t, area)
    state_emp = _state_oews(t, area.states)[0]
    j = share.join(state_emp, on="soc_code", how="inner")
    total = float(state_emp["state_emp"].sum())
    return (float((j["area_share"] * j["state_emp"]).sum()) / total if total > 0 else 0.0), how

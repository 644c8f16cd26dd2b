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

from gapkit.errors import MissingDataError, UsageError

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.query import Region, Resolved
    from gapkit.analysis.tables import Tables

SUBSTATE = ("metro", "county", "wda", "custom")
AREA_GRAINS = ("metro", "county", "wda")
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
                "county_fips", "county_name", "state", "cbsa_code", "cbsa_title", "cbsa_type").collect())
        if t.has("oews_area_definitions"):
            oews = (t.scan("oews_area_definitions").filter(pl.col("township_code").is_null())
                    .select("county_fips", pl.col("name").alias("county_name"), "state",
                            pl.col("area_code").alias("oews_area"), pl.col("area_name").alias("oews_area_name")).collect())
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
        return (t.scan("workforce_areas").collect().group_by("state", "area_code", "area_name")
                .agg(pl.col("county_fips").sort().alias("counties"), pl.col("note").drop_nulls().first())
                .sort("state", pl.col("area_code").cast(pl.Int32, strict=False)))

    return t.cached("geo-wda", load)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _region(kind: str, code: str, name: str, county_list: list[str], t: Tables, **extra: Any) -> Region:
    import polars as pl

    from gapkit.analysis.query import Region
    from gapkit.codes import STATES

    c = counties(t).filter(pl.col("county_fips").is_in(county_list))
    states = tuple(sorted(set(c["state"].drop_nulls().to_list()) or {STATES[f[:2]][0] for f in county_list if f[:2] in STATES}))
    # the primary state: the one with most of the counties (for cross-state metros, the state named first in the title)
    primary = extra.pop("state", None)
    if primary is None and states:
        counts = {s: sum(1 for x in c["state"].to_list() if x == s) for s in states}
        primary = max(states, key=lambda s: (counts[s], -states.index(s)))
    fips = {a: f for f, (a, _) in STATES.items()}.get(primary or "")
    return Region(code=code, kind=kind, name=name, fips=fips, state=primary, states=states,
                  counties=tuple(sorted(county_list)), **extra)


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
            out |= set(t.scan("oews_wages", y).filter(pl.col("area_type") == "metro").select("area_code").unique().collect()
                       ["area_code"].to_list())
        return out

    return t.cached("geo-metros-with-data", load)


def resolve_counties(text: str, t: Tables) -> Region:
    """``county:39049,39041``: five-digit county FIPS codes."""
    import polars as pl

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UsageError("--region county:FIPS: give one or more five-digit county FIPS codes, e.g. county:39049,39041.")
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
        t.scan("qcew_area", qcew_year(t)).select(pl.col("area_fips").unique()).collect()["area_fips"].to_list()))


def _parent(code: str) -> str | None:
    """The NAICS parent of an industry code in the QCEW hierarchy (2-digit sectors roll up to the total '10')."""
    ranges = {"31": "31-33", "32": "31-33", "33": "31-33", "44": "44-45", "45": "44-45", "48": "48-49", "49": "48-49"}
    if code == "10":
        return None
    if "-" in code or len(code) == 2:
        return "10"
    if len(code) == 3:
        return ranges.get(code[:2], code[:2])
    return code[:-1]


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
    out: dict[str, float] = {}
    estimated: set[str] = set()
    for code in codes:
        total = 0.0
        for county in county_list:
            v, est = _county_value(t, year, county, code)
            total += v
            if est:
                estimated.add(code)
        out[code] = total
    return out, estimated


def _county_cells(t: Tables, year: str) -> dict[str, dict[str, tuple[float | None, float]]]:
    """Every ingested county's QCEW private cells: county -> {industry code: (employment or None if suppressed,
    establishments)}; the private total is keyed '10'. Read once per Tables."""
    import polars as pl

    def load() -> dict[str, dict[str, tuple[float | None, float]]]:
        cells = (t.scan("qcew_area", year).filter(pl.col("own_code").is_in(["0", "5"]))
                 .filter((pl.col("own_code") == "5") | (pl.col("industry_code") == "10"))
                 .select("area_fips", "own_code", "industry_code", "employment", "suppressed", "establishments").collect())
        by_county: dict[str, dict[str, tuple[float | None, float]]] = {}
        for area, own, code, emp, sup, est in cells.rows():
            if code == "10" and own != "5":
                continue
            by_county.setdefault(area, {})[code] = (None if sup else emp, float(est or 0.0))
        return by_county

    return t.cached(("qcew-cells", year), load)


def _level(code: str) -> int:
    return len(code) if "-" not in code else 2


def _children(t: Tables, year: str, county: str) -> dict[tuple[str | None, int], list[str]]:
    """One county's QCEW codes grouped by (parent, level): the siblings a suppressed cell is estimated among."""
    def load() -> dict[tuple[str | None, int], list[str]]:
        out: dict[tuple[str | None, int], list[str]] = {}
        for c in _county_cells(t, year).get(county, {}):
            out.setdefault((_parent(c), _level(c)), []).append(c)
        return out

    return t.cached(("qcew-children", year, county), load)


def _county_value(t: Tables, year: str, county: str, code: str) -> tuple[float, bool]:
    """One county's private employment in one NAICS code (0 when the county has no such cell) and whether it was
    estimated; memoized per county."""
    memo: dict[str, tuple[float, bool]] = t.cached(("qcew-values", year, county), dict)
    if code in memo:
        return memo[code]
    cells_c = _county_cells(t, year).get(county, {})
    if code not in cells_c:
        result = (0.0, False)
    elif cells_c[code][0] is not None:
        result = (float(cells_c[code][0] or 0.0), False)
    else:
        parent = _parent(code)
        if parent is None:
            result = (0.0, True)
        else:
            total, _ = _county_value(t, year, county, parent)
            siblings = [c for c in _children(t, year, county).get((parent, _level(code)), []) if c != code]
            disclosed = sum(cells_c[c][0] or 0.0 for c in siblings if cells_c[c][0] is not None)
            hidden = [c for c in [*siblings, code] if cells_c[c][0] is None]
            est_all = sum(cells_c[c][1] for c in hidden)
            share = cells_c[code][1] / est_all if est_all > 0 else 1.0 / len(hidden)
            result = (max(0.0, total - disclosed) * share, True)
    memo[code] = result
    return result


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
         .select("industry_code", "occupation_code", "occupation_type", pl.col("emp_base_k").fill_null(0.0)).collect())
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
                 .select("area_name", "counties").unique("area_name").collect().sort("area_name"))
        out = []
        for name, names in areas.rows():
            fips = {key.get(_norm(x)) for x in (names or [])}
            if fips and None not in fips:
                out.append((name, {f for f in fips if f is not None}))
        return out

    return t.cached(("edd-catalog", state), load)


def area_occupation_demand(r: Resolved, t: Tables, ep: pl.DataFrame, state_rows: pl.DataFrame, area: Region
                           ) -> tuple[pl.DataFrame, str]:
    """Whole-economy demand by occupation in a sub-state area: (soc_code, openings, entrants, growth, expected, unusable,
    estimated) and the method used. ``state_rows`` is the gated demand of the area's state(s) (method.state_demand)."""
    import polars as pl

    measures = ["openings", "entrants", "growth", "expected"]
    pieces = _edd_areas(t, area)
    if pieces:
        d = (t.scan("substate_projections").filter((pl.col("state") == area.state) & pl.col("area_name").is_in(pieces)
                                                   & (pl.col("soc_level") == "detailed"))
             .select("soc_code", "openings", "transfers", "emp_base", "emp_proj", "years").collect())
        d = t.harmonize(d).group_by("soc_code").agg(
            pl.col("openings").sum(), (pl.col("openings") - pl.col("transfers")).clip(lower_bound=0.0).sum().alias("entrants"),
            ((pl.col("emp_proj") - pl.col("emp_base")) / pl.col("years")).clip(lower_bound=0.0).sum().alias("growth"))
        d = d.join(ep.select("soc_code"), on="soc_code", how="semi").with_columns(
            pl.col("openings").alias("expected"), pl.lit(False).alias("unusable"), pl.lit(False).alias("estimated"),
            pl.lit(False).alias("_fallback"))
        return d, f"{EDD} ({', '.join(pieces[:3])}{'...' if len(pieces) > 3 else ''})"
    share, how = _area_share(r, t, ep, area)
    overall = float(share["_overall"][0]) if share.height else 0.0
    st = state_rows.filter(pl.col("state").is_in(list(area.states)))
    # every occupation of the state keeps its row (and so its supply); one neither OEWS file measures takes the
    # area's share of all employment, like one whose employment OEWS does not release
    d = (st.group_by("soc_code").agg(*(pl.col(m).sum() for m in measures), pl.col("unusable").any(), pl.col("estimated").any())
         .join(share.drop("_overall"), on="soc_code", how="left")
         .with_columns(pl.col("_fallback").fill_null(True), pl.col("area_share").fill_null(overall))
         .with_columns(*(pl.col(m) * pl.col("area_share") for m in measures)).drop("area_share"))
    return d, how


def _area_share(r: Resolved, t: Tables, ep: pl.DataFrame, area: Region) -> tuple[pl.DataFrame, str]:
    """(soc_code, area_share): the area's share of its state(s)' employment in each occupation, and how it was measured."""
    import polars as pl

    state_emp, state_year = _state_oews(t, area.states)
    if area.cbsa is not None and area.cbsa in _areas_with_data(t):
        y, frame = _oews_area_employment(t)[area.cbsa]
        emp = frame
        how = f"{OEWS_SHARE} (OEWS May {y} area over May {state_year} state employment)"
    else:
        try:
            emp = _qcew_occupations(r, t, area)
        except UsageError as exc:
            if area.cbsa is None:
                raise
            raise UsageError(f"{exc.message.rstrip('.')}; or ingest the OEWS metro file that has {area.name} "
                             "(`gapkit ingest oews`: oesm<YY>ma.zip, MSA_M<year>_dl.xlsx).") from None
        how = f"{QCEW_SHARE} (QCEW {qcew_year(t)} × national staffing over OEWS May {state_year} state employment)"
    # OEWS "**" (estimate not released) is null, never 0: such an occupation, and one the state file lacks while the
    # area has it, takes the area's share of all the state's employment (over the occupations both publish), flagged.
    # An occupation absent from the area's file has no employment there (share 0).
    both = emp.with_columns(pl.lit(True).alias("_in_area")).join(state_emp, on="soc_code", how="full", coalesce=True)
    known = both.filter(pl.col("area_emp").is_not_null() & (pl.col("state_emp") > 0))
    denominator = float(known["state_emp"].sum())
    overall = min(1.0, max(0.0, float(known["area_emp"].sum()) / denominator)) if denominator > 0 else 0.0
    measured = (pl.col("area_emp").is_not_null() & (pl.col("state_emp") > 0)).fill_null(False)
    fallback = (pl.col("_in_area").fill_null(False) & ~measured
                & (pl.col("area_emp").is_null() | (pl.col("area_emp") > 0))).fill_null(False)
    share = both.select(
        "soc_code",
        pl.when(measured).then((pl.col("area_emp") / pl.col("state_emp")).clip(0.0, 1.0))
        .when(fallback).then(pl.lit(overall)).otherwise(pl.lit(0.0)).alias("area_share"),
        fallback.alias("_fallback"), pl.lit(overall).alias("_overall"))
    return share, how


def _known_sum(col: str) -> pl.Expr:
    """The sum of an OEWS employment column that stays null when every value is (``**``: estimate not released)."""
    import polars as pl

    return pl.when(pl.col(col).is_not_null().any()).then(pl.col(col).sum()).otherwise(None)


def _oews_area_employment(t: Tables) -> dict[str, tuple[str, pl.DataFrame]]:
    """Every OEWS metro/nonmetro area's employment by detailed occupation (harmonized), from the newest OEWS year that
    has the area: area code -> (year, frame of soc_code, area_emp). Read once per Tables."""
    import polars as pl

    def load() -> dict[str, tuple[str, pl.DataFrame]]:
        out: dict[str, tuple[str, pl.DataFrame]] = {}
        for y in reversed(t.vintages("oews_wages")):
            rows = (t.scan("oews_wages", y).filter(pl.col("area_type").is_in(["metro", "nonmetro"]) & (pl.col("o_group") == "detailed"))
                    .select("area_code", "soc_code", "tot_emp").collect())
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
        for y in reversed(t.vintages("oews_wages")):
            rows = (t.scan("oews_wages", y).filter((pl.col("area_type") == "state") & pl.col("state").is_in(list(states))
                                                   & (pl.col("o_group") == "detailed"))
                    .select("soc_code", "tot_emp").collect())
            if rows.height:
                rows = t.harmonize(rows).group_by("soc_code").agg(_known_sum("tot_emp").alias("state_emp"))
                return rows, int(y)
        raise UsageError(f"No OEWS state employment for {', '.join(states)} is ingested: run `gapkit ingest oews` (state files, "
                         "oesm<YY>st.zip) to measure a sub-state area's share of the state.")

    return t.cached(("state-oews", tuple(sorted(states))), load)


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
             .select("industry_code", "occupation_code", "occupation_type", pl.col("emp_base_k").fill_null(0.0)).collect())
        ranges = {"31": "31-33", "32": "31-33", "33": "31-33", "44": "44-45", "45": "44-45", "48": "48-49", "49": "48-49"}
        m = m.with_columns(pl.col("industry_code").str.slice(0, 2).replace(ranges).alias("naics"))
        totals = m.filter(pl.col("occupation_code") == "00-0000").group_by("naics").agg(pl.col("emp_base_k").sum().alias("total"))
        lines = t.harmonize(m.filter(pl.col("occupation_type") == "Line item").rename({"occupation_code": "soc_code"}))
        return (lines.group_by("naics", "soc_code").agg(pl.col("emp_base_k").sum())
                .join(totals, on="naics").select("naics", "soc_code", (pl.col("emp_base_k") / pl.col("total")).alias("staff")))

    return t.cached("naics-sector-staffing", load)


def sector_area_demand(r: Resolved, t: Tables, ep: pl.DataFrame, base: pl.DataFrame, area: Region,
                       state_rows: pl.DataFrame, rates: pl.DataFrame | None = None) -> tuple[pl.DataFrame, set[str]]:
    """Rows (sector, subsector, soc_code, openings, entrants, growth, expected, unusable, estimated, area_method) of one
    area for every sector of the question, and the NAICS codes whose suppressed QCEW cells were estimated. ``base`` is
    the question's sector occupations (method.sector_base); ``rates`` the area's states' occupation rates
    (:func:`occupation_rates`), computed here when not given."""
    import polars as pl

    from gapkit.analysis.method import MEASURES

    estimated: set[str] = set()
    frames = []
    if rates is None:
        rates = occupation_rates(t, ep, state_rows, area.states)
    whole_demand: pl.DataFrame | None = None
    whole_how = ""
    industrial = [s for s in r.sectors if not s.whole_economy]
    q_ok = bool(industrial) and set(area.counties) <= qcew_counties(t) and _edd_areas(t, area) is None
    for s in r.sectors:
        use_qcew = q_ok and not s.whole_economy and any(sub.naics for sub in s.subsectors) and r.scope == "sector"
        if use_qcew:
            part, est, skipped = _industry_based(r, t, s.name, area, rates)
            frames.append(part.with_columns(pl.lit(INDUSTRY_BASED + ("; " + QCEW_ESTIMATED if est else "")).alias("area_method")))
            estimated |= est
            if not skipped:
                continue
            subs = skipped
        else:
            subs = None
        if whole_demand is None:
            whole_demand, whole_how = area_occupation_demand(r, t, ep, state_rows, area)
        b = base.filter(pl.col("sector") == s.name)
        if subs is not None:
            b = b.filter(pl.col("subsector").is_in(subs))
        tot = pl.col("openings_s").sum().over("soc_code")
        w_sub = pl.when(tot > 0).then(pl.col("openings_s") / tot).otherwise(1.0 / pl.len().over("soc_code"))
        # occupation scope: the occupation's whole demand in the area (split among subsectors), not the sector's share
        coef = b.select("sector", "subsector", "soc_code", (w_sub if r.scope == "occupation" else pl.col("share") * w_sub).alias("a"))
        if subs is not None:  # the share of demand of those subsectors only
            shares = base.filter(pl.col("sector") == s.name).group_by("soc_code").agg(pl.col("openings_s").sum().alias("_all"))
            coef = (b.join(shares, on="soc_code").select("sector", "subsector", "soc_code",
                                                        (pl.col("share") * pl.col("openings_s") / pl.col("_all")).alias("a")))
        part = whole_demand.join(coef, on="soc_code", how="inner").select(
            "sector", "subsector", "soc_code", *((pl.col(m) * pl.col("a")).alias(m) for m in (*MEASURES, "expected")),
            "unusable", "estimated", pl.when(pl.col("_fallback")).then(pl.lit(f"{whole_how}; {OEWS_NOT_RELEASED}"))
            .otherwise(pl.lit(whole_how)).alias("area_method"))
        frames.append(part)
    return pl.concat(frames, how="diagonal_relaxed"), estimated


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


def _industry_based(r: Resolved, t: Tables, sector: str, area: Region, rates: pl.DataFrame
                    ) -> tuple[pl.DataFrame, set[str], list[str]]:
    """One sector's demand in an area by the industry-based method; returns the rows, the NAICS codes whose QCEW
    cells were estimated, and the subsectors it cannot measure (no NAICS codes: measured by the share method)."""
    import polars as pl

    s = next(x for x in r.sectors if x.name == sector)
    codes = sorted({c for sub in s.subsectors for c in sub.naics})
    emp, est = qcew_employment(t, area.counties, codes)
    sub_emp = pl.DataFrame([(sub.key, sum(emp.get(c, 0.0) for c in sub.naics)) for sub in s.subsectors if sub.naics],
                           schema={"subsector": pl.String, "qcew": pl.Float64}, orient="row")
    pattern = staffing(r, t).filter(pl.col("sector") == sector)
    rows = (pattern.join(sub_emp, on="subsector", how="inner").join(rates, on="soc_code", how="inner")
            .with_columns((pl.col("staff") * pl.col("qcew")).alias("_emp")))
    out = rows.select(
        pl.lit(sector).alias("sector"), "subsector", "soc_code",
        (pl.col("_emp") * pl.col("r_openings")).alias("openings"), (pl.col("_emp") * pl.col("r_entrants")).alias("entrants"),
        (pl.col("_emp") * pl.col("r_growth")).alias("growth"), (pl.col("_emp") * pl.col("r_openings")).alias("expected"),
        pl.lit(False).alias("unusable"), "estimated")
    skipped = [sub.key for sub in s.subsectors if not sub.naics]
    return out, est, skipped


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
    e = t.scan("etpl_programs").filter(pl.col("state").is_in(states)).collect()
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
            out |= set(t.scan("oews_wages", y).filter(pl.col("area_type") == "nonmetro").select("area_code").unique().collect()
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
         .select("soc_code", "soc_level", "emp_base", "emp_proj", "base_year", "proj_year", "cycle").collect())
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
             .select("area_name", "area_type", "emp_base").collect())
        st = float(d.filter(pl.col("area_type") == "state")["emp_base"].sum())
        mine = float(d.filter(pl.col("area_name").is_in(pieces))["emp_base"].sum())
        if st > 0:
            return mine / st, EDD
    ep = t.ep(r.ep_cycle)
    share, how = _area_share(r, t, ep, area)
    state_emp = _state_oews(t, area.states)[0]
    j = share.join(state_emp, on="soc_code", how="inner")
    total = float(state_emp["state_emp"].sum())
    return (float((j["area_share"] * j["state_emp"]).sum()) / total if total > 0 else 0.0), how

"""The method: openings vs completions at every grain, for one sector or every sector at once.

The specification is ``docs/METHOD.md``; this module is its implementation and never validates
(:func:`compute` takes a :class:`~gapkit.analysis.query.Resolved` question).

Demand
    National openings by detailed occupation come from BLS Table 1.10. A sector's openings use the
    National Employment Matrix: for each occupation o, over the sector's industries i,
    ``O_S(o) = Σ_i max(0, (E_proj(i,o) − E_base(i,o))/P + r(o)·(E_base(i,o)+E_proj(i,o))/2)`` with
    ``r(o) = separations(o) / ((E_base(o)+E_proj(o))/2)`` (industry-uniform separation rates: BLS
    publishes none by industry). When the matrix cycle differs from the projections cycle, the matrix
    only gives the sector's share of each occupation, applied to the newer openings. A state's sector
    openings are the state's published openings times the national sector share.
Supply
    IPEDS first-major completions at 6-digit CIP for the chosen award levels and years (mean),
    allocated to occupations through the NCES CIP-SOC crosswalk by openings (default), base-year
    employment, equal shares, or not at all (``none``: every linked occupation gets the full count).
    Under sector scope an occupation's supply is scaled by the sector's share of its openings.
Gap
    ``ratio = openings / supply`` and ``gap = openings − supply`` after aggregating to the grain.

Every sector of a question is a key column (sector × industry membership, sector × SOC-prefix
groups), so ``--sector all`` is one pass: the matrix is read once, the completions are allocated
once per allocation mode, and the state rows are joined once for all sectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gapkit.analysis.results import SEPARATION_NOTE, SMALL_OPENINGS, SMALL_SUPPLY, GapResult
from gapkit.codes import STATE_FIPS_51, STATES
from gapkit.config.presets import award_config

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.query import Resolved
    from gapkit.analysis.tables import Tables
    from gapkit.config.presets import Preset

LEAD = {"sector": ["sector", "region"], "subsector": ["sector", "region", "subsector", "subsector_title"],
        "group": ["sector", "region", "group", "group_title"], "occupation": ["sector", "region", "soc_code", "title", "group", "education"],
        "state": ["sector", "region"]}
VALUE_COLUMNS = ["openings", "supply", "ratio", "gap", "supply_extra", "flags"]


def compute(r: Resolved, t: Tables) -> GapResult:
    """The gap table of a resolved question at its grain, with its method record and notes."""
    ep = t.ep(r.ep_cycle)
    occ, sector_notes, global_notes = sector_occupations(r, t, ep)
    vintages = _vintages(r, t)
    if r.needs_states:
        rows, unalloc, state_notes, state_global = state_rows(r, t, ep, occ)
        vintages["state_projections"] = t.provenance("state_projections", r.projections_cycle or "")
    else:
        rows, unalloc = national_rows(r, t, ep, occ)
        state_notes, state_global = [], []
    notes: list[str] = []
    for s in r.sectors:  # each sector's notes in the order a one-sector question prints them
        own = sector_notes.get(s.name, []) + ([] if s.whole_economy else global_notes)
        own += state_global + ([] if s.whole_economy else state_notes)
        notes += [n for n in own if n not in notes]
    table = finish(rows, r, ep)
    return GapResult(table=table, method=method_record(r, vintages, notes), notes=notes, unallocated=unalloc)


# ---------------------------------------------------------------------------------------------
# demand
# ---------------------------------------------------------------------------------------------
def sector_occupations(r: Resolved, t: Tables, ep: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, list[str]], list[str]]:
    """Openings by (sector, subsector, occupation) in persons/yr and each occupation's sector share.

    Returns the frame (sector, subsector, soc_code, openings_s, share), notes per sector and notes
    that hold for every sector using the matrix.
    """
    import polars as pl

    frames = []
    per_sector: dict[str, list[str]] = {}
    common: list[str] = []
    for s in r.sectors:
        if s.whole_economy:
            frames.append(ep.select(pl.lit(s.name).alias("sector"), pl.lit("all").alias("subsector"), "soc_code",
                                    pl.col("openings_nat").alias("openings_s"), pl.lit(1.0).alias("share")))
    industrial = [s for s in r.sectors if not s.whole_economy]
    if industrial:
        m_cycle, sep_cycle = r.matrix_cycle, r.sep_cycle
        assert m_cycle is not None and sep_cycle is not None
        member_rows = [(s.name, sub.key, code) for s in industrial for sub in s.subsectors for code in sub.nem_industries]
        members = pl.DataFrame(member_rows, schema={"sector": pl.String, "subsector": pl.String, "industry_code": pl.String},
                               orient="row")
        md = t.matrix_demand(m_cycle, sep_cycle, tuple(sorted({c for _, _, c in member_rows})))
        present = set(md["industry_code"].unique().to_list())
        for s in industrial:
            missing = sorted({c for sub in s.subsectors for c in sub.nem_industries} - present)
            if missing:
                per_sector[s.name] = [f"Industries in the sector definition but not in the {m_cycle} matrix: {', '.join(missing)}."]
        # The sector's share of each occupation's openings: its industries' openings over the published
        # national openings of the matrix cycle (line-item industries do not add up to the total: BLS
        # leaves some detail unpublished and self-employment is not an industry).
        if m_cycle in t.vintages("ep_occupations"):
            denom = t.ep(m_cycle).select("soc_code", pl.col("openings_nat").alias("all_m"))
        else:
            denom = t.matrix_demand(m_cycle, sep_cycle).group_by("soc_code").agg(pl.col("openings_m").sum().alias("all_m"))
            common.append(f"BLS projections for the matrix cycle {m_cycle} are not ingested; sector shares use the sum of the "
                          f"matrix's line-item industries as the denominator (`gapkit ingest bls-ep` for {m_cycle} fixes this).")
        sub = (md.join(members, on="industry_code", how="inner")
               .group_by("sector", "subsector", "soc_code").agg(pl.col("openings_m").sum().alias("sub_m")))
        out = sub.join(denom, on="soc_code", how="left").join(ep.select("soc_code", "openings_nat"), on="soc_code", how="inner")
        if m_cycle == r.ep_cycle:
            out = out.with_columns(pl.col("sub_m").alias("openings_s"))
        else:
            common.append(f"The industry-occupation matrix is from {m_cycle} and the projections from {r.ep_cycle}: the matrix gives "
                          f"each occupation's sector share, applied to the {r.ep_cycle} openings.")
            out = out.with_columns((pl.col("sub_m") / pl.col("all_m") * pl.col("openings_nat")).fill_nan(0.0).fill_null(0.0)
                                   .alias("openings_s"))
        # A sector cannot need more of an occupation than the whole economy: where rounding of small
        # published figures pushes the industries' sum past the national openings, scale it back.
        total_s = pl.col("openings_s").sum().over("sector", "soc_code")
        out = out.with_columns(
            pl.when(total_s > pl.col("openings_nat")).then(pl.col("openings_s") * pl.col("openings_nat") / total_s)
            .otherwise(pl.col("openings_s")).alias("openings_s")
        ).with_columns((pl.col("openings_s") / pl.col("openings_nat")).fill_nan(0.0).alias("share_sub"))
        out = out.with_columns(pl.col("share_sub").sum().clip(upper_bound=1.0).over("sector", "soc_code").alias("share"))
        frames.append(out.select("sector", "subsector", "soc_code", "openings_s", "share").filter(pl.col("openings_s") > 0))
    return pl.concat(frames, how="vertical_relaxed"), per_sector, common


def _base(r: Resolved, ep: pl.DataFrame, occ: pl.DataFrame) -> pl.DataFrame:
    """(sector, subsector, soc_code, openings_s, share, share_sub): the sector's openings and its share of supply."""
    import polars as pl

    if r.scope == "occupation":
        first_sub = {s.name: (s.subsectors[0].key if s.subsectors else "all") for s in r.sectors}
        return (occ.group_by("sector", "soc_code").agg(pl.col("share").first())
                .join(ep.select("soc_code", "openings_nat"), on="soc_code")
                .select("sector", pl.col("sector").replace_strict(first_sub, return_dtype=pl.String).alias("subsector"), "soc_code",
                        pl.col("openings_nat").alias("openings_s"), "share", pl.lit(1.0).alias("share_sub")))
    return occ.with_columns((pl.col("openings_s") / pl.col("openings_s").sum().over("sector", "soc_code") * pl.col("share"))
                            .fill_nan(0.0).alias("share_sub"))


def national_rows(r: Resolved, t: Tables, ep: pl.DataFrame, occ: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, float]]:
    """Occupation rows of the nation (or of one region without state detail)."""
    import polars as pl

    supply, unalloc = supply_by_occupation(r, t, ep)
    base = _base(r, ep, occ)
    out = base.join(supply.select("soc_code", "supply", "supply_extra"), on="soc_code", how="left").with_columns(
        pl.col("supply").fill_null(0.0), pl.col("supply_extra").fill_null(0.0))
    return out.select(
        "sector", pl.lit(r.region.label).alias("region"), "subsector", "soc_code",
        pl.col("openings_s").alias("openings"),
        (pl.col("supply") * pl.col("share_sub")).alias("supply"),
        (pl.col("supply_extra") * pl.col("share_sub") * r.retention).alias("supply_extra"),
    ), unalloc


def state_rows(r: Resolved, t: Tables, ep: pl.DataFrame, occ: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, float], list[str], list[str]]:
    """State rows: published state openings × national sector share; supply from each state's institutions.

    Returns the rows, the allocation totals, notes for sectors that use sector shares and notes for all.
    """
    import polars as pl

    p_cycle = r.projections_cycle
    assert p_cycle is not None
    proj = t.state_projections(p_cycle).filter(pl.col("soc_level") == "detailed")
    notes: list[str] = []
    if r.region.single_state:
        proj = proj.filter(pl.col("stfips") == r.region.fips)
    else:
        proj = proj.filter(pl.col("stfips").is_in(list(STATE_FIPS_51)))
        have = set(proj["stfips"].unique())
        lacking = [STATES[f][0] for f in STATE_FIPS_51 if f not in have]
        if lacking:
            notes.append(f"No {p_cycle} state projections for: {', '.join(lacking)} (reported, not filled).")
    notes += t.state_total_notes(p_cycle, r.region.fips if r.region.single_state else None)
    sector_notes = []
    unmatched = proj.join(ep.select("soc_code"), on="soc_code", how="anti")
    if unmatched.height:
        sector_notes.append(f"{unmatched['soc_code'].n_unique()} state occupation code(s) have no national sector share (not in the "
                            f"BLS {ep['soc_code'].len()} detailed list) and were left out.")
    base = _base(r, ep, occ)
    tot = pl.col("openings_s").sum().over("sector", "soc_code")
    w_sub = pl.when(tot > 0).then(pl.col("openings_s") / tot).otherwise(1.0 / pl.len().over("sector", "soc_code"))
    shares = base.select("sector", "subsector", "soc_code", w_sub.alias("w_sub"), "share", "share_sub")
    if r.scope == "occupation":
        shares = shares.with_columns(pl.lit(1.0).alias("share"), pl.lit(1.0).alias("share_sub"))
    # Only the grain "subsector" needs the subsector: otherwise each occupation's coefficients are summed
    # first (Σ w_sub = 1), so the state rows are (state × occupation × sector), not × subsector.
    keys = ["sector", "subsector", "soc_code"] if r.by == "subsector" else ["sector", "soc_code"]
    coef = shares.group_by(keys).agg((pl.col("share") * pl.col("w_sub")).sum().alias("a"), pl.col("share_sub").sum().alias("b"))
    if r.by != "subsector":
        coef = coef.with_columns(pl.lit("").alias("subsector"))
    supply, unalloc = supply_by_occupation(r, t, ep, by_state=True)
    out = (
        proj.lazy().select("state", "soc_code", pl.col("openings").alias("openings_state"))
        .join(coef.lazy(), on="soc_code", how="inner")
        .join(supply.lazy().select("state", "soc_code", "supply", "supply_extra"), on=["state", "soc_code"], how="left")
        .select(
            "sector", pl.col("state").alias("region"), "subsector", "soc_code",
            (pl.col("openings_state") * pl.col("a")).alias("openings"),
            (pl.col("supply").fill_null(0.0) * pl.col("b")).alias("supply"),
            (pl.col("supply_extra").fill_null(0.0) * pl.col("b") * r.retention).alias("supply_extra"),
        )
    )
    return out, unalloc, sector_notes, notes


# ---------------------------------------------------------------------------------------------
# supply
# ---------------------------------------------------------------------------------------------
def eligible_levels(ep: pl.DataFrame, p: Preset) -> pl.DataFrame:
    """(soc_code, awlevel): the award levels that count as supply for each occupation under a preset."""
    import polars as pl

    cfg = award_config()
    if not p.by_entry_education:
        return ep.select("soc_code").join(pl.DataFrame({"awlevel": p.levels}, schema={"awlevel": pl.Int8}), how="cross")
    rows = [(edu, lvl) for edu, lvls in cfg.entry_education.items() for lvl in lvls]
    m = pl.DataFrame(rows, schema={"education": pl.String, "awlevel": pl.Int8}, orient="row")
    return ep.select("soc_code", "education").join(m, on="education", how="inner").select("soc_code", "awlevel")


def allocation(r: Resolved, t: Tables, ep: pl.DataFrame, mode: str, p: Preset, *, by_state: bool,
               years: tuple[int, ...] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Completions allocated to occupations by award level: ([state,] soc_code, awlevel, supply_ipeds) and
    per-level totals (awlevel, input, allocated). Conserves completions in every mode but ``none``.

    Presets that count the same levels for every occupation share one allocation (the weights of a
    program do not depend on the level), so it is computed once over every level and filtered after;
    only ``entry`` (levels per occupation) has its own.
    """
    import polars as pl

    cfg = award_config()
    years = years or r.years
    region = r.region.fips if r.region.single_state else None
    uniform = not p.by_entry_education
    levels = cfg.levels_of(cfg.presets["all"]) if uniform else cfg.entry_levels
    key = ("alloc", r.ep_cycle, years, mode, uniform, region, by_state)

    def run() -> tuple[pl.DataFrame, pl.DataFrame]:
        if region is None and not by_state:
            comp = t.completions_national(years)
        else:
            comp = t.completions(years)
            if region is not None:
                comp = comp.filter(pl.col("state") == r.region.code)
        keys = ["state"] if by_state else []
        prog = (comp.filter(pl.col("awlevel").is_in(levels)).group_by([*keys, "cipcode", "awlevel"])
                .agg(pl.col("completions").sum()))
        xw = t.crosswalk().join(ep.select("soc_code"), on="soc_code", how="semi")
        eligible = eligible_levels(ep, cfg.presets["all"] if uniform else p)
        weight_base = {"openings": pl.col("openings_nat"), "employment": pl.col("emp_base"), "equal": pl.lit(1.0), "none": pl.lit(1.0)}[mode]
        links = (xw.join(eligible, on="soc_code", how="inner")
                 .join(ep.select("soc_code", "openings_nat", "emp_base"), on="soc_code", how="left")
                 .with_columns(weight_base.fill_null(0.0).cast(pl.Float64).alias("w0")))
        if mode == "none":
            links = links.with_columns(pl.lit(1.0).alias("w"))
        else:
            links = links.with_columns((pl.col("w0") / pl.col("w0").sum().over("cipcode", "awlevel")).fill_nan(0.0).alias("w"))
        links = links.select("cipcode", "awlevel", "soc_code", "w")
        by_level = (prog.join(links, on=["cipcode", "awlevel"], how="inner")
                    .group_by([*keys, "soc_code", "awlevel"]).agg((pl.col("completions") * pl.col("w")).sum().alias("supply_ipeds")))
        inputs = prog.group_by("awlevel").agg(pl.col("completions").sum().alias("input"))
        if mode == "none":
            linked = prog.join(links.filter(pl.col("w") > 0).select("cipcode", "awlevel").unique(), on=["cipcode", "awlevel"], how="semi")
            done = linked.group_by("awlevel").agg(pl.col("completions").sum().alias("allocated"))
        else:
            done = by_level.group_by("awlevel").agg(pl.col("supply_ipeds").sum().alias("allocated"))
        totals = inputs.join(done, on="awlevel", how="left").with_columns(pl.col("allocated").fill_null(0.0))
        return by_level, totals

    return t.cached(key, run)


def supply_by_occupation(r: Resolved, t: Tables, ep: pl.DataFrame, *, by_state: bool = False, mode: str | None = None,
                         p: Preset | None = None, years: tuple[int, ...] | None = None) -> tuple[pl.DataFrame, dict[str, float]]:
    """([state,] soc_code, supply_ipeds, supply_extra, supply) under the question's preset and mode (or the given
    ones), retention applied; and the completions input / allocated / unallocated at the preset's levels."""
    import polars as pl

    cfg = award_config()
    p = p or r.preset
    by_level, totals = allocation(r, t, ep, mode or r.alloc, p, by_state=by_state, years=years)
    levels = cfg.levels_of(p)
    keys = ["state"] if by_state else []
    supply = (by_level.filter(pl.col("awlevel").is_in(levels)).group_by([*keys, "soc_code"])
              .agg(pl.col("supply_ipeds").sum()))
    tot = totals.filter(pl.col("awlevel").is_in(levels)).select(pl.col("input").sum(), pl.col("allocated").sum()).row(0)
    total_in, allocated = float(tot[0] or 0.0), float(tot[1] or 0.0)
    unalloc = {"input": total_in, "allocated": allocated, "unallocated": max(0.0, total_in - allocated)}
    extra = extra_supply_frame(r, by_state)
    if extra is not None:
        supply = supply.join(extra, on=[*keys, "soc_code"], how="full", coalesce=True)
    else:
        supply = supply.with_columns(pl.lit(0.0).alias("supply_extra"))
    supply = supply.with_columns(pl.col("supply_ipeds").fill_null(0.0), pl.col("supply_extra").fill_null(0.0)).with_columns(
        ((pl.col("supply_ipeds") + pl.col("supply_extra")) * r.retention).alias("supply"))
    return supply, unalloc


def extra_supply_frame(r: Resolved, by_state: bool) -> pl.DataFrame | None:
    """The user's non-IPEDS completers for the question's region: (soc_code, supply_extra), or by state."""
    import polars as pl

    if r.extra_supply is None:
        return None
    df = pl.DataFrame([(s, g, v) for s, g, v, _ in r.extra_supply],
                      schema={"soc_code": pl.String, "state": pl.String, "supply_extra": pl.Float64}, orient="row")
    if by_state:
        return df.filter(pl.col("state") != "US").group_by("state", "soc_code").agg(pl.col("supply_extra").sum())
    want = "US" if r.region.national else r.region.code
    return df.filter(pl.col("state") == want).group_by("soc_code").agg(pl.col("supply_extra").sum())


# ---------------------------------------------------------------------------------------------
# grains, ratios, flags
# ---------------------------------------------------------------------------------------------
def group_membership(r: Resolved, ep: pl.DataFrame) -> pl.DataFrame:
    """(sector, soc_code, group): each occupation's group in each sector (SOC prefixes, first match wins) by a join."""
    import polars as pl

    patterns = pl.DataFrame(
        [(s.name, g.key, i, p) for s in r.sectors for i, g in enumerate(s.groups) for p in g.soc],
        schema={"sector": pl.String, "group": pl.String, "order": pl.Int32, "prefix": pl.String}, orient="row")
    cands = ep.select("soc_code", pl.concat_list([pl.col("soc_code").str.slice(0, k) for k in range(2, 8)]
                                                 + [pl.lit("*")]).alias("prefix")).explode("prefix").unique()
    return (cands.join(patterns, on="prefix", how="inner")
            .group_by("sector", "soc_code").agg(pl.col("group").sort_by("order").first()))


def finish(rows: pl.DataFrame | pl.LazyFrame, r: Resolved, ep: pl.DataFrame) -> pl.DataFrame:
    """Aggregate occupation rows to the grain and add ratio, gap and flags."""
    import polars as pl

    cfg = award_config()
    no_ipeds = cfg.no_ipeds_education
    by = r.by
    meta = ep.select(
        "soc_code", "title", "education",
        (pl.col("soc_code").is_in(cfg.ipeds_coverage.caveat_soc) | pl.col("education").is_in(no_ipeds)).alias("_cov"),
        pl.col("education").is_in(no_ipeds).alias("_noexp"),
    )
    lf = rows.lazy().join(meta.lazy(), on="soc_code", how="left")
    if by in {"group", "occupation"}:
        lf = lf.join(group_membership(r, ep).lazy(), on=["sector", "soc_code"], how="left")
    keys = {"sector": ["sector", "region"], "subsector": ["sector", "region", "subsector"], "group": ["sector", "region", "group"],
            "occupation": ["sector", "region", "soc_code", "title", "group", "education"], "state": ["sector", "region"]}[by]
    agg = lf.group_by(keys).agg(
        pl.col("openings").sum(),
        pl.col("supply").sum(),
        pl.col("supply_extra").sum(),
        # share of the row's openings in occupations with an IPEDS coverage caveat
        ((pl.col("openings") * pl.col("_cov")).sum() / pl.col("openings").sum()).fill_nan(0.0).alias("_cov_share"),
        pl.col("_noexp").all().alias("_noexp"),
    ).collect()
    order = {s.name: i for i, s in enumerate(r.sectors)}
    whole = [s.name for s in r.sectors if s.whole_economy]
    if by == "subsector":
        titles = pl.DataFrame([(s.name, x.key, x.title) for s in r.sectors for x in s.subsectors],
                              schema={"sector": pl.String, "subsector": pl.String, "subsector_title": pl.String}, orient="row")
        agg = agg.join(titles, on=["sector", "subsector"], how="left").with_columns(
            pl.col("subsector_title").fill_null(pl.col("subsector")))
    if by == "group":
        titles = pl.DataFrame([(s.name, g.key, g.title) for s in r.sectors for g in s.groups],
                              schema={"sector": pl.String, "group": pl.String, "group_title": pl.String}, orient="row")
        agg = agg.join(titles, on=["sector", "group"], how="left").with_columns(pl.col("group_title").fill_null(pl.col("group")))
    agg = agg.with_columns(
        pl.when(pl.col("supply") > 0).then(pl.col("openings") / pl.col("supply")).otherwise(None).alias("ratio"),
        (pl.col("openings") - pl.col("supply")).alias("gap"),
    )
    flags = pl.concat_list(
        pl.when(pl.col("supply") <= 0).then(pl.when(pl.col("_noexp")).then(pl.lit("no IPEDS supply expected")).otherwise(pl.lit("no supply"))),
        pl.when(pl.col("_cov_share") >= 0.25).then(pl.lit("IPEDS coverage caveat")),
        pl.when((pl.col("openings") < SMALL_OPENINGS) | ((pl.col("supply") > 0) & (pl.col("supply") < SMALL_SUPPLY))).then(pl.lit("small numbers")),
        pl.when((pl.col("region") != "US") & ~pl.col("sector").is_in(whole)).then(pl.lit("estimated state share")),
    ).list.drop_nulls().list.join("; ")
    agg = agg.with_columns(flags.alias("flags"), pl.col("sector").replace_strict(order, return_dtype=pl.Int32).alias("_order"))
    lead = LEAD[by]
    ties = [k for k in lead if k not in ("sector", "region")]  # a fixed order for rows with equal openings
    sort = ["_order", "region", "openings", *ties] if by != "state" else ["_order", "region"]
    desc = [False, False, True, *([False] * len(ties))] if by != "state" else [False, False]
    return agg.sort(sort, descending=desc).select([*lead, *VALUE_COLUMNS])


# ---------------------------------------------------------------------------------------------
# the method record
# ---------------------------------------------------------------------------------------------
def _vintages(r: Resolved, t: Tables) -> dict[str, Any]:
    vint: dict[str, Any] = {"ep_occupations": t.provenance("ep_occupations", r.ep_cycle)}
    if r.matrix_cycle is not None:
        vint["nem_matrix"] = t.provenance("nem_matrix", r.matrix_cycle)
    vint["ipeds_completions"] = [t.provenance("ipeds_completions", str(y)) for y in r.years]
    vint["cip_soc"] = t.provenance("cip_soc", t.vintage("cip_soc"))
    return vint


def method_record(r: Resolved, vintages: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """What a result was computed from and how: sources with vintages and sha256, every option, notes."""
    return {
        "sector": r.sector_name,
        "sector_title": r.sector_title,
        "region": r.region.code,
        "by": r.by,
        "awards": r.awards,
        "alloc": r.alloc,
        "scope": r.scope,
        "retention": r.retention,
        "extra_supply": str(r.query.extra_supply) if r.query.extra_supply else None,
        "completions_years": list(r.years),
        "vintages": vintages,
        "units": "people per year",
        "assumptions": [SEPARATION_NOTE] if r.matrix_cycle is not None else [],
        "notes": notes,
    }

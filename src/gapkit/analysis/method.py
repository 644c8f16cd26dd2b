"""The method: openings vs completions at every grain, for one sector or every sector at once.

The specification is ``docs/METHOD.md``; this module is its implementation and never validates
(:func:`compute` takes a :class:`~gapkit.analysis.query.Resolved` question).

Demand (three measures, each table carries the first two; ``--demand`` picks the ratio's)
    ``openings``: BLS annual openings (growth + labor-force exits + occupational transfers);
    ``entrants``: growth + labor-force exits, the openings new entrants fill (transfers are mostly filled
    by people already working); ``growth``: employment growth alone. National figures come from the BLS
    projections. A sector's use the National Employment Matrix: for each occupation o, over the
    sector's industries i, ``max(0, (E_proj(i,o) − E_base(i,o))/P + rate(o)·mean E(i,o))`` with rate =
    separations (openings) or labor-force exits (entrants) over mean employment, the same in every
    industry (BLS publishes no industry rates). When the matrix cycle differs from the projections
    cycle the matrix gives only the sector's share of each measure, applied to the newer national one.
    A state's: Projections Central's published openings times the national sector share; entrants
    apportion them with the occupation's national entrant share (Projections Central publishes totals
    only). Quality gates mark state inputs that cannot carry a ratio.
Supply
    IPEDS first-major completions at 6-digit CIP for the chosen award levels and years (mean),
    allocated to occupations through the NCES CIP-SOC crosswalk (SOC codes harmonized to the
    projections'): by default education-aware (level L goes to the linked occupations for which L is an
    entry route, in proportion to openings × the share of their workers holding L), or by openings,
    employment, equal shares, or not at all (``none``: every linked occupation gets the full count).
    Under sector scope an occupation's supply is scaled by the sector's share of its openings.
Gap
    ``ratio = demand / supply`` and ``gap = demand − supply`` after aggregating to the grain; no ratio
    below the supply floor or where the state's data cannot carry one.

Every sector of a question is a key column (sector × industry membership, sector × SOC-prefix
groups), so ``--sector all`` is one pass: the matrix is read once, the completions are allocated
once per allocation mode, and the state rows are joined once for all sectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gapkit.analysis.query import SIDE_BY_SIDE
from gapkit.analysis.results import SEPARATION_NOTE, SMALL_OPENINGS, SMALL_SUPPLY, GapResult
from gapkit.analysis.tables import SMALL, cycle_years, engine_for
from gapkit.codes import STATE_FIPS_51, STATES
from gapkit.config.method import method_settings
from gapkit.config.presets import award_config
from gapkit.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.query import Region, Resolved
    from gapkit.analysis.tables import Tables
    from gapkit.config.presets import Preset

MEASURES = ("openings", "entrants", "growth")
DEMAND_WORDS = {"openings": "total openings", "entrants": "entrant openings", "growth": "growth openings"}
LEAD = {"sector": ["sector", "region"], "subsector": ["sector", "region", "subsector", "subsector_title"],
        "group": ["sector", "region", "group", "group_title"], "occupation": ["sector", "region", "soc_code", "title", "group", "education"],
        "state": ["sector", "region"], "metro": ["sector", "region", "region_name"], "county": ["sector", "region", "region_name"],
        "wda": ["sector", "region", "region_name"]}
PREFETCH_MAX_ROWS = 5_000_000  # completions rows above which supply is not computed beside demand (memory)
UNUSABLE = "state data unusable"
ESTIMATED = "estimated state openings"


def value_columns(r: Resolved) -> list[str]:
    """The value columns of a gap table, in order, for a question's demand measure and grain."""
    cols = ["openings", "entrants", *(["growth"] if r.demand == "growth" else []), "supply", "ratio", "ratio_note", "gap",
            "supply_extra"]
    if r.by in {"sector", *SIDE_BY_SIDE}:
        cols.append("misalignment")
    return [*cols, "flags"]


CHUNK_REGIONS = 200  # above this many state-level regions, every-sector questions aggregate one sector at a time


def compute(r: Resolved, t: Tables) -> GapResult:
    """The gap table of a resolved question at its grain, with its method record and notes."""
    # supply does not depend on demand: its reads and allocation overlap the sector and state work on a second core,
    # starting with the completions while this thread reads the projections (not for very large completions tables:
    # two big queries at once would add up their memory for little time)
    if r.areas:
        # what the area methods read first (they are needed before supply), then supply
        from gapkit.analysis import regions

        t.prefetch(lambda: regions.read_inputs(r, t, question_areas(r, t)),
                   lambda: allocation(r, t, t.ep(r.ep_cycle), r.alloc, r.preset, by_state=False, areas=area_supply_counties(r, t)))
    elif sum(t.rows("ipeds_completions", str(y)) for y in r.years) <= PREFETCH_MAX_ROWS:
        # a state question: the totals' checks and own entrant shares first (small; the demand side asks for them
        # first), then supply
        t.prefetch(*([lambda: _state_checks(r, t)] if r.needs_states else []),
                   lambda: completions_table(r, t, r.years, r.needs_states),
                   lambda: allocation(r, t, t.ep(r.ep_cycle), r.alloc, r.preset, by_state=r.needs_states))
    ep = t.ep(r.ep_cycle)
    occ, sector_notes, global_notes = sector_occupations(r, t, ep)
    vintages = _vintages(r, t)
    if r.areas:
        rows, unalloc, state_notes, state_global = area_rows(r, t, ep, occ)
        vintages["state_projections"] = t.provenance("state_projections", r.projections_cycle or "")
        vintages.update(_area_vintages(r, t))
    elif r.needs_states:
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
    notes += [n for n in supply_notes(r, t, unalloc) if n not in notes]
    if (r.needs_states and not r.areas and len(r.sectors) > 1 and r.projections_cycle is not None
            and t.state_projections(r.projections_cycle)["state"].n_unique() > CHUNK_REGIONS):
        # every sector x thousands of regions: one sector at a time through the final aggregation (all at once
        # would hold every sector x region x occupation row in memory together); 51 states go in one pass
        import polars as pl

        table = pl.concat([finish(rows.lazy().filter(pl.col("sector") == s.name), r, ep) for s in r.sectors], how="vertical")
    else:
        table = finish(rows, r, ep)
    return GapResult(table=table, method=method_record(r, vintages, notes), notes=notes, unallocated=unalloc)


# ---------------------------------------------------------------------------------------------
# demand
# ---------------------------------------------------------------------------------------------
def sector_members(r: Resolved) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Sector × subsector × industry membership: (open, restricted to listed occupations)."""
    import polars as pl

    open_rows, restricted = [], []
    for s in r.sectors:
        if s.whole_economy:
            continue
        for sub in s.subsectors:
            for code in sub.nem_industries:
                if sub.occupations:
                    restricted += [(s.name, sub.key, code, soc) for soc in sub.occupations]
                else:
                    open_rows.append((s.name, sub.key, code))
    schema = {"sector": pl.String, "subsector": pl.String, "industry_code": pl.String}
    return (pl.DataFrame(open_rows, schema=schema, orient="row"),
            pl.DataFrame(restricted, schema={**schema, "soc_code": pl.String}, orient="row"))


def sector_occupations(r: Resolved, t: Tables, ep: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, list[str]], list[str]]:
    """Each demand measure by (sector, subsector, occupation) in persons/yr, the sector's share of the
    occupation's openings and of its employment.

    Returns the frame (sector, subsector, soc_code, openings_s, entrants_s, growth_s, share, emp_share),
    notes per sector and notes that hold for every sector using the matrix. Computed once per Tables for the
    sectors' definitions and the cycles (a headline, a sensitivity grid and the table share it).
    """
    key = ("sector-occ", r.ep_cycle, r.matrix_cycle, r.sep_cycle,
           tuple((s.name, s.whole_economy, tuple((u.key, tuple(u.nem_industries), tuple(u.occupations)) for u in s.subsectors))
                 for s in r.sectors))
    frame, per_sector, common = t.cached(key, lambda: _sector_occupations(r, t, ep))
    return frame, {k: list(v) for k, v in per_sector.items()}, list(common)


def _sector_occupations(r: Resolved, t: Tables, ep: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, list[str]], list[str]]:
    import polars as pl

    frames = []
    per_sector: dict[str, list[str]] = {}
    common: list[str] = []
    for s in r.sectors:
        if s.whole_economy:
            frames.append(ep.select(pl.lit(s.name).alias("sector"), pl.lit("all").alias("subsector"), "soc_code",
                                    pl.col("openings_nat").alias("openings_s"), pl.col("entrants_nat").alias("entrants_s"),
                                    pl.col("growth_nat").alias("growth_s"), pl.lit(1.0).alias("share"), pl.lit(1.0).alias("emp_share")))
    industrial = [s for s in r.sectors if not s.whole_economy]
    if industrial:
        m_cycle, sep_cycle = r.matrix_cycle, r.sep_cycle
        assert m_cycle is not None and sep_cycle is not None
        open_members, restricted = sector_members(r)
        codes = set(open_members["industry_code"].to_list()) | set(restricted["industry_code"].to_list())
        md = t.matrix_demand(m_cycle, sep_cycle, tuple(sorted(codes)))
        present = set(md["industry_code"].unique().to_list())
        for s in industrial:
            missing = sorted({c for sub in s.subsectors for c in sub.nem_industries} - present)
            if missing:
                per_sector[s.name] = [f"Industries in the sector definition but not in the {m_cycle} matrix: {', '.join(missing)}."]
        values = ["openings_m", "entrants_m", "growth_m", "emp_base_m"]
        # one lazy query from here to the sector rows (a dozen small steps, each its own query when run eagerly)
        joined = pl.concat([md.lazy().join(open_members.lazy(), on="industry_code", how="inner"),
                            md.lazy().join(restricted.lazy(), on=["industry_code", "soc_code"], how="inner")], how="diagonal")
        sub = joined.group_by("sector", "subsector", "soc_code").agg(pl.col(values).sum())
        # The sector's share of each occupation: its industries' figures over the published national figures of
        # the matrix cycle (line-item industries do not add up to the total: BLS leaves some detail unpublished
        # and self-employment is not an industry).
        if m_cycle in t.vintages("ep_occupations"):
            denom = t.ep(m_cycle).lazy().select("soc_code", pl.col("openings_nat").alias("all_openings"),
                                                pl.col("entrants_nat").alias("all_entrants"), pl.col("growth_nat").alias("all_growth"),
                                                pl.col("emp_base").alias("all_emp"))
        else:
            denom = (t.matrix_demand(m_cycle, sep_cycle).lazy().group_by("soc_code")
                     .agg(*(pl.col(f"{m}_m").sum().alias(f"all_{m}") for m in MEASURES), pl.col("emp_base_m").sum().alias("all_emp")))
            common.append(f"BLS projections for the matrix cycle {m_cycle} are not ingested; sector shares use the sum of the "
                          f"matrix's line-item industries as the denominator (`gapkit ingest bls-ep` for {m_cycle} fixes this).")
        out = sub.join(denom, on="soc_code", how="left").join(
            ep.lazy().select("soc_code", "openings_nat", "entrants_nat", "growth_nat"), on="soc_code", how="inner")
        if m_cycle == r.ep_cycle:
            out = out.with_columns(*(pl.col(f"{m}_m").alias(f"{m}_s") for m in MEASURES))
        else:
            common.append(f"The industry-occupation matrix is from {m_cycle} and the projections from {r.ep_cycle}: the matrix gives "
                          f"each occupation's sector share, applied to the {r.ep_cycle} openings.")
            out = out.with_columns(*((pl.col(f"{m}_m") / pl.col(f"all_{m}") * pl.col(f"{m}_nat")).fill_nan(0.0).fill_null(0.0)
                                     .alias(f"{m}_s") for m in MEASURES))
        # A sector cannot need more of an occupation than the whole economy: where rounding of small
        # published figures pushes the industries' sum past the national figure, scale it back.
        out = out.with_columns(*(
            pl.when(pl.col(f"{m}_s").sum().over("sector", "soc_code") > pl.col(f"{m}_nat"))
            .then(pl.col(f"{m}_s") * pl.col(f"{m}_nat") / pl.col(f"{m}_s").sum().over("sector", "soc_code"))
            .otherwise(pl.col(f"{m}_s")).fill_nan(0.0).alias(f"{m}_s") for m in MEASURES))
        out = out.with_columns(
            (pl.col("openings_s") / pl.col("openings_nat")).fill_nan(0.0).sum().clip(upper_bound=1.0).over("sector", "soc_code").alias("share"),
            (pl.col("emp_base_m").sum().over("sector", "soc_code") / pl.col("all_emp")).fill_nan(0.0).fill_null(0.0)
            .clip(upper_bound=1.0).alias("emp_share"),
        )
        frames.append(out.select("sector", "subsector", "soc_code", "openings_s", "entrants_s", "growth_s", "share", "emp_share")
                      .filter(pl.col("openings_s") > 0).collect(engine=SMALL))
    return pl.concat(frames, how="vertical_relaxed"), per_sector, common


def sector_base(r: Resolved, ep: pl.DataFrame, occ: pl.DataFrame) -> pl.DataFrame:
    """(sector, subsector, soc_code, openings_s, entrants_s, growth_s, share, share_sub): the sector's demand and
    its share of supply. Occupation scope: the occupations the sector employs a set share of, economy-wide."""
    import polars as pl

    if r.scope == "occupation":
        floor = method_settings().occupation_min_share
        first_sub = {s.name: (s.subsectors[0].key if s.subsectors else "all") for s in r.sectors}
        return (occ.group_by("sector", "soc_code").agg(pl.col("share").first(), pl.col("emp_share").first())
                .filter(pl.col("emp_share") >= floor)
                .join(ep.select("soc_code", "openings_nat", "entrants_nat", "growth_nat"), on="soc_code")
                .select("sector", pl.col("sector").replace_strict(first_sub, return_dtype=pl.String).alias("subsector"), "soc_code",
                        pl.col("openings_nat").alias("openings_s"), pl.col("entrants_nat").alias("entrants_s"),
                        pl.col("growth_nat").alias("growth_s"), "share", pl.lit(1.0).alias("share_sub")))
    return occ.with_columns((pl.col("openings_s") / pl.col("openings_s").sum().over("sector", "soc_code") * pl.col("share"))
                            .fill_nan(0.0).alias("share_sub"))


def subsector_weight() -> pl.Expr:
    """Over the rows of :func:`sector_base`: each subsector's part of an occupation's sector openings (equal parts when
    the sector has none of its openings), which splits the occupation's demand in a state or area among subsectors."""
    import polars as pl

    tot = pl.col("openings_s").sum().over("sector", "soc_code")
    return pl.when(tot > 0).then(pl.col("openings_s") / tot).otherwise(1.0 / pl.len().over("sector", "soc_code"))


def national_rows(r: Resolved, t: Tables, ep: pl.DataFrame, occ: pl.DataFrame, *, exclude_upgrades: bool = False
                  ) -> tuple[pl.DataFrame, dict[str, float]]:
    """Occupation rows of the nation."""
    import polars as pl

    supply, unalloc = supply_by_occupation(r, t, ep, exclude_upgrades=exclude_upgrades)
    base = sector_base(r, ep, occ)
    out = base.join(supply.select("soc_code", "supply", "supply_extra"), on="soc_code", how="left").with_columns(
        pl.col("supply").fill_null(0.0), pl.col("supply_extra").fill_null(0.0))
    return out.select(
        "sector", pl.lit(r.region.label).alias("region"), "subsector", "soc_code",
        pl.col("openings_s").alias("openings"), pl.col("entrants_s").alias("entrants"), pl.col("growth_s").alias("growth"),
        pl.col("openings_s").alias("expected"), pl.lit(False).alias("unusable"), pl.lit(False).alias("estimated"),
        (pl.col("supply") * pl.col("share_sub")).alias("supply"),
        (pl.col("supply_extra") * pl.col("share_sub") * r.retention).alias("supply_extra"),
    ), unalloc


def state_demand(r: Resolved, t: Tables, ep: pl.DataFrame, states: tuple[str, ...] | None = None
                 ) -> tuple[pl.DataFrame, list[str], list[str]]:
    """Each state's demand by occupation, gated: (state, soc_code, openings, entrants, growth, expected, unusable,
    estimated) for every detailed occupation of the projections in the question's state(s), with notes.

    * openings: Projections Central's; for a state that published its employment change alone (no
      separations), its change plus national separation rates × its mean employment (``estimated``);
    * entrants: openings × the occupation's national entrant share (openings less transfers), or the
      state's own share where it publishes exits and transfers (California EDD);
    * expected: national openings × the state's share of national openings; an occupation missing from the
      state file, or far below that, is ``unusable`` (no ratio is printed from it).
    """
    import polars as pl

    cfg = method_settings()
    p_cycle = r.projections_cycle
    assert p_cycle is not None
    years = cycle_years(p_cycle)
    notes: list[str] = []
    fips = _projection_fips(r, states)
    # the published totals' checks first: their scan of the stored table (aggregate rows too) is done, and its memory
    # free again, before the detailed rows are held (a table of thousands of regions: 130 MiB less at the peak)
    total_notes = t.state_total_notes(p_cycle, fips)
    # lazy: a table of thousands of regions is filtered, apportioned and gated without a copy of it in between
    proj = t.state_projections(p_cycle, fips).lazy()
    engine = engine_for(t.rows("state_projections", p_cycle))
    if fips is None:
        proj = proj.filter(pl.col("stfips").is_in(list(STATE_FIPS_51)))
        have = set(proj.select(pl.col("stfips").unique()).collect(engine=engine)["stfips"])
        lacking = [STATES[f][0] for f in STATE_FIPS_51 if f not in have]
        if lacking:
            notes.append(f"No {p_cycle} state projections for: {', '.join(lacking)} (reported, not filled).")
    notes += [n for n in total_notes if n not in notes]
    sector_notes: list[str] = []
    proj, moved, dropped = _apportion_old_codes(proj, ep, engine)
    if moved or dropped:
        sector_notes.append(f"{moved + dropped} state occupation code(s) are not detailed occupations of the BLS {r.ep_cycle} projections "
                            "(older SOC or hybrid codes such as 15-1256): " + (f"{moved} were apportioned to the projections' detailed "
                            "codes of the same SOC group the state file lacks, by national employment" if moved else "")
                            + ("; " if moved and dropped else "") + (f"{dropped} with no such code were left out" if dropped else "") + ".")
    nat = ep.select("soc_code", "openings_nat", "entrants_nat", "sep_rate", "exit_rate", "title")
    # one lazy query to the gated grid (a by-state question over thousands of regions materializes nothing
    # it does not keep)
    d = proj.select("stfips", "state", "soc_code", "openings", "emp_base", "emp_proj").join(
        nat.lazy().drop("title"), on="soc_code", how="inner")
    change = ((pl.col("emp_proj") - pl.col("emp_base")) / years)
    mean_emp = (pl.col("emp_base") + pl.col("emp_proj")) / 2
    # a state whose openings are its employment change alone for most occupations published no separations
    d = d.with_columns(((pl.col("openings") - change.clip(lower_bound=0.0)).abs()
                        <= pl.max_horizontal(pl.lit(10.0), pl.col("openings") * 0.06)).alias("_chg"))
    d = d.with_columns((pl.col("_chg").mean().over("state") >= cfg.change_only_share).alias("estimated"))
    own = _own_entrant_shares(t, fips)
    d = (d.join(own.lazy(), on=["state", "soc_code"], how="left") if own is not None
         else d.with_columns(pl.lit(None, pl.Float64).alias("own_share")))
    d = d.with_columns(
        pl.when(pl.col("estimated")).then((change.clip(lower_bound=0.0) + pl.col("sep_rate") * mean_emp).clip(lower_bound=0.0))
        .otherwise(pl.col("openings")).alias("openings"),
        pl.when(pl.col("estimated")).then((change + pl.col("exit_rate") * mean_emp).clip(lower_bound=0.0))
        .otherwise(pl.col("openings") * pl.coalesce("own_share", (pl.col("entrants_nat") / pl.col("openings_nat")).fill_nan(0.0)))
        .alias("entrants"),
        change.clip(lower_bound=0.0).fill_null(0.0).alias("growth"),
    )
    # expected size of every projections occupation in every state, from the state's share of national openings
    total_nat = float(ep["openings_nat"].sum())
    states = d.group_by("stfips", "state").agg((pl.col("openings").sum() / total_nat).alias("state_share"))
    grid = states.join(nat.lazy().select("soc_code", "openings_nat"), how="cross").with_columns(
        (pl.col("openings_nat") * pl.col("state_share")).alias("expected"))
    full = grid.join(d.select("state", "soc_code", "openings", "entrants", "growth", "estimated", mean_emp.alias("mean_emp")),
                     on=["state", "soc_code"], how="left")
    full = full.with_columns(
        ((pl.col("expected") >= cfg.expected_floor)
         & (pl.col("openings").is_null() | (pl.col("openings") < cfg.missing_fraction * pl.col("expected")))).alias("unusable"),
        pl.col("openings").fill_null(0.0), pl.col("entrants").fill_null(0.0), pl.col("growth").fill_null(0.0),
        pl.col("mean_emp").fill_null(0.0), pl.col("estimated").fill_null(False).any().over("state"),
    ).select("state", "soc_code", "openings", "entrants", "growth", "expected", "unusable", "estimated", "mean_emp")
    est_states, full = pl.collect_all([d.filter(pl.col("estimated")).select(pl.col("state").unique().sort()), full], engine=engine)
    for st in est_states["state"].to_list():
        notes.append(f"Projections Central {p_cycle} {STATES[_fips(st)][1]} ({st}): published openings are the employment change "
                     "alone (no separations) for most occupations, so they cannot carry a ratio; gapkit estimates the state's "
                     "openings from its own employment change plus national separation rates (labelled \"estimated state "
                     "openings\").")
    bad = (full.filter(pl.col("unusable")).join(nat.select("soc_code", "title"), on="soc_code", how="left")
           .sort(["state", "expected"], descending=[False, True]))
    if fips is not None and len(fips) == 1:
        for (st,), part in bad.group_by(["state"], maintain_order=True):
            shown = "; ".join(f"{x['soc_code']} {x['title']} ({x['openings']:,.0f} vs about {x['expected']:,.0f} expected)"
                              for x in part.head(3).to_dicts())
            more = f" and {part.height - 3} more" if part.height > 3 else ""
            sector_notes.append(f"Projections Central {p_cycle} {STATES[_fips(str(st))][1]} ({st}): {part.height} occupation(s) are "
                                f"missing or far below what the state's share of national openings implies: {shown}{more}; no ratio "
                                "is printed from them (\"state data unusable\").")
    elif bad.height:
        worst = bad.sort("expected", descending=True).head(3).to_dicts()
        shown = "; ".join(f"{x['state']} {x['soc_code']} {x['title']} ({x['openings']:,.0f} vs about {x['expected']:,.0f})" for x in worst)
        sector_notes.append(f"Projections Central {p_cycle}: {bad.height} occupation(s) in {bad['state'].n_unique()} state files are "
                            f"missing or far below what the state's share of national openings implies (largest: {shown}); a row "
                            "prints no ratio when they carry at least "
                            f"{cfg.withhold_share:.0%} of its expected openings (\"state data unusable\"; ask for one state to "
                            "see its list).")
    return full, sector_notes, notes


def _projection_fips(r: Resolved, states: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The FIPS codes of the states whose projection rows a question reads (``states``: postal codes), None: every state."""
    from gapkit.codes import ABBR_TO_FIPS

    if states:
        return tuple(ABBR_TO_FIPS[x] for x in states)
    return (r.region.fips,) if r.region.single_state and r.region.fips else None


def _state_checks(r: Resolved, t: Tables) -> None:
    """Read ahead (a prefetch) what a state question's demand reads besides the projection rows: the published totals'
    checks and the states' own entrant shares, under the keys :func:`state_demand` asks for."""
    if r.projections_cycle is None:
        return
    fips = _projection_fips(r, r.region.states or None)
    t.state_total_notes(r.projections_cycle, fips)
    _own_entrant_shares(t, fips)


def _apportion_old_codes(proj: pl.LazyFrame, ep: pl.DataFrame, engine: str = SMALL) -> tuple[pl.LazyFrame, int, int]:
    """State rows whose code is not a detailed occupation of the projections (an older SOC or hybrid code: NY's
    15-1256 for 15-1252 + 15-1253) shared among the projections' codes of the same broad group (else minor group)
    that the state file lacks, in proportion to national employment. Returns the rows (lazy), how many codes were
    apportioned and how many had no such code."""
    import polars as pl

    codes = ep.select("soc_code", "emp_base").lazy()
    other = ~pl.col("soc_code").is_in(ep["soc_code"].implode())
    kept = proj.filter(~other)
    # only a code whose minor group has a projections code can be apportioned: the others are counted, never
    # materialized (a table of millions of rows under codes of no SOC group would otherwise be copied)
    minor = ep["soc_code"].str.slice(0, 4).unique().implode()
    n_old, old = pl.collect_all([proj.select(other.sum()), proj.filter(other & pl.col("soc_code").str.slice(0, 4).is_in(minor))],
                                engine=engine)
    n = int(n_old.item())
    if n == 0:
        return proj, 0, 0
    if old.height == 0:
        return kept, 0, n
    # the codes the state files have, of the states and SOC minor groups apportioned into (not of every state)
    have = kept.filter(pl.col("stfips").is_in(old["stfips"].unique().implode())
                       & pl.col("soc_code").str.slice(0, 4).is_in(old["soc_code"].str.slice(0, 4).unique().implode())
                       ).select("stfips", "soc_code")
    values = ["openings", "emp_base", "emp_proj"]
    targets = []
    left = old
    for width in (6, 4):  # broad group (15-125), then minor group (15-1)
        t = (left.lazy().with_columns(pl.col("soc_code").str.slice(0, width).alias("_g"))
             .join(codes.rename({"soc_code": "target", "emp_base": "_w"}).with_columns(pl.col("target").str.slice(0, width).alias("_g")),
                   on="_g", how="inner")
             .join(have.rename({"soc_code": "target"}), on=["stfips", "target"], how="anti")
             .with_columns((pl.col("_w") / pl.col("_w").sum().over("stfips", "soc_code")).fill_nan(0.0).alias("_share"))
             .collect(engine=SMALL))
        targets.append(t)
        left = left.join(t.select("stfips", "soc_code").unique(), on=["stfips", "soc_code"], how="anti")
    spread = (pl.concat(targets).group_by("stfips", "state", "target")
              .agg(*((pl.col(v) * pl.col("_share")).sum() for v in values))
              .rename({"target": "soc_code"}))
    moved = old.height - left.height
    return pl.concat([kept, spread.lazy().select(kept.collect_schema().names())]), moved, n - moved


def _fips(abbr: str) -> str:
    from gapkit.codes import ABBR_TO_FIPS

    return ABBR_TO_FIPS[abbr]


def _own_entrant_shares(t: Tables, fips: tuple[str, ...] | None) -> pl.DataFrame | None:
    """(state, soc_code, own_share): entrants / openings where a state publishes exits and transfers itself
    (state rows of the sub-state projections, e.g. California EDD), harmonized to the projections' codes; of the
    states ``fips`` (as :func:`_projection_fips` gives them) or every state."""
    import polars as pl

    if not t.has("substate_projections"):
        return None
    states = tuple(STATES[f][0] for f in fips) if fips is not None else None

    def load() -> pl.DataFrame:
        rows = t.scan("substate_projections").filter(
            (pl.col("area_type") == "state") & (pl.col("soc_level") == "detailed") & (pl.col("openings") > 0)
            & (pl.col("state").is_in(list(states)) if states is not None else pl.lit(True))
        ).select("state", "soc_code", "openings", "transfers").collect(engine=SMALL)
        rows = t.harmonize(rows).group_by("state", "soc_code").agg(pl.col("openings").sum(), pl.col("transfers").sum())
        return rows.select("state", "soc_code", ((pl.col("openings") - pl.col("transfers")) / pl.col("openings"))
                           .clip(0.0, 1.0).alias("own_share"))

    return t.cached(("own-entrant-shares", states), load)


def state_rows(r: Resolved, t: Tables, ep: pl.DataFrame, occ: pl.DataFrame, *, exclude_upgrades: bool = False
               ) -> tuple[pl.LazyFrame, dict[str, float], list[str], list[str]]:
    """State rows: each state's (gated) demand × the national sector share; supply from each state's institutions.

    Returns the rows, the allocation totals, notes for sectors that use sector shares and notes for all.
    """
    import polars as pl

    demand, sector_notes, notes = state_demand(r, t, ep, r.region.states or None)  # (): every state
    base = sector_base(r, ep, occ)
    shares = base.select("sector", "subsector", "soc_code", subsector_weight().alias("w_sub"), "share", "share_sub")
    if r.scope == "occupation":
        shares = shares.with_columns(pl.lit(1.0).alias("share"), pl.lit(1.0).alias("share_sub"))
    # Only the grain "subsector" needs the subsector: otherwise each occupation's coefficients are summed
    # first (Σ w_sub = 1), so the state rows are (state × occupation × sector), not × subsector.
    keys = ["sector", "subsector", "soc_code"] if r.by == "subsector" else ["sector", "soc_code"]
    coef = shares.group_by(keys).agg((pl.col("share") * pl.col("w_sub")).sum().alias("a"), pl.col("share_sub").sum().alias("b"))
    if r.by != "subsector":
        coef = coef.with_columns(pl.lit("").alias("subsector"))
    supply, unalloc = supply_by_occupation(r, t, ep, by_state=True, exclude_upgrades=exclude_upgrades)
    # each state's demand and supply side by side once (not again for every sector a question over thousands of
    # regions aggregates one at a time), then spread over the sectors
    both = demand.join(supply.select("state", "soc_code", "supply", "supply_extra"), on=["state", "soc_code"], how="left")
    out = (
        both.lazy().join(coef.lazy(), on="soc_code", how="inner")
        .select(
            "sector", pl.col("state").alias("region"), "subsector", "soc_code",
            *((pl.col(m) * pl.col("a")).alias(m) for m in (*MEASURES, "expected")), "unusable", "estimated",
            (pl.col("supply").fill_null(0.0) * pl.col("b")).alias("supply"),
            (pl.col("supply_extra").fill_null(0.0) * pl.col("b") * r.retention).alias("supply_extra"),
        )
    )
    return out, unalloc, sector_notes, notes


def area_rows(r: Resolved, t: Tables, ep: pl.DataFrame, occ: pl.DataFrame, *, exclude_upgrades: bool = False
              ) -> tuple[pl.DataFrame, dict[str, float], list[str], list[str]]:
    """Rows of one sub-state area or of a state's areas side by side (``--by metro|county|wda``): demand by the
    area methods of :mod:`gapkit.analysis.regions`, supply from the institutions in each area's counties."""
    import polars as pl

    from gapkit.analysis import regions

    areas = question_areas(r, t)
    states = tuple(sorted({s for a in areas for s in a.states}))
    demand, sector_notes, notes = state_demand(r, t, ep, states)
    base_rows = sector_base(r, ep, occ)
    demand_rows, estimated, errors = regions.areas_sector_demand(r, t, ep, base_rows, areas, demand)
    if errors and r.region.substate:
        raise next(iter(errors.values()))
    skipped = [(a, errors[a.code]) for a in areas if a.code in errors]
    if estimated:
        codes = sorted(set().union(*estimated.values()))
        where = (next(iter(estimated)) if len(estimated) == 1
                 else f"{len(estimated)} areas ({'; '.join(list(estimated)[:4])}{'...' if len(estimated) > 4 else ''})")
        notes.append(f"{where}: QCEW suppresses private employment in NAICS {', '.join(codes[:8])}"
                     f"{f' and {len(codes) - 8} more' if len(codes) > 8 else ''} for some counties; those cells are estimated as the "
                     "parent industry's employment minus the disclosed parts, shared by establishments, never read as 0 "
                     "(flagged \"suppressed QCEW cells estimated\").")
    if skipped:
        names = "; ".join(a.name for a, _ in skipped[:6]) + (f" and {len(skipped) - 6} more" if len(skipped) > 6 else "")
        notes.append(f"{len(skipped)} of {len(areas)} areas have no area data gapkit can measure demand with and are left out "
                     f"({names}): {skipped[0][1].message}")
    if len(skipped) == len(areas):
        raise UsageError(f"--by {r.by} --region {r.region.code}: no area of {r.region.name} can be measured. {skipped[0][1].message}")
    names = pl.DataFrame([(a.code, a.name) for a in areas], schema={"region": pl.String, "region_name": pl.String}, orient="row")
    demand_rows = demand_rows.join(names, on="region", how="left")
    if demand_rows.filter(pl.col("area_method").str.contains(regions.OEWS_NOT_RELEASED, literal=True)
                          & (pl.col("openings") > 0)).height:
        notes.append("OEWS does not release some occupations' employment (**) for an area or its state: their share of the "
                     "state's openings is the area's share of all the state's employment, never 0 and never the whole state's "
                     f"(flagged \"{regions.OEWS_NOT_RELEASED}\").")
    supply, unalloc = supply_by_occupation(r, t, ep, areas=area_supply_counties(r, t), exclude_upgrades=exclude_upgrades)
    base = sector_base(r, ep, occ).select("sector", "subsector", "soc_code", "share_sub")
    out = (demand_rows.lazy()
           .join(base.lazy(), on=["sector", "subsector", "soc_code"], how="left")
           .join(supply.lazy().select("region", "soc_code", "supply", "supply_extra"), on=["region", "soc_code"], how="left")
           .select("sector", "region", "region_name", "subsector", "soc_code", *MEASURES, "expected", "unusable", "estimated",
                   "area_method",
                   (pl.col("supply").fill_null(0.0) * pl.col("share_sub").fill_null(0.0)).alias("supply"),
                   (pl.col("supply_extra").fill_null(0.0) * pl.col("share_sub").fill_null(0.0) * r.retention).alias("supply_extra")))
    if r.supply_area == "state":
        notes.append("Supply counts the completers of every institution in the area's state (--supply-area state): bachelor's "
                     "and graduate completers are often hired statewide.")
    return out, unalloc, sector_notes, notes


def question_areas(r: Resolved, t: Tables) -> list[Region]:
    """The areas of a sub-state question: its own area, or its state's areas side by side (``--by metro|county|wda``)."""
    from gapkit.analysis import regions

    return [r.region] if r.region.substate else regions.areas_of(r.region, r.by, t)


def area_supply_counties(r: Resolved, t: Tables) -> pl.DataFrame:
    """(county_fips, region): the counties whose institutions' completers are each area's supply — its own counties,
    or with ``--supply-area state`` every county of its state(s)."""
    import polars as pl

    from gapkit.analysis import regions

    def load() -> pl.DataFrame:
        areas = question_areas(r, t)
        if r.supply_area == "state":  # every county of each area's state(s): one join for all the areas
            wanted = pl.DataFrame([(st, a.code) for a in areas for st in a.states], schema={"state": pl.String, "region": pl.String},
                                  orient="row")
            return (regions.counties(t).select("county_fips", "state").join(wanted, on="state", maintain_order="right_left")
                    .select("county_fips", "region"))
        return pl.DataFrame([(c, a.code) for a in areas for c in a.counties], schema={"county_fips": pl.String, "region": pl.String},
                            orient="row")

    return t.cached(("area-supply-counties", r.region.code, r.region.counties, r.by, r.supply_area), load)


def _area_vintages(r: Resolved, t: Tables) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ds in ("cbsa_delineation", "oews_area_definitions", "qcew_area", "substate_projections", "workforce_areas"):
        if t.has(ds):
            out[ds] = t.provenance(ds, t.vintages(ds)[-1])
    return out


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


def entry_routes(t: Tables, ep: pl.DataFrame) -> pl.DataFrame:
    """(soc_code, awlevel, route_share): the award levels that are an entry route into each occupation, with the
    share of its workers whose highest education is that level (BLS Table 5.3). A level is a route when at
    least ``entry_route_min_share`` of the workers hold it and it is at most ``entry_route_steps_below``
    attainment steps below the occupation's typical entry education, into occupations that do not need
    years of related work experience first (``entry_route_excluded_experience``)."""
    import polars as pl

    cfg = method_settings()
    att = t.attainment()
    levels = pl.DataFrame({"awlevel": list(cfg.attainment_of_level), "level": list(cfg.attainment_of_level.values())},
                          schema={"awlevel": pl.Int8, "level": pl.String})
    occ = ep.filter(~pl.col("work_experience").is_in(list(cfg.entry_route_excluded_experience)).fill_null(True)).select(
        "soc_code", "education")
    if att is None:  # no Table 5.3 ingested: the entry-education rule alone, equal shares
        pairs = occ.join(levels, how="cross").with_columns(pl.lit(1.0).alias("share"))
    else:
        pairs = occ.join(att.select("soc_code", "level", "share"), on="soc_code", how="inner").join(levels, on="level", how="inner")
    rank = pl.col("level").replace_strict(cfg.attainment_rank, return_dtype=pl.Int32)
    entry = pl.col("education").replace_strict(cfg.entry_rank, default=None, return_dtype=pl.Int32)
    ok = (pl.col("share") >= cfg.entry_route_min_share) & (entry.is_null() | (rank >= entry - cfg.entry_route_steps_below))
    return pairs.filter(ok).select("soc_code", "awlevel", pl.col("share").alias("route_share"))


def allocation_links(r: Resolved, t: Tables, ep: pl.DataFrame, mode: str, p: Preset) -> pl.DataFrame:
    """(cipcode, awlevel, soc_code, w): how a program's completers at each level are shared among its linked
    occupations (weights sum to 1 per program and level; ``none``: 1 each)."""
    import polars as pl

    uniform = not p.by_entry_education
    key = ("links", r.ep_cycle, mode, uniform)

    def run() -> pl.DataFrame:
        cfg = award_config()
        xw = t.crosswalk().lazy().join(ep.lazy().select("soc_code", "openings_nat", "emp_base"), on="soc_code", how="inner")
        w0 = {"openings": pl.col("openings_nat"), "employment": pl.col("emp_base"), "equal": pl.lit(1.0), "none": pl.lit(1.0),
              "education": pl.col("openings_nat") * pl.col("route_share")}[mode]
        if uniform and mode != "education" and not cfg.presets["all"].by_entry_education:
            # every occupation counts the same levels and the weight does not depend on the level: a program's shares
            # are computed once and repeated at each level (a tenth of the rows)
            links = _shares(xw.with_columns(w0.fill_null(0.0).cast(pl.Float64).alias("w0")), ["cipcode"], mode).join(
                pl.LazyFrame({"awlevel": cfg.levels_of(cfg.presets["all"])}, schema={"awlevel": pl.Int8}), how="cross")
        else:
            eligible = eligible_levels(ep, cfg.presets["all"] if uniform else p).lazy()
            if mode == "education":
                eligible = eligible.join(entry_routes(t, ep).lazy(), on=["soc_code", "awlevel"], how="inner")
            links = _shares(xw.join(eligible, on="soc_code", how="inner").with_columns(w0.fill_null(0.0).cast(pl.Float64).alias("w0")),
                            ["cipcode", "awlevel"], mode)
        return links.filter(pl.col("w") > 0).select("cipcode", "awlevel", "soc_code", "w").collect(engine=SMALL)

    return t.cached(key, run)


def completions_table(r: Resolved, t: Tables, years: tuple[int, ...], by_state: bool) -> pl.DataFrame:
    """The completions an allocation starts from: the nation's by program (a national question), else by state."""
    if r.region.single_state or by_state:
        return t.completions(years)
    return t.completions_national(years)


def _shares(links: pl.LazyFrame, keys: list[str], mode: str) -> pl.LazyFrame:
    """``links`` with w: each row's w0 over the sum of w0 of its program (``keys``); 1 each in mode ``none``."""
    import polars as pl

    if mode == "none":
        return links.with_columns(pl.lit(1.0).alias("w"))
    total = links.group_by(keys).agg(pl.col("w0").sum().alias("_total"))
    return links.join(total, on=keys, how="left").with_columns((pl.col("w0") / pl.col("_total")).fill_nan(0.0).alias("w"))


def allocation(r: Resolved, t: Tables, ep: pl.DataFrame, mode: str, p: Preset, *, by_state: bool,
               years: tuple[int, ...] | None = None, areas: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Completions allocated to occupations by award level: ([state,] soc_code, awlevel, supply_ipeds) and
    per-level totals (awlevel, input, allocated, unlinked, not_route). Conserves completions in every mode but
    ``none``: input = allocated + unlinked (no linked projections occupation) + not_route (linked, but the
    level is an entry route into none of them).

    Presets that count the same levels for every occupation share one allocation (the weights of a
    program and level do not depend on the preset), so it is computed once over every level and filtered
    after; only ``entry`` (levels per occupation) has its own.
    """
    import polars as pl

    cfg = award_config()
    years = years or r.years
    region = r.region.fips if r.region.single_state else None
    only = r.region.states if r.region.kind == "states" else ()  # several states side by side (none: every state)
    uniform = not p.by_entry_education
    levels = cfg.levels_of(cfg.presets["all"]) if uniform else cfg.entry_levels
    area_key = tuple(areas.rows()) if areas is not None else None
    key = ("alloc", r.ep_cycle, years, mode, uniform, region, by_state, area_key, only)

    def run() -> tuple[pl.DataFrame, pl.DataFrame]:
        if areas is not None:  # only the areas' institutions are read (not every unit of the country)
            counties = areas["county_fips"].unique()
            inst = (pl.concat([t.institutions(y).select("unitid", "county_fips") for y in years]).unique("unitid", keep="first")
                    .filter(pl.col("county_fips").is_in(counties.implode())))
            units = inst["unitid"].implode()  # filtered as the rows are read (a tenth of the country's, or less)
            comp = (pl.concat([t.scan("ipeds_completions", str(y)).filter((pl.col("cip_level") == 6) & pl.col("unitid").is_in(units))
                               .select("unitid", "cipcode", "awlevel", pl.col("completions").cast(pl.Float64)) for y in years])
                    .join(inst.lazy(), on="unitid", how="inner").join(areas.lazy(), on="county_fips", how="inner")
                    .group_by("region", "cipcode", "awlevel").agg((pl.col("completions").sum() / len(years)).alias("completions"))
                    .collect())
        else:
            comp = completions_table(r, t, years, by_state)
            if region is not None:
                comp = comp.filter(pl.col("state") == r.region.code)
            elif by_state and only:  # several states side by side (a national table has no states to filter)
                comp = comp.filter(pl.col("state").is_in(list(only)))
        keys = ["region"] if areas is not None else ["state"] if by_state else []
        prog = comp.lazy().filter(pl.col("awlevel").is_in(levels))
        if set(comp.columns) - {*keys, "cipcode", "awlevel", "completions"}:  # e.g. one state's rows: summed over the state
            prog = prog.group_by([*keys, "cipcode", "awlevel"]).agg(pl.col("completions").sum())
        links = allocation_links(r, t, ep, mode, p)
        # each program's completions spread over its occupations: a join that multiplies the rows, so for thousands
        # of regions it streams (aggregated as it joins) instead of materializing every program x occupation row
        by_level = (prog.join(links.lazy(), on=["cipcode", "awlevel"], how="inner")
                    .group_by([*keys, "soc_code", "awlevel"]).agg((pl.col("completions") * pl.col("w")).sum().alias("supply_ipeds")))
        linked = t.crosswalk().join(ep.select("soc_code"), on="soc_code", how="semi").select("cipcode").unique()
        routed = links.select("cipcode", "awlevel").unique()
        status = prog.join(linked.lazy().with_columns(pl.lit(True).alias("_linked")), on="cipcode", how="left").join(
            routed.lazy().with_columns(pl.lit(True).alias("_routed")), on=["cipcode", "awlevel"], how="left")
        totals = status.group_by("awlevel").agg(
            pl.col("completions").sum().alias("input"),
            pl.col("completions").filter(pl.col("_routed").fill_null(False)).sum().alias("allocated"),
            pl.col("completions").filter(~pl.col("_linked").fill_null(False)).sum().alias("unlinked"),
            pl.col("completions").filter(pl.col("_linked").fill_null(False) & ~pl.col("_routed").fill_null(False)).sum().alias("not_route"),
        )
        by_level, totals = pl.collect_all([by_level, totals], engine=engine_for(comp.height))
        return by_level, totals

    return t.cached(key, run)


def supply_by_occupation(r: Resolved, t: Tables, ep: pl.DataFrame, *, by_state: bool = False, mode: str | None = None,
                         p: Preset | None = None, years: tuple[int, ...] | None = None, exclude_upgrades: bool = False,
                         areas: pl.DataFrame | None = None) -> tuple[pl.DataFrame, dict[str, float]]:
    """([state,] soc_code, supply_ipeds, supply_extra, supply) under the question's preset and mode (or the given
    ones), retention applied; and the completions input / allocated / unallocated at the preset's levels.
    ``exclude_upgrades`` drops completions that may be upgrades by people already in the occupation (RN-to-BSN)."""
    import polars as pl

    cfg = award_config()
    p = p or r.preset
    by_level, totals = allocation(r, t, ep, mode or r.alloc, p, by_state=by_state, years=years, areas=areas)
    levels = cfg.levels_of(p)
    keys = ["region"] if areas is not None else ["state"] if by_state else []
    kept = by_level.filter(pl.col("awlevel").is_in(levels))
    if exclude_upgrades:
        for u in method_settings().upgrades:
            kept = kept.filter(~((pl.col("soc_code") == u.soc) & pl.col("awlevel").is_in(list(u.levels))))
    supply = kept.group_by([*keys, "soc_code"]).agg(pl.col("supply_ipeds").sum())
    tot = totals.filter(pl.col("awlevel").is_in(levels)).select(pl.col("input", "unlinked", "not_route").sum()).row(0)
    total_in, unlinked, not_route = (float(x or 0.0) for x in tot)
    allocated = float(supply["supply_ipeds"].sum())
    if (mode or r.alloc) == "none":  # full counts: what was allocated is the input of the linked programs
        allocated = total_in - unlinked - not_route
    unalloc = {"input": total_in, "allocated": allocated, "unallocated": max(0.0, unlinked + not_route),
               "unlinked": unlinked, "not_entry_route": not_route}
    extra = extra_supply_frame(r, by_state, areas=areas is not None)
    if extra is not None:
        supply = supply.join(extra, on=[*keys, "soc_code"], how="full", coalesce=True)
    else:
        supply = supply.with_columns(pl.lit(0.0).alias("supply_extra"))
    supply = supply.with_columns(pl.col("supply_ipeds").fill_null(0.0), pl.col("supply_extra").fill_null(0.0)).with_columns(
        ((pl.col("supply_ipeds") + pl.col("supply_extra")) * r.retention).alias("supply"))
    return supply, unalloc


def extra_supply_frame(r: Resolved, by_state: bool, areas: bool = False) -> pl.DataFrame | None:
    """The user's non-IPEDS completers for the question's region: (soc_code, supply_extra), by state, or by area
    (rows whose region is the area's code, e.g. metro:18140)."""
    import polars as pl

    if r.extra_supply is None:
        return None
    df = pl.DataFrame([(s, g, v) for s, g, v, _ in r.extra_supply],
                      schema={"soc_code": pl.String, "state": pl.String, "supply_extra": pl.Float64}, orient="row")
    if areas:
        return df.rename({"state": "region"}).group_by("region", "soc_code").agg(pl.col("supply_extra").sum())
    if by_state:
        return df.filter(pl.col("state") != "US").group_by("state", "soc_code").agg(pl.col("supply_extra").sum())
    want = "US" if r.region.national else r.region.code
    return df.filter(pl.col("state") == want).group_by("soc_code").agg(pl.col("supply_extra").sum())


def supply_notes(r: Resolved, t: Tables, unalloc: dict[str, float]) -> list[str]:
    """What the supply side of a question should say: completions not allocated and why, upgrades, codes."""
    notes = []
    if r.alloc == "education" and unalloc.get("not_entry_route", 0) >= 0.5:
        notes.append(f"{unalloc['not_entry_route']:,.0f} completions a year are at award levels that are not an entry route into any "
                     "occupation their program is linked to (e.g. certificates in programs whose occupations are entered with a "
                     "degree): reported as \"not an entry route\", not counted as supply.")
    if t.soc_map() is None:
        notes.append("SOC codes are not harmonized to the projections' codes (occupations BLS merges, such as 21-1018 and 29-2010, get "
                     "no supply): run `gapkit ingest bls-codes`.")
    if r.alloc == "education" and t.attainment() is None:
        notes.append("No educational attainment (BLS Table 5.3) is ingested: education-aware allocation used the entry-education rule "
                     "alone with equal shares; ingest the 2022-32 occupation.xlsx (`gapkit ingest bls-ep`).")
    return notes


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


def ratio_columns(demand: str, withheld: pl.Expr | None = None) -> list[pl.Expr]:
    """ratio, ratio_note and gap for rows with ``demand``, ``supply`` and ``_noexp`` columns: no ratio below the
    supply floor ("> N" or "no meaningful supply") or where the inputs cannot carry one (``withheld``)."""
    import polars as pl

    cfg = method_settings()
    d, s = pl.col(demand), pl.col("supply")
    held = withheld if withheld is not None else pl.lit(False)
    note = (pl.when(held).then(pl.lit(f"{UNUSABLE}"))
            .when(s <= 0).then(pl.when(pl.col("_noexp")).then(pl.lit("none expected")).otherwise(pl.lit("no supply")))
            .when(s < cfg.supply_floor).then(
                pl.when(d >= cfg.bound_min_openings).then(pl.format("> {}", (d / cfg.supply_floor).floor().cast(pl.Int64)))
                .otherwise(pl.lit("no meaningful supply")))
            .otherwise(None))
    return [pl.when(note.is_null()).then(d / s).otherwise(None).alias("ratio"), note.alias("ratio_note"), (d - s).alias("gap")]


def finish(rows: pl.DataFrame | pl.LazyFrame, r: Resolved, ep: pl.DataFrame) -> pl.DataFrame:
    """Aggregate occupation rows to the grain and add ratio, gap, misalignment and flags."""
    import polars as pl

    cfg = award_config()
    mcfg = method_settings()
    no_ipeds = cfg.no_ipeds_education
    by = r.by
    # titles and education only where the grain shows them (a by-state question joins this to every
    # sector x state x occupation row: text there would cost memory for nothing)
    meta = ep.select(
        "soc_code", *(("title", "education") if by == "occupation" else ()),
        (pl.col("soc_code").is_in(cfg.ipeds_coverage.caveat_soc) | pl.col("education").is_in(no_ipeds)).alias("_cov"),
        pl.col("education").is_in(no_ipeds).alias("_noexp"),
    )
    lf = rows.lazy().join(meta.lazy(), on="soc_code", how="left")
    # a frame's size is known; a lazy one is one sector of many regions, filtered from rows already in memory
    engine = engine_for(rows.height) if isinstance(rows, pl.DataFrame) else SMALL
    if by in {"group", "occupation"}:
        lf = lf.join(group_membership(r, ep).lazy(), on=["sector", "soc_code"], how="left")
    keys = {"sector": ["sector", "region"], "subsector": ["sector", "region", "subsector"], "group": ["sector", "region", "group"],
            "occupation": ["sector", "region", "soc_code", "title", "group", "education"], "state": ["sector", "region"],
            "metro": ["sector", "region", "region_name"], "county": ["sector", "region", "region_name"],
            "wda": ["sector", "region", "region_name"]}[by]
    demand = r.demand
    has_method = "area_method" in rows.collect_schema().names()
    aggs = [
        *(pl.col(m).sum() for m in MEASURES), pl.col("supply").sum(), pl.col("supply_extra").sum(),
        pl.col("expected").sum().alias("_expected"),
        (pl.col("expected") * pl.col("unusable")).sum().alias("_unusable"),
        pl.col("estimated").any().alias("_estimated"),
        # share of the row's openings in occupations with an IPEDS coverage caveat
        ((pl.col("openings") * pl.col("_cov")).sum() / pl.col("openings").sum()).fill_nan(0.0).alias("_cov_share"),
        pl.col("_noexp").all().alias("_noexp"),
        (pl.col("area_method").drop_nulls().str.split("; ").explode().unique().sort().str.join("; ") if has_method
         else pl.lit("")).alias("_method"),
    ]
    # misalignment: the share of completers who would have to change field for supply to match demand across the
    # occupations (half the sum of absolute differences of the two distributions)
    if by == "state":  # state rows are one per (sector, state, occupation) already: one pass, no second aggregation
        d, s = pl.col(demand), pl.col("supply")
        aggs.append(pl.when((s.sum() > 0) & (d.sum() > 0)).then((s / s.sum() - d / d.sum()).abs().sum() / 2)
                    .otherwise(None).alias("misalignment"))
        agg = lf.group_by(keys).agg(*aggs).collect(engine=engine)
    elif by in {"sector", *SIDE_BY_SIDE}:
        per_occ = lf.group_by([*keys, "soc_code"]).agg(pl.col(demand).sum().alias("_d"), pl.col("supply").sum().alias("_s"))
        mis = per_occ.group_by(keys).agg(
            pl.when((pl.col("_s").sum() > 0) & (pl.col("_d").sum() > 0))
            .then(((pl.col("_s") / pl.col("_s").sum()) - (pl.col("_d") / pl.col("_d").sum())).abs().sum() / 2)
            .otherwise(None).alias("misalignment"))
        agg = lf.group_by(keys).agg(*aggs).join(mis, on=keys, how="left").collect(engine=engine)
    else:
        agg = lf.group_by(keys).agg(*aggs).collect(engine=engine)
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
    withheld = (pl.col("_unusable") >= mcfg.withhold_share * pl.col("_expected")) & (pl.col("_unusable") > 0)
    agg = agg.with_columns(withheld.alias("_withheld")).with_columns(*ratio_columns(demand, pl.col("_withheld")))
    flags = pl.concat_list(
        pl.when(pl.col("supply") <= 0).then(pl.when(pl.col("_noexp")).then(pl.lit("no IPEDS supply expected")).otherwise(pl.lit("no supply"))),
        pl.when(pl.col("_cov_share") >= 0.25).then(pl.lit("IPEDS coverage caveat")),
        pl.when((pl.col(demand) < SMALL_OPENINGS) | ((pl.col("supply") > 0) & (pl.col("supply") < SMALL_SUPPLY))).then(pl.lit("small numbers")),
        pl.when((pl.col("region") != "US") & ~pl.col("sector").is_in(whole) & pl.lit(not r.areas)).then(pl.lit("estimated state share")),
        pl.when(pl.col("_method") != "").then(pl.col("_method")),
        pl.when(pl.col("_estimated")).then(pl.lit(ESTIMATED)),
        pl.when(pl.col("_withheld")).then(pl.lit(UNUSABLE)),
    ).list.drop_nulls().list.join("; ")
    agg = agg.with_columns(flags.alias("flags"), pl.col("sector").replace_strict(order, return_dtype=pl.Int32).alias("_order"))
    lead = LEAD[by]
    ties = [k for k in lead if k not in ("sector", "region")]  # a fixed order for rows with equal demand
    side = by in SIDE_BY_SIDE
    sort = ["_order", "region", demand, *ties] if not side else ["_order", "region"]
    desc = [False, False, True, *([False] * len(ties))] if not side else [False, False]
    return agg.sort(sort, descending=desc).select([*lead, *value_columns(r)])


# ---------------------------------------------------------------------------------------------
# the method record
# ---------------------------------------------------------------------------------------------
def _vintages(r: Resolved, t: Tables) -> dict[str, Any]:
    vint: dict[str, Any] = {"ep_occupations": t.provenance("ep_occupations", r.ep_cycle)}
    if r.matrix_cycle is not None:
        vint["nem_matrix"] = t.provenance("nem_matrix", r.matrix_cycle)
    vint["ipeds_completions"] = [t.provenance("ipeds_completions", str(y)) for y in r.years]
    vint["cip_soc"] = t.provenance("cip_soc", t.vintage("cip_soc"))
    if t.has("soc_nem"):
        vint["soc_nem"] = t.provenance("soc_nem", t.vintage("soc_nem"))
    if r.alloc == "education" and t.has("ep_attainment"):
        vint["ep_attainment"] = t.provenance("ep_attainment", t.vintages("ep_attainment")[-1])
    return vint


def assumptions(r: Resolved) -> list[str]:
    """The assumptions a result rests on, in words (printed with every table)."""
    out = []
    if r.matrix_cycle is not None:
        out.append(SEPARATION_NOTE)
    if r.alloc == "education":
        out.append("Education-aware supply: each award level goes to the linked occupations it is an entry route into, in proportion "
                   "to openings × the share of their workers holding that level (BLS Table 5.3, 2022-32, used for every cycle).")
    if r.needs_states and r.demand == "entrants":
        out.append("State entrant openings apportion the state's published openings with each occupation's national share of "
                   "entrants (Projections Central publishes total openings only).")
    if r.etpl_note:
        out.append(r.etpl_note)
    return out


def method_record(r: Resolved, vintages: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """What a result was computed from and how: sources with vintages and sha256, every option, notes."""
    return {
        "sector": r.sector_name,
        "sector_title": r.sector_title,
        "region": r.region.code,
        "region_name": r.region.name,
        "by": r.by,
        "demand": r.demand,
        "awards": r.awards,
        "alloc": r.alloc,
        "scope": r.scope,
        "retention": r.retention,
        "extra_supply": "; ".join(x for x in (str(r.query.extra_supply) if r.query.extra_supply else "",
                                              f"ETPL at {float(r.query.etpl_completers):g} a program" if r.etpl_note else "") if x) or None,
        "completions_years": list(r.years),
        **({"supply_area": r.supply_area} if r.areas else {}),
        "vintages": vintages,
        "units": "people per year",
        "assumptions": assumptions(r),
        "notes": notes,
    }

"""The gap engine: openings vs completions at every grain (METHOD.md is the specification).

Demand
    National openings by detailed occupation come from BLS Table 1.10. A sector's openings use the
    National Employment Matrix: for each occupation o, over the sector's industries i,
    ``O_S(o) = Σ_i max(0, (E_proj(i,o) − E_base(i,o))/P + r(o)·(E_base(i,o)+E_proj(i,o))/2)`` with
    ``r(o) = separations(o) / ((E_base(o)+E_proj(o))/2)`` (industry-uniform separation rates: BLS
    publishes none by industry). When the matrix cycle differs from the projections cycle, the
    matrix only gives the sector's share of each occupation, applied to the newer openings.
    A state's sector openings are the state's published openings times the national sector share.
Supply
    IPEDS first-major completions at 6-digit CIP for the chosen award levels and years (mean),
    allocated to occupations through the NCES CIP-SOC crosswalk by openings (default), base-year
    employment, equal shares, or not at all (``none``: every linked occupation gets the full count).
    Under sector scope an occupation's supply is scaled by the sector's share of its openings.
Gap
    ``ratio = openings / supply`` and ``gap = openings − supply`` after aggregating to the grain.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gapkit.codes import ABBR_TO_FIPS, STATE_FIPS_51, STATES, normalize_state
from gapkit.config.presets import award_config, preset
from gapkit.errors import MissingDataError, UsageError
from gapkit.store import Store

if TYPE_CHECKING:
    import polars as pl

    from gapkit.config.sectors import Sector

BY_CHOICES = ("sector", "subsector", "group", "occupation", "state")
ALLOC_MODES = ("openings", "employment", "equal", "none")
SCOPES = ("sector", "occupation")
SMALL_OPENINGS = 50.0  # persons/yr: rows below are flagged "small numbers"
SMALL_SUPPLY = 20.0
SEPARATION_NOTE = (
    "Sector openings assume each occupation separates at the same rate in every industry "
    "(BLS publishes no industry-specific separation rates)."
)


@dataclass(frozen=True)
class GapOptions:
    sector: str = "transportation"
    region: str = "US"
    by: str = "group"
    awards: str = "all"
    alloc: str = "openings"
    scope: str = "sector"
    completions_years: tuple[int, ...] | None = None
    vintage: str | None = None  # EP cycle, e.g. "2024-34"
    retention: float = 1.0
    extra_supply: str | None = None
    sector_file: str | None = None


@dataclass
class GapResult:
    table: pl.DataFrame
    method: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    unallocated: dict[str, float] = field(default_factory=dict)

    def method_line(self) -> str:
        return method_line(self.method)


# ---------------------------------------------------------------------------------------------
# data access, cached per data directory
# ---------------------------------------------------------------------------------------------
class GapData:
    """The ingested tables the engine reads, loaded once (a notebook can reuse one instance)."""

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        self.store = Store(data_dir)
        self._cache: dict[Any, Any] = {}

    def _memo(self, key: Any, fn: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def vintage(self, dataset: str, wanted: str | None = None) -> str:
        from gapkit.ingestion.sources import DATASET_SOURCE

        available = self.store.vintages(dataset)
        if not available:
            raise MissingDataError(dataset, f"gapkit ingest {DATASET_SOURCE[dataset]}")
        if wanted is None:
            return available[-1]
        if wanted not in available:
            raise UsageError(f"--vintage {wanted}: {dataset} has vintages {', '.join(available)} ingested.")
        return wanted

    def provenance(self, dataset: str, vintage: str) -> dict[str, Any]:
        e = self.store.entry(dataset, vintage)
        return {"dataset": dataset, "vintage": vintage, "sha256": e.sha256[:12] if e else "", "retrieved": e.retrieved if e else ""}

    def ep(self, cycle: str) -> pl.DataFrame:
        """Detailed occupations of one EP cycle, persons per year."""
        import polars as pl

        def load() -> pl.DataFrame:
            return (
                self.store.scan("ep_occupations", cycle)
                .filter(pl.col("occ_type") == "Line item")
                .select(
                    "soc_code", "title", "education", "training", "work_experience", "median_wage",
                    (pl.col("openings_k") * 1000).alias("openings_nat"),
                    (pl.col("emp_base_k") * 1000).alias("emp_base"),
                    (pl.col("emp_proj_k") * 1000).alias("emp_proj"),
                    (pl.col("separations_k") / ((pl.col("emp_base_k") + pl.col("emp_proj_k")) / 2)).fill_nan(0.0).alias("sep_rate"),
                    pl.col("base_year"), pl.col("proj_year"),
                )
                .collect()
            )

        return self._memo(("ep", cycle), load)

    def matrix_demand(self, matrix_cycle: str, sep_cycle: str, industries: tuple[str, ...] | None = None) -> pl.DataFrame:
        """Annual openings by (line-item industry, line-item occupation) from the matrix, persons.

        ``industries`` limits the query to those industry codes (a sector's), read with the filter
        pushed into the Parquet scan; None reads every line-item industry.
        """
        import polars as pl

        def load() -> pl.DataFrame:
            ep = self.ep(sep_cycle).select("soc_code", "sep_rate")
            m = self.store.scan("nem_matrix", matrix_cycle)
            if industries is not None:
                m = m.filter(pl.col("industry_code").is_in(list(industries)))
            years = _cycle_years(matrix_cycle)
            return (
                m.filter((pl.col("industry_type") == "Line item") & (pl.col("occupation_type") == "Line item"))
                .unique(subset=["industry_code", "occupation_code"], keep="first")
                .join(ep.lazy(), left_on="occupation_code", right_on="soc_code", how="left")
                .select(
                    "industry_code",
                    pl.col("occupation_code").alias("soc_code"),
                    (
                        ((pl.col("emp_proj_k") - pl.col("emp_base_k")) / years
                         + pl.col("sep_rate").fill_null(0.0) * (pl.col("emp_base_k") + pl.col("emp_proj_k")) / 2)
                        .clip(lower_bound=0.0) * 1000
                    ).alias("openings_m"),
                    (pl.col("emp_base_k") * 1000).alias("emp_base_m"),
                )
                .collect()
            )

        return self._memo(("matrix", matrix_cycle, sep_cycle, industries), load)

    def completions(self, years: tuple[int, ...], by_unit: bool = False) -> pl.DataFrame:
        """Mean annual first-major completions at 6-digit CIP by (state, cip, awlevel).

        ``by_unit`` keeps the institution (unitid) too. Runs as a streaming query, so a completions
        table far larger than memory-friendly sizes still aggregates in bounded memory.
        """
        import polars as pl

        def load() -> pl.DataFrame:
            frames = []
            for y in years:
                hd_year = self._nearest("ipeds_institutions", y)
                inst = self.store.scan("ipeds_institutions", hd_year).select("unitid", "state")
                frames.append(
                    self.store.scan("ipeds_completions", str(y))
                    .filter(pl.col("cip_level") == 6)
                    .select("unitid", "cipcode", "awlevel", pl.col("completions").cast(pl.Float64))
                    .join(inst, on="unitid", how="left")
                )
            keys = ["unitid", "state", "cipcode", "awlevel"] if by_unit else ["state", "cipcode", "awlevel"]
            df = pl.concat(frames).group_by(keys).agg((pl.col("completions").sum() / len(years)).alias("completions"))
            return df.collect(engine="streaming")

        return self._memo(("completions", years, by_unit), load)

    def completions_national(self, years: tuple[int, ...]) -> pl.DataFrame:
        """Mean annual first-major completions at 6-digit CIP by (cip, awlevel), the whole country.

        The same sums as :meth:`completions` over every state (and institutions with no state), without
        the join to the directory: the national gap's one big query, kept as small as it can be.
        """
        import polars as pl

        def load() -> pl.DataFrame:
            frames = [
                self.store.scan("ipeds_completions", str(y)).filter(pl.col("cip_level") == 6)
                .select("cipcode", "awlevel", pl.col("completions").cast(pl.Float64))
                for y in years
            ]
            return (pl.concat(frames).group_by("cipcode", "awlevel")
                    .agg((pl.col("completions").sum() / len(years)).alias("completions")).collect())

        return self._memo(("completions-national", years), load)

    def _nearest(self, dataset: str, year: int) -> str:
        available = self.store.vintages(dataset)
        if not available:
            raise MissingDataError(dataset, "gapkit ingest ipeds")
        return min(available, key=lambda v: (abs(int(v) - year), -int(v)))

    def crosswalk(self) -> pl.DataFrame:
        return self._memo("xw", lambda: self.store.scan("cip_soc", self.vintage("cip_soc")).select("cipcode", "soc_code").unique().collect())

    def state_projections(self, cycle: str) -> pl.DataFrame:
        import polars as pl

        def load() -> pl.DataFrame:
            return (
                self.store.scan("state_projections", cycle)
                .filter(pl.col("stfips") != "00")
                .select("stfips", "state", "soc_code", "soc_level", "openings", "title")
                .collect()
            )

        return self._memo(("proj", cycle), load)


def _cycle_years(cycle: str) -> int:
    m = re.match(r"^(\d{4})-(\d{2,4})$", cycle)
    if not m:
        return 10
    start, end = int(m.group(1)), int(m.group(2))
    if end < 100:
        end += (start // 100) * 100
    return max(1, end - start)


# ---------------------------------------------------------------------------------------------
# the computation
# ---------------------------------------------------------------------------------------------
def validate_options(opts: GapOptions) -> GapOptions:
    if opts.by not in BY_CHOICES:
        raise UsageError(f"--by {opts.by!r}: choose one of {', '.join(BY_CHOICES)}.")
    if opts.alloc not in ALLOC_MODES:
        raise UsageError(f"--alloc {opts.alloc!r}: choose one of {', '.join(ALLOC_MODES)}.")
    if opts.scope not in SCOPES:
        raise UsageError(f"--scope {opts.scope!r}: choose one of {', '.join(SCOPES)}.")
    preset(opts.awards)
    if not (0 < opts.retention <= 1.5):
        raise UsageError(f"--retention {opts.retention}: give the share of completers who enter the occupation's labor market, a number in (0, 1.5]; 1.0 means all.")
    region = opts.region.strip()
    if region.lower() in {"us", "usa", "national", "00"}:
        region = "US"
    elif region.lower() == "all":
        region = "all"
    else:
        try:
            region = normalize_state(region)
        except ValueError as exc:
            raise UsageError(f"--region: {exc}. Use US, all, or a state.") from None
    if opts.by == "state" and region not in {"US", "all"}:
        raise UsageError(f"--by state compares all states; it cannot be combined with --region {opts.region}. Drop --region or use --by group.")
    if region == "all" and opts.by != "state":
        opts = replace(opts, by="state")
    if opts.by == "subsector" and opts.scope == "occupation":
        raise UsageError("--by subsector needs --scope sector (occupation scope counts occupations economy-wide, not by industry).")
    return replace(opts, region=region)


def gap(
    sector: str | None = None,
    *,
    data: GapData | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> GapResult:
    """Library entry point: ``gapkit.gap("transportation", by="subsector", region="OH")``."""
    opts = GapOptions(sector=sector or kwargs.pop("sector", "transportation"), **kwargs)
    return compute(opts, data or GapData(data_dir))


def compute(opts: GapOptions, data: GapData) -> GapResult:

    from gapkit.config.sectors import load_sector

    opts = validate_options(opts)
    sector = load_sector(opts.sector_file or opts.sector)
    notes: list[str] = []

    ep_cycle = data.vintage("ep_occupations", opts.vintage)
    ep = data.ep(ep_cycle)
    occ = _sector_occupations(sector, ep, ep_cycle, data, notes)  # soc_code, subsector, openings_s, share

    years = _completion_years(opts, data)
    supply_nat, unalloc = _allocate(data, ep, years, opts, region=None if opts.region in {"US", "all"} else opts.region)

    method = _method(opts, sector, data, ep_cycle, years, notes)
    if opts.region in {"US"} and opts.by != "state":
        table = _combine(opts, sector, ep, occ, supply_nat)
    else:
        table = _state_table(opts, sector, ep, occ, data, years, notes, method)
    table = _finish(table, opts, sector, ep)
    return GapResult(table=table, method=method, notes=notes, unallocated=unalloc)


def _sector_occupations(sector: Sector, ep: pl.DataFrame, ep_cycle: str, data: GapData, notes: list[str]) -> pl.DataFrame:
    """Sector openings by (subsector, occupation) in persons/yr, plus the sector share of each occupation."""
    import polars as pl

    if sector.whole_economy:
        return ep.select("soc_code", pl.lit("all").alias("subsector"), pl.col("openings_nat").alias("openings_s"), pl.lit(1.0).alias("share"))
    m_cycle = data.vintage("nem_matrix")
    sep_cycle = m_cycle if m_cycle in data.store.vintages("ep_occupations") else ep_cycle
    sub_rows = [(code, s.key) for s in sector.subsectors for code in s.nem_industries]
    md = data.matrix_demand(m_cycle, sep_cycle, tuple(sorted({code for code, _ in sub_rows})))
    sub_map = pl.DataFrame(sub_rows, schema={"industry_code": pl.String, "subsector": pl.String}, orient="row")
    missing = sorted(set(sub_map["industry_code"]) - set(md["industry_code"].unique()))
    if missing:
        notes.append(f"Industries in the sector definition but not in the {m_cycle} matrix: {', '.join(missing)}.")
    # The sector's share of each occupation's openings: its industries' openings over the published
    # national openings of the matrix cycle (line-item industries do not add up to the total: BLS
    # leaves some detail unpublished and self-employment is not an industry).
    if m_cycle in data.store.vintages("ep_occupations"):
        denom = data.ep(m_cycle).select("soc_code", pl.col("openings_nat").alias("all_m"))
    else:
        denom = data.matrix_demand(m_cycle, sep_cycle).group_by("soc_code").agg(pl.col("openings_m").sum().alias("all_m"))
        notes.append(f"BLS projections for the matrix cycle {m_cycle} are not ingested; sector shares use the sum of the "
                     f"matrix's line-item industries as the denominator (`gapkit ingest bls-ep` for {m_cycle} fixes this).")
    sub = md.join(sub_map, on="industry_code", how="inner").group_by("subsector", "soc_code").agg(pl.col("openings_m").sum().alias("sub_m"))
    out = sub.join(denom, on="soc_code", how="left").join(ep.select("soc_code", "openings_nat"), on="soc_code", how="inner")
    if m_cycle == ep_cycle:
        out = out.with_columns(pl.col("sub_m").alias("openings_s"))
    else:
        notes.append(f"The industry-occupation matrix is from {m_cycle} and the projections from {ep_cycle}: the matrix gives "
                     f"each occupation's sector share, applied to the {ep_cycle} openings.")
        out = out.with_columns((pl.col("sub_m") / pl.col("all_m") * pl.col("openings_nat")).fill_nan(0.0).fill_null(0.0).alias("openings_s"))
    # A sector cannot need more of an occupation than the whole economy: where rounding of small
    # published figures pushes the industries' sum past the national openings, scale it back.
    total_s = pl.col("openings_s").sum().over("soc_code")
    out = out.with_columns(
        pl.when(total_s > pl.col("openings_nat")).then(pl.col("openings_s") * pl.col("openings_nat") / total_s)
        .otherwise(pl.col("openings_s")).alias("openings_s")
    )
    out = out.with_columns((pl.col("openings_s") / pl.col("openings_nat")).fill_nan(0.0).alias("share_sub"))
    share = out.group_by("soc_code").agg(pl.col("share_sub").sum().clip(upper_bound=1.0).alias("share"))
    return out.join(share, on="soc_code").select("soc_code", "subsector", "openings_s", "share").filter(pl.col("openings_s") > 0)


def _completion_years(opts: GapOptions, data: GapData) -> tuple[int, ...]:
    available = [int(v) for v in data.store.vintages("ipeds_completions")]
    if not available:
        raise MissingDataError("ipeds_completions", "gapkit ingest ipeds")
    if not opts.completions_years:
        return (max(available),)
    missing = [y for y in opts.completions_years if y not in available]
    if missing:
        raise UsageError(f"--completions-years: IPEDS {', '.join(map(str, missing))} not ingested (have {', '.join(map(str, available))}). "
                         f"Run `gapkit ingest ipeds --years {min(missing)}-{max(missing)}` or choose ingested years.")
    return tuple(sorted(opts.completions_years))


def _levels_frame(ep: pl.DataFrame, awards: str) -> pl.DataFrame:
    """(soc_code, awlevel) pairs that count as supply for each occupation under the preset."""
    import polars as pl

    cfg = award_config()
    p = preset(awards)
    if not p.by_entry_education:
        socs = ep.select("soc_code")
        return socs.join(pl.DataFrame({"awlevel": p.levels}, schema={"awlevel": pl.Int8}), how="cross")
    rows = [(edu, lvl) for edu, lvls in cfg.entry_education.items() for lvl in lvls]
    m = pl.DataFrame(rows, schema={"education": pl.String, "awlevel": pl.Int8}, orient="row")
    return ep.select("soc_code", "education").join(m, on="education", how="inner").select("soc_code", "awlevel")


def _allocate(
    data: GapData, ep: pl.DataFrame, years: tuple[int, ...], opts: GapOptions, region: str | None, by_state: bool = False
) -> tuple[pl.DataFrame, dict[str, float]]:
    """Completions allocated to occupations: (soc_code[, state], supply). Conserves completions."""
    key = ("alloc", id(ep), years, opts.awards, opts.alloc, opts.retention, opts.extra_supply, region, by_state)
    return data._memo(key, lambda: _allocate_uncached(data, ep, years, opts, region, by_state))  # type: ignore[no-any-return]


def _allocate_uncached(
    data: GapData, ep: pl.DataFrame, years: tuple[int, ...], opts: GapOptions, region: str | None, by_state: bool
) -> tuple[pl.DataFrame, dict[str, float]]:
    import polars as pl

    if region is None and not by_state:
        comp = data.completions_national(years)
    else:
        comp = data.completions(years)
        if region is not None:
            comp = comp.filter(pl.col("state") == region)
    keys = ["state"] if by_state else []
    p = preset(opts.awards)
    all_levels = sorted({lvl for lvls in award_config().entry_education.values() for lvl in lvls}) if p.by_entry_education else p.levels
    comp = comp.filter(pl.col("awlevel").is_in(all_levels))
    prog = comp.group_by([*keys, "cipcode", "awlevel"]).agg(pl.col("completions").sum())
    total_in = float(prog["completions"].sum())

    xw = data.crosswalk().join(ep.select("soc_code"), on="soc_code", how="semi")
    eligible = _levels_frame(ep, opts.awards)
    weight_base = {"openings": pl.col("openings_nat"), "employment": pl.col("emp_base"), "equal": pl.lit(1.0), "none": pl.lit(1.0)}[opts.alloc]
    links = (
        xw.join(eligible, on="soc_code", how="inner")
        .join(ep.select("soc_code", "openings_nat", "emp_base"), on="soc_code", how="left")
        .with_columns(weight_base.fill_null(0.0).cast(pl.Float64).alias("w0"))
    )
    if opts.alloc == "none":
        links = links.with_columns(pl.lit(1.0).alias("w"))
    else:
        links = links.with_columns((pl.col("w0") / pl.col("w0").sum().over("cipcode", "awlevel")).fill_nan(0.0).alias("w"))
    alloc = prog.join(links.select("cipcode", "awlevel", "soc_code", "w"), on=["cipcode", "awlevel"], how="inner")
    supply = alloc.group_by([*keys, "soc_code"]).agg((pl.col("completions") * pl.col("w")).sum().alias("supply_ipeds"))
    if opts.alloc == "none":
        allocated_programs = prog.join(links.filter(pl.col("w") > 0).select("cipcode", "awlevel").unique(), on=["cipcode", "awlevel"], how="semi")
        allocated = float(allocated_programs["completions"].sum())
    else:
        allocated = float(supply["supply_ipeds"].sum())
    unalloc = {"input": total_in, "allocated": allocated, "unallocated": max(0.0, total_in - allocated)}
    extra = _extra_supply(opts, by_state, region)
    if extra is not None:
        supply = supply.join(extra, on=[*keys, "soc_code"], how="full", coalesce=True)
    else:
        supply = supply.with_columns(pl.lit(0.0).alias("supply_extra"))
    supply = supply.with_columns(
        pl.col("supply_ipeds").fill_null(0.0),
        pl.col("supply_extra").fill_null(0.0),
    ).with_columns(((pl.col("supply_ipeds") + pl.col("supply_extra")) * opts.retention).alias("supply"))
    return supply, unalloc


def _extra_supply(opts: GapOptions, by_state: bool, region: str | None) -> pl.DataFrame | None:
    import polars as pl

    if not opts.extra_supply:
        return None
    from gapkit.config.user_files import read_extra_supply

    rows = read_extra_supply(opts.extra_supply)
    df = pl.DataFrame([(s, r, v) for s, r, v, _ in rows], schema={"soc_code": pl.String, "state": pl.String, "supply_extra": pl.Float64}, orient="row")
    if by_state:
        return df.filter(pl.col("state") != "US").group_by("state", "soc_code").agg(pl.col("supply_extra").sum())
    want = "US" if region is None else region
    return df.filter(pl.col("state") == want).group_by("soc_code").agg(pl.col("supply_extra").sum())


def _combine(opts: GapOptions, sector: Sector, ep: pl.DataFrame, occ: pl.DataFrame, supply: pl.DataFrame,
             state_keys: list[str] | None = None) -> pl.DataFrame:
    """Occupation-level rows (per subsector, optionally per state) with openings and supply."""
    import polars as pl

    keys = state_keys or []
    if opts.scope == "occupation":
        occ_set = occ.group_by("soc_code").agg(pl.col("share").first())
        base = occ_set.join(ep.select("soc_code", "openings_nat"), on="soc_code").with_columns(
            pl.lit(sector.subsectors[0].key if sector.subsectors else "all").alias("subsector"),
            pl.col("openings_nat").alias("openings_s"), pl.lit(1.0).alias("share_sub"),
        )
    else:
        base = occ.with_columns((pl.col("openings_s") / pl.col("openings_s").sum().over("soc_code") * pl.col("share")).fill_nan(0.0).alias("share_sub"))
    if keys:
        return base  # state tables are assembled in _state_table
    out = base.join(supply.select("soc_code", "supply", "supply_ipeds", "supply_extra"), on="soc_code", how="left").with_columns(
        pl.col("supply").fill_null(0.0), pl.col("supply_ipeds").fill_null(0.0), pl.col("supply_extra").fill_null(0.0),
    )
    return out.select(
        pl.lit("US").alias("region"), "subsector", "soc_code",
        pl.col("openings_s").alias("openings"),
        (pl.col("supply") * pl.col("share_sub")).alias("supply"),
        (pl.col("supply_extra") * pl.col("share_sub") * opts.retention).alias("supply_extra"),
    )


def _state_table(opts: GapOptions, sector: Sector, ep: pl.DataFrame, occ: pl.DataFrame, data: GapData,
                 years: tuple[int, ...], notes: list[str], method: dict[str, Any]) -> pl.DataFrame:
    """State rows: published state openings × national sector share; supply from the state's institutions."""
    import polars as pl

    p_cycle = data.vintage("state_projections")
    method["vintages"]["state_projections"] = data.provenance("state_projections", p_cycle)
    proj = data.state_projections(p_cycle).filter(pl.col("soc_level") == "detailed")
    if opts.region not in {"US", "all"}:
        fips = ABBR_TO_FIPS[opts.region]
        proj = proj.filter(pl.col("stfips") == fips)
        if proj.height == 0:
            raise UsageError(f"--region {opts.region}: Projections Central has no {p_cycle} data for {STATES[fips][1]} ingested. "
                             f"Run `gapkit ingest projections --states {opts.region}`.")
    else:
        proj = proj.filter(pl.col("stfips").is_in(list(STATE_FIPS_51)))
        have = set(proj["stfips"].unique())
        lacking = [STATES[f][0] for f in STATE_FIPS_51 if f not in have]
        if lacking:
            notes.append(f"No {p_cycle} state projections for: {', '.join(lacking)} (reported, not filled).")
    single = opts.region not in {"US", "all"}
    _check_state_totals(data, p_cycle, notes, ABBR_TO_FIPS[opts.region] if single else None)
    base = _combine(opts, sector, ep, occ, pl.DataFrame(), state_keys=["state"])
    tot = pl.col("openings_s").sum().over("soc_code")
    w_sub = pl.when(tot > 0).then(pl.col("openings_s") / tot).otherwise(1.0 / pl.len().over("soc_code"))
    share_nat = base.select("subsector", "soc_code", w_sub.alias("w_sub"), "share", "share_sub")
    if opts.scope == "occupation":
        share_nat = share_nat.with_columns(pl.lit(1.0).alias("share"), pl.lit(1.0).alias("share_sub"))
    st = proj.select("state", "soc_code", pl.col("openings").alias("openings_state")).join(share_nat, on="soc_code", how="inner")
    unmatched = proj.join(ep.select("soc_code"), on="soc_code", how="anti")
    if unmatched.height and not sector.whole_economy:
        notes.append(f"{unmatched['soc_code'].n_unique()} state occupation code(s) have no national sector share (not in the BLS {ep['soc_code'].len()} detailed list) and were left out.")
    # One state: only its institutions' completions are allocated (same numbers, a fraction of the work).
    supply, _ = _allocate(data, ep, years, opts, region=opts.region if single else None, by_state=True)
    out = st.join(supply.select("state", "soc_code", "supply", "supply_extra"), on=["state", "soc_code"], how="left").with_columns(
        pl.col("supply").fill_null(0.0), pl.col("supply_extra").fill_null(0.0)
    )
    return out.select(
        pl.col("state").alias("region"), "subsector", "soc_code",
        (pl.col("openings_state") * pl.col("share") * pl.col("w_sub")).alias("openings"),
        (pl.col("supply") * pl.col("share_sub")).alias("supply"),
        (pl.col("supply_extra") * pl.col("share_sub") * opts.retention).alias("supply_extra"),
    )


def _check_state_totals(data: GapData, cycle: str, notes: list[str], fips: str | None = None) -> None:
    """Notes from the parser's per-state checks for every state, or only ``fips`` when one is asked for."""
    for n in data._memo(("state-totals", cycle, fips), lambda: _state_total_notes(data, cycle, fips)):
        if n not in notes:
            notes.append(n)


def _state_total_notes(data: GapData, cycle: str, fips: str | None) -> list[str]:
    """The parser's per-state checks (detail vs published total, openings rate) on the stored table."""
    import polars as pl

    from gapkit.ingestion.sources.projection_checks import state_total_notes

    lf = data.store.scan("state_projections", cycle)
    lf = lf.filter(pl.col("stfips") == fips) if fips is not None else lf.filter(pl.col("stfips") != "00")
    return state_total_notes(lf.collect())


def _finish(rows: pl.DataFrame, opts: GapOptions, sector: Sector, ep: pl.DataFrame) -> pl.DataFrame:
    """Aggregate occupation rows to the requested grain and add ratio, gap and flags."""
    import polars as pl

    cfg = award_config()
    no_ipeds = [e for e, lv in cfg.entry_education.items() if not lv]
    group_rows = [(s, sector.group_of(s)) for s in rows["soc_code"].unique().to_list()]
    groups = pl.DataFrame(group_rows, schema={"soc_code": pl.String, "group": pl.String}, orient="row")
    meta = ep.select("soc_code", "title", "education")
    rows = rows.join(groups, on="soc_code", how="left").join(meta, on="soc_code", how="left").with_columns(
        (pl.col("soc_code").is_in(cfg.ipeds_coverage.caveat_soc) | pl.col("education").is_in(no_ipeds)).alias("_cov"),
        pl.col("education").is_in(no_ipeds).alias("_noexp"),
    )
    by = opts.by
    keys = {
        "sector": ["region"],
        "subsector": ["region", "subsector"],
        "group": ["region", "group"],
        "occupation": ["region", "soc_code", "title", "group", "education"],
        "state": ["region"],
    }[by]
    agg = rows.group_by(keys).agg(
        pl.col("openings").sum(),
        pl.col("supply").sum(),
        pl.col("supply_extra").sum(),
        # share of the row's openings in occupations with an IPEDS coverage caveat
        ((pl.col("openings") * pl.col("_cov")).sum() / pl.col("openings").sum()).fill_nan(0.0).alias("_cov_share"),
        pl.col("_noexp").all().alias("_noexp"),
    )
    titles = {s.key: s.title for s in sector.subsectors}
    gtitles = {g.key: g.title for g in sector.groups}
    agg = agg.with_columns(pl.lit(sector.name).alias("sector"))
    if by == "subsector":
        agg = agg.with_columns(pl.col("subsector").replace_strict(titles, default=pl.col("subsector")).alias("subsector_title"))
    if by == "group":
        agg = agg.with_columns(pl.col("group").replace_strict(gtitles, default=pl.col("group")).alias("group_title"))
    agg = agg.with_columns(
        pl.when(pl.col("supply") > 0).then(pl.col("openings") / pl.col("supply")).otherwise(None).alias("ratio"),
        (pl.col("openings") - pl.col("supply")).alias("gap"),
    )
    flags = pl.concat_list(
        pl.when(pl.col("supply") <= 0).then(pl.when(pl.col("_noexp")).then(pl.lit("no IPEDS supply expected")).otherwise(pl.lit("no supply"))),
        pl.when(pl.col("_cov_share") >= 0.25).then(pl.lit("IPEDS coverage caveat")),
        pl.when((pl.col("openings") < SMALL_OPENINGS) | ((pl.col("supply") > 0) & (pl.col("supply") < SMALL_SUPPLY))).then(pl.lit("small numbers")),
        pl.when((pl.col("region") != "US") & pl.lit(not sector.whole_economy)).then(pl.lit("estimated state share")),
    ).list.drop_nulls().list.join("; ")
    agg = agg.with_columns(flags.alias("flags")).drop("_cov_share", "_noexp")
    lead = {"sector": ["sector", "region"], "subsector": ["sector", "region", "subsector", "subsector_title"],
            "group": ["sector", "region", "group", "group_title"], "occupation": ["sector", "region", "soc_code", "title", "group", "education"],
            "state": ["sector", "region"]}[by]
    cols = [*lead, "openings", "supply", "ratio", "gap", "supply_extra", "flags"]
    ties = [k for k in lead if k not in ("sector", "region")]  # a fixed order for rows with equal openings
    return agg.select(cols).sort(["region", "openings", *ties] if by != "state" else ["region"],
                                 descending=[False, True, *([False] * len(ties))] if by != "state" else [False])


def _method(opts: GapOptions, sector: Sector, data: GapData, ep_cycle: str, years: tuple[int, ...], notes: list[str]) -> dict[str, Any]:
    vint: dict[str, Any] = {"ep_occupations": data.provenance("ep_occupations", ep_cycle)}
    if not sector.whole_economy:
        m = data.vintage("nem_matrix")
        vint["nem_matrix"] = data.provenance("nem_matrix", m)
    vint["ipeds_completions"] = [data.provenance("ipeds_completions", str(y)) for y in years]
    vint["cip_soc"] = data.provenance("cip_soc", data.vintage("cip_soc"))
    return {
        "sector": sector.name,
        "sector_title": sector.title,
        "region": opts.region,
        "by": opts.by,
        "awards": opts.awards,
        "alloc": opts.alloc,
        "scope": opts.scope,
        "retention": opts.retention,
        "extra_supply": opts.extra_supply,
        "completions_years": list(years),
        "vintages": vint,
        "units": "people per year",
        "assumptions": [SEPARATION_NOTE] if not sector.whole_economy else [],
        "notes": notes,
    }


def published(table: pl.DataFrame) -> pl.DataFrame:
    """The table as printed: people per year to 0.01 and ratios to 4 decimals.

    Parallel sums may differ in their last bits between runs; rounding makes identical inputs print
    identical numbers (the library API keeps full precision).
    """
    import polars as pl

    people = [c for c in ("openings", "supply", "gap", "supply_extra") if c in table.columns]
    return table.with_columns(pl.col(people).round(2), *([pl.col("ratio").round(4)] if "ratio" in table.columns else []))


def method_line(m: dict[str, Any]) -> str:
    v = m["vintages"]
    parts = [f"BLS EP {v['ep_occupations']['vintage']} ({v['ep_occupations']['sha256']})"]
    if "nem_matrix" in v:
        parts.append(f"NEM matrix {v['nem_matrix']['vintage']} ({v['nem_matrix']['sha256']})")
    if "state_projections" in v:
        parts.append(f"Projections Central {v['state_projections']['vintage']} ({v['state_projections']['sha256']})")
    ip = v["ipeds_completions"]
    parts.append("IPEDS completions " + "+".join(f"{x['vintage']}" for x in ip) + f" ({', '.join(x['sha256'] for x in ip)})")
    parts.append(f"CIP-SOC {v['cip_soc']['vintage']} ({v['cip_soc']['sha256']})")
    opts = (f"awards={m['awards']}, alloc={m['alloc']}, scope={m['scope']}, retention={m['retention']:g}, "
            f"extra supply={m['extra_supply'] or 'none'}")
    text = "Sources: " + "; ".join(parts) + ". Method: " + opts + ". Units: people per year."
    if m["assumptions"]:
        text += " " + " ".join(m["assumptions"])
    if m["alloc"] == "none":
        text += " alloc=none gives every linked occupation a program's full count (an upper bound that double counts)."
    return text


def sensitivity(opts: GapOptions, data: GapData) -> pl.DataFrame:
    """The headline (whole-row) ratio under every allocation mode × award preset."""
    import polars as pl

    rows = []
    for alloc in ALLOC_MODES:
        for awards in award_config().presets:
            r = compute(replace(opts, alloc=alloc, awards=awards, by="sector" if opts.by != "state" else "state"), data)
            t = r.table
            openings = float(t["openings"].sum())
            supply = float(t["supply"].sum())
            rows.append((alloc, awards, openings, supply, openings / supply if supply > 0 else None, openings - supply))
    return pl.DataFrame(rows, schema={"alloc": pl.String, "awards": pl.String, "openings": pl.Float64, "supply": pl.Float64,
                                      "ratio": pl.Float64, "gap": pl.Float64}, orient="row")

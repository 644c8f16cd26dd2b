"""Pathway priorities: which occupations a state or the nation should build career pathways into.

``pathways()`` ranks the occupations of a sector in a region with the numbers CTE and workforce
leaders weigh: annual openings and supply, ratio and gap exactly as ``gapkit gap --by occupation``
computes them (this module calls :func:`gapkit.analysis.engine.compute`, it never recomputes them), the 10-year
employment growth (BLS projections nationally, Projections Central in a state), the OEWS median
annual wage next to the area's all-occupation median, and the BLS typical entry education and
training. Flags (high-wage, high-growth, high-demand, high-skill, undersupplied) and tiers follow the
rules in ``presets/pathways.toml`` (or a user's ``--rules`` file) and are printed with the output.

OEWS special values are decoded explicitly, never read as zero: a top-coded median (``#``) counts as
high-wage and shows as "≥ $239,200"; a wage OEWS does not publish (``*``) or an occupation missing
from the area's OEWS file is labelled and is never high-wage.

The program side (``programs()``) lives in :mod:`gapkit.analysis.programs`; the Advance CTE Career Clusters
lens reads the datasets ``gapkit clusters load`` writes (:mod:`gapkit.ingestion.clusters`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import TYPE_CHECKING, Any

from gapkit.analysis.engine import GapData, GapOptions, GapResult, compute, method_line, validate_options
from gapkit.codes import ABBR_TO_FIPS, STATE_FIPS_51, STATES
from gapkit.config.validated import validated
from gapkit.errors import MissingDataError, UsageError

if TYPE_CHECKING:
    import polars as pl

SECTOR_ALL = "all-industries"
BY_CHOICES = ("occupation", "cluster")
SORT_CHOICES = ("tier", "openings", "growth", "wage", "ratio", "gap")
FLAG_WORDS = {"high_wage": "high-wage", "high_growth": "high-growth", "high_demand": "high-demand",
              "high_skill": "high-skill", "undersupplied": "undersupplied"}
RULES_SCHEMA = "1"  # bump when pathway_schema changes what a valid file normalizes to
CLUSTER_DATASETS = {"soc": "cluster_soc", "cip": "cluster_cip"}
LOAD_HINT = ("Load the Advance CTE National Career Clusters crosswalks first: `gapkit clusters load "
             "SOC_Career_Clusters_Crosswalk.xlsx CIP_Career_Clusters_Crosswalk.xlsx` (download them from "
             "https://careertech.org/resource/framework-crosswalk/; gapkit does not ship them).")


# ---------------------------------------------------------------------------------------------
# rules
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tier:
    name: str
    description: str
    all: tuple[str, ...]
    any: tuple[str, ...]

    def condition_text(self) -> str:
        parts = [FLAG_WORDS[f] for f in self.all]
        if self.any:
            alt = " or ".join(FLAG_WORDS[f] for f in self.any)
            parts.append(f"({alt})" if len(self.any) > 1 and self.all else alt)
        return " and ".join(parts) if parts else "everything else"


@dataclass(frozen=True)
class Rules:
    origin: str
    wage_factor: float
    growth_margin_pct: float
    openings_floor: float
    scale_states: bool
    skill_education: tuple[str, ...]
    skill_training: tuple[str, ...]
    tiers: tuple[Tier, ...]
    undersupplied_ratio: float
    oversupplied_ratio: float
    weak_wage_factor: float
    weak_growth_pct: float

    @classmethod
    def from_dict(cls, d: dict[str, Any], origin: str) -> Rules:
        return cls(
            origin=origin,
            wage_factor=float(d["wage"]["factor"]),
            growth_margin_pct=float(d["growth"]["margin_pct"]),
            openings_floor=float(d["demand"]["openings_floor"]),
            scale_states=bool(d["demand"]["scale_states"]),
            skill_education=tuple(d["skill"]["education"]),
            skill_training=tuple(d["skill"]["training"]),
            tiers=tuple(Tier(t["name"], t.get("description", ""), tuple(t["all"]), tuple(t["any"])) for t in d["tiers"]),
            undersupplied_ratio=float(d["alignment"]["undersupplied_ratio"]),
            oversupplied_ratio=float(d["alignment"]["oversupplied_ratio"]),
            weak_wage_factor=float(d["alignment"]["weak_wage_factor"]),
            weak_growth_pct=float(d["alignment"]["weak_growth_pct"]),
        )

    def tiers_text(self) -> str:
        return "; ".join(f"{t.name} = {t.condition_text()}" for t in self.tiers)


def load_rules(path: str | os.PathLike[str] | None = None) -> Rules:
    """The shipped rules, with a user's rules file (only the keys it changes) merged over them."""
    shipped = resources.files("gapkit").joinpath("config/shipped/pathways.toml").read_text(encoding="utf-8")
    user: str | None = None
    origin = "gapkit/config/shipped/pathways.toml"
    if path is not None:
        from gapkit.config.user_files import read_user_text

        origin = str(path)
        user = read_user_text(path, f"--rules {path}", "Give a TOML file with the keys of gapkit/config/shipped/pathways.toml you want to change.")

    def check(_: str) -> dict[str, Any]:
        from gapkit.config.rules_schema import validate_rules_text

        return validate_rules_text(shipped, user, origin)

    key = f"rules-schema-{RULES_SCHEMA}\0" + shipped + "\0" + (user if user is not None else "\0none")
    return validated("pathways", key, check, lambda d: Rules.from_dict(d, origin))


# ---------------------------------------------------------------------------------------------
# options and results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PathwayOptions:
    sector: str = "all"
    region: str = "US"
    cluster: str | None = None
    by: str = "occupation"
    awards: str = "all"
    alloc: str = "openings"
    completions_years: tuple[int, ...] | None = None
    vintage: str | None = None
    rules: str | None = None
    sort: str = "tier"
    top: int | None = None

    def gap_options(self) -> GapOptions:
        return GapOptions(sector=SECTOR_ALL if self.sector == "all" else self.sector, region=self.region, by="occupation",
                          awards=self.awards, alloc=self.alloc, completions_years=self.completions_years, vintage=self.vintage)


@dataclass
class Area:
    """The region's yardsticks: all-occupation median wage and growth, the demand floor."""

    region: str
    name: str
    wage_median: float
    wage_year: int
    wage_source: str
    growth_all_pct: float
    growth_source: str
    openings_share: float  # the region's share of the nation's annual openings (1 for the US)
    floor: float

    def wage_threshold(self, rules: Rules) -> float:
        return self.wage_median * rules.wage_factor

    def growth_threshold(self, rules: Rules) -> float:
        return self.growth_all_pct + rules.growth_margin_pct


@dataclass
class PathwayResult:
    table: pl.DataFrame
    occupations: pl.DataFrame  # every occupation of the sector and region, with every column
    selected: pl.DataFrame  # those of the --cluster (all when none), every column; the table is a view of it
    area: Area
    rules: Rules
    gap: GapResult
    method: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    title: str = ""

    def method_line(self) -> str:
        return thresholds_text(self.area, self.rules) + " " + method_line(self.gap.method) + " " + wage_growth_text(self.area)


def thresholds_text(area: Area, rules: Rules) -> str:
    floor_how = (f"{rules.openings_floor:,.0f} nationally × {area.name}'s {area.openings_share:.2%} share of US openings"
                 if area.region != "US" and rules.scale_states else f"{rules.openings_floor:,.0f}")
    margin = f" + {rules.growth_margin_pct:g} points" if rules.growth_margin_pct else ""
    return (
        f"Thresholds ({rules.origin}): high-wage = median wage above ${area.wage_threshold(rules):,.0f} "
        f"({rules.wage_factor:g} × {area.name} all-occupation median ${area.wage_median:,.0f}; top-coded counts); "
        f"high-growth = 10-year employment change above {area.growth_threshold(rules):.1f}% ({area.name} all occupations "
        f"{area.growth_all_pct:.1f}%{margin}); high-demand = at least {area.floor:,.0f} openings a year ({floor_how}); "
        f"high-skill = entry education {', '.join(rules.skill_education) or 'none'} or training "
        f"{', '.join(rules.skill_training) or 'none'}; undersupplied = openings/supply ≥ {rules.undersupplied_ratio:g} "
        f"or no supply where IPEDS supply is expected. Tiers (first match): {rules.tiers_text()}."
    )


def wage_growth_text(area: Area) -> str:
    return (f"Wages: {area.wage_source}. Growth: {area.growth_source}. Education and training: BLS typical entry "
            "assignments (national).")


# ---------------------------------------------------------------------------------------------
# regional yardsticks: wages, growth, demand floor
# ---------------------------------------------------------------------------------------------
def _region_name(region: str) -> str:
    return "US" if region == "US" else STATES[ABBR_TO_FIPS[region]][1]


def oews_wages(data: GapData, region: str) -> tuple[pl.DataFrame, float, int, str]:
    """(soc_code, median_wage, wage_flag, wage_topcode, hourly_median) for the region, its all-occupation
    median, the OEWS year and a description. Newest OEWS year that covers the region."""
    import polars as pl

    def load() -> tuple[pl.DataFrame, float, int, str]:
        years = data.store.vintages("oews_wages")
        if not years:
            raise MissingDataError("oews_wages", "gapkit ingest oews")
        area = (pl.col("area_type") == "national") if region == "US" else ((pl.col("area_type") == "state") & (pl.col("state") == region))
        for year in reversed(years):
            rows = (
                data.store.scan("oews_wages", year).filter(area)
                .select("soc_code", "o_group", "a_median", "a_median_flag", "a_median_topcode", "h_median", "source_file")
                .collect()
            )
            if rows.height:
                break
        else:
            where = "national" if region == "US" else f"{_region_name(region)} ({region}) state"
            raise UsageError(f"No OEWS {where} wages are ingested (OEWS years {', '.join(years)}). Run `gapkit ingest oews` "
                             "(national oesm<YY>nat.zip and state oesm<YY>st.zip files), or `gapkit ingest --from` a "
                             f"{'national' if region == 'US' else 'state'}_M<year>_dl file.")
        total = rows.filter(pl.col("soc_code") == "00-0000")
        if total.height == 0 or total["a_median"][0] is None:
            raise UsageError(f"The OEWS {year} file for {_region_name(region)} has no all-occupations (00-0000) median wage, so "
                             "high-wage cannot be judged; ingest the complete OEWS file.")
        # Some OEWS aggregates appear as both broad and detailed: prefer the detailed row.
        prio = pl.col("o_group").replace_strict({"detailed": 0, "broad": 1}, default=2, return_dtype=pl.Int8)
        occ = (
            rows.filter(pl.col("soc_code") != "00-0000").sort(prio, "soc_code").unique("soc_code", keep="first")
            .select(
                "soc_code",
                pl.col("a_median").alias("median_wage"),
                pl.col("a_median_flag").alias("wage_flag"),
                pl.col("a_median_topcode").alias("wage_topcode"),
                pl.col("h_median").alias("hourly_median"),
            )
        )
        src = str(rows["source_file"][0])
        what = f"OEWS May {year}, {'national cross-industry' if region == 'US' else _region_name(region)} ({src})"
        return occ, float(total["a_median"][0]), int(year), what

    return data._memo(("pw-oews", region), load)  # type: ignore[no-any-return]


def growth_frame(data: GapData, region: str, ep_cycle: str, proj_cycle: str | None) -> tuple[pl.DataFrame, float, str, float]:
    """(soc_code, emp_base, emp_proj, growth_pct), the all-occupation growth, its source, and the
    region's share of national annual openings."""
    import polars as pl

    def load() -> tuple[pl.DataFrame, float, str, float]:
        if region == "US":
            ep = data.ep(ep_cycle).select("soc_code", "emp_base", "emp_proj")
            tot = data.store.scan("ep_occupations", ep_cycle).filter(pl.col("soc_code") == "00-0000").select("emp_base_k", "emp_proj_k").collect()
            base, proj = (float(tot[0, 0]), float(tot[0, 1])) if tot.height else (float(ep["emp_base"].sum()) / 1000, float(ep["emp_proj"].sum()) / 1000)
            g = ep.with_columns(_growth("emp_base", "emp_proj"))
            years = data.ep(ep_cycle).select("base_year", "proj_year").row(0)
            return g, (proj / base - 1) * 100, f"BLS Employment Projections {ep_cycle} ({years[0]}–{years[1]}), national", 1.0
        assert proj_cycle is not None
        fips = ABBR_TO_FIPS[region]
        p = (
            data.store.scan("state_projections", proj_cycle)
            .filter(pl.col("stfips").is_in([fips, "00", *STATE_FIPS_51]))
            .select("stfips", "soc_code", "soc_level", "emp_base", "emp_proj", "openings", "base_year", "proj_year")
            .collect()
        )
        mine = p.filter(pl.col("stfips") == fips)
        det = mine.filter(pl.col("soc_level") == "detailed")
        g = det.select("soc_code", "emp_base", "emp_proj").unique("soc_code", keep="first").with_columns(_growth("emp_base", "emp_proj"))
        tot = mine.filter(pl.col("soc_code") == "00-0000")
        if tot.height and tot["emp_base"][0]:
            base, proj, opn = float(tot["emp_base"][0]), float(tot["emp_proj"][0]), float(tot["openings"][0] or 0.0)
        else:
            base, proj, opn = float(det["emp_base"].sum()), float(det["emp_proj"].sum()), float(det["openings"].sum())
        us = p.filter((pl.col("stfips") == "00") & (pl.col("soc_code") == "00-0000"))
        if us.height and us["openings"][0]:
            us_open = float(us["openings"][0])
        else:  # no national row in the file: the states' published totals
            us_open = float(p.filter(pl.col("stfips").is_in(list(STATE_FIPS_51)) & (pl.col("soc_code") == "00-0000"))["openings"].sum())
        share = opn / us_open if us_open > 0 else 0.0
        y = det.select("base_year", "proj_year").row(0) if det.height else ("", "")
        return g, (proj / base - 1) * 100 if base else 0.0, f"Projections Central {proj_cycle} ({y[0]}–{y[1]}), {_region_name(region)}", share

    return data._memo(("pw-growth", region, ep_cycle, proj_cycle), load)  # type: ignore[no-any-return]


def _growth(base: str, proj: str) -> pl.Expr:
    import polars as pl

    return pl.when(pl.col(base) > 0).then((pl.col(proj) / pl.col(base) - 1) * 100).otherwise(None).alias("growth_pct")


def region_area(data: GapData, gap_result: GapResult, rules: Rules) -> tuple[Area, pl.DataFrame, pl.DataFrame]:
    """The region's yardsticks plus the occupation-level wage and growth frames."""
    m = gap_result.method
    region = m["region"]
    ep_cycle = m["vintages"]["ep_occupations"]["vintage"]
    proj_cycle = m["vintages"].get("state_projections", {}).get("vintage")
    wages, median, year, wsrc = oews_wages(data, region)
    growth, g_all, gsrc, share = growth_frame(data, region, ep_cycle, proj_cycle)
    floor = rules.openings_floor * (share if region != "US" and rules.scale_states else 1.0)
    area = Area(region, _region_name(region), median, year, wsrc, g_all, gsrc, share, floor)
    return area, wages, growth


# ---------------------------------------------------------------------------------------------
# career clusters (datasets written by `gapkit clusters load`)
# ---------------------------------------------------------------------------------------------
def cluster_links(data: GapData, kind: str) -> pl.DataFrame:
    """(code, cluster, sub_cluster) for kind ``soc`` or ``cip`` from the newest loaded framework."""
    import polars as pl

    dataset = CLUSTER_DATASETS[kind]

    def load() -> pl.DataFrame:
        vintages = data.store.vintages(dataset)
        if not vintages:
            raise UsageError(f"No Career Clusters crosswalk ({dataset}) is loaded. {LOAD_HINT}")
        code = "soc_code" if kind == "soc" else "cipcode"
        return (data.store.scan(dataset, vintages[-1]).select(pl.col(code).alias("code"), "cluster", "sub_cluster")
                .unique(maintain_order=True).collect())

    return data._memo(("pw-cluster", kind), load)  # type: ignore[no-any-return]


def resolve_cluster(name: str, links: pl.DataFrame) -> tuple[str, str]:
    """A cluster or sub-cluster named by the user: exact (case-insensitive), else a unique part of a name."""
    want = " ".join(name.split()).lower()
    if not want:
        raise UsageError("--cluster: give a Career Cluster or sub-cluster name (see `gapkit clusters`).")
    clusters = sorted(set(links["cluster"].drop_nulls().to_list()))
    subs = sorted(set(links["sub_cluster"].drop_nulls().to_list()))

    def norm(s: str) -> str:
        return " ".join(s.replace("&", "and").split()).lower()

    for level, names in (("cluster", clusters), ("sub_cluster", subs)):
        for n in names:
            if n.lower() == want or norm(n) == norm(want):
                return level, n
    hits = [("cluster", n) for n in clusters if norm(want) in norm(n)] + [("sub_cluster", n) for n in subs if norm(want) in norm(n)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise UsageError(f"--cluster {name!r} matches several: {'; '.join(n for _, n in hits[:8])}. Give more of the name.")
    raise UsageError(f"--cluster {name!r} is not a Career Cluster or sub-cluster. Clusters: {'; '.join(clusters)} "
                     "(`gapkit clusters` lists the sub-clusters).")


def cluster_members(data: GapData, kind: str, name: str) -> tuple[pl.DataFrame, str, str]:
    """(code, cluster, sub_cluster) rows of the named cluster or sub-cluster; its level and exact name."""
    import polars as pl

    links = cluster_links(data, kind)
    level, exact = resolve_cluster(name, links)
    return links.filter(pl.col(level) == exact), level, exact


# ---------------------------------------------------------------------------------------------
# the occupation table
# ---------------------------------------------------------------------------------------------
def validate_pathway_options(opts: PathwayOptions) -> PathwayOptions:
    if opts.by not in BY_CHOICES:
        raise UsageError(f"--by {opts.by!r}: choose one of {', '.join(BY_CHOICES)}.")
    if opts.sort not in SORT_CHOICES:
        raise UsageError(f"--sort {opts.sort!r}: choose one of {', '.join(SORT_CHOICES)}.")
    if opts.top is not None and opts.top <= 0:
        raise UsageError(f"--top {opts.top}: give a positive number of rows.")
    if opts.region.strip().lower() == "all":
        raise UsageError("--region all: pathways ranks occupations in one area; give US or a state (e.g. OH).")
    g = validate_options(opts.gap_options())
    return replace(opts, region=g.region)


def occupation_frame(opts: PathwayOptions, data: GapData, rules: Rules) -> tuple[pl.DataFrame, Area, GapResult, list[str]]:
    """Every occupation of the sector in the region with the gap numbers, wage, growth, flags and tier."""
    import polars as pl

    from gapkit.config.presets import award_config

    opts = validate_pathway_options(opts)
    g = compute(opts.gap_options(), data)
    area, wages, growth = region_area(data, g, rules)
    notes: list[str] = []
    ep_cycle = g.method["vintages"]["ep_occupations"]["vintage"]
    ep = data.ep(ep_cycle).select("soc_code", "training", "work_experience")
    no_ipeds = [e for e, lv in award_config().entry_education.items() if not lv]
    t = (
        g.table.join(ep, on="soc_code", how="left")
        .join(growth.select("soc_code", "emp_base", "emp_proj", "growth_pct"), on="soc_code", how="left")
        .join(wages, on="soc_code", how="left")
    )
    w_thr = area.wage_threshold(rules)
    g_thr = area.growth_threshold(rules)
    topcoded = pl.col("wage_flag") == "top-coded"
    status = (
        pl.when(pl.col("median_wage").is_not_null()).then(pl.lit("published"))
        .when(topcoded).then(pl.lit("top-coded"))
        .when(pl.col("wage_flag") == "not available").then(pl.lit("not available"))
        .otherwise(pl.lit("not published"))
    )
    where = area.name if area.region != "US" else "national"
    top_labels = {v: f"≥ ${v:,.0f} (top-coded)" for v in t["wage_topcode"].drop_nulls().unique().to_list()}
    note = (
        pl.when(topcoded).then(pl.col("wage_topcode").replace_strict(top_labels, default="≥ top-code threshold (top-coded)",
                                                                      return_dtype=pl.String))
        .when((pl.col("wage_flag") == "not available") & pl.col("hourly_median").is_not_null())
        .then(pl.format("annual not available; hourly ${}", pl.col("hourly_median").round(2)))
        .when(pl.col("wage_flag") == "not available").then(pl.lit("not available (OEWS *)"))
        .when(pl.col("median_wage").is_null()).then(pl.lit(f"not in {where} OEWS"))
        .otherwise(None)
    )
    high_wage = (
        pl.when(pl.col("median_wage").is_not_null()).then(pl.col("median_wage") > w_thr)
        .when(topcoded).then(pl.when(pl.col("wage_topcode") >= w_thr).then(True).otherwise(None))
        .otherwise(None)
    )
    supply_expected = ~pl.col("education").is_in(no_ipeds).fill_null(False)
    t = t.with_columns(
        status.alias("wage_status"),
        note.alias("wage_note"),
        # for ranking, weighting and charts: the published median, or a top-coded median's bound
        pl.when(topcoded).then(pl.col("wage_topcode")).otherwise(pl.col("median_wage")).alias("wage_value"),
        high_wage.alias("high_wage"),
        (pl.col("growth_pct") > g_thr).alias("high_growth"),
        (pl.col("openings") >= area.floor).alias("high_demand"),
        (pl.col("education").is_in(list(rules.skill_education)) | pl.col("training").is_in(list(rules.skill_training))).fill_null(False).alias("high_skill"),
        (
            ((pl.col("supply") > 0) & (pl.col("ratio") >= rules.undersupplied_ratio))
            | ((pl.col("supply") <= 0) & (pl.col("openings") > 0) & supply_expected)
        ).alias("undersupplied"),
    ).with_columns(
        (pl.col("median_wage") / area.wage_median).alias("wage_vs_median"),  # none for a top-coded bound
    )
    fl = {k: pl.col(k).fill_null(False) for k in FLAG_WORDS}
    tier_expr: Any = None
    for tr in rules.tiers:
        cond = pl.lit(True)
        for f in tr.all:
            cond = cond & fl[f]
        if tr.any:
            alt = pl.lit(False)
            for f in tr.any:
                alt = alt | fl[f]
            cond = cond & alt
        tier_expr = pl.when(cond).then(pl.lit(tr.name)) if tier_expr is None else tier_expr.when(cond).then(pl.lit(tr.name))
    assert tier_expr is not None
    order = {tr.name: i for i, tr in enumerate(rules.tiers)}
    words = pl.concat_list(
        *[pl.when(fl[k]).then(pl.lit(w)) for k, w in FLAG_WORDS.items()],
        pl.when(pl.col("wage_status").is_in(["not available", "not published"])).then(pl.lit("wage n/a")),
    ).list.drop_nulls().list.join("; ")
    t = t.with_columns(
        tier_expr.otherwise(pl.lit(rules.tiers[-1].name)).alias("tier"),
        words.alias("priority_flags"),
    ).with_columns(pl.col("tier").replace_strict(order, return_dtype=pl.Int32).alias("tier_rank"))
    n_missing = t.filter(pl.col("wage_status") == "not published").height
    n_na = t.filter(pl.col("wage_status") == "not available").height
    n_top = t.filter(pl.col("wage_status") == "top-coded").height
    if n_top:
        notes.append(f"{n_top} occupation(s) have a top-coded OEWS median wage (shown as ≥ the published threshold; they count as high-wage).")
    if n_na or n_missing:
        notes.append(f"{n_na} occupation(s) have no published OEWS median wage (*) and {n_missing} are not in the {where} OEWS file: "
                     "they show no wage and are never flagged high-wage.")
    if opts.sector != "all" and opts.gap_options().sector != SECTOR_ALL:
        notes.append("Growth and wages are each occupation's across all industries (BLS/OEWS publish no state-by-industry figures).")
    if area.region != "US":
        notes.append(f"State openings use Projections Central {g.method['vintages']['state_projections']['vintage']}; growth is from the same "
                     f"state projections, while national education/training assignments come from BLS {ep_cycle}.")
    return t, area, g, notes


OCCUPATION_COLUMNS = ["rank", "soc_code", "title", "tier", "openings", "growth_pct", "median_wage", "wage_note", "wage_vs_median",
                      "education", "training", "supply", "ratio", "gap", "priority_flags", "gap_flags"]


def _sorted(t: pl.DataFrame, sort: str) -> pl.DataFrame:
    if sort == "tier":
        return t.sort(["tier_rank", "openings", "soc_code"], descending=[False, True, False], nulls_last=True)
    col = {"openings": "openings", "growth": "growth_pct", "wage": "wage_value", "ratio": "ratio", "gap": "gap"}[sort]
    return t.sort([col, "soc_code"], descending=[True, False], nulls_last=True)


def pathways(
    sector: str = "all",
    region: str = "US",
    cluster: str | None = None,
    *,
    by: str = "occupation",
    rules: str | os.PathLike[str] | Rules | None = None,
    data: GapData | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> PathwayResult:
    """Library entry point: ``gapkit.analysis.pathways.pathways("transportation", region="OH")``.

    ``sector="all"`` ranks every occupation in the economy (the all-industries sector). Other keyword
    arguments: awards, alloc, completions_years, vintage (as for ``gapkit gap``), sort, top.
    """
    r = rules if isinstance(rules, Rules) else load_rules(rules)
    opts = PathwayOptions(sector=sector, region=region, cluster=cluster, by=by,
                          rules=None if isinstance(rules, Rules) or rules is None else str(rules), **kwargs)
    return run(opts, data or GapData(data_dir), r)


def run(opts: PathwayOptions, data: GapData, rules: Rules) -> PathwayResult:
    import polars as pl

    opts = validate_pathway_options(opts)
    occ, area, g, notes = occupation_frame(opts, data, rules)
    notes = [*notes, *g.notes]
    full = occ
    cluster_desc = ""
    if opts.cluster:
        members, level, exact = cluster_members(data, "soc", opts.cluster)
        subs = members.group_by("code").agg(pl.col("sub_cluster").unique().sort().str.join("; ").alias("sub_clusters"))
        occ = occ.join(subs, left_on="soc_code", right_on="code", how="inner")
        cluster_desc = f"{'Career Cluster' if level == 'cluster' else 'sub-cluster'} {exact}"
        unmatched = members.join(full.select("soc_code"), left_on="code", right_on="soc_code", how="anti")["code"].n_unique()
        if unmatched:
            notes.append(f"{unmatched} SOC code(s) of {cluster_desc} have no openings in this sector and region "
                         "(not a BLS detailed occupation, or outside the sector).")
    if opts.by == "cluster":
        table = cluster_view(occ, data, rules, area, cluster=opts.cluster)
        notes.append("An occupation in several clusters or sub-clusters counts in each (the Advance CTE crosswalk is many-to-many); "
                     "a cluster's totals count each occupation once.")
    else:
        table = _sorted(occ, opts.sort).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("rank"))
        table = table.rename({"flags": "gap_flags"})
        cols = [c for c in OCCUPATION_COLUMNS if c in table.columns]
        if opts.cluster:
            cols.insert(cols.index("tier") + 1, "sub_clusters")
        table = table.select(cols)
    if opts.top:
        table = table.head(opts.top)
    m = g.method
    where = "the United States" if area.region == "US" else area.name
    title = (f"{m['sector_title']}{' · ' + cluster_desc if cluster_desc else ''}: pathway priorities in {where} "
             f"({'by Career Cluster' if opts.by == 'cluster' else 'occupations ranked by tier, then openings'})")
    method = {**m, "view": "pathways", "cluster": opts.cluster, "pathways": {
        "rules": rules.origin, "wage_threshold": area.wage_threshold(rules), "area_median_wage": area.wage_median,
        "wage_source": area.wage_source, "growth_threshold_pct": area.growth_threshold(rules),
        "area_growth_pct": area.growth_all_pct, "growth_source": area.growth_source, "openings_floor": area.floor,
        "openings_share": area.openings_share, "tiers": [t.__dict__ for t in rules.tiers],
    }}
    return PathwayResult(table=table, occupations=full, selected=occ, area=area, rules=rules, gap=g, method=method, notes=notes, title=title)


def weighted_median(value: str, weight: str) -> pl.Expr:
    """Within a group_by: the weight-weighted median of ``value`` (nulls ignored; plain median when weights are all 0)."""
    import polars as pl

    v, w = pl.col(value), pl.col(weight).fill_null(0.0)
    ok = v.is_not_null()
    vs = v.filter(ok).sort_by(v.filter(ok))
    ws = w.filter(ok).sort_by(v.filter(ok))
    cum = ws.cum_sum()
    tot = ws.sum()
    return pl.when(tot > 0).then(vs.filter(cum >= tot / 2).first()).otherwise(v.median())


def cluster_view(occ: pl.DataFrame, data: GapData, rules: Rules, area: Area, cluster: str | None = None) -> pl.DataFrame:
    """Occupations grouped by Career Cluster and sub-cluster (and a row for each cluster as a whole)."""
    import polars as pl

    links = cluster_links(data, "soc")
    if cluster:
        level, exact = resolve_cluster(cluster, links)
        links = links.filter(pl.col(level) == exact)
    top = rules.tiers[0].name
    j = occ.join(links, left_on="soc_code", right_on="code", how="inner")

    def agg(keys: list[str], frame: pl.DataFrame) -> pl.DataFrame:
        return frame.group_by(keys).agg(
            pl.len().alias("occupations"),
            (pl.col("tier") == top).sum().cast(pl.Int32).alias("priority_occupations"),
            pl.col("openings").sum(),
            (pl.col("openings") * (pl.col("tier") == top)).sum().alias("_top_open"),
            pl.col("supply").sum(),
            pl.col("emp_base").sum().alias("_b"), pl.col("emp_proj").sum().alias("_p"),
            weighted_median("wage_value", "openings").alias("median_wage"),
            pl.col("soc_code").sort_by(pl.col("openings"), descending=True).head(3).alias("_top_soc"),
            pl.col("title").sort_by(pl.col("openings"), descending=True).head(3).alias("_top_title"),
        )

    sub = agg(["cluster", "sub_cluster"], j)
    whole = agg(["cluster"], j.unique(["cluster", "soc_code"])).with_columns(pl.lit("(whole cluster)").alias("sub_cluster"))
    out = pl.concat([whole.select(sub.columns), sub]).with_columns(
        (pl.col("sub_cluster") != "(whole cluster)").alias("_is_sub"),
        pl.when(pl.col("supply") > 0).then(pl.col("openings") / pl.col("supply")).otherwise(None).alias("ratio"),
        (pl.col("openings") - pl.col("supply")).alias("gap"),
        pl.when(pl.col("_b") > 0).then((pl.col("_p") / pl.col("_b") - 1) * 100).otherwise(None).alias("growth_pct"),
        (pl.col("_top_open") / pl.col("openings")).fill_nan(None).alias("priority_share"),
        pl.col("_top_title").list.join("; ").alias("top_occupations"),
    )
    return out.sort(["cluster", "_is_sub", "openings"], descending=[False, False, True]).select(
        "cluster", "sub_cluster", "occupations", "priority_occupations", "priority_share", "openings", "growth_pct",
        "median_wage", "supply", "ratio", "gap", "top_occupations",
    )

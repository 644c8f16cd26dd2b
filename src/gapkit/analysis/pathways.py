"""Pathway priorities: which occupations a state or the nation should build career pathways into.

``run()`` ranks the occupations of a sector in a region with the numbers CTE and workforce
leaders weigh: annual openings and supply, ratio and gap exactly as ``gapkit gap --by occupation``
computes them (this module calls :func:`gapkit.analysis.method.compute`, it never recomputes them), the 10-year
employment growth (BLS projections nationally, Projections Central in a state), the OEWS median
annual wage next to the area's all-occupation median, and the BLS typical entry education and
training. Flags (high-wage, high-growth, high-demand, high-skill, undersupplied) and tiers follow the
rules in ``config/shipped/pathways.toml`` (or a user's ``--rules`` file) and are printed with the output.

OEWS special values are decoded explicitly, never read as zero: a top-coded median (``#``) counts as
high-wage and shows as "≥ $239,200"; a wage OEWS does not publish (``*``) or an occupation missing
from the area's OEWS file is labelled and is never high-wage.

The program side lives in :mod:`gapkit.analysis.programs`; the Advance CTE Career Clusters lens
(:mod:`gapkit.analysis.clusters`) reads the datasets ``gapkit clusters load`` writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gapkit.analysis.clusters import cluster_links
from gapkit.analysis.method import compute
from gapkit.analysis.results import GapResult, method_line
from gapkit.analysis.tables import SMALL
from gapkit.codes import ABBR_TO_FIPS, STATE_FIPS_51, STATES
from gapkit.config.presets import award_config
from gapkit.config.rules import FLAG_WORDS, Rules
from gapkit.errors import MissingDataError, UsageError

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.query import Resolved
    from gapkit.analysis.tables import Tables

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
    wage_name: str = ""  # whose all-occupation median wage is the yardstick, when not the region's own
    growth_name: str = ""  # whose all-occupation growth is the yardstick, when not the region's own (a sub-state area's state)

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
        f"({rules.wage_factor:g} × {area.wage_name or area.name} all-occupation median ${area.wage_median:,.0f}; top-coded counts); "
        f"high-growth = 10-year employment change above {area.growth_threshold(rules):.1f}% ({area.growth_name or area.name} all occupations "
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
    if region.startswith("area:"):
        return f"OEWS area {region[5:]}"
    return "US" if region == "US" else STATES[ABBR_TO_FIPS[region]][1]


def oews_wages(tables: Tables, region: str, name: str | None = None) -> tuple[pl.DataFrame, float, int, str]:
    """(soc_code, median_wage, wage_flag, wage_topcode, hourly_median) for the region ("US", a state's postal code, or
    "area:<OEWS area code>" for a metro or nonmetro area), its all-occupation median, the OEWS year and a description.
    Newest OEWS year that covers the region."""
    import polars as pl

    def load() -> tuple[pl.DataFrame, float, int, str]:
        years = tables.vintages("oews_wages")
        if not years:
            raise MissingDataError("oews_wages", "gapkit ingest oews")
        if region.startswith("area:"):
            area = pl.col("area_type").is_in(["metro", "nonmetro"]) & (pl.col("area_code") == region[5:])
        else:
            area = (pl.col("area_type") == "national") if region == "US" else ((pl.col("area_type") == "state") & (pl.col("state") == region))
        for year in reversed(years):
            rows = (
                tables.scan("oews_wages", year).filter(area)
                .select("soc_code", "o_group", "a_median", "a_median_flag", "a_median_topcode", "h_median", "source_file")
                .collect(engine=SMALL)
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
        what = f"OEWS May {year}, {'national cross-industry' if region == 'US' else name or _region_name(region)} ({src})"
        return occ, float(total["a_median"][0]), int(year), what

    return tables.cached(("pw-oews", region), load)


def growth_frame(tables: Tables, region: str, ep_cycle: str, proj_cycle: str | None) -> tuple[pl.DataFrame, float, str, float]:
    """(soc_code, emp_base, emp_proj, growth_pct), the all-occupation growth, its source, and the
    region's share of national annual openings."""
    import polars as pl

    def load() -> tuple[pl.DataFrame, float, str, float]:
        if region == "US":
            ep = tables.ep(ep_cycle).select("soc_code", "emp_base", "emp_proj")
            tot = tables.ep_total(ep_cycle)
            base, proj = ((tot["emp_base"], tot["emp_proj"]) if tot["emp_base"] is not None and tot["emp_proj"] is not None
                          else (float(ep["emp_base"].sum()), float(ep["emp_proj"].sum())))
            g = ep.with_columns(_growth("emp_base", "emp_proj"))
            years = tables.ep(ep_cycle).select("base_year", "proj_year").row(0)
            return g, (proj / base - 1) * 100, f"BLS Employment Projections {ep_cycle} ({years[0]}–{years[1]}), national", 1.0
        assert proj_cycle is not None
        fips = ABBR_TO_FIPS[region]
        p = (
            tables.scan("state_projections", proj_cycle)
            .filter(pl.col("stfips").is_in([fips, "00", *STATE_FIPS_51]))
            .select("stfips", "soc_code", "soc_level", "emp_base", "emp_proj", "openings", "base_year", "proj_year")
            .collect(engine=SMALL)
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

    return tables.cached(("pw-growth", region, ep_cycle, proj_cycle), load)


def _growth(base: str, proj: str) -> pl.Expr:
    import polars as pl

    return pl.when(pl.col(base) > 0).then((pl.col(proj) / pl.col(base) - 1) * 100).otherwise(None).alias("growth_pct")


def region_area(tables: Tables, gap_result: GapResult, rules: Rules, r: Resolved | None = None
                ) -> tuple[Area, pl.DataFrame, pl.DataFrame]:
    """The region's yardsticks plus the occupation-level wage and growth frames."""
    m = gap_result.method
    region = m["region"]
    ep_cycle = m["vintages"]["ep_occupations"]["vintage"]
    proj_cycle = m["vintages"].get("state_projections", {}).get("vintage")
    if r is not None and r.region.substate:
        return _substate_area(tables, r, rules, ep_cycle, proj_cycle)
    wages, median, year, wsrc = oews_wages(tables, region)
    growth, g_all, gsrc, share = growth_frame(tables, region, ep_cycle, proj_cycle)
    floor = rules.openings_floor * (share if region != "US" and rules.scale_states else 1.0)
    area = Area(region, _region_name(region), median, year, wsrc, g_all, gsrc, share, floor)
    return area, wages, growth


def _substate_area(tables: Tables, r: Resolved, rules: Rules, ep_cycle: str, proj_cycle: str | None
                   ) -> tuple[Area, pl.DataFrame, pl.DataFrame]:
    """A sub-state area's yardsticks: the OEWS area's wages where the area is an OEWS metro (else its state's), growth from
    the state's sub-state projections where published (else the state's), and the demand floor scaled by the state's
    share of national openings × the area's share of the state's employment."""
    from gapkit.analysis import regions

    reg = r.region
    assert reg.state is not None
    wage_key = regions.oews_area_of(tables, reg)
    wage_name = ""
    if wage_key is not None:
        wages, median, year, wsrc = oews_wages(tables, f"area:{wage_key[0]}", wage_key[1])
        wage_name = wage_key[1] if wage_key[1] != reg.name else ""
    else:
        wages, median, year, wsrc = oews_wages(tables, reg.state)
        wsrc += f" (the state's: no OEWS area matches {reg.name})"
        wage_name = _region_name(reg.state)
    growth, g_all, gsrc, state_share = growth_frame(tables, reg.state, ep_cycle, proj_cycle)
    own = regions.area_growth(tables, reg)
    growth_name = ""
    if own is not None:
        growth, g_all, gsrc = own
    else:
        gsrc += f" (the state's: {reg.name} has no projections of its own)"
        growth_name = _region_name(reg.state)
    emp_share, _ = regions.employment_share(r, tables, reg)
    share = state_share * emp_share
    floor = rules.openings_floor * (share if rules.scale_states else 1.0)
    return Area(reg.code, reg.name, median, year, wsrc, g_all, gsrc, share, floor, wage_name, growth_name), wages, growth


# ---------------------------------------------------------------------------------------------
# the occupation table
# ---------------------------------------------------------------------------------------------
def occupation_frame(r: Resolved, tables: Tables) -> tuple[pl.DataFrame, Area, GapResult, list[str]]:
    """Every occupation of the sector in the region with the gap numbers, wage, growth, flags and tier."""
    import polars as pl

    assert r.rules is not None
    rules = r.rules
    g = compute(r.as_gap("occupation"), tables)
    area, wages, growth = region_area(tables, g, rules, r)
    notes: list[str] = []
    ep_cycle = g.method["vintages"]["ep_occupations"]["vintage"]
    ep = tables.ep(ep_cycle).select("soc_code", "training", "work_experience")
    no_ipeds = award_config().no_ipeds_education
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
    where = (area.wage_name or area.name) if area.region != "US" else "national"
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
    if not r.sector.whole_economy:
        notes.append("Growth and wages are each occupation's across all industries (BLS/OEWS publish no state-by-industry figures).")
    if area.region != "US" and not r.region.substate:
        notes.append(f"State openings use Projections Central {g.method['vintages']['state_projections']['vintage']}; growth is from the same "
                     f"state projections, while national education/training assignments come from BLS {ep_cycle}.")
    return t, area, g, notes


OCCUPATION_COLUMNS = ["rank", "soc_code", "title", "tier", "openings", "entrants", "growth_pct", "median_wage", "wage_note",
                      "wage_vs_median", "education", "training", "supply", "ratio", "ratio_note", "gap", "priority_flags", "gap_flags"]


def _sorted(t: pl.DataFrame, sort: str) -> pl.DataFrame:
    if sort == "tier":
        return t.sort(["tier_rank", "openings", "soc_code"], descending=[False, True, False], nulls_last=True)
    col = {"openings": "openings", "growth": "growth_pct", "wage": "wage_value", "ratio": "ratio", "gap": "gap"}[sort]
    return t.sort([col, "soc_code"], descending=[True, False], nulls_last=True)


def run(r: Resolved, tables: Tables) -> PathwayResult:
    """``gapkit pathways``: the sector's occupations in the region, ranked (or grouped by Career Cluster)."""
    import polars as pl

    assert r.rules is not None
    rules = r.rules
    occ, area, g, notes = occupation_frame(r, tables)
    notes = [*notes, *g.notes]
    full = occ
    cluster_desc = ""
    cluster = r.query.cluster
    if r.cluster is not None:
        level, exact = r.cluster
        members = cluster_links(tables, "soc").filter(pl.col(level) == exact)
        subs = members.group_by("code").agg(pl.col("sub_cluster").unique().sort().str.join("; ").alias("sub_clusters"))
        occ = occ.join(subs, left_on="soc_code", right_on="code", how="inner")
        cluster_desc = f"{'Career Cluster' if level == 'cluster' else 'sub-cluster'} {exact}"
        unmatched = members.join(full.select("soc_code"), left_on="code", right_on="soc_code", how="anti")["code"].n_unique()
        if unmatched:
            notes.append(f"{unmatched} SOC code(s) of {cluster_desc} have no openings in this sector and region "
                         "(not a BLS detailed occupation, or outside the sector).")
    if r.by == "cluster":
        table = cluster_view(occ, tables, rules, r.cluster)
        notes.append("An occupation in several clusters or sub-clusters counts in each (the Advance CTE crosswalk is many-to-many); "
                     "a cluster's totals count each occupation once.")
    else:
        table = _sorted(occ, r.sort or "tier").with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("rank"))
        table = table.rename({"flags": "gap_flags"})
        cols = [c for c in OCCUPATION_COLUMNS if c in table.columns]
        if r.cluster is not None:
            cols.insert(cols.index("tier") + 1, "sub_clusters")
        table = table.select(cols)
    if r.top:
        table = table.head(r.top)
    m = g.method
    where = "the United States" if area.region == "US" else area.name
    title = (f"{m['sector_title']}{' · ' + cluster_desc if cluster_desc else ''}: pathway priorities in {where} "
             f"({'by Career Cluster' if r.by == 'cluster' else 'occupations ranked by tier, then openings'})")
    method = {**m, "view": "pathways", "cluster": cluster, "pathways": {
        "rules": rules.origin, "wage_threshold": area.wage_threshold(rules), "area_median_wage": area.wage_median,
        "wage_source": area.wage_source, "growth_threshold_pct": area.growth_threshold(rules),
        "area_growth_pct": area.growth_all_pct, "growth_source": area.growth_source, "openings_floor": area.floor,
        "openings_share": area.openings_share, "tiers": [x.__dict__ for x in rules.tiers],
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


def cluster_view(occ: pl.DataFrame, tables: Tables, rules: Rules, cluster: tuple[str, str] | None = None) -> pl.DataFrame:
    """Occupations grouped by Career Cluster and sub-cluster (and a row for each cluster as a whole)."""
    import polars as pl

    links = cluster_links(tables, "soc")
    if cluster is not None:
        level, exact = cluster
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

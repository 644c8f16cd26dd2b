"""The program side of pathway priorities: CIP programs, what they feed, and how well they are aligned.

For every 6-digit CIP program with completers in the region (IPEDS first majors, the award levels of
the chosen preset), ``programs()`` shows completions by award level and year, the institutions that
produce them, the occupations the program feeds (NCES CIP-SOC crosswalk, BLS detailed occupations),
and an alignment label from the rules in ``presets/pathways.toml``:

- the linked occupations' openings and supply are the numbers ``gapkit gap --by occupation`` prints
  for the same sector, region and options (taken from :func:`gapkit.analysis.engine.compute`, summed over the
  program's occupations), and ``ratio = openings / supply``;
- ``weakly aligned`` when the linked occupations' openings-weighted median wage is below the area's
  all-occupation median × ``weak_wage_factor`` or their combined employment change is below
  ``weak_growth_pct`` (declining); otherwise
- ``undersupplied (expand)`` when the ratio is at or above ``undersupplied_ratio`` (or there is no
  supply), ``oversupplied`` when it is at or below ``oversupplied_ratio`` (completions well above
  related openings), ``balanced`` in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from gapkit.analysis.clusters import cluster_links
from gapkit.analysis.method import PREFETCH_MAX_ROWS, allocation_links, sector_occupations
from gapkit.analysis.pathways import (
    Area,
    occupation_frame,
    thresholds_text,
    wage_growth_text,
    weighted_median,
)
from gapkit.analysis.regions import completions_in
from gapkit.analysis.results import method_line
from gapkit.analysis.tables import SMALL
from gapkit.config.method import method_settings
from gapkit.config.presets import award_config
from gapkit.config.rules import Rules

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.query import Resolved
    from gapkit.analysis.tables import Tables

UNDER, BALANCED, OVER, WEAK = "undersupplied (expand)", "balanced", "oversupplied", "weakly aligned"
NO_LINK, NO_OPENINGS = "no linked occupation", "no linked openings"
LABEL_ORDER = {UNDER: 0, BALANCED: 1, OVER: 2, WEAK: 3, NO_OPENINGS: 4, NO_LINK: 5}

@dataclass
class ProgramResult:
    programs: pl.DataFrame
    # the long views of the listed programs — "awards" (completions by award level and year), "institutions" (each
    # institution's completers and award levels), "links" ((cipcode, soc_code) with each linked occupation's gap
    # numbers) — as queries, each run the first time it is asked for (most questions show the programs view only)
    views: dict[str, pl.LazyFrame | pl.DataFrame]
    area: Area
    providers: pl.DataFrame | None  # a state's Eligible Training Provider List programs in the region (None: no list)
    rules: Rules
    method: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    title: str = ""

    def _view(self, name: str) -> pl.DataFrame:
        import polars as pl

        v = self.views[name]
        if not isinstance(v, pl.DataFrame):
            v = self.views[name] = v.collect(engine=SMALL)
        return v

    @property
    def awards(self) -> pl.DataFrame:
        return self._view("awards")

    @property
    def institutions(self) -> pl.DataFrame:
        return self._view("institutions")

    @property
    def links(self) -> pl.DataFrame:
        return self._view("links")

    def table(self, view: str = "programs") -> pl.DataFrame:
        if view == "providers":
            if self.providers is None:
                from gapkit.errors import UsageError

                raise UsageError(f"--view providers lists a state's Eligible Training Provider List programs; none is ingested for "
                                 f"{self.area.name} (gapkit reads Texas's: `gapkit ingest etpl`).")
            return self.providers
        return self.programs if view == "programs" else self._view(view)

    def method_line(self) -> str:
        r = self.rules
        align = (f"Alignment ({r.origin}): ratio = openings / supply of the occupations the program's completers are allocated to, "
                 f"weighted by that allocation, as `gapkit gap --by occupation` prints them; weakly aligned = linked openings-weighted median wage below ${self.area.wage_median * r.weak_wage_factor:,.0f} "
                 f"({r.weak_wage_factor:g} × {self.area.name} median) or linked employment change below {r.weak_growth_pct:g}%; "
                 f"otherwise undersupplied (expand) = ratio ≥ {r.undersupplied_ratio:g} or no supply, oversupplied = ratio ≤ "
                 f"{r.oversupplied_ratio:g}, balanced in between.")
        return align + " " + method_line(self.method) + " " + wage_growth_text(self.area)


def run(r: Resolved, tables: Tables) -> ProgramResult:
    """``gapkit programs``: CIP programs in the region with completions, institutions, linked occupations and alignment."""
    import polars as pl

    assert r.rules is not None
    rules = r.rules
    cluster, by = r.query.cluster, r.by
    cip = None if r.cip is None else r.cip[0].rstrip(".")  # the code asked for (a title given to --cip resolves to its code)
    all_years = [int(v) for v in tables.vintages("ipeds_completions")]
    # every ingested year's completions by institution, read on a second core while the occupations are computed
    # (not for very large completions tables: two big queries at once would add up their memory)
    if sum(tables.rows("ipeds_completions", str(y)) for y in all_years) <= PREFETCH_MAX_ROWS:
        tables.prefetch(*(partial(tables.completions, (y,), by_unit=True) for y in all_years))
    occ, area, g, notes, r_align = _occupations(r, tables)
    notes = [*notes, *g.notes]
    years_used = [int(y) for y in g.method["completions_years"]]
    cfg = award_config()
    levels = cfg.levels_of(r.preset)
    soc_code = r.soc

    # completions by (year, unitid, cipcode, awlevel) in the region, every ingested year
    per_year = []
    for y in all_years:
        c = completions_in(tables.completions((y,), by_unit=True), r, tables, y)
        per_year.append(c.filter(pl.col("awlevel").is_in(levels) & (pl.col("completions") > 0)).select(pl.lit(y, pl.Int16).alias("year"), "unitid", "cipcode", "awlevel", "completions"))
    comp = pl.concat(per_year)
    # the program's links: crosswalk occupations that are BLS detailed occupations (as the engine allocates)
    ep = tables.ep(r.ep_cycle).select("soc_code")
    xw = tables.crosswalk().join(ep, on="soc_code", how="semi")

    # filters
    cip_filter = None
    if r.cip is not None:
        code, is_prefix = r.cip
        cip_filter = pl.col("cipcode").str.starts_with(code) if is_prefix else (pl.col("cipcode") == code)
    keep = comp.select("cipcode").unique()
    if cip_filter is not None:
        keep = keep.filter(cip_filter)
    if soc_code:
        keep = keep.join(xw.filter(pl.col("soc_code") == soc_code).select("cipcode"), on="cipcode", how="semi")
    cluster_desc = ""
    if r.cluster is not None:
        level, exact = r.cluster
        members = cluster_links(tables, "cip").filter(pl.col(level) == exact)
        keep = keep.join(members.select(pl.col("code").alias("cipcode")).unique(), on="cipcode", how="semi")
        cluster_desc = f"{'Career Cluster' if level == 'cluster' else 'sub-cluster'} {exact}"
    comp = comp.join(keep, on="cipcode", how="semi")

    # completions: the mean over the years the gap used (its supply input), by level
    used = comp.filter(pl.col("year").is_in(years_used))
    n_used = len(years_used)
    by_level = used.group_by("cipcode", "awlevel").agg((pl.col("completions").sum() / n_used).alias("c"))

    # where each program's completers go: the allocation the gap uses (share a of the program's allocated
    # completers sent to each occupation), and the sector's share of those occupations
    gq = r_align.as_gap("occupation")
    ep_all = tables.ep(r.ep_cycle)
    links_w = allocation_links(gq, tables, ep_all, gq.alloc, gq.preset)
    sector_share = sector_occupations(gq, tables, ep_all)[0].group_by("soc_code").agg(pl.col("share").first())
    sent = (by_level.join(links_w, on=["cipcode", "awlevel"], how="inner")
            .group_by("cipcode", "soc_code").agg((pl.col("c") * pl.col("w")).sum().alias("sent")))
    sent = (sent.with_columns((pl.col("sent") / pl.col("sent").sum().over("cipcode")).fill_nan(0.0).alias("a"))
            .join(sector_share, on="soc_code", how="left").with_columns(pl.col("share").fill_null(0.0)))
    demand = r.demand
    occ_cols = occ.select("soc_code", "title", pl.col(demand).alias("_demand"), "supply", "wage_value", "emp_base", "emp_proj", "tier")
    links = sent.join(occ_cols, on="soc_code", how="inner")
    top_tier = rules.tiers[0].name
    link_agg = links.group_by("cipcode").agg(
        pl.len().cast(pl.Int32).alias("occupations"),
        (pl.col("a") * pl.col("share")).sum().alias("sector_share"),
        (pl.col("a") * pl.col("_demand")).sum().alias("openings"),
        (pl.col("a") * pl.col("supply")).sum().alias("supply"),
        weighted_median("wage_value", "a").alias("median_wage"),
        (pl.col("a") * pl.col("emp_base")).sum().alias("_b"), (pl.col("a") * pl.col("emp_proj")).sum().alias("_p"),
        (pl.col("tier") == top_tier).sum().cast(pl.Int32).alias("priority_occupations"),
        pl.format("{} ({}) {}%", "title", "soc_code", (pl.col("a") * 100).round(0).cast(pl.Int64))
        .sort_by(["a", "soc_code"], descending=[True, False]).head(3).str.join("; ").alias("top_occupations"),
    ).with_columns(
        pl.when(pl.col("supply") > 0).then(pl.col("openings") / pl.col("supply")).otherwise(None).alias("ratio"),
        (pl.col("openings") - pl.col("supply")).alias("gap"),
        pl.when(pl.col("_b") > 0).then((pl.col("_p") / pl.col("_b") - 1) * 100).otherwise(None).alias("growth_pct"),
    ).drop("_b", "_p")

    # the programs listed: every one with completers in the region, or for a sector those sending it a set share of
    # their completers (through the sector's share of the occupations they are allocated to). Every view below —
    # programs, awards, institutions, links — is of the listed programs only, and is computed for them alone.
    if not r.sector.whole_economy:
        floor = method_settings().program_min_sector_share
        listed = link_agg.filter(pl.col("sector_share") >= floor).select("cipcode")
        dropped = comp["cipcode"].n_unique() - listed.height
        comp, used, by_level, links = (f.join(listed, on="cipcode", how="semi") for f in (comp, used, by_level, links))
        keep = keep.join(listed, on="cipcode", how="semi")
        if dropped:
            notes.append(f"{dropped} program(s) in the region send under {floor:.0%} of their completers to {r.sector.title.lower()} "
                         "(through the sector's share of the occupations they are allocated to) and are not listed.")
    prog = used.group_by("cipcode").agg((pl.col("completions").sum() / n_used).alias("completions"))
    lv = (by_level.sort(["cipcode", "c", "awlevel"], descending=[False, True, False])
          .with_columns(pl.col("awlevel").replace_strict(cfg.awlevels_short, default=pl.col("awlevel").cast(pl.String), return_dtype=pl.String).alias("lvl")))
    lv_text = (lv.with_columns(pl.format("{} {}", "lvl", pl.col("c").round(0).cast(pl.Int64)).alias("txt"))
               .group_by("cipcode").agg(pl.col("txt").str.join("; ").alias("award_levels")))
    trend = comp.group_by("cipcode", "year").agg(pl.col("completions").sum()).pivot(on="year", index="cipcode", values="completions",
                                                                                      sort_columns=True)
    trend = trend.rename({str(y): f"completions_{y}" for y in all_years if str(y) in trend.columns})
    trend = trend.with_columns(pl.exclude("cipcode").fill_null(0.0))
    inst = tables.institutions(max(years_used))
    by_inst = (used.group_by("cipcode", "unitid").agg((pl.col("completions").sum() / n_used).alias("completions"))
               .filter(pl.col("completions") > 0).join(inst, on="unitid", how="left")
               .with_columns(pl.col("name").fill_null(pl.format("UNITID {}", "unitid"))))
    inst_agg = (
        by_inst.sort(["completions", "unitid"], descending=[True, False])
        .with_columns(pl.format("{} ({})", "name", pl.col("completions").round(0).cast(pl.Int64)).alias("txt"))
        .group_by("cipcode").agg(pl.len().cast(pl.Int32).alias("institutions"), pl.col("txt").head(3).str.join("; ").alias("top_institutions"))
    )
    titles = tables.cip_titles()
    # why a program has no link: no crosswalk row, or crosswalk occupations the projections do not list
    ep_cycle = g.method["vintages"]["ep_occupations"]["vintage"]
    off = (tables.crosswalk().join(keep, on="cipcode", how="semi").join(ep, on="soc_code", how="anti")
           .sort("soc_code").group_by("cipcode").agg(pl.col("soc_code").str.join(", ").alias("_off")))
    base = trend.select("cipcode").join(prog, on="cipcode", how="left").with_columns(pl.col("completions").fill_null(0.0))
    t = (
        base.join(titles, on="cipcode", how="left")
        .join(lv_text, on="cipcode", how="left")
        .join(inst_agg, on="cipcode", how="left")
        .join(link_agg, on="cipcode", how="left")
        .join(trend, on="cipcode", how="left")
        .join(off, on="cipcode", how="left")
        .with_columns(pl.col("occupations").fill_null(0), pl.col("institutions").fill_null(0), pl.col("priority_occupations").fill_null(0))
    )
    t = t.with_columns(*_alignment(rules, area, ep_cycle))
    t = t.with_columns(pl.col("alignment").replace_strict(LABEL_ORDER, return_dtype=pl.Int8).alias("_order"))
    t = t.sort(["_order", "completions", "cipcode"], descending=[False, True, False])
    year_cols = [c for c in t.columns if c.startswith("completions_")]
    t = t.select(
        "cipcode", "cip_title", "alignment", "completions", "award_levels", "institutions", "occupations", "sector_share", "openings",
        "supply", "ratio", "gap", "median_wage", "growth_pct", "priority_occupations", "top_occupations", "top_institutions", "reason",
        *year_cols,
    )
    if by == "cluster":
        t = _program_clusters(t, occ, tables, r.cluster)
        notes.append("A program or occupation in several clusters or sub-clusters counts in each (the Advance CTE crosswalks are "
                     "many-to-many); a cluster's totals count each once.")

    # the long views
    titles_lv = cfg.awlevels
    awards_view = (
        comp.lazy().group_by("cipcode", "year", "awlevel").agg(pl.col("completions").sum())
        .join(titles.lazy(), on="cipcode", how="left")
        .with_columns(pl.col("awlevel").replace_strict(titles_lv, default="", return_dtype=pl.String).alias("award"))
        .sort(["cipcode", "awlevel", "year"])
        .select("cipcode", "cip_title", "awlevel", "award", "year", "completions")
    )
    inst_view = (
        by_inst.lazy().join(titles.lazy(), on="cipcode", how="left")
        .join(used.lazy().group_by("cipcode", "unitid", "awlevel").agg((pl.col("completions").sum() / n_used).alias("c"))
              .filter(pl.col("c") > 0).sort(["c", "awlevel"], descending=[True, False])
              .with_columns(pl.format("{} {}", pl.col("awlevel").replace_strict(cfg.awlevels_short, default="", return_dtype=pl.String),
                                      pl.col("c").round(0).cast(pl.Int64)).alias("txt"))
              .group_by("cipcode", "unitid").agg(pl.col("txt").str.join("; ").alias("award_levels")),
              on=["cipcode", "unitid"], how="left")
        .sort(["cipcode", "completions", "unitid"], descending=[False, True, False])
        .select("cipcode", "cip_title", "unitid", pl.col("name").alias("institution"), "city", "state", "completions", "award_levels")
    )
    link_view = (links.lazy().select("cipcode", "soc_code", "title", pl.col("a").alias("allocated_share"), pl.col("_demand").alias("openings"),
                              "supply", "wage_value", "tier")
                 .sort("cipcode", "allocated_share", "soc_code", descending=[False, True, False]))

    if t.height == 0:
        what = [f"--cip {cip}" if cip else "", f"--soc {soc_code}" if soc_code else "", f"--cluster {cluster}" if cluster else ""]
        notes.insert(0, f"No program with completers in {area.name} in IPEDS {', '.join(map(str, all_years))} matches "
                        f"{' '.join(w for w in what if w) or 'the award levels chosen'}.")
    providers = _providers(r, tables, sector_share, notes)
    where = "the United States" if r.region.national else r.region.name
    yrs = "–".join(map(str, sorted({years_used[0], years_used[-1]})))
    title = (f"{g.method['sector_title']}{' · ' + cluster_desc if cluster_desc else ''}: programs (CIP) in {where}, "
             f"IPEDS {yrs} completions and alignment with the occupations they feed"
             + (f" · programs feeding {soc_code}" if soc_code else "") + (f" · CIP {cip}" if cip else ""))
    if by == "cluster":
        title = title.replace("programs (CIP)", "programs by Career Cluster")
    method = {**g.method, "view": "programs", "cluster": cluster, "cip": cip, "soc": soc_code, "completions_years_shown": all_years,
              "alignment": {"rules": rules.origin, "undersupplied_ratio": rules.undersupplied_ratio,
                            "oversupplied_ratio": rules.oversupplied_ratio,
                            "weak_wage_threshold": area.wage_median * rules.weak_wage_factor, "weak_growth_pct": rules.weak_growth_pct,
                            "area_median_wage": area.wage_median},
              "pathway_thresholds": thresholds_text(area, rules)}
    return ProgramResult(programs=t, views={"awards": awards_view, "institutions": inst_view, "links": link_view}, area=area,
                         providers=providers, rules=rules, method=method, notes=notes, title=title)


def _occupations(r: Resolved, tables: Tables) -> tuple[pl.DataFrame, Area, Any, list[str], Resolved]:
    """The occupation frame alignment is judged against, and the question it came from: the region's own, or — for an
    area whose demand gapkit cannot measure (no QCEW or OEWS area data) — its state's, said in a note."""
    from gapkit.errors import GapkitError

    try:
        occ, area, g, notes = occupation_frame(r, tables)
        return occ, area, g, notes, r
    except GapkitError as exc:
        if not r.region.substate or r.region.state is None:
            raise
        state_q = r.at(region=r.region.state, region_file=None)
        occ, area, g, notes = occupation_frame(state_q, tables)
        notes.insert(0, f"Demand in {r.region.name} cannot be measured ({exc.message.rstrip('.')}); completions are the area's, but "
                        f"openings, supply, ratio and alignment are {area.name}'s.")
        return occ, area, g, notes, state_q


def _providers(r: Resolved, tables: Tables, sector_share: pl.DataFrame, notes: list[str]) -> pl.DataFrame | None:
    """The region's Eligible Training Provider List programs that serve the sector, with a note on what they add."""
    import polars as pl

    from gapkit.analysis.regions import etpl_programs

    if r.region.national:
        return None
    e = etpl_programs(tables, r.region)
    if e is None:
        return None
    titles = tables.cip_titles()
    shares = (e.select("program_id", "soc_codes").explode("soc_codes").rename({"soc_codes": "soc_code"})
              .join(sector_share, on="soc_code", how="left")
              .group_by("program_id").agg(pl.col("share").fill_null(0.0).mean().alias("sector_share")))
    e = e.join(shares, on="program_id", how="left").with_columns(pl.col("sector_share").fill_null(0.0))
    if not r.sector.whole_economy:
        e = e.filter(pl.col("sector_share") >= method_settings().program_min_sector_share)
    if r.cip is not None:
        code, is_prefix = r.cip
        e = e.filter(pl.col("cipcode").str.starts_with(code) if is_prefix else pl.col("cipcode") == code)
    if r.soc:
        e = e.filter(pl.col("soc_codes").list.contains(r.soc))
    out = (e.join(titles, on="cipcode", how="left")
           .with_columns(pl.col("soc_codes").list.join(", "),
                         pl.when(pl.col("in_ipeds")).then(pl.lit("IPEDS")).otherwise(pl.lit("outside IPEDS")).alias("reports_to"))
           .sort(["in_ipeds", "apprentices", "provider_name", "program_id"], descending=[False, True, False, False])
           .select("provider_name", "program_name", "cipcode", "cip_title", "soc_codes", "apprenticeship", "apprentices",
                   "reports_to", "county_fips", "institution_type", "credential_name", "contact_hours", "tuition_fees",
                   "sector_share", "program_id"))
    outside = out.filter(pl.col("reports_to") == "outside IPEDS")
    if out.height:
        app = outside.filter(pl.col("apprenticeship"))
        notes.append(f"The Eligible Training Provider List has {out.height:,} program(s) for this sector in {r.region.name}: "
                     f"{outside.height:,} from {outside['provider_name'].n_unique():,} provider(s) outside IPEDS, including "
                     f"{app.height:,} registered apprenticeship(s) with {float(app['apprentices'].sum()):,.0f} apprentices. IPEDS "
                     "counts none of those completers; `--view providers` lists them and `gapkit gap --etpl-completers N` counts "
                     "them as supply at an assumed N a program.")
    return out


def _alignment(r: Rules, area: Area, ep_cycle: str) -> list[pl.Expr]:
    import polars as pl

    wage_thr = area.wage_median * r.weak_wage_factor
    low_wage = (pl.col("median_wage") < wage_thr).fill_null(False)
    declining = (pl.col("growth_pct") < r.weak_growth_pct).fill_null(False)
    has_link = pl.col("occupations") > 0
    has_open = pl.col("openings").fill_null(0.0) > 0
    label = (
        pl.when(~has_link).then(pl.lit(NO_LINK))
        .when(~has_open).then(pl.lit(NO_OPENINGS))
        .when(low_wage | declining).then(pl.lit(WEAK))
        .when((pl.col("supply") <= 0) | (pl.col("ratio") >= r.undersupplied_ratio)).then(pl.lit(UNDER))
        .when(pl.col("ratio") <= r.oversupplied_ratio).then(pl.lit(OVER))
        .otherwise(pl.lit(BALANCED))
    )
    ratio_txt = pl.when(pl.col("supply") > 0).then(pl.format("ratio {}", pl.col("ratio").round(2))).otherwise(pl.lit("no supply"))
    nums = pl.format("linked openings {} vs supply {} ({})", pl.col("openings").round(0).cast(pl.Int64),
                     pl.col("supply").round(0).cast(pl.Int64), ratio_txt)
    weak_why = pl.concat_list(
        pl.when(low_wage).then(pl.format("linked median wage ${} < ${}", pl.col("median_wage").round(0).cast(pl.Int64), pl.lit(f"{wage_thr:,.0f}"))),
        pl.when(declining).then(pl.format("linked employment {}% over 10 years", pl.col("growth_pct").round(1))),
    ).list.drop_nulls().list.join("; ")
    reason = (
        pl.when(~has_link & pl.col("_off").is_not_null())
        .then(pl.format("the NCES crosswalk links it only to SOC {}, not a detailed occupation of the BLS {} projections "
                        "(its completers are unallocated in `gapkit gap` too)", "_off", pl.lit(ep_cycle)))
        .when(~has_link).then(pl.lit("the NCES CIP-SOC crosswalk links this program to no occupation"))
        .when(~has_open).then(pl.lit("its linked occupations have no openings in this sector and region"))
        .when(low_wage | declining).then(pl.format("{}; {}", weak_why, nums))
        .otherwise(nums)
    )
    return [label.alias("alignment"), reason.alias("reason")]


def _program_clusters(t: pl.DataFrame, occ: pl.DataFrame, tables: Tables, cluster: tuple[str, str] | None) -> pl.DataFrame:
    """Programs grouped by Career Cluster / sub-cluster; the cluster's occupations give its openings and supply."""
    import polars as pl

    cips = cluster_links(tables, "cip")
    socs = cluster_links(tables, "soc")
    if cluster is not None:
        level, exact = cluster
        cips = cips.filter(pl.col(level) == exact)
        socs = socs.filter(pl.col(level) == exact)
    j = t.join(cips, left_on="cipcode", right_on="code", how="inner")
    o = occ.join(socs, left_on="soc_code", right_on="code", how="inner")

    def agg_prog(keys: list[str], frame: pl.DataFrame) -> pl.DataFrame:
        return frame.group_by(keys).agg(
            pl.len().cast(pl.Int32).alias("programs"),
            pl.col("completions").sum(),
            *[(pl.col("alignment") == lab).sum().cast(pl.Int32).alias(col) for lab, col in
              ((UNDER, "undersupplied"), (BALANCED, "balanced"), (OVER, "oversupplied"), (WEAK, "weakly_aligned"))],
        )

    def agg_occ(keys: list[str], frame: pl.DataFrame) -> pl.DataFrame:
        return frame.group_by(keys).agg(pl.len().cast(pl.Int32).alias("occupations"), pl.col("openings").sum(), pl.col("supply").sum())

    whole = "(whole cluster)"
    p = pl.concat([
        agg_prog(["cluster"], j.unique(["cluster", "cipcode"])).with_columns(pl.lit(whole).alias("sub_cluster")),
        agg_prog(["cluster", "sub_cluster"], j),
    ], how="diagonal")
    q = pl.concat([
        agg_occ(["cluster"], o.unique(["cluster", "soc_code"])).with_columns(pl.lit(whole).alias("sub_cluster")),
        agg_occ(["cluster", "sub_cluster"], o),
    ], how="diagonal")
    out = p.join(q, on=["cluster", "sub_cluster"], how="full", coalesce=True).with_columns(
        pl.when(pl.col("supply") > 0).then(pl.col("openings") / pl.col("supply")).otherwise(None).alias("ratio"),
        (pl.col("openings") - pl.col("supply")).alias("gap"),
        (pl.col("sub_cluster") != whole).alias("_is_sub"),
    )
    ints = ["programs", "undersupplied", "balanced", "oversupplied", "weakly_aligned", "occupations"]
    return out.with_columns(pl.col(ints).fill_null(0), pl.col("completions").fill_null(0.0)).sort(
        ["cluster", "_is_sub", "completions"], descending=[False, False, True]).select(
        "cluster", "sub_cluster", "programs", "completions", "undersupplied", "balanced", "oversupplied", "weakly_aligned",
        "occupations", "openings", "supply", "ratio", "gap")


__all__ = ["ProgramResult", "run"]

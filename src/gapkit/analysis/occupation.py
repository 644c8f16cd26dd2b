"""`gapkit occupation SOC`: everything gapkit knows about one occupation, in one place (rendered by
:mod:`gapkit.render.profile`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gapkit.analysis.method import compute, sector_occupations
from gapkit.analysis.regions import completions_in
from gapkit.analysis.results import method_line
from gapkit.analysis.tables import SMALL
from gapkit.config.presets import award_config

if TYPE_CHECKING:
    from gapkit.analysis.query import Resolved
    from gapkit.analysis.tables import Tables


def run(r: Resolved, t: Tables) -> dict[str, Any]:
    """Everything gapkit knows about one occupation (``r.soc``) in a region, as a plain dict."""
    import polars as pl

    assert r.soc is not None
    code = r.soc
    cycle = r.ep_cycle
    row = t.ep_row(cycle, code)
    assert row is not None
    national = {k: row[k] for k in ("title", "education", "work_experience", "training", "median_wage")}
    for k in ("emp_base_k", "emp_proj_k", "emp_change_k", "exits_k", "transfers_k", "separations_k", "openings_k"):
        national[k.removesuffix("_k")] = None if row[k] is None else row[k] * 1000
    national["emp_change_pct"] = row["emp_change_pct"]

    gap_res = compute(r.as_gap("occupation"), t)
    mine = gap_res.table.filter(pl.col("soc_code") == code)
    gap_row = mine.row(0, named=True) if mine.height else {"openings": 0.0, "entrants": 0.0, "supply": 0.0, "ratio": None, "ratio_note": "",
                                                           "gap": 0.0, "flags": ""}

    states: list[dict[str, Any]] = []
    if t.has("state_projections"):
        st = t.state_projections(t.vintage("state_projections")).filter(pl.col("soc_code") == code)
        if not r.region.national:
            st = st.filter(pl.col("state").is_in(list(r.region.states) if r.region.substate else [r.region.code]))
        states = st.select("state", "openings").sort("openings", descending=True).head(60).to_dicts()

    every = r.as_gap("occupation").at(sector="all", sector_file=None)
    occ = sector_occupations(every, t, t.ep(cycle))[0].filter(pl.col("soc_code") == code)
    by_sector = occ.group_by("sector").agg(pl.col("openings_s").sum(), pl.col("share").first())
    found = {x["sector"]: x for x in by_sector.to_dicts()}
    shares = [{"sector": s.name, "openings": float(found[s.name]["openings_s"]), "share": float(found[s.name]["share"])}
              for s in every.sectors if not s.whole_economy and s.name in found]
    shares.sort(key=lambda d: -d["share"])

    years = tuple(gap_res.method["completions_years"])
    comp = completions_in(t.completions(years, by_unit=True), r, t, max(years))
    xw_all = t.scan("cip_soc", t.vintage("cip_soc")).filter(pl.col("soc_code") == code).select("cipcode", "cip_title").collect(engine=SMALL)
    linked = comp.join(xw_all, on="cipcode", how="inner")
    programs = (
        linked.group_by("cipcode", "cip_title", "awlevel").agg(pl.col("completions").sum())
        .sort(["cipcode", "awlevel"]).to_dicts()
    )
    labels = award_config().awlevels
    for p in programs:
        p["award"] = labels.get(p["awlevel"], f"IPEDS award level {p['awlevel']}")
    inst = t.institutions(max(years))
    top_inst = (
        linked.group_by("unitid").agg(pl.col("completions").sum())
        .join(inst, on="unitid", how="left").sort(["completions", "unitid"], descending=[True, False]).head(10)
        .select("name", "city", "state", "completions").to_dicts()
    )
    return {
        "soc_code": code, "cycle": cycle, "region": r.region.code, "region_name": r.region.name, "demand": r.demand,
        "national": national, "states": states,
        "sector_shares": shares, "programs": programs, "top_institutions": top_inst,
        "gap": {k: gap_row.get(k) for k in ("openings", "entrants", "supply", "ratio", "ratio_note", "gap", "flags")},
        "method": {**gap_res.method, "sector": "all-industries"}, "method_line": method_line(gap_res.method),
        "notes": gap_res.notes,
    }


__all__ = ["run"]

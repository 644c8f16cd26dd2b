"""One question under many method choices or many years, without recomputing what does not change.

``sensitivity`` is the headline under every allocation mode × award preset: the sector's openings are
computed once and the completions allocated once per mode (presets that count the same levels for
every occupation share that allocation). ``completions_trend`` is the supply side over the ingested
IPEDS years.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gapkit.analysis.method import (
    DEMAND_WORDS,
    MEASURES,
    area_rows,
    compute,
    eligible_levels,
    national_rows,
    sector_occupations,
    state_rows,
)
from gapkit.analysis.query import ALLOC_MODES
from gapkit.analysis.results import method_line
from gapkit.analysis.tables import SMALL
from gapkit.config.presets import award_config
from gapkit.errors import MissingDataError

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.query import Resolved
    from gapkit.analysis.tables import Tables

# the award presets that partition "all" (so their supplies add up to the all-levels supply)
AWARD_GROUPS = {"subbacc": "Certificates and associate's", "bachelor": "Bachelor's", "graduate": "Graduate"}
PRESET_LABELS = {"all": "All award levels", "subbacc": "Sub-baccalaureate", "bachelor": "Bachelor's",
                 "graduate": "Graduate", "entry": "Entry-level match"}
LINKED_SERIES = "All completions in linked programs"
SWEEP_DEMANDS = ("entrants", "openings")


@dataclass
class SweepResult:
    """One question's headline under many method choices: the table, the base method record, notes, a title."""

    table: pl.DataFrame
    method: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    title: str = ""

    def method_line(self) -> str:
        return method_line(self.method, alloc="each", awards="each", demand="each")


def sensitivity_result(r: Resolved, t: Tables) -> SweepResult:
    """``gapkit gap --sensitivity``: the grid with the question's method record and a title stating the spread."""
    table = sensitivity(r, t)
    base = compute(r.at(by="sector"), t)
    m = {**base.method, "view": "sensitivity"}
    ratios = [x for x in table.filter(table["demand"] == r.demand)["ratio"].to_list() if x is not None]
    spread = f"ratios range {min(ratios):.2f}–{max(ratios):.2f}" if ratios else "no supply under any choice"
    title = (f"{m['sector_title']} ({m['region']}): headline ratio of {DEMAND_WORDS[r.demand]} to completers under each method "
             f"choice; {spread}")
    return SweepResult(table, m, base.notes, title)


def _totals(r: Resolved, t: Tables, occ: pl.DataFrame, *, exclude_upgrades: bool = False) -> dict[str, float]:
    """Each demand measure and the supply of a question summed over its rows (its headline), from sector
    occupations already computed."""
    import polars as pl

    ep = t.ep(r.ep_cycle)
    if r.areas:
        rows = area_rows(r, t, ep, occ, exclude_upgrades=exclude_upgrades)[0]
    elif r.needs_states:
        rows = state_rows(r, t, ep, occ, exclude_upgrades=exclude_upgrades)[0]
    else:
        rows = national_rows(r, t, ep, occ, exclude_upgrades=exclude_upgrades)[0]
    cols = [*MEASURES, "supply"]
    tot = rows.lazy().select(pl.col(cols).sum()).collect(engine=SMALL).row(0)
    return {c: float(v or 0.0) for c, v in zip(cols, tot, strict=True)}


def sensitivity(r: Resolved, t: Tables) -> pl.DataFrame:
    """The headline (whole-row) ratio under every demand measure × allocation mode × award preset: demand, alloc,
    awards, openings (as the demand measure counts them), supply, ratio, gap. The sector's demand is computed
    once; each allocation mode once per preset family."""
    import polars as pl

    base = r.at(by="sector" if r.by != "state" else "state")
    occ = sector_occupations(base, t, t.ep(base.ep_cycle))[0]
    rows = []
    totals = {(alloc, awards): _totals(base.at(alloc=alloc, awards=awards), t, occ)
              for alloc in ALLOC_MODES for awards in award_config().presets}
    for demand in SWEEP_DEMANDS:
        for (alloc, awards), tot in totals.items():
            d, supply = tot[demand], tot["supply"]
            rows.append((demand, alloc, awards, d, supply, d / supply if supply > 0 else None, d - supply))
    return pl.DataFrame(rows, schema={"demand": pl.String, "alloc": pl.String, "awards": pl.String, "openings": pl.Float64,
                                      "supply": pl.Float64, "ratio": pl.Float64, "gap": pl.Float64}, orient="row")


@dataclass
class Headline:
    """A question's headline ratio with the range the method allows (docs/METHOD.md, "A range, not one number")."""

    central: float | None  # the question's own demand measure and allocation
    low: float | None
    high: float | None
    demand: str
    variants: list[dict[str, Any]] = field(default_factory=list)  # label, demand, alloc, upgrades, openings, supply, ratio

    def text(self) -> str:
        """"9.3 entrant openings per completer (range 4.1–20.7 across demand and supply measures)"."""
        if self.central is None:
            return "no completers to compare with"
        word = {"openings": "openings", "entrants": "entrant openings", "growth": "new jobs"}[self.demand]
        span = (f" (range {_num(self.low)}–{_num(self.high)} across demand and supply measures)"
                if self.low is not None and self.high is not None and self.low != self.high else "")
        return f"{_num(self.central)} {word} per completer{span}"


def _num(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if v >= 10 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"


def headline(r: Resolved, t: Tables) -> Headline:
    """The headline ratio (demand ÷ supply over the whole question) and its range over the defensible variants:
    total or entrant openings × education-aware or all-awards (openings-weighted) supply, and education-aware
    supply without the completions that may be upgrades (RN-to-BSN)."""
    base = r.at(by="sector" if r.by != "state" else "state")
    occ = sector_occupations(base, t, t.ep(base.ep_cycle))[0]
    choices = (("education", True, "education-aware supply"), ("openings", True, "all-awards supply"),
               ("education", False, "education-aware supply without possible upgrades"))
    # the openings-weighted allocation first: the question's own (education-aware) one is usually being computed on
    # another thread already (the table's), and this one needs nothing it is computing but the completions
    totals = {(alloc, upgrades): _totals(base.at(alloc=alloc), t, occ, exclude_upgrades=not upgrades)
              for alloc, upgrades, _ in sorted(choices, key=lambda c: c[0] == base.alloc)}
    variants = []
    for alloc, upgrades, label in choices:
        tot = totals[(alloc, upgrades)]
        for demand in ("entrants", "openings"):
            ratio = tot[demand] / tot["supply"] if tot["supply"] > 0 else None
            variants.append({"label": f"{DEMAND_WORDS[demand]} vs {label}", "demand": demand, "alloc": alloc, "upgrades": upgrades,
                             "openings": tot[demand], "supply": tot["supply"], "ratio": ratio})
    mine = _totals(base, t, occ)
    central = mine[r.demand] / mine["supply"] if mine["supply"] > 0 else None
    ratios = [v["ratio"] for v in variants if v["ratio"] is not None] + ([central] if central is not None else [])
    return Headline(central, min(ratios) if ratios else None, max(ratios) if ratios else None, r.demand, variants)


def completions_trend(r: Resolved, t: Tables) -> pl.DataFrame:
    """Completions per ingested IPEDS year for the sector's programs.

    The sector's programs are the 6-digit CIPs that the NCES crosswalk links to an occupation with
    sector openings in the region, at an award level the ``--awards`` preset accepts for it. Rows:
    ``year``, ``series``, ``kind``, ``completions`` where

    * ``kind == "counted"``: the part of those programs' first-major completions the gap counts as the
      sector's supply (allocation and scope applied), one row per award group (sub-baccalaureate,
      bachelor's, graduate; or the single preset chosen) — the gap's own supply for that single year;
    * ``kind == "linked"``: all first-major completions in those programs (``series`` "All completions in
      linked programs"), which also serve other sectors' occupations.
    """
    import polars as pl

    region = "US" if r.region.kind in {"nation", "states"} else r.region.code
    years = sorted(int(v) for v in t.vintages("ipeds_completions"))
    if not years:
        raise MissingDataError("ipeds_completions", "gapkit ingest ipeds")
    base = r.at(region=region, by="sector", completions_years=None)
    occ_table = compute(base.at(by="occupation"), t).table
    socs = occ_table.filter(pl.col("openings") > 0).select("soc_code")
    ep = t.ep(base.ep_cycle)
    programs = (t.crosswalk().join(socs, on="soc_code", how="semi").join(eligible_levels(ep, base.preset), on="soc_code")
                .select("cipcode", "awlevel").unique())
    occ = sector_occupations(base, t, ep)[0]
    groups = list(AWARD_GROUPS) if r.awards == "all" else [r.awards]
    out = []
    for y in years:
        at_y = base.at(completions_years=(y,))
        for g in groups:
            out.append((y, AWARD_GROUPS.get(g, PRESET_LABELS.get(g, g)), "counted", _totals(at_y.at(awards=g), t, occ)["supply"]))
        comp = t.completions((y,))
        if region != "US":
            comp = comp.filter(pl.col("state") == region)
        linked = float(comp.join(programs, on=["cipcode", "awlevel"], how="semi")["completions"].sum())
        out.append((y, LINKED_SERIES, "linked", linked))
    df = pl.DataFrame(out, schema={"year": pl.Int32, "series": pl.String, "kind": pl.String, "completions": pl.Float64},
                      orient="row")
    return df.with_columns(pl.col("completions").round(2))

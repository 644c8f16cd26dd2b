"""Plausibility checks on Projections Central state figures, shared by the parser and the gap engine.

Kept apart from ``projections`` so that an analysis can run them without importing pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gapkit.codes import STATES

if TYPE_CHECKING:
    import polars as pl

__all__ = ["check_state_totals", "state_total_notes"]

# The tolerances (a state's detail vs its published total; annual openings as a share of average
# employment) are data: [gates] in gapkit/config/shipped/method.toml.


def state_total_notes(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The per-state checks of ``parse`` on a stored ``state_projections`` frame (any number of states
    and cycles): line items vs the published total, and the total's openings rate. For the gap engine.
    Aggregated in one query first (a frame of millions of rows is never split into Python groups)."""
    import polars as pl

    per = (frame.lazy().group_by("stfips", "cycle", maintain_order=True).agg(
        pl.col("openings").filter(pl.col("soc_level") == "detailed").sum().alias("_det"),
        pl.col("openings").filter(pl.col("soc_code") == "00-0000").first().alias("_open"),
        pl.col("emp_base").filter(pl.col("soc_code") == "00-0000").first().alias("_base"),
        pl.col("emp_proj").filter(pl.col("soc_code") == "00-0000").first().alias("_proj"),
        (pl.col("soc_code") == "00-0000").any().alias("_has_total"),
    ).collect())
    notes: list[str] = []
    for x in per.iter_rows(named=True):
        total = {"openings": x["_open"], "emp_base": x["_base"], "emp_proj": x["_proj"]} if x["_has_total"] else None
        notes += _total_notes(str(x["stfips"]), str(x["cycle"]), float(x["_det"] or 0.0), total)
    return notes


def check_state_totals(part: pl.DataFrame, fips: str, cycle: str) -> list[str]:
    """Notes (not errors) on one state's figures: detail vs published total, and the total's openings rate."""
    import polars as pl

    det = float(part.filter(pl.col("soc_level") == "detailed")["openings"].sum())
    tot = part.filter(pl.col("soc_code") == "00-0000")
    return _total_notes(fips, cycle, det, tot.row(0, named=True) if tot.height else None)


def _total_notes(fips: str, cycle: str, det: float, row: dict[str, Any] | None) -> list[str]:
    from gapkit.config.method import method_settings

    cfg = method_settings()
    tolerance, band = cfg.detail_total_tolerance, cfg.openings_rate_band
    name = f"{STATES[fips][1]} ({STATES[fips][0]})"
    if row is None:
        return [f"Projections Central {cycle} {name}: no all-occupations (00-0000) total published; "
                f"its detailed occupations sum to {det:,.0f} openings a year."]
    notes = []
    published = row["openings"]
    if published and abs(det - published) / published > tolerance:
        notes.append(f"Projections Central {cycle} {name}: detailed occupations sum to {det:,.0f} openings a year but the "
                     f"published all-occupations total is {published:,.0f} ({(det - published) / published:+.1%}); "
                     "reported as published, not adjusted.")
    if row["emp_base"] and row["emp_proj"]:
        rate = published / ((row["emp_base"] + row["emp_proj"]) / 2)
        if not band[0] <= rate <= band[1]:
            notes.append(f"Projections Central {cycle} {name}: published annual openings ({published:,.0f}) are {rate:.1%} of "
                         f"average employment ({(row['emp_base'] + row['emp_proj']) / 2:,.0f}), outside the "
                         f"{band[0]:.0%}-{band[1]:.0%} range of states' published figures; they look odd as "
                         "published (not adjusted; use with care).")
    return notes

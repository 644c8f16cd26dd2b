"""Plausibility checks on Projections Central state figures, shared by the parser and the gap engine.

Kept apart from ``projections`` so that an analysis can run them without importing pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gapkit.codes import STATES

if TYPE_CHECKING:
    import polars as pl

__all__ = ["check_state_totals", "state_total_notes"]

# The tolerances (a state's detail vs its published total; annual openings as a share of average
# employment) are data: [gates] in gapkit/config/shipped/method.toml.


def state_total_notes(frame: pl.DataFrame) -> list[str]:
    """The per-state checks of ``parse`` on a stored ``state_projections`` frame (any number of states
    and cycles): line items vs the published total, and the total's openings rate. For the gap engine."""
    notes: list[str] = []
    for (fips, cycle), part in frame.group_by(["stfips", "cycle"], maintain_order=True):
        notes += check_state_totals(part, str(fips), str(cycle))
    return notes


def check_state_totals(part: pl.DataFrame, fips: str, cycle: str) -> list[str]:
    """Notes (not errors) on one state's figures: detail vs published total, and the total's openings rate."""
    import polars as pl

    from gapkit.config.method import method_settings

    cfg = method_settings()
    tolerance, band = cfg.detail_total_tolerance, cfg.openings_rate_band
    name = f"{STATES[fips][1]} ({STATES[fips][0]})"
    det = float(part.filter(pl.col("soc_level") == "detailed")["openings"].sum())
    tot = part.filter(pl.col("soc_code") == "00-0000")
    if tot.height == 0:
        return [f"Projections Central {cycle} {name}: no all-occupations (00-0000) total published; "
                f"its detailed occupations sum to {det:,.0f} openings a year."]
    row = tot.row(0, named=True)
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

"""What a gap question returns, and the one sentence that says where its numbers come from.

``GapResult`` is a table at the question's grain plus its method record (sources with vintages and
sha256 prefixes, every option, the assumptions, notes from the data checks). ``method_line`` is the
provenance sentence every table, chart and brief prints; ``published`` rounds a table as printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

SMALL_OPENINGS = 50.0  # persons/yr: rows below are flagged "small numbers"
SMALL_SUPPLY = 20.0
SEPARATION_NOTE = (
    "Sector openings assume each occupation separates at the same rate in every industry "
    "(BLS publishes no industry-specific separation rates)."
)


@dataclass
class GapResult:
    table: pl.DataFrame
    method: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    unallocated: dict[str, float] = field(default_factory=dict)

    def method_line(self) -> str:
        return method_line(self.method)


# Parallel sums may differ in their last bits between runs, and a ratio of two figures scaled by the same
# share often lands exactly on a rounding boundary (4,275 / 32 = 133.59375). Nudging magnitudes up by a
# relative 1e-12 before rounding makes such values round the same way every time.
NUDGE = 1 + 1e-12


def round_stable(col: str, decimals: int) -> pl.Expr:
    """``col`` rounded to ``decimals``, the same on every run (see NUDGE)."""
    import polars as pl

    return (pl.col(col) * NUDGE).round(decimals).alias(col)


def published(table: pl.DataFrame) -> pl.DataFrame:
    """The table as printed: people per year to 0.01 and ratios to 4 decimals, identically on every run
    (the library API keeps full precision)."""
    people = [c for c in ("openings", "entrants", "growth", "supply", "gap", "supply_extra") if c in table.columns]
    return table.with_columns(*(round_stable(c, 2) for c in people),
                              *(round_stable(c, 4) for c in ("ratio", "misalignment") if c in table.columns))


# (vintages key, label, in the short form of chart footers): the one list of sources a result names
SOURCE_LABELS = (("ep_occupations", "BLS EP", True), ("nem_matrix", "NEM matrix", True),
                 ("state_projections", "Projections Central", True), ("ipeds_completions", "IPEDS completions", True),
                 ("cip_soc", "CIP-SOC", True), ("soc_nem", "SOC-NEM codes", False), ("ep_attainment", "BLS attainment", False))


def years_span(years: list[str]) -> str:
    """2021–2024 for consecutive years, else 2022, 2024 (text that is not a year is joined with +)."""
    try:
        ys = sorted(int(y) for y in years)
    except ValueError:
        return "+".join(years)
    if len(ys) > 1 and ys == list(range(ys[0], ys[-1] + 1)):
        return f"{ys[0]}–{ys[-1]}"
    return ", ".join(map(str, ys))


def sources_text(m: dict[str, Any], *, short: bool = False, ipeds_years: list[int] | None = None) -> str:
    """The data a result was computed from: each source with its vintage and sha256 prefix; ``short`` (a chart's
    footer): vintages only, the main sources, and ``ipeds_years`` when a chart draws other years (the trend)."""
    v = m["vintages"]
    parts = []
    for key, label, in_short in SOURCE_LABELS:
        if key not in v or (short and not in_short):
            continue
        if key == "ipeds_completions":
            ip = v[key]
            if short:
                parts.append("IPEDS " + years_span([str(y) for y in ipeds_years] if ipeds_years else [str(x["vintage"]) for x in ip]))
            else:
                parts.append(f"{label} " + "+".join(f"{x['vintage']}" for x in ip) + f" ({', '.join(x['sha256'] for x in ip)})")
            continue
        parts.append(f"{label} {v[key]['vintage']}" + ("" if short else f" ({v[key]['sha256']})"))
    return "Sources: " + (", " if short else "; ").join(parts) + "."


def options_text(m: dict[str, Any], *, alloc: str | None = None, awards: str | None = None, demand: str | None = None) -> str:
    """The method choices of a result (``alloc``/``awards``/``demand`` override them, e.g. "each" for a sweep)."""
    return (f"Method: demand={demand or m.get('demand', 'openings')}, awards={awards or m['awards']}, alloc={alloc or m['alloc']}, "
            f"scope={m['scope']}, retention={m['retention']:g}, extra supply={m['extra_supply'] or 'none'}.")


def method_line(m: dict[str, Any], *, alloc: str | None = None, awards: str | None = None, demand: str | None = None) -> str:
    """The provenance sentence: sources, vintages, sha256 prefixes, options, units and assumptions."""
    text = sources_text(m) + " " + options_text(m, alloc=alloc, awards=awards, demand=demand) + " Units: people per year."
    if m["assumptions"]:
        text += " " + " ".join(m["assumptions"])
    if (alloc or m["alloc"]) == "none":
        text += " alloc=none gives every linked occupation a program's full count (an upper bound that double counts)."
    return text

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


def sources_text(m: dict[str, Any]) -> str:
    """The data a result was computed from: each source with its vintage and sha256 prefix."""
    v = m["vintages"]
    parts = [f"BLS EP {v['ep_occupations']['vintage']} ({v['ep_occupations']['sha256']})"]
    if "nem_matrix" in v:
        parts.append(f"NEM matrix {v['nem_matrix']['vintage']} ({v['nem_matrix']['sha256']})")
    if "state_projections" in v:
        parts.append(f"Projections Central {v['state_projections']['vintage']} ({v['state_projections']['sha256']})")
    ip = v["ipeds_completions"]
    parts.append("IPEDS completions " + "+".join(f"{x['vintage']}" for x in ip) + f" ({', '.join(x['sha256'] for x in ip)})")
    parts.append(f"CIP-SOC {v['cip_soc']['vintage']} ({v['cip_soc']['sha256']})")
    if "soc_nem" in v:
        parts.append(f"SOC-NEM codes {v['soc_nem']['vintage']} ({v['soc_nem']['sha256']})")
    if "ep_attainment" in v:
        parts.append(f"BLS attainment {v['ep_attainment']['vintage']} ({v['ep_attainment']['sha256']})")
    return "Sources: " + "; ".join(parts) + "."


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

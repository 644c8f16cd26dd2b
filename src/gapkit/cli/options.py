"""Options shared by several commands (`gap`, `chart`, `report`, `pathways`, `programs`): declared once.

Import-light like the rest of the CLI layer: typer and the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gapkit.errors import UsageError

if TYPE_CHECKING:
    from gapkit.analysis.engine import GapOptions

Region = Annotated[str, typer.Option(help="US or a state (OH or 39).")]
Awards = Annotated[str, typer.Option(help="Award-level preset: all | subbacc | bachelor | graduate | entry")]
Alloc = Annotated[str, typer.Option(help="Completions allocation: openings | employment | equal | none")]
Scope = Annotated[str, typer.Option(help="sector (sector's share of supply) | occupation (the sector's occupations economy-wide)")]
CompletionsYears = Annotated[str | None, typer.Option(help="IPEDS year or range (mean of the years), default the newest.",
                                                      show_default=False)]
Vintage = Annotated[str | None, typer.Option(help="Projection cycle, e.g. 2024-34 (default the newest).", show_default=False)]
Retention = Annotated[float, typer.Option(help="Share of completers who enter the occupation's labor market.")]
ExtraSupply = Annotated[Path | None, typer.Option(help="CSV of non-IPEDS supply: soc,region,annual_completers,source.",
                                                  show_default=False)]
SectorFile = Annotated[Path | None, typer.Option(help="Use your own sector definition (TOML).", show_default=False)]
MAX_COUNT = 1_000_000_000


def positive_count(option: str) -> Callable[[int | None], int | None]:
    """A typer callback: a count of rows (or bars) between 1 and a billion, checked as the option is parsed
    (a number past 64 bits would otherwise overflow deep in the query engine)."""
    def check(value: int | None) -> int | None:
        if value is not None and not 1 <= value <= MAX_COUNT:
            raise UsageError(f"{option} {value}: give a positive number of rows, at most {MAX_COUNT:,}.")
        return value
    return check


Top = Annotated[int | None, typer.Option(help="Show only the first N rows.", show_default=False, callback=positive_count("--top"))]
Out = Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal.", show_default=False)]
Rules = Annotated[Path | None, typer.Option(help="Your rules file (TOML): thresholds and tiers, overriding gapkit/config/shipped/pathways.toml.",
                                            show_default=False)]


def parse_years(text: str | None, option: str = "--completions-years") -> tuple[int, ...] | None:
    """``2024``, ``2021-2024`` or ``2022,2024`` -> the years in order; a clear error naming ``option`` otherwise."""
    if not text:
        return None
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b < a or b - a > 50:
                    raise ValueError
                out.extend(range(a, b + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise UsageError(f"{option} {text!r}: give years like 2024, 2021-2024 or 2022,2024.") from None
    if not out or any(y < 1990 or y > 2100 for y in out):
        raise UsageError(f"{option} {text!r}: years must be four-digit years between 1990 and 2100.")
    return tuple(out)


def gap_options(*, sector: str, region: str = "US", completions_years: str | None = None, extra_supply: Path | None = None,
                sector_file: Path | None = None, **options: object) -> GapOptions:
    """GapOptions from command-line values (years parsed, paths as text)."""
    from gapkit.analysis.engine import GapOptions

    return GapOptions(sector=sector, region=region, completions_years=parse_years(completions_years),
                      extra_supply=str(extra_supply) if extra_supply else None,
                      sector_file=str(sector_file) if sector_file else None, **options)  # type: ignore[arg-type]

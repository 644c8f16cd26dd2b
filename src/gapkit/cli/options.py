"""Options shared by several commands (`gap`, `chart`, `report`, `pathways`, `programs`): declared once.

Import-light like the rest of the CLI layer: typer and the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from gapkit.errors import UsageError

Region = Annotated[str, typer.Option(help="US, a state (OH or 39), a metro (metro:18140 or metro:columbus), counties "
                                          "(county:39049,39041) or a workforce area (wda:TX-9); `gapkit regions STATE` lists them.")]
RegionFile = Annotated[Path | None, typer.Option(help="Your own region (TOML: name, title, counties = [FIPS, ...]).",
                                                 show_default=False)]
SupplyArea = Annotated[str, typer.Option(help="Sub-state areas: count the completers of institutions in the region's counties "
                                              "(region) or the whole state's (state).")]
Awards = Annotated[str, typer.Option(help="Award-level preset: all | subbacc | bachelor | graduate | entry")]
Alloc = Annotated[str | None, typer.Option(help="Completions allocation: education (default: each award level to the occupations it "
                                                 "is an entry route into) | openings | employment | equal | none", show_default=False)]
Demand = Annotated[str | None, typer.Option(help="What the ratio compares completers with: entrants (default: growth + labor-force "
                                                  "exits) | openings (every opening, incl. job changers) | growth", show_default=False)]
Scope = Annotated[str, typer.Option(help="sector (sector's share of supply) | occupation (the sector's occupations economy-wide)")]
CompletionsYears = Annotated[str | None, typer.Option(help="IPEDS year or range (mean of the years), default the newest.",
                                                      show_default=False)]
Vintage = Annotated[str | None, typer.Option(help="Projection cycle, e.g. 2024-34 (default the newest).", show_default=False)]
Retention = Annotated[float, typer.Option(help="Share of completers who enter the occupation's labor market.")]
ExtraSupply = Annotated[Path | None, typer.Option(help="CSV of non-IPEDS supply: soc,region,annual_completers,source.",
                                                  show_default=False)]
EtplCompleters = Annotated[float | None, typer.Option(help="Count the region's Eligible Training Provider List programs outside IPEDS "
                                                          "as supply at N completers a year each (registered apprenticeships: "
                                                          "apprentices / 4 years); the list itself publishes no completers.",
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
Out = Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal; the extension picks the format: .csv, .json, "
                                               ".parquet, .md, .xlsx (Excel: data, notes, sources and method) or .txt (the "
                                               "table as printed). CSV gets its provenance in FILE.csv.meta.json.", show_default=False)]
FORMAT_HELP = "table | csv | json | markdown | parquet | xlsx (default: from --out's extension, else table)"
Rules = Annotated[Path | None, typer.Option(help="Your rules file (TOML): thresholds and tiers, overriding gapkit/config/shipped/pathways.toml.",
                                            show_default=False)]


def path_text(p: Path | None) -> str | None:
    """A path option as the text a Query keeps (None when not given)."""
    return str(p) if p else None

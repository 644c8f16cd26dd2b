"""CLI commands for analysis: `gapkit gap`, `gapkit sectors`, `gapkit occupation`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gapkit.cli import DataDir, TableFormat
from gapkit.errors import UsageError

sectors_app = typer.Typer(help="List the shipped sectors, or show one (`gapkit sectors show NAME`).", invoke_without_command=True,
                          no_args_is_help=False)


def _years(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        if "-" in text:
            a, b = (int(x) for x in text.split("-", 1))
            if b < a or b - a > 30:
                raise ValueError
            return tuple(range(a, b + 1))
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise UsageError(f"--completions-years {text!r}: give a year (2024) or a range (2022-2024).") from None


def gap_cmd(
    sector: Annotated[str, typer.Option(help="Sector name (see `gapkit sectors`), or `all` to compare every shipped sector.")] = "transportation",
    region: Annotated[str, typer.Option(help="US, a state (OH or 39), or all (every state).")] = "US",
    by: Annotated[str, typer.Option(help="sector | subsector | group | occupation | state")] = "group",
    awards: Annotated[str, typer.Option(help="Award-level preset: all | subbacc | bachelor | graduate | entry")] = "all",
    alloc: Annotated[str, typer.Option(help="Completions allocation: openings | employment | equal | none")] = "openings",
    scope: Annotated[str, typer.Option(help="sector (sector's share of supply) | occupation (the sector's occupations economy-wide)")] = "sector",
    completions_years: Annotated[str | None, typer.Option(help="IPEDS year or range (mean of the years), default the newest.", show_default=False)] = None,
    vintage: Annotated[str | None, typer.Option(help="Projection cycle, e.g. 2024-34 (default the newest).", show_default=False)] = None,
    retention: Annotated[float, typer.Option(help="Share of completers who enter the occupation's labor market.")] = 1.0,
    extra_supply: Annotated[Path | None, typer.Option(help="CSV of non-IPEDS supply: soc,region,annual_completers,source.", show_default=False)] = None,
    sector_file: Annotated[Path | None, typer.Option(help="Use your own sector definition (TOML).", show_default=False)] = None,
    top: Annotated[int | None, typer.Option(help="Show only the first N rows.", show_default=False)] = None,
    sort: Annotated[str | None, typer.Option(help="Sort by a column: openings, supply, ratio, gap (descending).", show_default=False)] = None,
    sensitivity: Annotated[bool, typer.Option("--sensitivity", help="Show the headline ratio under every allocation mode × award preset.")] = False,
    format: Annotated[TableFormat, typer.Option("--format", help="table | csv | json | markdown | parquet")] = TableFormat.table,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal.", show_default=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """Openings vs completions (supply), ratio and gap for a sector, by subsector, group, occupation or state."""
    from gapkit.analysis import run_gap

    run_gap(
        sector=sector, region=region, by=by, awards=awards, alloc=alloc, scope=scope,
        completions_years=_years(completions_years), vintage=vintage, retention=retention,
        extra_supply=str(extra_supply) if extra_supply else None, sector_file=str(sector_file) if sector_file else None,
        top=top, sort=sort, sensitivity=sensitivity, fmt=format.value, out=out, data_dir=data_dir,
    )


@sectors_app.callback()
def sectors_list(ctx: typer.Context) -> None:
    """List the shipped sectors."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.table import Table

    from gapkit.sectors import list_sectors

    t = Table(title="Shipped sectors (gapkit gap --sector NAME)")
    for c in ("name", "title", "subsectors", "groups"):
        t.add_column(c)
    for s in list_sectors():
        t.add_row(s.name, s.title, ", ".join(x.key for x in s.subsectors) or "(whole economy)", ", ".join(g.key for g in s.groups))
    Console().print(t)


@sectors_app.command("show")
def sectors_show(
    name: Annotated[str, typer.Argument(help="A shipped sector name or a path to a sector TOML file.")],
    data_dir: DataDir = None,
) -> None:
    """Print a sector's definition and how much employment it covers."""
    from gapkit.analysis import show_sector

    show_sector(name, data_dir)


def occupation_cmd(
    soc: Annotated[str, typer.Argument(help="SOC code, e.g. 53-3032.")],
    region: Annotated[str, typer.Option(help="US or a state.")] = "US",
    awards: Annotated[str, typer.Option(help="Award-level preset.")] = "all",
    alloc: Annotated[str, typer.Option(help="Allocation mode.")] = "openings",
    completions_years: Annotated[str | None, typer.Option(help="IPEDS year or range.", show_default=False)] = None,
    format: Annotated[TableFormat, typer.Option("--format", help="table | json | markdown")] = TableFormat.table,
    out: Annotated[Path | None, typer.Option(help="Write to this file.", show_default=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """Drill into one occupation: openings and components, sector shares, programs, institutions, gap."""
    from gapkit.analysis import run_occupation

    run_occupation(soc, region=region, awards=awards, alloc=alloc, completions_years=_years(completions_years),
                   fmt=format.value, out=out, data_dir=data_dir)


def register(app: typer.Typer) -> None:
    app.command("gap")(gap_cmd)
    app.add_typer(sectors_app, name="sectors")
    app.command("occupation")(occupation_cmd)

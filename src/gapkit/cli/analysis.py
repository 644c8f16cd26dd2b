"""CLI commands for analysis: `gapkit gap`, `gapkit sectors`, `gapkit occupation`."""

from __future__ import annotations

from typing import Annotated

import typer

from gapkit.cli import DataDir, TableFormat
from gapkit.cli.options import (
    Alloc,
    Awards,
    CompletionsYears,
    ExtraSupply,
    Out,
    Region,
    Retention,
    Scope,
    SectorFile,
    Top,
    Vintage,
    parse_years,
)

sectors_app = typer.Typer(help="List the shipped sectors, or show one (`gapkit sectors show NAME`).", invoke_without_command=True,
                          no_args_is_help=False)


def gap_cmd(
    sector: Annotated[str, typer.Option(help="Sector name (see `gapkit sectors`), or `all` to compare every shipped sector.")] = "transportation",
    region: Annotated[str, typer.Option(help="US, a state (OH or 39), or all (every state).")] = "US",
    by: Annotated[str, typer.Option(help="sector | subsector | group | occupation | state")] = "group",
    awards: Awards = "all",
    alloc: Alloc = "openings",
    scope: Scope = "sector",
    completions_years: CompletionsYears = None,
    vintage: Vintage = None,
    retention: Retention = 1.0,
    extra_supply: ExtraSupply = None,
    sector_file: SectorFile = None,
    top: Top = None,
    sort: Annotated[str | None, typer.Option(help="Sort by a column: openings, supply, ratio, gap (descending).", show_default=False)] = None,
    sensitivity: Annotated[bool, typer.Option("--sensitivity", help="Show the headline ratio under every allocation mode × award preset.")] = False,
    format: Annotated[TableFormat, typer.Option("--format", help="table | csv | json | markdown | parquet")] = TableFormat.table,
    out: Out = None,
    data_dir: DataDir = None,
) -> None:
    """Openings vs completions (supply), ratio and gap for a sector, by subsector, group, occupation or state."""
    from gapkit.cli.commands import run_gap

    run_gap(
        sector=sector, region=region, by=by, awards=awards, alloc=alloc, scope=scope,
        completions_years=parse_years(completions_years), vintage=vintage, retention=retention,
        extra_supply=str(extra_supply) if extra_supply else None, sector_file=str(sector_file) if sector_file else None,
        top=top, sort=sort, sensitivity=sensitivity, fmt=format.value, out=out, data_dir=data_dir,
    )


@sectors_app.callback()
def sectors_list(ctx: typer.Context) -> None:
    """List the shipped sectors."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from gapkit.config.sectors import list_sectors
    from gapkit.render.tables import rich_console

    t = Table(title="Shipped sectors (gapkit gap --sector NAME)")
    for c in ("name", "title", "subsectors", "groups"):
        t.add_column(c)
    for s in list_sectors():
        t.add_row(s.name, s.title, ", ".join(x.key for x in s.subsectors) or "(whole economy)", ", ".join(g.key for g in s.groups))
    rich_console().print(t)


@sectors_app.command("show")
def sectors_show(
    name: Annotated[str, typer.Argument(help="A shipped sector name or a path to a sector TOML file.")],
    data_dir: DataDir = None,
) -> None:
    """Print a sector's definition and how much employment it covers."""
    from gapkit.cli.commands import show_sector

    show_sector(name, data_dir)


def occupation_cmd(
    soc: Annotated[str, typer.Argument(help="SOC code, e.g. 53-3032.")],
    region: Region = "US",
    awards: Awards = "all",
    alloc: Alloc = "openings",
    completions_years: CompletionsYears = None,
    format: Annotated[TableFormat, typer.Option("--format", help="table | json | markdown")] = TableFormat.table,
    out: Out = None,
    data_dir: DataDir = None,
) -> None:
    """Drill into one occupation: openings and components, sector shares, programs, institutions, gap."""
    from gapkit.cli.commands import run_occupation

    run_occupation(soc, region=region, awards=awards, alloc=alloc, completions_years=parse_years(completions_years),
                   fmt=format.value, out=out, data_dir=data_dir)


def register(app: typer.Typer) -> None:
    app.command("gap")(gap_cmd)
    app.add_typer(sectors_app, name="sectors")
    app.command("occupation")(occupation_cmd)

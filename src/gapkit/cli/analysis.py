"""CLI commands for analysis: `gapkit gap`, `gapkit sectors`, `gapkit occupation`."""

from __future__ import annotations

from typing import Annotated

import typer

from gapkit.cli import DataDir, TableFormat
from gapkit.cli.options import (
    FORMAT_HELP,
    Alloc,
    Awards,
    CompletionsYears,
    Demand,
    EtplCompleters,
    ExtraSupply,
    Out,
    Region,
    RegionFile,
    Retention,
    Scope,
    SectorFile,
    SupplyArea,
    Top,
    Vintage,
    path_text,
)

sectors_app = typer.Typer(help="List the shipped sectors, or show one (`gapkit sectors show NAME`).", invoke_without_command=True,
                          no_args_is_help=False)


def gap_cmd(
    sector: Annotated[str, typer.Option(help="Sector name (see `gapkit sectors`), or `all` to compare every shipped sector.")] = "transportation",
    region: Annotated[str, typer.Option(help="US, a state (OH or 39), all (every state), several states side by side (OH,PA,MI), metro:18140 or metro:NAME, "
                                             "county:FIPS,..., wda:TX-9 (`gapkit regions STATE` lists them).")] = "US",
    region_file: RegionFile = None,
    supply_area: SupplyArea = "region",
    by: Annotated[str | None, typer.Option(help="sector | subsector | group | occupation | state | metro | county | wda "
                                                "(default group; sector with --sector all; metro/county/wda with --region STATE)",
                                           show_default=False)] = None,
    awards: Awards = "all",
    alloc: Alloc = None,
    demand: Demand = None,
    scope: Scope = "sector",
    completions_years: CompletionsYears = None,
    vintage: Vintage = None,
    retention: Retention = 1.0,
    extra_supply: ExtraSupply = None,
    etpl_completers: EtplCompleters = None,
    sector_file: SectorFile = None,
    top: Top = None,
    sort: Annotated[str | None, typer.Option(help="Sort by a column: openings, supply, ratio, gap (descending).", show_default=False)] = None,
    sensitivity: Annotated[bool, typer.Option("--sensitivity", help="Show the headline ratio under every allocation mode × award preset.")] = False,
    format: Annotated[TableFormat | None, typer.Option("--format", help=FORMAT_HELP, show_default=False)] = None,
    out: Out = None,
    data_dir: DataDir = None,
) -> None:
    """Openings vs completions (supply), ratio and gap for a sector, by subsector, group, occupation or state."""
    from gapkit.analysis.query import Query
    from gapkit.cli.commands import run_gap

    q = Query(question="sensitivity" if sensitivity else "gap", sector=sector, region=region, by=by, awards=awards, alloc=alloc,
              demand=demand, scope=scope, completions_years=completions_years, vintage=vintage, retention=retention, extra_supply=path_text(extra_supply),
              sector_file=path_text(sector_file), top=top, sort=sort, region_file=path_text(region_file), supply_area=supply_area,
              etpl_completers=etpl_completers)
    run_gap(q, sensitivity=sensitivity, fmt=format.value if format else None, out=out, data_dir=data_dir)


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
    region_file: RegionFile = None,
    supply_area: SupplyArea = "region",
    awards: Awards = "all",
    alloc: Alloc = None,
    demand: Demand = None,
    completions_years: CompletionsYears = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help="table | json | markdown (default: from --out's extension .txt, .json or .md, else table)", show_default=False)] = None,
    out: Out = None,
    data_dir: DataDir = None,
) -> None:
    """Drill into one occupation: openings and components, sector shares, programs, institutions, gap."""
    from gapkit.analysis.query import Query
    from gapkit.cli.commands import run_occupation

    q = Query(question="occupation", soc=soc, region=region, awards=awards, alloc=alloc, demand=demand,
              completions_years=completions_years, region_file=path_text(region_file), supply_area=supply_area)
    run_occupation(q, fmt=format.value if format else None, out=out, data_dir=data_dir)


def regions_cmd(
    state: Annotated[str | None, typer.Argument(help="A state (OH or 39); none = every state.", show_default=False)] = None,
    kind: Annotated[str | None, typer.Option(help="Only metro, micro, wda or county.", show_default=False)] = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help=FORMAT_HELP, show_default=False)] = None,
    out: Out = None,
    data_dir: DataDir = None,
) -> None:
    """List the regions `--region` accepts: metros and micros (CBSA), workforce areas and counties, with the area data gapkit
    has for each (OEWS area rows, QCEW county files)."""
    from gapkit.render.tables import check_out_path, output_format, render
    from gapkit.workspace import Workspace

    fmt = output_format(format.value if format else None, out)
    check_out_path(out, fmt)
    rows, meta = Workspace(data_dir).regions(state, kind=kind)
    render(rows, fmt, method_line=meta["method_line"], metadata=meta, title=meta["title"], out=out, sheet="regions")


def register(app: typer.Typer) -> None:
    app.command("gap")(gap_cmd)
    app.command("regions")(regions_cmd)
    app.add_typer(sectors_app, name="sectors")
    app.command("occupation")(occupation_cmd)

"""CLI commands for reports: `gapkit chart KIND` and `gapkit report`.

Registered by :func:`gapkit.cli._register_optional_commands`; nothing heavy is imported here
(matplotlib and polars load inside the command bodies).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gapkit.cli import DataDir
from gapkit.cli.options import (
    Alloc,
    Awards,
    CompletionsYears,
    ExtraSupply,
    Region,
    Retention,
    Rules,
    Scope,
    SectorFile,
    Vintage,
    gap_options,
    parse_years,
    positive_count,
)
from gapkit.errors import UsageError
from gapkit.render.charts import (  # import-light: matplotlib loads when drawing
    KINDS,
    PATHWAY_KINDS,
    check_chart_path,
    check_kind,
)
from gapkit.render.tables import terminal_text


def chart_cmd(
    kind: Annotated[str, typer.Argument(help=" | ".join(KINDS), show_default=False)],
    out: Annotated[Path, typer.Option(help="Output file: .png (300 dpi), .svg or .pdf.", show_default=False)],
    sector: Annotated[str | None, typer.Option(help="Sector name (see `gapkit sectors`); default transportation, and all for "
                                                    "the pathways and programs kinds.", show_default=False)] = None,
    region: Annotated[str, typer.Option(help="US or a state (OH or 39); the states chart always shows every state.")] = "US",
    by: Annotated[str, typer.Option(help="bars: group | subsector | occupation (top 12 by openings).")] = "group",
    awards: Awards = "all",
    alloc: Alloc = "openings",
    scope: Scope = "sector",
    completions_years: CompletionsYears = None,
    vintage: Vintage = None,
    retention: Retention = 1.0,
    extra_supply: ExtraSupply = None,
    sector_file: SectorFile = None,
    cluster: Annotated[str | None, typer.Option(help="pathways/programs: only this Career Cluster or sub-cluster.", show_default=False)] = None,
    rules: Rules = None,
    cip: Annotated[str | None, typer.Option(help="programs: only this CIP code or family (51, 51.38, 51.3801).", show_default=False)] = None,
    soc: Annotated[str | None, typer.Option(help="programs: only programs feeding this SOC code.", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option(help="pathways/programs: how many bubbles or bars (default 40 / 20).", show_default=False,
                                              callback=positive_count("--limit"))] = None,
    data_dir: DataDir = None,
) -> None:
    """Draw a chart for a brief: openings vs supply (bars), ratio by state (states), occupations (scatter),
    method sensitivity, the completions trend, career pathways (wage x growth bubbles) or program
    alignment (programs). The format follows the extension of --out."""
    check_kind(kind)
    check_chart_path(out)
    if kind in PATHWAY_KINDS:
        _pathway_chart(kind, out, sector=sector or "all", region=region, cluster=cluster, rules=rules, cip=cip, soc=soc, limit=limit,
                       awards=awards, alloc=alloc, completions_years=completions_years, vintage=vintage, data_dir=data_dir)
        return
    from gapkit.analysis.engine import GapData
    from gapkit.render.charts import make_chart

    opts = gap_options(sector=sector or "transportation", region=region, by=by, awards=awards, alloc=alloc, scope=scope,
                       completions_years=completions_years, vintage=vintage, retention=retention,
                       extra_supply=extra_supply, sector_file=sector_file)
    c = make_chart(kind, opts, GapData(data_dir))
    path = c.save(out)
    typer.echo(terminal_text(f"wrote {path}: {c.title}"), err=True)


def _pathway_chart(kind: str, out: Path, *, sector: str, region: str, cluster: str | None, rules: Path | None, cip: str | None,
                   soc: str | None, limit: int | None, awards: str, alloc: str, completions_years: str | None,
                   vintage: str | None, data_dir: Path | None) -> None:
    from gapkit.analysis.engine import GapData
    from gapkit.render.charts.pathways_charts import pathway_chart, program_chart

    if limit is not None and limit < 1:
        raise UsageError(f"--limit {limit}: give a positive number of occupations or programs to draw.")
    common = {"awards": awards, "alloc": alloc, "completions_years": parse_years(completions_years), "vintage": vintage,
              "data": GapData(data_dir), "rules": str(rules) if rules else None}
    if kind == "pathways":
        if cip or soc:
            raise UsageError("--cip and --soc choose programs; use them with `gapkit chart programs`.")
        c = pathway_chart(sector, region, cluster, limit=limit or 40, **common)
    else:
        c = program_chart(region, limit=limit or 20, cip=cip, soc=soc, cluster=cluster, sector=sector, **common)
    path = c.save(out)
    typer.echo(terminal_text(f"wrote {path}: {c.title}"), err=True)


def report_cmd(
    out: Annotated[Path, typer.Option(help="Folder for brief.md, brief.html and charts/ (created if missing).", show_default=False)],
    sector: Annotated[str, typer.Option(help="Sector name (see `gapkit sectors`).")] = "transportation",
    region: Region = "US",
    awards: Awards = "all",
    alloc: Alloc = "openings",
    scope: Scope = "sector",
    completions_years: CompletionsYears = None,
    vintage: Vintage = None,
    retention: Retention = 1.0,
    extra_supply: ExtraSupply = None,
    sector_file: SectorFile = None,
    data_dir: DataDir = None,
) -> None:
    """Write a self-contained brief (Markdown + single-file HTML with its charts): headline numbers, tables by
    subsector, group, occupation and state, charts, method and provenance."""
    from gapkit.render.brief import check_out_dir, report

    check_out_dir(out)
    opts = gap_options(sector=sector, region=region, awards=awards, alloc=alloc, scope=scope,
                       completions_years=completions_years, vintage=vintage, retention=retention,
                       extra_supply=extra_supply, sector_file=sector_file)
    brief = report(opts, out, data_dir=data_dir)
    typer.echo(terminal_text(f"wrote {out}/brief.md, {out}/brief.html and {len(brief.charts)} charts: {brief.title}"), err=True)


def register(app: typer.Typer) -> None:
    app.command("chart")(chart_cmd)
    app.command("report")(report_cmd)

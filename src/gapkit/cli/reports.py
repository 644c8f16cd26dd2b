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
    Demand,
    EtplCompleters,
    ExtraSupply,
    Region,
    RegionFile,
    Retention,
    Rules,
    Scope,
    SectorFile,
    SupplyArea,
    Vintage,
    path_text,
    positive_count,
)
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
    region: Annotated[str, typer.Option(help="US, a state (OH or 39) or a sub-state area (metro:18140, county:39049, wda:TX-9); "
                                             "the states chart always shows every state.")] = "US",
    region_file: RegionFile = None,
    supply_area: SupplyArea = "region",
    by: Annotated[str, typer.Option(help="bars: group | subsector | occupation (top 12 by openings).")] = "group",
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
    from gapkit.cli.render_cache import chart_bytes

    check_kind(kind)
    path = check_chart_path(out)
    if kind in PATHWAY_KINDS:
        options = {"region": region, "region_file": path_text(region_file), "supply_area": supply_area, "cluster": cluster, "rules": path_text(rules), "cip": cip, "soc": soc, "limit": limit,
                   "awards": awards, "alloc": alloc, "demand": demand, "completions_years": completions_years, "vintage": vintage}
    else:
        options = {"region": region, "region_file": path_text(region_file), "supply_area": supply_area, "by": by, "awards": awards, "alloc": alloc, "demand": demand, "scope": scope,
                   "completions_years": completions_years,
                   "vintage": vintage, "retention": retention, "extra_supply": path_text(extra_supply), "etpl_completers": etpl_completers,
                   "sector_file": path_text(sector_file)}
    title, data = chart_bytes(kind, sector, options, path.suffix.lower()[1:], data_dir)
    from gapkit.render.tables import write_output

    write_output(path, data)
    typer.echo(terminal_text(f"wrote {path}: {title}"), err=True)


def report_cmd(
    out: Annotated[Path, typer.Option(help="Folder for brief.md, brief.html, brief.pdf and charts/ (created if missing).", show_default=False)],
    sector: Annotated[str, typer.Option(help="Sector name (see `gapkit sectors`).")] = "transportation",
    region: Region = "US",
    region_file: RegionFile = None,
    supply_area: SupplyArea = "region",
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
    pdf: Annotated[bool | None, typer.Option("--pdf/--no-pdf", help="Print brief.pdf with headless Chromium (default: when "
                                                                    "Chromium is found, or the PDF of the same brief is "
                                                                    "in the result cache).", show_default=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """Write a self-contained brief (Markdown, single-file HTML with its charts, and a PDF printed by headless
    Chromium): executive summary, caveats, key findings, peer comparison, trends, where the gap is, pathways and
    programs, method and provenance."""
    from gapkit.cli.render_cache import write_brief
    from gapkit.render.brief import check_out_dir

    check_out_dir(out)
    options = {"region": region, "region_file": path_text(region_file), "supply_area": supply_area, "awards": awards, "alloc": alloc,
               "demand": demand, "scope": scope, "completions_years": completions_years, "vintage": vintage,
               "retention": retention, "extra_supply": path_text(extra_supply), "etpl_completers": etpl_completers,
               "sector_file": path_text(sector_file)}
    b, wrote_pdf = write_brief(sector, options, data_dir, out, pdf)
    skipped = ("" if wrote_pdf else "; brief.pdf skipped (--no-pdf)" if pdf is False
               else "; brief.pdf skipped: headless Chromium not found (install chromium, or pass --no-pdf)")
    n = len({Path(name).stem for name in b.charts})
    made = f"{out}/brief.md, {out}/brief.html" + (f", {out}/brief.pdf" if wrote_pdf else "")
    typer.echo(terminal_text(f"wrote {made} and {n} charts (SVG and PNG){skipped}: {b.title}"), err=True)


def register(app: typer.Typer) -> None:
    app.command("chart")(chart_cmd)
    app.command("report")(report_cmd)

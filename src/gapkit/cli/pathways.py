"""CLI commands for pathway priorities: `gapkit pathways`, `gapkit programs`, `gapkit clusters`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gapkit.cli import DataDir, TableFormat
from gapkit.cli.options import (
    FORMAT_HELP,
    Alloc,
    Awards,
    CompletionsYears,
    Demand,
    Out,
    Region,
    RegionFile,
    Rules,
    SupplyArea,
    Top,
    Vintage,
    path_text,
)
from gapkit.errors import UsageError

clusters_app = typer.Typer(help="Advance CTE Career Clusters: list the loaded clusters, or `gapkit clusters load PATH...`.",
                           invoke_without_command=True, no_args_is_help=False)

ROUND = {"growth_pct": 2, "wage_vs_median": 3, "priority_share": 4, "sector_share": 4, "median_wage": 0, "completions": 2}


def _published(df: Any) -> Any:
    """As printed: the gap engine's rounding for people and ratios, plus this view's own columns."""
    import polars as pl

    from gapkit.analysis.results import published, round_stable

    out = published(df)
    cols = [round_stable(c, n) for c, n in ROUND.items() if c in out.columns and out.schema[c].is_float()]
    # one IPEDS year each: whole completers
    cols += [pl.col(c).round(0).cast(pl.Int64) for c in out.columns if c.startswith("completions_")]
    return out.with_columns(cols) if cols else out


def _total(question: str, options: dict[str, Any], hit: dict[str, Any]) -> Any:
    """The total row, where the rows add up: pathways' occupations (distinct, in one area) for openings, supply
    and gap; programs' completions (each completer counts in one program). Career Clusters overlap (an
    occupation or a program can sit in several), and linked openings of programs overlap (programs share
    occupations): those get no total."""
    from gapkit.render.tables import Total

    if options.get("by") == "cluster":
        return None
    shown = bool(options.get("top"))
    if question == "pathways":
        return Total(("openings", "entrants", "growth", "supply", "gap"), (hit["method"].get("demand") or "entrants", "supply"), shown_only=shown)
    cols = tuple(c for c in hit["rows"]["columns"] if c == "completions" or c.startswith("completions_"))
    return Total(cols, None, shown_only=shown) if cols else None


def _render(question: str, options: dict[str, Any], hit: dict[str, Any], fmt: str, out: str | os.PathLike[str] | None) -> None:
    from gapkit.render.tables import Rows, render

    view = options.get("view") or "programs"
    render(Rows.from_json(hit["rows"]), fmt, method_line=hit["method_line"], metadata=hit["method"], title=hit["title"],
           out=out, notes=hit["notes"], total=_total(question, options, hit),
           sheet=question if question == "pathways" or view == "programs" else f"programs-{view}")


def _run(question: str, options: dict[str, Any], fmt: str | None, out: Path | None, chart: Path | None, data_dir: Path | None) -> None:
    """pathways/programs: the table (from the cache when the same question was answered) and, with --chart, its chart."""
    from gapkit.cli.commands import cached
    from gapkit.render.tables import Rows, check_out_path, output_format

    fmt = output_format(fmt, out)
    check_out_path(out, fmt)
    if chart is not None:
        from gapkit.render.charts import check_chart_path

        check_chart_path(chart)
        if question == "programs" and options.get("by") == "cluster":
            raise UsageError("--chart draws programs one by one; it cannot be combined with --by cluster.")

    def compute() -> dict[str, Any]:
        from gapkit.workspace import Workspace

        ws = Workspace(data_dir)
        if question == "pathways":
            res = ws.pathways(**options)
            table, title, drawn = res.table, res.title, res
        else:
            res = ws.programs(**options)
            view = options.get("view") or "programs"
            table = res.table(view)
            if options.get("top"):  # checked by the query
                table = table.head(int(options["top"]))
            if view == "providers":  # the state's training-provider list, not IPEDS
                title = (res.title.split(", IPEDS")[0]
                         .replace("programs (CIP)", "Eligible Training Provider List programs and their providers"))
            else:
                title = res.title if view == "programs" else res.title.replace("and alignment with the occupations they feed", f"({view})")
            drawn = res
        if chart is not None:
            from gapkit.render.charts import draw_data
            from gapkit.render.charts.pathways_charts import pathways_data, programs_data

            cd = pathways_data(drawn) if question == "pathways" else programs_data(drawn)
            c = draw_data(cd)
            c.save(chart)
            from gapkit.render.tables import terminal_text

            print(terminal_text(f"wrote {chart}: {c.title}"), file=sys.stderr)
        return {"rows": Rows.from_frame(_published(table)).to_json(), "method": res.method, "notes": res.notes,
                "title": title, "method_line": res.method_line()}

    files = [str(options["rules"])] if options.get("rules") else []
    hit = cached(data_dir, {"cmd": question, "options": options}, files, compute, use=chart is None)
    _render(question, options, hit, fmt, out)


def pathways_cmd(
    sector: Annotated[str, typer.Option(help="Sector name (see `gapkit sectors`), or `all` for every occupation in the economy.")] = "all",
    region: Region = "US",
    region_file: RegionFile = None,
    supply_area: SupplyArea = "region",
    cluster: Annotated[str | None, typer.Option(help="Only this Advance CTE Career Cluster or sub-cluster (after `gapkit clusters load`).", show_default=False)] = None,
    by: Annotated[str, typer.Option(help="occupation (ranked) | cluster (Career Clusters and sub-clusters)")] = "occupation",
    rules: Rules = None,
    awards: Awards = "all",
    alloc: Alloc = None,
    demand: Demand = None,
    completions_years: CompletionsYears = None,
    vintage: Vintage = None,
    sort: Annotated[str, typer.Option(help="tier (then openings) | openings | growth | wage | ratio | gap")] = "tier",
    top: Top = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help=FORMAT_HELP, show_default=False)] = None,
    out: Out = None,
    chart: Annotated[Path | None, typer.Option(help="Also draw the pathway bubble chart (wage × growth, size openings, colour ratio) "
                                                    "to this .png/.svg/.pdf.", show_default=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """Occupations ranked for career pathways: openings, growth, wage vs the area median, entry education, supply, gap, tiers."""
    _run("pathways", {"sector": sector, "region": region, "region_file": path_text(region_file), "supply_area": supply_area, "cluster": cluster, "by": by, "rules": path_text(rules), "awards": awards,
                      "alloc": alloc, "demand": demand, "completions_years": completions_years, "vintage": vintage, "sort": sort,
                      "top": top},
         format.value if format else None, out, chart, data_dir)


def programs_cmd(
    region: Region = "US",
    region_file: RegionFile = None,
    supply_area: SupplyArea = "region",
    cip: Annotated[str | None, typer.Option(help="Only this CIP program (51.3801), series (51.38) or family (51).", show_default=False)] = None,
    soc: Annotated[str | None, typer.Option(help="Only programs that feed this occupation (SOC, e.g. 29-1141).", show_default=False)] = None,
    cluster: Annotated[str | None, typer.Option(help="Only programs in this Advance CTE Career Cluster or sub-cluster.", show_default=False)] = None,
    by: Annotated[str, typer.Option(help="program | cluster (Career Clusters and sub-clusters)")] = "program",
    view: Annotated[str, typer.Option(help="programs (one row each, with alignment) | awards (completions by award level and year) | institutions")] = "programs",
    sector: Annotated[str, typer.Option(help="Sector whose openings count (default all: the whole economy).")] = "all",
    rules: Rules = None,
    awards: Awards = "all",
    alloc: Alloc = None,
    demand: Demand = None,
    completions_years: CompletionsYears = None,
    top: Top = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help=FORMAT_HELP, show_default=False)] = None,
    out: Out = None,
    chart: Annotated[Path | None, typer.Option(help="Also draw the program-alignment chart (largest programs) to this .png/.svg/.pdf.",
                                               show_default=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """CIP programs in a region: completions by award level and year, institutions, the occupations they feed, alignment."""
    _run("programs", {"sector": sector, "region": region, "region_file": path_text(region_file), "supply_area": supply_area, "cip": cip, "soc": soc, "cluster": cluster, "by": by, "view": view,
                      "rules": path_text(rules), "awards": awards, "alloc": alloc, "demand": demand,
                      "completions_years": completions_years, "top": top},
         format.value if format else None, out, chart, data_dir)


@clusters_app.callback()
def clusters_list(
    ctx: typer.Context,
    format: Annotated[TableFormat, typer.Option("--format", help="table | csv | json | markdown")] = TableFormat.table,
    data_dir: DataDir = None,
) -> None:
    """List the loaded Career Clusters and sub-clusters with how many SOC and CIP codes each aligns."""
    if ctx.invoked_subcommand is not None:
        return
    from gapkit.ingestion.clusters import SOURCE, overview
    from gapkit.store import Store

    table = overview(data_dir)
    store = Store(data_dir)
    files = sorted({i.get("file", "") for e in store.entries() if e.source == SOURCE for i in e.inputs.values()})
    from gapkit.render.tables import render

    render(table, format.value, method_line=f"Advance CTE National Career Clusters Framework crosswalks loaded from {', '.join(files)} "
                                            "(user-supplied; not a government work).",
           metadata={"files": files}, title="Career Clusters and sub-clusters (gapkit pathways/programs --cluster NAME)")


@clusters_app.command("load")
def clusters_load(
    paths: Annotated[list[Path], typer.Argument(help="SOC_Career_Clusters_Crosswalk.xlsx and CIP_Career_Clusters_Crosswalk.xlsx "
                                                     "(or Full_Framework_Crosswalk.xlsx), or a folder holding them.")],
    vintage: Annotated[str | None, typer.Option(help="Label for this edition of the framework (default 2024).", show_default=False)] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for a running ingest to finish.")] = 0.0,
    data_dir: DataDir = None,
) -> None:
    """Load the Advance CTE Career Clusters crosswalks (user-supplied files) into the data store."""
    import sys

    from gapkit.ingestion.clusters import load

    report = load([str(p) for p in paths], data_dir, vintage=vintage, wait=wait)
    for n in report.notes:
        print(n, file=sys.stderr)
    for dataset, rows in report.written.items():
        print(f"wrote {dataset} {report.vintage}: {rows:,} rows")


def register(app: typer.Typer) -> None:
    app.command("pathways")(pathways_cmd)
    app.command("programs")(programs_cmd)
    app.add_typer(clusters_app, name="clusters")

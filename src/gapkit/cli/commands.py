"""What the analysis commands do, as functions a notebook can call too."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from gapkit.analysis.engine import (
    GapData,
    GapOptions,
    GapResult,
    compute,
    method_line,
    published,
    sensitivity,
    validate_options,
)
from gapkit.errors import UsageError
from gapkit.render.tables import render

SORTABLE = ("openings", "supply", "ratio", "gap")


def gap_all_sectors(opts: GapOptions, data: GapData) -> GapResult:
    """Every shipped sector side by side (one row per sector, or per sector × state)."""
    import polars as pl

    from gapkit.config.sectors import list_sectors

    by = "state" if opts.by == "state" or opts.region == "all" else "sector"
    tables, notes = [], []
    method: dict[str, Any] = {}
    unalloc: dict[str, float] = {}
    for s in list_sectors():
        r = compute(replace(opts, sector=s.name, by=by), data)
        tables.append(r.table)
        notes.extend(n for n in r.notes if n not in notes)
        if not method or "nem_matrix" in r.method["vintages"]:
            method = {**r.method, "sector": "all", "sector_title": "All shipped sectors"}
        unalloc = r.unallocated
    return GapResult(pl.concat(tables, how="diagonal_relaxed"), method, notes, unalloc)


def run_gap(*, sector: str, region: str, by: str, awards: str, alloc: str, scope: str,
            completions_years: tuple[int, ...] | None, vintage: str | None, retention: float,
            extra_supply: str | None, sector_file: str | None, top: int | None, sort: str | None,
            sensitivity: bool, fmt: str, out: str | os.PathLike[str] | None,
            data_dir: str | os.PathLike[str] | None) -> None:
    """`gapkit gap`: compute (or reuse a cached result of the same inputs) and render."""
    from gapkit.cache import ResultCache
    from gapkit.render.tables import Rows, check_out_path

    if sort is not None and sort not in SORTABLE:
        raise UsageError(f"--sort {sort!r}: choose one of {', '.join(SORTABLE)}.")
    if top is not None and top <= 0:
        raise UsageError(f"--top {top}: give a positive number of rows.")
    if sector == "all" and sector_file:
        raise UsageError("--sector all compares the shipped sectors; it cannot be combined with --sector-file.")
    check_out_path(out, fmt)
    opts = GapOptions(sector=sector, region=region, by=by, awards=awards, alloc=alloc, scope=scope,
                      completions_years=completions_years, vintage=vintage, retention=retention,
                      extra_supply=extra_supply, sector_file=sector_file)
    cache = ResultCache(data_dir, {"opts": opts.__dict__, "top": top, "sort": sort, "sensitivity": sensitivity},
                        files=[f for f in (sector_file, extra_supply) if f])
    hit = cache.get()
    if hit is None:
        data = GapData(data_dir)
        if sensitivity:
            table, m, notes, title, line = _sensitivity_view(opts, data)
            unalloc: dict[str, float] = {}
        else:
            result = gap_all_sectors(validate_options(opts), data) if sector == "all" else compute(opts, data)
            table = result.table
            if sort:
                table = table.sort(sort, descending=True, nulls_last=True)
            if top:
                table = table.head(top)
            m, notes, unalloc = result.method, result.notes, result.unallocated
            where = "the United States" if m["region"] == "US" else ("every state" if m["region"] == "all" else m["region"])
            title = f"{m['sector_title']}: annual openings vs supply in {where}, by {m['by']}"
            line = method_line(m)
        hit = {"rows": Rows.from_frame(published(table)).to_json(), "method": m, "notes": notes, "title": title,
               "method_line": line, "unallocated": unalloc}
        cache.put(hit)
    meta = {**hit["method"], "unallocated_completions": hit["unallocated"]}
    render(Rows.from_json(hit["rows"]), fmt, method_line=hit["method_line"], metadata=meta, title=hit["title"], out=out, notes=hit["notes"])


def _sensitivity_view(opts: GapOptions, data: GapData) -> tuple[Any, dict[str, Any], list[str], str, str]:
    opts = validate_options(opts)
    if opts.sector == "all":
        raise UsageError("--sensitivity works on one sector; pick --sector NAME.")
    table = sensitivity(opts, data)
    base = compute(replace(opts, by="sector"), data)
    m = {**base.method, "view": "sensitivity"}
    ratios = [r for r in table["ratio"].to_list() if r is not None]
    spread = f"ratios range {min(ratios):.2f}–{max(ratios):.2f}" if ratios else "no supply under any choice"
    title = f"{m['sector_title']} ({m['region']}): headline openings-to-supply ratio under each method choice; {spread}"
    line = method_line({**m, "alloc": "each", "awards": "each"})
    return table, m, base.notes, title, line


def show_sector(name: str, data_dir: str | os.PathLike[str] | None) -> None:
    import polars as pl
    from rich.table import Table
    from rich.text import Text

    from gapkit.config.sectors import load_sector
    from gapkit.render.tables import rich_console
    from gapkit.render.tables import terminal_text as t

    s = load_sector(name)
    console = rich_console()  # a sector file's text is printed as text: no markup, no escape sequences
    console.print(Text.assemble((t(s.title), "bold"), f" ({t(s.name)})"))
    console.print(t(s.description))
    data = GapData(data_dir)
    cover: dict[str, tuple[float, float]] = {}
    total_emp = None
    try:
        m_cycle = data.vintage("nem_matrix")
        mat = data.store.scan("nem_matrix", m_cycle).filter(
            (pl.col("industry_type") == "Line item") & (pl.col("occupation_code") == "00-0000")
        ).select("industry_code", "emp_base_k").collect()
        emp = dict(zip(mat["industry_code"].to_list(), mat["emp_base_k"].to_list(), strict=True))
        total_emp = sum(v for v in emp.values() if v)
        for sub in s.subsectors:
            cover[sub.key] = (sum(emp.get(c) or 0.0 for c in sub.nem_industries), float(len([c for c in sub.nem_industries if c in emp])))
        console.print(f"Employment coverage from the {m_cycle} National Employment Matrix (thousands, base year).", style="dim")
    except Exception:  # no matrix ingested: show the definition alone
        console.print("Ingest the matrix (`gapkit ingest bls-matrix --from ...`) to see employment coverage.", style="dim")
    tab = Table(title="Subsectors")
    for c in ("key", "title", "NEM industries", "NAICS", "employment (k)"):
        tab.add_column(c)
    for sub in s.subsectors:
        e = cover.get(sub.key)
        tab.add_row(t(sub.key), t(sub.title), ", ".join(sub.nem_industries), ", ".join(sub.naics), f"{e[0]:,.1f}" if e else "")
    if s.subsectors:
        console.print(tab)
    if cover and total_emp:
        tot = sum(v[0] for v in cover.values())
        console.print(f"Sector employment {tot:,.1f}k = {tot / total_emp:.1%} of all line-item industry employment ({total_emp:,.1f}k).")
    g = Table(title="Occupational groups (first match wins)")
    for c in ("key", "title", "SOC"):
        g.add_column(c)
    for grp in s.groups:
        g.add_row(t(grp.key), t(grp.title), ", ".join(grp.soc))
    console.print(g)


def run_occupation(soc: str, *, region: str, awards: str, alloc: str, completions_years: tuple[int, ...] | None,
                   fmt: str, out: str | os.PathLike[str] | None, data_dir: str | os.PathLike[str] | None) -> dict[str, Any]:
    from gapkit.analysis.occupation import occupation_profile, render_profile

    profile = occupation_profile(soc, region=region, awards=awards, alloc=alloc, completions_years=completions_years, data=GapData(data_dir))
    render_profile(profile, fmt, Path(out) if out else None)
    return profile

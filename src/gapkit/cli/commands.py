"""What the analysis commands do between parsing and printing: ask the workspace (or the result cache)
and render. Every command is parse -> Query -> one library call -> render.

The result cache (:mod:`gapkit.cache`) holds rendered-ready payloads keyed by the query, the data
manifest, the shipped definitions, the user's files and gapkit's code, so a repeated question costs
neither the computation nor the imports behind it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gapkit.analysis.query import Query
    from gapkit.render.tables import Total

DataDir = str | os.PathLike[str] | None


def cached(data_dir: DataDir, key: dict[str, Any], files: list[str], compute: Callable[[], dict[str, Any]],
           *, use: bool = True, check: Callable[[Any], bool] | None = None) -> dict[str, Any]:
    """The payload ``compute()`` makes for ``key``, from the result cache when an identical question was answered
    (``check``: the shape a stored payload must have, default a table result)."""
    from gapkit.cache import ResultCache

    cache = ResultCache(data_dir, key, files=files)
    hit = cache.get(check) if use else None
    if hit is None:
        hit = compute()
        cache.put(hit)
    return hit


def gap_title(m: dict[str, Any], headline: str | None = None) -> str:
    """The table's title: what it compares, where, at what grain; the headline with its range when there is one."""
    where = ("the United States" if m["region"] == "US" else "every state" if m["region"] == "all"
             else m["region"] if m["region"] == m.get("region_name", m["region"]) or len(m["region"]) == 2
             else f"{m['region_name']} ({m['region']})")
    if headline:
        return f"{m['sector_title']} in {where}: {headline}; by {m['by']}"
    what = {"openings": "annual openings", "entrants": "entrant openings", "growth": "growth openings"}.get(m.get("demand", ""), "openings")
    return f"{m['sector_title']}: {what} vs supply in {where}, by {m['by']}"


PEOPLE = ("openings", "entrants", "growth", "supply", "gap", "supply_extra")


def gap_total(m: dict[str, Any], top: int | str | None) -> Total | None:
    """The total row of a gap table, when its rows add up: one sector's groups, subsectors, occupations, states or
    areas never count an opening or a completer twice (groups are first-match, subsectors split each occupation
    by industry, states and areas are disjoint). Several sectors' rows do not add up (an occupation counts in
    each sector that employs it, and the whole economy contains every sector); nor do sensitivity variants."""
    from gapkit.render.tables import Total

    if m.get("sector") == "all":
        return None
    from gapkit.analysis.query import AREA_GRAINS

    if m.get("by") in AREA_GRAINS:
        # a state's areas: disjoint, but metros leave out rural counties and a cross-state metro counts its other
        # states' parts, so the row is the sum of the areas listed, not the state; with --supply-area state every
        # area counts the same statewide completers, so supply does not add up at all
        if m.get("supply_area") == "state":
            return None
        return Total(PEOPLE, (m.get("demand") or "openings", "supply"), label="areas listed", shown_only=bool(top))
    return Total(PEOPLE, (m.get("demand") or "openings", "supply"), shown_only=bool(top))


def run_gap(query: Query, *, sensitivity: bool, fmt: str | None, out: str | os.PathLike[str] | None, data_dir: DataDir) -> None:
    """`gapkit gap`: compute (or reuse a cached result of the same question) and render."""
    from gapkit.render.tables import Rows, check_out_path, output_format, render

    fmt = output_format(fmt, out)
    check_out_path(out, fmt)

    def compute() -> dict[str, Any]:
        from concurrent.futures import ThreadPoolExecutor

        from gapkit.analysis.results import published
        from gapkit.workspace import Workspace

        ws = Workspace(data_dir)
        opts = query.params()
        opts.pop("question")
        sector = opts.pop("sector")
        if sensitivity:
            s = ws.sensitivity(sector, **opts)
            return {"rows": Rows.from_frame(published(s.table)).to_json(), "method": s.method, "notes": s.notes, "title": s.title,
                    "method_line": s.method_line(), "unallocated": {}}
        # the headline (a range over method choices) is the region's; areas side by side (--by metro) and every
        # state have none. It is computed on a second thread beside the table (polars releases the GIL; the two
        # share the workspace's tables, each read once), started when the question as typed may have one and used
        # when the resolved question has one
        from gapkit.analysis.query import SIDE_BY_SIDE as side

        maybe = sector != "all" and query.by not in side and query.region.lower() != "all" and "," not in query.region
        head_opts = {k: v for k, v in opts.items() if k not in {"sort", "top"}}
        with ThreadPoolExecutor(max_workers=1) as pool:
            try:
                later = pool.submit(ws.headline, sector, **head_opts) if maybe else None
            except RuntimeError:  # no thread can be started (a process limit): one after the other
                later = None
            res = ws.gap(sector, **opts)
            wants = sector != "all" and res.method["region"] != "all" and res.method["by"] not in side
            h = (later.result() if later is not None else ws.headline(sector, **head_opts)) if wants else None
        head = None
        if h is not None:
            head = h.text()
            res.method["headline"] = {"central": h.central, "low": h.low, "high": h.high, "variants": h.variants}
        return {"rows": Rows.from_frame(published(res.table)).to_json(), "method": res.method, "notes": res.notes,
                "title": gap_title(res.method, head), "method_line": res.method_line(), "unallocated": res.unallocated}

    hit = cached(data_dir, {"cmd": "gap", "query": query.params(), "sensitivity": sensitivity}, query.user_files(), compute)
    meta = {**hit["method"], "unallocated_completions": hit["unallocated"]}
    render(Rows.from_json(hit["rows"]), fmt, method_line=hit["method_line"], metadata=meta, title=hit["title"], out=out,
           notes=hit["notes"], total=None if sensitivity else gap_total(hit["method"], query.top),
           sheet="sensitivity" if sensitivity else "gap")


def show_sector(name: str, data_dir: DataDir) -> None:
    from rich.table import Table
    from rich.text import Text

    from gapkit.analysis.names import sector_name
    from gapkit.analysis.tables import Tables
    from gapkit.config.sectors import load_sector
    from gapkit.errors import GapkitError
    from gapkit.render.tables import rich_console
    from gapkit.render.tables import terminal_text as txt

    s = load_sector(sector_name(name))
    console = rich_console()  # a sector file's text is printed as text: no markup, no escape sequences
    console.print(Text.assemble((txt(s.title), "bold"), f" ({txt(s.name)})"))
    console.print(txt(s.description))
    tables = Tables(data_dir)
    cover: dict[str, tuple[float, float]] = {}
    total_emp = None
    try:
        m_cycle = tables.vintage("nem_matrix")
        emp = tables.industry_employment(m_cycle)
        total_emp = sum(v for v in emp.values() if v)
        for sub in s.subsectors:
            cover[sub.key] = (sum(emp.get(c) or 0.0 for c in sub.nem_industries), float(len([c for c in sub.nem_industries if c in emp])))
        console.print(f"Employment coverage from the {m_cycle} National Employment Matrix (thousands, base year).", style="dim")
    except GapkitError:  # no matrix ingested (or it is damaged): show the definition alone
        console.print("Ingest the matrix (`gapkit ingest bls-matrix --from ...`) to see employment coverage.", style="dim")
    tab = Table(title="Subsectors")
    for c in ("key", "title", "NEM industries", "NAICS", "employment (k)"):
        tab.add_column(c)
    for sub in s.subsectors:
        e = cover.get(sub.key)
        tab.add_row(txt(sub.key), txt(sub.title), ", ".join(sub.nem_industries), ", ".join(sub.naics), f"{e[0]:,.1f}" if e else "")
    if s.subsectors:
        console.print(tab)
    if cover and total_emp:
        tot = sum(v[0] for v in cover.values())
        console.print(f"Sector employment {tot:,.1f}k = {tot / total_emp:.1%} of all line-item industry employment ({total_emp:,.1f}k).")
    g = Table(title="Occupational groups (first match wins)")
    for c in ("key", "title", "SOC"):
        g.add_column(c)
    for grp in s.groups:
        g.add_row(txt(grp.key), txt(grp.title), ", ".join(grp.soc))
    console.print(g)


def run_occupation(query: Query, *, fmt: str | None, out: str | os.PathLike[str] | None, data_dir: DataDir) -> None:
    from gapkit.render.profile import FORMATS, render_profile
    from gapkit.render.tables import check_out_path, output_format
    from gapkit.workspace import Workspace

    fmt = output_format(fmt, out, FORMATS)
    check_out_path(out, fmt)
    opts = query.params()
    for k in ("question", "sector", "soc"):
        opts.pop(k)
    assert query.soc is not None
    profile = Workspace(data_dir).occupation(query.soc, **opts)
    render_profile(profile, fmt, Path(out) if out else None)

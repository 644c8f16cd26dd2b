"""`gapkit occupation SOC` as a terminal page, Markdown or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gapkit.errors import UsageError
from gapkit.render.tables import check_out_path, json_text, md_text, output_format, write_output

FORMATS = ("table", "markdown", "json")  # a profile is several small tables and text: no CSV, Parquet or workbook


def render_profile(p: dict[str, Any], fmt: str | None, out: Path | None) -> None:
    fmt = output_format(fmt, out, FORMATS)
    if fmt == "json":
        text = json_text(p, indent=1) + "\n"
    elif fmt in {"table", "markdown"}:
        text = _markdown(p)
    else:
        raise UsageError(f"--format {fmt}: gapkit occupation prints table, markdown or json.")
    if out:
        path = check_out_path(out, fmt)  # never through a link, into a pipe or a device
        assert path is not None
        write_output(path, text.encode())
        return
    if fmt == "table":
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        print(text, end="")


def _n(v: Any, money: bool = False) -> str:
    if v is None:
        return "—"
    if isinstance(v, float | int):
        return f"${v:,.0f}" if money else f"{v:,.0f}"
    return md_text(v)


def _markdown(p: dict[str, Any]) -> str:
    m = md_text
    n = {k: m(v) if isinstance(v, str) else v for k, v in p["national"].items()}  # agency text: no raw HTML or links
    g = p["gap"]
    where = "United States" if p["region"] == "US" else (
        p["region"] if p.get("region_name") in (None, p["region"]) or len(p["region"]) == 2 else f"{p['region_name']} ({p['region']})")
    entrants = f" ({_n(g['entrants'])} filled by new entrants)" if g.get("entrants") is not None else ""
    dnoun = {"entrants": "entrant openings", "openings": "openings", "growth": "new jobs"}.get(p.get("demand", "openings"), "openings")
    ratio = (f"no ratio: {g.get('ratio_note') or 'no supply'}" if g["ratio"] is None
             else f"{g['ratio']:.2f} {dnoun} per completer")
    out = [
        f"# {n['title']} ({p['soc_code']})",
        "",
        f"**{where}: {_n(g['openings'])} openings a year{entrants} vs {_n(g['supply'])} completers allocated ({ratio}, gap {_n(g['gap'])}).** {g['flags'] or ''}",
        "",
        f"## National projections {p['cycle']}",
        "",
        "| employment base | projected | change | labor-force exits/yr | transfers/yr | separations/yr | openings/yr | median wage |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {_n(n['emp_base'])} | {_n(n['emp_proj'])} | {_n(n['emp_change'])} | {_n(n['exits'])} | {_n(n['transfers'])} | {_n(n['separations'])} | {_n(n['openings'])} | {_n(n['median_wage'], True)} |",
        "",
        f"Typical entry education: {n['education'] or '—'}; work experience: {n['work_experience'] or '—'}; on-the-job training: {n['training'] or '—'}.",
        "",
    ]
    if p["states"]:
        out += ["## State openings (Projections Central)", "", "| state | openings/yr |", "|---|---:|"]
        out += [f"| {s['state']} | {_n(s['openings'])} |" for s in p["states"][:15]]
        out.append("")
    if p["sector_shares"]:
        out += ["## Sector shares of national openings", "", "| sector | openings/yr | share |", "|---|---:|---:|"]
        out += [f"| {s['sector']} | {_n(s['openings'])} | {s['share']:.1%} |" for s in p["sector_shares"]]
        out.append("")
    out += ["## Linked programs (CIP) and completions", "", "| CIP | program | award | completions |", "|---|---|---|---:|"]
    out += [f"| {m(r['cipcode'])} | {m(r['cip_title'])} | {m(r['award'])} | {_n(r['completions'])} |" for r in p["programs"][:40]]
    if not p["programs"]:
        out.append("| — | no linked programs with completions in this region | | |")
    out += ["", "## Top institutions in the region", "", "| institution | city | state | completions |", "|---|---|---|---:|"]
    out += [f"| {m(r['name'])} | {m(r['city'])} | {m(r['state'])} | {_n(r['completions'])} |" for r in p["top_institutions"]]
    out += ["", f"*{p['method_line']}*", ""]
    out += [f"*Note: {x}*" for x in p["notes"]]
    return "\n".join(out) + "\n"

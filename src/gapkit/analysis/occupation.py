"""`gapkit occupation SOC`: everything gapkit knows about one occupation, in one place."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from gapkit.analysis.engine import GapData, GapOptions, compute, method_line, validate_options
from gapkit.codes import normalize_soc
from gapkit.config.presets import award_config
from gapkit.errors import UsageError
from gapkit.render.tables import md_text


def occupation_profile(soc: str, *, region: str = "US", awards: str = "all", alloc: str = "openings",
                       completions_years: tuple[int, ...] | None = None, data: GapData | None = None) -> dict[str, Any]:
    import polars as pl

    from gapkit.config.sectors import list_sectors

    data = data or GapData()
    try:
        code = normalize_soc(soc)
    except ValueError as exc:
        raise UsageError(f"{exc}.") from None
    opts = validate_options(GapOptions(sector="all-industries", region=region, by="occupation", awards=awards, alloc=alloc,
                                       completions_years=completions_years))
    if opts.region == "all":
        raise UsageError("gapkit occupation takes --region US or one state.")
    cycle = data.vintage("ep_occupations")
    ep_all = data.store.scan("ep_occupations", cycle).filter(pl.col("soc_code") == code).collect()
    if ep_all.height == 0 or ep_all["occ_type"][0] != "Line item":
        kind = "a summary group, not a detailed occupation" if ep_all.height else "not in the BLS projections"
        raise UsageError(f"SOC {code} is {kind} ({cycle}). List detailed occupations with `gapkit gap --sector all-industries --by occupation`.")
    row = ep_all.row(0, named=True)
    national = {k: row[k] for k in ("title", "education", "work_experience", "training", "median_wage")}
    for k in ("emp_base_k", "emp_proj_k", "emp_change_k", "exits_k", "transfers_k", "separations_k", "openings_k"):
        national[k.removesuffix("_k")] = None if row[k] is None else row[k] * 1000
    national["emp_change_pct"] = row["emp_change_pct"]

    gap_res = compute(opts, data)
    mine = gap_res.table.filter(pl.col("soc_code") == code)
    gap_row = mine.row(0, named=True) if mine.height else {"openings": 0.0, "supply": 0.0, "ratio": None, "gap": 0.0, "flags": ""}

    states: list[dict[str, Any]] = []
    if "state_projections" in {e.dataset for e in data.store.entries()}:
        p_cycle = data.vintage("state_projections")
        st = data.state_projections(p_cycle).filter(pl.col("soc_code") == code)
        if opts.region != "US":
            st = st.filter(pl.col("state") == opts.region)
        states = st.select("state", "openings").sort("openings", descending=True).head(60).to_dicts()

    shares = []
    ep = data.ep(cycle)
    from gapkit.analysis.engine import _sector_occupations

    for s in list_sectors():
        if s.whole_economy:
            continue
        occ = _sector_occupations(s, ep, cycle, data, [])
        o = occ.filter(pl.col("soc_code") == code)
        if o.height:
            shares.append({"sector": s.name, "openings": float(o["openings_s"].sum()), "share": float(o["share"][0])})
    shares.sort(key=lambda d: -d["share"])

    years = tuple(gap_res.method["completions_years"])
    comp = data.completions(years, by_unit=True)
    if opts.region != "US":
        comp = comp.filter(pl.col("state") == opts.region)
    xw_all = data.store.scan("cip_soc", data.vintage("cip_soc")).filter(pl.col("soc_code") == code).select("cipcode", "cip_title").collect()
    linked = comp.join(xw_all, on="cipcode", how="inner")
    programs = (
        linked.group_by("cipcode", "cip_title", "awlevel").agg(pl.col("completions").sum())
        .sort(["cipcode", "awlevel"]).to_dicts()
    )
    labels = award_config().awlevels
    for r in programs:
        r["award"] = labels.get(r["awlevel"], f"IPEDS award level {r['awlevel']}")
    inst_year = data._nearest("ipeds_institutions", max(years))
    inst = data.store.scan("ipeds_institutions", inst_year).select("unitid", "name", "city", "state").collect()
    top_inst = (
        linked.group_by("unitid").agg(pl.col("completions").sum())
        .join(inst, on="unitid", how="left").sort("completions", descending=True).head(10)
        .select("name", "city", "state", "completions").to_dicts()
    )
    return {
        "soc_code": code, "cycle": cycle, "region": opts.region, "national": national, "states": states,
        "sector_shares": shares, "programs": programs, "top_institutions": top_inst,
        "gap": {k: gap_row.get(k) for k in ("openings", "supply", "ratio", "gap", "flags")},
        "method": {**gap_res.method, "sector": "all-industries"}, "method_line": method_line(gap_res.method),
        "notes": gap_res.notes,
    }


def render_profile(p: dict[str, Any], fmt: str, out: Path | None) -> None:
    from gapkit.render.tables import check_out_path, json_text, write_out

    if fmt == "json":
        text = json_text(p, indent=1) + "\n"
    elif fmt in {"table", "markdown"}:
        text = _markdown(p)
    else:
        raise UsageError(f"--format {fmt}: gapkit occupation prints table, markdown or json.")
    if out:
        write_out(text.encode(), check_out_path(out, fmt))  # never through a link, into a pipe or a device
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
    where = "United States" if p["region"] == "US" else p["region"]
    ratio = "no supply" if g["ratio"] is None else f"{g['ratio']:.2f}"
    out = [
        f"# {n['title']} ({p['soc_code']})",
        "",
        f"**{where}: {_n(g['openings'])} openings a year vs {_n(g['supply'])} completers allocated (ratio {ratio}, gap {_n(g['gap'])}).** {g['flags'] or ''}",
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


__all__ = ["occupation_profile", "render_profile", "replace"]

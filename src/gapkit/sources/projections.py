"""Projections Central: long-term occupational projections by state (all industries).

Live JSON (`/Projections/LongTermRestJson/<FIPS>`, paged with `?items_per_page=N&page=K`; values are
strings; employment in persons), the site's bulk CSV (`ltprojections.csv` layout) and CSV exports
that use the API field names. Each state is its own unit, so a newer file for one state replaces
just that state. Pages are checked for completeness (rows vs `total_items`) and for rows of another
state; a state whose detailed occupations do not add up to its published total is reported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa

from gapkit.codes import STATES, soc_expr
from gapkit.errors import DownloadError, SourceFormatError
from gapkit.readers import check_not_empty_or_html, decode_text, map_columns, number_expr, read_csv_text
from gapkit.sources.base import IngestOptions, ParsedTable, Remote, Source

BASE = "https://public.projectionscentral.org/Projections/LongTermRestJson/"
PER_PAGE = 1000  # the endpoint accepts only 10, 25, 50, 100, 1000
SCHEMAS = {
    "state_projections": pa.schema([
        ("cycle", pa.string()), ("stfips", pa.string()), ("state", pa.string()), ("area_name", pa.string()),
        ("soc_code", pa.string()), ("title", pa.string()), ("base_year", pa.int16()), ("proj_year", pa.int16()),
        ("emp_base", pa.float64()), ("emp_proj", pa.float64()), ("emp_change", pa.float64()),
        ("pct_change", pa.float64()), ("openings", pa.float64()), ("soc_level", pa.string()), ("source_file", pa.string()),
    ])
}
FIELDS = {
    "stfips": r"^stfips$", "area": r"^area(name)?$", "code": r"^(occ)?code$", "title": r"^(title|name)$",
    "base_year": r"^baseyear$", "proj_year": r"^projyear$", "base": r"^base$", "proj": r"^proj(ected)?$",
    "change": r"^change$", "pct": r"^percentchange$", "openings": r"^avgannualopenings$",
}
REQUIRED = ["stfips", "code", "base", "proj", "openings"]
TOTAL_TOLERANCE = 0.10  # a state's detailed openings within 10% of its published total (states leave some detail unpublished)


def page_url(base_url: str, page: int, per_page: int = PER_PAGE) -> str:
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}items_per_page={per_page}&page={page}"


def merge_pages(pages: list[dict[str, Any]], fips: str, url: str) -> dict[str, Any]:
    """Check and join the pages of one state's answer."""
    rows: list[dict[str, Any]] = []
    total = None
    for n, page in enumerate(pages):
        if not isinstance(page.get("rows"), list):
            raise DownloadError(url, f"page {n} has no 'rows' list; the endpoint changed or answered an error.")
        rows.extend(page["rows"])
        pager = page.get("pager") or {}
        if "total_items" in pager:
            total = int(pager["total_items"])
    if total is not None and total != len(rows):
        raise DownloadError(url, f"received {len(rows)} rows but the pager announced total_items={total}; the answer is incomplete.")
    other = sorted({str(r.get("STFIPS", "")).strip().zfill(2) for r in rows} - {fips.zfill(2)})
    if other:
        raise DownloadError(url, f"the answer for state FIPS {fips} carries rows of STFIPS {', '.join(other)}; refusing mixed-state data.")
    return {"rows": rows, "pager": {"total_items": len(rows), "total_pages": 1, "stfips": fips}}


class Projections(Source):
    name = "projections"
    title = "Projections Central long-term state projections"
    datasets = ("state_projections",)
    homepage = "https://projectionscentral.org/longterm"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        fips = opts.states or list(STATES)
        # A state without published data answers 404 "No results found.": reported, not an error,
        # unless the user asked for that state explicitly.
        return [Remote(f"{BASE}{f}", f"longterm/{f}.json", required=bool(opts.states), paged_json=True) for f in fips]

    def recognize(self, path: Path, head: bytes) -> bool:
        h = head.lstrip(b"\xef\xbb\xbf \r\n\t")
        if h.startswith(b"{") and b'"rows"' in head and (b"STFIPS" in head or b"OccCode" in head or b'"pager"' in head):
            return True
        if path.suffix.lower() == ".csv":
            first = h.split(b"\n", 1)[0].lower().replace(b'"', b"")
            return b"stfips" in first and b"avgannualopenings" in first
        return False

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        import polars as pl

        head = check_not_empty_or_html(path, "Projections Central data (JSON or CSV)")
        if head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"{"):
            try:
                data = json.loads(decode_text(path.read_bytes()))
            except ValueError as exc:
                raise SourceFormatError(path, f"the JSON is malformed or truncated ({exc}).") from None
            if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
                raise SourceFormatError(path, "the JSON has no 'rows' list; it is not a Projections Central answer.")
            rows = data["rows"]
            if not rows:
                raise SourceFormatError(path, "the answer has no rows (Projections Central answers 'No results found.' for a state without data).")
            pager = data.get("pager") or {}
            if "total_items" in pager and int(pager["total_items"]) != len(rows) and int(pager.get("total_pages", 1)) <= 1:
                raise SourceFormatError(path, f"the file holds {len(rows)} rows but its pager says total_items={pager['total_items']}; it is incomplete.")
            df = pl.DataFrame(rows, infer_schema_length=None).select(pl.all().cast(pl.String))
        else:
            df = read_csv_text(path, origin=path)
        c = map_columns(df.columns, FIELDS, path=path, required=REQUIRED)
        cycle_hint = _cycle_from_name(path.name)
        if "base_year" in c and "proj_year" in c:
            years = df.select(pl.col(c["base_year"]).cast(pl.Int64, strict=False).alias("b"), pl.col(c["proj_year"]).cast(pl.Int64, strict=False).alias("p"))
        elif cycle_hint:
            years = pl.DataFrame({"b": [cycle_hint[0]] * df.height, "p": [cycle_hint[1]] * df.height})
        else:
            raise SourceFormatError(path, "the file has no BaseYear/ProjYear columns and its name gives no cycle; rename it with the cycle, e.g. longterm_2022-32.csv.")
        out = pl.concat([df, years], how="horizontal").select(
            pl.col(c["stfips"]).str.strip_chars().str.zfill(2).alias("stfips"),
            (pl.col(c["area"]).str.strip_chars() if "area" in c else pl.lit(None, pl.String)).alias("area_name"),
            soc_expr(c["code"]).alias("soc_code"),
            (pl.col(c["title"]).str.strip_chars() if "title" in c else pl.lit(None, pl.String)).alias("title"),
            pl.col("b").cast(pl.Int16).alias("base_year"), pl.col("p").cast(pl.Int16).alias("proj_year"),
            number_expr(c["base"]).alias("emp_base"), number_expr(c["proj"]).alias("emp_proj"),
            (number_expr(c["change"]) if "change" in c else (number_expr(c["proj"]) - number_expr(c["base"]))).alias("emp_change"),
            (number_expr(c["pct"]) if "pct" in c else pl.lit(None, pl.Float64)).alias("pct_change"),
            number_expr(c["openings"]).alias("openings"),
        )
        bad = out.filter(pl.col("soc_code").is_null())
        if bad.height:
            raise SourceFormatError(path, f"{bad.height} row(s) have an occupation code that is not a SOC code.")
        unknown = sorted(set(out["stfips"].unique().to_list()) - set(STATES))
        if unknown:
            raise SourceFormatError(path, f"state FIPS code(s) {', '.join(unknown)} are not U.S. states, DC or territories.")
        out = out.with_columns(
            pl.col("stfips").replace_strict({f: a for f, (a, _) in STATES.items()}, default=None).alias("state"),
            pl.col("soc_code").map_elements(_level, return_dtype=pl.String).alias("soc_level"),
            pl.concat_str([pl.col("base_year").cast(pl.String), pl.lit("-"), pl.col("proj_year").cast(pl.String).str.slice(2, 2)]).alias("cycle"),
            pl.lit(path.name).alias("source_file"),
        ).unique(subset=["stfips", "soc_code", "cycle"], keep="first", maintain_order=True)
        tables = []
        for (fips, cycle), part in out.group_by(["stfips", "cycle"], maintain_order=True):
            part = part.select(SCHEMAS["state_projections"].names)
            tables.append(ParsedTable("state_projections", str(cycle), f"ST:{fips}", part, _check_total(part, str(fips))))
        return tables


def _level(code: str) -> str:
    from gapkit.codes import soc_level

    return soc_level(code)


def _cycle_from_name(name: str) -> tuple[int, int] | None:
    m = re.search(r"(20\d\d)\s*[-_–]\s*(20)?(\d\d)", name)
    if not m:
        return None
    y0 = int(m.group(1))
    return y0, (y0 // 100) * 100 + int(m.group(3))


def _check_total(part: Any, fips: str) -> list[str]:
    import polars as pl

    tot = part.filter(pl.col("soc_code") == "00-0000")["openings"]
    det = part.filter(pl.col("soc_level") == "detailed")["openings"].sum()
    name = STATES[fips][1]
    if tot.len() == 0 or tot[0] is None:
        return [f"Projections Central {name}: no all-occupations total published; detailed rows sum to {det:,.0f} openings a year."]
    if tot[0] and abs(det - tot[0]) / tot[0] > TOTAL_TOLERANCE:
        return [f"Projections Central {name}: detailed occupations sum to {det:,.0f} openings a year but the published total is {tot[0]:,.0f} "
                f"({(det - tot[0]) / tot[0]:+.0%}); reported as published, not adjusted."]
    return []

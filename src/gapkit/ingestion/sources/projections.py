"""Projections Central: long-term occupational projections by state (all industries).

Live JSON (`/Projections/LongTermRestJson/<FIPS>`, paged with `?items_per_page=N&page=K`; values are
strings; employment in persons), the site's bulk CSV (`ltprojections.csv` layout: `stfips, areaname,
code, name, baseyear, base, projyear, proj, change, percentchange, avgannualopenings`) and CSV exports
that use the API field names (`Title, Base, Projected, PercentChange, AvgAnnualOpenings, STFIPS,
OccCode`, no years: the cycle comes from the file name). Each state is its own unit
(``ST:<fips>``), so a newer file for one state replaces just that state, whatever file it came in.

Pages are checked for completeness (rows vs `total_items`), for repeated occupations and for rows of
another state. ``soc_level`` is the SOC level of the code, except that a broad code published with
none of its detailed codes (BLS line items such as 31-1120 Home health and personal care aides, or a
state that published only the broad group) is the finest level that state published and is labelled
``detailed``: summing ``detailed`` rows then covers every job exactly once. Each state's detailed
openings are compared with its published all-occupations total, and the total's openings rate with
the range states publish; odd states are reported as notes, never adjusted.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from gapkit.codes import STATES, soc_expr
from gapkit.errors import DownloadError, SourceFormatError
from gapkit.ingestion.readers import (
    check_not_empty_or_html,
    decode_text,
    drop_exact_duplicates,
    map_columns,
    number_expr,
    read_csv_text,
)
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source
from gapkit.ingestion.sources.projection_checks import check_state_totals

if TYPE_CHECKING:
    import polars as pl

BASE = "https://public.projectionscentral.org/Projections/LongTermRestJson/"
PER_PAGE = 1000  # the endpoint accepts only 10, 25, 50, 100, 1000 (anything else answers 404)
SCHEMAS = {
    "state_projections": pa.schema([
        ("cycle", pa.string()), ("stfips", pa.string()), ("state", pa.string()), ("area_name", pa.string()),
        ("soc_code", pa.string()), ("title", pa.string()), ("base_year", pa.int16()), ("proj_year", pa.int16()),
        ("emp_base", pa.float64()), ("emp_proj", pa.float64()), ("emp_change", pa.float64()),
        ("pct_change", pa.float64()), ("openings", pa.float64()), ("soc_level", pa.string()), ("source_file", pa.string()),
    ])
}
# Header text (normalized: lower case) -> field. Bulk CSV names and API field names both match.
FIELDS = {
    "stfips": r"^st_?fips$", "area": r"^area ?(name)?$", "code": r"^(occ ?)?code$", "title": r"^(title|name)$",
    "base_year": r"^base ?year$", "proj_year": r"^proj(ected)? ?year$", "base": r"^base$", "proj": r"^proj(ected)?$",
    "change": r"^change$", "pct": r"^percent ?change$", "openings": r"^avg ?annual ?openings$",
}
REQUIRED = ["stfips", "code", "base", "proj", "openings"]
NUMERIC = {"base": "emp_base", "proj": "emp_proj", "change": "emp_change", "pct": "pct_change", "openings": "openings"}


def page_url(base_url: str, page: int, per_page: int = PER_PAGE) -> str:
    """URL of page ``page`` (0-based) of a Projections Central answer."""
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}items_per_page={per_page}&page={page}"


def merge_pages(pages: list[dict[str, Any]], fips: str, url: str) -> dict[str, Any]:
    """Check the decoded pages of one state's answer and join them into one ``{"rows", "pager"}`` dict.

    Raises DownloadError (naming ``url``) when a page is not a Projections Central answer, when the
    rows received differ from the announced ``total_items``, when an occupation comes twice (pages
    that shifted while paging), or when any row belongs to another state than ``fips``.
    """
    want = str(fips).strip().zfill(2)
    if not pages:
        raise DownloadError(url, "no page was received.")
    rows: list[dict[str, Any]] = []
    total: int | None = None
    for n, page in enumerate(pages):
        if not isinstance(page, dict) or not isinstance(page.get("rows"), list):
            raise DownloadError(url, f"page {n} has no 'rows' list; the endpoint changed or answered an error.")
        if not all(isinstance(r, dict) for r in page["rows"]):
            raise DownloadError(url, f"page {n} has rows that are not objects; the endpoint changed.")
        rows.extend(page["rows"])
        pager = page.get("pager") or {}
        if isinstance(pager, dict) and pager.get("total_items") is not None:
            try:
                total = int(str(pager["total_items"]).strip())
            except ValueError:
                raise DownloadError(url, f"page {n} has a pager total_items of {pager['total_items']!r}, not a number.") from None
    if total is not None and total != len(rows):
        raise DownloadError(url, f"received {len(rows)} rows in {len(pages)} page(s) but the pager announced "
                                 f"total_items={total}; the answer is incomplete.")
    found = [str(r.get("STFIPS") if r.get("STFIPS") is not None else "").strip() for r in rows]
    if any(not f for f in found):
        raise DownloadError(url, f"{sum(not f for f in found)} row(s) carry no STFIPS; cannot tell which state they belong to.")
    other = sorted({f.zfill(2) for f in found} - {want})
    if other:
        bad = sum(f.zfill(2) != want for f in found)
        raise DownloadError(url, f"the answer for state FIPS {want} carries {bad} row(s) of STFIPS {', '.join(other)}; "
                                 "refusing mixed-state data (the `all` endpoint mixes the United States row in).")
    counts = Counter(str(r.get("OccCode", "")).strip() for r in rows)  # linear: a huge page costs one pass
    dups = sorted(c for c, k in counts.items() if k > 1)
    if dups:
        raise DownloadError(url, f"occupation(s) {', '.join(dups[:5])} came more than once across pages; "
                                 "the data changed while paging. Try again.")
    return {"rows": rows, "pager": {"total_items": len(rows), "total_pages": 1, "stfips": want}}


class Projections(Source):
    name = "projections"
    title = "Projections Central long-term state projections"
    datasets = ("state_projections",)
    homepage = "https://projectionscentral.org/longterm"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        fips = [str(f).zfill(2) for f in opts.states] if opts.states else list(STATES)
        # A state without published data answers 404 "No results found.": reported, not an error,
        # unless the user asked for that state explicitly.
        return [Remote(f"{BASE}{f}", f"longterm/{f}.json", required=bool(opts.states), paged_json=True) for f in fips]

    def recognize(self, path: Path, head: bytes) -> bool:
        h = head.lstrip(b"\xef\xbb\xbf \r\n\t")
        if h.startswith(b"{"):
            return b'"rows"' in head and (b"STFIPS" in head or b"OccCode" in head or b'"pager"' in head)
        if path.suffix.lower() == ".csv":
            first = h.split(b"\n", 1)[0].lower().replace(b'"', b"").replace(b" ", b"")
            return b"stfips" in first and b"avgannualopenings" in first
        return False

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        import polars as pl

        head = check_not_empty_or_html(path, "Projections Central data (JSON or CSV)")
        df = _read_json(path) if head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"{") else read_csv_text(path, origin=path)
        if df.height == 0:
            raise SourceFormatError(path, "the file has a header but no data rows.")
        c = map_columns(df.columns, FIELDS, path=path, required=REQUIRED)
        if "base_year" in c and "proj_year" in c:
            b = pl.col(c["base_year"]).str.strip_chars().cast(pl.Int16, strict=False)
            p = pl.col(c["proj_year"]).str.strip_chars().cast(pl.Int16, strict=False)
        elif cycle := _cycle_from_name(path.name):
            b, p = pl.lit(cycle[0], pl.Int16), pl.lit(cycle[1], pl.Int16)
        else:
            raise SourceFormatError(path, "the file has no BaseYear/ProjYear columns and its name does not give the projection "
                                          "cycle; rename it with the cycle, e.g. longterm_2022-32.csv.")

        def text(key: str) -> pl.Expr:
            return pl.col(c[key]).str.strip_chars() if key in c else pl.lit(None, pl.String)

        base, proj = number_expr(c["base"]), number_expr(c["proj"])
        out = df.select(
            text("stfips").str.zfill(2).alias("stfips"),
            text("area").alias("area_name"),
            soc_expr(c["code"]).alias("soc_code"),
            pl.col(c["code"]).alias("_raw_code"),
            text("title").alias("title"),
            b.alias("base_year"), p.alias("proj_year"),
            base.alias("emp_base"), proj.alias("emp_proj"),
            (number_expr(c["change"]) if "change" in c else proj - base).alias("emp_change"),
            (number_expr(c["pct"]) if "pct" in c else pl.lit(None, pl.Float64)).alias("pct_change"),
            number_expr(c["openings"]).alias("openings"),
            *(pl.col(c[k]).alias(f"_raw_{c[k]}") for k in NUMERIC if k in c),
        )
        _check_numbers(out, {col: f"_raw_{c[k]}" for k, col in NUMERIC.items() if k in c}, path)
        _validate(out, path)
        out = out.drop("_raw_code", *(f"_raw_{c[k]}" for k in NUMERIC if k in c)).with_columns(
            pl.col("stfips").replace_strict({f: a for f, (a, _) in STATES.items()}, default=None).alias("state"),
            pl.when(pl.col("area_name").is_null() | (pl.col("area_name") == ""))
            .then(pl.col("stfips").replace_strict({f: n for f, (_, n) in STATES.items()}, default=None))
            .otherwise(pl.col("area_name")).alias("area_name"),
            pl.concat_str([pl.col("base_year").cast(pl.String), pl.lit("-"),
                           pl.col("proj_year").cast(pl.String).str.slice(2, 2)]).alias("cycle"),
            _level_expr("soc_code", ["stfips", "base_year", "proj_year"]).alias("soc_level"),
            pl.lit(path.name).alias("source_file"),
        )
        out, dup_notes = _drop_exact_duplicates(out, path)
        schema = SCHEMAS["state_projections"]
        tables = []
        for (fips, cycle), part in out.group_by(["stfips", "cycle"], maintain_order=True):
            part = part.select(schema.names)
            notes = dup_notes + check_state_totals(part, str(fips), str(cycle))
            tables.append(ParsedTable("state_projections", str(cycle), f"ST:{fips}", part, notes))
        return tables


def _read_json(path: Path) -> pl.DataFrame:
    raw = path.read_bytes()
    fast = _read_json_fast(raw)
    if fast is not None:
        frame, pager = fast
    else:  # unusual shapes or values (numbers, nulls, errors): the slow path explains what is wrong
        frame, pager = _read_json_checked(raw, path)
    if pager.get("total_items") is not None:
        try:
            total = int(str(pager["total_items"]).strip())
        except ValueError:
            raise SourceFormatError(path, f"its pager total_items is {pager['total_items']!r}, not a number.") from None
        if total != frame.height:
            raise SourceFormatError(path, f"the file holds {frame.height} rows but its pager says total_items={total} "
                                          f"(total_pages={pager.get('total_pages', '?')}); it is one page of an answer or "
                                          "otherwise incomplete.")
    return frame


def _read_json_fast(raw: bytes) -> tuple[pl.DataFrame, dict[str, Any]] | None:
    """polars' own JSON reader for the usual shape: one object, ``rows`` a list of all-string objects."""
    import polars as pl

    try:
        df = pl.read_json(raw.removeprefix(b"\xef\xbb\xbf"))
        dtype = df.schema.get("rows")
        if df.height != 1 or not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct):
            return None
        if any(f.dtype != pl.String for f in dtype.inner.fields):
            return None
        frame = df.select(pl.col("rows").explode()).unnest("rows")
        pager = df["pager"][0] if "pager" in df.columns else {}
    except Exception:  # anything odd: let the checked reader name the problem
        return None
    if frame.height == 0 or frame.select(pl.all_horizontal(pl.all().is_null()).any()).item():
        return None
    return frame, pager if isinstance(pager, dict) else {}


def _read_json_checked(raw: bytes, path: Path) -> tuple[pl.DataFrame, dict[str, Any]]:
    import polars as pl

    try:
        data = json.loads(decode_text(raw))
    except ValueError as exc:
        raise SourceFormatError(path, f"the JSON is malformed or truncated ({str(exc)[:120]}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise SourceFormatError(path, "the JSON has no 'rows' list; it is not a Projections Central answer.")
    rows = data["rows"]
    if not rows:
        raise SourceFormatError(path, "the answer has no rows (Projections Central answers 'No results found.' for a state "
                                      "without data).")
    if not all(isinstance(r, dict) for r in rows):
        raise SourceFormatError(path, "the 'rows' list holds values that are not objects; it is not a Projections Central answer.")
    pager = data.get("pager") if isinstance(data.get("pager"), dict) else {}
    keys = sorted({k for r in rows for k in r})
    frame = pl.DataFrame({k: [None if r.get(k) is None else str(r[k]) for r in rows] for k in keys},
                         schema={k: pl.String for k in keys})
    return frame, pager


def _check_numbers(out: pl.DataFrame, raws: dict[str, str], path: Path) -> None:
    """Every numeric cell is a number or empty, and every openings cell is filled; anything else (text,
    a shifted column) is an error. ``raws`` maps output column -> its raw text column in ``out``."""
    import polars as pl

    def bad(col: str, raw: str) -> pl.Expr:
        r = pl.col(raw).str.strip_chars()
        return r.is_not_null() & (r != "") & pl.col(col).is_null()

    counts = out.select(
        *(bad(col, raw).sum().alias(col) for col, raw in raws.items()),
        *(pl.col(raw).filter(bad(col, raw)).first().alias(raw) for col, raw in raws.items()),
        pl.col("openings").is_null().sum().alias("_no_openings"),
    ).row(0, named=True)
    for col, raw in raws.items():
        if counts[col]:
            raise SourceFormatError(path, f"column {raw.removeprefix('_raw_')!r} holds {counts[col]} value(s) that are not "
                                          f"numbers (e.g. {counts[raw]!r}).")
    if counts["_no_openings"]:
        raise SourceFormatError(path, f"{counts['_no_openings']} row(s) have no AvgAnnualOpenings value; Projections Central "
                                      "publishes every one.")


def _validate(out: pl.DataFrame, path: Path) -> None:
    import polars as pl

    chk = out.select(
        pl.col("soc_code").is_null().sum().alias("bad_soc"),
        pl.col("_raw_code").filter(pl.col("soc_code").is_null()).first().alias("bad_soc_e"),
        pl.col("stfips").filter(~pl.col("stfips").is_in(list(STATES)) | pl.col("stfips").is_null()).unique().sort()
        .fill_null("(empty)").implode().alias("bad_fips"),
        (pl.col("base_year").is_null() | pl.col("proj_year").is_null() | (pl.col("proj_year") <= pl.col("base_year")))
        .sum().alias("bad_years"),
    ).row(0, named=True)
    if chk["bad_soc"]:
        raise SourceFormatError(path, f"{chk['bad_soc']} row(s) have an occupation code that is not a SOC code "
                                      f"(e.g. {chk['bad_soc_e']!r}).")
    if chk["bad_fips"]:
        raise SourceFormatError(path, f"state FIPS code(s) {', '.join(chk['bad_fips'][:8])} are not the United States, a state, "
                                      "DC or a territory.")
    if chk["bad_years"]:
        raise SourceFormatError(path, f"{chk['bad_years']} row(s) have a missing or impossible base/projected year.")


def _drop_exact_duplicates(out: pl.DataFrame, path: Path) -> tuple[pl.DataFrame, list[str]]:
    return drop_exact_duplicates(out, path, ["stfips", "cycle", "soc_code"], lambda n, r: (
        f"{n} occupation(s) appear more than once with different figures (e.g. {r['soc_code']} in state FIPS {r['stfips']}); "
        "cannot tell which is right."))


def _level_expr(code: str, within: list[str]) -> pl.Expr:
    """SOC level from the code pattern (codes.soc_level), vectorized; a broad code without any of its
    detailed codes in the same state and cycle is the finest level published there: ``detailed``."""
    import polars as pl

    c = pl.col(code)
    level = (pl.when(c == "00-0000").then(pl.lit("total")).when(c.str.ends_with("0000")).then(pl.lit("major"))
             .when(c.str.ends_with("00")).then(pl.lit("minor")).when(c.str.ends_with("0")).then(pl.lit("broad"))
             .otherwise(pl.lit("detailed")))
    has_detail = (level == "detailed").any().over([*within, c.str.slice(0, 6)])
    return pl.when((level == "broad") & ~has_detail).then(pl.lit("detailed")).otherwise(level)


def _cycle_from_name(name: str) -> tuple[int, int] | None:
    m = re.search(r"(20\d\d)\s*[-_–]\s*(20)?(\d\d)(?!\d)", name)
    if not m:
        return None
    y0 = int(m.group(1))
    y1 = (y0 // 100) * 100 + int(m.group(3))
    return (y0, y1 if y1 > y0 else y1 + 100)

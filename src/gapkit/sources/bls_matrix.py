"""BLS National Employment Matrix: employment by industry × occupation, base and projected year.

Four published layouts, one normalized table:
- the full matrix `matrix.xlsx` (one long sheet with industry and occupation columns);
- data.bls.gov per-industry CSV exports `National Employment Matrix_IND_<code>.csv` (rows are
  occupations of one industry) and per-occupation exports `..._OCC_<soc>.csv` (rows are industries);
- the legacy per-industry workbooks `ind_<code>.xlsx` (2014-24 and earlier; code and title in row 2,
  header in row 5).
Codes come as `="53-3032"`, numbers with thousands separators, `Line Item` or `Line item`;
employment is in thousands. The cycle is read from the year headers ("2022 Employment",
"Projected 2032 Employment" -> 2022-32).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.readers import (
    map_columns,
    normalize_header,
    number_expr,
    read_csv_text,
    read_xlsx_sheet,
    xlsx_sheets,
)
from gapkit.sources.base import IngestOptions, ParsedTable, Remote, Source

if TYPE_CHECKING:
    import polars as pl

URL = "https://www.bls.gov/emp/ind-occ-matrix/matrix.xlsx"

SCHEMAS = {
    "nem_matrix": pa.schema([
        ("cycle", pa.string()), ("industry_code", pa.string()), ("industry_title", pa.string()),
        ("industry_type", pa.string()), ("occupation_code", pa.string()), ("occupation_title", pa.string()),
        ("occupation_type", pa.string()), ("emp_base_k", pa.float64()), ("emp_proj_k", pa.float64()),
        ("source_file", pa.string()),
    ])
}
EXPORT_NAME = re.compile(r"^National Employment Matrix_(IND|OCC)_(.+)\.csv$", re.I)
LEGACY_NAME = re.compile(r"^ind[_-](.+)\.xlsx$", re.I)
MATRIX_NAME = re.compile(r"^(national[ _-]employment[ _-])?matrix\b.*\.xlsx$", re.I)
EMP_BASE = r"^(\d{4}) employment$"
EMP_PROJ = r"^projected (\d{4}) employment$"
SIDE = {
    "occ_title": r"^occupation title$", "occ_code": r"^occupation code$", "occ_type": r"^occupation type$",
    "ind_title": r"^industry title$", "ind_code": r"^industry code$", "ind_type": r"^industry type$",
}


class BlsMatrix(Source):
    name = "bls-matrix"
    title = "BLS National Employment Matrix (industry x occupation)"
    datasets = ("nem_matrix",)
    homepage = "https://www.bls.gov/emp/data/occupational-data.htm"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        return [Remote(URL, "matrix.xlsx")]

    def recognize(self, path: Path, head: bytes) -> bool:
        name = path.name
        return bool(EXPORT_NAME.match(name) or LEGACY_NAME.match(name) or MATRIX_NAME.match(name))

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        m = EXPORT_NAME.match(path.name)
        if m:
            return [parse_export(path, m.group(1).upper(), m.group(2))]
        if LEGACY_NAME.match(path.name):
            return [parse_legacy(path)]
        return [parse_matrix_xlsx(path)]


def _types(expr: pl.Expr) -> pl.Expr:
    import polars as pl

    s = expr.cast(pl.String).str.strip_chars().str.to_lowercase()
    return pl.when(s == "line item").then(pl.lit("Line item")).when(s == "summary").then(pl.lit("Summary")).otherwise(s)


def _code(col: str) -> pl.Expr:
    import polars as pl

    return pl.col(col).cast(pl.String).str.strip_chars().str.replace_all(r'^="?|"$', "").str.strip_chars()


def _cycle(columns: list[str], path: Path) -> tuple[str, str, str]:
    """(cycle, base column, projected column) from the year headers."""
    base = [c for c in columns if re.match(EMP_BASE, normalize_header(c))]
    proj = [c for c in columns if re.match(EMP_PROJ, normalize_header(c))]
    if not base or not proj:
        raise SchemaDriftError(path, ["<YYYY> Employment", "Projected <YYYY> Employment"], columns)
    y0 = int(re.match(EMP_BASE, normalize_header(base[0])).group(1))  # type: ignore[union-attr]
    y1 = int(re.match(EMP_PROJ, normalize_header(proj[0])).group(1))  # type: ignore[union-attr]
    return f"{y0}-{str(y1)[2:]}", base[0], proj[0]


def _finish(df: pl.DataFrame, cycle: str, path: Path) -> pl.DataFrame:
    import polars as pl

    bad = df.filter(pl.col("occupation_code").is_null() | ~pl.col("occupation_code").str.contains(r"^\d{2}-\d{4}$"))
    if bad.height:
        raise SourceFormatError(path, f"{bad.height} row(s) have an occupation code that is not NN-NNNN (e.g. {bad['occupation_code'][0]!r}).")
    types = set(df["occupation_type"].unique().to_list()) | set(df["industry_type"].drop_nulls().unique().to_list())
    if not types <= {"Line item", "Summary"}:
        raise SourceFormatError(path, f"unknown industry/occupation type(s) {sorted(t for t in types if t not in {'Line item', 'Summary'})}.")
    return df.with_columns(pl.lit(cycle).alias("cycle"), pl.lit(Path(path).name).alias("source_file")).select(SCHEMAS["nem_matrix"].names)


def parse_export(path: Path, kind: str, key: str) -> ParsedTable:
    """A data.bls.gov CSV export: one industry's occupations (IND) or one occupation's industries (OCC)."""
    import polars as pl

    df = read_csv_text(path, origin=path)
    cycle, base, proj = _cycle(df.columns, path)
    if kind == "IND":
        c = map_columns(df.columns, {k: SIDE[k] for k in ("occ_title", "occ_code", "occ_type")}, path=path)
        code = key.strip().upper()
        out = df.select(
            pl.lit(code).alias("industry_code"), pl.lit(None, pl.String).alias("industry_title"),
            # data.bls.gov offers exports of line-item industries; summaries are aggregated from them
            pl.lit("Line item").alias("industry_type"),
            _code(c["occ_code"]).alias("occupation_code"), pl.col(c["occ_title"]).str.strip_chars().alias("occupation_title"),
            _types(pl.col(c["occ_type"])).alias("occupation_type"),
            number_expr(base).alias("emp_base_k"), number_expr(proj).alias("emp_proj_k"),
        )
        unit = f"IND:{code}"
    else:
        c = map_columns(df.columns, {k: SIDE[k] for k in ("ind_title", "ind_code", "ind_type")}, path=path)
        soc = key.strip()
        titles = df.select(pl.lit(soc).alias("x"))
        _ = titles
        out = df.select(
            _code(c["ind_code"]).alias("industry_code"), pl.col(c["ind_title"]).str.strip_chars().alias("industry_title"),
            _types(pl.col(c["ind_type"])).alias("industry_type"),
            pl.lit(soc).alias("occupation_code"), pl.lit(None, pl.String).alias("occupation_title"),
            pl.lit("Line item" if not soc.endswith("0") else "Summary").alias("occupation_type"),
            number_expr(base).alias("emp_base_k"), number_expr(proj).alias("emp_proj_k"),
        )
        unit = f"OCC:{soc}"
    if out.height == 0:
        raise SourceFormatError(path, "the export has a header but no rows.")
    return ParsedTable("nem_matrix", cycle, unit, _finish(out, cycle, path))


def parse_legacy(path: Path) -> ParsedTable:
    """A legacy per-industry workbook (`ind_<code>.xlsx`)."""
    import polars as pl

    sheets = xlsx_sheets(path)
    sheet = next((s for s in sheets if re.search(r"matrix", s, re.I)), sheets[0])
    raw = read_xlsx_sheet(path, sheet, header_row=None)
    if raw.height < 6:
        raise SourceFormatError(path, f"sheet {sheet!r} has {raw.height} rows; a per-industry matrix workbook has a title block and a table.")
    first = raw.columns[0]
    ident = str(raw[first][1] or "").strip()
    m = re.match(r"^(\S+)\s+(.+)$", ident)
    if not m:
        raise SourceFormatError(path, f"row 2 should name the industry (e.g. '48-490 Transportation and warehousing'), found {ident!r}.")
    ind_code, ind_title = m.group(1), m.group(2).strip()
    years = [str(v) for v in raw.row(3) if v and re.match(r"^\d{4}(\.0)?$", str(v).strip())]
    if len(years) < 2:
        raise SourceFormatError(path, "row 4 should hold the base and projected years (e.g. 2014 ... 2024).")
    y0, y1 = int(float(years[0])), int(float(years[1]))
    header = [str(v or "").strip() for v in raw.row(4)]
    norm = [normalize_header(h) for h in header]
    try:
        i_code, i_title = norm.index("code"), norm.index("title")
        i_type = norm.index("occupation type")
        emp = [i for i, h in enumerate(norm) if h == "employment"]
        i_base, i_proj = emp[0], emp[1]
    except (ValueError, IndexError):
        raise SchemaDriftError(path, ["Code", "Title", "Employment (base)", "Employment (projected)", "Occupation type"], header, sheet) from None
    cols = raw.columns
    body = raw.slice(5)
    out = body.select(
        pl.lit(ind_code).alias("industry_code"), pl.lit(ind_title).alias("industry_title"), pl.lit(None, pl.String).alias("industry_type"),
        _code(cols[i_code]).alias("occupation_code"), pl.col(cols[i_title]).str.strip_chars().alias("occupation_title"),
        _types(pl.col(cols[i_type])).alias("occupation_type"),
        number_expr(cols[i_base]).alias("emp_base_k"), number_expr(cols[i_proj]).alias("emp_proj_k"),
    ).filter(pl.col("occupation_code").str.contains(r"^\d{2}-\d{4}$"))
    cycle = f"{y0}-{str(y1)[2:]}"
    return ParsedTable("nem_matrix", cycle, f"IND:{ind_code}", _finish(out, cycle, path))


MATRIX_COLS = {
    "ind_type": r"^industry type$", "ind_code": r"^industry code$", "ind_title": r"^industry title$",
    "occ_type": r"^occupation type$", "occ_code": r"^occupation code$", "occ_title": r"^occupation title$",
}


def matrix_frame(df: pl.DataFrame, path: Path) -> tuple[str, pl.DataFrame]:
    """The full matrix's long sheet (already read as strings) -> (cycle, normalized rows)."""
    import polars as pl

    c = map_columns(df.columns, MATRIX_COLS, path=path)
    base = [x for x in df.columns if re.match(r"^(\d{4}) employment$", normalize_header(x))]
    if len(base) < 2:
        raise SchemaDriftError(path, ["<base year> Employment", "<projected year> Employment"], df.columns)
    base.sort(key=lambda x: int(normalize_header(x)[:4]))
    y0, y1 = int(normalize_header(base[0])[:4]), int(normalize_header(base[-1])[:4])
    out = df.select(
        _code(c["ind_code"]).alias("industry_code"), pl.col(c["ind_title"]).str.strip_chars().alias("industry_title"),
        _types(pl.col(c["ind_type"])).alias("industry_type"),
        _code(c["occ_code"]).alias("occupation_code"), pl.col(c["occ_title"]).str.strip_chars().alias("occupation_title"),
        _types(pl.col(c["occ_type"])).alias("occupation_type"),
        number_expr(base[0]).alias("emp_base_k"), number_expr(base[-1]).alias("emp_proj_k"),
    ).filter(pl.col("occupation_code").str.contains(r"^\d{2}-\d{4}$"))
    cycle = f"{y0}-{str(y1)[2:]}"
    return cycle, _finish(out, cycle, path)


def parse_matrix_xlsx(path: Path) -> ParsedTable:
    sheets = xlsx_sheets(path)
    sheet = next((s for s in sheets if re.search(r"matrix", s, re.I)), sheets[0])
    df = read_xlsx_sheet(path, sheet, header_row=0)
    if not any(re.match(MATRIX_COLS["ind_code"], normalize_header(c)) for c in df.columns):
        df = read_xlsx_sheet(path, sheet, header_row=1)  # a title row above the header
    cycle, out = matrix_frame(df, path)
    return ParsedTable("nem_matrix", cycle, "MATRIX", out)

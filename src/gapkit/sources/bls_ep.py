"""BLS Employment Projections: national projections by occupation (`occupation.xlsx`).

Table 1.10 gives employment, separations and openings (thousands); the education and training
assignments and the median wage come from Table 1.2 (2023-33 on) or Tables 1.7 / 5.4 (2022-32 and
earlier). Columns are found by meaning, so older and newer cycles parse alike.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.errors import SourceFormatError
from gapkit.readers import map_columns, normalize_header, number_expr, read_xlsx_sheet, xlsx_sheets
from gapkit.sources.base import IngestOptions, ParsedTable, Remote, Source

if TYPE_CHECKING:
    import polars as pl

URL = "https://www.bls.gov/emp/ind-occ-matrix/occupation.xlsx"
NAME = re.compile(r"^occupation[^a-z]*\.xlsx$", re.I)

SCHEMAS = {
    "ep_occupations": pa.schema([
        ("cycle", pa.string()), ("base_year", pa.int16()), ("proj_year", pa.int16()),
        ("soc_code", pa.string()), ("title", pa.string()), ("occ_type", pa.string()),
        ("emp_base_k", pa.float64()), ("emp_proj_k", pa.float64()), ("emp_change_k", pa.float64()),
        ("emp_change_pct", pa.float64()), ("exit_rate", pa.float64()), ("transfer_rate", pa.float64()),
        ("separations_rate", pa.float64()), ("exits_k", pa.float64()), ("transfers_k", pa.float64()),
        ("separations_k", pa.float64()), ("openings_k", pa.float64()), ("median_wage", pa.float64()),
        ("education", pa.string()), ("work_experience", pa.string()), ("training", pa.string()),
        ("source_file", pa.string()),
    ])
}

T110 = {
    "title": r"matrix title$|^occupation title|^title$",
    "code": r"matrix code$|^occupation code|^code$",
    "type": r"^occupation type$",
    "emp_base_k": r"^employment, (\d{4})$",
    "emp_proj_k": r"^employment, (\d{4})$",
    "emp_change_k": r"^employment change, numeric",
    "emp_change_pct": r"^employment change, percent",
    "exit_rate": r"^labor force exit rate",
    "transfer_rate": r"^occupational transfer rate",
    "separations_rate": r"separations rate",
    "exits_k": r"^labor force exits",
    "transfers_k": r"^occupational transfers,",
    "separations_k": r"^total occupational separations,",
    "openings_k": r"^occupational openings",
}
CHAR = {
    "code": r"matrix code$|^occupation code|^code$",
    "education": r"^typical education needed for entry",
    "work_experience": r"^work experience in a related occupation",
    "training": r"^typical on-the-job training",
    "median_wage": r"^median annual wage",
}
SOC_RE = r"^\d{2}-\d{4}$"
# Line items sum to the published total within this many thousand (rounding of 832 values to 0.1).
TOTAL_TOLERANCE_K = 2.0


class BlsEp(Source):
    name = "bls-ep"
    title = "BLS Employment Projections, occupation.xlsx (Table 1.10 + education/training)"
    datasets = ("ep_occupations",)
    homepage = "https://www.bls.gov/emp/data/occupational-data.htm"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        return [Remote(URL, "occupation.xlsx")]

    def recognize(self, path: Path, head: bytes) -> bool:
        # The agency's file name (a browser may add " (1)" or the user a cycle) claims the file, so a
        # damaged download is reported rather than skipped; other workbooks must hold Table 1.10.
        if NAME.match(path.name):
            return True
        if path.suffix.lower() != ".xlsx" or not head.startswith(b"PK") or "occupation" not in path.name.lower():
            return False
        try:
            return "Table 1.10" in xlsx_sheets(path)
        except SourceFormatError:
            return False

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        import polars as pl

        sheets = xlsx_sheets(path)
        if "Table 1.10" not in sheets:
            raise SourceFormatError(path, f"the workbook has no sheet 'Table 1.10' (it has {', '.join(sheets)}); it is not the BLS occupation.xlsx.")
        raw = read_xlsx_sheet(path, "Table 1.10", header_row=1)
        cols = _map_t110(raw.columns, path)
        years = [int(re.search(r"(\d{4})", normalize_header(c)).group(1)) for c in (cols["emp_base_k"], cols["emp_proj_k"])]  # type: ignore[union-attr]
        base_year, proj_year = min(years), max(years)
        cycle = f"{base_year}-{str(proj_year)[2:]}"
        df = raw.filter(pl.col(cols["code"]).cast(pl.String).str.strip_chars().str.contains(SOC_RE))
        if df.height == 0:
            raise SourceFormatError(path, "Table 1.10 has no rows with an occupation code (NN-NNNN).")
        out = df.select(
            pl.lit(cycle).alias("cycle"),
            pl.lit(base_year).cast(pl.Int16).alias("base_year"),
            pl.lit(proj_year).cast(pl.Int16).alias("proj_year"),
            pl.col(cols["code"]).str.strip_chars().alias("soc_code"),
            pl.col(cols["title"]).str.strip_chars().alias("title"),
            pl.col(cols["type"]).str.strip_chars().str.to_lowercase().replace({"line item": "Line item", "summary": "Summary"}).alias("occ_type"),
            *[number_expr(cols[k]).alias(k) for k in (
                "emp_base_k", "emp_proj_k", "emp_change_k", "emp_change_pct", "exit_rate", "transfer_rate",
                "separations_rate", "exits_k", "transfers_k", "separations_k", "openings_k")],
        )
        bad_type = out.filter(~pl.col("occ_type").is_in(["Line item", "Summary"]))
        if bad_type.height:
            raise SourceFormatError(path, f"Table 1.10 has occupation type {bad_type['occ_type'][0]!r} (expected 'Summary' or 'Line item').")
        out = out.join(_characteristics(path, sheets), on="soc_code", how="left")
        out = out.with_columns(pl.lit(Path(path).name).alias("source_file")).select(SCHEMAS["ep_occupations"].names)
        notes = _check_totals(out, path, cycle)
        return [ParsedTable("ep_occupations", cycle, "occupation", out, notes)]


def _map_t110(columns: list[str], path: Path) -> dict[str, str]:
    cols = map_columns(columns, {k: v for k, v in T110.items() if k not in {"emp_base_k", "emp_proj_k"}}, path=path, sheet="Table 1.10")
    emp = [c for c in columns if re.match(T110["emp_base_k"], normalize_header(c))]
    if len(emp) < 2:
        from gapkit.errors import SchemaDriftError

        raise SchemaDriftError(path, ["Employment, <base year>", "Employment, <projected year>"], columns, "Table 1.10")
    emp.sort(key=lambda c: int(re.search(r"(\d{4})", c).group(1)))  # type: ignore[union-attr]
    cols["emp_base_k"], cols["emp_proj_k"] = emp[0], emp[-1]
    return cols


def _characteristics(path: Path, sheets: list[str]) -> pl.DataFrame:
    """Education, experience, training and wage by SOC code, from whichever tables carry them."""
    import polars as pl

    found: dict[str, pl.DataFrame] = {}
    for sheet in ("Table 1.2", "Table 1.7", "Table 5.4"):
        if sheet not in sheets:
            continue
        df = read_xlsx_sheet(path, sheet, header_row=1)
        cols = map_columns(df.columns, CHAR, path=path, required=[], sheet=sheet)
        if "code" not in cols:
            continue
        sub = df.filter(pl.col(cols["code"]).cast(pl.String).str.strip_chars().str.contains(SOC_RE))
        for field in ("education", "work_experience", "training", "median_wage"):
            if field in cols and field not in found:
                expr = number_expr(cols[field]) if field == "median_wage" else _text(cols[field])
                found[field] = sub.select(pl.col(cols["code"]).str.strip_chars().alias("soc_code"), expr.alias(field)).unique("soc_code", keep="first")
    out = pl.DataFrame({"soc_code": []}, schema={"soc_code": pl.String})
    first = True
    for field in ("education", "work_experience", "training", "median_wage"):
        part = found.get(field)
        if part is None:
            dtype = pl.Float64 if field == "median_wage" else pl.String
            out = out.with_columns(pl.lit(None, dtype=dtype).alias(field))
            continue
        out = part if first else out.join(part, on="soc_code", how="full", coalesce=True)
        first = False
    for field in ("education", "work_experience", "training", "median_wage"):
        if field not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Float64 if field == "median_wage" else pl.String).alias(field))
    return out.select("soc_code", "median_wage", "education", "work_experience", "training")


def _text(col: str) -> pl.Expr:
    import polars as pl

    s = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(s.is_in(["—", "-", ""]) | s.is_null()).then(None).otherwise(s)


def _check_totals(out: pl.DataFrame, path: Path, cycle: str) -> list[str]:
    import polars as pl

    total = out.filter(pl.col("soc_code") == "00-0000")
    if total.height != 1:
        raise SourceFormatError(path, "Table 1.10 has no 'Total, all occupations' (00-0000) row.")
    published = total["openings_k"][0]
    lines = out.filter(pl.col("occ_type") == "Line item")
    summed = lines["openings_k"].sum()
    if published is None or abs(summed - published) > TOTAL_TOLERANCE_K:
        raise SourceFormatError(path, f"detailed occupations' openings sum to {summed:,.1f} thousand but the published {cycle} total is {published}; the file is incomplete or altered.")
    return []

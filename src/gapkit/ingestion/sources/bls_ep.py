"""BLS Employment Projections: national projections by occupation (`occupation.xlsx`).

Table 1.10 gives employment, separations and openings (thousands); the education and training
assignments and the median wage come from Table 1.2 (2023-33 on) or Tables 1.7 / 5.4 (2022-32 and
earlier). Sheets and columns are found by meaning (regex on normalized header text), so older and
newer cycles parse alike: the header row is found, not assumed; `Occupation\\ntype`, en dashes and
footnote marks (`[1]`, `(1)`) are normalized away; titles are stripped of their indentation; `—`
is null; a top-coded wage (`>=$239,200`) is stored as its bound (as the 2022-32 workbook prints
it) and counted in the notes.

The cycle comes from the header text (`Employment, 2024` … `Employment, 2034`, cross-checked with
the `2024-34` ranges of the other headers and the table title).

Checks run on every file (a failure raises SourceFormatError, nothing is returned):
- one `00-0000` row, unique codes, every published number readable, types `Summary`/`Line item`;
- exits + transfers = separations on every row, to the table's rounding (each value is rounded to
  0.1 thousand, so |difference| <= 0.15; the real files never differ by more than 0.1);
- the `Line item` rows sum to the `00-0000` row (employment, separations, openings) within
  4 standard deviations of the sum of n rounding errors: 4 * 0.1/sqrt(12) * sqrt(n) thousand
  (3.3 thousand for the 832 detailed occupations). Real files differ by 0.1 (2022-32), 1.1
  (2023-33) and 1.7 (2024-34) thousand in openings, and at most 2.0 in any checked column.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import map_columns, normalize_header, xlsx_sheets
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source

if TYPE_CHECKING:
    import polars as pl

URL = "https://www.bls.gov/emp/ind-occ-matrix/occupation.xlsx"
# The agency's name claims a file (a browser may add " (1)", a person a cycle), so a damaged
# download is reported rather than skipped; any other workbook must hold a "Table 1.10" sheet.
NAME = re.compile(r"^occupation[^a-z]*\.xlsx$", re.I)
MAIN_SHEET = "Table 1.10"
CHAR_SHEETS = ("Table 1.2", "Table 1.7", "Table 5.4")  # first one carrying a field wins

SCHEMAS: dict[str, pa.Schema] = {
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

CODE = r"matrix code$|^occupation code$|^code$|matrix occupation code$"
TITLE = r"matrix title$|^occupation title$|^title$|matrix occupation title$"
# field -> (what the header says, regex on the normalized header)
T110: dict[str, tuple[str, str]] = {
    "title": ("National Employment Matrix title", TITLE),
    "code": ("National Employment Matrix code", CODE),
    "type": ("Occupation type", r"^occupation type$"),
    "emp_change_k": ("Employment change, numeric", r"^employment change, numeric"),
    "emp_change_pct": ("Employment change, percent", r"^employment change, percent"),
    "exit_rate": ("Labor force exit rate", r"^labor force exit rate"),
    "transfer_rate": ("Occupational transfer rate", r"^occupational transfer rate"),
    "separations_rate": ("Total occupational separations rate", r"separations rate"),
    "exits_k": ("Labor force exits", r"^labor force exits"),
    "transfers_k": ("Occupational transfers", r"^occupational transfers\b"),
    "separations_k": ("Total occupational separations", r"^total occupational separations\b(?!.*rate)"),
    "openings_k": ("Occupational openings", r"^occupational openings"),
}
EMP_YEAR = re.compile(r"^employment, (\d{4})$")
RANGE = re.compile(r"\b(\d{4}) ?- ?(\d{2}|\d{4})\b")
CHAR: dict[str, tuple[str, str]] = {
    "code": ("National Employment Matrix code", CODE),
    "education": ("Typical education needed for entry", r"^typical education needed for entry"),
    "work_experience": ("Work experience in a related occupation", r"^work experience in a related occupation"),
    "training": ("Typical on-the-job training", r"^typical on-the-job training"),
    "median_wage": ("Median annual wage", r"^median annual wage"),
}
NUMERIC = ("emp_base_k", "emp_proj_k", "emp_change_k", "emp_change_pct", "exit_rate", "transfer_rate",
           "separations_rate", "exits_k", "transfers_k", "separations_k", "openings_k")
SOC_RE = r"^\d{2}-\d{4}$"
MISSING = ("—", "–", "-", "")
TOPCODED = r"^(>=|≥|>)\s*\$?\s*[\d,]+(\.\d+)?$"
ROW_TOLERANCE_K = 0.15  # three values each rounded to 0.1 thousand
SUMMED = {"emp_base_k": "base-year employment", "emp_proj_k": "projected employment", "separations_k": "separations",
          "openings_k": "openings"}


def total_tolerance_k(n: int) -> float:
    """How far n values each rounded to 0.1 may sum from their rounded total: 4 sigma of the sum."""
    return max(0.5, 4 * 0.1 / math.sqrt(12) * math.sqrt(n))


class BlsEp(Source):
    name = "bls-ep"
    title = "BLS Employment Projections, occupation.xlsx (Table 1.10 + education/training)"
    datasets = ("ep_occupations",)
    homepage = "https://www.bls.gov/emp/data/occupational-data.htm"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        return [Remote(URL, "occupation.xlsx")]

    def recognize(self, path: Path, head: bytes) -> bool:
        if NAME.match(path.name):
            return True
        if path.suffix.lower() != ".xlsx" or not head.startswith(b"PK"):
            return False
        return _lists_sheet(path, MAIN_SHEET)

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        import polars as pl

        path = Path(path)
        sheets = xlsx_sheets(path)
        if MAIN_SHEET not in sheets:
            raise SourceFormatError(
                path, f"the workbook has no sheet {MAIN_SHEET!r} (it has {', '.join(sheets) or 'no sheets'}); it is not the BLS occupation.xlsx."
            )
        reader = _open(path)
        title, header, body = _table(reader, path, MAIN_SHEET, CODE)
        cols = _map(header, T110, path, MAIN_SHEET)
        base_year, proj_year, cols["emp_base_k"], cols["emp_proj_k"] = _years(header, title, path)
        cycle = f"{base_year}-{proj_year % 100:02d}"

        code = _clean(cols["code"])
        df = body.filter(code.str.contains(SOC_RE))
        if df.height == 0:
            raise SourceFormatError(path, f"{MAIN_SHEET} has no rows with an occupation code (NN-NNNN).")
        _check_numbers(df, {k: cols[k] for k in NUMERIC}, code, path)
        occ_type = _clean(cols["type"]).str.to_lowercase()
        out = df.select(
            pl.lit(cycle).alias("cycle"),
            pl.lit(base_year, pl.Int16).alias("base_year"),
            pl.lit(proj_year, pl.Int16).alias("proj_year"),
            code.alias("soc_code"),
            _clean(cols["title"]).alias("title"),
            pl.when(occ_type == "line item").then(pl.lit("Line item"))
            .when(occ_type == "summary").then(pl.lit("Summary"))
            .otherwise(_clean(cols["type"])).alias("occ_type"),
            *[_number(cols[k]).alias(k) for k in NUMERIC],
        )
        _check_rows(out, path)
        chars, notes = _characteristics(reader, path, sheets)
        out = out.join(chars, on="soc_code", how="left").with_columns(pl.lit(path.name).alias("source_file"))
        out = _conform(out)
        _check_totals(out, path, cycle)
        lines = out.filter(pl.col("occ_type") == "Line item")
        no_edu = lines.filter(pl.col("education").is_null()).height
        if no_edu:
            notes.append(f"{no_edu} detailed occupation(s) have no typical entry education in {path.name}.")
        return [ParsedTable("ep_occupations", cycle, "occupation", out, notes)]


# -- reading -----------------------------------------------------------------------------------
def _lists_sheet(path: Path, sheet: str) -> bool:
    """Cheap content check: does the workbook's sheet list (xl/workbook.xml) name ``sheet``?"""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("xl/workbook.xml")
            if info.file_size > 2_000_000:
                return False
            text = zf.read(info).decode("utf-8", errors="replace")
    except (KeyError, OSError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError):
        return False
    return re.search(r'<(?:\w+:)?sheet\b[^>]*\bname="' + re.escape(sheet) + '"', text) is not None


def _open(path: Path) -> Any:
    import fastexcel

    try:
        return fastexcel.read_excel(str(path))
    except Exception as exc:  # calamine raises its own error types
        raise SourceFormatError(path, f"the workbook cannot be opened ({_short(exc)}); it may be truncated or corrupt.") from None


def _table(reader: Any, path: Path, sheet: str, code_pattern: str) -> tuple[str, list[str], pl.DataFrame]:
    """(title text, header, body) of one "Table x.y" sheet; the header row is the first of the top
    rows that has a code column, whatever row BLS puts it on (row 2 in every cycle so far)."""
    try:
        raw = reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as exc:  # calamine raises its own error types
        raise SourceFormatError(path, f"sheet {sheet!r} cannot be read ({_short(exc)}); the workbook may be truncated or corrupt.") from None
    rx = re.compile(code_pattern)
    for i in range(min(raw.height, 10)):
        cells = [normalize_header(v) if v is not None else "" for v in raw.row(i)]
        if any(rx.search(c) for c in cells if c):
            header = _unique([str(v).strip() if v is not None else "" for v in raw.row(i)])
            title = " ".join(str(v) for r in range(i) for v in raw.row(r) if v is not None)
            return title, header, raw.slice(i + 1).rename(dict(zip(raw.columns, header, strict=True)))
    first = [str(v) for v in raw.row(0)] if raw.height else []
    raise SchemaDriftError(path, ["National Employment Matrix code (header row)"], [c for c in first if c != "None"], sheet)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        n = n or f"column_{i}"
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


def _map(header: list[str], fields: dict[str, tuple[str, str]], path: Path, sheet: str, required: bool = True) -> dict[str, str]:
    """map_columns with the published header text in the error ('code (National Employment Matrix code)')."""
    labelled = {f"{k} ({label})": rx for k, (label, rx) in fields.items()}
    found = map_columns(header, labelled, path=path, sheet=sheet, required=None if required else [])
    return {k.split(" (", 1)[0]: v for k, v in found.items()}


def _years(header: list[str], title: str, path: Path) -> tuple[int, int, str, str]:
    """Base and projected year from 'Employment, 2024' / 'Employment, 2034', cross-checked with the
    '2024-34' ranges of the other headers and of the table title."""
    emp = sorted(((int(m.group(1)), c) for c in header if (m := EMP_YEAR.match(normalize_header(c)))), key=lambda t: t[0])
    if len(emp) < 2 or emp[0][0] == emp[-1][0]:
        raise SchemaDriftError(path, ["Employment, <base year>", "Employment, <projected year>"], header, MAIN_SHEET)
    (y0, base), (y1, proj) = emp[0], emp[-1]
    if not 1 <= y1 - y0 <= 20:
        raise SourceFormatError(path, f"{MAIN_SHEET} has employment columns for {y0} and {y1}, not a projection cycle.")
    for text in [*header, title]:
        for m in RANGE.finditer(normalize_header(text)):
            a, b = int(m.group(1)), m.group(2)
            end = int(b) if len(b) == 4 else (a // 100) * 100 + int(b)
            if (a, end) != (y0, y1) and 1 <= end - a <= 20:
                raise SourceFormatError(
                    path, f"{MAIN_SHEET} mixes cycles: employment columns are {y0} and {y1} but {text.strip()!r} says {a}-{b}."
                )
    return y0, y1, base, proj


# -- expressions -------------------------------------------------------------------------------
def _clean(col: str) -> pl.Expr:
    """Text of a cell: stripped (titles are indented), Excel's ="..." wrapper removed."""
    import polars as pl

    return pl.col(col).cast(pl.String).str.strip_chars().str.replace(r'^="?(.*?)"?$', "$1").str.strip_chars()


def _raw_number(col: str) -> pl.Expr:
    import polars as pl

    return pl.col(col).cast(pl.String).str.strip_chars().str.replace_all(",", "")


def _number(col: str) -> pl.Expr:
    import polars as pl

    s = _raw_number(col)
    return pl.when(s.is_null() | s.is_in(list(MISSING))).then(None).otherwise(s.cast(pl.Float64, strict=False))


def _text(col: str) -> pl.Expr:
    import polars as pl

    s = _clean(col)
    return pl.when(s.is_null() | s.is_in(list(MISSING))).then(None).otherwise(s)


# -- checks ------------------------------------------------------------------------------------
def _check_numbers(df: pl.DataFrame, cols: dict[str, str], code: pl.Expr, path: Path) -> None:
    """Every Table 1.10 number must be published and readable: a blank, a dash or text is a bad file."""
    import polars as pl

    for field, col in cols.items():
        bad = df.select(code.alias("code"), pl.col(col).alias("value"), _number(col).alias("n")).filter(pl.col("n").is_null())
        if bad.height:
            code_, value = bad.row(0)[:2]
            raise SourceFormatError(
                path, f"{MAIN_SHEET} column {col.strip()!r} ({field}) has {bad.height} unreadable or missing value(s), e.g. {value!r} for {code_}."
            )


def _check_rows(out: pl.DataFrame, path: Path) -> None:
    import polars as pl

    bad_type = out.filter(~pl.col("occ_type").is_in(["Line item", "Summary"]) | pl.col("occ_type").is_null())
    if bad_type.height:
        raise SourceFormatError(
            path, f"{MAIN_SHEET} has occupation type {bad_type['occ_type'][0]!r} for {bad_type['soc_code'][0]} (expected 'Summary' or 'Line item')."
        )
    dups = out.filter(pl.col("soc_code").is_duplicated())["soc_code"].unique().sort()
    if len(dups):
        raise SourceFormatError(path, f"{MAIN_SHEET} lists occupation code(s) {', '.join(dups.head(5).to_list())} more than once.")
    diff = out.select("soc_code", (pl.col("exits_k") + pl.col("transfers_k") - pl.col("separations_k")).abs().alias("d"))
    worst = diff.sort("d", descending=True).row(0)
    if worst[1] > ROW_TOLERANCE_K + 1e-9:
        raise SourceFormatError(
            path, f"{MAIN_SHEET}: labor force exits + occupational transfers differ from total separations by {worst[1]:.2f} thousand "
                  f"for {worst[0]} (more than rounding allows); the file is damaged or altered."
        )


def _check_totals(out: pl.DataFrame, path: Path, cycle: str) -> None:
    import polars as pl

    total = out.filter(pl.col("soc_code") == "00-0000")
    if total.height != 1:
        raise SourceFormatError(path, f"{MAIN_SHEET} has no 'Total, all occupations' (00-0000) row.")
    lines = out.filter(pl.col("occ_type") == "Line item")
    if lines.height == 0:
        raise SourceFormatError(path, f"{MAIN_SHEET} has no 'Line item' (detailed occupation) rows.")
    tol = total_tolerance_k(lines.height)
    for col, label in SUMMED.items():
        published, summed = total[col][0], lines[col].sum()
        if abs(summed - published) > tol:
            raise SourceFormatError(
                path, f"the {lines.height} detailed occupations' {label} sum to {summed:,.1f} thousand but the published {cycle} "
                      f"total is {published:,.1f} (allowed rounding {tol:.1f}); the file is incomplete or altered."
            )


# -- education, training, wage -----------------------------------------------------------------
def _characteristics(reader: Any, path: Path, sheets: list[str]) -> tuple[pl.DataFrame, list[str]]:
    """Education, experience, training and median wage by SOC code, from whichever tables carry them."""

    parts: dict[str, pl.DataFrame] = {}
    notes: list[str] = []
    for sheet in CHAR_SHEETS:
        if sheet not in sheets:
            continue
        try:
            _, header, body = _table(reader, path, sheet, CODE)
        except SchemaDriftError:
            continue  # a stub sheet ("Table 1.7 moved to Table 1.2")
        cols = _map(header, CHAR, path, sheet, required=False)
        if "code" not in cols:
            continue
        code = _clean(cols["code"])
        sub = body.filter(code.str.contains(SOC_RE))
        for field in ("education", "work_experience", "training", "median_wage"):
            if field not in cols or field in parts:
                continue
            if field == "median_wage":
                expr, topcoded = _wage(sub, cols[field], code, path, sheet)
                if topcoded:
                    notes.append(f"{topcoded} occupation(s) have a top-coded median wage ({_topcoded_text(sub, cols[field])}); stored as that bound.")
            else:
                expr = _text(cols[field])
            parts[field] = sub.select(code.alias("soc_code"), expr.alias(field)).unique("soc_code", keep="first", maintain_order=True)
    missing = [f for f in ("education", "work_experience", "training", "median_wage") if f not in parts]
    if missing:
        labels = ", ".join(repr(CHAR[f][0]) for f in missing)
        looked = ", ".join(s for s in CHAR_SHEETS if s in sheets) or "none of " + ", ".join(CHAR_SHEETS)
        raise SourceFormatError(path, f"no sheet has the column(s) {labels} (looked in {looked}); BLS may have moved them.")
    out = parts["median_wage"]
    for field in ("education", "work_experience", "training"):
        out = out.join(parts[field], on="soc_code", how="full", coalesce=True)
    return out.select("soc_code", "median_wage", "education", "work_experience", "training"), notes


def _topcoded_text(df: pl.DataFrame, col: str) -> str:
    import polars as pl

    vals = df.select(pl.col(col).cast(pl.String).str.strip_chars()).to_series()
    return next((v for v in vals if v and re.match(TOPCODED, v)), "")


def _wage(sub: pl.DataFrame, col: str, code: pl.Expr, path: Path, sheet: str) -> tuple[pl.Expr, int]:
    """Median wage in dollars. '—' is null; a top-coded wage ('>=$239,200') is stored as its bound,
    as the 2022-32 workbook itself publishes it (239200); any other text is an error."""
    import polars as pl

    raw = pl.col(col).cast(pl.String).str.strip_chars()
    top = raw.str.contains(TOPCODED).fill_null(False)
    bound = raw.str.replace_all(r"[^\d.]", "").cast(pl.Float64, strict=False)
    expr = pl.when(top).then(bound).otherwise(_number(col))
    check = sub.select(code.alias("code"), raw.alias("raw"), top.alias("top"), expr.alias("v"))
    bad = check.filter(pl.col("v").is_null() & pl.col("raw").is_not_null() & ~pl.col("raw").is_in(list(MISSING)))
    if bad.height:
        raise SourceFormatError(path, f"{sheet} column {col.strip()!r} has unreadable wage(s), e.g. {bad['raw'][0]!r} for {bad['code'][0]}.")
    return expr, int(check["top"].sum())


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Exactly the columns and types of SCHEMAS['ep_occupations'], in order."""
    import polars as pl

    types = {"string": pl.String, "int16": pl.Int16, "double": pl.Float64}
    schema = SCHEMAS["ep_occupations"]
    return frame.select([pl.col(f.name).cast(types[str(f.type)]) for f in schema])


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]

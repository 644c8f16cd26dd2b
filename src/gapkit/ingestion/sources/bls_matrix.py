"""BLS National Employment Matrix: employment by industry x occupation, base and projected year.

Four published layouts, one normalized table (``nem_matrix``):

a. the full matrix ``matrix.xlsx`` (one long sheet: Industry type/code/title, Occupation
   type/code/title, ``<YYYY> Employment``, percents, ``<YYYY> Employment`` or ``Projected <YYYY>
   Employment``, ...); unit ``MATRIX``;
b. data.bls.gov per-industry exports ``National Employment Matrix_IND_<code>.csv`` (rows are the
   occupations of one industry); unit ``IND:<code>``;
c. data.bls.gov per-occupation exports ``National Employment Matrix_OCC_<soc>.csv`` (rows are the
   industries employing one occupation); unit ``OCC:<soc>``;
d. legacy per-industry workbooks ``ind_<code>.xlsx`` (2014-24 and earlier: industry code and title
   on row 2, year group row 4, header row 5); unit ``IND:<code>``.

(a) and (b)/(c) share one header mapping (regex on normalized header text, never positions).
Quirks handled: codes written ``="53-3032"``, thousands separators, ``Line Item`` vs ``Line item``
(normalized to ``Line item``/``Summary``), employment in thousands, the cycle read from the year
headers (``2022 Employment`` + ``Projected 2032 Employment`` -> ``2022-32``, cross-checked with
``Employment Change, 2022-2032``), browser duplicates (``... (1).csv``). data.bls.gov also offers
the same tables as .xlsx; those are read like the CSV, with the header row found, not assumed.
Rows with neither a code nor an employment value (blank lines, title and note rows) are skipped;
any other row must be complete: a bad code, a missing/unreadable/negative employment value, an
unknown type or a repeated industry x occupation cell is a SourceFormatError, never a dropped row.

What the files cannot say, and what is stored instead:
- an IND export has no industry title or type: title null; type ``Summary`` for codes that are
  summaries by construction (``TE1000``, ``TE1200``, sector ranges such as ``48-490``, two-digit
  sectors ``NN0000``), otherwise ``Line item`` (data.bls.gov's industry pages are line items; the
  291 real 2022-32 exports all are). This structural rule holds for every industry of the 2021-31
  and 2023-33 directories; an export of another summary industry (e.g. ``481000``) is labelled
  ``Line item`` and would double count with its children.
- an OCC export has no occupation title (null); the type is ``Summary`` for ``00-0000``, major and
  minor groups (``NN-0000``, ``NN-NN00``), ``Line item`` for detailed codes (last digit not 0) and
  null for broad codes (``NN-NNN0``), which the NEM uses both ways (``13-1020`` is a line item).
- a legacy workbook has no industry type: ``Summary`` by the structural rule above, else null (the
  474 2014-24 workbooks mix summaries and line items and nothing in one file tells them apart).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.codes import normalize_nem_industry, normalize_soc
from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import check_not_empty_or_html, map_columns, normalize_header, read_csv_text
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source

if TYPE_CHECKING:
    import polars as pl

URL = "https://www.bls.gov/emp/ind-occ-matrix/matrix.xlsx"

SCHEMAS: dict[str, pa.Schema] = {
    "nem_matrix": pa.schema([
        ("cycle", pa.string()), ("industry_code", pa.string()), ("industry_title", pa.string()),
        ("industry_type", pa.string()), ("occupation_code", pa.string()), ("occupation_title", pa.string()),
        ("occupation_type", pa.string()), ("emp_base_k", pa.float64()), ("emp_proj_k", pa.float64()),
        ("source_file", pa.string()),
    ])
}

EXPORT_NAME = re.compile(r"^National[ _]Employment[ _]Matrix_(IND|OCC)_(.+?)(?: ?\(\d+\))?\.(csv|xlsx)$", re.I)
LEGACY_NAME = re.compile(r"^ind[_-]([0-9A-Za-z,\-]+?)(?: ?\(\d+\))?\.xlsx$", re.I)
MATRIX_NAME = re.compile(r"^(national[ _-]employment[ _-])?matrix(?![a-z]).*\.xlsx$", re.I)

# field -> (published header, regex on normalized header); shared by matrix.xlsx and the exports
SIDE: dict[str, tuple[str, str]] = {
    "ind_type": ("Industry Type", r"^industry type$"),
    "ind_code": ("Industry Code", r"^industry code$"),
    "ind_title": ("Industry Title", r"^industry title$"),
    "occ_type": ("Occupation Type", r"^occupation type$"),
    "occ_code": ("Occupation Code", r"^occupation code$"),
    "occ_title": ("Occupation Title", r"^occupation title$"),
}
EMP = re.compile(r"^(\d{4}) employment$")
EMP_PROJ = re.compile(r"^projected (\d{4}) employment$")
CHANGE = re.compile(r"^employment change, (\d{4}) ?- ?(\d{2,4})$")
SOC_RE = r"^[0-9]{2}-[0-9]{4}$"
NEM_RE = r"^(?:TE[0-9]{4}|[0-9A-Z]{2}[0-9A-Z,\-]{4})$"
STRUCTURAL_SUMMARY = r"^(?:TE1000|TE1200)$|^\d{2}-|0000$"
MISSING = ("—", "–", "-", "")
TYPES = ("Line item", "Summary")


class BlsMatrix(Source):
    name = "bls-matrix"
    title = "BLS National Employment Matrix (industry x occupation)"
    datasets = ("nem_matrix",)
    homepage = "https://www.bls.gov/emp/data/occupational-data.htm"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        # data.bls.gov per-industry/occupation pages are HTML with a download button: those files
        # are only ingested from a local folder (--from).
        return [Remote(URL, "matrix.xlsx")]

    def recognize(self, path: Path, head: bytes) -> bool:
        name = path.name
        return bool(EXPORT_NAME.match(name) or LEGACY_NAME.match(name) or MATRIX_NAME.match(name))

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        path = Path(path)
        m = EXPORT_NAME.match(path.name)
        if m:
            return [parse_export(path, m.group(1).upper(), m.group(2))]
        if LEGACY_NAME.match(path.name):
            return [parse_legacy(path)]
        return [parse_matrix_xlsx(path)]


# -- layouts -----------------------------------------------------------------------------------
def parse_export(path: Path, kind: str, key: str) -> ParsedTable:
    """A data.bls.gov export: one industry's occupations (IND) or one occupation's industries (OCC)."""
    if kind == "IND":
        try:
            code = normalize_nem_industry(key.strip())
        except ValueError:
            raise SourceFormatError(path, f"the file name's industry code {key!r} is not a National Employment Matrix code (e.g. 484000, 48-490).") from None
        unit = f"IND:{code}"
    else:
        try:
            code = normalize_soc(key.strip())
        except ValueError:
            raise SourceFormatError(path, f"the file name's occupation code {key!r} is not a SOC code (NN-NNNN).") from None
        unit = f"OCC:{code}"
    if path.suffix.lower() == ".xlsx":
        sheet, raw = _read_sheet(path, r"matrix|industry|occupation")
        pattern = SIDE["occ_code" if kind == "IND" else "ind_code"][1]
        df = _with_header(raw, [pattern], path, sheet)
    else:
        sheet, df = None, read_csv_text(path, origin=path)
    cycle, frame = export_frame(df, kind, code, path, sheet=sheet)
    return ParsedTable("nem_matrix", cycle, unit, frame)


def export_frame(df: pl.DataFrame, kind: str, code: str, path: Path, *, sheet: str | None = None) -> tuple[str, pl.DataFrame]:
    """An export's rows (all-string columns, header as published) -> (cycle, normalized rows)."""
    import polars as pl

    y0, y1, base, proj = emp_columns(df.columns, path, sheet)
    cycle = _cycle(y0, y1)
    if kind == "IND":
        c = _map(df.columns, {k: SIDE[k] for k in ("occ_title", "occ_code", "occ_type")}, path, sheet)
        ind_type = "Summary" if re.search(STRUCTURAL_SUMMARY, code) else "Line item"
        cols = {
            "industry_code": pl.lit(code), "industry_title": pl.lit(None, pl.String), "industry_type": pl.lit(ind_type),
            "occupation_code": _code(c["occ_code"]), "occupation_title": _text(c["occ_title"]), "occupation_type": _type(c["occ_type"]),
        }
        nullable: set[str] = set()
    else:
        c = _map(df.columns, {k: SIDE[k] for k in ("ind_title", "ind_code", "ind_type")}, path, sheet)
        cols = {
            "industry_code": _code(c["ind_code"]), "industry_title": _text(c["ind_title"]), "industry_type": _type(c["ind_type"]),
            "occupation_code": pl.lit(code), "occupation_title": pl.lit(None, pl.String),
            "occupation_type": pl.lit(_occupation_type(code), pl.String),
        }
        nullable = {"occupation_type"}
    return cycle, _assemble(df, cols, (base, proj), (base, proj), path, cycle, nullable, what="the export")


def parse_legacy(path: Path) -> ParsedTable:
    """A legacy per-industry workbook (``ind_<code>.xlsx``, 2014-24 and earlier)."""
    sheet, raw = _read_sheet(path, r"matrix")
    cycle, code, frame = legacy_frame(raw, path, sheet)
    return ParsedTable("nem_matrix", cycle, f"IND:{code}", frame)


def legacy_frame(raw: pl.DataFrame, path: Path, sheet: str) -> tuple[str, str, pl.DataFrame]:
    """The legacy sheet read with no header -> (cycle, industry code, normalized rows)."""
    import polars as pl

    h = _header_index(raw, [r"^code$", r"^occupation type$"])
    if h is None:
        first = [str(v) for r in range(min(raw.height, 6)) for v in raw.row(r) if v is not None]
        raise SchemaDriftError(path, ["Code", "Title", "Employment", "Occupation type (header row)"], first, sheet)
    header = [normalize_header(v) if v is not None else "" for v in raw.row(h)]
    ident = None
    for r in range(h):
        cell = str(raw.row(r)[0] or "").strip()
        m = re.match(r"^(TE\d{4}|[0-9A-Z]{2}[0-9A-Z,\-]{4})\s+(\S.*)$", cell)
        if m:
            ident = m
            break
    if ident is None:
        raise SourceFormatError(path, f"the rows above the header of sheet {sheet!r} do not name the industry (e.g. '48-490 Transportation and warehousing').")
    ind_code, ind_title = ident.group(1), ident.group(2).strip()
    # years sit in the group row above the header, over the first column of each year's block
    group = list(raw.row(h - 1)) if h else []
    emp_idx = [i for i, name in enumerate(header) if name == "employment"]
    years: list[int] = []
    for i in emp_idx:
        year = next((int(float(str(group[j]).strip())) for j in range(i, -1, -1)
                     if group[j] is not None and re.match(r"^\d{4}(\.0+)?$", str(group[j]).strip())), None)
        if year is not None:
            years.append(year)
    if len(emp_idx) < 2 or len(years) != len(emp_idx) or len(set(years)) < 2:
        raise SourceFormatError(path, f"sheet {sheet!r} should have an 'Employment' column under each year of its year row (e.g. 2014 ... 2024).")
    pairs = sorted(zip(years, emp_idx, strict=True))
    (y0, i_base), (y1, i_proj) = pairs[0], pairs[-1]
    try:
        i_code, i_title, i_type = header.index("code"), header.index("title"), header.index("occupation type")
    except ValueError:
        raise SchemaDriftError(path, ["Code", "Title", "Occupation type"], [str(v) for v in raw.row(h) if v is not None], sheet) from None
    cols = raw.columns
    body = raw.slice(h + 1)
    ind_type = "Summary" if re.search(STRUCTURAL_SUMMARY, ind_code) else None
    spec = {
        "industry_code": pl.lit(ind_code), "industry_title": pl.lit(ind_title), "industry_type": pl.lit(ind_type, pl.String),
        "occupation_code": _code(cols[i_code]), "occupation_title": _text(cols[i_title]), "occupation_type": _type(cols[i_type]),
    }
    cycle = _cycle(y0, y1)
    out = _assemble(body, spec, (cols[i_base], cols[i_proj]), (f"{y0} Employment", f"{y1} Employment"), path, cycle,
                    {"industry_type"}, what=f"sheet {sheet!r}")
    return cycle, ind_code, out


def parse_matrix_xlsx(path: Path) -> ParsedTable:
    sheet, raw = _read_sheet(path, r"matrix")
    df = _with_header(raw, [SIDE["ind_code"][1], SIDE["occ_code"][1]], path, sheet)
    cycle, out = matrix_frame(df, path, sheet=sheet)
    return ParsedTable("nem_matrix", cycle, "MATRIX", out)


def matrix_frame(df: pl.DataFrame, path: Path, *, sheet: str | None = None) -> tuple[str, pl.DataFrame]:
    """The full matrix's long sheet (all-string columns, header as published) -> (cycle, normalized rows)."""

    c = _map(df.columns, SIDE, path, sheet)
    y0, y1, base, proj = emp_columns(df.columns, path, sheet)
    spec = {
        "industry_code": _code(c["ind_code"]), "industry_title": _text(c["ind_title"]), "industry_type": _type(c["ind_type"]),
        "occupation_code": _code(c["occ_code"]), "occupation_title": _text(c["occ_title"]), "occupation_type": _type(c["occ_type"]),
    }
    cycle = _cycle(y0, y1)
    return cycle, _assemble(df, spec, (base, proj), (base, proj), path, cycle, set(), what="the matrix sheet")


# -- shared header mapping ---------------------------------------------------------------------
def emp_columns(columns: list[str], path: Path, sheet: str | None = None) -> tuple[int, int, str, str]:
    """(base year, projected year, base column, projected column) from the year headers:
    '2022 Employment' + 'Projected 2032 Employment' (data.bls.gov) or '2024 Employment' +
    '2034 Employment' (matrix.xlsx); cross-checked with 'Employment Change, 2022-2032'."""
    plain = sorted((int(m.group(1)), c) for c in columns if (m := EMP.match(normalize_header(c))))
    projected = sorted((int(m.group(1)), c) for c in columns if (m := EMP_PROJ.match(normalize_header(c))))
    if projected:
        y1, proj = projected[-1]
        earlier = [t for t in plain if t[0] < y1]
        if not earlier:
            raise SchemaDriftError(path, ["<base year> Employment"], list(columns), sheet)
        y0, base = earlier[0]
    elif len({y for y, _ in plain}) >= 2:
        (y0, base), (y1, proj) = plain[0], plain[-1]
    else:
        raise SchemaDriftError(path, ["<base year> Employment", "Projected <year> Employment"], list(columns), sheet)
    if not 1 <= y1 - y0 <= 20:
        raise SourceFormatError(path, f"the employment columns are for {y0} and {y1}, not a projection cycle.")
    for col in columns:
        m = CHANGE.match(normalize_header(col))
        if m:
            a, b = int(m.group(1)), m.group(2)
            end = int(b) if len(b) == 4 else (a // 100) * 100 + int(b)
            if (a, end) != (y0, y1):
                raise SourceFormatError(path, f"the header mixes cycles: employment columns are {y0} and {y1} but {col!r} says {a}-{b}.")
    return y0, y1, base, proj


def _map(columns: list[str], fields: dict[str, tuple[str, str]], path: Path, sheet: str | None) -> dict[str, str]:
    """map_columns naming the field and its published header in errors ('occ_code (Occupation Code)')."""
    found = map_columns(list(columns), {f"{k} ({label})": rx for k, (label, rx) in fields.items()}, path=path, sheet=sheet)
    return {k.split(" (", 1)[0]: v for k, v in found.items()}


def _cycle(y0: int, y1: int) -> str:
    return f"{y0}-{y1 % 100:02d}"


# -- reading xlsx ------------------------------------------------------------------------------
def _read_sheet(path: Path, prefer: str) -> tuple[str, pl.DataFrame]:
    """The workbook's matrix sheet (name matching ``prefer``, else the first) as strings, no header.
    Opens the workbook once (474 legacy workbooks are read per ingest)."""
    import fastexcel

    head = check_not_empty_or_html(path, "an Excel workbook (.xlsx)")
    if not head.startswith(b"PK"):
        raise SourceFormatError(path, "the file is not an Excel .xlsx workbook (it is not a zip container).")
    try:
        reader = fastexcel.read_excel(path.read_bytes())  # from memory: a little faster than by path
        names = list(reader.sheet_names)
    except Exception as exc:  # calamine raises its own error types
        raise SourceFormatError(path, f"the workbook cannot be opened ({_short(exc)}); it may be truncated or corrupt.") from None
    if not names:
        raise SourceFormatError(path, "the workbook has no sheets.")
    sheet = next((s for s in names if re.search(prefer, s, re.I)), names[0])
    try:
        return sheet, reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as exc:
        raise SourceFormatError(path, f"sheet {sheet!r} cannot be read ({_short(exc)}); the workbook may be truncated or corrupt.") from None


def _header_index(raw: pl.DataFrame, patterns: list[str], max_rows: int = 15) -> int | None:
    rxs = [re.compile(p) for p in patterns]
    for i in range(min(raw.height, max_rows)):
        cells = [normalize_header(v) for v in raw.row(i) if v is not None]
        if all(any(rx.search(c) for c in cells) for rx in rxs):
            return i
    return None


def _with_header(raw: pl.DataFrame, patterns: list[str], path: Path, sheet: str) -> pl.DataFrame:
    """Rows below the header row (the first top row holding every pattern), named by that header."""
    h = _header_index(raw, patterns)
    if h is None:
        first = [str(v) for r in range(min(raw.height, 3)) for v in raw.row(r) if v is not None]
        raise SchemaDriftError(path, [p.strip("^$") for p in patterns], first, sheet)
    names: list[str] = []
    for i, v in enumerate(raw.row(h)):
        n = str(v).strip() if v is not None else f"column_{i}"
        names.append(n if n not in names else f"{n}_{i}")
    return raw.slice(h + 1).rename(dict(zip(raw.columns, names, strict=True)))


# -- expressions and checks --------------------------------------------------------------------
def _code(col: str) -> pl.Expr:
    """A code cell: '="53-3032"' -> '53-3032', stripped (literal string ops: no regex to compile per file)."""
    import polars as pl

    return pl.col(col).cast(pl.String).str.strip_chars().str.strip_prefix("=").str.strip_chars('"').str.strip_chars()


def _text(col: str) -> pl.Expr:
    import polars as pl

    s = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(s.is_null() | s.is_in(list(MISSING))).then(None).otherwise(s)


def _type(col: str) -> pl.Expr:
    import polars as pl

    s = pl.col(col).cast(pl.String).str.strip_chars()
    low = s.str.to_lowercase()
    return pl.when(low == "line item").then(pl.lit("Line item")).when(low == "summary").then(pl.lit("Summary")).otherwise(s)


def _occupation_type(soc: str) -> str | None:
    if soc.endswith("00"):
        return "Summary"  # total, major and minor groups
    if soc.endswith("0"):
        return None  # a broad code: the NEM publishes some as line items (13-1020), most as summaries
    return "Line item"


def _assemble(
    df: pl.DataFrame,
    spec: dict[str, pl.Expr],
    emp: tuple[str, str],
    labels: tuple[str, str],
    path: Path,
    cycle: str,
    nullable: set[str],
    *,
    what: str,
) -> pl.DataFrame:
    """Normalized rows and every check in one query (hundreds of small files are parsed per ingest:
    per-query overhead, not data, is what costs); then explain the first failure, if any.

    A row with neither a valid code nor an employment value carries no data (a blank line, a title or
    footnote row of a workbook) and is skipped; every other row must be complete and valid, so no
    data-bearing row is ever dropped silently. ``nullable``: type columns the layout cannot fill."""
    import polars as pl

    occ_ok = pl.col("occupation_code").str.contains(SOC_RE).fill_null(False)
    ind_ok = pl.col("industry_code").str.contains(NEM_RE).fill_null(False)
    lf = df.lazy().select(
        pl.lit(cycle).alias("cycle"),
        *[e.alias(k) for k, e in spec.items()],
        _number(emp[0]).alias("emp_base_k"), _number(emp[1]).alias("emp_proj_k"),
        pl.lit(Path(path).name).alias("source_file"),
        pl.col(emp[0]).cast(pl.String).alias("_raw_base"), pl.col(emp[1]).cast(pl.String).alias("_raw_proj"),
    )

    def empty(c: str) -> pl.Expr:
        return pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "")

    lf = lf.filter(~(empty("_raw_base") & empty("_raw_proj") & ~(occ_ok & ind_ok)))

    def bad_type(k: str) -> pl.Expr:
        v = pl.col(k)
        return ~((v == TYPES[0]) | (v == TYPES[1])).fill_null(k in nullable)

    checks = {
        "occupation_code": ~occ_ok, "industry_code": ~ind_ok,
        "emp_base_k": pl.col("emp_base_k").is_null() | (pl.col("emp_base_k") < 0),
        "emp_proj_k": pl.col("emp_proj_k").is_null() | (pl.col("emp_proj_k") < 0),
        "industry_type": bad_type("industry_type"), "occupation_type": bad_type("occupation_type"),
        "dup": pl.struct("industry_code", "occupation_code").is_duplicated(),
    }
    out = lf.with_columns(*[e.alias(f"_bad_{k}") for k, e in checks.items()]).collect()
    if out.height == 0:
        raise SourceFormatError(path, f"{what} has a header but no rows with an occupation code (NN-NNNN).")
    counts = {k: int(out[f"_bad_{k}"].sum()) for k in checks}
    if any(counts.values()):
        _explain(out, counts, labels, path)
    return _conform(out)


def _explain(out: pl.DataFrame, counts: dict[str, int], labels: tuple[str, str], path: Path) -> None:
    """Raise the SourceFormatError for the first failed check, with an example row."""
    def first(k: str) -> dict[str, object]:
        return out.filter(out[f"_bad_{k}"]).row(0, named=True)

    for k, desc in (("occupation_code", "an occupation code (NN-NNNN)"), ("industry_code", "an industry code (a 6-character matrix code)")):
        if counts[k]:
            raise SourceFormatError(path, f"{counts[k]} row(s) do not have {desc}, e.g. {first(k)[k]!r}.")
    for k, raw, label in (("emp_base_k", "_raw_base", labels[0]), ("emp_proj_k", "_raw_proj", labels[1])):
        if counts[k]:
            r = first(k)
            raise SourceFormatError(path, f"column {label!r} has {counts[k]} missing, unreadable or negative value(s), "
                                          f"e.g. {r[raw]!r} for {r['industry_code']} x {r['occupation_code']}.")
    for k in ("industry_type", "occupation_type"):
        if counts[k]:
            raise SourceFormatError(path, f"unknown {k.split('_')[0]} type {first(k)[k]!r} (expected 'Summary' or 'Line item').")
    r = first("dup")
    raise SourceFormatError(path, f"{counts['dup']} rows repeat an industry x occupation cell, e.g. {r['industry_code']} x {r['occupation_code']}.")


def _number(col: str) -> pl.Expr:
    """A published number ('1,586.2', '="12"') as Float64; anything else is null (and then an error)."""
    import polars as pl

    return _code(col).str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Exactly the columns and types of SCHEMAS['nem_matrix'], in order (cast only if needed)."""
    import polars as pl

    types = {"string": pl.String, "double": pl.Float64}
    want = {f.name: types[str(f.type)] for f in SCHEMAS["nem_matrix"]}
    out = frame[list(want)]
    if dict(out.schema) != want:
        out = out.cast(want)  # type: ignore[arg-type]
    return out


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


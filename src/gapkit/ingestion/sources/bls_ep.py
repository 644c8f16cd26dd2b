"""BLS Employment Projections: national projections by occupation (`occupation.xlsx`).

Table 1.10 gives employment, separations and openings (thousands); the education and training
assignments and the median wage come from Table 1.2 (2023-33 on) or Tables 1.7 / 5.4 (2022-32 and
earlier); Table 5.3 (2022-32 and earlier workbooks) gives the educational attainment of the workers
25 and older in each occupation, stored as its own dataset (``ep_attainment``).

Sheets and columns are found by meaning, so every cycle since 2018-28 parses alike:
- the separations table is the sheet titled "Occupational separations and openings" ("Table 1.10"
  in every cycle seen so far), the attainment table the one titled "Educational attainment";
- the header row is found, not assumed (the first top row with a "... Matrix title"/"... code"
  cell); a second header row under it (older workbooks group columns: "Employment" over "2018" and
  "2028") is merged into it ("Employment, 2018");
- the code column is the one headed "... Matrix code", or, where the workbook heads title and code
  together ("2018 National Employment Matrix title and code", code column blank), the unlabelled
  column holding the codes;
- headers are matched by what they say: "Employment change, numeric, 2024-34" and "Employment
  change, 2021-31" are the numeric change, "Employment change, percent, ..." and "Percent employment
  change, ..." the percent; a rate is a header with "rate" in it, exits/transfers/separations/
  openings are told apart by those words (so grouped headers such as "Occupational separations,
  2018-28 annual average, Labor force exits" map too);
- `Occupation\ntype`, en dashes and footnote marks (`[1]`, `(1)`) are normalized away; titles are
  stripped of their indentation; `—` is null; a top-coded wage (`>=$239,200`) is stored as its
  bound (as the 2022-32 workbook prints it) and counted in the notes.

The cycle comes from the header text (`Employment, 2024` … `Employment, 2034`, cross-checked with
the `2024-34` ranges of the other headers and the table title).

Checks run on every file (a failure raises SourceFormatError, nothing is returned):
- one `00-0000` row, unique codes, every published number readable, types `Summary`/`Line item`;
- exits + transfers = separations on every row, to the table's rounding (each value is rounded to
  0.1 thousand, so |difference| <= 0.15; the real files never differ by more than 0.1);
- the `Line item` rows sum to the `00-0000` row (employment, separations, openings) within
  4 standard deviations of the sum of n rounding errors: 4 * 0.1/sqrt(12) * sqrt(n) thousand
  (3.3 thousand for the 832 detailed occupations). Real files differ by 0.1 (2022-32), 1.1
  (2023-33) and 1.7 (2024-34) thousand in openings, and at most 2.0 in any checked column;
- Table 5.3: every share readable and within 0-100; each row's seven shares sum to 100 within their
  rounding (seven values rounded to 0.1: |sum - 100| <= 0.35; the 2022-32 file never differs by
  more than 0.2); rows outside that are listed in the notes, a row more than 5 points off is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import lists_sheet, map_columns, normalize_header, xlsx_sheets
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source

if TYPE_CHECKING:
    import polars as pl

URL = "https://www.bls.gov/emp/ind-occ-matrix/occupation.xlsx"
# The agency's name claims a file (a browser may add " (1)", a person a cycle), so a damaged
# download is reported rather than skipped; any other workbook must hold a "Table 1.10" sheet.
NAME = re.compile(r"^occupation[^a-z]*\.xlsx$", re.I)
MAIN_SHEET = "Table 1.10"
MAIN_TITLE = r"occupational separations and openings"
ATTAINMENT_SHEET = "Table 5.3"
ATTAINMENT_TITLE = r"educational attainment"
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
    ]),
    # Table 5.3, long: one row per occupation and attainment level. share is the published percent / 100.
    # acs_exact_match is False where BLS footnotes the title as "not an exact match with ACS" (the shares
    # are those of a broader ACS occupation), null where a title carries a footnote the file does not explain.
    "ep_attainment": pa.schema([
        ("cycle", pa.string()), ("soc_code", pa.string()), ("title", pa.string()), ("occ_type", pa.string()),
        ("acs_exact_match", pa.bool_()), ("level", pa.string()), ("level_rank", pa.int8()),
        ("level_label", pa.string()), ("share", pa.float64()), ("source_file", pa.string()),
    ]),
}

CODE = r"matrix (occupation )?code$|^occupation code$|^code$"
TITLE = r"matrix (occupation )?title\b|^occupation title$|^title$"
TITLE_AND_CODE = r"title and code\b"
# field -> (what the header says today, regex on the normalized header: the meaning, not the wording).
# "Employment change, numeric, 2024-34" / "Employment change, 2021-31" / "Employment change, 2018-28, Number";
# "Employment change, percent, 2024-34" / "Percent employment change, 2021-31"; a rate says "rate"; the
# grouped headers of older workbooks ("Occupational separations rate, 2018-28 annual average, Labor force
# exits") carry the same words.
NOT_RATE = r"^(?!.*\brate\b)"
T110: dict[str, tuple[str, str]] = {
    "type": ("Occupation type", r"^occupation type$"),
    "emp_change_pct": ("Employment change, percent", r"^employment change\b.*\bpercent\b|^percent employment change\b"),
    "emp_change_k": ("Employment change, numeric", r"^employment change\b(?!.*\bpercent\b)"),
    "exit_rate": ("Labor force exit rate", r"\bexits?\b.*\brate\b|\brate\b.*\bexits?\b"),
    "transfer_rate": ("Occupational transfer rate", r"\btransfers?\b.*\brate\b|\brate\b.*\btransfers?\b"),
    "separations_rate": ("Total occupational separations rate", r"^(?!.*\b(exits?|transfers?)\b).*\bseparations rate\b"),
    "exits_k": ("Labor force exits", NOT_RATE + r".*\bexits\b"),
    "transfers_k": ("Occupational transfers", NOT_RATE + r".*\btransfers\b"),
    "separations_k": ("Total occupational separations", r"^(?!.*\b(rate|exits|transfers)\b).*\bseparations\b"),
    # "occupational openings" only: the "Job openings due to growth and replacements" of the 2014-24 and earlier
    # workbooks are ten-year totals under the retired replacement-needs method, not annual openings.
    "openings_k": ("Occupational openings", NOT_RATE + r".*\boccupational openings\b"),
}
EMP_YEAR = re.compile(r"^employment,? (\d{4})$")
RANGE = re.compile(r"\b(\d{4}) ?- ?(\d{2}|\d{4})\b")
CHAR: dict[str, tuple[str, str]] = {
    "education": ("Typical education needed for entry", r"^typical education needed for entry"),
    "work_experience": ("Work experience in a related occupation", r"^work experience in a related occupation"),
    "training": ("Typical on-the-job training", r"^typical on-the-job training"),
    "median_wage": ("Median annual wage", r"^median annual wage"),
}
# Table 5.3 columns: key -> (rank, published label, regex). Ranks order the levels low to high.
ATTAINMENT: dict[str, tuple[int, str, str]] = {
    "less_than_hs": (1, "Less than high school diploma", r"^less than (a )?high school"),
    "high_school": (2, "High school diploma or equivalent", r"^high school diploma"),
    "some_college": (3, "Some college, no degree", r"^some college"),
    "associate": (4, "Associate's degree", r"^associate\W?s degree"),
    "bachelor": (5, "Bachelor's degree", r"^bachelor\W?s degree"),
    "master": (6, "Master's degree", r"^master\W?s degree"),
    "doctoral_professional": (7, "Doctoral or professional degree", r"^doctoral or professional degree"),
}
ATTAINMENT_ROW_TOLERANCE = 0.35 + 1e-9  # seven percents each rounded to 0.1
ATTAINMENT_ROW_LIMIT = 5.0  # a row further than this from 100 is not a percent distribution: refused
NOT_EXACT = r"not an exact match"
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


@dataclass(frozen=True)
class _Sheet:
    """One "Table x.y" sheet: its title text, merged header, body rows, and which columns hold code and title."""

    name: str
    title: str
    header: list[str]
    body: pl.DataFrame
    code: str
    label: str | None  # the title column


class BlsEp(Source):
    name = "bls-ep"
    title = "BLS Employment Projections, occupation.xlsx (Table 1.10 + education/training)"
    datasets = ("ep_occupations", "ep_attainment")
    homepage = "https://www.bls.gov/emp/data/occupational-data.htm"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        return [Remote(URL, "occupation.xlsx")]

    def recognize(self, path: Path, head: bytes) -> bool:
        if NAME.match(path.name):
            return True
        if path.suffix.lower() != ".xlsx" or not head.startswith(b"PK"):
            return False
        return lists_sheet(path, MAIN_SHEET)

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        import polars as pl

        path = Path(path)
        sheets = xlsx_sheets(path)
        reader = _open(path)
        main = _find_sheet(reader, sheets, MAIN_TITLE, MAIN_SHEET)
        if main is None:
            raise SourceFormatError(
                path, f"the workbook has no sheet {MAIN_SHEET!r} nor any table titled 'Occupational separations and openings' "
                      f"(it has {', '.join(sheets) or 'no sheets'}); it is not the BLS occupation.xlsx."
            )
        t = _table(reader, path, main, require_title=True)
        cols = _map(t.header, T110, path, main)
        base_year, proj_year, cols["emp_base_k"], cols["emp_proj_k"] = _years(t.header, t.title, path, main)
        cycle = f"{base_year}-{proj_year % 100:02d}"

        code = _clean(t.code)
        df = t.body.filter(code.str.contains(SOC_RE))
        if df.height == 0:
            raise SourceFormatError(path, f"{main} has no rows with an occupation code (NN-NNNN).")
        _check_numbers(df, {k: cols[k] for k in NUMERIC}, code, path, main)
        occ_type = _clean(cols["type"]).str.to_lowercase()
        assert t.label is not None
        out = df.select(
            pl.lit(cycle).alias("cycle"),
            pl.lit(base_year, pl.Int16).alias("base_year"),
            pl.lit(proj_year, pl.Int16).alias("proj_year"),
            code.alias("soc_code"),
            _clean(t.label).alias("title"),
            pl.when(occ_type == "line item").then(pl.lit("Line item"))
            .when(occ_type == "summary").then(pl.lit("Summary"))
            .otherwise(_clean(cols["type"])).alias("occ_type"),
            *[_number(cols[k]).alias(k) for k in NUMERIC],
        )
        _check_rows(out, path, main)
        chars, notes = _characteristics(reader, path, sheets)
        out = out.join(chars, on="soc_code", how="left").with_columns(pl.lit(path.name).alias("source_file"))
        out = _conform(out, "ep_occupations")
        _check_totals(out, path, cycle, main)
        lines = out.filter(pl.col("occ_type") == "Line item")
        no_edu = lines.filter(pl.col("education").is_null()).height
        if no_edu:
            notes.append(f"{no_edu} detailed occupation(s) have no typical entry education in {path.name}.")
        tables = [ParsedTable("ep_occupations", cycle, "occupation", out, notes)]
        attainment = _attainment(reader, path, sheets, cycle, out)
        if attainment is not None:
            tables.append(attainment)
        return tables


# -- reading -----------------------------------------------------------------------------------
def _open(path: Path) -> Any:
    import fastexcel

    try:
        return fastexcel.read_excel(str(path))
    except Exception as exc:  # calamine raises its own error types
        raise SourceFormatError(path, f"the workbook cannot be opened ({_short(exc)}); it may be truncated or corrupt.") from None


def _load(reader: Any, path: Path, sheet: str) -> pl.DataFrame:
    try:
        return reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as exc:  # calamine raises its own error types
        raise SourceFormatError(path, f"sheet {sheet!r} cannot be read ({_short(exc)}); the workbook may be truncated or corrupt.") from None


def _find_sheet(reader: Any, sheets: list[str], title: str, default: str) -> str | None:
    """The "Table x.y" sheet whose title (first rows) matches ``title``; else ``default`` if the workbook has it.

    BLS has kept the separations table at 1.10 and attainment at 5.3 in every cycle seen, but a table
    is identified by what it is, so a renumbering does not lose it.
    """
    rx = re.compile(title)
    for sheet in sheets:
        if not re.match(r"^table \d+\.\d+$", sheet.strip().lower()):
            continue
        try:
            top = reader.load_sheet(sheet, header_row=None, dtypes="string", n_rows=2).to_polars()
        except Exception:  # an unreadable sheet is reported when it is read for real
            continue
        text = " ".join(normalize_header(v) for r in top.iter_rows() for v in r if v is not None)
        if rx.search(text):
            return sheet
    return default if default in sheets else None


def _table(reader: Any, path: Path, sheet: str, *, require_title: bool = False) -> _Sheet:
    """A "Table x.y" sheet read by meaning (see the module docstring): the header row is the first of the
    top rows naming a title or code column (row 2 in every cycle so far); header rows between it and the
    first coded row are merged into it; the code column is found by its header or, under a combined
    "title and code" header, by its content."""
    raw = _load(reader, path, sheet)
    head_rx = re.compile(f"{CODE}|{TITLE}")
    top = min(raw.height, 10)
    i = next((r for r in range(top) if any(head_rx.search(normalize_header(v)) for v in raw.row(r) if v is not None)), None)
    if i is None:
        first = [str(v) for v in raw.row(0)] if raw.height else []
        raise SchemaDriftError(path, ["National Employment Matrix code (header row)"], [c for c in first if c != "None"], sheet)
    soc = re.compile(SOC_RE)
    start = next((r for r in range(i + 1, min(raw.height, i + 5)) if any(soc.match(_cell(v)) for v in raw.row(r))), i + 1)
    # grouping rows above it (cells beyond the first column: the table title sits in column A alone), the header
    # row, and the sub-heading rows down to the first coded row
    above = [r for r in range(1, i) if any(v is not None for v in raw.row(r)[1:])]
    rows = [raw.row(r) for r in [*above, i, *range(i + 1, start)]]
    header = _unique(_merge_header(rows[0], rows[1:]))
    title = " ".join(str(v) for r in range(i) if r not in above for v in raw.row(r) if v is not None)
    body = raw.slice(start).rename(dict(zip(raw.columns, header, strict=True)))
    norm = {c: normalize_header(c) for c in header}
    label = next((c for c in header if re.search(TITLE, norm[c])), None)
    code = next((c for c in header if c != label and re.search(CODE, norm[c])), None)
    if code is None and label is not None and re.search(TITLE_AND_CODE, norm[label]):
        code = _code_by_content(body, [c for c in header if c != label and (c.startswith("column_") or re.search(TITLE_AND_CODE, norm[c]))])
    if code is None:
        raise SchemaDriftError(path, ["National Employment Matrix code"], header, sheet)
    if require_title and label is None:
        raise SchemaDriftError(path, ["National Employment Matrix title"], header, sheet)
    return _Sheet(sheet, title, header, body, code, label)


def _cell(v: object) -> str:
    return re.sub(r'^="?(.*?)"?$', r"\1", str(v).strip()) if v is not None else ""


def _merge_header(top: tuple[Any, ...], subs: list[tuple[Any, ...]]) -> list[str]:
    """One name per column from a header row and the header rows under it: a grouping cell ("Employment")
    spans the blank cells to its right that have a sub-heading ("2018", "2028"); the parts are joined
    with ", " so the result reads like a one-row header ("Employment, 2018")."""
    names = [str(v).strip() if v is not None else "" for v in top]
    for sub in subs:
        group = ""
        merged = []
        for j, v in enumerate(sub):
            part = re.sub(r"^(\d{4})\.0$", r"\1", str(v).strip()) if v is not None else ""
            # a blank grouping cell continues the group to its left over sub-headings ("2028", "Percent"), but not
            # over a cell that is a whole header by itself ("Occupational openings, 2018-28 annual average")
            whole = bool(RANGE.search(normalize_header(part)) or re.search(f"{CODE}|{TITLE}", normalize_header(part)))
            group = names[j] or (group if part and not whole else "")
            merged.append(", ".join(x for x in (group, part) if x))
        names = merged
    return names


def _code_by_content(body: pl.DataFrame, candidates: list[str]) -> str | None:
    """The candidate column with the most NN-NNNN codes in it (the unlabelled code column of older workbooks)."""
    best, hits = None, 0
    for c in candidates:
        n = body.select(_clean(c).str.contains(SOC_RE).fill_null(False).sum()).item()
        if n > hits:
            best, hits = c, n
    return best


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        n = n or f"column_{i}"
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


def _map(header: list[str], fields: dict[str, tuple[str, str]], path: Path, sheet: str, required: bool = True) -> dict[str, str]:
    """map_columns with the published header text in the error ('openings_k (Occupational openings)')."""
    labelled = {f"{k} ({label})": rx for k, (label, rx) in fields.items()}
    found = map_columns(header, labelled, path=path, sheet=sheet, required=None if required else [])
    return {k.split(" (", 1)[0]: v for k, v in found.items()}


def _years(header: list[str], title: str, path: Path, sheet: str) -> tuple[int, int, str, str]:
    """Base and projected year from 'Employment, 2024' / 'Employment, 2034', cross-checked with the
    '2024-34' ranges of the other headers and of the table title."""
    emp = sorted(((int(m.group(1)), c) for c in header if (m := EMP_YEAR.match(normalize_header(c)))), key=lambda t: t[0])
    if len(emp) < 2 or emp[0][0] == emp[-1][0]:
        raise SchemaDriftError(path, ["Employment, <base year>", "Employment, <projected year>"], header, sheet)
    (y0, base), (y1, proj) = emp[0], emp[-1]
    if not 1 <= y1 - y0 <= 20:
        raise SourceFormatError(path, f"{sheet} has employment columns for {y0} and {y1}, not a projection cycle.")
    for text in [*header, title]:
        for m in RANGE.finditer(normalize_header(text)):
            a, b = int(m.group(1)), m.group(2)
            end = int(b) if len(b) == 4 else (a // 100) * 100 + int(b)
            if (a, end) != (y0, y1) and 1 <= end - a <= 20:
                raise SourceFormatError(
                    path, f"{sheet} mixes cycles: employment columns are {y0} and {y1} but {text.strip()!r} says {a}-{b}."
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
def _check_numbers(df: pl.DataFrame, cols: dict[str, str], code: pl.Expr, path: Path, sheet: str) -> None:
    """Every Table 1.10 number must be published and readable: a blank, a dash or text is a bad file."""
    import polars as pl

    for field, col in cols.items():
        bad = df.select(code.alias("code"), pl.col(col).alias("value"), _number(col).alias("n")).filter(pl.col("n").is_null())
        if bad.height:
            code_, value = bad.row(0)[:2]
            raise SourceFormatError(
                path, f"{sheet} column {col.strip()!r} ({field}) has {bad.height} unreadable or missing value(s), e.g. {value!r} for {code_}."
            )


def _check_rows(out: pl.DataFrame, path: Path, sheet: str) -> None:
    import polars as pl

    bad_type = out.filter(~pl.col("occ_type").is_in(["Line item", "Summary"]) | pl.col("occ_type").is_null())
    if bad_type.height:
        raise SourceFormatError(
            path, f"{sheet} has occupation type {bad_type['occ_type'][0]!r} for {bad_type['soc_code'][0]} (expected 'Summary' or 'Line item')."
        )
    dups = out.filter(pl.col("soc_code").is_duplicated())["soc_code"].unique().sort()
    if len(dups):
        raise SourceFormatError(path, f"{sheet} lists occupation code(s) {', '.join(dups.head(5).to_list())} more than once.")
    diff = out.select("soc_code", (pl.col("exits_k") + pl.col("transfers_k") - pl.col("separations_k")).abs().alias("d"))
    worst = diff.sort("d", descending=True).row(0)
    if worst[1] > ROW_TOLERANCE_K + 1e-9:
        raise SourceFormatError(
            path, f"{sheet}: labor force exits + occupational transfers differ from total separations by {worst[1]:.2f} thousand "
                  f"for {worst[0]} (more than rounding allows); the file is damaged or altered."
        )


def _check_totals(out: pl.DataFrame, path: Path, cycle: str, sheet: str) -> None:
    import polars as pl

    total = out.filter(pl.col("soc_code") == "00-0000")
    if total.height != 1:
        raise SourceFormatError(path, f"{sheet} has no 'Total, all occupations' (00-0000) row.")
    lines = out.filter(pl.col("occ_type") == "Line item")
    if lines.height == 0:
        raise SourceFormatError(path, f"{sheet} has no 'Line item' (detailed occupation) rows.")
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
            t = _table(reader, path, sheet)
        except SchemaDriftError:
            continue  # a stub sheet ("Table 1.7 moved to Table 1.2")
        cols = _map(t.header, CHAR, path, sheet, required=False)
        code = _clean(t.code)
        sub = t.body.filter(code.str.contains(SOC_RE))
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


# -- educational attainment (Table 5.3) ----------------------------------------------------------
def _attainment(reader: Any, path: Path, sheets: list[str], cycle: str, ep: pl.DataFrame) -> ParsedTable | None:
    """Table 5.3 as long rows (occupation x attainment level, share 0-1); None when the workbook has no such
    table (2023-33 on). Titles lose their footnote mark; a mark whose footnote says the occupation is "not an
    exact match with ACS" sets acs_exact_match False."""
    import polars as pl

    sheet = _find_sheet(reader, sheets, ATTAINMENT_TITLE, ATTAINMENT_SHEET)
    if sheet is None:
        return None
    t = _table(reader, path, sheet, require_title=True)
    fields = {k: (label, rx) for k, (_, label, rx) in ATTAINMENT.items()}
    cols = _map(t.header, fields, path, sheet)
    assert t.label is not None
    code = _clean(t.code)
    rows = t.body.filter(code.str.contains(SOC_RE).fill_null(False))
    if rows.height == 0:
        raise SourceFormatError(path, f"{sheet} has no rows with an occupation code (NN-NNNN).")
    _check_numbers(rows, cols, code, path, sheet)
    dups = rows.filter(code.is_duplicated())
    if dups.height:
        raise SourceFormatError(path, f"{sheet} lists occupation code(s) {', '.join(sorted(set(dups.select(code).to_series()))[:5])} more than once.")
    title = _clean(t.label)
    mark = title.str.extract(r"\s*[\[(](\d+)[\])]\s*$", 1)
    wide = rows.select(
        code.alias("soc_code"),
        title.str.replace(r"\s*[\[(]\d+[\])]\s*$", "").alias("title"),
        mark.alias("mark"),
        *[(_number(cols[k]) / 100).alias(k) for k in ATTAINMENT],
    )
    notes: list[str] = []
    bad = wide.filter(pl.any_horizontal([(pl.col(k) < 0) | (pl.col(k) > 1) for k in ATTAINMENT]))
    if bad.height:
        raise SourceFormatError(path, f"{sheet} has a share outside 0-100 percent for {bad['soc_code'][0]}; the file is damaged or altered.")
    sums = wide.select("soc_code", (pl.sum_horizontal(list(ATTAINMENT)) * 100 - 100).alias("d"))
    off = sums.filter(pl.col("d").abs() > ATTAINMENT_ROW_TOLERANCE).sort("soc_code")
    if off.height:
        worst = off.sort(pl.col("d").abs(), descending=True).row(0)
        if abs(worst[1]) > ATTAINMENT_ROW_LIMIT:
            raise SourceFormatError(path, f"{sheet}: the attainment shares of {worst[0]} sum to {100 + worst[1]:.1f} percent, not 100; "
                                          "the file is damaged or altered.")
        listed = ", ".join(f"{c} ({100 + d:.1f})" for c, d in off.head(10).iter_rows())
        notes.append(f"{off.height} occupation(s) in {sheet} have attainment shares summing to more than rounding allows from 100 "
                     f"percent: {listed}{' …' if off.height > 10 else ''}; stored as published.")
    exact = _footnotes(t.body, t.label, NOT_EXACT)
    known = ep.select("soc_code", "occ_type")
    wide = wide.join(known, on="soc_code", how="left").with_columns(
        pl.when(pl.col("mark").is_null()).then(pl.lit(True))
        .when(pl.col("mark").is_in(exact)).then(pl.lit(False))
        .otherwise(pl.lit(None, pl.Boolean)).alias("acs_exact_match")
    )
    unknown = wide.filter(pl.col("occ_type").is_null())["soc_code"].to_list()
    if unknown:
        notes.append(f"{len(unknown)} code(s) in {sheet} are not in the projections table ({', '.join(unknown[:10])}); kept without an occupation type.")
    lines = set(ep.filter(pl.col("occ_type") == "Line item")["soc_code"])
    absent = sorted(lines - set(wide["soc_code"]))
    if absent:
        notes.append(f"{len(absent)} detailed occupation(s) have no attainment row in {sheet} ({', '.join(absent[:10])}).")
    proxies = wide.filter(pl.col("acs_exact_match").not_()).height
    if proxies:
        notes.append(f"{proxies} occupation(s) in {sheet} are footnoted as not an exact match with the ACS: their shares are those of a "
                     "broader ACS occupation.")
    years = re.findall(r"\b(?:19|20)\d\d\b", t.title.split("occupation", 1)[-1])
    if years:
        notes.append(f"Educational attainment ({sheet}) comes from ACS data for {' and '.join(years)}, shipped with the {cycle} projections.")
    levels = pl.DataFrame(
        [(k, rank, label) for k, (rank, label, _) in ATTAINMENT.items()],
        schema={"level": pl.String, "level_rank": pl.Int8, "level_label": pl.String}, orient="row",
    )
    long = (
        wide.unpivot(index=["soc_code", "title", "occ_type", "acs_exact_match"], on=list(ATTAINMENT), variable_name="level", value_name="share")
        .join(levels, on="level", how="left")
        .with_columns(pl.lit(cycle).alias("cycle"), pl.lit(path.name).alias("source_file"))
        .sort("soc_code", "level_rank")
    )
    return ParsedTable("ep_attainment", cycle, "occupation", _conform(long, "ep_attainment"), notes)


def _footnotes(body: pl.DataFrame, col: str, says: str) -> list[str]:
    """Numbers of the footnotes below the table ("(1) This occupation is not an exact match ...") whose text matches ``says``."""
    import polars as pl

    text = body.select(pl.col(col).cast(pl.String).str.strip_chars()).to_series().drop_nulls()
    out = []
    for line in text:
        m = re.match(r"^[\[(](\d+)[\])]\s*(.*)$", line)
        if m and re.search(says, m.group(2), re.I):
            out.append(m.group(1))
    return out


def _conform(frame: pl.DataFrame, dataset: str) -> pl.DataFrame:
    """Exactly the columns and types of SCHEMAS[dataset], in order."""
    import polars as pl

    types = {"string": pl.String, "int16": pl.Int16, "int8": pl.Int8, "double": pl.Float64, "bool": pl.Boolean}
    schema = SCHEMAS[dataset]
    return frame.select([pl.col(f.name).cast(types[str(f.type)]) for f in schema])


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]

"""Geography crosswalks: which counties make up a metro, an OEWS area or a workforce area.

* ``cbsa_delineation`` — Census/OMB delineation List 1 (`list1_2023.xlsx`): county → CBSA (metro or
  micro), metropolitan division and CSA, with titles. Row 1 is an accessibility note, row 2 the title
  (it names the delineation date), row 3 the header; the county rows end at a blank row followed by a
  Note and a Source. Codes are text with leading zeros (restored when a spreadsheet dropped them).
  Vintage = the delineation year, unit ``US``.
* ``oews_area_definitions`` — BLS OEWS area definitions (`area_definitions_m2021.xlsx`): county →
  OEWS metropolitan area (5-digit code) or nonmetropolitan area (7-digit code: state FIPS + 5). The
  header names the estimates year (`May 2021 MSA code ` with a trailing space); codes are left-padded
  with spaces. New England is defined by township (city/town) rows, the rest by county rows
  (``township_code`` null). Vintage = the estimates year, unit ``US``.
* ``workforce_areas`` — county → local workforce development area files (the Texas
  `tx_county_wda_crosswalk.csv`: `wda, wda_number, county, fips_county`). Stored as published; known
  cautions about a file's areas (e.g. merged boards whose numbers are not the state's) are kept in
  the ``note`` column, never "fixed". No upstream URL: ingest with --from. Vintage ``current``, one
  unit per state (a newer file for a state replaces that state's areas).

Every table carries ``county_key`` (see :func:`county_key_expr`) so files that name counties instead
of coding them (the Texas ETPL campus county, California EDD area names) join by (state, county_key).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.codes import STATES
from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import (
    drop_exact_duplicates,
    map_columns,
    read_csv_text,
    read_xlsx_sheet,
    xlsx_sheets,
)
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source

if TYPE_CHECKING:
    import polars as pl

CBSA_URL = ("https://www2.census.gov/programs-surveys/metro-micro/geographies/reference-files/{year}/"
            "delineation-files/list1_{year}.xlsx")
OEWS_DEF_URL = "https://www.bls.gov/oes/{year}/may/area_definitions_m{year}.xlsx"
CBSA_YEARS = (2023,)
# OEWS area definitions change with the OMB delineations they follow: M2024 goes with the May 2024 and
# later estimates, M2021 (same codes as M2019-M2023) with May 2019-2023. --years does not change them.
OEWS_DEF_YEARS = (2024, 2021)
WDA_VINTAGE = "current"

SCHEMAS = {
    "cbsa_delineation": pa.schema([
        ("county_fips", pa.string()), ("state_fips", pa.string()), ("state", pa.string()), ("state_name", pa.string()),
        ("county_name", pa.string()), ("county_key", pa.string()), ("cbsa_code", pa.string()), ("cbsa_title", pa.string()),
        ("cbsa_type", pa.string()), ("metro_division_code", pa.string()), ("metro_division_title", pa.string()),
        ("csa_code", pa.string()), ("csa_title", pa.string()), ("central_outlying", pa.string()), ("source_file", pa.string()),
    ]),
    "oews_area_definitions": pa.schema([
        ("county_fips", pa.string()), ("township_code", pa.string()), ("state_fips", pa.string()), ("state", pa.string()),
        ("state_name", pa.string()), ("name", pa.string()), ("county_key", pa.string()), ("area_code", pa.string()),
        ("area_name", pa.string()), ("area_type", pa.string()), ("source_file", pa.string()),
    ]),
    "workforce_areas": pa.schema([
        ("state", pa.string()), ("state_fips", pa.string()), ("area_code", pa.string()), ("area_name", pa.string()),
        ("county_fips", pa.string()), ("county_name", pa.string()), ("county_key", pa.string()), ("note", pa.string()),
        ("source_file", pa.string()),
    ]),
}

CBSA_NAME = re.compile(r"^list ?1[_\- ]?(\d{4})?.*\.xlsx$", re.I)
CBSA_SHEET = re.compile(r"^list ?1$", re.I)
CBSA_COLS = {
    "cbsa_code": r"^cbsa code$", "div_code": r"^metropolitan division code$", "csa_code": r"^csa code$",
    "cbsa_title": r"^cbsa title$", "cbsa_type": r"^metropolitan/micropolitan statistical area$",
    "div_title": r"^metropolitan division title$", "csa_title": r"^csa title$",
    "county_name": r"^county/county equivalent$", "state_name": r"^state name$", "state_fips": r"^fips state code$",
    "county_code": r"^fips county code$", "central": r"^central/outlying county$",
}
CBSA_LABELS = {"cbsa_code": "CBSA Code", "div_code": "Metropolitan Division Code", "csa_code": "CSA Code",
               "cbsa_title": "CBSA Title", "cbsa_type": "Metropolitan/Micropolitan Statistical Area",
               "div_title": "Metropolitan Division Title", "csa_title": "CSA Title", "county_name": "County/County Equivalent",
               "state_name": "State Name", "state_fips": "FIPS State Code", "county_code": "FIPS County Code",
               "central": "Central/Outlying County"}
CBSA_TYPES = {"metropolitan statistical area": "metro", "micropolitan statistical area": "micro"}

OEWS_NAME = re.compile(r"^area_definitions_m(\d{4}).*\.xlsx$", re.I)
OEWS_COLS = {
    "state_fips": r"^(fips code|state fips( code)?)$", "state_name": r"^state$", "state": r"^state abbreviation$",
    "area_code": r"msa code$", "area_name": r"msa name$", "county_code": r"^county code$",
    "township_code": r"^township code$", "name": r"^county name",
}

OEWS_LABELS = {"state_fips": "FIPS code", "state_name": "State", "state": "State abbreviation", "area_code": "May <year> MSA code",
               "area_name": "May <year> MSA name", "county_code": "County code", "township_code": "Township code",
               "name": "County name (or Township name for the New England states)"}
WDA_NAME = re.compile(r"county.*(wda|workforce).*\.csv$|(wda|workforce).*county.*\.csv$", re.I)
WDA_COLS = {
    "area_name": r"^(l?wda|workforce( development)? area|wda_?name|board( name)?)$",
    "area_code": r"^(l?wda|board)_?(number|num|no|code|id)$|^(area|board) (number|code)$",
    "county": r"^county(_name| name)?$",
    "county_fips": r"^(fips_county|county_fips|county fips( code)?|fips)$",
}
# Cautions about published workforce-area files, by (state, area name): stored in the `note` column.
# Texas 2036's crosswalk (MANIFEST-substate entry 7) merges three pairs of TWC's 28 boards into 24 areas.
_TX_NUMBERS = ("Texas 2036's consolidated area, not a TWC board: ")
WDA_NOTES: dict[tuple[str, str], str] = {
    ("TX", "DFW"): _TX_NUMBERS + "merges TWC boards 4 North Central, 5 Tarrant County and 6 Dallas.",
    ("TX", "Greater Austin"): _TX_NUMBERS + "merges TWC boards 14 Capital Area (Travis) and 15 Rural Capital.",
    ("TX", "Rio Grande Valley"): _TX_NUMBERS + "merges the Lower Rio Grande Valley and Cameron County boards; TWC appears "
                                               "to number 23 Lower Rio Grande Valley (Hidalgo, Starr, Willacy) and 24 Cameron "
                                               "County: verify against TWC's board list before relying on the numbers.",
}


def county_key_expr(col: str | pl.Expr) -> pl.Expr:
    """A county name as a join key: lower case, without `County`/`Parish`/... and punctuation, spaces
    and hyphens as one space (`DeWitt` = `Dewitt`, `McLennan` = `MCLENNAN`, `St. Clair` = `St Clair`).
    Join on (state, county_key): the same name occurs in many states (El Paso, TX and CO)."""
    import polars as pl

    e = pl.col(col) if isinstance(col, str) else col
    s = e.cast(pl.String).str.to_lowercase().str.replace_all(r"[.'’]", "").str.replace_all(r"[\s\-]+", " ").str.strip_chars()
    return s.str.replace(r" (county|parish|city and borough|borough|census area|municipio|municipality)$", "")


class Geo(Source):
    name = "geo"
    title = "County crosswalks: Census CBSA delineation, BLS OEWS area definitions, county → workforce area"
    datasets = ("cbsa_delineation", "oews_area_definitions", "workforce_areas")
    homepage = "https://www.census.gov/geographies/reference-files/time-series/demo/metro-micro/delineation-files.html"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        out = [Remote(CBSA_URL.format(year=y), f"list1_{y}.xlsx") for y in CBSA_YEARS]
        out += [Remote(OEWS_DEF_URL.format(year=y), f"area_definitions_m{y}.xlsx", required=False) for y in OEWS_DEF_YEARS]
        return out

    def recognize(self, path: Path, head: bytes) -> bool:
        return self._kind(path, head) is not None

    def _kind(self, path: Path, head: bytes) -> str | None:
        name, suffix = path.name, path.suffix.lower()
        if suffix == ".xlsx":
            if CBSA_NAME.match(name):
                return "cbsa"
            if OEWS_NAME.match(name):
                return "oews"
            if not head.startswith(b"PK"):
                return None
            try:  # a renamed workbook: its sheet names tell
                sheets = xlsx_sheets(path)
            except SourceFormatError:
                return None
            if any(CBSA_SHEET.match(s.strip()) for s in sheets):
                return "cbsa"
            if any(re.match(r"^area_definitions", s, re.I) for s in sheets):
                return "oews"
            return None
        if suffix == ".csv":
            if WDA_NAME.search(name):
                return "wda"
            first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].replace(b'"', b"").strip().lower()
            cols = [c.strip() for c in first.split(b",")]
            has_area = any(re.fullmatch(rb"l?wda|workforce( development)? area", c) for c in cols)
            has_fips = any(re.fullmatch(rb"fips_county|county_fips|county fips( code)?", c) for c in cols)
            return "wda" if has_area and has_fips else None
        return None

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        from gapkit.ingestion.readers import sniff

        try:
            head = sniff(path)
        except OSError as exc:
            raise SourceFormatError(path, f"the file cannot be read ({exc.strerror}).") from None
        kind = self._kind(path, head)
        if kind == "cbsa":
            return [_cbsa(path)]
        if kind == "oews":
            return [_oews_definitions(path)]
        if kind == "wda":
            return _workforce_areas(path)
        if path.suffix.lower() == ".xlsx":
            # xlsx_sheets names the problem of a damaged or HTML workbook; a good one is simply not ours
            sheets = xlsx_sheets(path)
            raise SourceFormatError(path, f"the workbook is neither a CBSA delineation list (sheet 'List 1') nor OEWS area "
                                          f"definitions (sheet 'area_definitions_m<year>'); it has {', '.join(sheets)}.")
        raise SourceFormatError(path, "the file is not a county → workforce-area CSV (columns wda, wda_number, county, fips_county).")


# -- helpers ------------------------------------------------------------------------------------
def _header_row(raw: pl.DataFrame, pattern: str, path: Path, sheet: str, what: str) -> int:
    rx = re.compile(pattern, re.I)
    for i, row in enumerate(raw.head(12).iter_rows()):
        if any(v is not None and rx.search(re.sub(r"\s+", " ", str(v)).strip()) for v in row):
            return i
    raise SourceFormatError(path, f"sheet {sheet!r} has no header row with {what} in its first 12 rows.")


def _with_header(raw: pl.DataFrame, idx: int) -> pl.DataFrame:
    header = [str(v).strip() if v is not None else f"_blank_{i}" for i, v in enumerate(raw.row(idx))]
    seen: dict[str, int] = {}
    names = []
    for h in header:  # repeated header cells stay distinct (the first one is the one a reader matches)
        seen[h] = seen.get(h, 0) + 1
        names.append(h if seen[h] == 1 else f"{h}_{seen[h]}")
    body = raw.slice(idx + 1)
    body.columns = names
    return body


def _columns(columns: list[str], patterns: dict[str, str], labels: dict[str, str], path: Path, sheet: str | None,
             required: list[str] | None = None) -> dict[str, str]:
    """map_columns, with the published names of missing columns in the schema-drift message."""
    c = map_columns(columns, patterns, path=path, required=[], sheet=sheet)
    missing = [k for k in (required if required is not None else list(patterns)) if k not in c]
    if missing:
        raise SchemaDriftError(path, [labels[k] for k in missing], columns, sheet)
    return c


def _code(col: str, width: int) -> pl.Expr:
    """A code cell as text with its leading zeros (a spreadsheet may have stored 13 for 013 or 13.0)."""
    import polars as pl

    s = pl.col(col).cast(pl.String).str.strip_chars().str.replace(r"\.0+$", "")
    return pl.when(s.str.contains(r"^\d+$")).then(s.str.zfill(width)).otherwise(s)


def _bad_codes(df: pl.DataFrame, checks: dict[str, tuple[str, bool, str]], path: Path, where: str) -> None:
    """Each column must match its pattern (nullable ones may be empty): {column: (regex, nullable, what it should be)}."""
    import polars as pl

    for col, (rx, nullable, what) in checks.items():
        bad = df.filter(~pl.col(col).str.contains(rx).fill_null(nullable))
        if bad.height:
            raise SourceFormatError(path, f"{bad.height} row(s){where} have a {col.strip('_').replace('_', ' ')} that is not "
                                          f"{what}, e.g. {bad[col][0]!r}.")


def _state_exprs(fips_col: str) -> tuple[pl.Expr, pl.Expr]:
    import polars as pl

    abbr = pl.col(fips_col).replace_strict({f: a for f, (a, _) in STATES.items()}, default=None)
    name = pl.col(fips_col).replace_strict({f: n for f, (_, n) in STATES.items()}, default=None)
    return abbr, name


# -- CBSA delineation (List 1) -----------------------------------------------------------------
def _cbsa(path: Path) -> ParsedTable:
    import polars as pl

    sheets = xlsx_sheets(path)
    sheet = next((s for s in sheets if CBSA_SHEET.match(s.strip())), None)
    if sheet is None:
        raise SourceFormatError(path, f"the workbook has no sheet 'List 1' (it has {', '.join(sheets)}); it is not the CBSA delineation List 1.")
    raw = read_xlsx_sheet(path, sheet, header_row=None)
    idx = _header_row(raw, r"^cbsa code$", path, sheet, "'CBSA Code'")
    title = " ".join(str(v) for row in raw.head(idx).iter_rows() for v in row if v is not None)
    m = re.search(r"\b(?:JANUARY|FEBRUARY|MARCH|APRIL|MAY|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|NOVEMBER|DECEMBER),?\s+((?:19|20)\d\d)\b",
                  title, re.I) or CBSA_NAME.match(path.name)
    if not m or not m.group(1):
        raise SourceFormatError(path, "neither the title rows nor the file name say the delineation date (e.g. 'JULY 2023', list1_2023.xlsx).")
    vintage = m.group(1)
    body = _with_header(raw, idx)
    c = _columns(body.columns, CBSA_COLS, CBSA_LABELS, path, sheet)
    # The county rows end at the first blank row; a Note and a Source follow it.
    blank = body.select(pl.all_horizontal(pl.all().is_null()).arg_true().first()).item()
    rows, tail = (body, body.clear()) if blank is None else (body.slice(0, blank), body.slice(blank + 1))
    more = tail.filter(pl.col(c["cbsa_code"]).cast(pl.String).str.strip_chars().str.contains(r"^\d{4,5}$").fill_null(False))
    if more.height:
        raise SourceFormatError(path, f"county rows continue after the blank row below row {idx + blank + 2} of sheet {sheet!r}; "
                                      "the list must be one block of rows.")
    if rows.height == 0:
        raise SourceFormatError(path, f"sheet {sheet!r} has a header but no county rows.")

    def txt(k: str) -> pl.Expr:
        return pl.col(c[k]).cast(pl.String).str.strip_chars()

    df = rows.select(
        _code(c["cbsa_code"], 5).alias("cbsa_code"), _code(c["div_code"], 5).alias("metro_division_code"),
        _code(c["csa_code"], 3).alias("csa_code"), _code(c["state_fips"], 2).alias("state_fips"),
        _code(c["county_code"], 3).alias("county_code"), txt("cbsa_title").alias("cbsa_title"),
        txt("cbsa_type").alias("_type"), txt("div_title").alias("metro_division_title"), txt("csa_title").alias("csa_title"),
        txt("county_name").alias("county_name"), txt("state_name").alias("state_name"), txt("central").alias("central_outlying"),
    )
    _bad_codes(df, {"cbsa_code": (r"^\d{5}$", False, "a 5-digit code"), "metro_division_code": (r"^\d{5}$", True, "a 5-digit code"),
                    "csa_code": (r"^\d{3}$", True, "a 3-digit code"), "state_fips": (r"^\d{2}$", False, "a 2-digit code"),
                    "county_code": (r"^\d{3}$", False, "a 3-digit code")}, path, f" of sheet {sheet!r}")
    types = df.filter(~pl.col("_type").str.to_lowercase().is_in(list(CBSA_TYPES)) | pl.col("_type").is_null())
    if types.height:
        raise SourceFormatError(path, f"{types.height} row(s) of sheet {sheet!r} are neither a Metropolitan nor a Micropolitan "
                                      f"Statistical Area, e.g. {types['_type'][0]!r}.")
    abbr, _ = _state_exprs("state_fips")
    out = df.with_columns(
        pl.concat_str(["state_fips", "county_code"]).alias("county_fips"),
        abbr.alias("state"),
        pl.col("_type").str.to_lowercase().replace_strict(CBSA_TYPES).alias("cbsa_type"),
        county_key_expr("county_name").alias("county_key"),
        pl.lit(path.name).alias("source_file"),
    )
    unknown = out.filter(pl.col("state").is_null())
    if unknown.height:
        raise SourceFormatError(path, f"{unknown.height} row(s) of sheet {sheet!r} have a FIPS state code that is not a U.S. state "
                                      f"or territory, e.g. {unknown['state_fips'][0]!r}.")
    out, notes = drop_exact_duplicates(out.select(SCHEMAS["cbsa_delineation"].names), path, ["county_fips"], lambda n, r: (
        f"{n} county code(s) are listed in more than one CBSA (e.g. {r['county_fips']} {r['county_name']}); a county "
        "belongs to one CBSA, so the file is inconsistent."))
    return ParsedTable("cbsa_delineation", vintage, "US", out, notes)


# -- OEWS area definitions ----------------------------------------------------------------------
def _oews_definitions(path: Path) -> ParsedTable:
    import polars as pl

    sheets = xlsx_sheets(path)
    sheet = next((s for s in sheets if re.match(r"^area_definitions", s, re.I)), sheets[0])
    raw = read_xlsx_sheet(path, sheet, header_row=None)
    idx = _header_row(raw, r"msa code$", path, sheet, "an 'MSA code' column")
    body = _with_header(raw, idx)
    c = _columns(body.columns, OEWS_COLS, OEWS_LABELS, path, sheet)
    m = re.search(r"\b((?:19|20)\d\d)\b", c["area_code"]) or OEWS_NAME.match(path.name)
    if not m:
        raise SourceFormatError(path, f"neither the header ({c['area_code']!r}) nor the file name says the OEWS year "
                                      "(e.g. 'May 2021 MSA code', area_definitions_m2021.xlsx).")
    vintage = m.group(1)
    body = body.filter(~pl.all_horizontal(pl.all().is_null()))
    if body.height == 0:
        raise SourceFormatError(path, f"sheet {sheet!r} has a header but no county rows.")

    def txt(k: str) -> pl.Expr:
        return pl.col(c[k]).cast(pl.String).str.strip_chars()

    area = txt("area_code").str.replace(r"\.0+$", "")
    df = body.select(
        _code(c["state_fips"], 2).alias("state_fips"), _code(c["county_code"], 3).alias("county_code"),
        _code(c["township_code"], 3).alias("_township"),
        # MSA codes are 5 digits (a 7-digit form with two leading zeros is the same MSA); nonmetro 7.
        pl.when(area.str.contains(r"^00\d{5}$")).then(area.str.slice(2)).otherwise(area).alias("area_code"),
        txt("area_name").alias("area_name"), txt("name").alias("name"), txt("state").alias("_abbr"),
    )
    _bad_codes(df, {"state_fips": (r"^\d{2}$", False, "a 2-digit code"), "county_code": (r"^\d{3}$", False, "a 3-digit code"),
                    "_township": (r"^\d{3}$", True, "a 3-digit code"),
                    "area_code": (r"^(\d{5}|\d{7})$", False, "an OEWS metro (5-digit) or nonmetro (7-digit) area code")},
               path, f" of sheet {sheet!r}")
    abbr, sname = _state_exprs("state_fips")
    township = pl.when(pl.col("_township").is_null() | (pl.col("_township") == "000")).then(None).otherwise(pl.col("_township"))
    out = df.with_columns(
        pl.concat_str(["state_fips", "county_code"]).alias("county_fips"),
        township.alias("township_code"),
        abbr.alias("state"), sname.alias("state_name"),
        pl.when(pl.col("area_code").str.len_chars() == 5).then(pl.lit("metro")).otherwise(pl.lit("nonmetro")).alias("area_type"),
        pl.when(township.is_null()).then(county_key_expr("name")).otherwise(None).alias("county_key"),
        pl.lit(path.name).alias("source_file"),
    )
    bad_state = out.filter(pl.col("state").is_null() | (pl.col("_abbr").is_not_null() & (pl.col("_abbr") != pl.col("state"))))
    if bad_state.height:
        r = bad_state.row(0, named=True)
        raise SourceFormatError(path, f"{bad_state.height} row(s) of sheet {sheet!r} have a FIPS code and state abbreviation that "
                                      f"do not agree or are not a U.S. state, e.g. {r['state_fips']!r} / {r['_abbr']!r}.")
    bad_nonmetro = out.filter((pl.col("area_type") == "nonmetro") & (pl.col("area_code").str.slice(0, 2) != pl.col("state_fips")))
    if bad_nonmetro.height:
        raise SourceFormatError(path, f"{bad_nonmetro.height} nonmetropolitan area code(s) do not start with their state's FIPS "
                                      f"code, e.g. {bad_nonmetro['area_code'][0]!r} in state {bad_nonmetro['state_fips'][0]}.")
    out, notes = drop_exact_duplicates(out.select(SCHEMAS["oews_area_definitions"].names), path, ["county_fips", "township_code"],
                                       lambda n, r: (f"{n} county/township code(s) are assigned to more than one OEWS area (e.g. "
                                                     f"{r['county_fips']} {r['name']}); the file is inconsistent."))
    return ParsedTable("oews_area_definitions", vintage, "US", out, notes)


# -- county -> workforce development area -------------------------------------------------------
def _workforce_areas(path: Path) -> list[ParsedTable]:
    import polars as pl

    df = read_csv_text(path, origin=path)
    if df.height == 0:
        raise SourceFormatError(path, "the workforce-area file has a header but no rows.")
    c = _columns(df.columns, WDA_COLS, {"area_name": "wda (the area's name)", "county_fips": "fips_county"}, path, None,
                 required=["area_name", "county_fips"])

    def txt(k: str) -> pl.Expr:
        return pl.col(c[k]).str.strip_chars() if k in c else pl.lit(None, pl.String)

    out = df.select(
        txt("area_name").alias("area_name"),
        txt("area_code").str.replace(r"\.0+$", "").alias("area_code"),
        _code(c["county_fips"], 5).alias("county_fips"),
        txt("county").alias("county_name"),
    )
    _bad_codes(out, {"county_fips": (r"^\d{5}$", False, "a 5-digit county FIPS code"), "area_name": (r".", False, "a name")}, path, "")
    abbr, _ = _state_exprs("state_fips")
    out = out.with_columns(pl.col("county_fips").str.slice(0, 2).alias("state_fips")).with_columns(
        abbr.alias("state"), county_key_expr("county_name").alias("county_key"), pl.lit(path.name).alias("source_file"))
    bad = out.filter(pl.col("state").is_null() | pl.col("county_fips").str.ends_with("000"))
    if bad.height:
        raise SourceFormatError(path, f"{bad.height} row(s) have a county FIPS code that is not a county of a U.S. state, "
                                      f"e.g. {bad['county_fips'][0]!r}.")
    notes_map = {f"{s}\x1f{a}": n for (s, a), n in WDA_NOTES.items()}
    out = out.with_columns(pl.concat_str(["state", "area_name"], separator="\x1f").replace_strict(notes_map, default=None).alias("note"))
    out, notes = drop_exact_duplicates(out.select(SCHEMAS["workforce_areas"].names), path, ["county_fips"], lambda n, r: (
        f"{n} county code(s) are assigned to more than one workforce area (e.g. {r['county_fips']} {r['county_name']}); "
        "a county belongs to one area, so the file is inconsistent."))
    tables = []
    for (state,), part in out.group_by(["state"], maintain_order=True):
        merged = part.filter(pl.col("note").is_not_null())["area_name"].unique(maintain_order=True).to_list()
        n_areas = part["area_name"].n_unique()
        extra = [f"{path.name}: {state} has {n_areas} workforce areas in this file; {', '.join(merged)} carry a caution "
                 "(merged areas whose numbers are not the state's board numbers; see the note column)."] if merged else []
        tables.append(ParsedTable("workforce_areas", WDA_VINTAGE, str(state), part, (notes if not tables else []) + extra))
    return tables

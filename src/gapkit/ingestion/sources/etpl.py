"""Texas Workforce Commission WIOA Eligible Training Provider List (ETPL): approved training programs.

`statewide-eligible-training-program-list-twc.xlsx`, one sheet named after the list date
(`Statewide List (03.20.2024)`), one row per program with 47 columns (TWC's own spellings kept in
the header, e.g. `Associted Credential Name`, `Program ETPL Last Update ` with a trailing space):
provider, campus (address, city, state, zip, county *name*), program, CIP code, up to three O*NET
codes, length, costs, apprentice counts.

Normalization: CIP codes are 6 digits without a dot (`460000` -> `46.0000`; a dropped leading zero
`10605` -> `01.0605`); O*NET codes are 8 digits without punctuation (`47211100` -> O*NET
`47-2111.00`, SOC `47-2111`). `Institution Type = National Apprenticeship` marks registered
apprenticeship programs (``apprenticeship``), with ``apprentices`` = `Number Of Apprentices`.
TWC's `ERROR` in the length columns is stored as null (reported); any other unreadable number is
refused.

Campus county: the list names the county (no FIPS code). It is kept as published with
``campus_county_key`` (``geo.county_key_expr``), so analysis joins it to a county FIPS code through
any geo table on (``campus_state``, ``campus_county_key``) — e.g. the Texas county → workforce-area
file — instead of this source depending on another dataset being ingested first. A few campuses are
outside Texas or have county `Other`; they stay unmatched rather than guessed.

Dataset ``etpl_programs``: vintage = the list date (`2024-03-20`, from the sheet name, else the file
name), unit = the state (``TX``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import (
    drop_exact_duplicates,
    map_columns,
    number_expr,
    read_xlsx_sheet,
    xlsx_sheets,
)
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source
from gapkit.ingestion.sources.geo import county_key_expr

if TYPE_CHECKING:
    import polars as pl

URL = "https://www.twc.texas.gov/files/partners/statewide-eligible-training-program-list-twc.xlsx"
STATE = "TX"
SCHEMAS = {
    "etpl_programs": pa.schema([
        ("list_date", pa.date32()), ("state", pa.string()), ("program_id", pa.string()), ("provider_id", pa.string()),
        ("campus_id", pa.string()), ("twist_provider_id", pa.string()), ("twist_program_id", pa.string()),
        ("program_status", pa.string()), ("provider_name", pa.string()), ("provider_description", pa.string()),
        ("institution_type", pa.string()), ("apprenticeship", pa.bool_()), ("campus_name", pa.string()),
        ("campus_address", pa.string()), ("campus_city", pa.string()), ("campus_state", pa.string()),
        ("campus_zip", pa.string()), ("campus_county", pa.string()), ("campus_county_key", pa.string()),
        ("program_name", pa.string()), ("program_description", pa.string()), ("cipcode", pa.string()),
        ("onet_code_1", pa.string()), ("onet_code_2", pa.string()), ("onet_code_3", pa.string()),
        ("soc_code_1", pa.string()), ("soc_code_2", pa.string()), ("soc_code_3", pa.string()),
        ("program_outcome", pa.string()), ("credential_name", pa.string()), ("pell_eligible", pa.string()),
        ("prerequisites", pa.string()), ("delivery_method", pa.string()), ("contact_hours", pa.float64()),
        ("weeks", pa.float64()), ("tuition_fees", pa.float64()), ("books_supplies", pa.float64()),
        ("optional_cost", pa.float64()), ("out_of_district_tuition_fees", pa.float64()), ("apprentices", pa.float64()),
        ("program_url", pa.string()), ("etpl_start", pa.timestamp("us")), ("etpl_last_update", pa.timestamp("us")),
        ("source_file", pa.string()),
    ])
}
# Header text (normalized: lower case, one space) -> field. TWC's typos are matched as published.
COLS = {
    "provider_id": r"^provider id$", "campus_id": r"^campus id$", "program_id": r"^program id$",
    "twist_provider_id": r"^twist provider id$", "twist_program_id": r"^twist program id$",
    "program_status": r"^program status$", "provider_name": r"^provider ?name$", "provider_description": r"^provider description$",
    "institution_type": r"^institution type$", "campus_name": r"^campus name$", "campus_address": r"^campus address$",
    "campus_city": r"^campus city$", "campus_state": r"^campus state$", "campus_zip": r"^campus zip",
    "campus_county": r"^campus county$", "program_name": r"^program name$", "cip": r"\(cip\) code$|^cip code$",
    "program_description": r"^program description$", "pell_eligible": r"^pell eligible$",
    "prerequisites": r"^academic ?pre-?requisites$", "program_url": r"^program url$", "program_outcome": r"^program outcome$",
    "credential_name": r"^associ?ated credential name$|^associted credential name$", "contact_hours": r"^length: contact hours$",
    "weeks": r"^length: weeks$", "delivery_method": r"^delivery method$", "onet_1": r"\(onet 1\)$", "onet_2": r"\(onet 2\)$",
    "onet_3": r"\(onet 3\)$", "tuition_fees": r"^required cost: tuition & fees$", "books_supplies": r"^required cost: books & supplies$",
    "optional_cost": r"^optional cost$", "out_of_district": r"^\(out of district\) cost: tuition & fees$",
    "apprentices": r"^number of apprentices$", "etpl_start": r"^program etpl start date$",
    "etpl_last_update": r"^program etpl last update$",
}
LABELS = {"provider_id": "Provider ID", "campus_id": "Campus ID", "program_id": "Program ID", "program_status": "Program Status",
          "provider_name": "ProviderName", "institution_type": "Institution Type", "campus_name": "Campus Name",
          "campus_city": "Campus City", "campus_state": "Campus State", "campus_zip": "Campus Zip Code",
          "campus_county": "Campus County", "program_name": "Program Name", "cip": "Instructional Program (CIP) Code",
          "onet_1": "Occupation Code (ONET 1)", "onet_2": "Occupation Code (ONET 2)", "onet_3": "Occupation Code (ONET 3)",
          "contact_hours": "Length: Contact Hours", "weeks": "Length: Weeks", "tuition_fees": "Required Cost: Tuition & Fees",
          "books_supplies": "Required Cost: Books & Supplies", "apprentices": "Number Of Apprentices"}
REQUIRED = ["provider_id", "campus_id", "program_id", "program_status", "provider_name", "institution_type", "campus_name",
            "campus_city", "campus_state", "campus_zip", "campus_county", "program_name", "cip", "onet_1", "onet_2", "onet_3",
            "contact_hours", "weeks", "tuition_fees", "books_supplies", "apprentices"]
NUMBERS = {"contact_hours": "contact_hours", "weeks": "weeks", "tuition_fees": "tuition_fees",
           "books_supplies": "books_supplies", "optional_cost": "optional_cost",
           "out_of_district": "out_of_district_tuition_fees", "apprentices": "apprentices"}
TWC_ERROR = "ERROR"  # what TWC's export prints in a length it could not compute
APPRENTICESHIP = "national apprenticeship"
NAME = re.compile(r"eligible[-_ ]training[-_ ]program|\betpl\b|etpl[_\-]", re.I)
SHEET = re.compile(r"^statewide list", re.I)
SHEET_DATE = re.compile(r"\((\d{1,2})[./-](\d{1,2})[./-](\d{4})\)")
NAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
DATETIME_FORMAT = "%B %d, %Y %I:%M %p"  # "February 12, 2021 4:06 PM"


class Etpl(Source):
    name = "etpl"
    title = "Texas WIOA Eligible Training Provider List (TWC): programs, CIP/O*NET codes, costs, apprenticeships"
    datasets = ("etpl_programs",)
    homepage = "https://www.twc.texas.gov/programs/eligible-training-provider-system"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        return [Remote(URL, "statewide-eligible-training-program-list-twc.xlsx")]

    def recognize(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() != ".xlsx":
            return False
        if NAME.search(path.name):
            return True  # the name claims the file: a damaged copy is then reported, not skipped
        if not head.startswith(b"PK"):
            return False
        try:
            return any(SHEET.match(s) for s in xlsx_sheets(path))
        except SourceFormatError:
            return False

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        import polars as pl

        sheets = xlsx_sheets(path)
        sheet = next((s for s in sheets if SHEET.match(s)), None)
        if sheet is None:
            raise SourceFormatError(path, f"the workbook has no 'Statewide List (<date>)' sheet (it has {', '.join(sheets)}); "
                                          "it is not TWC's statewide ETPL export.")
        list_date = _list_date(sheet, path)
        df = read_xlsx_sheet(path, sheet, header_row=0)
        df = df.filter(~pl.all_horizontal(pl.all().is_null()))
        if df.height == 0:
            raise SourceFormatError(path, f"sheet {sheet!r} has a header but no programs.")
        c = map_columns(df.columns, COLS, path=path, required=[], sheet=sheet)
        missing = [k for k in REQUIRED if k not in c]
        if missing:
            raise SchemaDriftError(path, [LABELS[k] for k in missing], df.columns, sheet)

        def txt(k: str) -> pl.Expr:
            return pl.col(c[k]).cast(pl.String).str.strip_chars() if k in c else pl.lit(None, pl.String)

        def ident(k: str) -> pl.Expr:
            return txt(k).str.replace(r"\.0+$", "")

        def onet(k: str) -> pl.Expr:
            d = txt(k).str.replace_all(r"[^0-9]", "")
            return pl.when(d.str.len_chars() == 8).then(
                pl.concat_str([d.str.slice(0, 2), pl.lit("-"), d.str.slice(2, 4), pl.lit("."), d.str.slice(6, 2)]))

        def number(k: str) -> pl.Expr:
            return number_expr(c[k], specials=("", TWC_ERROR)) if k in c else pl.lit(None, pl.Float64)

        def stamp(k: str) -> pl.Expr:
            return txt(k).str.strptime(pl.Datetime("us"), DATETIME_FORMAT, strict=False) if k in c else pl.lit(None, pl.Datetime("us"))

        # 6 digits without the dot; a leading zero dropped by a spreadsheet is restored (10605 -> 01.0605)
        digits = txt("cip").str.replace(r"\.0+$", "")
        cip6 = pl.when(digits.str.contains(r"^\d{5,6}$")).then(digits.str.zfill(6))
        cipcode = pl.concat_str([cip6.str.slice(0, 2), pl.lit("."), cip6.str.slice(2, 4)])
        out = df.select(
            pl.lit(list_date).str.to_date().alias("list_date"), pl.lit(STATE).alias("state"),
            *(ident(k).alias(k) for k in ("program_id", "provider_id", "campus_id", "twist_provider_id", "twist_program_id")),
            *(txt(k).alias(k) for k in ("program_status", "provider_name", "provider_description", "institution_type",
                                         "campus_name", "campus_address", "campus_city", "program_name", "program_description",
                                         "program_outcome", "credential_name", "pell_eligible", "prerequisites",
                                         "delivery_method", "program_url", "campus_county")),
            (txt("institution_type").str.to_lowercase() == APPRENTICESHIP).fill_null(False).alias("apprenticeship"),
            txt("campus_state").str.to_uppercase().alias("campus_state"),
            ident("campus_zip").alias("campus_zip"),
            county_key_expr(txt("campus_county")).alias("campus_county_key"),
            cipcode.alias("cipcode"),
            *(onet(f"onet_{i}").alias(f"onet_code_{i}") for i in (1, 2, 3)),
            *(number(k).alias(v) for k, v in NUMBERS.items()),
            stamp("etpl_start").alias("etpl_start"), stamp("etpl_last_update").alias("etpl_last_update"),
            pl.lit(path.name).alias("source_file"),
            txt("cip").alias("_cip"),
            *(txt(f"onet_{i}").alias(f"_onet_{i}") for i in (1, 2, 3)),
            *(txt(k).alias(f"_raw_{k}") for k in NUMBERS if k in c),
            *(txt(k).alias(f"_raw_{k}") for k in ("etpl_start", "etpl_last_update") if k in c),
        ).with_columns(*(pl.col(f"onet_code_{i}").str.slice(0, 7).alias(f"soc_code_{i}") for i in (1, 2, 3)))
        notes = _check(out, c, path, sheet)
        out, dup = drop_exact_duplicates(out.select(SCHEMAS["etpl_programs"].names), path, ["program_id"], lambda n, r: (
            f"{n} Program ID(s) appear more than once with different details (e.g. program {r['program_id']}, "
            f"{r['program_name']}); the list has conflicting rows."))
        return [ParsedTable("etpl_programs", list_date, STATE, out, dup + notes)]


def _list_date(sheet: str, path: Path) -> str:
    m = SHEET_DATE.search(sheet)
    if m:
        month, day, year = (int(g) for g in m.groups())
    elif (n := NAME_DATE.search(path.name)) is not None:
        year, month, day = (int(g) for g in n.groups())
    else:
        raise SourceFormatError(path, f"neither the sheet name ({sheet!r}) nor the file name says the list date "
                                      "(e.g. 'Statewide List (03.20.2024)'); gapkit cannot tell the list's vintage.")
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise SourceFormatError(path, f"the list date in {sheet!r} is not a date.")
    return f"{year:04d}-{month:02d}-{day:02d}"


def _check(out: pl.DataFrame, c: dict[str, str], path: Path, sheet: str) -> list[str]:
    """Codes and numbers are what TWC publishes; returns notes for TWC's own `ERROR` values."""
    import polars as pl

    where = f" of sheet {sheet!r}"
    checks: list[tuple[pl.Expr, pl.Expr, str]] = [
        (pl.col("program_id").is_null(), pl.col("program_name"), f"{{n}} program(s){where} have no Program ID, e.g. {{e!r}}."),
        (pl.col("_cip").is_not_null() & pl.col("cipcode").is_null(), pl.col("_cip"),
         f"column {c['cip']!r} has {{n}} value(s) that are not 6-digit CIP codes, e.g. {{e!r}}."),
        *((pl.col(f"_onet_{i}").is_not_null() & pl.col(f"onet_code_{i}").is_null(), pl.col(f"_onet_{i}"),
           f"column {c[f'onet_{i}']!r} has {{n}} value(s) that are not 8-digit O*NET codes, e.g. {{e!r}}.") for i in (1, 2, 3)),
    ]
    for k, name in NUMBERS.items():
        if k in c:
            raw = pl.col(f"_raw_{k}")
            bad = raw.is_not_null() & (raw != TWC_ERROR) & pl.col(name).is_null()
            checks.append((bad, raw, f"column {c[k]!r} has {{n}} value(s) that are not numbers, e.g. {{e!r}}."))
    for k in ("etpl_start", "etpl_last_update"):
        if k in c:
            raw = pl.col(f"_raw_{k}")
            checks.append((raw.is_not_null() & pl.col(k).is_null(), raw,
                           f"column {c[k]!r} has {{n}} value(s) that are not dates like 'March 12, 2024 4:50 PM', e.g. {{e!r}}."))
    negative = pl.any_horizontal(pl.col(v) < 0 for v in NUMBERS.values())
    checks.append((negative.fill_null(False), pl.col("program_id"), f"{{n}} program(s){where} have a negative length, cost or "
                                                                    "apprentice count, e.g. program {e}."))
    errors = {k: pl.col(f"_raw_{k}") == TWC_ERROR for k in NUMBERS if k in c}
    res = out.select(*(bad.sum().alias(f"n{i}") for i, (bad, _, _) in enumerate(checks)),
                     *(shown.filter(bad).first().alias(f"e{i}") for i, (bad, shown, _) in enumerate(checks)),
                     *(e.sum().alias(f"err_{k}") for k, e in errors.items())).row(0, named=True)
    for i, (_, _, msg) in enumerate(checks):
        if res[f"n{i}"]:
            raise SourceFormatError(path, msg.format(n=res[f"n{i}"], e=res[f"e{i}"]))
    return [f"{path.name}: {res[f'err_{k}']} program(s) have {c[k]!r} = {TWC_ERROR} (TWC's value); stored as null."
            for k in errors if res[f"err_{k}"]]

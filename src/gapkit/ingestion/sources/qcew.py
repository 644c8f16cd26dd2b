"""BLS QCEW (Quarterly Census of Employment and Wages) open-data area slices, annual averages.

One file per area and year, `https://data.bls.gov/cew/data/api/<year>/a/area/<county FIPS>.csv`:
establishments, employment and wages of one county by ownership (`own_code`), industry (NAICS
`industry_code`) and aggregation level (`agglvl_code` 70 county total, 71 by ownership, 72 domain,
73 supersector, 74 sector, 75-78 NAICS 3- to 6-digit).

Every cell is read as text and cast by explicit rules: BLS quotes the code columns
(`"39049","5",...`) and writes two decimals (`1.00`), copies re-saved by pandas have no quotes and
`1.0`; both read to the same values. A cell BLS suppresses (`disclosure_code` N) still publishes its
establishments but prints 0 for employment and wages: those zeros are not real, so employment and
wages are stored as null with ``suppressed`` true, never as 0. The location quotient and the
over-the-year change follow their own disclosure codes the same way.

Dataset ``qcew_area``: vintage = year, unit = the area (county FIPS), so each county-year file adds
its county and a newer copy of the same county-year replaces only that county.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.errors import SchemaDriftError, SourceFormatError, UsageError
from gapkit.ingestion.readers import drop_exact_duplicates, map_columns, number_expr, read_csv_text
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source

if TYPE_CHECKING:
    import polars as pl

BASE = "https://data.bls.gov/cew/data/api/"
DEFAULT_YEARS = (2024,)
SCHEMAS = {
    "qcew_area": pa.schema([
        ("year", pa.int16()), ("area_fips", pa.string()), ("area_type", pa.string()), ("own_code", pa.string()),
        ("industry_code", pa.string()), ("agglvl_code", pa.string()), ("size_code", pa.string()),
        ("disclosure_code", pa.string()), ("suppressed", pa.bool_()), ("establishments", pa.float64()),
        ("employment", pa.float64()), ("total_wages", pa.float64()), ("taxable_wages", pa.float64()),
        ("contributions", pa.float64()), ("avg_weekly_wage", pa.float64()), ("avg_annual_pay", pa.float64()),
        ("lq_employment", pa.float64()), ("oty_employment_chg", pa.float64()), ("oty_employment_pct_chg", pa.float64()),
        ("source_file", pa.string()),
    ])
}
COLS = {
    "area_fips": r"^area_fips$", "own_code": r"^own_code$", "industry_code": r"^industry_code$",
    "agglvl_code": r"^agglvl_code$", "size_code": r"^size_code$", "year": r"^year$", "qtr": r"^qtr$",
    "disclosure_code": r"^disclosure_code$", "establishments": r"^annual_avg_estabs(_count)?$",
    "employment": r"^annual_avg_emplvl$", "total_wages": r"^total_annual_wages$",
    "taxable_wages": r"^taxable_annual_wages$", "contributions": r"^annual_contributions$",
    "avg_weekly_wage": r"^annual_avg_wkly_wage$", "avg_annual_pay": r"^avg_annual_pay$",
    "lq_disclosure_code": r"^lq_disclosure_code$", "lq_employment": r"^lq_annual_avg_emplvl$",
    "oty_disclosure_code": r"^oty_disclosure_code$", "oty_employment_chg": r"^oty_annual_avg_emplvl_chg$",
    "oty_employment_pct_chg": r"^oty_annual_avg_emplvl_pct_chg$",
}
# The published column name of each field (what a schema-drift message names).
LABELS = {k: rx.strip("^$").split("(")[0] for k, rx in COLS.items()}
REQUIRED = ["area_fips", "own_code", "industry_code", "agglvl_code", "size_code", "year", "qtr", "disclosure_code",
            "establishments", "employment", "total_wages", "avg_weekly_wage", "avg_annual_pay"]
# Figures BLS prints as 0 when the cell is suppressed, by the disclosure code that governs them.
SUPPRESSIBLE = {
    "disclosure_code": ("employment", "total_wages", "taxable_wages", "contributions", "avg_weekly_wage", "avg_annual_pay"),
    "lq_disclosure_code": ("lq_employment",),
    "oty_disclosure_code": ("oty_employment_chg", "oty_employment_pct_chg"),
}
NUMBERS = ("establishments", "employment", "total_wages", "taxable_wages", "contributions", "avg_weekly_wage",
           "avg_annual_pay", "lq_employment", "oty_employment_chg", "oty_employment_pct_chg")
# Published on every disclosed row of an annual area slice.
ALWAYS = ("establishments", "employment", "total_wages", "avg_weekly_wage", "avg_annual_pay")
DISCLOSURE_VALUES = ("", "N")
AREA_TYPES = ((r"^US000$", "national"), (r"^\d{2}000$", "state"), (r"^\d{5}$", "county"), (r"^C\d{4}$", "msa"),
              (r"^CS\d{3}$", "csa"))
KEY = ["own_code", "industry_code", "agglvl_code", "size_code"]
# `<year>-a-<area>.csv` (copies named after the API path) or the API's own `<area>.csv`.
NAME = re.compile(r"(?:(?<!\d)(\d{4})-a-)?(\d{5}|C\d{4}|CS\d{3}|US000)\.csv$", re.I)
CLAIM = re.compile(r"qcew.*\d{4}.*\.csv$", re.I)
MIRROR = re.compile(r"/cew/data/api/(\d{4})/a/area/[^/]+\.csv$", re.I)
YEAR_DIR = re.compile(r"/(\d{4})/a/area/[^/]+\.csv$", re.I)  # the API path, also kept under data/raw/qcew/
# Aggregation levels whose parts sum to a published total: (total level, parts level, ownership of the parts).
TOTAL_CHECKS = (("70", "71", None), ("71", "73", "5"))


class Qcew(Source):
    name = "qcew"
    title = "BLS QCEW open-data area slices (county employment and wages by industry, annual)"
    datasets = ("qcew_area",)
    homepage = "https://www.bls.gov/cew/additional-resources/open-data/"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        if not opts.counties:
            raise UsageError("qcew downloads one file per county and year: name the counties, e.g. "
                             "`gapkit ingest qcew --counties 39049,39041 --years 2022-2023` (5-digit county FIPS codes), "
                             "or ingest files you downloaded with --from PATH.")
        years = opts.years or list(DEFAULT_YEARS)
        return [Remote(f"{BASE}{y}/a/area/{fips}.csv", f"{y}/a/area/{fips}.csv") for y in years for fips in opts.counties]

    def recognize(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() != ".csv":
            return False
        if CLAIM.search(path.name) or MIRROR.search(path.as_posix()):
            return True  # the name claims the file: a damaged copy is then reported, not skipped
        first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].replace(b'"', b"").lower()
        return first.startswith(b"area_fips,own_code,industry_code,agglvl_code")

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        import polars as pl

        df = read_csv_text(path, origin=path)
        if df.height == 0:
            raise SourceFormatError(path, "the QCEW file has a header but no data rows.")
        c = map_columns(df.columns, COLS, path=path, required=[])
        if "qtr" in c:
            quarters = sorted(set(df[c["qtr"]].str.strip_chars().drop_nulls().to_list()) - {"A", "a"})
            if quarters:
                raise SourceFormatError(path, f"the file holds quarterly data (qtr {', '.join(quarters[:4])}); gapkit reads the "
                                              "annual-average area slices (…/api/<year>/a/area/<FIPS>.csv).")
        missing = [k for k in REQUIRED if k not in c]
        if missing:
            raise SchemaDriftError(path, [LABELS[k] for k in missing], df.columns)

        def text(k: str) -> pl.Expr:
            return pl.col(c[k]).str.strip_chars() if k in c else pl.lit(None, pl.String)

        area, year = _one_value(df, c["area_fips"], "area_fips", path), _one_value(df, c["year"], "year", path)
        area_type = next((t for rx, t in AREA_TYPES if re.match(rx, area)), None)
        if area_type is None:
            raise SourceFormatError(path, f"area_fips {area!r} is not a QCEW area code (a county FIPS code such as 39049).")
        if not re.fullmatch(r"(19|20)\d\d", year):
            raise SourceFormatError(path, f"the year column holds {year!r}, not a year.")
        _check_name(path, area, year)

        codes = {"own_code": r"^\d$", "agglvl_code": r"^\d{2}$", "size_code": r"^\d$", "industry_code": r"^[0-9][0-9A-Z\-]*$"}
        disclosure = {k: text(k).fill_null("") for k in SUPPRESSIBLE}
        values = {k: number_expr(c[k], specials=("",)) if k in c else pl.lit(None, pl.Float64) for k in NUMBERS}
        out = df.select(
            pl.lit(int(year)).cast(pl.Int16).alias("year"),
            pl.lit(area).alias("area_fips"),
            pl.lit(area_type).alias("area_type"),
            *(text(k).alias(k) for k in codes),
            disclosure["disclosure_code"].alias("disclosure_code"),
            (disclosure["disclosure_code"] == "N").alias("suppressed"),
            *(pl.when(disclosure[d] == "N").then(None).otherwise(values[k]).alias(k)
              for d, ks in SUPPRESSIBLE.items() for k in ks),
            values["establishments"].alias("establishments"),
            pl.lit(path.name).alias("source_file"),
            *(disclosure[d].alias(f"_d_{d}") for d in SUPPRESSIBLE if d != "disclosure_code"),
            *(text(k).alias(f"_raw_{k}") for k in NUMBERS if k in c),
        )
        _check_rows(out, c, codes, path)
        out = out.select(SCHEMAS["qcew_area"].names)
        out, notes = drop_exact_duplicates(out, path, KEY, lambda n, r: (
            f"{n} ownership × industry × aggregation-level key(s) appear more than once with different figures "
            f"(e.g. own_code {r['own_code']}, industry {r['industry_code']}, agglvl {r['agglvl_code']}); the file has conflicting rows."))
        notes += _total_notes(out, path)
        return [ParsedTable("qcew_area", year, area, out, notes)]


def _one_value(df: pl.DataFrame, col: str, label: str, path: Path) -> str:
    vals = df[col].str.strip_chars().unique().drop_nulls().sort().to_list()
    if df[col].null_count() or len(vals) != 1:
        shown = ", ".join(vals[:5]) or "(empty)"
        raise SourceFormatError(path, f"column {label} must hold one value in an area slice, but it has {shown}"
                                      f"{' and empty cells' if df[col].null_count() else ''}; gapkit reads one area and year per file.")
    return str(vals[0])


def _check_name(path: Path, area: str, year: str) -> None:
    """A file named after an area (and year) must hold that area (and year): a misfiled download is refused."""
    m = NAME.search(path.name)
    in_dir = YEAR_DIR.search(path.as_posix())
    named_year = (m.group(1) if m else None) or (in_dir.group(1) if in_dir else None)
    if m and m.group(2).upper() != area.upper():
        raise SourceFormatError(path, f"the file name says area {m.group(2)} but the file holds area {area}.")
    if named_year and named_year != year:
        raise SourceFormatError(path, f"the file name says {named_year} but the file holds {year}.")


def _check_rows(out: pl.DataFrame, c: dict[str, str], codes: dict[str, str], path: Path) -> None:
    """One pass over the rows: codes well formed, disclosure codes known, numbers numbers, disclosed cells published."""
    import polars as pl

    checks: list[tuple[str, pl.Expr, pl.Expr, str]] = []
    for k, rx in codes.items():
        bad = pl.col(k).is_null() | ~pl.col(k).str.contains(rx)
        checks.append((k, bad, pl.col(k), f"column {c[k]!r} has {{n}} value(s) that are not QCEW {k.replace('_', ' ')}s, e.g. {{e!r}}."))
    for d in SUPPRESSIBLE:
        col = "disclosure_code" if d == "disclosure_code" else f"_d_{d}"
        if d in c:
            bad = ~pl.col(col).is_in(list(DISCLOSURE_VALUES))
            checks.append((d, bad, pl.col(col), f"column {c[d]!r} has {{n}} value(s) other than empty or N (suppressed), e.g. {{e!r}}."))
    for k in NUMBERS:
        if k not in c:
            continue
        raw = pl.col(f"_raw_{k}")
        unreadable = raw.is_not_null() & (raw != "") & raw.cast(pl.Float64, strict=False).is_null()
        checks.append((k, unreadable, raw, f"column {c[k]!r} has {{n}} value(s) that are not numbers, e.g. {{e!r}}."))
        if k in ALWAYS:
            gate = pl.lit(True) if k == "establishments" else ~pl.col("suppressed")
            empty = gate & (raw.is_null() | (raw == ""))
            where = pl.concat_str([pl.lit("own_code "), pl.col("own_code"), pl.lit(", industry "), pl.col("industry_code"),
                                   pl.lit(", agglvl "), pl.col("agglvl_code")])
            checks.append((f"{k}_empty", empty, where,
                           f"column {c[k]!r} is empty on {{n}} row(s) BLS does not mark as suppressed, e.g. {{e}}."))
    res = out.select(
        *(bad.sum().alias(f"n{i}") for i, (_, bad, _, _) in enumerate(checks)),
        *(shown.filter(bad).first().cast(pl.String).alias(f"e{i}") for i, (_, bad, shown, _) in enumerate(checks)),
    ).row(0, named=True)
    for i, (_, _, _, msg) in enumerate(checks):
        if res[f"n{i}"]:
            raise SourceFormatError(path, msg.format(n=res[f"n{i}"], e=res[f"e{i}"]))


def _total_notes(out: pl.DataFrame, path: Path) -> list[str]:
    """Published totals vs the sum of their disclosed parts (annual averages are rounded, so each part
    may be off by half a job): a wider gap is reported, never adjusted."""
    import polars as pl

    notes = []
    for total_lvl, parts_lvl, own in TOTAL_CHECKS:
        total = out.filter(pl.col("agglvl_code") == total_lvl)
        parts = out.filter(pl.col("agglvl_code") == parts_lvl)
        if own is not None:
            total, parts = total.filter(pl.col("own_code") == own), parts.filter(pl.col("own_code") == own)
        if total.height != 1 or parts.height == 0 or total["suppressed"].any() or parts["suppressed"].any():
            continue
        t, s = float(total["employment"].item()), float(parts["employment"].sum())
        if abs(t - s) > 0.5 * parts.height:
            notes.append(f"{path.name}: aggregation level {total_lvl} employment {t:,.0f} but its level-{parts_lvl} parts sum "
                         f"to {s:,.0f} ({s - t:+,.0f}); stored as published.")
    return notes

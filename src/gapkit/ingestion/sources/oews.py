"""OEWS (BLS Occupational Employment and Wage Statistics): wages and employment by occupation.

National (`oesm<YY>nat.zip`), state (`oesm<YY>st.zip`) and national-by-industry (`oesm<YY>in4.zip`:
`natsector_`, `nat3d_`, `nat4d_` files) workbooks, plus CSV exports with a subset of the columns.
Every cell is read as text and special values are decoded by explicit rules, never turned into
zeros: `*` wage not available, `**` employment not available, `#` wage top-coded (at or above the
threshold printed in the workbook's Field Descriptions, e.g. $239,200 a year in May 2024), `~` fewer
than 0.5% of establishments. A top-coded median is stored as null with its flag and threshold.

Official workbooks must carry every column gapkit keeps; CSV subsets need OCC_CODE, an employment or
wage column, and A_MEDIAN whenever they carry other percentiles. Subsets without AREA get the national
area (99, U.S.) or, for state files, the state FIPS code and name from PRIM_STATE; subsets without
O_GROUP get it from the SOC code pattern (see ``_o_group_expr``).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.codes import STATES, soc_expr
from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import (
    drop_exact_duplicates,
    map_columns,
    number_expr,
    open_zip,
    read_csv_text,
    read_xlsx_sheet,
    xlsx_sheets,
)
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source

if TYPE_CHECKING:
    import polars as pl

BASE = "https://www.bls.gov/oes/special-requests/"
SCHEMAS = {
    "oews_wages": pa.schema([
        ("year", pa.int16()), ("area_type", pa.string()), ("area_code", pa.string()), ("area_title", pa.string()),
        ("state", pa.string()), ("naics", pa.string()), ("naics_title", pa.string()), ("i_group", pa.string()),
        ("own_code", pa.string()), ("soc_code", pa.string()), ("title", pa.string()), ("o_group", pa.string()),
        ("tot_emp", pa.float64()), ("emp_flag", pa.string()), ("h_mean", pa.float64()), ("a_mean", pa.float64()),
        ("h_median", pa.float64()), ("a_median", pa.float64()), ("a_pct10", pa.float64()), ("a_pct25", pa.float64()),
        ("a_pct75", pa.float64()), ("a_pct90", pa.float64()), ("a_median_flag", pa.string()),
        ("a_median_topcode", pa.float64()), ("source_file", pa.string()),
    ])
}
ZIP_NAME = re.compile(r"^oesm(\d{2})(nat|st|in4|ma)\.zip$", re.I)
MEMBER = re.compile(r"^(national|state|natsector|nat3d|nat4d|nat5d_6d|nat5d|nat6d|MSA|BOS)_M(\d{4})_dl\.(xlsx|csv)", re.I)
CSV_HINT = re.compile(r"(state|national|nat\w*|MSA|BOS)_M(\d{4})", re.I)
COLS = {
    "area": r"^area$", "area_title": r"^area_title$", "area_type": r"^area_type$", "prim_state": r"^prim_state$", "naics": r"^naics$",
    "naics_title": r"^naics_title$", "i_group": r"^i_group$", "own_code": r"^own_code$", "occ_code": r"^occ_code$",
    "occ_title": r"^occ_title$", "o_group": r"^o_group$", "tot_emp": r"^tot_emp$", "h_mean": r"^h_mean$",
    "a_mean": r"^a_mean$", "h_median": r"^h_median$", "a_median": r"^a_median$", "a_pct10": r"^a_pct10$",
    "a_pct25": r"^a_pct25$", "a_pct75": r"^a_pct75$", "a_pct90": r"^a_pct90$",
}
# Published top-code thresholds (annual) where a file carries no Field Descriptions sheet.
TOPCODE_ANNUAL = {2019: 208000.0, 2020: 208000.0, 2021: 208000.0, 2022: 239200.0, 2023: 239200.0, 2024: 239200.0}
KINDS = {"national": ("national", "NAT"), "state": ("state", "ST"), "natsector": ("industry", "SECTOR"),
         "nat3d": ("industry", "NAT3D"), "nat4d": ("industry", "NAT4D"), "nat5d": ("industry", "NAT5D"),
         "nat6d": ("industry", "NAT6D"), "nat5d_6d": ("industry", "NAT5D6D"), "msa": ("metro", "MSA"),
         "bos": ("nonmetro", "BOS")}
# OEWS AREA_TYPE codes of the sub-state files: 4 metropolitan area, 6 nonmetropolitan area.
SUBSTATE_AREA_TYPES = {"4": "metro", "6": "nonmetro"}
# Columns an official workbook must carry (every one gapkit keeps); AREA_TYPE is read where present.
OFFICIAL_COLS = [k for k in COLS if k != "area_type"]


class Oews(Source):
    name = "oews"
    title = "BLS OEWS wages and employment (national, state, national by industry)"
    datasets = ("oews_wages",)
    homepage = "https://www.bls.gov/oes/tables.htm"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        years = opts.years or [2024]
        out = []
        for y in years:
            yy = f"{y % 100:02d}"
            out.append(Remote(f"{BASE}oesm{yy}nat.zip", f"oesm{yy}nat.zip"))
            out.append(Remote(f"{BASE}oesm{yy}st.zip", f"oesm{yy}st.zip", required=False))
            out.append(Remote(f"{BASE}oesm{yy}in4.zip", f"oesm{yy}in4.zip", required=False))
            out.append(Remote(f"{BASE}oesm{yy}ma.zip", f"oesm{yy}ma.zip", required=False))
        return out

    def recognize(self, path: Path, head: bytes) -> bool:
        name = path.name
        if ZIP_NAME.match(name) or (MEMBER.match(name) and name.lower().endswith(".xlsx")):
            return True
        if name.lower().endswith(".csv"):
            first = head.split(b"\n", 1)[0].upper()
            return b"OCC_CODE" in first and (b"A_MEAN" in first or b"A_MEDIAN" in first or b"TOT_EMP" in first)
        return False

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        if path.suffix.lower() == ".zip":
            return self._zip(path)
        if path.suffix.lower() == ".xlsx":
            m = MEMBER.match(path.name)
            if not m:
                raise SourceFormatError(path, "the file name is not an OEWS workbook name (national_M2024_dl.xlsx, state_M2024_dl.xlsx, ...).")
            return self._xlsx(path, m.group(1).lower(), int(m.group(2)), path.name)
        return self._csv(path.read_bytes(), path, path.name)

    def _zip(self, path: Path) -> list[ParsedTable]:
        import tempfile

        from gapkit.store import scratch_dir

        with open_zip(path) as zf:
            members = [i for i in zf.infolist() if not i.is_dir() and MEMBER.match(PurePosixPath(i.filename).name)]
            if not members:
                listed = ", ".join(i.filename for i in zf.infolist()[:8]) or "nothing"
                raise SourceFormatError(path, f"the archive holds no OEWS data file (national_M<year>_dl.xlsx, ...); it has {listed}.")
            out = []
            for info in members:
                base = PurePosixPath(info.filename).name
                m = MEMBER.match(base)
                assert m is not None
                data = zf.read(info)
                if base.lower().endswith(".csv"):
                    out.extend(self._csv(data, path, f"{path.name}:{base}"))
                    continue
                with tempfile.TemporaryDirectory(prefix="gapkit-oews-", dir=scratch_dir()) as tmpdir:
                    tmp = Path(tmpdir) / base
                    tmp.write_bytes(data)
                    try:
                        out.extend(self._xlsx(tmp, m.group(1).lower(), int(m.group(2)), f"{path.name}:{base}", shown=path))
                    except SourceFormatError as exc:
                        if exc.path != str(tmp):
                            raise
                        raise SourceFormatError(f"{path} (member {info.filename})", exc.problem) from None
        return out

    def _xlsx(self, path: Path, kind: str, year: int, label: str, shown: Path | None = None) -> list[ParsedTable]:
        shown = shown or path
        sheets = xlsx_sheets(path)
        data_sheet = next((s for s in sheets if MEMBER.match(s + ".xlsx") or re.search(r"_dl$", s, re.I)), sheets[0])
        df = read_xlsx_sheet(path, data_sheet, header_row=0)
        topcode = _topcode_from_descriptions(path, sheets) or TOPCODE_ANNUAL.get(year)
        return self._frame(df, kind, year, label, shown, topcode, official=True)

    def _csv(self, data: bytes, path: Path, label: str) -> list[ParsedTable]:
        df = read_csv_text(data, origin=path)
        m = CSV_HINT.search(path.name) or CSV_HINT.search(label)
        year = int(m.group(2)) if m else None
        if year is None:
            raise SourceFormatError(path, "the CSV name does not say the OEWS year (e.g. state_M2024_dl.csv); rename it so gapkit can tell its vintage.")
        raw_kind = m.group(1).lower() if m else "national"
        kind = raw_kind if raw_kind in KINDS else "national"
        return self._frame(df, kind, year, label, path, TOPCODE_ANNUAL.get(year))

    def _frame(self, df: pl.DataFrame, kind: str, year: int, label: str, path: Path, topcode: float | None,
               official: bool = False) -> list[ParsedTable]:
        import polars as pl

        if df.height == 0:
            raise SourceFormatError(path, "the OEWS table has a header but no data rows.")
        c = map_columns(df.columns, COLS, path=path, required=[])
        missing = [k.upper() for k in (OFFICIAL_COLS if official else ["occ_code"]) if k not in c]
        if missing:  # official workbooks carry every column gapkit keeps; subsets at least OCC_CODE
            raise SchemaDriftError(path, missing, df.columns)
        if not {"tot_emp", "a_mean", "a_median"} & set(c):
            raise SchemaDriftError(path, ["TOT_EMP / A_MEAN / A_MEDIAN (no employment or wage column)"], df.columns)
        if "a_median" not in c and {"a_pct10", "a_pct25", "a_pct75", "a_pct90", "h_median"} & set(c):
            raise SchemaDriftError(path, ["A_MEDIAN"], df.columns)
        if "naics" in c and kind == "national" and df.select(pl.col(c["naics"]).str.strip_chars().ne("000000").any()).item():
            kind = "natsector"
        area_type, unit_kind = KINDS.get(kind, ("national", kind.upper()))
        if area_type == "state" and not {"prim_state", "area"} & set(c):
            raise SchemaDriftError(path, ["PRIM_STATE (or AREA)"], df.columns)

        def col(k: str) -> pl.Expr:
            return pl.col(c[k]).cast(pl.String).str.strip_chars() if k in c else pl.lit(None, pl.String)

        med = col("a_median")
        emp = col("tot_emp")
        if area_type == "state":
            fips_of = {a: f for f, (a, _) in STATES.items()}
            name_of = {f: n for f, (_, n) in STATES.items()}
            state = col("prim_state") if "prim_state" in c else col("area").str.zfill(2).replace_strict(
                {f: a for f, (a, _) in STATES.items()}, default=None)
            area = col("area").str.zfill(2) if "area" in c else state.replace_strict(fips_of, default=None)
            title = col("area_title") if "area_title" in c else area.replace_strict(name_of, default=None)
        elif area_type in ("metro", "nonmetro"):
            if not {"area", "prim_state"} <= set(c):
                raise SchemaDriftError(path, [k.upper() for k in ("area", "prim_state") if k not in c], df.columns)
            state, area = col("prim_state"), col("area")
            title = col("area_title") if "area_title" in c else area
        else:
            state = col("prim_state") if "prim_state" in c else pl.lit("US")
            area = col("area") if "area" in c else pl.lit("99")
            title = col("area_title") if "area_title" in c else pl.lit("U.S.")
        # Sub-state files say per row whether an area is metropolitan (4) or nonmetropolitan (6).
        kind_expr = (col("area_type").replace_strict(SUBSTATE_AREA_TYPES, default=pl.lit(area_type))
                     if area_type in ("metro", "nonmetro") and "area_type" in c else pl.lit(area_type))
        out = df.select(
            pl.lit(year).cast(pl.Int16).alias("year"),
            kind_expr.alias("area_type"),
            area.alias("area_code"),
            title.alias("area_title"),
            state.alias("state"),
            col("naics").alias("naics"), col("naics_title").alias("naics_title"), col("i_group").alias("i_group"),
            col("own_code").alias("own_code"),
            soc_expr(c["occ_code"]).alias("soc_code"),
            col("occ_title").alias("title"),
            col("o_group").str.to_lowercase().alias("o_group"),
            *(number_expr(c[k]).alias(k) if k in c else pl.lit(None, pl.Float64).alias(k) for k in NUMBERS),
            pl.when(emp == "**").then(pl.lit("not available")).when(emp == "~").then(pl.lit("<0.5% of establishments"))
            .otherwise(None).alias("emp_flag"),
            pl.when(med == "#").then(pl.lit("top-coded")).when(med == "*").then(pl.lit("not available")).otherwise(None)
            .alias("a_median_flag"),
            pl.when(med == "#").then(pl.lit(topcode, pl.Float64)).otherwise(None).alias("a_median_topcode"),
            pl.lit(label).alias("source_file"),
            pl.col(c["occ_code"]).alias("_raw_code"),
            *(col(k).alias(f"_raw_{k}") for k in NUMBERS if k in c),
        )
        _check(out, [k for k in NUMBERS if k in c], c, area_type, path)
        out = out.drop("_raw_code", *(f"_raw_{k}" for k in NUMBERS if k in c))
        if "o_group" not in c:
            out = out.with_columns(_o_group_expr("soc_code").alias("o_group"))
        out, notes = _drop_exact_duplicates(out, path)
        out = out.select(SCHEMAS["oews_wages"].names)
        if area_type not in ("metro", "nonmetro"):
            return [ParsedTable("oews_wages", str(year), unit_kind, out, notes)]
        # Metro and nonmetro files come whole (every area of the country) or cut to a few states:
        # each area is its own unit, so a file for other states adds areas instead of replacing these,
        # and national and state rows (units NAT, ST) are never touched.
        bad = out.filter(pl.col("area_code").is_null() | ~pl.col("area_code").str.contains(r"^\d{5,7}$"))
        if bad.height:
            raise SourceFormatError(path, f"{bad.height} row(s) have an AREA that is not an OEWS metro (5-digit) or nonmetro "
                                          f"(7-digit) area code, e.g. {bad['area_code'][0]!r}.")
        parts = out.partition_by("area_type", "area_code", as_dict=True, maintain_order=True)
        return [ParsedTable("oews_wages", str(year), f"{'MSA' if at == 'metro' else 'BOS'}:{code}", part, notes if i == 0 else [])
                for i, ((at, code), part) in enumerate(parts.items())]


NUMBERS = ("tot_emp", "h_mean", "a_mean", "h_median", "a_median", "a_pct10", "a_pct25", "a_pct75", "a_pct90")
SPECIALS = ["*", "**", "#", "~", ""]


def _check(out: pl.DataFrame, numbers: list[str], c: dict[str, str], area_type: str, path: Path) -> None:
    """One pass: SOC codes parse, numeric cells are numbers or OEWS special values, state codes are real."""
    import polars as pl

    def bad(k: str) -> pl.Expr:
        raw = pl.col(f"_raw_{k}")
        return raw.is_not_null() & ~raw.is_in(SPECIALS) & pl.col(k).is_null()

    states = sorted({a for a, _ in STATES.values()})
    chk = out.select(
        pl.col("soc_code").is_null().sum().alias("_bad_soc"),
        pl.col("_raw_code").filter(pl.col("soc_code").is_null()).first().alias("_bad_soc_e"),
        *(bad(k).sum().alias(k) for k in numbers),
        *(pl.col(f"_raw_{k}").filter(bad(k)).first().alias(f"_e_{k}") for k in numbers),
        (pl.col("state").filter(~pl.col("state").is_in(states) & pl.col("state").is_not_null()).unique().sort().implode()
         if area_type == "state" else pl.lit([], pl.List(pl.String))).alias("_bad_state"),
        (pl.col("area_code").is_null().sum() if area_type == "state" else pl.lit(0)).alias("_no_area"),
    ).row(0, named=True)
    if chk["_bad_soc"]:
        raise SourceFormatError(path, f"{chk['_bad_soc']} row(s) have an OCC_CODE that is not a SOC code (e.g. {chk['_bad_soc_e']!r}).")
    for k in numbers:
        if chk[k]:
            raise SourceFormatError(path, f"column {c[k]!r} holds {chk[k]} value(s) that are neither numbers nor OEWS special "
                                          f"values (*, **, #, ~), e.g. {chk[f'_e_{k}']!r}.")
    if chk["_bad_state"] or chk["_no_area"]:
        shown = ", ".join(chk["_bad_state"][:5]) or "(empty or unknown area codes)"
        raise SourceFormatError(path, f"the state column has values that are not U.S. states or territories: {shown}.")


def _o_group_expr(code: str) -> pl.Expr:
    """O_GROUP for files that dropped it: the SOC level from the code pattern, except that a broad code
    none of whose detailed codes appears anywhere in the file is one of the aggregates OEWS publishes
    in place of detailed occupations (29-2010, 31-1120, ...): ``detailed``, as OEWS labels it."""
    import polars as pl

    s = pl.col(code)
    level = (pl.when(s == "00-0000").then(pl.lit("total")).when(s.str.ends_with("0000")).then(pl.lit("major"))
             .when(s.str.ends_with("00")).then(pl.lit("minor")).when(s.str.ends_with("0")).then(pl.lit("broad"))
             .otherwise(pl.lit("detailed")))
    has_detail = (level == "detailed").any().over(s.str.slice(0, 6))
    return pl.when((level == "broad") & ~has_detail).then(pl.lit("detailed")).otherwise(level)


def _drop_exact_duplicates(out: pl.DataFrame, path: Path) -> tuple[pl.DataFrame, list[str]]:
    """Keys repeat only as OEWS publishes them (an aggregate both broad and detailed); a repeated key
    with different figures is an error, an exactly repeated row is dropped and reported."""
    return drop_exact_duplicates(out, path, ["area_code", "naics", "own_code", "soc_code", "o_group"], lambda n, r: (
        f"{n} area × industry × occupation key(s) appear more than once with different figures (e.g. {r['soc_code']} in "
        f"area {r['area_code']}, industry {r['naics']}); the file has conflicting rows."))


def _topcode_from_descriptions(path: Path, sheets: list[str]) -> float | None:
    sheet = next((s for s in sheets if re.search(r"field desc", s, re.I)), None)
    if sheet is None:
        return None
    df = read_xlsx_sheet(path, sheet, header_row=None)
    text = " ".join(str(v) for row in df.iter_rows() for v in row if v)
    m = re.search(r"#\s*=.*?\$([\d,]+)\s*per year", text)
    return float(m.group(1).replace(",", "")) if m else None


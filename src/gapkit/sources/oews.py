"""OEWS (BLS Occupational Employment and Wage Statistics): wages and employment by occupation.

National (`oesm<YY>nat.zip`), state (`oesm<YY>st.zip`) and national-by-industry (`oesm<YY>in4.zip`:
`natsector_`, `nat3d_`, `nat4d_` files) workbooks, plus CSV exports with a subset of the columns.
Every cell is read as text and special values are decoded by explicit rules, never turned into
zeros: `*` wage not available, `**` employment not available, `#` wage top-coded (at or above the
threshold printed in the workbook's Field Descriptions, e.g. $239,200 a year in May 2024), `~` fewer
than 0.5% of establishments. A top-coded median is stored as null with its flag and threshold.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.codes import STATES, soc_expr, soc_level
from gapkit.errors import SourceFormatError
from gapkit.readers import map_columns, number_expr, open_zip, read_csv_text, read_xlsx_sheet, xlsx_sheets
from gapkit.sources.base import IngestOptions, ParsedTable, Remote, Source

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
ZIP_NAME = re.compile(r"^oesm(\d{2})(nat|st|in4|ma|all)\.zip$", re.I)
MEMBER = re.compile(r"^(national|state|natsector|nat3d|nat4d|nat5d|nat6d|MSA|all_data)_M(\d{4})_dl\.(xlsx|csv)", re.I)
CSV_HINT = re.compile(r"(state|national|nat\w*)_M(\d{4})", re.I)
COLS = {
    "area": r"^area$", "area_title": r"^area_title$", "prim_state": r"^prim_state$", "naics": r"^naics$",
    "naics_title": r"^naics_title$", "i_group": r"^i_group$", "own_code": r"^own_code$", "occ_code": r"^occ_code$",
    "occ_title": r"^occ_title$", "o_group": r"^o_group$", "tot_emp": r"^tot_emp$", "h_mean": r"^h_mean$",
    "a_mean": r"^a_mean$", "h_median": r"^h_median$", "a_median": r"^a_median$", "a_pct10": r"^a_pct10$",
    "a_pct25": r"^a_pct25$", "a_pct75": r"^a_pct75$", "a_pct90": r"^a_pct90$",
}
# Published top-code thresholds (annual) where a file carries no Field Descriptions sheet.
TOPCODE_ANNUAL = {2019: 208000.0, 2020: 208000.0, 2021: 208000.0, 2022: 239200.0, 2023: 239200.0, 2024: 239200.0}
KINDS = {"national": ("national", "NAT"), "state": ("state", "ST"), "natsector": ("industry", "SECTOR"),
         "nat3d": ("industry", "NAT3D"), "nat4d": ("industry", "NAT4D"), "nat5d": ("industry", "NAT5D"),
         "nat6d": ("industry", "NAT6D"), "msa": ("msa", "MSA"), "all_data": ("all", "ALL")}


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
            return [self._xlsx(path, m.group(1).lower(), int(m.group(2)), path.name)]
        return [self._csv(path.read_bytes(), path, path.name)]

    def _zip(self, path: Path) -> list[ParsedTable]:
        import tempfile

        zf = open_zip(path)
        members = [i for i in zf.infolist() if not i.is_dir() and MEMBER.match(PurePosixPath(i.filename).name)]
        if not members:
            raise SourceFormatError(path, f"the archive holds no OEWS data file (it has {', '.join(i.filename for i in zf.infolist()[:8])}).")
        out = []
        for info in members:
            base = PurePosixPath(info.filename).name
            m = MEMBER.match(base)
            assert m is not None
            data = zf.read(info)
            if base.lower().endswith(".csv"):
                out.append(self._csv(data, path, f"{path.name}:{base}"))
                continue
            with tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:
                tmp.write(data)
                tmp.flush()
                out.append(self._xlsx(Path(tmp.name), m.group(1).lower(), int(m.group(2)), f"{path.name}:{base}", shown=path))
        return out

    def _xlsx(self, path: Path, kind: str, year: int, label: str, shown: Path | None = None) -> ParsedTable:
        shown = shown or path
        sheets = xlsx_sheets(path)
        data_sheet = next((s for s in sheets if MEMBER.match(s + ".xlsx") or re.search(r"_dl$", s, re.I)), sheets[0])
        df = read_xlsx_sheet(path, data_sheet, header_row=0)
        topcode = _topcode_from_descriptions(path, sheets) or TOPCODE_ANNUAL.get(year)
        return self._frame(df, kind, year, label, shown, topcode)

    def _csv(self, data: bytes, path: Path, label: str) -> ParsedTable:
        df = read_csv_text(data, origin=path)
        m = CSV_HINT.search(path.name) or CSV_HINT.search(label)
        year = int(m.group(2)) if m else None
        if year is None:
            raise SourceFormatError(path, "the CSV name does not say the OEWS year (e.g. state_M2024_dl.csv); rename it so gapkit can tell its vintage.")
        raw_kind = m.group(1).lower() if m else "national"
        kind = raw_kind if raw_kind in KINDS else "national"
        return self._frame(df, kind, year, label, path, TOPCODE_ANNUAL.get(year))

    def _frame(self, df: pl.DataFrame, kind: str, year: int, label: str, path: Path, topcode: float | None) -> ParsedTable:
        import polars as pl

        c = map_columns(df.columns, COLS, path=path, required=["occ_code"])
        if not {"tot_emp", "a_mean", "a_median"} & set(c):
            from gapkit.errors import SchemaDriftError

            raise SchemaDriftError(path, ["A_MEDIAN (or TOT_EMP / A_MEAN)"], df.columns)
        if "naics" in c and kind == "national" and df.select(pl.col(c["naics"]).str.strip_chars().ne("000000").any()).item():
            kind = "natsector"
        area_type, unit_kind = KINDS.get(kind, ("national", kind.upper()))
        has_state = "prim_state" in c

        def col(k: str) -> pl.Expr:
            return pl.col(c[k]).cast(pl.String).str.strip_chars() if k in c else pl.lit(None, pl.String)

        med = col("a_median")
        state_expr = col("prim_state") if has_state else pl.lit("US")
        if area_type == "state" and not has_state:
            raise SourceFormatError(path, "a state OEWS file needs a PRIM_STATE column.")
        out = df.select(
            pl.lit(year).cast(pl.Int16).alias("year"),
            pl.lit(area_type).alias("area_type"),
            (col("area") if "area" in c else state_expr).alias("area_code"),
            (col("area_title") if "area_title" in c else state_expr).alias("area_title"),
            state_expr.alias("state"),
            col("naics").alias("naics"), col("naics_title").alias("naics_title"), col("i_group").alias("i_group"),
            col("own_code").alias("own_code"),
            soc_expr(c["occ_code"]).alias("soc_code"),
            col("occ_title").alias("title"),
            col("o_group").alias("o_group"),
            *(number_expr(c[k]).alias(k) if k in c else pl.lit(None, pl.Float64).alias(k)
              for k in ("tot_emp", "h_mean", "a_mean", "h_median", "a_median", "a_pct10", "a_pct25", "a_pct75", "a_pct90")),
            pl.when(col("tot_emp") == "**").then(pl.lit("not available")).when(col("tot_emp") == "~").then(pl.lit("<0.5% of establishments"))
            .otherwise(None).alias("emp_flag"),
            pl.when(med == "#").then(pl.lit("top-coded")).when(med == "*").then(pl.lit("not available")).otherwise(None).alias("a_median_flag"),
            pl.when(med == "#").then(pl.lit(topcode, pl.Float64)).otherwise(None).alias("a_median_topcode"),
            pl.lit(label).alias("source_file"),
        )
        bad = out.filter(pl.col("soc_code").is_null())
        if bad.height:
            raise SourceFormatError(path, f"{bad.height} row(s) have an OCC_CODE that is not a SOC code.")
        strange = df.select(med.alias("m")).filter(pl.col("m").is_not_null() & ~pl.col("m").is_in(["#", "*", "**", "~", ""]) &
                                                   pl.col("m").str.replace_all(",", "").cast(pl.Float64, strict=False).is_null())
        if strange.height:
            raise SourceFormatError(path, f"A_MEDIAN holds {strange.height} value(s) that are neither numbers nor OEWS special values (e.g. {strange['m'][0]!r}).")
        if "o_group" not in c:
            out = out.with_columns(pl.col("soc_code").map_elements(soc_level, return_dtype=pl.String).alias("o_group"))
        if area_type == "state":
            unknown = sorted(set(out["state"].drop_nulls().unique().to_list()) - {a for a, _ in STATES.values()})
            if unknown:
                raise SourceFormatError(path, f"PRIM_STATE has values that are not U.S. states or territories: {', '.join(unknown[:5])}.")
        dup = out.group_by("area_code", "naics", "own_code", "soc_code", "o_group").len().filter(pl.col("len") > 1)
        if dup.height > out.height * 0.01:
            raise SourceFormatError(path, f"{dup.height} area × industry × occupation keys appear more than once; the file has duplicated rows.")
        out = out.unique(subset=["area_code", "naics", "own_code", "soc_code", "o_group"], keep="first", maintain_order=True)
        return ParsedTable("oews_wages", str(year), unit_kind, out.select(SCHEMAS["oews_wages"].names))


def _topcode_from_descriptions(path: Path, sheets: list[str]) -> float | None:
    sheet = next((s for s in sheets if re.search(r"field desc", s, re.I)), None)
    if sheet is None:
        return None
    df = read_xlsx_sheet(path, sheet, header_row=None)
    text = " ".join(str(v) for row in df.iter_rows() for v in row if v)
    m = re.search(r"#\s*=.*?\$([\d,]+)\s*per year", text)
    return float(m.group(1).replace(",", "")) if m else None


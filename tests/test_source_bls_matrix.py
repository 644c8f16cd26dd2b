"""bls-matrix: National Employment Matrix in its four layouts (matrix.xlsx, data.bls.gov IND/OCC
exports, legacy ind_<code>.xlsx workbooks). Real files are read in place from ../shared; edge cases
are copies or tiny hand-made files in tmp_path."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import sniff
from gapkit.ingestion.sources.base import IngestOptions
from gapkit.ingestion.sources.bls_matrix import SCHEMAS, BlsMatrix, emp_columns, export_frame, matrix_frame
from tests.minixlsx import write_xlsx

NATIONAL_2022_K = 164482.6  # occupation_2022-32.xlsx, Table 1.10, 00-0000 (incl. self-employed)
IND = "bls_nem/2022-32/ind_csv_data.bls.gov"
OCC = "bls_nem/2021-31/occ_csv_data.bls.gov"
LEGACY = "bls_nem/ind_xlsx_2014-24"


def parse(path: Path) -> tuple[pl.DataFrame, str, str]:
    [t] = BlsMatrix().parse(path, str(path))
    assert t.dataset == "nem_matrix"
    return t.frame, t.vintage, t.unit


def check_schema(df: pl.DataFrame) -> None:
    schema = SCHEMAS["nem_matrix"]
    assert df.columns == schema.names and df.columns[-1] == "source_file"
    expected = {"string": pl.String, "double": pl.Float64}
    assert [df.schema[f.name] for f in schema] == [expected[str(f.type)] for f in schema]
    assert pa.Table.from_batches(df.to_arrow().to_batches()).cast(schema).schema == schema


# -- data.bls.gov per-industry exports (2022-32) ---------------------------------------------------
def test_truck_transportation_export(shared_data: Path) -> None:
    df, cycle, unit = parse(shared_data / IND / "National Employment Matrix_IND_484000.csv")
    check_schema(df)
    assert (cycle, unit, df.height) == ("2022-32", "IND:484000", 251)
    assert set(df["industry_code"]) == {"484000"} and set(df["industry_type"]) == {"Line item"}
    assert df["industry_title"].null_count() == df.height  # the export does not carry it
    assert set(df["occupation_type"]) == {"Summary", "Line item"}  # "Line Item" normalized
    assert set(df["source_file"]) == {"National Employment Matrix_IND_484000.csv"}
    total = df.filter(pl.col("occupation_code") == "00-0000").row(0, named=True)
    assert (total["emp_base_k"], total["emp_proj_k"]) == (1586.2, 1619.4)  # "1,586.2": separators handled
    truck = df.filter(pl.col("occupation_code") == "53-3032").row(0, named=True)  # ="53-3032" unwrapped
    assert truck["occupation_title"] == "Heavy and tractor-trailer truck drivers" and truck["occupation_type"] == "Line item"
    assert (truck["emp_base_k"], truck["emp_proj_k"]) == (914.0, 939.8)
    assert 0.5 < truck["emp_base_k"] / total["emp_base_k"] < 0.65  # most trucking jobs are truck drivers


def test_all_291_industry_exports(shared_data: Path) -> None:
    files = sorted((shared_data / IND).glob("*.csv"))
    assert len(files) == 291
    src = BlsMatrix()
    start = time.perf_counter()
    frames, units = [], set()
    for f in files:
        assert src.recognize(f, sniff(f))
        [t] = src.parse(f, str(f))
        assert t.vintage == "2022-32"
        frames.append(t.frame)
        units.add(t.unit)
    elapsed = time.perf_counter() - start
    df = pl.concat(frames)
    assert len(units) == 291 and df.height == 60_500
    assert df["industry_code"].n_unique() == 291 and set(df["industry_type"]) == {"Line item"}
    assert "TE1100" not in units and "IND:TE1100" not in units  # self-employment is not an industry page
    totals = df.filter(pl.col("occupation_code") == "00-0000")
    assert totals.height == 291
    base = totals["emp_base_k"].sum()
    # The 291 wage-and-salary line items cover 83.3% of the 164,482.6 thousand national total: the rest
    # is self-employment (TE1100, ~10 million) and summary industries' unpublished residual detail.
    assert round(base, 1) == 137_059.7
    assert 0.83 < base / NATIONAL_2022_K < 0.84
    assert round(df.filter(pl.col("occupation_code") == "53-3032")["emp_base_k"].sum(), 1) == 1983.5
    assert elapsed < 30  # ~1.5-2 s on 2 cores (see the report); generous for loaded CI machines


# -- data.bls.gov per-occupation exports (2021-31) -------------------------------------------------
def test_occupation_exports(shared_data: Path) -> None:
    df, cycle, unit = parse(shared_data / OCC / "National Employment Matrix_OCC_00-0000.csv")
    check_schema(df)
    assert (cycle, unit, df.height) == ("2021-31", "OCC:00-0000", 434)
    assert df["industry_type"].value_counts().sort("industry_type").rows() == [("Line item", 295), ("Summary", 139)]
    assert set(df["occupation_code"]) == {"00-0000"} and set(df["occupation_type"]) == {"Summary"}
    te = df.filter(pl.col("industry_code") == "TE1000").row(0, named=True)
    assert (te["emp_base_k"], te["emp_proj_k"], te["industry_title"]) == (158134.7, 166452.1, "Total employment")
    assert df.filter(pl.col("industry_code") == "48-490")["emp_base_k"][0] == 6091.9
    assert df.filter(pl.col("industry_code") == "TE1100")["industry_type"][0] == "Line item"
    # the structural summary rule used for IND exports never calls a line item a summary
    structural = df.filter(pl.col("industry_code").str.contains(r"^(?:TE1000|TE1200)$|^\d{2}-|0000$"))
    assert set(structural["industry_type"]) == {"Summary"} and structural.height == 23

    ds, cycle, unit = parse(shared_data / OCC / "National Employment Matrix_OCC_15-2051.csv")
    assert (cycle, unit, ds.height) == ("2021-31", "OCC:15-2051", 165)
    assert set(ds["occupation_type"]) == {"Line item"} and ds["occupation_title"].null_count() == 165


# -- legacy per-industry workbooks (2014-24) ------------------------------------------------------
def test_legacy_transportation_workbook(shared_data: Path) -> None:
    df, cycle, unit = parse(shared_data / LEGACY / "ind_48-490.xlsx")
    check_schema(df)
    assert (cycle, unit, df.height) == ("2014-24", "IND:48-490", 535)  # 535 occupation rows, as the manifest says
    assert set(df["industry_title"]) == {"Transportation and warehousing"}
    assert set(df["industry_type"]) == {"Summary"}  # a sector range is a summary by construction
    assert df["occupation_type"].value_counts().sort("occupation_type").rows() == [("Line item", 342), ("Summary", 193)]
    total = df.filter(pl.col("occupation_code") == "00-0000").row(0, named=True)
    assert (total["emp_base_k"], total["emp_proj_k"]) == (4640.3, 4776.9)
    assert "Note" not in "".join(df["occupation_title"])  # footnote rows dropped
    trucking, _, _ = parse(shared_data / LEGACY / "ind_484000.xlsx")
    assert trucking["industry_type"].null_count() == trucking.height  # line item or summary: the file cannot say
    assert trucking["industry_title"][0] == "Truck transportation"


def test_all_474_legacy_workbooks(shared_data: Path) -> None:
    files = sorted((shared_data / LEGACY).glob("*.xlsx"))
    assert len(files) == 474
    src = BlsMatrix()
    start = time.perf_counter()
    rows, units = 0, set()
    for f in files:
        [t] = src.parse(f, str(f))
        assert t.vintage == "2014-24"
        assert t.unit == f"IND:{f.stem[4:]}"  # the code in the sheet agrees with the file name
        rows += t.frame.height
        units.add(t.unit)
    elapsed = time.perf_counter() - start
    assert rows == 114_132 and len(units) == 474
    assert elapsed < 60  # ~3-4 s on 2 cores; generous for loaded CI machines


# -- matrix.xlsx (no real copy exists: hand-built in the published column names) -----------------------
MATRIX_HEADER = [
    "Industry type", "Industry code", "Industry title", "Occupation type", "Occupation code", "Occupation title",
    "2024 Employment", "2024 Percent of Industry", "2024 Percent of Occupation", "2034 Employment",
    "2034 Percent of Industry", "2034 Percent of Occupation", "Employment Change, 2024-2034", "Employment Percent Change, 2024-2034",
]
MATRIX_ROWS = [
    ["Summary", '="TE1000"', "Total employment", "Summary", '="00-0000"', "Total, all occupations", "169,956.1", "100.0", "100.0",
     "175,167.9", "100.0", "100.0", "5,211.8", "3.1"],
    ["Line Item", '="484000"', "Truck transportation", "Summary", '="00-0000"', "Total, all occupations", "1,614.3", "100.0", "0.9",
     "1,665.1", "100.0", "1.0", "50.8", "3.1"],
    ["Line Item", '="484000"', "Truck transportation", "Line Item", '="53-3032"', "Heavy and tractor-trailer truck drivers ",
     "925.4", "57.3", "42.1", "956.0", "57.4", "42.0", "30.6", "3.3"],
    ["Summary", '="48-490"', "Transportation and warehousing", "Line item", '="53-3032"', "Heavy and tractor-trailer truck drivers",
     "1,240.0", "18.5", "56.4", "1,280.5", "18.4", "56.3", "40.5", "3.3"],
]


def matrix_df(header: list[str] | None = None, rows: list[list[str]] | None = None) -> pl.DataFrame:
    h = header or MATRIX_HEADER
    return pl.DataFrame([dict(zip(h, r, strict=True)) for r in (rows or MATRIX_ROWS)], schema={c: pl.String for c in h})


def test_matrix_frame_hand_built() -> None:
    cycle, df = matrix_frame(matrix_df(), Path("matrix.xlsx"))
    check_schema(df)
    assert cycle == "2024-34"
    assert df["industry_code"].to_list() == ["TE1000", "484000", "484000", "48-490"]
    assert df["industry_type"].to_list() == ["Summary", "Line item", "Line item", "Summary"]
    assert df["occupation_type"].to_list() == ["Summary", "Summary", "Line item", "Line item"]
    assert df["emp_base_k"].to_list() == [169956.1, 1614.3, 925.4, 1240.0]
    assert df["emp_proj_k"][0] == 175167.9
    assert df["occupation_title"][2] == "Heavy and tractor-trailer truck drivers"
    assert set(df["source_file"]) == {"matrix.xlsx"}
    # the data.bls.gov spelling of the projected column is understood as well
    alt = [h.replace("2034 Employment", "Projected 2034 Employment") for h in MATRIX_HEADER]
    cycle2, df2 = matrix_frame(matrix_df(alt), Path("matrix.xlsx"))
    assert cycle2 == "2024-34" and df2.equals(df)


def test_emp_columns_variants() -> None:
    p = Path("x.csv")
    assert emp_columns(["2022 Employment", "Projected 2032 Employment"], p)[:2] == (2022, 2032)
    assert emp_columns(["2034 Employment", "2024 Employment"], p) == (2024, 2034, "2024 Employment", "2034 Employment")
    with pytest.raises(SchemaDriftError, match="Employment"):
        emp_columns(["2022 Employment", "2022 Percent of Industry"], p)
    with pytest.raises(SourceFormatError, match="mixes cycles"):
        emp_columns(["2022 Employment", "Projected 2032 Employment", "Employment Change, 2021-2031"], p)


def test_matrix_xlsx_end_to_end(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "matrix.xlsx", {
        "Index": [["National Employment Matrix"]],
        "Matrix": [["National Employment Matrix, 2024 and projected 2034 (employment in thousands)"], MATRIX_HEADER, *MATRIX_ROWS,
                   ["Source: Employment Projections program, U.S. Bureau of Labor Statistics"]],
    })
    assert BlsMatrix().recognize(path, sniff(path))
    df, cycle, unit = parse(path)
    assert (cycle, unit, df.height) == ("2024-34", "MATRIX", 4)
    check_schema(df)


def test_xlsx_export_variant(tmp_path: Path, shared_data: Path) -> None:
    """data.bls.gov's "Download XLSX": the same table as the CSV export, possibly under a title row."""
    csv = pl.read_csv(shared_data / IND / "National Employment Matrix_IND_484000.csv", infer_schema=False)
    rows = [csv.columns, *[list(r) for r in csv.rows()]]
    path = write_xlsx(tmp_path / "National Employment Matrix_IND_484000.xlsx", {"Sheet1": [["National Employment Matrix"], *rows]})
    df, cycle, unit = parse(path)
    ref, _, _ = parse(shared_data / IND / "National Employment Matrix_IND_484000.csv")
    assert (cycle, unit) == ("2022-32", "IND:484000")
    assert df.drop("source_file").equals(ref.drop("source_file"))


# -- recognize / remotes --------------------------------------------------------------------------
def test_recognize_and_remotes(tmp_path: Path, shared_data: Path) -> None:
    src = BlsMatrix()
    yes = ["matrix.xlsx", "matrix (1).xlsx", "matrix_2023-33.xlsx", "National Employment Matrix_IND_484000.csv",
           "National Employment Matrix_IND_517000 (1).csv", "National Employment Matrix_OCC_53-3032.csv", "ind_48-490.xlsx", "ind-484000.xlsx"]
    no = ["occupation.xlsx", "matrixes.xlsx", "CIP2020_SOC2018_Crosswalk.xlsx", "industry.csv", "national_M2024_dl.xlsx"]
    for n in yes:
        assert src.recognize(Path(n), b""), n
    for n in no:
        assert not src.recognize(Path(n), b""), n
    [r] = src.remotes(IngestOptions())
    assert r.url == "https://www.bls.gov/emp/ind-occ-matrix/matrix.xlsx" and r.raw_name == "matrix.xlsx" and r.required
    # a browser's duplicate download is the same unit
    dup = tmp_path / "National Employment Matrix_IND_484000 (1).csv"
    dup.write_bytes((shared_data / IND / "National Employment Matrix_IND_484000.csv").read_bytes())
    assert parse(dup)[2] == "IND:484000"


# -- bad files ------------------------------------------------------------------------------------
def _raises(path: Path, *needles: str, kind: type[Exception] = SourceFormatError) -> str:
    with pytest.raises(kind) as exc:
        BlsMatrix().parse(path, str(path))
    msg = str(exc.value)
    assert path.name in msg and "\n" not in msg
    for n in needles:
        assert n in msg, msg
    return msg


@pytest.fixture
def truck_csv(shared_data: Path) -> str:
    return (shared_data / IND / "National Employment Matrix_IND_484000.csv").read_bytes().decode("utf-8")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8", newline="")
    return p


def test_schema_drift_names_column_and_file(tmp_path: Path, truck_csv: str) -> None:
    p = _write(tmp_path, "National Employment Matrix_IND_484000.csv", truck_csv.replace('"Occupation Code"', '"Occ Kode"'))
    msg = _raises(p, "occ_code", "Occupation Code", "Occ Kode", kind=SchemaDriftError)
    assert "National Employment Matrix_IND_484000.csv" in msg
    p = _write(tmp_path, "National Employment Matrix_IND_484001.csv", truck_csv.replace('"Projected 2032 Employment"', '"Projected Jobs"'))
    _raises(p, "Employment", kind=SchemaDriftError)


def test_bad_content(tmp_path: Path, truck_csv: str) -> None:
    name = "National Employment Matrix_IND_484000.csv"
    lines = truck_csv.split("\r\n")
    truck = next(i for i, line in enumerate(lines) if "53-3032" in line)

    def variant(tag: str, new_lines: list[str]) -> Path:
        d = tmp_path / tag
        d.mkdir()
        return _write(d, name, "\r\n".join(new_lines))

    bad_num = [*lines]
    bad_num[truck] = bad_num[truck].replace('"914.0"', '"n/a"')
    _raises(variant("num", bad_num), "2022 Employment", "'n/a'", "53-3032")
    neg = [*lines]
    neg[truck] = neg[truck].replace('"914.0"', '"-914.0"')
    _raises(variant("neg", neg), "negative")
    bad_type = [*lines]
    bad_type[truck] = bad_type[truck].replace('"Line Item"', '"Detail"')
    _raises(variant("type", bad_type), "'Detail'")
    bad_code = [*lines]
    bad_code[truck] = bad_code[truck].replace("53-3032", "53-30XX")
    _raises(variant("code", bad_code), "53-30XX")
    _raises(variant("dup", [*lines[:-1], lines[truck], lines[-1]]), "repeat", "484000 x 53-3032")
    _raises(variant("header-only", [lines[0], ""]), "no rows")


def test_empty_html_truncated(tmp_path: Path, shared_data: Path) -> None:
    empty = _write(tmp_path, "National Employment Matrix_IND_484000.csv", "")
    _raises(empty, "empty")
    html = _write(tmp_path, "National Employment Matrix_IND_484100.csv", "<!DOCTYPE html><html><body>Request blocked</body></html>")
    _raises(html, "HTML page")
    xhtml = tmp_path / "ind_484000.xlsx"
    xhtml.write_bytes(b"<html><head><title>Access Denied</title></head></html>")
    _raises(xhtml, "HTML page")
    real = (shared_data / LEGACY / "ind_484000.xlsx").read_bytes()
    trunc = tmp_path / "ind_484100.xlsx"
    trunc.write_bytes(real[: len(real) // 2])
    _raises(trunc, "truncated or corrupt")
    empty_x = tmp_path / "matrix.xlsx"
    empty_x.write_bytes(b"")
    _raises(empty_x, "empty")
    wrong = tmp_path / "matrix_wrong.xlsx"  # a real workbook of another kind, named like the matrix
    wrong.write_bytes((shared_data / "crosswalk" / "CIP2020_SOC2018_Crosswalk.xlsx").read_bytes())
    _raises(wrong, "industry code", kind=SchemaDriftError)
    bad_name = _write(tmp_path, "National Employment Matrix_IND_trucking.csv", "x")
    _raises(bad_name, "'trucking'", "not a National Employment Matrix code")


def test_stray_rows() -> None:
    """A row with numbers but no valid code is an error, never dropped; rows with neither a code nor
    numbers (blank lines, a note) carry no data and are skipped."""
    h = ["Occupation Title", "Occupation Code", "Occupation Type", "2022 Employment", "Projected 2032 Employment"]

    def frame(rows: list[list[str | None]]) -> pl.DataFrame:
        return pl.DataFrame([dict(zip(h, r, strict=True)) for r in rows], schema={c: pl.String for c in h})

    ok = ["Total, all occupations", '="00-0000"', "Summary", "10.0", "11.0"]
    cycle, out = export_frame(frame([ok, ["Source: BLS", None, None, None, None], [None, None, None, "", " "]]), "IND", "484000", Path("x.csv"))
    assert cycle == "2022-32" and out.height == 1
    with pytest.raises(SourceFormatError, match="occupation code"):
        export_frame(frame([ok, ["Truck drivers", None, "Line Item", "5.0", "6.0"]]), "IND", "484000", Path("x.csv"))
    with pytest.raises(SourceFormatError, match="2022 Employment"):
        export_frame(frame([ok, ["Truck drivers", '="53-3032"', "Line Item", None, "6.0"]]), "IND", "484000", Path("x.csv"))

"""bls-ep: BLS Employment Projections occupation.xlsx (Table 1.10 + education/training/wage).

Real workbooks are read in place from ../shared; edge cases are tiny workbooks written to tmp_path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import sniff
from gapkit.ingestion.sources.bls_ep import SCHEMAS, BlsEp, total_tolerance_k
from tests.minixlsx import write_xlsx

PUBLISHED_OPENINGS_K = {"2022-32": 18566.5, "2023-33": 19174.8, "2024-34": 18863.3}
PUBLISHED_EMP_K = {"2022-32": (164482.6, 169148.1), "2023-33": (167849.8, 174589.0), "2024-34": (169956.1, 175167.9)}
TRUCK_WAGE = {"2022-32": 49920.0, "2024-34": 57440.0}


def parse(path: Path) -> tuple[pl.DataFrame, str, list[str]]:
    """The ep_occupations table of a workbook (its Table 5.3, where present, is tested in test_source_bls_ep_cycles.py)."""
    tables = BlsEp().parse(path, str(path))
    [t] = [t for t in tables if t.dataset == "ep_occupations"]
    assert t.unit == "occupation" and {u.dataset for u in tables} <= {"ep_occupations", "ep_attainment"}
    return t.frame, t.vintage, t.notes


@pytest.fixture(scope="module")
def cycles(shared_data: Path) -> dict[str, tuple[pl.DataFrame, list[str]]]:
    out = {}
    for cycle in PUBLISHED_OPENINGS_K:
        frame, vintage, notes = parse(shared_data / "bls_ep" / f"occupation_{cycle}.xlsx")
        assert vintage == cycle
        out[cycle] = (frame, notes)
    return out


# -- real data ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cycle", sorted(PUBLISHED_OPENINGS_K))
def test_real_cycle_totals_and_structure(cycles: dict[str, tuple[pl.DataFrame, list[str]]], cycle: str) -> None:
    df, _ = cycles[cycle]
    total = df.filter(pl.col("soc_code") == "00-0000").row(0, named=True)
    assert total["openings_k"] == PUBLISHED_OPENINGS_K[cycle]  # exactly as published
    assert (total["emp_base_k"], total["emp_proj_k"]) == PUBLISHED_EMP_K[cycle]
    assert total["title"] == "Total, all occupations" and total["occ_type"] == "Summary"
    y0 = int(cycle[:4])
    assert (total["base_year"], total["proj_year"], total["cycle"]) == (y0, y0 + 10, cycle)
    assert df.height == 1113 and df["soc_code"].n_unique() == 1113
    assert df["soc_code"].str.contains(r"^\d{2}-\d{4}$").all()
    assert set(df["occ_type"]) == {"Summary", "Line item"}
    lines = df.filter(pl.col("occ_type") == "Line item")
    assert lines.height == 832
    assert not df["title"].str.contains(r"^\s|\s$").any()  # indentation stripped
    assert set(df["source_file"]) == {f"occupation_{cycle}.xlsx"}
    # line items sum to the published total within the rounding of 832 values (observed: 0.1 / 1.1 / 1.7)
    for col in ("emp_base_k", "emp_proj_k", "separations_k", "openings_k"):
        assert abs(lines[col].sum() - total[col]) <= 2.0 + 1e-6 < total_tolerance_k(832)
    # no core number is missing
    for col in ("emp_base_k", "emp_proj_k", "exits_k", "transfers_k", "separations_k", "openings_k", "separations_rate"):
        assert df[col].null_count() == 0


@pytest.mark.parametrize("cycle", sorted(PUBLISHED_OPENINGS_K))
def test_real_identities(cycles: dict[str, tuple[pl.DataFrame, list[str]]], cycle: str) -> None:
    df, _ = cycles[cycle]
    # exits + transfers = separations, every row, to the 0.1 rounding
    assert (df["exits_k"] + df["transfers_k"] - df["separations_k"]).abs().max() <= 0.1 + 1e-9
    # change = projected - base
    assert (df["emp_proj_k"] - df["emp_base_k"] - df["emp_change_k"]).abs().max() <= 0.1 + 1e-9
    # METHOD.md: r = separations / mean employment; openings = (Ep - Eb)/10 + r * mean employment.
    # It holds on every row (detailed and summary) to 0.1 thousand, with no max(0, ...) on growth:
    r = df["separations_k"] / ((df["emp_base_k"] + df["emp_proj_k"]) / 2)
    rebuilt = (df["emp_proj_k"] - df["emp_base_k"]) / 10 + r * (df["emp_base_k"] + df["emp_proj_k"]) / 2
    assert (rebuilt - df["openings_k"]).abs().max() <= 0.1 + 1e-9
    total = df.filter(pl.col("soc_code") == "00-0000")
    t_rebuilt = rebuilt.filter(df["soc_code"] == "00-0000")[0]
    assert abs(t_rebuilt - PUBLISHED_OPENINGS_K[cycle]) <= 0.05 + 1e-9
    # declining occupations have fewer openings than separations (BLS nets the decline, no floor at 0)
    declining = df.filter((pl.col("occ_type") == "Line item") & (pl.col("emp_change_k") <= -1))
    assert declining.height > 50 and (declining["openings_k"] < declining["separations_k"]).all()
    # the published rate (percent) is r rounded; it matches for occupations large enough to round well
    big = df.filter(pl.col("emp_base_k") >= 200)
    r_big = big["separations_k"] / ((big["emp_base_k"] + big["emp_proj_k"]) / 2) * 100
    assert (r_big - big["separations_rate"]).abs().max() < 0.1
    assert abs(total["separations_rate"][0] - total["separations_k"][0] / ((total["emp_base_k"][0] + total["emp_proj_k"][0]) / 2) * 100) < 0.06


@pytest.mark.parametrize("cycle", sorted(PUBLISHED_OPENINGS_K))
def test_real_education_training_wage(cycles: dict[str, tuple[pl.DataFrame, list[str]]], cycle: str) -> None:
    df, notes = cycles[cycle]
    lines = df.filter(pl.col("occ_type") == "Line item")
    for col in ("education", "work_experience", "training"):
        assert lines[col].null_count() == 0, col
    assert df.filter(pl.col("occ_type") == "Summary")["education"].null_count() == 281  # published as "—"
    assert "Bachelor's degree" in set(lines["education"]) and "Postsecondary nondegree award" in set(lines["education"])
    truck = df.filter(pl.col("soc_code") == "53-3032").row(0, named=True)
    assert truck["education"] == "Postsecondary nondegree award"
    assert truck["training"] == "Short-term on-the-job training"
    if cycle in TRUCK_WAGE:
        assert truck["median_wage"] == TRUCK_WAGE[cycle]
    # top-coded wages: printed 239200 in 2022-32, ">=$239,200" later; stored as that bound in every cycle
    assert df.filter(pl.col("soc_code") == "29-1211")["median_wage"][0] == 239200.0
    if cycle != "2022-32":
        assert any("top-coded" in n and "239,200" in n for n in notes)
    # actors have no annual wage ("—")
    assert df.filter(pl.col("soc_code") == "27-2011")["median_wage"][0] is None
    assert lines["median_wage"].null_count() < 10


def test_schema_exact(cycles: dict[str, tuple[pl.DataFrame, list[str]]]) -> None:
    df, _ = cycles["2024-34"]
    schema = SCHEMAS["ep_occupations"]
    assert df.columns == schema.names
    assert df.columns[-1] == "source_file"
    assert pa.Table.from_batches(df.to_arrow().to_batches()).cast(schema).schema == schema
    expected = {"string": pl.String, "int16": pl.Int16, "double": pl.Float64}
    assert [df.schema[f.name] for f in schema] == [expected[str(f.type)] for f in schema]


def test_mirror_copy_equals_2024_34(mirror_dir: Path, cycles: dict[str, tuple[pl.DataFrame, list[str]]]) -> None:
    df, vintage, _ = parse(mirror_dir / "www.bls.gov/emp/ind-occ-matrix/occupation.xlsx")
    assert vintage == "2024-34"
    assert df.drop("source_file").equals(cycles["2024-34"][0].drop("source_file"))


def test_remotes() -> None:
    from gapkit.ingestion.sources.base import IngestOptions

    [r] = BlsEp().remotes(IngestOptions())
    assert r.url == "https://www.bls.gov/emp/ind-occ-matrix/occupation.xlsx" and r.raw_name == "occupation.xlsx" and r.required


def test_recognize(shared_data: Path, mirror_dir: Path, tmp_path: Path) -> None:
    src = BlsEp()

    def rec(p: Path) -> bool:
        return src.recognize(p, sniff(p))

    for cycle in PUBLISHED_OPENINGS_K:
        assert rec(shared_data / "bls_ep" / f"occupation_{cycle}.xlsx")
    assert rec(mirror_dir / "www.bls.gov/emp/ind-occ-matrix/occupation.xlsx")
    renamed = tmp_path / "ep_tables_2024.xlsx"  # no name hint: recognized by its "Table 1.10" sheet
    shutil.copy(shared_data / "bls_ep" / "occupation_2024-34.xlsx", renamed)
    assert rec(renamed)
    assert not rec(shared_data / "crosswalk" / "CIP2020_SOC2018_Crosswalk.xlsx")
    assert not rec(shared_data / "bls_nem" / "ind_xlsx_2014-24" / "ind_484000.xlsx")
    assert not rec(shared_data / "bls_oews" / "national_M2024_dl.xlsx")
    assert not rec(shared_data / "projections_central" / "longterm_2022-32_all_states_885occ.csv")
    html = tmp_path / "occupation.xlsx"  # the agency's name claims the file, so a bad download is reported
    html.write_bytes(b"<!DOCTYPE html><html><body>Access Denied</body></html>")
    assert rec(html)
    junk = tmp_path / "report.xlsx"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    assert not rec(junk)


# -- bad files ---------------------------------------------------------------------------------
def _raises(path: Path, *needles: str, kind: type[Exception] = SourceFormatError) -> str:
    with pytest.raises(kind) as exc:
        BlsEp().parse(path, str(path))
    msg = str(exc.value)
    assert path.name in msg
    assert "Traceback" not in msg and "\n" not in msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_bad_files(tmp_path: Path, shared_data: Path) -> None:
    real = (shared_data / "bls_ep" / "occupation_2024-34.xlsx").read_bytes()
    html = tmp_path / "occupation.xlsx"
    html.write_bytes(b"<!DOCTYPE html>\n<html><head><title>Access Denied</title></head><body>403</body></html>")
    _raises(html, "HTML page")
    trunc = tmp_path / "occupation_truncated.xlsx"
    trunc.write_bytes(real[: len(real) // 2])
    _raises(trunc, "truncated or corrupt")
    empty = tmp_path / "occupation_empty.xlsx"
    empty.write_bytes(b"")
    _raises(empty, "empty")
    other = tmp_path / "occupation_other.xlsx"  # a real workbook, but not the EP one
    shutil.copy(shared_data / "crosswalk" / "CIP2020_SOC2018_Crosswalk.xlsx", other)
    _raises(other, "no sheet 'Table 1.10'", "CIP-SOC")
    notzip = tmp_path / "occupation_text.xlsx"
    notzip.write_bytes(b"Occupation,Code\nTotal,00-0000\n")
    _raises(notzip, "not an Excel .xlsx workbook")


# -- hand-made workbooks in the official layout --------------------------------------------------
R = "2030\u201340"  # en dash, as BLS prints it
HEADER = [
    "2030 National Employment Matrix title", "2030 National Employment Matrix code", "Occupation\ntype",
    "Employment, 2030", "Employment, 2040", f"Employment change, numeric, {R}", f"Employment change, percent, {R}",
    f"Labor force exit rate, {R} annual average", f"Occupational transfer rate, {R} annual average",
    f"Total occupational separations rate, {R} annual average", f"Labor force exits, {R} annual average",
    f"Occupational transfers, {R} annual average", f"Total occupational separations, {R} annual average",
    f"Occupational openings, {R} annual average",
]
ROWS: list[list[object]] = [
    ["Total, all occupations", "00-0000", "Summary", 300.0, 320.0, 20.0, 6.7, 3.9, 6.1, 10.0, 12.0, 19.0, 31.0, 33.0],
    ["  Management occupations", "11-0000", "Summary", 100.0, 110.0, 10.0, 10.0, 3.8, 5.7, 9.5, 4.0, 6.0, 10.0, 11.0],
    ["    Chief executives", "11-1011", "Line Item", 100.0, 110.0, 10.0, 10.0, 3.8, 5.7, 9.5, 4.0, 6.0, 10.0, 11.0],
    ["    Heavy and tractor-trailer truck drivers ", "53-3032", "Line item", 200.0, 210.0, 10.0, 5.0, 3.9, 6.3, 10.2, 8.0, 13.0, 21.0, 22.0],
]
CHAR_HEADER = [
    "2030 National Employment Matrix title", "2030 National Employment Matrix code", "Occupation type", "Employment, 2030",
    "Employment, 2040", "Median annual wage, dollars, 2030[1]", "Typical education needed for entry",
    "Work experience in a related occupation", "Typical on-the-job training needed to attain competency in the occupation",
]
CHAR_ROWS: list[list[object]] = [
    ["Total, all occupations", "00-0000", "Summary", 300.0, 320.0, 50000, "—", "—", "—"],
    ["  Management occupations", "11-0000", "Summary", 100.0, 110.0, 120000, "—", "—", "—"],
    ["    Chief executives", "11-1011", "Line item", 100.0, 110.0, ">=$239,200", "Bachelor's degree", "5 years or more", "None"],
    ["    Heavy and tractor-trailer truck drivers", "53-3032", "Line item", 200.0, 210.0, "57,440",
     "Postsecondary nondegree award", "None", "Short-term on-the-job training"],
]
FOOT = [["Footnotes:"], ["[1] Data are from the OEWS program."], ["Source: Employment Projections program, U.S. Bureau of Labor Statistics"]]


def workbook(tmp_path: Path, name: str = "occupation.xlsx", header: list[str] | None = None, rows: list[list[object]] | None = None,
             title: str = f"Table 1.10 Occupational separations and openings, projected {R}", char: bool = True) -> Path:
    sheets: dict[str, list[list[object]]] = {"Index": [["Index"]]}
    sheets["Table 1.10"] = [[title], header or HEADER, *(rows or ROWS), *FOOT]
    if char:
        sheets["Table 1.2"] = [["Table 1.2 Employment by detailed occupation"], CHAR_HEADER, *CHAR_ROWS, *FOOT]
    return write_xlsx(tmp_path / name, sheets)  # type: ignore[arg-type]


def test_handmade_workbook_parses(tmp_path: Path) -> None:
    df, cycle, notes = parse(workbook(tmp_path))
    assert cycle == "2030-40"
    assert df.columns == SCHEMAS["ep_occupations"].names
    assert df["soc_code"].to_list() == ["00-0000", "11-0000", "11-1011", "53-3032"]  # footnote rows dropped
    assert df["occ_type"].to_list() == ["Summary", "Summary", "Line item", "Line item"]  # "Line Item" normalized
    assert df["title"][3] == "Heavy and tractor-trailer truck drivers"
    ceo = df.filter(pl.col("soc_code") == "11-1011").row(0, named=True)
    assert ceo["median_wage"] == 239200.0 and ceo["education"] == "Bachelor's degree" and ceo["work_experience"] == "5 years or more"
    assert df.filter(pl.col("soc_code") == "53-3032")["median_wage"][0] == 57440.0
    assert df.filter(pl.col("soc_code") == "00-0000")["education"][0] is None  # "—" is null
    assert (df["base_year"][0], df["proj_year"][0]) == (2030, 2040)
    assert any("top-coded" in n for n in notes)


def _mutate(rows: list[list[object]], code: str, col: int, value: object) -> list[list[object]]:
    return [[*r[:col], value, *r[col + 1:]] if r[1] == code else list(r) for r in rows]


def test_handmade_bad_content(tmp_path: Path) -> None:
    no_total = [r for r in ROWS if r[1] != "00-0000"]
    _raises(workbook(tmp_path, "occupation_a.xlsx", rows=no_total), "00-0000")
    # a detailed occupation lost: line items no longer add up to the published total
    _raises(workbook(tmp_path, "occupation_b.xlsx", rows=_mutate(ROWS, "53-3032", 13, 12.0)), "sum to", "openings")
    # exits + transfers != separations
    _raises(workbook(tmp_path, "occupation_c.xlsx", rows=_mutate(ROWS, "11-1011", 10, 4.5)), "separations", "11-1011")
    # an unreadable or missing number
    _raises(workbook(tmp_path, "occupation_d.xlsx", rows=_mutate(ROWS, "53-3032", 4, "n/a")), "Employment, 2040", "'n/a'", "53-3032")
    _raises(workbook(tmp_path, "occupation_e.xlsx", rows=_mutate(ROWS, "53-3032", 13, None)), "openings_k", "53-3032")
    # an unknown occupation type, a repeated code
    _raises(workbook(tmp_path, "occupation_f.xlsx", rows=_mutate(ROWS, "53-3032", 2, "Detail")), "'Detail'")
    _raises(workbook(tmp_path, "occupation_g.xlsx", rows=[*ROWS, ROWS[3]]), "more than once", "53-3032")
    # headers of two different cycles
    mixed = [h.replace(R, "2031-41") if h.startswith("Occupational openings") else h for h in HEADER]
    _raises(workbook(tmp_path, "occupation_h.xlsx", header=mixed), "mixes cycles", "2031-41")
    _raises(workbook(tmp_path, "occupation_i.xlsx", title="Table 1.10 Occupational separations and openings, projected 2029-39"), "mixes cycles")
    # no education / training table
    _raises(workbook(tmp_path, "occupation_j.xlsx", char=False), "Typical education needed for entry")


def test_handmade_schema_drift(tmp_path: Path) -> None:
    renamed = [h.replace("Occupational openings", "Job openings") for h in HEADER]
    msg = _raises(workbook(tmp_path, "occupation_k.xlsx", header=renamed), "openings_k", "Occupational openings", "Table 1.10",
                  kind=SchemaDriftError)
    assert "Job openings" in msg  # the header it found
    one_year = [h for h in HEADER if h != "Employment, 2040"]
    _raises(workbook(tmp_path, "occupation_l.xlsx", header=one_year, rows=[r[:4] + r[5:] for r in ROWS]), "projected year",
            kind=SchemaDriftError)
    no_code = [h.replace("code", "identifier") for h in HEADER]
    _raises(workbook(tmp_path, "occupation_m.xlsx", header=no_code), "code", kind=SchemaDriftError)

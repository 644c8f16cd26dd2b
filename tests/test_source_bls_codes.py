"""bls-codes: the BLS O*NET-SOC -> National Employment Matrix crosswalk (SOC 2018 -> projections codes).

The real workbook is read in place from ../shared; damaged and hand-made copies are written to tmp_path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import sniff
from gapkit.ingestion.sources.base import IngestOptions
from gapkit.ingestion.sources.bls_codes import SCHEMAS, BlsCodes
from gapkit.ingestion.sources.bls_ep import BlsEp
from tests.conftest import assert_clean_error, run_cli
from tests.minixlsx import write_xlsx

SRC = BlsCodes()
REAL = "soc/nem_crosswalks/nem-onet-to-soc-crosswalk_asof-2023-09-06.xlsx"
# The nine codes issue 11 names: NEM codes that stand for several SOC 2018 detailed codes.
MERGED_IN_ISSUE = ["21-1018", "29-2010", "25-9045", "13-1020", "13-2020", "25-2052", "31-1120", "39-7010", "53-1047"]
HEADER = ["Sort Order", "O*NET-SOC Code", "O*NET-SOC Title", "NEM Code", "National Employment Matrix Occupational Title",
          "OOH Profile Code", "OOH Profile Title", "OOH Occupation Group", "OOH Occupation Group (brief)", "OOH Profile Website"]
TOP = [["Bureau of Labor Statistics O*NET-SOC to National Employment Matrix (NEM) and Occupational Outlook Handbook Coverage Crosswalk"],
       ["Office of Occupational Statistics and Employment Projections"], ["As of 9/6/2023"],
       ["O*NET-SOC and National Employment Matrix (NEM) equivalents with Occupational Outlook Handbook coverage"]]
ROWS: list[list[object]] = [
    [1, "21-1011.00", "Substance Abuse and Behavioral Disorder Counselors", "21-1018",
     "Substance abuse, behavioral disorder, and mental health counselors", "B107", "Substance abuse counselors", "Community", "Community", "—"],
    [2, "21-1014.00", "Mental Health Counselors", "21-1018", "Substance abuse, behavioral disorder, and mental health counselors",
     "B107", "Substance abuse counselors", "Community", "Community", "—"],
    [3, "29-1141.00", "Registered Nurses", "29-1141", "Registered nurses", "B120", "Registered nurses", "Healthcare", "Healthcare", "—"],
    [4, "29-1141.01", "Acute Care Nurses", "29-1141", "Registered nurses", "B120", "Registered nurses", "Healthcare", "Healthcare", "—"],
    [5, "53-3032.00", "Heavy and Tractor-Trailer Truck Drivers", "53-3032", "Heavy and tractor-trailer truck drivers", "—", "—", "—", "—", "—"],
]


def parse(path: Path) -> tuple[pl.DataFrame, str, list[str]]:
    [t] = SRC.parse(path, str(path))
    assert (t.dataset, t.unit) == ("soc_nem", "crosswalk")
    assert t.frame.schema == pl.Schema(SCHEMAS["soc_nem"])
    return t.frame, t.vintage, t.notes


def handmade(tmp_path: Path, name: str = "nem-onet-to-soc-crosswalk.xlsx", rows: list[list[object]] | None = None,
             header: list[str] | None = None, top: list[list[object]] | None = None) -> Path:
    sheet = [*(TOP if top is None else top), header or HEADER, *(ROWS if rows is None else rows)]
    return write_xlsx(tmp_path / name, {"ONET to SOC crosswalk": sheet, "Definitions": [["O*NET-SOC codes come from the ONET-SOC 2019 Taxonomy"]]})


# -- real data ---------------------------------------------------------------------------------
def test_remote() -> None:
    [r] = SRC.remotes(IngestOptions())
    assert r.url == "https://www.bls.gov/emp/classifications-crosswalks/nem-onet-to-soc-crosswalk.xlsx"
    assert r.raw_name == "nem-onet-to-soc-crosswalk.xlsx" and r.required


def test_real_crosswalk(shared_data: Path) -> None:
    df, vintage, notes = parse(shared_data / REAL)
    assert vintage == "2023-09-06" and set(df["as_of"]) == {"2023-09-06"}
    # one row per civilian SOC 2018 detailed code: 867 less the 19 military (55-) codes
    assert df.height == df["soc_code"].n_unique() == 848 and not df["soc_code"].str.starts_with("55-").any()
    assert df["nem_code"].n_unique() == 832
    counts = dict(df.group_by("relation").len().iter_rows())
    assert counts == {"same": 820, "merged": 28}
    merged = df.filter(pl.col("relation") == "merged")
    assert merged["nem_code"].n_unique() == 12 and (merged["socs_in_nem"] >= 2).all()
    assert set(MERGED_IN_ISSUE) <= set(merged["nem_code"])
    assert sorted(df.filter(pl.col("nem_code") == "21-1018")["soc_code"]) == ["21-1011", "21-1014"]
    assert sorted(df.filter(pl.col("nem_code") == "29-2010")["soc_code"]) == ["29-2011", "29-2012"]
    assert sorted(df.filter(pl.col("nem_code") == "53-1047")["soc_code"]) == ["53-1042", "53-1043", "53-1044", "53-1049"]
    same = df.filter(pl.col("relation") == "same")
    assert (same["soc_code"] == same["nem_code"]).all() and (same["socs_in_nem"] == 1).all()
    # titles: SOC title from the .00 O*NET-SOC row, NEM title as the projections print it
    mhc = df.filter(pl.col("soc_code") == "21-1014").row(0, named=True)
    assert mhc["soc_title"] == "Mental Health Counselors"
    assert mhc["nem_title"] == "Substance abuse, behavioral disorder, and mental health counselors"
    assert df.filter(pl.col("soc_code") == "29-2011")["onet_codes"].item() == 4  # .00 .01 .02 .04
    assert df["ooh_profile_title"].null_count() > 0 and "—" not in set(df["ooh_profile_title"].drop_nulls())
    assert any("848 SOC 2018 codes -> 832 NEM codes" in n for n in notes)


def test_nem_codes_are_the_projections_line_items(shared_data: Path) -> None:
    """The crosswalk's 832 NEM codes are exactly the detailed occupations of every projections cycle in ../shared."""
    df, _, _ = parse(shared_data / REAL)
    for cycle in ("2022-32", "2023-33", "2024-34"):
        ep = next(t.frame for t in BlsEp().parse(shared_data / "bls_ep" / f"occupation_{cycle}.xlsx", "x") if t.dataset == "ep_occupations")
        lines = ep.filter(pl.col("occ_type") == "Line item").select("soc_code", "title")
        assert set(df["nem_code"]) == set(lines["soc_code"]), cycle
        titles = df.select("nem_code", "nem_title").unique().join(lines, left_on="nem_code", right_on="soc_code")
        assert titles.height == 832 and (titles["nem_title"] == titles["title"]).all()


def test_recognize(shared_data: Path, tmp_path: Path) -> None:
    def rec(p: Path) -> bool:
        return SRC.recognize(p, sniff(p))

    assert rec(shared_data / REAL)
    renamed = tmp_path / "onet_nem.xlsx"  # no name hint: known by its sheet
    shutil.copy(shared_data / REAL, renamed)
    assert rec(renamed)
    others = sorted((shared_data / "soc/nem_crosswalks").glob("*.xlsx"))
    assert len(others) == 7
    for p in [*others, shared_data / "crosswalk/CIP2020_SOC2018_Crosswalk.xlsx", shared_data / "soc/soc_2010_to_2018_crosswalk.xlsx",
              shared_data / "soc/soc_structure_2018.xlsx", shared_data / "bls_ep/occupation_2024-34.xlsx",
              shared_data / "careerclusters/SOC_Career_Clusters_Crosswalk.xlsx"]:
        assert rec(p) == (p.name == Path(REAL).name), p
    # and no other source claims it
    from gapkit.ingestion.sources import all_sources

    assert [s.name for s in all_sources() if s.recognize(shared_data / REAL, sniff(shared_data / REAL))] == ["bls-codes"]


# -- hand-made ---------------------------------------------------------------------------------
def test_handmade(tmp_path: Path) -> None:
    df, vintage, _ = parse(handmade(tmp_path))
    assert vintage == "2023-09-06"
    assert df["soc_code"].to_list() == ["21-1011", "21-1014", "29-1141", "53-3032"]
    assert df["relation"].to_list() == ["merged", "merged", "same", "same"]
    assert df["socs_in_nem"].to_list() == [2, 2, 1, 1] and df["onet_codes"].to_list() == [1, 1, 2, 1]
    assert df.filter(pl.col("soc_code") == "53-3032")["ooh_profile_title"].item() is None  # "—"


def test_handmade_recoded_and_split(tmp_path: Path) -> None:
    rows = [*ROWS[:3], [4, "29-1141.01", "Acute Care Nurses", "29-1171", "Nurse practitioners", "B120", "x", "y", "y", "—"],
            [5, "53-3032.00", "Heavy and Tractor-Trailer Truck Drivers", "53-3030", "Truck drivers", "—", "—", "—", "—", "—"]]
    df, _, notes = parse(handmade(tmp_path, rows=rows))
    assert df.filter(pl.col("soc_code") == "53-3032")["relation"].item() == "recoded"
    split = df.filter(pl.col("soc_code") == "29-1141").sort("nem_code")
    assert split["nem_code"].to_list() == ["29-1141", "29-1171"] and set(split["relation"]) == {"split"}
    assert any("29-1141" in n and "more than one NEM code" in n for n in notes)


def test_handmade_as_of_fallbacks(tmp_path: Path) -> None:
    _, vintage, notes = parse(handmade(tmp_path, "nem-onet-to-soc-crosswalk_asof-2025-01-31.xlsx", top=[]))
    assert vintage == "2025-01-31" and any("file name" in n for n in notes)
    _, vintage, _ = parse(handmade(tmp_path, "nem-onet-to-soc-crosswalk (1).xlsx", top=[]))
    assert vintage == "undated"


def _raises(path: Path, *needles: str, kind: type[Exception] = SourceFormatError) -> str:
    with pytest.raises(kind) as exc:
        SRC.parse(path, str(path))
    msg = str(exc.value)
    assert path.name in msg and "\n" not in msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_bad_files(tmp_path: Path, shared_data: Path) -> None:
    html = tmp_path / "nem-onet-to-soc-crosswalk.xlsx"
    html.write_bytes(b"<!DOCTYPE html><html><body>Access Denied</body></html>")
    _raises(html, "HTML page")
    real = (shared_data / REAL).read_bytes()
    trunc = tmp_path / "nem-onet-to-soc-crosswalk_t.xlsx"
    trunc.write_bytes(real[: len(real) // 3])
    _raises(trunc, "corrupt")
    renamed = [h.replace("NEM Code", "Matrix Kode") for h in HEADER]
    msg = _raises(handmade(tmp_path, "nem-onet-to-soc-crosswalk_a.xlsx", header=renamed), "NEM Code", kind=SchemaDriftError)
    assert "O*NET-SOC Code" in msg
    no_title = [h.replace("National Employment Matrix Occupational Title", "Name") for h in HEADER]
    _raises(handmade(tmp_path, "nem-onet-to-soc-crosswalk_b.xlsx", header=no_title), "nem_title", kind=SchemaDriftError)
    bad_nem = [*ROWS[:2], [3, "29-1141.00", "Registered Nurses", "n/a", "Registered nurses", "—", "—", "—", "—", "—"]]
    _raises(handmade(tmp_path, "nem-onet-to-soc-crosswalk_c.xlsx", rows=bad_nem), "'n/a'", "29-1141.00")
    bad_onet = [*ROWS[:2], [3, "29-1141", "Registered Nurses", "29-1141", "Registered nurses", "—", "—", "—", "—", "—"]]
    _raises(handmade(tmp_path, "nem-onet-to-soc-crosswalk_d.xlsx", rows=bad_onet), "NN-NNNN.NN", "'29-1141'")
    dup = [*ROWS, [6, "29-1141.01", "Acute Care Nurses", "29-1171", "Nurse practitioners", "—", "—", "—", "—", "—"]]
    _raises(handmade(tmp_path, "nem-onet-to-soc-crosswalk_e.xlsx", rows=dup), "29-1141.01", "more than once")
    clash = [*ROWS[:1], [2, "21-1014.00", "Mental Health Counselors", "21-1018", "Mental health counselors", "—", "—", "—", "—", "—"]]
    _raises(handmade(tmp_path, "nem-onet-to-soc-crosswalk_f.xlsx", rows=clash), "21-1018", "more than one title")
    _raises(handmade(tmp_path, "nem-onet-to-soc-crosswalk_g.xlsx", rows=[]), "no rows")
    bad_date = [r if r[0] != "As of 9/6/2023" else ["As of 13/45/2023"] for r in TOP]
    _raises(handmade(tmp_path, "nem-onet-to-soc-crosswalk_h.xlsx", top=bad_date), "13/45/2023")


def test_bad_files_through_the_cli(tmp_path: Path, shared_data: Path) -> None:
    """Bad input through the real CLI: one clear paragraph naming the file, nothing half-written, good data kept."""
    data = tmp_path / "data"
    good = run_cli("ingest", "bls-codes", "--offline", "--from", str(shared_data / REAL), data_dir=data)
    assert good.returncode == 0, good.stdout + good.stderr
    before = {p: p.read_bytes() for p in data.rglob("*.parquet")}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "nem-onet-to-soc-crosswalk.xlsx").write_bytes(b"<!DOCTYPE html><html><body>Access Denied</body></html>")
    handmade(bad, "nem-onet-to-soc-crosswalk (2).xlsx", header=[h.replace("NEM Code", "Matrix Kode") for h in HEADER])
    proc = run_cli("ingest", "bls-codes", "--offline", "--from", str(bad), data_dir=data)
    assert_clean_error(proc, "nem-onet-to-soc-crosswalk.xlsx: the file is an HTML page", "nem-onet-to-soc-crosswalk (2).xlsx",
                       "NEM Code")
    assert {p: p.read_bytes() for p in data.rglob("*.parquet")} == before

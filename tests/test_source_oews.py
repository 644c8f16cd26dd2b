"""OEWS source: real national/sector workbooks, the mirror zip and CSV subsets from ../shared; bad files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import read_csv_text, read_xlsx_sheet, sniff, xlsx_sheets
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable
from gapkit.ingestion.sources.oews import SCHEMAS, Oews, _topcode_from_descriptions

ZIP = "www.bls.gov/oes/special-requests/oesm24nat.zip"
STATE_CSV = "bls_oews/state_M2024_dl_subset10cols.csv"
NAT3D_CSV = "bls_oews/derived/oews_nat3d_M2024_trimmed9cols_total-detailed.csv"
MSA_CSV = "substate/oews_msa/MSA_M2025_dl_OH_derived.csv"
SRC = Oews()
PHYSICIANS = ["29-1210", "29-1211", "29-1212", "29-1213", "29-1214", "29-1217", "29-1218", "29-1222", "29-1223", "29-1224",
              "29-1229", "29-1240", "29-1241", "29-1242", "29-1243", "29-1249"]


def _one(path: Path) -> ParsedTable:
    assert SRC.recognize(path, sniff(path)), path
    [t] = SRC.parse(path, str(path))
    assert t.frame.schema == pl.from_arrow(SCHEMAS["oews_wages"].empty_table()).schema
    return t


def _row(f: pl.DataFrame, code: str, **eq: str) -> dict:
    q = f.filter(pl.col("soc_code") == code)
    for k, v in eq.items():
        q = q.filter(pl.col(k) == v)
    return q.row(0, named=True)


@pytest.fixture(scope="module")
def nat24(mirror_dir: Path) -> ParsedTable:
    return _one(mirror_dir / ZIP)


def test_national_2024_from_mirror_zip(nat24: ParsedTable) -> None:
    f = nat24.frame
    assert (nat24.dataset, nat24.vintage, nat24.unit) == ("oews_wages", "2024", "NAT") and f.height == 1403
    assert f["source_file"].unique().to_list() == ["oesm24nat.zip:national_M2024_dl.xlsx"]
    tot = _row(f, "00-0000")
    assert tot["tot_emp"] == 154_187_380 and tot["a_median"] == 49_500 and tot["a_mean"] == 67_920 and tot["h_median"] == 23.8
    assert (tot["area_type"], tot["area_code"], tot["area_title"], tot["state"], tot["naics"], tot["own_code"]) == (
        "national", "99", "U.S.", "US", "000000", "1235")
    assert (tot["a_pct10"], tot["a_pct25"], tot["a_pct75"], tot["a_pct90"]) == (29_990, 36_730, 78_810, 125_720)
    assert dict(f["o_group"].value_counts().iter_rows()) == {"total": 1, "major": 22, "minor": 94, "broad": 455, "detailed": 831}
    # OEWS aggregates listed both as broad and detailed (same figures) are both kept
    hl = f.filter(pl.col("soc_code") == "29-2010")
    assert sorted(hl["o_group"]) == ["broad", "detailed"] and hl["tot_emp"].n_unique() == 1


def test_national_2023_and_bare_2024_xlsx(shared_data: Path, nat24: ParsedTable) -> None:
    t23 = _one(shared_data / "bls_oews" / "national_M2023_dl.xlsx")
    tot = _row(t23.frame, "00-0000")
    assert t23.vintage == "2023" and t23.frame.height == 1403 and tot["a_median"] == 48_060 and tot["tot_emp"] == 151_853_870
    bare = _one(shared_data / "bls_oews" / "national_M2024_dl.xlsx").frame
    assert bare.drop("source_file").equals(nat24.frame.drop("source_file"))  # zip member byte-identical to the bare file


def test_top_coded_and_missing_wages_flagged_never_zero(nat24: ParsedTable, mirror_dir: Path, shared_data: Path) -> None:
    f = nat24.frame
    top = f.filter(pl.col("a_median_flag") == "top-coded")
    assert set(PHYSICIANS) <= set(top["soc_code"]) and top.height == 19
    assert top["a_median"].null_count() == 19 and (top["a_median_topcode"] == 239_200).all()
    assert top["h_median"].null_count() == 19
    anest = _row(f, "29-1211")
    assert anest["a_mean"] == 336_640 and anest["a_median"] is None and anest["a_pct90"] is None
    # `*`: no annual wage published (hourly-only occupations such as actors)
    na = f.filter(pl.col("a_median_flag") == "not available")
    assert na.height == 7 and "27-2011" in na["soc_code"] and na["a_median"].null_count() == 7 and na["a_median_topcode"].null_count() == 7
    assert _row(f, "27-2011")["h_mean"] == 44.4
    assert f.filter(pl.col("a_median_flag").is_null())["a_median"].null_count() == 0
    assert f.filter(pl.col("a_median_flag").is_not_null() | pl.col("a_median_topcode").is_not_null())["a_median"].null_count() == 26
    assert f.filter(pl.col("a_median") == 0).height == 0
    # the flags follow the raw cells exactly
    raw = read_xlsx_sheet(shared_data / "bls_oews" / "national_M2024_dl.xlsx", 0)
    assert raw.filter(pl.col("A_MEDIAN") == "#").height == 19 and raw.filter(pl.col("A_MEDIAN") == "*").height == 7
    # the threshold comes from the workbook's Field Descriptions sheet
    p = shared_data / "bls_oews" / "national_M2024_dl.xlsx"
    assert _topcode_from_descriptions(p, xlsx_sheets(p)) == 239_200


def test_state_subset_csv(shared_data: Path) -> None:
    t = _one(shared_data / STATE_CSV)
    f = t.frame
    assert (t.vintage, t.unit) == ("2024", "ST") and f.height == 37_609
    assert f["state"].n_unique() == 54 and f["area_code"].n_unique() == 54 and (f["area_type"] == "state").all()
    al = _row(f, "00-0000", state="AL")
    assert (al["area_code"], al["area_title"], al["tot_emp"], al["a_mean"], al["a_median"]) == ("01", "Alabama", 2_091_480, 55_350, 43_830)
    assert (al["a_pct10"], al["a_pct25"], al["a_pct75"], al["a_pct90"]) == (23_520, 30_660, 64_110, 98_810)
    assert set(f.filter(pl.col("state").is_in(["DC", "GU", "PR", "VI"]))["area_code"]) == {"11", "66", "72", "78"}
    # O_GROUP derived from the code: OEWS aggregates that stand in for detail are detailed, like OEWS labels them
    assert dict(f["o_group"].value_counts().iter_rows()) == {"total": 54, "major": 1188, "detailed": 36_367}
    assert set(f.filter((pl.col("o_group") == "detailed") & pl.col("soc_code").str.ends_with("0"))["soc_code"]) == {
        "13-1020", "13-2020", "29-2010", "31-1120", "39-7010", "47-4090", "51-2090"}
    assert f.filter(pl.col("a_median_flag") == "top-coded").height == 525 and f.filter(pl.col("emp_flag") == "not available").height == 1353
    top = f.filter(pl.col("a_median_flag") == "top-coded")
    assert top["a_median"].null_count() == 525 and (top["a_median_topcode"] == 239_200).all()


def test_natsector_and_nat3d(shared_data: Path) -> None:
    t = _one(shared_data / "bls_oews" / "natsector_M2024_dl.xlsx")
    f = t.frame
    assert (t.unit, f.height) == ("SECTOR", 16_434) and (f["area_type"] == "industry").all() and f["naics"].n_unique() == 20
    trans = f.filter(pl.col("naics") == "48-49")
    assert trans.height == 840 and trans["own_code"].unique().to_list() == ["59"]
    truck = _row(trans, "53-3032")
    assert (truck["tot_emp"], truck["a_median"], truck["i_group"]) == (1_183_530, 59_200, "sector")
    assert f.filter(pl.col("emp_flag") == "not available")["tot_emp"].null_count() == 1061
    d = _one(shared_data / NAT3D_CSV)
    g = d.frame
    assert (d.unit, g.height, g["naics"].n_unique()) == ("NAT3D", 18_783, 85)
    assert _row(g, "00-0000", naics="484000")["tot_emp"] == 1_531_100 and (g["area_code"] == "99").all()
    assert g["a_median"].null_count() == g.height and g["a_median_flag"].null_count() == g.height  # column not in this extract
    assert dict(g["o_group"].value_counts().iter_rows()) == {"total": 85, "detailed": 18_698}


def test_schema_drift_missing_a_median_names_column_and_file(shared_data: Path, tmp_path: Path) -> None:
    df = read_csv_text(shared_data / STATE_CSV, origin="x").drop("A_MEDIAN").head(50)
    p = tmp_path / "state_M2024_dl.csv"
    df.write_csv(p)
    with pytest.raises(SchemaDriftError, match="A_MEDIAN") as e:
        SRC.parse(p, str(p))
    assert str(p) in str(e.value) and "A_PCT10" in str(e.value)


def test_bad_files(shared_data: Path, mirror_dir: Path, tmp_path: Path) -> None:
    src = read_csv_text(shared_data / STATE_CSV, origin="x").head(20)
    p = tmp_path / "state_M2024_dl.csv"
    src.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("n/a")).otherwise(pl.col("A_MEAN")).alias("A_MEAN")).write_csv(p)
    with pytest.raises(SourceFormatError, match=r"'A_MEAN' holds 1 value.*'n/a'"):
        SRC.parse(p, str(p))
    src.with_columns(pl.lit("ZZ").alias("PRIM_STATE")).write_csv(p)
    with pytest.raises(SourceFormatError, match="not U.S. states or territories: ZZ"):
        SRC.parse(p, str(p))
    src.with_columns(pl.lit("Nurses").alias("OCC_CODE")).write_csv(p)
    with pytest.raises(SourceFormatError, match="not a SOC code"):
        SRC.parse(p, str(p))
    pl.concat([src, src.head(1).with_columns(pl.lit("1").alias("TOT_EMP"))]).write_csv(p)
    with pytest.raises(SourceFormatError, match="different figures"):
        SRC.parse(p, str(p))
    pl.concat([src, src.head(1)]).write_csv(p)
    [t] = SRC.parse(p, str(p))
    assert t.frame.height == 20 and "1 exact duplicate" in t.notes[0]
    q = tmp_path / "oews_export.csv"  # no year in the name
    src.write_csv(q)
    with pytest.raises(SourceFormatError, match="does not say the OEWS year"):
        SRC.parse(q, str(q))
    # zips and workbooks: truncated, HTML, no OEWS member, corrupt member
    raw = (mirror_dir / ZIP).read_bytes()
    cases = {
        "oesm24nat.zip": (raw[: len(raw) // 2], "corrupt or truncated"),
        "oesm23nat.zip": (b"<!DOCTYPE html><html><title>Access Denied</title></html>", "HTML page"),
        "national_M2024_dl.xlsx": (b"<html><body>Access Denied</body></html>", "HTML page"),
        "state_M2024_dl.xlsx": (raw[: len(raw) // 3], "not an Excel|truncated|corrupt"),
    }
    for name, (body, needle) in cases.items():
        bad = tmp_path / name
        bad.write_bytes(body)
        with pytest.raises(SourceFormatError, match=needle) as e:
            SRC.parse(bad, str(bad))
        assert str(bad) in str(e.value)
    z = tmp_path / "oesm22nat.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("oesm22nat/readme.txt", "nothing here")
    with pytest.raises(SourceFormatError, match="no OEWS data file.*readme.txt"):
        SRC.parse(z, str(z))
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("oesm22nat/national_M2022_dl.xlsx", b"PK\x03\x04 not really a workbook")
    with pytest.raises(SourceFormatError, match="national_M2022_dl.xlsx") as e:
        SRC.parse(z, str(z))
    assert str(z) in str(e.value)


def test_remotes_and_recognize(shared_data: Path, mirror_dir: Path) -> None:
    rs = SRC.remotes(IngestOptions())
    assert [(r.url.rsplit("/", 1)[1], r.required) for r in rs] == [
        ("oesm24nat.zip", True), ("oesm24st.zip", False), ("oesm24in4.zip", False), ("oesm24ma.zip", False)]
    assert rs[0].url == "https://www.bls.gov/oes/special-requests/oesm24nat.zip" and rs[0].raw_name == "oesm24nat.zip"
    assert len(SRC.remotes(IngestOptions(years=[2023, 2024]))) == 8
    for p in [mirror_dir / ZIP, shared_data / STATE_CSV, shared_data / NAT3D_CSV, shared_data / MSA_CSV,
              *(shared_data / "bls_oews").glob("*.xlsx")]:
        assert SRC.recognize(p, sniff(p)), p
    for p in [shared_data / "projections_central" / "ltprojections_2020-30_all_states.csv", shared_data / "bls_ep" / "occupation_2024-34.xlsx"]:
        assert not SRC.recognize(p, sniff(p)), p


OFFICIAL = ["AREA", "AREA_TITLE", "AREA_TYPE", "PRIM_STATE", "NAICS", "NAICS_TITLE", "I_GROUP", "OWN_CODE", "OCC_CODE", "OCC_TITLE",
            "O_GROUP", "TOT_EMP", "EMP_PRSE", "JOBS_1000", "LOC_QUOTIENT", "PCT_TOTAL", "PCT_RPT", "H_MEAN", "A_MEAN", "MEAN_PRSE",
            "H_PCT10", "H_PCT25", "H_MEDIAN", "H_PCT75", "H_PCT90", "A_PCT10", "A_PCT25", "A_MEDIAN", "A_PCT75", "A_PCT90",
            "ANNUAL", "HOURLY"]


def _state_row(code: str, title: str, group: str, emp: object, a_median: object) -> list[object]:
    vals = {"AREA": 1, "AREA_TITLE": "Alabama", "AREA_TYPE": 2, "PRIM_STATE": "AL", "NAICS": "000000",
            "NAICS_TITLE": "Cross-industry", "I_GROUP": "cross-industry", "OWN_CODE": 1235, "OCC_CODE": code, "OCC_TITLE": title,
            "O_GROUP": group, "TOT_EMP": emp, "H_MEAN": 30.5, "A_MEAN": 63_440, "H_MEDIAN": 25.1, "A_MEDIAN": a_median,
            "A_PCT10": 30_000, "A_PCT25": 40_000, "A_PCT75": 80_000, "A_PCT90": "#"}
    return [vals.get(c) for c in OFFICIAL]


def test_state_workbook_in_zip_uses_its_own_topcode_and_requires_official_columns(tmp_path: Path) -> None:
    from tests.minixlsx import write_xlsx

    rows = [_state_row("00-0000", "All Occupations", "total", 2_091_480, 43_830),
            _state_row("29-1211", "Anesthesiologists", "detailed", 150, "#"),
            _state_row("27-2011", "Actors", "detailed", "**", "*")]
    desc = [["Field", "Field Description"], ["Notes:", None],
            ["#  = indicates a wage equal to or greater than $125.00 per hour or $260,000 per year ", None]]
    x = write_xlsx(tmp_path / "state_M2031_dl.xlsx", {"state_M2031_dl": [OFFICIAL, *rows], "Field Descriptions": desc})
    z = tmp_path / "oesm31st.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(x, "oesm31st/state_M2031_dl.xlsx")
    t = _one(z)
    f = t.frame
    assert (t.vintage, t.unit, f.height) == ("2031", "ST", 3) and (f["area_code"] == "01").all() and (f["area_type"] == "state").all()
    an = _row(f, "29-1211")
    assert an["a_median"] is None and an["a_median_flag"] == "top-coded" and an["a_median_topcode"] == 260_000  # from the sheet
    actors = _row(f, "27-2011")
    assert actors["tot_emp"] is None and actors["emp_flag"] == "not available" and actors["a_median_flag"] == "not available"
    drift = write_xlsx(tmp_path / "state_M2024_dl.xlsx",
                       {"state_M2024_dl": [[c for c in OFFICIAL if c != "A_MEDIAN"], *([v for c, v in zip(OFFICIAL, r, strict=True)
                                                                                        if c != "A_MEDIAN"] for r in rows)]})
    with pytest.raises(SchemaDriftError, match="column.s. A_MEDIAN not found") as e:
        SRC.parse(drift, str(drift))
    assert str(drift) in str(e.value)


def test_metro_and_nonmetro_csv_2025(shared_data: Path) -> None:
    """May 2025 metro + nonmetro areas touching Ohio (MANIFEST-substate entry 2): one unit per area."""
    p = shared_data / MSA_CSV
    assert SRC.recognize(p, sniff(p))
    tables = SRC.parse(p, str(p))
    assert {t.vintage for t in tables} == {"2025"} and len(tables) == 19
    f = pl.concat([t.frame for t in tables])
    assert f.height == 7856 and f["soc_code"].n_unique() == 745
    units = {t.unit for t in tables}
    assert "MSA:18140" in units and "BOS:3900004" in units and not units & {"NAT", "ST", "MSA"}
    kinds = dict(f.group_by("area_type").agg(pl.col("area_code").n_unique()).iter_rows())
    assert kinds == {"metro": 15, "nonmetro": 4}
    col = _row(f, "53-3032", area_code="18140")
    assert (col["area_title"], col["state"], col["tot_emp"], col["a_median"]) == ("Columbus, OH", "OH", 16_110, 61_720)
    assert _row(f, "00-0000", area_code="26580")["state"] == "WV"  # Huntington-Ashland WV-KY-OH
    assert f.filter(pl.col("emp_flag") == "not available").height == 95
    assert f.filter(pl.col("a_median_flag") == "top-coded").height == 7


def test_metro_file_never_shadows_national_or_state_wages(ingested: Path) -> None:
    """The newest OEWS vintage (2025) holds only metro/nonmetro rows; national and state wages stay 2024's."""
    from gapkit.analysis.pathways import oews_wages
    from gapkit.analysis.tables import Tables

    tables = Tables(ingested)
    assert tables.vintages("oews_wages")[-1] == "2025"
    for region in ("US", "OH"):
        _, median, year, _ = oews_wages(tables, region)
        assert year == 2024, region
    assert tables.store is not None
    stored = pl.read_parquet(tables.store.table_path("oews_wages", "2025"))
    assert set(stored["area_type"]) == {"metro", "nonmetro"}


def test_bos_workbook_in_ma_zip_and_bad_area(tmp_path: Path) -> None:
    """The official layout: BOS_M<year>_dl.xlsx inside oesm<yy>ma.zip, AREA_TYPE 6 = nonmetropolitan."""
    from tests.minixlsx import write_xlsx

    def row(area: object, code: str, emp: object) -> list[object]:
        vals = {"AREA": area, "AREA_TITLE": "Southern Ohio nonmetropolitan area", "AREA_TYPE": 6, "PRIM_STATE": "OH",
                "NAICS": "000000", "NAICS_TITLE": "Cross-industry", "I_GROUP": "cross-industry", "OWN_CODE": 1235,
                "OCC_CODE": code, "OCC_TITLE": "x", "O_GROUP": "detailed" if code != "00-0000" else "total", "TOT_EMP": emp,
                "H_MEAN": 20, "A_MEAN": 41_600, "H_MEDIAN": 19, "A_MEDIAN": 39_520, "A_PCT10": 1, "A_PCT25": 2,
                "A_PCT75": 3, "A_PCT90": 4}
        return [vals.get(c) for c in OFFICIAL]

    x = write_xlsx(tmp_path / "BOS_M2031_dl.xlsx", {"BOS_M2031_dl": [OFFICIAL, row(3900004, "00-0000", 120_000),
                                                                      row(3900004, "53-3032", 2_500)]})
    z = tmp_path / "oesm31ma.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(x, "oesm31ma/BOS_M2031_dl.xlsx")
    assert SRC.recognize(z, sniff(z))
    [t] = SRC.parse(z, str(z))
    assert (t.vintage, t.unit, t.frame.height) == ("2031", "BOS:3900004", 2)
    assert set(t.frame["area_type"]) == {"nonmetro"} and set(t.frame["state"]) == {"OH"}
    bad = write_xlsx(tmp_path / "MSA_M2031_dl.xlsx", {"MSA_M2031_dl": [OFFICIAL, row("Columbus", "00-0000", 1)]})
    with pytest.raises(SourceFormatError, match="not an OEWS metro") as e:
        SRC.parse(bad, str(bad))
    assert str(bad) in str(e.value)

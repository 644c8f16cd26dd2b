"""geo source: the CBSA delineation List 1, the OEWS area definitions and the Texas county → workforce
area file in ../shared (MANIFEST-substate entries 3, 4, 7), the mirror, and hand-made workbooks and
CSVs in the official layouts for bad input."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable
from gapkit.ingestion.sources.geo import SCHEMAS, WDA_NOTES, Geo, county_key_expr
from gapkit.store import Store
from tests.conftest import run_cli
from tests.httpserver import base_url, serve
from tests.minixlsx import write_xlsx
from tests.substate_support import assert_ingest_refused, copy_data, manifest_text, number, owner, parse_one

SRC = Geo()
CBSA = "substate/cbsa/list1_2023.xlsx"
OEWS_DEF = "substate/oews_msa/area_definitions_m2021.xlsx"
WDA = "substate/wda_tx/tx_county_wda_crosswalk.csv"
CBSA_MIRROR = "www2.census.gov/programs-surveys/metro-micro/geographies/reference-files/2023/delineation-files/list1_2023.xlsx"
OEWS_MIRROR = "www.bls.gov/oes/2021/may/area_definitions_m2021.xlsx"


def _one(path: Path) -> ParsedTable:
    [t] = parse_one(SRC, path)
    assert t.frame.schema == pl.from_arrow(SCHEMAS[t.dataset].empty_table()).schema
    return t


@pytest.fixture(scope="module")
def cbsa(shared_data: Path) -> ParsedTable:
    return _one(shared_data / CBSA)


@pytest.fixture(scope="module")
def oews_def(shared_data: Path) -> ParsedTable:
    return _one(shared_data / OEWS_DEF)


@pytest.fixture(scope="module")
def wda(shared_data: Path) -> ParsedTable:
    return _one(shared_data / WDA)


def test_cbsa_counties_and_cbsas(cbsa: ParsedTable, shared_data: Path) -> None:
    f = cbsa.frame
    m = re.search(r"\*\*([\d,]+) county rows\*\* \((\d+) CBSAs\)", manifest_text(shared_data))
    assert m is not None
    assert (cbsa.dataset, cbsa.vintage, cbsa.unit) == ("cbsa_delineation", "2023", "US")
    assert f.height == number(m.group(1)) == 1915 and f["cbsa_code"].n_unique() == int(m.group(2)) == 935
    assert f["county_fips"].is_unique().all() and f["county_fips"].str.contains(r"^\d{5}$").all()
    assert set(f["cbsa_type"]) == {"metro", "micro"} and not f["cbsa_title"].str.starts_with("Note").any()
    col = f.filter(pl.col("cbsa_code") == "18140")
    assert col.height == 10 and set(col["cbsa_title"]) == {"Columbus, OH"} and set(col["cbsa_type"]) == {"metro"}
    assert set(col["csa_code"]) == {"198"} and col.filter(pl.col("county_name") == "Franklin County")["county_fips"].item() == "39049"
    # leading zeros kept: Alabama's counties, and an Alaska borough's key drops its suffix
    assert f.filter(pl.col("state") == "AL")["county_fips"].str.starts_with("01").all()
    divisions = f.filter(pl.col("metro_division_code").is_not_null())
    assert divisions["metro_division_title"].null_count() == 0 and divisions["metro_division_code"].str.len_chars().eq(5).all()


def test_oews_area_definitions_ohio(oews_def: ParsedTable) -> None:
    f = oews_def.frame
    assert (oews_def.dataset, oews_def.vintage, oews_def.unit, f.height) == ("oews_area_definitions", "2021", "US", 4937)
    oh = f.filter(pl.col("state") == "OH")
    assert oh.height == 88 and oh["county_fips"].n_unique() == 88 and oh["township_code"].null_count() == 88
    nonmetro = dict(oh.filter(pl.col("area_type") == "nonmetro").group_by("area_code").len().iter_rows())
    # MANIFEST-substate entry 3: 15 West Northwestern, 14 North Northeastern, 9 Eastern, 12 Southern
    assert nonmetro == {"3900001": 15, "3900002": 14, "3900003": 9, "3900004": 12}
    assert oh.filter(pl.col("area_code") == "3900004")["area_name"].unique().to_list() == ["Southern Ohio nonmetropolitan area"]
    # codes left-padded with spaces (and two Idaho rows that are not) read the same
    assert f["area_code"].str.contains(r"^(\d{5}|\d{7})$").all()
    assert f.filter(pl.col("county_fips") == "16083")["area_code"].item() == "46300"
    assert (f.filter(pl.col("area_type") == "nonmetro")["area_code"].str.slice(0, 2)
            == f.filter(pl.col("area_type") == "nonmetro")["state_fips"]).all()


def test_oews_new_england_is_defined_by_township(oews_def: ParsedTable) -> None:
    f = oews_def.frame
    towns = f.filter(pl.col("township_code").is_not_null())
    assert set(towns["state"]) == {"CT", "MA", "ME", "NH", "RI", "VT"}
    assert towns["county_key"].null_count() == towns.height  # a town's name is not a county's
    assert f.select(pl.struct("county_fips", "township_code").is_unique().all()).item()
    bethel = towns.filter(pl.col("name") == "Bethel town").filter(pl.col("state") == "CT").row(0, named=True)
    assert (bethel["county_fips"], bethel["township_code"], bethel["area_code"], bethel["area_type"]) == ("09001", "009", "72850", "metro")


def test_texas_workforce_areas(wda: ParsedTable, shared_data: Path) -> None:
    f = wda.frame
    assert (wda.dataset, wda.vintage, wda.unit) == ("workforce_areas", "current", "TX")
    assert f.height == 254 and f["county_fips"].n_unique() == 254 and f["area_name"].n_unique() == 24
    assert f["area_code"].n_unique() == 24 and (f["state_fips"] == "48").all()
    assert f.filter(pl.col("county_name") == "Zavala")["county_fips"].item() == "48507"  # last line, no trailing newline
    # the manifest's caution is recorded per merged area, never "fixed"
    noted = f.filter(pl.col("note").is_not_null())
    assert dict(noted.group_by("area_name").len().iter_rows()) == {"DFW": 16, "Greater Austin": 10, "Rio Grande Valley": 4}
    assert set(noted.filter(pl.col("area_name") == "DFW")["area_code"]) == {"4"}
    assert "verify against TWC's board list" in noted.filter(pl.col("area_name") == "Rio Grande Valley")["note"][0]
    assert "24 workforce areas" in wda.notes[0] and set(WDA_NOTES) == {("TX", "DFW"), ("TX", "Greater Austin"), ("TX", "Rio Grande Valley")}
    assert "DFW" in manifest_text(shared_data) and "24 = Cameron County" in manifest_text(shared_data)


def test_county_keys_agree_across_files(wda: ParsedTable, oews_def: ParsedTable, cbsa: ParsedTable) -> None:
    """Each Texas county's name key in the workforce file equals the OEWS definitions' for its FIPS code
    (DeWitt, McLennan...), and the CBSA file agrees wherever it lists the county."""
    tx = oews_def.frame.filter(pl.col("state") == "TX").select("county_fips", pl.col("county_key").alias("k_oews"))
    j = wda.frame.join(tx, on="county_fips", how="left")
    assert j["k_oews"].null_count() == 0 and (j["county_key"] == j["k_oews"]).all()
    c = cbsa.frame.join(oews_def.frame.filter(pl.col("township_code").is_null()).select("county_fips", pl.col("county_key").alias("k")),
                        on="county_fips", how="inner")
    assert c.height > 1800 and (c["county_key"] == c["k"]).mean() > 0.99


def test_county_key_normalization() -> None:
    names = ["DeWitt", "Dewitt", "McLennan", "MCLENNAN", "St. Clair County", "Miami-Dade County", "Juneau City and Borough",
             "Caddo Parish", "Bethel Census Area", "San Juan Municipio"]
    got = pl.DataFrame({"n": names}).select(county_key_expr("n"))["n"].to_list()
    assert got == ["dewitt", "dewitt", "mclennan", "mclennan", "st clair", "miami dade", "juneau", "caddo", "bethel", "san juan"]


def test_mirror_copies_read_the_same(mirror_dir: Path, cbsa: ParsedTable, oews_def: ParsedTable) -> None:
    assert _one(mirror_dir / CBSA_MIRROR).frame.equals(cbsa.frame)
    assert _one(mirror_dir / OEWS_MIRROR).frame.equals(oews_def.frame)


def test_recognize(shared_data: Path, mirror_dir: Path, tmp_path: Path) -> None:
    for p in (shared_data / CBSA, shared_data / OEWS_DEF, shared_data / WDA, mirror_dir / CBSA_MIRROR, mirror_dir / OEWS_MIRROR):
        assert owner(p) == "geo", p
    renamed = tmp_path / "delineation.xlsx"  # a renamed workbook: its sheet names tell
    renamed.write_bytes((shared_data / CBSA).read_bytes())
    assert owner(renamed) == "geo"
    for p in [*(shared_data / "soc").rglob("*.xlsx"), *(shared_data / "careerclusters").glob("*.xlsx"),
              shared_data / "cip/CIPCode2020.csv", shared_data / "ipeds/dictionary/c2024_a_dictionary.xlsx"]:
        # the BLS O*NET-SOC -> NEM crosswalk is the bls-codes source's; nothing else there is any source's
        assert owner(p) == ("bls-codes" if p.name.startswith("nem-onet-to-soc-crosswalk") else None), p


def test_remotes() -> None:
    rs = SRC.remotes(IngestOptions())
    assert [(r.url, r.required) for r in rs] == [
        ("https://" + CBSA_MIRROR, True),
        ("https://www.bls.gov/oes/2024/may/area_definitions_m2024.xlsx", False),
        ("https://" + OEWS_MIRROR, False),
    ]
    assert SRC.remotes(IngestOptions(years=[2022, 2023])) == rs  # definitions follow delineations, not --years


def test_ingest_from_mirror_folder_and_loopback_http(tmp_path: Path, mirror_dir: Path, cbsa: ParsedTable) -> None:
    folder = tmp_path / "folder"
    proc = run_cli("ingest", "geo", "--mirror", str(mirror_dir), data_dir=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not-published" in proc.stdout  # area_definitions_m2024.xlsx is not in the mirror
    store = Store(folder)
    assert store.scan("cbsa_delineation", "2023").collect().drop("source_file", "source_unit").equals(cbsa.frame.drop("source_file"))
    assert store.scan("oews_area_definitions", "2021").select(pl.len()).collect().item() == 4937
    with serve(mirror_dir) as srv:
        http = tmp_path / "http"
        proc = run_cli("ingest", "geo", "--mirror", base_url(srv), data_dir=http)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        entry = Store(http).entry("cbsa_delineation", "2023")
        assert entry is not None and entry.inputs["US"]["upstream_url"] == "https://" + CBSA_MIRROR


# -- hand-made files in the official layouts ------------------------------------------------------
CBSA_HEADER = ["CBSA Code", "Metropolitan Division Code", "CSA Code", "CBSA Title", "Metropolitan/Micropolitan Statistical Area",
               "Metropolitan Division Title", "CSA Title", "County/County Equivalent", "State Name", "FIPS State Code",
               "FIPS County Code", "Central/Outlying County"]


def _cbsa_rows() -> list[list[object]]:
    return [["18140", None, "198", "Columbus, OH", "Metropolitan Statistical Area", None, "Columbus-Marion-Zanesville, OH",
             "Franklin County", "Ohio", "39", "049", "Central"],
            ["18140", None, "198", "Columbus, OH", "Metropolitan Statistical Area", None, "Columbus-Marion-Zanesville, OH",
             "Delaware County", "Ohio", "39", "041", "Central"],
            ["10100", None, None, "Aberdeen, SD", "Micropolitan Statistical Area", None, None, "Brown County", "South Dakota",
             "46", "013", "Central"]]


def _cbsa_book(path: Path, rows: list[list[object]], header: list[str] = CBSA_HEADER, title: str = "JULY 2099") -> Path:
    return write_xlsx(path, {"List 1": [
        ["Table with row headers in column A and column headers in row 3"],
        [f"List 1. CORE BASED STATISTICAL AREAS (CBSAs), METROPOLITAN DIVISIONS, AND COMBINED STATISTICAL AREAS (CSAs), {title}"],
        header, *rows, [],
        ["Note: The Office of Management and Budget (OMB) ..."], ["Source: File prepared by U.S. Census Bureau ..."]]})


def test_hand_made_cbsa_layout_and_stripped_zeros(tmp_path: Path) -> None:
    t = _one(_cbsa_book(tmp_path / "list1_2099.xlsx", _cbsa_rows()))
    assert (t.vintage, t.frame.height) == ("2099", 3) and t.frame["county_fips"].to_list() == ["39049", "39041", "46013"]
    # a copy re-saved with the codes as numbers: the leading zeros come back
    rows = [[18140, None, 198, *r[3:9], 39, int(str(r[10])), r[11]] for r in _cbsa_rows()[:2]]
    u = _one(_cbsa_book(tmp_path / "list1_2098.xlsx", rows, title="JULY 2098"))
    assert u.frame["county_fips"].to_list() == ["39049", "39041"] and u.frame["csa_code"].to_list() == ["198", "198"]


def _wda_csv(tmp_path: Path, text: str, name: str = "county_wda_crosswalk.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


WDA_OK = "wda,wda_number,county,fips_county\nEast Texas,8,Anderson,48001\nPermian Basin,11,Andrews,48003"


def test_bad_cbsa_workbooks(tmp_path: Path) -> None:
    cases = {
        "renamed": (_cbsa_book(tmp_path / "list1_2091.xlsx", _cbsa_rows(), [h if h != "CSA Title" else "CSA Name" for h in CBSA_HEADER]),
                    SchemaDriftError, "CSA Title not found"),
        "no header": (_cbsa_book(tmp_path / "list1_2092.xlsx", _cbsa_rows(), ["Code", *CBSA_HEADER[1:]]),
                      SourceFormatError, "no header row with 'CBSA Code'"),
        "bad fips": (_cbsa_book(tmp_path / "list1_2093.xlsx", [[*_cbsa_rows()[0][:10], "04Q", "Central"]]),
                     SourceFormatError, "county code that is not a 3-digit code"),
        "two cbsas": (_cbsa_book(tmp_path / "list1_2094.xlsx", [*_cbsa_rows(), ["10100", *_cbsa_rows()[0][1:]]]),
                      SourceFormatError, "more than one CBSA"),
        "not metro or micro": (_cbsa_book(tmp_path / "list1_2095.xlsx", [[*_cbsa_rows()[0][:4], "Metro", *_cbsa_rows()[0][5:]]]),
                               SourceFormatError, "neither a Metropolitan nor a Micropolitan"),
        "no date": (_cbsa_book(tmp_path / "list1.xlsx", _cbsa_rows(), title="CURRENT"), SourceFormatError, "delineation date"),
    }
    for case, (path, exc, needle) in cases.items():
        with pytest.raises(exc, match=needle) as e:
            SRC.parse(path, str(path))
        assert str(path) in str(e.value), case
    rows_after = write_xlsx(tmp_path / "list1_2096.xlsx", {"List 1": [["note"], ["title JULY 2096"], CBSA_HEADER, _cbsa_rows()[0], [],
                                                                      _cbsa_rows()[1]]})
    with pytest.raises(SourceFormatError, match="continue after the blank row"):
        SRC.parse(rows_after, "x")
    for name, body, needle in (("list1_2097.xlsx", b"", "empty"), ("list1_2090.xlsx", b"<html><body>Not Found</body></html>", "HTML page")):
        p = tmp_path / name
        p.write_bytes(body)
        with pytest.raises(SourceFormatError, match=needle):
            SRC.parse(p, str(p))


OEWS_HEADER = ["FIPS code", "State", "State abbreviation", "May 2031 MSA code ", "May 2031 MSA name", "County code", "Township code",
               "County name (or Township name for the New England states)"]


def _oews_book(path: Path, rows: list[list[object]], header: list[str] = OEWS_HEADER) -> Path:
    return write_xlsx(path, {path.stem: [header, *rows]})


def test_hand_made_oews_definitions_and_bad_ones(tmp_path: Path) -> None:
    rows = [["39", "Ohio", "OH", "  18140", "Columbus, OH", "049", "000", "Franklin County"],
            ["39", "Ohio", "OH", "3900004", "Southern Ohio nonmetropolitan area", "001", "000", "Adams County"],
            ["09", "Connecticut", "CT", "  72850", "Danbury, CT", "001", "009", "Bethel town"]]
    t = _one(_oews_book(tmp_path / "area_definitions_m2031.xlsx", rows))
    assert t.vintage == "2031" and t.frame["area_code"].to_list() == ["18140", "3900004", "72850"]
    assert t.frame["area_type"].to_list() == ["metro", "nonmetro", "metro"] and t.frame["township_code"].to_list() == [None, None, "009"]
    cases = {
        "missing column": (_oews_book(tmp_path / "area_definitions_m2032.xlsx", [r[:7] for r in rows], OEWS_HEADER[:7]),
                           SchemaDriftError, "County name"),
        "bad area code": (_oews_book(tmp_path / "area_definitions_m2033.xlsx", [[*rows[0][:3], "1814", *rows[0][4:]]]),
                          SourceFormatError, "area code that is not an OEWS metro"),
        "nonmetro of another state": (_oews_book(tmp_path / "area_definitions_m2034.xlsx", [[*rows[1][:3], "4800004", *rows[1][4:]]]),
                                      SourceFormatError, "do not start with their state's FIPS code"),
        "state mismatch": (_oews_book(tmp_path / "area_definitions_m2035.xlsx", [[*rows[0][:2], "TX", *rows[0][3:]]]),
                           SourceFormatError, "do not agree"),
        "county twice": (_oews_book(tmp_path / "area_definitions_m2036.xlsx", [rows[0], [*rows[0][:3], "  10420", *rows[0][4:]]]),
                         SourceFormatError, "more than one OEWS area"),
    }
    for case, (path, exc, needle) in cases.items():
        with pytest.raises(exc, match=needle) as e:
            SRC.parse(path, str(path))
        assert str(path) in str(e.value), case


def test_bad_workforce_area_files(tmp_path: Path) -> None:
    ok = _one(_wda_csv(tmp_path, WDA_OK))
    assert ok.frame["area_code"].to_list() == ["8", "11"] and ok.frame["note"].null_count() == 2
    cases = {
        "renamed": ("wda,wda_number,county,fips\n", SchemaDriftError, None),
        "county in two areas": (WDA_OK + "\nWest Central Texas,9,Andrews,48003", SourceFormatError, "more than one workforce area"),
        "bad fips": (WDA_OK.replace("48003", "48O03"), SourceFormatError, "county fips that is not a 5-digit county FIPS code"),
        "state code": (WDA_OK.replace("48003", "48000"), SourceFormatError, "not a county of a U.S. state"),
        "empty": ("", SourceFormatError, "empty"),
        "html": ("<!DOCTYPE html><html></html>", SourceFormatError, "HTML page"),
    }
    for case, (text, exc, needle) in cases.items():
        p = _wda_csv(tmp_path, text)
        if case == "renamed":
            p = _wda_csv(tmp_path, "wda,wda_number,county,county_id\nEast Texas,8,Anderson,48001")
            needle = "fips_county not found"
        with pytest.raises(exc, match=needle) as e:
            SRC.parse(p, str(p))
        assert str(p) in str(e.value), case
    dup = _one(_wda_csv(tmp_path, WDA_OK + "\nPermian Basin,11,Andrews,48003"))
    assert dup.frame.height == 2 and "1 exact duplicate" in dup.notes[0]


def test_bad_files_through_the_cli_leave_the_store_intact(ingested: Path, tmp_path: Path) -> None:
    data = copy_data(ingested, tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    _cbsa_book(bad / "list1_2023.xlsx", _cbsa_rows(), [h if h != "FIPS County Code" else "County Code" for h in CBSA_HEADER])
    (bad / "area_definitions_m2021.xlsx").write_bytes(b"<!DOCTYPE html><html><body>Access Denied</body></html>")
    _wda_csv(bad, WDA_OK + "\nWest Central Texas,9,Andrews,48003", "tx_county_wda_crosswalk.csv")
    err = assert_ingest_refused(data, bad, "list1_2023.xlsx: required column(s) FIPS County Code not found",
                                "area_definitions_m2021.xlsx: the file is an HTML page",
                                "tx_county_wda_crosswalk.csv: 1 county code(s) are assigned to more than one workforce area")
    assert err.count("error:") == 3


def test_ohio_oews_areas_cover_ohio_within_the_cross_state_metros(ingested: Path) -> None:
    """Issue 12's check: Ohio's 19 OEWS areas (May 2025, MANIFEST-substate entry 2) cover Ohio's employment
    within the cross-state metros' share. Areas wholly in Ohio (by the CBSA file's county states, and the
    nonmetro areas) sum to no more than the state; adding whole cross-state metros (Cincinnati OH-KY-IN,
    Huntington, Weirton, Wheeling) sums to more. The state total is OEWS May 2024 (no May 2025 state file
    in ../shared), so the bounds are loose by a year's growth."""
    store = Store(ingested)
    areas = (store.scan("oews_wages", "2025").filter((pl.col("soc_code") == "00-0000") & pl.col("area_type").is_in(["metro", "nonmetro"]))
             .select("area_code", "area_type", "tot_emp").collect())
    states = store.scan("cbsa_delineation", "2023").group_by("cbsa_code").agg(pl.col("state").n_unique().alias("n_states")).collect()
    j = areas.join(states, left_on="area_code", right_on="cbsa_code", how="left")
    assert areas.height == 19 and j.filter(pl.col("area_type") == "metro")["n_states"].null_count() == 0
    inside = j.filter((pl.col("area_type") == "nonmetro") | (pl.col("n_states") == 1))["tot_emp"].sum()
    cross = j.filter(pl.col("n_states") > 1)
    assert cross.height == 4
    ohio = store.scan("oews_wages", "2024").filter((pl.col("area_type") == "state") & (pl.col("state") == "OH")
                                                   & (pl.col("soc_code") == "00-0000")).select("tot_emp").collect().item()
    assert inside < ohio < inside + cross["tot_emp"].sum()

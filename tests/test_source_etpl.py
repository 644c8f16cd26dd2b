"""etpl source: the Texas WIOA Eligible Training Provider List in ../shared (MANIFEST-substate entry 6) and
its mirror copy, hand-made workbooks in TWC's 47-column layout for bad input, the CLI."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import read_xlsx_sheet
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable
from gapkit.ingestion.sources.etpl import SCHEMAS, URL, Etpl
from gapkit.ingestion.sources.geo import Geo
from gapkit.store import Store
from tests.conftest import run_cli
from tests.httpserver import base_url, serve
from tests.minixlsx import write_xlsx
from tests.substate_support import assert_ingest_refused, copy_data, manifest_text, number, owner, parse_one

SRC = Etpl()
XLSX = "substate/etpl_tx/statewide-eligible-training-program-list-twc_2024-03-20.xlsx"
MIRROR = "www.twc.texas.gov/files/partners/statewide-eligible-training-program-list-twc.xlsx"


@pytest.fixture(scope="module")
def etpl(shared_data: Path) -> ParsedTable:
    [t] = parse_one(SRC, shared_data / XLSX)
    assert t.frame.schema == pl.from_arrow(SCHEMAS["etpl_programs"].empty_table()).schema
    return t


@pytest.fixture(scope="module")
def published(shared_data: Path) -> dict[str, int]:
    text = manifest_text(shared_data)
    progs = re.search(r"1 header \+ \*\*([\d,]+) programs\*\*.*?([\d,]+) providers and campuses in (\d+) counties", text, re.S)
    appr = re.search(r"marks \*\*(\d+) Registered-Apprenticeship programs\*\*, and (\d+) programs report", text)
    cip = re.search(r"46\.0000; ([\d,]+) programs have one", text)
    onet = re.search(r"SOC = its first 6 digits; ([\d,]+) programs have one", text)
    assert progs and appr and cip and onet
    return {"programs": number(progs[1]), "providers": number(progs[2]), "counties": int(progs[3]), "apprenticeship": int(appr[1]),
            "with_apprentices": int(appr[2]), "with_cip": number(cip[1]), "with_onet": number(onet[1])}


def test_programs_and_apprenticeships(etpl: ParsedTable, published: dict[str, int]) -> None:
    f = etpl.frame
    assert (etpl.dataset, etpl.vintage, etpl.unit) == ("etpl_programs", "2024-03-20", "TX")
    assert f.height == published["programs"] == 6245 and f["program_id"].is_unique().all()
    assert f["provider_id"].n_unique() == published["providers"] and f["campus_county"].n_unique() == published["counties"]
    assert (f["list_date"] == dt.date(2024, 3, 20)).all() and (f["program_status"] == "Approved").all()
    assert int(f["apprenticeship"].sum()) == published["apprenticeship"] == 510
    assert f.filter(pl.col("apprentices") > 0).height == published["with_apprentices"] == 550
    ra = f.filter(pl.col("apprenticeship"))
    assert (ra["institution_type"] == "National Apprenticeship").all() and ra["apprentices"].null_count() == 0


def test_cip_and_onet_normalized(etpl: ParsedTable, published: dict[str, int], shared_data: Path) -> None:
    f = etpl.frame
    assert f["cipcode"].drop_nulls().len() == published["with_cip"] and f["cipcode"].drop_nulls().str.contains(r"^\d{2}\.\d{4}$").all()
    assert f["onet_code_1"].drop_nulls().len() == published["with_onet"]
    for i in (1, 2, 3):
        codes = f[f"onet_code_{i}"].drop_nulls()
        assert codes.str.contains(r"^\d{2}-\d{4}\.\d{2}$").all()
        assert (f.filter(pl.col(f"onet_code_{i}").is_not_null())[f"soc_code_{i}"] == codes.str.slice(0, 7)).all()
    raw = read_xlsx_sheet(shared_data / XLSX, 0)
    j = f.select("program_id", "cipcode", "onet_code_1", "soc_code_1").join(
        raw.select(pl.col("Program ID").alias("program_id"), pl.col("Instructional Program (CIP) Code").alias("cip"),
                   pl.col("Occupation Code (ONET 1)").alias("onet")), on="program_id")
    first = j.filter(pl.col("program_id") == "32211").row(0, named=True)  # the list's first program
    assert (first["cip"], first["cipcode"], first["onet"], first["onet_code_1"], first["soc_code_1"]) == (
        "460000", "46.0000", "47211100", "47-2111.00", "47-2111")
    # a CIP whose leading zero the export dropped (with a trailing space): `10605 ` is 01.0605
    short = j.filter(pl.col("cip").str.strip_chars().str.len_chars() == 5)
    assert short.height > 0 and (short["cipcode"] == "0" + short["cip"].str.strip_chars().str.slice(0, 1) + "."
                                   + short["cip"].str.strip_chars().str.slice(1)).all()


def test_twc_error_values_and_costs(etpl: ParsedTable) -> None:
    f = etpl.frame
    assert f["contact_hours"].null_count() == 12 and f["weeks"].null_count() == 62
    assert any("62 program(s) have 'Length: Weeks' = ERROR" in n for n in etpl.notes)
    assert f["tuition_fees"].null_count() == 0 and (f["tuition_fees"] >= 0).all()
    assert f["etpl_start"].null_count() == 0 and f["etpl_last_update"].null_count() == 0
    assert f.filter(pl.col("program_id") == "32211")["etpl_start"].item() == dt.datetime(2021, 2, 12, 16, 6)


def test_campus_counties_join_the_texas_workforce_file(etpl: ParsedTable, shared_data: Path) -> None:
    """Campus County is a name: every Texas campus joins the county → workforce-area file on (state, county_key),
    except TWC's `Other`; campuses in other states stay unmatched (El Paso, CO is not El Paso, TX)."""
    [wda] = Geo().parse(shared_data / "substate/wda_tx/tx_county_wda_crosswalk.csv", "x")
    keyed = etpl.frame.join(wda.frame.select(pl.col("state").alias("campus_state"), pl.col("county_key").alias("campus_county_key"),
                                             "county_fips", "area_name"),
                            on=["campus_state", "campus_county_key"], how="left")
    tx = keyed.filter(pl.col("campus_state") == "TX")
    assert tx.height == 6232  # one campus state was written `Tx`
    assert set(tx.filter(pl.col("county_fips").is_null())["campus_county"]) == set()
    other = keyed.filter(pl.col("campus_state") != "TX")
    assert other["county_fips"].null_count() == other.height == 13
    assert set(keyed.filter(pl.col("campus_county") == "Other")["campus_state"]) == {"IL", "FL", "CA", "NV"}
    assert keyed.filter(pl.col("campus_county").is_in(["Mclennan", "McLennan"]))["county_fips"].unique().to_list() == ["48309"]


def test_mirror_copy_without_a_date_in_its_name(mirror_dir: Path, etpl: ParsedTable) -> None:
    [t] = parse_one(SRC, mirror_dir / MIRROR)
    assert (t.vintage, t.unit) == ("2024-03-20", "TX")  # from the sheet name `Statewide List (03.20.2024)`
    assert t.frame.drop("source_file").equals(etpl.frame.drop("source_file"))


def test_recognize_and_remotes(shared_data: Path, mirror_dir: Path, tmp_path: Path) -> None:
    assert owner(shared_data / XLSX) == "etpl" and owner(mirror_dir / MIRROR) == "etpl"
    renamed = tmp_path / "twc.xlsx"  # the sheet name tells
    renamed.write_bytes((shared_data / XLSX).read_bytes())
    assert owner(renamed) == "etpl"
    assert [(r.url, r.raw_name) for r in SRC.remotes(IngestOptions())] == [(URL, "statewide-eligible-training-program-list-twc.xlsx")]
    assert URL == "https://" + MIRROR


def test_ingest_from_mirror_folder_and_loopback_http(tmp_path: Path, mirror_dir: Path) -> None:
    proc = run_cli("ingest", "etpl", "--mirror", str(mirror_dir), data_dir=tmp_path / "a")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Store(tmp_path / "a").scan("etpl_programs", "2024-03-20").select(pl.len()).collect().item() == 6245
    with serve(mirror_dir) as srv:
        proc = run_cli("ingest", "etpl", "--mirror", base_url(srv), data_dir=tmp_path / "b")
        assert proc.returncode == 0, proc.stdout + proc.stderr
    entry = Store(tmp_path / "b").entry("etpl_programs", "2024-03-20")
    assert entry is not None and entry.inputs["TX"]["upstream_url"] == URL and entry.inputs["TX"]["etag"]


# -- hand-made workbooks in TWC's layout -------------------------------------------------------------
HEADER = ["Provider ID", "Campus ID", "Program ID", "TWIST Provider ID", "TWIST Program ID", "Program Status", "ProviderName",
          "Provider Description", "Institution Type", "Financial Aid Contact", "Financial Aid Phone", "Financial Aid Email",
          "Campus Name", "Campus Address", "Campus Address (optional)", "Campus City", "Campus State", "Campus Zip Code",
          "Campus County", "Information: Public Transit", "Information: Onsite Childcare", "Information: Flexible Hours",
          "Program Name", "Instructional Program (CIP) Code", "Program Description", "Pell Eligible", "Academic PreRequisites",
          "Program URL", "Program Outcome", "Associted Credential Name", "Length: Contact Hours", "Length: Weeks", "Delivery Method",
          "Occupation Code (ONET 1)", "Occupation Code (ONET 2)", "Occupation Code (ONET 3)", "Required Cost: Tuition & Fees",
          "(Description) Required Cost: Tuition & Fees", "Required Cost: Books & Supplies",
          "(Description) Required Cost: Books & Supplies", "Optional Cost", "(Description) Optional Cost",
          "(Out Of District) Cost: Tuition & Fees", "(Out Of District) Cost Description: Tuition & Fees", "Number Of Apprentices",
          "Program ETPL Start Date", "Program ETPL Last Update "]


def _row(program: int, **over: object) -> list[object]:
    base: dict[str, object] = {
        "Provider ID": 10001, "Campus ID": 20001, "Program ID": program, "TWIST Provider ID": 70001, "TWIST Program ID": 100000 + program,
        "Program Status": "Approved", "ProviderName": "Example Truck Driving School", "Institution Type": "Private for-profit",
        "Campus Name": "Main", "Campus Address": "1 Main St", "Campus City": "Waco", "Campus State": "TX", "Campus Zip Code": "76701",
        "Campus County": "Mclennan", "Program Name": "CDL Class A", "Instructional Program (CIP) Code": "490205",
        "Academic PreRequisites": "None", "Program Outcome": "Government license", "Length: Contact Hours": "160",
        "Length: Weeks": "4", "Delivery Method": "In-person", "Occupation Code (ONET 1)": "53303200",
        "Required Cost: Tuition & Fees": "4500", "Required Cost: Books & Supplies": "0", "Optional Cost": "0",
        "Number Of Apprentices": "0", "Program ETPL Start Date": "March 12, 2099 4:50 PM", "Program ETPL Last Update ": "March 12, 2099 4:50 PM",
    }
    base.update(over)
    return [base.get(h) for h in HEADER]


def _book(path: Path, rows: list[list[object]], header: list[str] = HEADER, sheet: str = "Statewide List (03.20.2099)") -> Path:
    return write_xlsx(path, {sheet: [header, *rows]})


def test_hand_made_layout(tmp_path: Path) -> None:
    rows = [_row(1), _row(2, **{"Institution Type": "National Apprenticeship", "Number Of Apprentices": "12",
                                "Instructional Program (CIP) Code": "10605 ", "Occupation Code (ONET 1)": "45209100",
                                "Length: Weeks": "ERROR"})]
    [t] = parse_one(SRC, _book(tmp_path / "statewide-eligible-training-program-list-twc.xlsx", rows))
    f = t.frame
    assert (t.vintage, f.height) == ("2099-03-20", 2)
    assert f["cipcode"].to_list() == ["49.0205", "01.0605"] and f["soc_code_1"].to_list() == ["53-3032", "45-2091"]
    assert f["apprenticeship"].to_list() == [False, True] and f["apprentices"].to_list() == [0, 12]
    assert f["weeks"].to_list() == [4, None] and "'Length: Weeks' = ERROR" in t.notes[0]
    assert f["campus_county_key"].to_list() == ["mclennan", "mclennan"]


BAD = {
    "renamed county": ({"header": [h if h != "Campus County" else "County" for h in HEADER]}, SchemaDriftError,
                       "Campus County not found"),
    "bad cip": ({"over": {"Instructional Program (CIP) Code": "49.02x"}}, SourceFormatError, "not 6-digit CIP codes, e.g. '49.02x'"),
    "bad onet": ({"over": {"Occupation Code (ONET 2)": "5330320"}}, SourceFormatError,
                 "'Occupation Code (ONET 2)' has 1 value(s) that are not 8-digit O*NET codes"),
    "unreadable apprentices": ({"over": {"Number Of Apprentices": "many"}}, SourceFormatError,
                               "'Number Of Apprentices' has 1 value(s) that are not numbers, e.g. 'many'"),
    "negative cost": ({"over": {"Required Cost: Tuition & Fees": "-5"}}, SourceFormatError, "negative length, cost"),
    "bad date": ({"over": {"Program ETPL Start Date": "someday"}}, SourceFormatError, "not dates like"),
    "conflicting duplicate": ({"extra": _row(1, **{"Required Cost: Tuition & Fees": "4600"})}, SourceFormatError,
                              "appear more than once with different details"),
    "no date anywhere": ({"sheet": "Statewide List", "name": "twc-etpl.xlsx"}, SourceFormatError, "list date"),
    "no programs": ({"rows": []}, SourceFormatError, "no programs"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_workbooks(case: str, tmp_path: Path) -> None:
    spec, exc, needle = BAD[case]
    rows = spec.get("rows", [_row(1, **spec.get("over", {})), *([spec["extra"]] if "extra" in spec else [])])
    p = _book(tmp_path / spec.get("name", "statewide-eligible-training-program-list-twc.xlsx"), rows,
              spec.get("header", HEADER), spec.get("sheet", "Statewide List (03.20.2099)"))
    with pytest.raises(exc, match=re.escape(needle)) as e:
        SRC.parse(p, str(p))
    assert str(p) in str(e.value)


def test_exact_duplicate_dropped_empty_and_html(tmp_path: Path) -> None:
    [t] = SRC.parse(p := _book(tmp_path / "etpl.xlsx", [_row(1), _row(1)]), str(p))
    assert t.frame.height == 1 and "1 exact duplicate" in t.notes[0]
    for body, needle in ((b"", "empty"), (b"<!DOCTYPE html><html><body>Page not found</body></html>", "HTML page")):
        q = tmp_path / "statewide-eligible-training-program-list-twc.xlsx"
        q.write_bytes(body)
        assert owner(q) == "etpl"  # the name claims it: reported, not skipped
        with pytest.raises(SourceFormatError, match=needle):
            SRC.parse(q, str(q))


def test_bad_file_through_the_cli_leaves_the_store_intact(ingested: Path, tmp_path: Path) -> None:
    data = copy_data(ingested, tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    _book(bad / "statewide-eligible-training-program-list-twc_2024-03-20.xlsx", [_row(1)],
          [h if h != "Number Of Apprentices" else "Apprentices" for h in HEADER], "Statewide List (03.20.2024)")
    (bad / "etpl_2024.xlsx").write_bytes(b"<html><body>Access Denied</body></html>")
    err = assert_ingest_refused(data, bad, "statewide-eligible-training-program-list-twc_2024-03-20.xlsx: required column(s) "
                                           "Number Of Apprentices not found", "etpl_2024.xlsx: the file is an HTML page")
    assert err.count("error:") == 2

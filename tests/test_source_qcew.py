"""QCEW source: the 30 real Central-Ohio area slices in ../shared (MANIFEST-substate entry 1), the
mirror over a folder and loopback HTTP, the quoted official layout, and bad files and options."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import read_csv_text
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable
from gapkit.ingestion.sources.geo import Geo
from gapkit.ingestion.sources.qcew import SCHEMAS, Qcew
from gapkit.store import Store
from tests.conftest import FIXTURES, assert_clean_error, run_cli
from tests.faultkit import body
from tests.httpserver import base_url, serve
from tests.substate_support import (
    assert_ingest_refused,
    copy_data,
    digests,
    manifest_text,
    number,
    owner,
    parse_one,
)

SRC = Qcew()
DIR = "substate/qcew_central_ohio"
MIRROR = "data.bls.gov/cew/data/api"
FIXTURE = FIXTURES / "qcew" / "2099-a-39049.csv"
ROW = re.compile(r"^\| `(morpc-qcew-(\d{4})-a-(\d{5})\.csv)` \| [^|]+ \| ([\d,]+) \| ([\d,]+) \| (\d+) / (\d+) \|", re.M)


@pytest.fixture(scope="module")
def published(shared_data: Path) -> dict[tuple[str, str], dict[str, int | str]]:
    """The manifest's per-file table: rows, private (own 5, agglvl 71) employment, NAICS-3 rows / suppressed."""
    rows = {(m[2], m[3]): {"file": m[1], "rows": number(m[4]), "private": number(m[5]), "n3": int(m[6]), "n3_suppressed": int(m[7])}
            for m in ROW.finditer(manifest_text(shared_data))}
    assert len(rows) == 30
    return rows


@pytest.fixture(scope="module")
def tables(shared_data: Path, published: dict) -> dict[tuple[str, str], ParsedTable]:
    out = {}
    for key, rec in published.items():
        [t] = parse_one(SRC, shared_data / DIR / str(rec["file"]))
        out[key] = t
    return out


@pytest.fixture(scope="module")
def columbus(shared_data: Path) -> list[str]:
    """CBSA 18140's counties from the CBSA delineation file, checked against the manifest's list."""
    [t] = Geo().parse(shared_data / "substate/cbsa/list1_2023.xlsx", "list1")
    counties = sorted(t.frame.filter(pl.col("cbsa_code") == "18140")["county_fips"].to_list())
    m = re.search(r"CBSA 18140; its 10 counties per `cbsa/list1_2023\.xlsx`:\s*([\d,\s]+)\)", manifest_text(shared_data))
    assert m is not None
    assert counties == sorted(re.findall(r"\d{5}", m.group(1))) and len(counties) == 10
    return counties


def _private(f: pl.DataFrame) -> float:
    return f.filter((pl.col("agglvl_code") == "71") & (pl.col("own_code") == "5"))["employment"].item()


def test_each_file_matches_the_manifest(tables: dict[tuple[str, str], ParsedTable], published: dict) -> None:
    for (year, fips), t in tables.items():
        rec, f = published[(year, fips)], t.frame
        assert (t.dataset, t.vintage, t.unit) == ("qcew_area", year, fips)
        assert f.schema == pl.from_arrow(SCHEMAS["qcew_area"].empty_table()).schema
        assert f.height == rec["rows"], rec["file"]
        assert _private(f) == rec["private"], rec["file"]
        n3 = f.filter((pl.col("agglvl_code") == "75") & (pl.col("own_code") == "5"))
        assert (n3.height, int(n3["suppressed"].sum())) == (rec["n3"], rec["n3_suppressed"]), rec["file"]
        assert (f["area_fips"] == fips).all() and (f["area_type"] == "county").all() and (f["year"] == int(year)).all()


def test_franklin_2023_published_totals(tables: dict[tuple[str, str], ParsedTable]) -> None:
    f = tables[("2023", "39049")].frame
    assert _private(f) == 646_150  # MANIFEST-substate: Franklin County 2023 private employment
    assert f.filter(pl.col("agglvl_code") == "70")["employment"].item() == 772_233  # total, all ownerships


def test_county_totals_equal_their_parts(tables: dict[tuple[str, str], ParsedTable]) -> None:
    """Level 70 = the sum of the ownerships (71); private 71 = its supersectors (73); private sectors (74)
    sum to at most the total, the gap being the suppressed sectors. Annual averages are rounded, so a
    sum of n parts may be off by n/2."""
    for (year, fips), t in tables.items():
        f = t.frame
        total = f.filter(pl.col("agglvl_code") == "70")["employment"].item()
        owns = f.filter(pl.col("agglvl_code") == "71")
        assert not owns["suppressed"].any() and abs(owns["employment"].sum() - total) <= owns.height / 2, (year, fips)
        private = _private(f)
        supers = f.filter((pl.col("agglvl_code") == "73") & (pl.col("own_code") == "5"))
        assert not supers["suppressed"].any() and abs(supers["employment"].sum() - private) <= supers.height / 2, (year, fips)
        sectors = f.filter((pl.col("agglvl_code") == "74") & (pl.col("own_code") == "5"))
        disclosed = sectors["employment"].sum()  # nulls (suppressed) are not summed as zeros
        if sectors["suppressed"].any():
            assert disclosed < private
        else:
            assert abs(disclosed - private) <= sectors.height / 2, (year, fips)
        assert t.notes == []  # no total disagrees with its parts beyond rounding


def test_columbus_metro_is_the_sum_of_its_10_counties(columbus: list[str], tables: dict[tuple[str, str], ParsedTable],
                                                      published: dict, ingested: Path) -> None:
    store = Store(ingested)
    for year in ("2022", "2023"):
        counties_sum = sum(_private(tables[(year, c)].frame) for c in columbus)
        assert counties_sum == sum(published[(year, c)]["private"] for c in columbus)
        metro = (store.scan("qcew_area", year)
                 .filter(pl.col("area_fips").is_in(columbus) & (pl.col("agglvl_code") == "71") & (pl.col("own_code") == "5"))
                 .select(pl.col("employment").sum(), pl.col("area_fips").n_unique()).collect().row(0))
        assert metro == (counties_sum, 10)
    # the other five MORPC counties are not in the metro
    assert {f for _, f in tables} - set(columbus) == {"39047", "39083", "39101", "39141", "39091"}


def test_a_suppressed_cell_never_reads_as_zero(tables: dict[tuple[str, str], ParsedTable], shared_data: Path,
                                               published: dict) -> None:
    for key, t in tables.items():
        f = t.frame
        raw = read_csv_text(shared_data / DIR / str(published[key]["file"]), origin="x")
        n_raw = raw.filter(pl.col("disclosure_code") == "N").height
        sup = f.filter(pl.col("suppressed"))
        assert sup.height == n_raw > 0
        # BLS prints 0 for these cells; they are null here, with the flag, and establishments are kept
        assert raw.filter(pl.col("disclosure_code") == "N")["annual_avg_emplvl"].unique().to_list() == ["0"]
        for col in ("employment", "total_wages", "avg_weekly_wage", "avg_annual_pay", "taxable_wages", "contributions"):
            assert sup[col].null_count() == sup.height, col
        assert sup["establishments"].null_count() == 0
        assert f.filter(~pl.col("suppressed"))["employment"].null_count() == 0
        assert sup.filter(pl.col("disclosure_code") != "N").height == 0


def test_quoted_official_layout_parses_to_the_same_values(shared_data: Path, tmp_path: Path) -> None:
    """BLS's own bytes quote the code columns, write `1.00` and end lines with CRLF; the shared copies were
    re-serialized by pandas. Rebuilt in the official layout, a real file reads to the same table."""
    src = shared_data / DIR / "morpc-qcew-2023-a-39049.csv"
    lines = src.read_text().splitlines()
    header = lines[0].split(",")
    quoted = {"area_fips", "own_code", "industry_code", "agglvl_code", "size_code", "year", "qtr", "disclosure_code",
              "lq_disclosure_code", "oty_disclosure_code"}
    two_dec = {c for c in header if c.startswith("lq_") or c.endswith("pct_chg")} - quoted

    def cell(col: str, v: str) -> str:
        if col in quoted:
            return f'"{v}"'
        return f"{float(v):.2f}" if col in two_dec else v

    out = [",".join(f'"{c}"' for c in header)] + [",".join(cell(c, v) for c, v in zip(header, ln.split(","), strict=True))
                                                     for ln in lines[1:]]
    official = tmp_path / "2023" / "a" / "area" / "39049.csv"
    official.parent.mkdir(parents=True)
    official.write_bytes(("\r\n".join(out) + "\r\n").encode())
    assert b"\"39049\",\"5\",\"1111\",\"76\"" in official.read_bytes() and b",1.0," not in official.read_bytes()
    assert owner(official) == "qcew"
    [a] = SRC.parse(official, "x")
    [b] = SRC.parse(src, "y")
    assert (a.vintage, a.unit) == (b.vintage, b.unit) == ("2023", "39049")
    assert a.frame.drop("source_file").equals(b.frame.drop("source_file"))


def test_hand_made_official_fixture() -> None:
    [t] = parse_one(SRC, FIXTURE)
    f = t.frame
    assert (t.vintage, t.unit, f.height) == ("2099", "39049", 19)
    wholesale = f.filter(pl.col("industry_code") == "42").row(0, named=True)
    assert wholesale["suppressed"] and wholesale["employment"] is None and wholesale["establishments"] == 3
    assert wholesale["lq_employment"] is None and wholesale["oty_employment_chg"] is None
    assert f.filter(pl.col("industry_code") == "484")["lq_employment"].item() == 1.25


def _line(text: str, needle: str) -> str:
    return next(ln for ln in text.split("\r\n") if needle in ln)


def _edit(tmp_path: Path, name: str, edit) -> Path:  # noqa: ANN001
    p = tmp_path / name
    p.write_text(edit(FIXTURE.read_bytes().decode()), newline="")
    return p


BAD = {
    "empty": (lambda s: "", "empty"),
    "header only": (lambda s: s.split("\r\n", 1)[0] + "\r\n", "no data rows"),
    "html": (lambda s: "<!DOCTYPE html><html><body>Request Rejected</body></html>", "HTML page"),
    "unreadable number": (lambda s: s.replace(",100,1000,52000000", ",100,1000x,52000000", 1),
                          "'annual_avg_emplvl' has 1 value(s) that are not numbers, e.g. '1000x'"),
    "unknown disclosure code": (lambda s: s.replace('"A","",', '"A","D",', 1), "other than empty or N"),
    "quarterly slice": (lambda s: s.replace('"A"', '"1"'), "quarterly data"),
    "two areas": (lambda s: s.replace('"39049","5","484"', '"39041","5","484"'), "must hold one value"),
    "conflicting duplicate": (lambda s: s + _line(s, '"484"').replace(",9,60,", ",9,61,") + "\r\n", "different figures"),
    "bad industry code": (lambda s: s.replace('"484"', '"Truck"'), "industry code"),
    "empty employment on a disclosed row": (lambda s: s.replace(",9,60,", ",9,,"), "is empty on 1 row(s)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files(case: str, tmp_path: Path) -> None:
    edit, needle = BAD[case]
    p = _edit(tmp_path, FIXTURE.name, edit)
    with pytest.raises(SourceFormatError, match=re.escape(needle)) as e:
        SRC.parse(p, str(p))
    assert str(p) in str(e.value)


def test_renamed_column_names_the_column(tmp_path: Path) -> None:
    p = _edit(tmp_path, FIXTURE.name, lambda s: s.replace('"annual_avg_emplvl"', '"annual_avg_employment"', 1))
    with pytest.raises(SchemaDriftError, match="annual_avg_emplvl not found") as e:
        SRC.parse(p, str(p))
    assert str(p) in str(e.value) and "annual_avg_employment" in str(e.value)


def test_exact_duplicate_row_dropped_and_reported(tmp_path: Path) -> None:
    p = _edit(tmp_path, FIXTURE.name, lambda s: s + _line(s, '"484"') + "\r\n")
    [t] = SRC.parse(p, str(p))
    assert t.frame.height == 19 and "1 exact duplicate" in t.notes[0]


def test_file_named_for_another_county_or_year_is_refused(tmp_path: Path) -> None:
    for name, needle in (("2099-a-39041.csv", "says area 39041 but the file holds area 39049"),
                         ("2098-a-39049.csv", "says 2098 but the file holds 2099")):
        p = _edit(tmp_path, name, lambda s: s)
        with pytest.raises(SourceFormatError, match=needle):
            SRC.parse(p, str(p))
    (tmp_path / "2098/a/area").mkdir(parents=True)  # the API's own path (and data/raw/qcew/): <year>/a/area/<area>.csv
    p = _edit(tmp_path / "2098/a/area", "39049.csv", lambda s: s)
    with pytest.raises(SourceFormatError, match="says 2098 but the file holds 2099"):
        SRC.parse(p, str(p))


def test_recognized_by_name_and_content(shared_data: Path, mirror_dir: Path, tmp_path: Path) -> None:
    for p in [*(shared_data / DIR).glob("*.csv"), *(mirror_dir / MIRROR).rglob("*.csv"), FIXTURE]:
        assert owner(p) == "qcew", p
    generic = tmp_path / "slice.csv"  # any name: the header tells
    generic.write_bytes(FIXTURE.read_bytes())
    assert owner(generic) == "qcew"
    damaged = tmp_path / "morpc-qcew-2023-a-39049.csv"  # the name claims it: reported, not skipped
    damaged.write_bytes(b"")
    assert owner(damaged) == "qcew"
    for p in [shared_data / "cip/CIPCode2020.csv", shared_data / "substate/wda_tx/tx_county_wda_crosswalk.csv",
              shared_data / "substate/oews_msa/MSA_M2025_dl_OH_derived.csv"]:
        assert owner(p) != "qcew", p


def test_remotes() -> None:
    rs = SRC.remotes(IngestOptions(counties=["39049", "39041"], years=[2022, 2023]))
    assert [r.url for r in rs] == [f"https://data.bls.gov/cew/data/api/{y}/a/area/{c}.csv"
                                   for y in (2022, 2023) for c in ("39049", "39041")]
    assert rs[0].raw_name == "2022/a/area/39049.csv" and all(r.required for r in rs)


def test_cli_counties_option_validated(tmp_path: Path) -> None:
    for value, needle in (("39049,3904", "'3904' is not a county FIPS code"), ("99049", "'99' is not a state FIPS code"),
                          ("39000", "a whole state, not a county"), ("franklin", "'franklin' is not a county FIPS code")):
        proc = run_cli("ingest", "qcew", "--counties", value, "--mirror", str(tmp_path), data_dir=tmp_path / "d")
        assert_clean_error(proc, "--counties", needle)
        assert proc.returncode == 2
    proc = run_cli("ingest", "qcew", "--offline", "--mirror", str(tmp_path), data_dir=tmp_path / "d")
    assert_clean_error(proc, "--counties 39049,39041")
    assert proc.returncode == 2 and not (tmp_path / "d" / "processed").exists()


def test_ingest_from_mirror_folder_and_loopback_http(tmp_path: Path, mirror_dir: Path,
                                                     tables: dict[tuple[str, str], ParsedTable]) -> None:
    args = ("ingest", "qcew", "--counties", "39049,39041", "--years", "2022-2023")
    folder = tmp_path / "folder"
    proc = run_cli(*args, "--mirror", str(mirror_dir), data_dir=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for year in ("2022", "2023"):
        got = Store(folder).scan("qcew_area", year).collect()
        assert sorted(got["area_fips"].unique()) == ["39041", "39049"]
        want = pl.concat([tables[(year, c)].frame for c in ("39049", "39041")])
        cols = [c for c in want.columns if c != "source_file"]
        assert got.select(cols).sort(["area_fips", "own_code", "agglvl_code", "industry_code"]).equals(
            want.select(cols).sort(["area_fips", "own_code", "agglvl_code", "industry_code"]))
    entry = Store(folder).entry("qcew_area", "2023")
    assert entry is not None and set(entry.inputs) == {"39049", "39041"}
    assert entry.inputs["39049"]["upstream_url"] == "https://data.bls.gov/cew/data/api/2023/a/area/39049.csv"
    http = tmp_path / "http"
    with serve(mirror_dir) as srv:
        url = base_url(srv)
        proc = run_cli(*args, "--mirror", url, data_dir=http)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (http / "raw/qcew/2023/a/area/39049.csv").read_bytes() == (mirror_dir / MIRROR / "2023/a/area/39049.csv").read_bytes()
        again = run_cli(*args, "--mirror", url, data_dir=http)
        assert again.returncode == 0 and "parsed" not in again.stdout.split("Summary:")[-1]
        # a county with no slice in the mirror: the server's 404 is one clear error
        miss = run_cli("ingest", "qcew", "--counties", "39001", "--years", "2023", "--mirror", url, data_dir=http)
        assert_clean_error(miss, "39001.csv")
    assert Store(http).scan("qcew_area", "2023").select(pl.col("area_fips").n_unique()).collect().item() == 2


def test_html_page_served_instead_leaves_the_store_intact(tmp_path: Path, mirror_dir: Path) -> None:
    data = tmp_path / "d"
    args = ("ingest", "qcew", "--counties", "39049", "--years", "2023")
    with serve(mirror_dir) as srv:
        assert run_cli(*args, "--mirror", base_url(srv), data_dir=data).returncode == 0
    before = digests(data)
    page = b"<!DOCTYPE html><html><head><title>Access Denied</title></head><body>Blocked</body></html>"
    with serve(mirror_dir, {f"/{MIRROR}/2023/a/area/39049.csv": body(page)}) as srv:
        proc = run_cli(*args, "--mirror", base_url(srv), "--force", data_dir=data)
    assert_clean_error(proc, "39049.csv", "HTML page")
    assert digests(data) == before


def test_bad_files_through_the_cli_leave_the_store_intact(ingested: Path, tmp_path: Path) -> None:
    data = copy_data(ingested, tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "morpc-qcew-2023-a-39049.csv").write_bytes(b"")
    (bad / "morpc-qcew-2022-a-39049.csv").write_text(FIXTURE.read_text().replace('"annual_avg_emplvl"', '"emplvl"'))
    (bad / "morpc-qcew-2023-a-39041.csv").write_text(FIXTURE.read_text().replace('"39049"', '"39041"').replace('"2099"', '"2023"')
                                                     .replace(",9,60,", ",9,6O,"))
    err = assert_ingest_refused(data, bad, "morpc-qcew-2023-a-39049.csv: the file is empty",
                                "morpc-qcew-2022-a-39049.csv: required column(s) annual_avg_emplvl not found",
                                "morpc-qcew-2023-a-39041.csv: column 'annual_avg_emplvl' has 1 value(s) that are not numbers, e.g. '6O'")
    assert err.count("error:") == 3

"""IPEDS source: completions (C<year>_A) and institution directory (HD<year>) on the real files in
../shared (read in place) and on hand-made / corrupted copies built in tmp_path."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.sources.base import IngestOptions
from gapkit.ingestion.sources.ipeds import SCHEMAS, Ipeds

FIX = Path(__file__).resolve().parent / "fixtures" / "ipeds"
YEARS = (2021, 2022, 2023, 2024)
# MANIFEST-nces.md section 8: first-major rows and CIP-99 grand totals of each year
ROWS = {2021: 274_932, 2022: 279_506, 2023: 282_322, 2024: 286_979}
TOTALS = {2021: 5_315_767, 2022: 5_310_086, 2023: 5_297_774, 2024: 5_459_862}
CIP99_ROWS = {2021: 19_146, 2022: 19_274, 2023: 19_308, 2024: 19_384}
UNITIDS = {2021: 6_089, 2022: 6_042, 2023: 5_960, 2024: 5_869}
HD_ROWS = {2021: 6_289, 2022: 6_256, 2023: 6_163, 2024: 6_072}  # MANIFEST-nces.md section 6
SRC = Ipeds()


def parse_one(path: Path):
    [table] = SRC.parse(path, str(path))
    return table


def schema_of(dataset: str) -> pl.Schema:
    return pl.Schema(SCHEMAS[dataset])


@pytest.fixture(scope="module")
def cdir(mirror_dir: Path) -> Path:
    return mirror_dir / "nces.ed.gov/ipeds/datacenter/data"


@pytest.fixture(scope="module")
def completions(cdir: Path) -> dict[int, pl.DataFrame]:
    return {y: parse_one(cdir / f"C{y}_A.zip").frame for y in YEARS}


# --- remotes / recognize ---------------------------------------------------------------------------

def test_remotes_default_and_chosen_years() -> None:
    urls = [r.url for r in SRC.remotes(IngestOptions())]
    assert len(urls) == 8 and "https://nces.ed.gov/ipeds/datacenter/data/C2021_A.zip" in urls
    assert "https://nces.ed.gov/ipeds/datacenter/data/HD2024.zip" in urls
    assert [r.raw_name for r in SRC.remotes(IngestOptions(years=[2019]))] == ["C2019_A.zip", "HD2019.zip"]


def test_recognizes_agency_files_not_derived_or_dictionary(shared_data: Path, cdir: Path) -> None:
    def rec(p: Path) -> bool:
        return SRC.recognize(p, p.read_bytes()[:512])

    for y in YEARS:
        assert rec(cdir / f"C{y}_A.zip") and rec(cdir / f"HD{y}.zip") and rec(shared_data / f"ipeds/hd{y}.csv")
    assert rec(FIX / "c2099_a.csv") and rec(FIX / "hd2099.csv")
    for p in (shared_data / "ipeds/derived").iterdir():  # not an agency layout
        assert not rec(p), p
    for p in (shared_data / "ipeds/dictionary").iterdir():
        assert not rec(p), p
    for p in (shared_data / "crosswalk/CIP2020_SOC2018_Crosswalk.xlsx", shared_data / "cip/CIPCode2020.csv"):
        assert not rec(p)


# --- completions on the real (mirror) files --------------------------------------------------------

@pytest.mark.parametrize("year", YEARS)
def test_completions_real_totals_and_rows(completions: dict[int, pl.DataFrame], year: int) -> None:
    f = completions[year]
    assert f.schema == schema_of("ipeds_completions")
    assert f.height == ROWS[year]
    assert f["unitid"].n_unique() == UNITIDS[year]
    assert f.filter(pl.col("cip_level") == 0).height == CIP99_ROWS[year]
    six = f.filter(pl.col("cip_level") == 6)["completions"].sum()
    tot = f.filter(pl.col("cip_level") == 0)["completions"].sum()
    assert six == tot == TOTALS[year]
    # every institution x award level: 6-digit rows add up to the 99 row
    per = (f.filter(pl.col("cip_level") == 6).group_by("unitid", "awlevel").agg(pl.col("completions").sum().alias("s"))
           .join(f.filter(pl.col("cip_level") == 0).select("unitid", "awlevel", "completions"), on=["unitid", "awlevel"], how="full"))
    assert per.filter(pl.col("s").fill_null(0) != pl.col("completions").fill_null(0)).height == 0
    assert (f["year"] == year).all() and f["source_file"].unique().to_list() == [f"C{year}_A.zip:c{year}_a.csv"]
    assert f["cipcode"].str.contains(r"^(99|\d{2}\.\d{4})$").all()
    assert set(f["awlevel"].unique()) <= {1, 2, 3, 4, 5, 6, 7, 8, 17, 18, 19, 20, 21}
    assert (f["completions_men"] + f["completions_women"] == f["completions"]).all()
    assert f.select(pl.struct("unitid", "cipcode", "awlevel").is_unique().all()).item()


def test_completions_unitids_in_same_year_directory(completions: dict[int, pl.DataFrame], cdir: Path, shared_data: Path) -> None:
    for y in YEARS:
        ids = set(completions[y]["unitid"].unique())
        for hd in (cdir / f"HD{y}.zip", shared_data / f"ipeds/hd{y}.csv"):
            assert ids <= set(parse_one(hd).frame["unitid"]), (y, hd)


def test_parse_vintage_unit_and_speed(cdir: Path) -> None:
    t0 = time.perf_counter()
    tables = [parse_one(cdir / f"C{y}_A.zip") for y in YEARS]
    elapsed = time.perf_counter() - t0
    assert [(t.dataset, t.vintage, t.unit) for t in tables] == [("ipeds_completions", str(y), "C") for y in YEARS]
    assert elapsed < 10, f"four completions zips took {elapsed:.1f}s"


# --- directory on the real files -------------------------------------------------------------------

@pytest.mark.parametrize("year", YEARS)
def test_directory_real_csv_and_zip(shared_data: Path, cdir: Path, year: int) -> None:
    a = parse_one(shared_data / f"ipeds/hd{year}.csv")
    b = parse_one(cdir / f"HD{year}.zip")
    assert (a.dataset, a.vintage, a.unit) == ("ipeds_institutions", str(year), "HD")
    for f in (a.frame, b.frame):
        assert f.schema == schema_of("ipeds_institutions")
        assert f.height == HD_ROWS[year] and f["unitid"].is_unique().all()
        assert f["county_fips"].drop_nulls().str.contains(r"^\d{5}$").all()
        assert f["state_fips"].str.contains(r"^\d{2}$").all()
        assert f["state"].n_unique() == 59 and f["name"].null_count() == 0
        assert not f["name"].str.contains(r"^\s|\s$").any()  # padding stripped
        assert not f["cbsa"].drop_nulls().is_in(["-2"]).any() and f["cbsa_type"].drop_nulls().is_in([1, 2]).all()
        assert f["sector"].null_count() == 0 and f["latitude"].drop_nulls().is_between(-90, 90).all()
    assert a.frame.drop("source_file").equals(b.frame.drop("source_file"))  # the zip holds the same CSV
    assert b.frame["source_file"][0] == f"HD{year}.zip:hd{year}.csv" and a.frame["source_file"][0] == f"hd{year}.csv"
    # COUNTYCD lost its leading zero upstream: Autauga County, AL (01001) comes back padded
    al = a.frame.filter(pl.col("state") == "AL")["county_fips"].drop_nulls()
    assert al.str.starts_with("01").all() and al.len() > 0


def test_directory_cp1252_and_bom_years_decode(shared_data: Path) -> None:
    names = {y: parse_one(shared_data / f"ipeds/hd{y}.csv").frame["name"] for y in (2022, 2023)}
    for y, n in names.items():  # no replacement characters from a wrong decode (cp1252 2022, UTF-8+BOM 2023)
        assert not n.str.contains("\ufffd").any(), y
        assert n.str.contains(r"[À-ÿ]").any(), y  # accented names decoded


# --- hand-made agency layout -----------------------------------------------------------------------

def test_agency_layout_fixture_by_name_and_first_majors() -> None:
    t = parse_one(FIX / "c2099_a.csv")
    f = t.frame
    assert t.vintage == "2099" and f.schema == schema_of("ipeds_completions")
    assert f["source_file"].unique().to_list() == ["c2099_a.csv"]
    # X-flag columns (XCTOTALT, "R") never taken for counts; MAJORNUM 2 rows dropped
    got = {r["cipcode"]: (r["cip_level"], r["completions"], r["completions_men"]) for r in f.iter_rows(named=True)}
    assert got == {"51.3800": (6, 10, 2), "01.0101": (6, 5, 3), "51": (2, 15, 5), "99": (0, 15, 5)}


def test_agency_layout_rv_member_preferred_in_zip(tmp_path: Path) -> None:
    good = (FIX / "c2099_a.csv").read_bytes()
    z = tmp_path / "C2099_A.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("c2099_a.csv", good.replace(b"100001,1.0101,1,3,R,5", b"100001,1.0101,1,3,R,6"))  # provisional: off by one
        zf.writestr("c2099_a_rv.csv", good)
    f = parse_one(z).frame
    assert f["source_file"].unique().to_list() == ["C2099_A.zip:c2099_a_rv.csv"]
    assert f.filter(pl.col("cipcode") == "01.0101")["completions"].item() == 5
    # the provisional member alone fails the 99-total check: proof the revised one was read above
    (tmp_path / "provisional").mkdir()
    z2 = tmp_path / "provisional" / "C2099_A.zip"
    with zipfile.ZipFile(z2, "w") as zf:
        zf.writestr("c2099_a.csv", good.replace(b"100001,1.0101,1,3,R,5", b"100001,1.0101,1,3,R,6"))
    with pytest.raises(SourceFormatError, match=r"C2099_A\.zip.*do not add up"):
        parse_one(z2)


def _agency_csv(mirror_member: bytes) -> bytes:
    """Rebuild the full agency layout (X flag before every count, race columns, second majors,
    UTF-8 BOM, CRLF) around a reduced mirror member."""
    base = pl.read_csv(mirror_member, infer_schema=False)
    counts = ["CTOTALT", "CTOTALM", "CTOTALW"] + [f"C{r}{s}" for r in ("AIAN", "ASIA", "BKAA", "HISP", "NHPI", "WHIT", "2MOR", "UNKN", "NRAL") for s in "TMW"]
    cols = [pl.col(c) for c in ("UNITID", "CIPCODE", "MAJORNUM", "AWLEVEL")]
    for c in counts:
        cols += [pl.lit("R").alias("X" + c), (pl.col(c) if c in base.columns else pl.lit("0")).alias(c)]
    wide = base.select(cols)
    second = wide.filter(pl.col("CIPCODE") != "99").head(5000).with_columns(pl.lit("2").alias("MAJORNUM"), pl.lit("7").alias("CTOTALT"))
    second_tot = second.group_by("UNITID", "AWLEVEL").agg(pl.col("CTOTALT").cast(pl.Int64).sum().cast(pl.String))
    second_tot = second.unique(["UNITID", "AWLEVEL"]).drop("CTOTALT").join(second_tot, on=["UNITID", "AWLEVEL"]).with_columns(pl.lit("99").alias("CIPCODE"))
    wide = pl.concat([wide, second, second_tot.select(wide.columns)]).sort("UNITID", "MAJORNUM", "AWLEVEL")
    buf = io.BytesIO()
    wide.write_csv(buf, line_terminator="\r\n")
    return b"\xef\xbb\xbf" + buf.getvalue()


def test_full_agency_layout_matches_reduced_mirror(tmp_path: Path, cdir: Path) -> None:
    with zipfile.ZipFile(cdir / "C2023_A.zip") as zf:
        member = zf.read("c2023_a.csv")
    z = tmp_path / "C2023_A.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("c2023_a.csv", _agency_csv(member))
    got = parse_one(z).frame
    want = parse_one(cdir / "C2023_A.zip").frame
    key = ["unitid", "awlevel", "cipcode"]
    assert got.drop("source_file").sort(key).equals(want.drop("source_file").sort(key))
    assert got.filter(pl.col("cip_level") == 0)["completions"].sum() == TOTALS[2023]


# --- bad files -------------------------------------------------------------------------------------

def _fails(path: Path, *needles: str, exc: type[SourceFormatError] = SourceFormatError) -> str:
    with pytest.raises(exc) as info:
        SRC.parse(path, str(path))
    msg = str(info.value)
    assert path.name in msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_truncated_and_corrupt_zips(tmp_path: Path, cdir: Path) -> None:
    raw = (cdir / "C2024_A.zip").read_bytes()
    (tmp_path / "C2024_A.zip").write_bytes(raw[: len(raw) // 2])
    _fails(tmp_path / "C2024_A.zip", "corrupt or truncated")
    flipped = bytearray(raw)
    flipped[len(raw) // 3] ^= 0xFF  # inside the deflate stream
    (tmp_path / "HD2024.zip").write_bytes(bytes(flipped))
    with pytest.raises(SourceFormatError, match="HD2024.zip"):
        SRC.parse(tmp_path / "HD2024.zip", "x")


def test_html_empty_and_zip_slip(tmp_path: Path) -> None:
    (tmp_path / "C2022_A.zip").write_bytes(b"<!DOCTYPE html><html><body>Service unavailable</body></html>")
    _fails(tmp_path / "C2022_A.zip", "HTML page")
    (tmp_path / "HD2022.zip").write_bytes(b"")
    _fails(tmp_path / "HD2022.zip", "empty")
    with zipfile.ZipFile(tmp_path / "C2021_A.zip", "w") as zf:
        zf.writestr("../../evil/c2021_a.csv", (FIX / "c2099_a.csv").read_bytes())
    _fails(tmp_path / "C2021_A.zip", "zip-slip")
    with zipfile.ZipFile(tmp_path / "HD2021.zip", "w") as zf:
        zf.writestr("readme.txt", b"nothing here")
    _fails(tmp_path / "HD2021.zip", "no member")


def test_missing_and_renamed_columns(tmp_path: Path) -> None:
    text = (FIX / "c2099_a.csv").read_text()
    (tmp_path / "c2099_a.csv").write_text(text.replace(",CTOTALT,", ",CTOTAL_T,", 1))
    msg = _fails(tmp_path / "c2099_a.csv", "ctotalt", "XCTOTALT", exc=SchemaDriftError)
    assert "CTOTAL_T" in msg
    hd = (FIX / "hd2099.csv").read_bytes()
    (tmp_path / "hd2099.csv").write_bytes(hd.replace(b"STABBR", b"STATE", 1))
    _fails(tmp_path / "hd2099.csv", "state", exc=SchemaDriftError)


@pytest.mark.parametrize(("edit", "needle"), [
    (lambda t: t.split("\n", 1)[0] + "\n", "no rows"),
    (lambda t: t.replace("100001,1.0101,1,3,R,5", "100001,1.0101,1,3,R,x"), "unreadable"),
    (lambda t: t.replace("100001,1.0101,1,3,R,5", "100001,ab.cdef,1,3,R,5"), "unreadable"),
    (lambda t: t + "100001,01.0101,1,3,R,0,R,0,R,0,R,0\n", "more than once"),
    (lambda t: t.replace("100001,1.0101,1,3,R,5", "100001,1.0101,1,3,R,4"), "do not add up"),
    (lambda t: "\n".join(line for line in t.splitlines() if ",99,1," not in line) + "\n", "no CIPCODE 99"),
])
def test_bad_completions_rows(tmp_path: Path, edit, needle: str) -> None:
    p = tmp_path / "c2099_a.csv"
    p.write_text(edit((FIX / "c2099_a.csv").read_text()))
    _fails(p, needle)


@pytest.mark.parametrize(("edit", "needle"), [
    (lambda t: t.split(b"\n", 1)[0] + b"\n", b"no rows"),
    (lambda t: t.replace(b'" 72"', b'"PR"'), b"FIPS"),
    (lambda t: t.replace(b",39049,", b",3904900,"), b"COUNTYCD"),
    (lambda t: t.replace(b",9,3,3,", b",x,3,3,"), b"SECTOR"),
    (lambda t: t.replace(b"18.4", b"north"), b"LATITUDE"),
    (lambda t: t + t.split(b"\n", 1)[1], b"more than once"),
])
def test_bad_directory_rows(tmp_path: Path, edit, needle: bytes) -> None:
    p = tmp_path / "hd2099.csv"
    p.write_bytes(edit((FIX / "hd2099.csv").read_bytes()))
    _fails(p, needle.decode())


def test_unknown_name_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "completions.csv"
    p.write_bytes((FIX / "c2099_a.csv").read_bytes())
    with pytest.raises(SourceFormatError, match="C<year>_A or HD<year>"):
        SRC.parse(p, str(p))

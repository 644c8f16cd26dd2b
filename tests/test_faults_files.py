"""Files that are not what they claim, served through the loopback server in place of the real ones.

The bad bytes are built in memory from the real files in ../shared/mirror (truncated, edited header
text, re-encoded, re-zipped...) and never written into the repo. Failing cases assert a one-paragraph
message naming the file and the problem (the column, for schema drift), a non-zero exit, no
traceback, and raw files, Parquet and manifest byte-identical afterwards. Quirks the agencies really
publish (suppressed values, Excel-mangled CIP codes, O*NET suffixes, cp1252 text) must ingest to the
same numbers as the clean file.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from tests import faultkit as fk


@pytest.fixture(scope="session")
def good(tmp_path_factory: pytest.TempPathFactory, ingested: Path) -> Path:
    return fk.good_store(tmp_path_factory, ingested)


@pytest.fixture
def data(good: Path, tmp_path: Path) -> Path:
    return fk.copy_store(good, tmp_path)


EPX = ["bls-ep"]
IP = ["ipeds", "--years", "2024"]
WYA = ["projections", "--states", "WY"]
HTML = b"<!DOCTYPE html>\n<html><head><title>Access Denied</title></head><body>Request blocked.</body></html>"


def ep(data: Callable[[], bytes]) -> Callable[[], dict[str, fk.Fault]]:
    return lambda: {fk.EP: fk.body(data())}


def c24(data: Callable[[], bytes]) -> Callable[[], dict[str, fk.Fault]]:
    return lambda: {fk.C24: fk.body(data())}


def hd24(data: Callable[[], bytes]) -> Callable[[], dict[str, fk.Fault]]:
    return lambda: {fk.HD24: fk.body(data())}


def wy(data: Callable[[], bytes]) -> Callable[[], dict[str, fk.Fault]]:
    return lambda: {fk.WY: fk.body(data())}


def shared_strings(old: str, new: str) -> Callable[[], bytes]:
    """occupation.xlsx with one header text replaced (in xl/sharedStrings.xml)."""
    def build() -> bytes:
        def edit(b: bytes) -> bytes:
            assert old.encode() in b, old
            return b.replace(old.encode(), new.encode())
        return fk.edited_xlsx(fk.EP, "xl/sharedStrings.xml", edit)
    return build


def csv_edit(path: str, edit: Callable[[str], str]) -> Callable[[], bytes]:
    return lambda: fk.edited_zip(path, edit)


def drop_column(name: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        lines = text.splitlines()
        i = lines[0].split(",").index(name)
        return "\n".join(",".join(x for j, x in enumerate(line.split(",")) if j != i) for line in lines) + "\n"
    return edit


def excel_cip(code: str, *, ambiguous: bool) -> str:
    """What Excel's General format does to a CIP code typed as text: 51.3800 -> 51.38, 01.0101 -> 1.0101."""
    if not re.fullmatch(r"\d\d\.\d{4}", code) or (code.endswith(".0000") and not ambiguous):
        return code
    return f"{float(code):g}" if float(code) != int(float(code)) else str(int(float(code)))


def mangle_cips(ambiguous: bool) -> Callable[[str], str]:
    def edit(text: str) -> str:
        head, *rows = text.splitlines()
        out = [head]
        for r in rows:
            cells = r.split(",")
            cells[1] = excel_cip(cells[1], ambiguous=ambiguous)
            out.append(",".join(cells))
        return "\n".join(out) + "\n"
    return edit


def wy_json(edit: Callable[[list[dict[str, str]]], list[dict[str, str]]], total: int | None = None, pages: int = 1) -> Callable[[], bytes]:
    return lambda: fk.projections_json(edit(fk.wy_rows()), total, pages)


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Callable[[], bytes]:
    return lambda: fk.zip_bytes(members, method)


def half(path: str) -> Callable[[], bytes]:
    return lambda: fk.mirror_bytes(path)[: len(fk.mirror_bytes(path)) // 2]


def flipped(path: str) -> Callable[[], bytes]:
    """One byte of the compressed data changed: the archive's CRC check fails."""
    def build() -> bytes:
        b = bytearray(fk.mirror_bytes(path))
        b[5000] ^= 0xFF
        return bytes(b)
    return build


def ole_header() -> bytes:  # what a legacy .xls (or a .doc) starts with
    return bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 4000


# (id, ingest args, faults, message fragments[, extra environment])
FAILING: list[tuple[str, list[str], Callable[[], dict[str, fk.Fault]], list[str], dict[str, str] | None]] = [
    # -- workbooks (BLS occupation.xlsx) --
    ("xlsx-html-error-page", EPX, ep(lambda: HTML), ["occupation.xlsx", "HTML page"], None),
    ("xlsx-empty-file", EPX, ep(lambda: b""), ["occupation.xlsx", "empty"], None),
    ("xlsx-legacy-xls-bytes", EPX, ep(ole_header), ["occupation.xlsx", "not a zip container"], None),
    ("xlsx-truncated", EPX, ep(half(fk.EP)), ["occupation.xlsx", "truncated or corrupt"], None),
    ("xlsx-zip-not-workbook", EPX, ep(lambda: fk.zip_bytes({"occupation.csv": b"a,b\n1,2\n"})), ["occupation.xlsx"], None),
    ("xlsx-missing-sheet", EPX, ep(lambda: fk.mirror_bytes(fk.XWALK)), ["occupation.xlsx", "no sheet 'Table 1.10'"], None),
    ("xlsx-renamed-header", EPX, ep(shared_strings("Occupational openings, 2024–34 annual average",
                                                   "Job openings, 2024–34 annual average")),
     ["occupation.xlsx", "Occupational openings", "Table 1.10"], None),
    ("xlsx-renamed-code-column", EPX, ep(shared_strings("2024 National Employment Matrix code", "2024 Matrix identifier")),
     ["occupation.xlsx", "National Employment Matrix code"], None),
    ("xlsx-member-past-size-limit", [*EPX, "--force"], ep(lambda: fk.mirror_bytes(fk.EP)), ["occupation.xlsx", "safety limit"],
     {"GAPKIT_MAX_MEMBER_BYTES": "100000"}),
    # -- archives (IPEDS zips) --
    ("zip-html-error-page", IP, c24(lambda: HTML), ["C2024_A.zip", "HTML page"], None),
    ("zip-empty-file", IP, c24(lambda: b""), ["C2024_A.zip", "empty"], None),
    ("zip-random-bytes", IP, c24(lambda: b"PK\x03\x04" + os.urandom(3000)), ["C2024_A.zip", "corrupt"], None),
    ("zip-truncated", IP, c24(half(fk.C24)), ["C2024_A.zip", "corrupt or truncated"], None),
    ("zip-crc-mismatch", IP, c24(flipped(fk.C24)), ["C2024_A.zip", "corrupt"], None),
    ("zip-slip-dotdot", IP, hd24(zip_of({"../../evil/hd2024.csv": b"UNITID\n1\n"})), ["HD2024.zip", "zip-slip"], None),
    ("zip-slip-absolute", IP, hd24(zip_of({"/tmp/evil/hd2024.csv": b"UNITID\n1\n"})), ["HD2024.zip", "zip-slip"], None),
    ("zip-slip-windows", IP, hd24(zip_of({"..\\..\\evil\\hd2024.csv": b"UNITID\n1\n"})), ["HD2024.zip", "zip-slip"], None),
    ("zip-bomb-ratio", IP, c24(lambda: fk.zip_bytes({"c2024_a.csv": b"0" * 60_000_000})), ["C2024_A.zip", "safety limit"], None),
    ("zip-bomb-declared-size", [*IP, "--force"], c24(lambda: fk.mirror_bytes(fk.C24)), ["C2024_A.zip", "c2024_a.csv", "safety limit"],
     {"GAPKIT_MAX_MEMBER_BYTES": "1000000"}),
    ("zip-member-lies-about-size", IP, c24(lambda: fk.patched_zip(fk.zip_bytes({"c2024_a.csv": b"UNITID,CIPCODE\n" * 5000}),
                                                                  declared_size=100)),
     ["C2024_A.zip", "corrupt"], None),
    ("zip-unsupported-compression", IP, c24(lambda: fk.patched_zip(fk.zip_bytes({"c2024_a.csv": b"x"}, zipfile.ZIP_STORED), method=99)),
     ["C2024_A.zip", "cannot be unpacked"], None),
    ("zip-encrypted-member", IP, c24(lambda: fk.patched_zip(fk.zip_bytes({"c2024_a.csv": b"x"}, zipfile.ZIP_STORED), flags=1)),
     ["C2024_A.zip", "cannot be unpacked"], None),
    ("zip-no-members", IP, c24(lambda: fk.zip_bytes({})), ["C2024_A.zip", "no member matching"], None),
    ("zip-wrong-member", IP, c24(lambda: fk.zip_bytes({"readme.txt": b"moved"})), ["C2024_A.zip", "readme.txt"], None),
    # -- CSV content (IPEDS completions and directory) --
    ("csv-renamed-header", IP, c24(csv_edit(fk.C24, lambda t: t.replace("CTOTALT", "CTOTAL_T", 1))), ["ctotalt", "c2024_a.csv"], None),
    ("csv-missing-column", IP, c24(csv_edit(fk.C24, drop_column("AWLEVEL"))), ["awlevel", "c2024_a.csv"], None),
    ("csv-directory-missing-column", IP, hd24(csv_edit(fk.HD24, drop_column("STABBR"))), ["state", "hd2024.csv", "'INSTNM'"], None),
    ("csv-empty-member", IP, c24(lambda: fk.zip_bytes({"c2024_a.csv": b""})), ["c2024_a.csv", "empty"], None),
    ("csv-header-only", IP, c24(csv_edit(fk.C24, lambda t: t.splitlines()[0] + "\n")), ["c2024_a.csv"], None),
    ("csv-duplicated-rows", IP, c24(csv_edit(fk.C24, lambda t: t + "\n".join(t.splitlines()[1:50]) + "\n")), ["duplicated rows"], None),
    ("csv-text-in-count", IP, c24(csv_edit(fk.C24, lambda t: t.replace(",1,5,12,2,10", ",1,5,twelve,2,10", 1))),
     ["c2024_a.csv", "unreadable"], None),
    ("csv-totals-do-not-add-up", IP, c24(csv_edit(fk.C24, lambda t: t.replace(",1,5,12,2,10", ",1,5,13,2,11", 1))),
     ["CIP 99 total", "UNITID 100654"], None),
    ("csv-cip-excel-mangled-ambiguous", IP, c24(csv_edit(fk.C24, mangle_cips(ambiguous=True))), ["c2024_a.csv"], None),
    # -- Projections Central JSON --
    ("json-rows-disagree-with-total-items", WYA, wy(wy_json(lambda r: r[:100], total=542)), ["total_items=542", "LongTermRestJson/56"], None),
    ("json-another-states-rows", WYA, wy(wy_json(lambda r: [{**x, "STFIPS": "54"} if i < 5 else x for i, x in enumerate(r)])),
     ["STFIPS 54", "LongTermRestJson/56"], None),
    ("json-html-error-page", WYA, wy(lambda: HTML), ["LongTermRestJson/56", "not JSON"], None),
    ("json-empty-answer", WYA, wy(lambda: b""), ["LongTermRestJson/56", "not JSON"], None),
    ("json-truncated", WYA, wy(lambda: fk.mirror_bytes(fk.WY)[:5000]), ["LongTermRestJson/56", "not JSON"], None),
    ("json-no-rows-list", WYA, wy(lambda: b'{"message": "No results found."}'), ["LongTermRestJson/56", "no 'rows' list"], None),
    ("json-no-data-404", WYA, lambda: {fk.WY: fk.status(404)}, ["HTTP 404", "LongTermRestJson/56"], None),
    ("json-text-in-numbers", WYA, wy(wy_json(lambda r: [{**x, "AvgAnnualOpenings": "n/a"} if i == 3 else x for i, x in enumerate(r)])),
     ["56.json", "not numbers", "n/a"], None),
    ("json-not-a-soc-code", WYA, wy(wy_json(lambda r: [{**x, "OccCode": "Accountants"} if i == 0 else x for i, x in enumerate(r)])),
     ["56.json", "not a SOC code"], None),
    ("json-same-occupation-twice-differently", WYA,
     wy(wy_json(lambda r: [*r, {**r[0], "OccCode": r[0]["OccCode"] + ".00", "AvgAnnualOpenings": "999"}])),
     ["56.json", "more than once"], None),
]


@pytest.mark.parametrize(("case", "args", "faults", "needles", "env"), FAILING, ids=[c[0] for c in FAILING])
def test_bad_file_leaves_store_intact(data: Path, case: str, args: list[str], faults: Callable[[], dict[str, fk.Fault]],
                                      needles: list[str], env: dict[str, str] | None) -> None:
    before = fk.snapshot(data)
    proc, _ = fk.ingest(data, *args, faults=faults(), env=env)
    fk.assert_clean_failure(proc, needles)
    fk.assert_intact(before, data, manifest_bytes=args[0] != "ipeds")
    assert not list((data.parent).glob("evil")) and not Path("/tmp/evil").exists()


def test_server_ignoring_the_page_parameter(data: Path) -> None:
    """A pager announcing 2 pages whose page 1 repeats page 0: refused, not stored twice."""
    rows = fk.wy_rows()
    before = fk.snapshot(data)
    proc, requests = fk.ingest(data, *WYA, faults={fk.WY: fk.body(fk.projections_json(rows[:271], total=542, pages=2))})
    fk.assert_clean_failure(proc, ["LongTermRestJson/56", "more than once across pages"])
    assert requests.count(fk.WY) == 2
    fk.assert_intact(before, data, manifest_bytes=True)


# -- quirks agencies really publish: ingested to the same numbers -----------------------------------
def _same(a: pl.DataFrame, b: pl.DataFrame, keys: list[str]) -> None:
    cols = [c for c in a.columns if c not in {"source_file", "source_unit"}]
    assert a.select(cols).sort(keys).equals(b.select(cols).sort(keys))


def test_cip_codes_mangled_by_excel_are_repaired(data: Path) -> None:
    before = fk.table(data, "ipeds_completions", "2024")
    proc, _ = fk.ingest(data, *IP, faults={fk.C24: fk.body(fk.edited_zip(fk.C24, mangle_cips(ambiguous=False)))})
    assert proc.returncode == 0, proc.stderr
    after = fk.table(data, "ipeds_completions", "2024")
    _same(after, before, ["unitid", "cipcode", "awlevel"])
    fk.assert_consistent(data)


def test_directory_in_cp1252_is_decoded(data: Path) -> None:
    before = fk.table(data, "ipeds_institutions", "2024")
    proc, _ = fk.ingest(data, *IP, faults={fk.HD24: fk.body(fk.edited_zip(fk.HD24, lambda t: t, encoding="cp1252"))})
    assert proc.returncode == 0, proc.stderr
    after = fk.table(data, "ipeds_institutions", "2024")
    _same(after, before, ["unitid"])
    accented = pl.any_horizontal(pl.col(pl.String).str.contains("[éáú’]"))
    assert after.filter(accented).height == before.filter(accented).height > 0
    fk.assert_consistent(data)


@pytest.mark.parametrize("form", ["onet-suffix", "excel-formula", "padded"])
def test_soc_code_forms_are_normalized(data: Path, form: str) -> None:
    change = {"onet-suffix": lambda c: c + ".00", "excel-formula": lambda c: f'="{c}"', "padded": lambda c: f"  {c} "}[form]
    before = fk.table(data, "state_projections", "2022-32")
    body = fk.projections_json([{**r, "OccCode": change(r["OccCode"])} for r in fk.wy_rows()])
    proc, _ = fk.ingest(data, *WYA, faults={fk.WY: fk.body(body)})
    assert proc.returncode == 0, proc.stderr
    after = fk.table(data, "state_projections", "2022-32")
    _same(after, before, ["stfips", "soc_code"])
    fk.assert_consistent(data)


def test_projections_answer_in_cp1252_is_decoded(data: Path) -> None:
    rows = [{**r, "Title": r["Title"] + " (Café)"} if i == 0 else r for i, r in enumerate(fk.wy_rows())]
    body = json.dumps({"rows": rows, "pager": {"total_items": len(rows), "total_pages": 1}}, ensure_ascii=False).encode("cp1252")
    proc, _ = fk.ingest(data, *WYA, faults={fk.WY: fk.body(body)})
    assert proc.returncode == 0, proc.stderr
    wyo = fk.table(data, "state_projections", "2022-32").filter(pl.col("stfips") == "56")
    assert wyo.filter(pl.col("title").str.ends_with("(Café)")).height == 1


def _oews_csv_zip(edit: Callable[[pl.DataFrame], pl.DataFrame]) -> bytes:
    """oesm24nat.zip with its workbook as the CSV layout BLS also publishes, edited."""
    import fastexcel

    with zipfile.ZipFile(io.BytesIO(fk.mirror_bytes(fk.OEWS))) as z:
        name = next(n for n in z.namelist() if n.endswith(".xlsx"))
        book = z.read(name)
    df = fastexcel.read_excel(book).load_sheet(0, dtypes="string").to_polars()
    return fk.zip_bytes({name.replace(".xlsx", ".csv"): edit(df).write_csv().encode()})


def test_suppressed_values_are_null_with_a_flag_never_zero(data: Path) -> None:
    picked: list[str] = []

    def suppress(df: pl.DataFrame) -> pl.DataFrame:
        clean = df.filter((pl.col("O_GROUP") == "detailed") & pl.col("A_MEDIAN").str.contains(r"^[\d,.]+$")
                          & pl.col("TOT_EMP").str.contains(r"^[\d,.]+$"))
        picked.extend(clean["OCC_CODE"].sort().gather([10, 20, 30, 40]).to_list())
        for code, col, value in zip(picked, ("A_MEDIAN", "A_MEDIAN", "TOT_EMP", "TOT_EMP"), ("#", "*", "**", "~"), strict=True):
            df = df.with_columns(pl.when(pl.col("OCC_CODE") == code).then(pl.lit(value)).otherwise(pl.col(col)).alias(col))
        return df

    proc, _ = fk.ingest(data, "oews", faults={fk.OEWS: fk.body(_oews_csv_zip(suppress))})
    assert proc.returncode == 0, proc.stderr
    f = fk.table(data, "oews_wages", "2024").filter(pl.col("source_file").cast(pl.String).str.starts_with("oesm24nat.zip"))
    rows = {r["soc_code"]: r for r in f.iter_rows(named=True)}
    top, na, emp_na, tiny = (rows[c] for c in picked)
    assert top["a_median"] is None and top["a_median_flag"] == "top-coded" and top["a_median_topcode"] > 200_000
    assert na["a_median"] is None and na["a_median_flag"] == "not available"
    assert emp_na["tot_emp"] is None and emp_na["emp_flag"] == "not available"
    assert tiny["tot_emp"] is None and tiny["emp_flag"] == "<0.5% of establishments"
    assert f.filter((pl.col("a_median") == 0) | (pl.col("tot_emp") == 0)).height == 0
    fk.assert_consistent(data)


def test_exact_duplicate_rows_in_a_local_file_are_dropped_with_a_note(data: Path, tmp_path: Path) -> None:
    rows = fk.wy_rows()
    p = tmp_path / "in" / "56.json"
    p.parent.mkdir()
    p.write_bytes(fk.projections_json(rows + rows[:3]))
    proc = fk.run_cli("ingest", "projections", "--offline", "--from", str(p.parent), data_dir=data, env=fk.FAST)
    assert proc.returncode == 0, proc.stderr
    assert "duplicate" in proc.stdout.lower() + proc.stderr.lower()
    wyo = fk.table(data, "state_projections", "2022-32").filter(pl.col("stfips") == "56")
    assert wyo.height == len(rows)

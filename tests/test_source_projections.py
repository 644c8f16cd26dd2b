"""Projections Central source: real mirror JSON and CSV layouts from ../shared, paging checks, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from gapkit.codes import STATES
from gapkit.errors import DownloadError, SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import map_columns, number_expr, read_xlsx_sheet, sniff
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable
from gapkit.ingestion.sources.projection_checks import state_total_notes
from gapkit.ingestion.sources.projections import BASE, SCHEMAS, Projections, merge_pages, page_url

JSON_DIR = "public.projectionscentral.org/Projections/LongTermRestJson"
CSV_2232 = "projections_central/longterm_2022-32_all_states_885occ.csv"
CSV_2030 = "projections_central/ltprojections_2020-30_all_states.csv"
SRC = Projections()


def _parse(path: Path) -> list[ParsedTable]:
    assert SRC.recognize(path, sniff(path)), path
    return SRC.parse(path, str(path))


def _frame(tables: list[ParsedTable]) -> pl.DataFrame:
    return pl.concat([t.frame for t in tables])


def _assert_schema(frame: pl.DataFrame) -> None:
    expected = pl.from_arrow(SCHEMAS["state_projections"].empty_table()).schema
    assert frame.schema == expected


@pytest.fixture(scope="module")
def mirror_tables(mirror_dir: Path) -> dict[str, ParsedTable]:
    out = {}
    for f in sorted((mirror_dir / JSON_DIR).iterdir()):
        [t] = _parse(f)
        out[f.name] = t
    return out


@pytest.fixture(scope="module")
def csv_2232(shared_data: Path) -> list[ParsedTable]:
    return _parse(shared_data / CSV_2232)


@pytest.fixture(scope="module")
def csv_2030(shared_data: Path) -> list[ParsedTable]:
    return _parse(shared_data / CSV_2030)


def test_every_mirror_json_parses_one_state_each(mirror_tables: dict[str, ParsedTable]) -> None:
    assert len(mirror_tables) == 55  # US (00), 50 states, DC, GU, PR, VI
    for fips, t in mirror_tables.items():
        assert (t.dataset, t.vintage, t.unit) == ("state_projections", "2022-32", f"ST:{fips}")
        _assert_schema(t.frame)
        f = t.frame
        assert f["stfips"].unique().to_list() == [fips] and f["state"].unique().to_list() == [STATES[fips][0]]
        assert f["source_file"].unique().to_list() == [fips]
        assert f.filter(pl.col("soc_code") == "00-0000").height == 1
        assert f["openings"].null_count() == 0 and f["soc_code"].is_unique().all()
        assert (f["base_year"] == 2022).all() and (f["proj_year"] == 2032).all()
    assert sum(t.frame.height for t in mirror_tables.values()) == 36_626
    wy = mirror_tables["56"].frame
    assert wy.height == 542 and wy["area_name"].unique().to_list() == ["Wyoming"]


def test_api_field_csv_matches_the_json(csv_2232: list[ParsedTable], mirror_tables: dict[str, ParsedTable]) -> None:
    assert len(csv_2232) == 55 and {t.vintage for t in csv_2232} == {"2022-32"}
    assert {t.unit for t in csv_2232} == {f"ST:{f}" for f in mirror_tables}
    f = _frame(csv_2232)
    _assert_schema(f)
    assert f.height == 36_626 and f["soc_code"].n_unique() == 885
    # no years, change or area in this export: years from the file name, change = proj - base, area from FIPS
    assert (f["base_year"] == 2022).all() and (f["proj_year"] == 2032).all()
    assert f.filter(pl.col("stfips") == "39")["area_name"].unique().to_list() == ["Ohio"]
    key = ["stfips", "soc_code"]
    nums = ["emp_base", "emp_proj", "emp_change", "pct_change", "openings", "soc_level"]
    j = _frame(list(mirror_tables.values()))
    both = f.select(*key, *nums).join(j.select(*key, *nums), on=key, suffix="_json")
    assert both.height == 36_626
    for n in nums:
        assert (both[n] == both[f"{n}_json"]).all(), n
    first = f.filter((pl.col("stfips") == "01") & (pl.col("soc_code") == "13-2011")).row(0, named=True)
    assert (first["emp_base"], first["emp_proj"], first["pct_change"], first["openings"]) == (25_450, 27_080, 6.4, 2_160)


def test_us_row_equals_bls_2022_32(csv_2232: list[ParsedTable], shared_data: Path) -> None:
    us = next(t for t in csv_2232 if t.unit == "ST:00").frame
    tot = us.filter(pl.col("soc_code") == "00-0000").row(0, named=True)
    assert tot["openings"] == 18_566_500 and tot["emp_base"] == 164_482_590 and tot["emp_proj"] == 169_148_090
    assert tot["area_name"] == "United States" and tot["state"] == "US" and tot["soc_level"] == "total"
    det = us.filter(pl.col("soc_level") == "detailed")
    assert det.height == 832  # the BLS line items, including the 7 hybrid codes that end in 0
    assert abs(det["openings"].sum() - 18_566_500) <= 500  # rounding of 832 published values
    # Same occupations and openings as BLS Table 1.10 (thousands), read independently of gapkit's BLS parser.
    p = shared_data / "bls_ep" / "occupation_2022-32.xlsx"
    t = read_xlsx_sheet(p, "Table 1.10", header_row=1)
    c = map_columns(t.columns, {"code": r"matrix code$", "type": r"^occupation type$", "open": r"^occupational openings"}, path=p)
    bls = t.filter(pl.col(c["type"]).str.contains("(?i)line item")).select(
        pl.col(c["code"]).str.strip_chars().alias("soc_code"), (number_expr(c["open"]) * 1000).round(0).alias("bls"))
    cmp = det.select("soc_code", "openings").join(bls, on="soc_code", how="full", coalesce=True)
    assert cmp.height == 832 and cmp.null_count().sum_horizontal().item() == 0
    assert (cmp["openings"] == cmp["bls"]).all()


def test_bulk_csv_2020_30(csv_2030: list[ParsedTable]) -> None:
    assert len(csv_2030) == 55 and {t.vintage for t in csv_2030} == {"2020-30"}
    f = _frame(csv_2030)
    _assert_schema(f)
    assert f.height == 34_484 and (f["base_year"] == 2020).all() and (f["proj_year"] == 2030).all()
    us = f.filter(pl.col("stfips") == "00")
    assert us["area_name"].unique().to_list() == ["United States"]  # published with a leading space
    truck = us.filter(pl.col("soc_code") == "53-3032").row(0, named=True)
    assert (truck["emp_base"], truck["emp_proj"], truck["emp_change"], truck["pct_change"], truck["openings"]) == (
        1_951_600, 2_073_600, 122_000, 6.3, 231_100)
    assert f.group_by("stfips").len()["len"].is_between(185, 791).all()


def _mismatch_states(tables: list[ParsedTable], word: str) -> set[str]:
    return {t.unit[3:] for t in tables for n in t.notes if word in n}


def test_state_totals_checked_and_reported_not_fixed(csv_2232: list[ParsedTable], csv_2030: list[ParsedTable],
                                                     mirror_tables: dict[str, ParsedTable]) -> None:
    # 2022-32: line items vs the published all-occupations total, tolerance 5%
    assert _mismatch_states(csv_2232, "detailed occupations sum to") == {"11", "25", "72", "78"}  # DC, MA, PR, VI
    # New York's published openings are 1.1% of its employment (every other state 10-14%), Massachusetts 4.4%
    assert _mismatch_states(csv_2232, "look odd") == {"36", "25"}
    ny = next(n for t in csv_2232 if t.unit == "ST:36" for n in t.notes)
    assert "New York" in ny and "119,000" in ny and "not adjusted" in ny
    vi = next(n for t in csv_2232 if t.unit == "ST:78" for n in t.notes)
    assert "3,420" in vi and "4,040" in vi and "-15.3%" in vi
    # the JSON route reports the same states
    assert _mismatch_states(list(mirror_tables.values()), "detailed occupations sum to") == {"11", "25", "72", "78"}
    assert _mismatch_states(csv_2030, "detailed occupations sum to") == {"10", "46", "50", "66", "78"}  # DE, SD, VT, GU, VI
    assert not _mismatch_states(csv_2030, "look odd")
    # the same checks on a stored multi-state frame (for the gap engine)
    assert state_total_notes(_frame(csv_2232)) == [n for t in csv_2232 for n in t.notes]
    assert any("(NY)" in n and "1.1%" in n and "not adjusted" in n for n in state_total_notes(_frame(csv_2232)))
    # published values are kept as published
    f = _frame(csv_2232)
    assert f.filter((pl.col("stfips") == "36") & (pl.col("soc_code") == "00-0000"))["openings"].item() == 119_000
    # every other state's line items are within 5% of its total
    for t in csv_2232:
        tot = t.frame.filter(pl.col("soc_code") == "00-0000")["openings"].item()
        det = t.frame.filter(pl.col("soc_level") == "detailed")["openings"].sum()
        assert (abs(det - tot) / tot > 0.05) == (t.unit[3:] in {"11", "25", "72", "78"})


def test_levels_never_double_count(csv_2232: list[ParsedTable], csv_2030: list[ParsedTable]) -> None:
    for tables in (csv_2232, csv_2030):
        f = _frame(tables).with_columns(pl.col("soc_code").str.slice(0, 6).alias("b6"))
        # a code labelled detailed never has a detailed code under it in the same state
        det = f.filter(pl.col("soc_level") == "detailed")
        per_b6 = det.group_by("stfips", "b6").agg(pl.col("soc_code"))
        hybrid = per_b6.filter(pl.col("soc_code").list.eval(pl.element().str.ends_with("0")).list.any())
        assert (hybrid["soc_code"].list.len() == 1).all()
        # broad codes kept as broad do have their detail in that state
        broad = f.filter(pl.col("soc_level") == "broad").select("stfips", "b6")
        assert broad.join(det.filter(~pl.col("soc_code").str.ends_with("0")).select("stfips", "b6").unique(),
                          on=["stfips", "b6"], how="anti").height == 0
        assert set(f["soc_level"].unique()) <= {"total", "major", "minor", "broad", "detailed"}
    f = _frame(csv_2232)
    aides = f.filter(pl.col("soc_code") == "31-1120")  # home health and personal care aides: a BLS line item
    assert aides.height == 54 and (aides["soc_level"] == "detailed").all()
    sup = f.filter(pl.col("soc_code").is_in(["33-1090", "33-1091"])).group_by("stfips").agg(pl.col("soc_code"), pl.col("soc_level"))
    for codes, levels in zip(sup["soc_code"], sup["soc_level"], strict=True):
        lv = dict(zip(codes, levels, strict=True))
        if "33-1090" in lv:  # published alone in 3 states: the finest level there
            assert lv["33-1090"] == ("broad" if "33-1091" in lv else "detailed")


def test_remotes_and_page_url() -> None:
    rs = SRC.remotes(IngestOptions())
    assert len(rs) == len(STATES) and all(r.paged_json and not r.required for r in rs)
    assert rs[0].url == BASE + "00" and rs[0].raw_name == "longterm/00.json"
    assert {r.url.rsplit("/", 1)[1] for r in rs} >= {"00", "11", "56", "66", "72", "78"}
    [wy] = SRC.remotes(IngestOptions(states=["56"]))
    assert wy.required and wy.url == "https://public.projectionscentral.org/Projections/LongTermRestJson/56"
    assert page_url(wy.url, 0) == wy.url + "?items_per_page=1000&page=0"
    assert page_url(wy.url + "?x=1", 3, per_page=100) == wy.url + "?x=1&items_per_page=100&page=3"


def _pages(rows: list[dict[str, str]], per: int, total: int | None = None) -> list[dict]:
    n = -(-len(rows) // per)
    return [{"rows": rows[i * per:(i + 1) * per],
             "pager": {"current_page": i, "items_per_page": per, "total_items": total if total is not None else len(rows),
                       "total_pages": n}} for i in range(n)]


@pytest.fixture(scope="module")
def wy_rows(mirror_dir: Path) -> list[dict[str, str]]:
    return json.loads((mirror_dir / JSON_DIR / "56").read_bytes())["rows"]


def test_merge_pages_joins_and_round_trips(wy_rows: list[dict[str, str]], tmp_path: Path) -> None:
    url = BASE + "56"
    merged = merge_pages(_pages(wy_rows, 100), "56", url)
    assert merged["rows"] == wy_rows and merged["pager"]["total_items"] == 542
    p = tmp_path / "56.json"
    p.write_text(json.dumps(merged))
    [t] = _parse(p)
    assert t.unit == "ST:56" and t.frame.height == 542
    # the US answer carries STFIPS "0"
    us = [{**r, "STFIPS": "0"} for r in wy_rows[:10]]
    assert len(merge_pages(_pages(us, 1000), "00", BASE + "00")["rows"]) == 10


def test_merge_pages_rejects_incomplete_mixed_and_repeated(wy_rows: list[dict[str, str]]) -> None:
    url = BASE + "56"
    with pytest.raises(DownloadError, match="received 500 rows in 5 page.*total_items=542") as e:
        merge_pages(_pages(wy_rows[:500], 100, total=542), "56", url)
    assert url in str(e.value)
    mixed = [{**r, "STFIPS": "0"} if i < 3 else r for i, r in enumerate(wy_rows)]  # the `all` endpoint mixes the US in
    with pytest.raises(DownloadError, match="carries 3 row.*STFIPS 00") as e:
        merge_pages(_pages(mixed, 1000), "56", url)
    assert url in str(e.value)
    with pytest.raises(DownloadError, match="STFIPS 54"):
        merge_pages(_pages([{**r, "STFIPS": "54"} for r in wy_rows], 1000), "56", url)
    shifted = _pages(wy_rows, 100)
    shifted[1]["rows"] = shifted[0]["rows"]  # a page repeated while paging: counts still add up
    with pytest.raises(DownloadError, match="more than once"):
        merge_pages(shifted, "56", url)
    with pytest.raises(DownloadError, match="no STFIPS"):
        merge_pages(_pages([{k: v for k, v in r.items() if k != "STFIPS"} for r in wy_rows], 1000), "56", url)
    with pytest.raises(DownloadError, match="no 'rows' list"):
        merge_pages([{"message": "No results found."}], "56", url)
    with pytest.raises(DownloadError, match="not a number"):
        merge_pages([{"rows": wy_rows, "pager": {"total_items": "many"}}], "56", url)


def test_bad_json_files(tmp_path: Path, mirror_dir: Path) -> None:
    raw = (mirror_dir / JSON_DIR / "56").read_bytes()
    cases = {
        "truncated": (raw[: len(raw) // 2], "malformed or truncated"),
        "html": (b"<!DOCTYPE html><html><body>No results found.</body></html>", "HTML page"),
        "empty": (b"", "empty"),
        "no-rows": (b'{"rows": [], "pager": {"total_items": 0}}', "no rows"),
        "not-answer": (b'{"message": "No results found."}', "no 'rows' list"),
        "one-page": (json.dumps({"rows": json.loads(raw)["rows"][:100],
                                 "pager": {"total_items": 542, "total_pages": 6}}).encode(), "one page of an answer"),
        "numbers": (raw.replace(b'"AvgAnnualOpenings":"210"', b'"AvgAnnualOpenings":"n/a"', 1), "not numbers"),
        "bad-code": (raw.replace(b'"OccCode":"13-2011"', b'"OccCode":"Accountants"', 1), "not a SOC code"),
        "bad-fips": (raw.replace(b'"STFIPS":"56"', b'"STFIPS":"57"'), "57 are not"),
    }
    for name, (body, needle) in cases.items():
        p = tmp_path / name
        p.write_bytes(body)
        with pytest.raises(SourceFormatError, match=needle) as e:
            SRC.parse(p, str(p))
        assert str(p) in str(e.value), name


def _write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\r\n".join([header, *rows]) + "\r\n")
    return path


API = "Title,Base,Projected,PercentChange,AvgAnnualOpenings,STFIPS,OccCode"
TOTAL = '"Total, All Occupations",1000,1100,10.0,120,56,00-0000'


def test_bad_csv_files(tmp_path: Path) -> None:
    ok = ["Accountants and Auditors,500,550,10.0,60,56,13-2011", "Actuaries,500,550,10.0,60,56,15-2011"]
    p = _write_csv(tmp_path / "longterm_2022-32_wy.csv", API, [TOTAL, *ok])
    [t] = _parse(p)
    assert t.vintage == "2022-32" and t.notes == [] and t.frame["emp_change"].to_list() == [100, 50, 50]
    p = _write_csv(tmp_path / "state_projections.csv", API, [TOTAL, *ok])
    with pytest.raises(SourceFormatError, match="no BaseYear/ProjYear columns.*name the cycle|cycle") as e:
        SRC.parse(p, str(p))
    assert "longterm_2022-32" in str(e.value) and str(p) in str(e.value)
    p = _write_csv(tmp_path / "longterm_2022-32_drift.csv", API.replace("AvgAnnualOpenings", "Openings"), [TOTAL])
    assert not SRC.recognize(p, sniff(p))
    with pytest.raises(SchemaDriftError, match="openings") as e:
        SRC.parse(p, str(p))
    assert str(p) in str(e.value)
    p = _write_csv(tmp_path / "longterm_2022-32_dup.csv", API, [TOTAL, *ok, ok[0].replace(",60,", ",61,")])
    with pytest.raises(SourceFormatError, match="more than once with different figures"):
        SRC.parse(p, str(p))
    p = _write_csv(tmp_path / "longterm_2022-32_dup2.csv", API, [TOTAL, *ok, ok[0]])
    [t] = SRC.parse(p, str(p))
    assert t.frame.height == 3 and any("1 exact duplicate" in n for n in t.notes)
    p = _write_csv(tmp_path / "longterm_2022-32_hdr.csv", API, [])
    with pytest.raises(SourceFormatError, match="no data rows"):
        SRC.parse(p, str(p))


def test_bulk_layout_years_and_missing_total(tmp_path: Path) -> None:
    hdr = "stfips,areaname,code,name,baseyear,base,projyear,proj,change,percentchange,avgannualopenings"
    p = _write_csv(tmp_path / "ltprojections.csv", hdr, [
        '"56","Wyoming","13-2011","Accountants and Auditors","2024","2,240","2034","2,530","290","12.9","210"',
        '"11","District of Columbia","13-2011","Accountants and Auditors","2024","9000","2034","9500","500","5.6","800"',
    ])
    tables = _parse(p)
    assert [(t.vintage, t.unit) for t in tables] == [("2024-34", "ST:56"), ("2024-34", "ST:11")]
    assert tables[0].frame["emp_base"].item() == 2240  # thousands separators
    assert all("no all-occupations (00-0000) total" in t.notes[0] for t in tables)
    bad = _write_csv(tmp_path / "ltprojections_bad.csv", hdr, ['"56","Wyoming","13-2011","Acc","","1","2034","2","1","1","1"'])
    with pytest.raises(SourceFormatError, match="base/projected year"):
        SRC.parse(bad, str(bad))


def test_recognize(shared_data: Path, mirror_dir: Path) -> None:
    for p in [mirror_dir / JSON_DIR / "00", shared_data / CSV_2232, shared_data / CSV_2030]:
        assert SRC.recognize(p, sniff(p))
    for p in [shared_data / "bls_oews" / "state_M2024_dl_subset10cols.csv", shared_data / "bls_ep" / "occupation_2022-32.xlsx"]:
        assert not SRC.recognize(p, sniff(p))

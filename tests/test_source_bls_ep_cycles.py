"""bls-ep across cycles: the header wordings of the 2018-28 .. 2021-31 workbooks, and Table 5.3 (ep_attainment).

No workbook older than 2022-32 is in ../shared, so the older layouts are hand-made workbooks written
here with the header wording those cycles used. Where the wording comes from:

- 2019-29: single header row worded as today ("2019 National Employment Matrix title" / "... code",
  "Employment change, numeric, 2019-29", "Employment change, percent, 2019-29", "Occupational openings,
  2019-29 annual average": public code reading that workbook's Table 1.2), "Occupation\\ntype" with an
  embedded line break in Table 1.10 (../shared/data/MANIFEST-bls.md).
- 2020-30 / 2021-31: "Employment change, 2020-30" without "numeric", "Percent employment change, 2020-30",
  "Occupational openings, 2020-30 annual average" (public code reading an export of the 2020-30 tables),
  and the same wording for 2021-31 (issue 11).
- 2018-28 (and 2016-26): title and code under one header, "2018 National Employment Matrix title and
  code", with the code column's header cell blank (public code reading the 2018-28 Table 5.4 renames
  'Unnamed: 1' to the code; the 2016-26 Table 5.3 has the same). The 2016-26 Table 1.10 was read by
  skipping three rows above the data (title + two header rows) with the same 14 columns as today, so
  the older Table 1.10 groups its columns under a second header row ("Employment" over the two years,
  "Employment change" over number and percent, the separations rates and numbers over exits, transfers,
  total). The sub-heading words used here ("Number", "Percent", "Labor force exits", ...) are an
  assumption; the parser reads them by meaning.

Every hand-made cycle must reproduce its own published total and keep the table's identities.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.sources.bls_ep import ATTAINMENT, SCHEMAS, BlsEp
from tests.conftest import assert_clean_error, run_cli
from tests.minixlsx import write_xlsx

# (title, code, type, employment base, employment projected, labor force exits, occupational transfers); thousands.
# Line items only: the summary rows and the total are their sums, as BLS publishes them.
LINES = [
    ("Chief executives", "11-1011", "Management occupations", "11-0000", 211.2, 219.8, 6.1, 9.7),
    ("General and operations managers", "11-1021", "Management occupations", "11-0000", 3376.8, 3597.2, 81.4, 184.9),
    ("Registered nurses", "29-1141", "Healthcare practitioners and technical occupations", "29-0000", 3130.6, 3307.4, 66.2, 101.3),
    ("Heavy and tractor-trailer truck drivers", "53-3032", "Transportation and material moving occupations", "53-0000",
     2150.9, 2204.5, 88.9, 150.6),
]
EDUCATION = {"11-1011": ("Bachelor's degree", "5 years or more", "None", 189520),
             "11-1021": ("Bachelor's degree", "5 years or more", "None", 98100),
             "29-1141": ("Bachelor's degree", "None", "None", 81220),
             "53-3032": ("Postsecondary nondegree award", "None", "Short-term on-the-job training", 48310)}
# Table 5.3 rows: percent by attainment level, low to high (seven values, each rounded to 0.1)
SHARES = {"00-0000": [7.9, 23.4, 19.6, 9.6, 24.1, 11.0, 4.4], "11-1011": [1.7, 8.0, 13.8, 4.8, 40.2, 24.8, 6.7],
          "11-1021": [2.9, 17.1, 23.7, 10.4, 33.0, 11.3, 1.6], "29-1141": [0.5, 1.0, 3.9, 28.2, 53.3, 10.8, 2.3],
          "53-3032": [14.9, 49.7, 21.4, 7.6, 5.6, 0.7, 0.1]}
FOOTNOTE_MARKED = {"11-1011"}  # "(1) This occupation is not an exact match with ACS"


def _r(x: float) -> float:
    return round(x + 1e-9, 1)


def matrix_rows(y0: int) -> list[dict[str, object]]:
    """Total, summary and line-item rows with every Table 1.10 figure, rounded as published."""
    groups: dict[str, list[tuple[str, str, str, str, float, float, float, float]]] = {}
    for line in LINES:
        groups.setdefault(line[3], []).append(line)

    def row(title: str, code: str, kind: str, e0: float, e1: float, ex: float, tr: float) -> dict[str, object]:
        mean = (e0 + e1) / 2
        sep = ex + tr
        return {"title": title, "code": code, "type": kind, "e0": _r(e0), "e1": _r(e1), "chg": _r(e1 - e0),
                "pct": _r((e1 - e0) / e0 * 100), "exr": _r(ex / mean * 100), "trr": _r(tr / mean * 100),
                "sepr": _r(sep / mean * 100), "ex": _r(ex), "tr": _r(tr), "sep": _r(sep), "open": _r((e1 - e0) / 10 + sep)}

    def total(title: str, code: str, items: list[tuple[str, str, str, str, float, float, float, float]]) -> dict[str, object]:
        return row(title, code, "Summary", *[sum(x[i] for x in items) for i in (4, 5, 6, 7)])  # type: ignore[misc]

    out = [total("Total, all occupations", "00-0000", LINES)]
    for code, items in groups.items():
        out.append({**total(items[0][2], code, items), "title": f"  {items[0][2]}"})
        out += [row(f"    {t}", c, "Line item", e0, e1, ex, tr) for t, c, _, _, e0, e1, ex, tr in items]
    return out


def _fmt(v: object, thousands: bool) -> object:
    """Some cycles wrote numbers as text with thousands separators; most as numbers."""
    return f"{v:,.1f}" if thousands and isinstance(v, float) else v


def workbook_one_row(tmp_path: Path, name: str, y0: int, style: str, *, with_53: bool = True) -> Path:
    """A 2019-29 ("numeric") or 2020-30/2021-31 ("plain") style workbook: one header row per table."""
    y1, rng = y0 + 10, f"{y0}\u2013{(y0 + 10) % 100:02d}"
    if style == "numeric":
        chg, pct = f"Employment change, numeric, {rng}", f"Employment change, percent, {rng}"
    else:
        chg, pct = f"Employment change, {rng}", f"Percent employment change, {rng}"
    head = [f"{y0} National Employment Matrix title", f"{y0} National Employment Matrix code", "Occupation\ntype",
            f"Employment, {y0}", f"Employment, {y1}", chg, pct,
            f"Labor force exit rate, {rng} annual average", f"Occupational transfer rate, {rng} annual average",
            f"Total occupational separations rate, {rng} annual average", f"Labor force exits, {rng} annual average",
            f"Occupational transfers, {rng} annual average", f"Total occupational separations, {rng} annual average",
            f"Occupational openings, {rng} annual average"]
    keys = ["title", "code", "type", "e0", "e1", "chg", "pct", "exr", "trr", "sepr", "ex", "tr", "sep", "open"]
    rows = [[_fmt(r[k], style == "plain") for k in keys] for r in matrix_rows(y0)]
    sheets: dict[str, list[list[object]]] = {"Index": [["Occupation.xlsx contents"]]}
    sheets["Table 1.7"] = _table_17(y0, [f"{y0} National Employment Matrix title", f"{y0} National Employment Matrix code"])
    sheets["Table 1.10"] = [[f"Table 1.10 Occupational separations and openings, projected {rng}"], head, *rows, *FOOT]
    if with_53:
        sheets["Table 5.3"] = _table_53(y0, [f"{y0} National Employment Matrix title", f"{y0} National Employment Matrix code"])
    return write_xlsx(tmp_path / name, sheets)  # type: ignore[arg-type]


def workbook_grouped(tmp_path: Path, name: str, y0: int, *, table: str = "Table 1.10", groups_above: bool = False) -> Path:
    """A 2018-28 style workbook: "title and code" over two columns (code header blank) and a second header row.

    ``groups_above``: the grouping row sits above a header row that names title, code and the ungrouped
    columns itself (the other way two-row headers are laid out)."""
    y1, rng = y0 + 10, f"{y0}-{(y0 + 10) % 100:02d}"
    group = [f"{y0} National Employment Matrix title and code", None, "Occupation type", "Employment", None,
             f"Employment change, {rng}", None, f"Occupational separations rate, {rng} annual average", None, None,
             f"Occupational separations, {rng} annual average", None, None, f"Occupational openings, {rng} annual average"]
    sub = [None, None, None, y0, y1, "Number", "Percent", "Labor force exits", "Occupational transfers", "Total",
           "Labor force exits", "Occupational transfers", "Total", None]
    if groups_above:
        group, sub = ([None, None, None, *group[3:13], None],
                      [f"{y0} National Employment Matrix title", f"{y0} National Employment Matrix code", "Occupation type",
                       *sub[3:13], group[13]])
    keys = ["title", "code", "type", "e0", "e1", "chg", "pct", "exr", "trr", "sepr", "ex", "tr", "sep", "open"]
    rows = [[r[k] for k in keys] for r in matrix_rows(y0)]
    both = [f"{y0} National Employment Matrix title and code", None]
    sheets: dict[str, list[list[object]]] = {"Index": [["Occupation.xlsx contents"]]}
    sheets["Table 1.7"] = _table_17(y0, both)
    sheets[table] = [[f"{table} Occupational separations and openings, projected {rng}"], group, sub, *rows, *FOOT]
    sheets["Table 5.3"] = _table_53(y0, both)
    sheets["Table 5.4"] = [[f"Table 5.4 Education and training assignments by detailed occupation, {y0}"],
                           [*both, "Typical education needed for entry", "Work experience in a related occupation",
                            "Typical on-the-job training needed to attain competency in the occupation"],
                           *[[t.strip(), c, *EDUCATION[c][:3]] for t, c, *_ in LINES], *FOOT]
    return write_xlsx(tmp_path / name, sheets)  # type: ignore[arg-type]


FOOT = [["Footnotes:"], ["(1) Data are from the Occupational Employment and Wage Statistics program."],
        ["Source: Employment Projections program, U.S. Bureau of Labor Statistics"]]


def _table_17(y0: int, lead: list[object]) -> list[list[object]]:
    head = [*lead, "Occupation type", f"Employment, {y0}", f"Employment, {y0 + 10}", f"Median annual wage, {y0}(1)",
            "Typical education needed for entry", "Work experience in a related occupation",
            "Typical on-the-job training needed to attain competency in the occupation"]
    rows = []
    for r in matrix_rows(y0):
        edu = EDUCATION.get(str(r["code"]))
        rows.append([r["title"], r["code"], r["type"], r["e0"], r["e1"], edu[3] if edu else "—",
                     *(edu[:3] if edu else ("—", "—", "—"))])
    return [[f"Table 1.7 Occupational projections, {y0}-{(y0 + 10) % 100:02d}, and worker characteristics, {y0}"], head, *rows, *FOOT]


def _table_53(y0: int, lead: list[object]) -> list[list[object]]:
    head = [*lead, "Less than high school diploma", "High school diploma or equivalent", "Some college, no degree",
            "Associate's degree", "Bachelor's degree", "Master's degree", "Doctoral or professional degree"]
    titles = {c: t for t, c, *_ in LINES} | {"00-0000": "Total, all occupations"}
    rows = [[titles[c] + ("(1)" if c in FOOTNOTE_MARKED else ""), c, *v] for c, v in SHARES.items()]
    foot = [["Footnotes:"], ["(1) This occupation is not an exact match with ACS; see the NEM-ACS crosswalk for details"],
            [f"Data Source: {y0 - 3} and {y0 - 1} American Community Survey Public Use Microdata"],
            ["Table Source: Employment Projections program, U.S. Bureau of Labor Statistics"]]
    return [[f"Table 5.3 Educational attainment for workers 25 years and older by detailed occupation, {y0 - 3} and {y0 - 1}"],
            head, *rows, *foot]


def parse(path: Path) -> dict[str, tuple[pl.DataFrame, str, list[str]]]:
    return {t.dataset: (t.frame, t.vintage, t.notes) for t in BlsEp().parse(path, str(path))}


def _check_cycle(tables: dict[str, tuple[pl.DataFrame, str, list[str]]], y0: int) -> None:
    df, cycle, _ = tables["ep_occupations"]
    assert cycle == f"{y0}-{(y0 + 10) % 100:02d}"
    assert df.columns == SCHEMAS["ep_occupations"].names
    published = {r["code"]: r for r in matrix_rows(y0)}
    total = df.filter(pl.col("soc_code") == "00-0000").row(0, named=True)
    # the cycle reproduces its own published total, exactly
    for col, key in [("openings_k", "open"), ("emp_base_k", "e0"), ("emp_proj_k", "e1"), ("separations_k", "sep"),
                     ("exits_k", "ex"), ("transfers_k", "tr"), ("emp_change_k", "chg"), ("emp_change_pct", "pct"),
                     ("exit_rate", "exr"), ("transfer_rate", "trr"), ("separations_rate", "sepr")]:
        assert total[col] == published["00-0000"][key], col
    assert (total["base_year"], total["proj_year"], total["title"], total["occ_type"]) == (y0, y0 + 10, "Total, all occupations", "Summary")
    lines = df.filter(pl.col("occ_type") == "Line item")
    assert sorted(lines["soc_code"]) == sorted(c for _, c, *_ in LINES)
    assert abs(lines["openings_k"].sum() - total["openings_k"]) < 0.5
    assert (df["exits_k"] + df["transfers_k"] - df["separations_k"]).abs().max() < 0.15
    truck = df.filter(pl.col("soc_code") == "53-3032").row(0, named=True)
    assert truck["title"] == "Heavy and tractor-trailer truck drivers"
    assert (truck["education"], truck["training"], truck["median_wage"]) == ("Postsecondary nondegree award",
                                                                              "Short-term on-the-job training", 48310.0)
    assert lines["education"].null_count() == 0


def _check_attainment(tables: dict[str, tuple[pl.DataFrame, str, list[str]]], y0: int) -> None:
    att, cycle, notes = tables["ep_attainment"]
    assert cycle == f"{y0}-{(y0 + 10) % 100:02d}"
    assert att.columns == SCHEMAS["ep_attainment"].names
    assert att.height == 7 * len(SHARES)
    for code, values in SHARES.items():
        got = att.filter(pl.col("soc_code") == code).sort("level_rank")
        assert got["level"].to_list() == list(ATTAINMENT)
        assert got["share"].to_list() == pytest.approx([v / 100 for v in values])
    ceo = att.filter(pl.col("soc_code") == "11-1011")
    assert set(ceo["title"]) == {"Chief executives"} and set(ceo["acs_exact_match"]) == {False}  # "(1)" stripped, read
    assert set(att.filter(pl.col("soc_code") == "29-1141")["acs_exact_match"]) == {True}
    assert set(att.filter(pl.col("soc_code") == "00-0000")["occ_type"]) == {"Summary"}
    assert any(f"{y0 - 3} and {y0 - 1}" in n for n in notes)


@pytest.mark.parametrize(("y0", "style"), [(2019, "numeric"), (2020, "plain"), (2021, "plain")])
def test_one_row_header_cycles(tmp_path: Path, y0: int, style: str) -> None:
    tables = parse(workbook_one_row(tmp_path, f"occupation_{y0}.xlsx", y0, style))
    _check_cycle(tables, y0)
    _check_attainment(tables, y0)


def test_2021_31_headers_map_by_meaning(tmp_path: Path) -> None:
    """"Employment change, 2021-31" is the numeric change and "Percent employment change, 2021-31" the percent."""
    df = parse(workbook_one_row(tmp_path, "occupation.xlsx", 2021, "plain"))["ep_occupations"][0]
    nurses = df.filter(pl.col("soc_code") == "29-1141").row(0, named=True)
    assert (nurses["emp_change_k"], nurses["emp_change_pct"]) == (176.8, 5.6)


def test_2018_28_grouped_header_and_combined_title_code(tmp_path: Path) -> None:
    tables = parse(workbook_grouped(tmp_path, "occupation_2018-28.xlsx", 2018))
    _check_cycle(tables, 2018)
    _check_attainment(tables, 2018)


def test_grouping_row_above_the_header_row(tmp_path: Path) -> None:
    """Groups ("Employment", "Occupational separations, ... annual average") in the row above "2019", "Number",
    "Labor force exits": merged the same way; a column headed in full ("Occupational openings, ...") keeps its own name."""
    tables = parse(workbook_grouped(tmp_path, "occupation_2019-29.xlsx", 2019, groups_above=True))
    _check_cycle(tables, 2019)


def test_separations_table_found_by_its_title(tmp_path: Path) -> None:
    """A workbook that numbers the separations table differently still parses (found by its title)."""
    tables = parse(workbook_grouped(tmp_path, "occupation.xlsx", 2018, table="Table 1.11"))
    _check_cycle(tables, 2018)


def test_2023_33_style_has_no_attainment(shared_data: Path) -> None:
    assert set(parse(shared_data / "bls_ep" / "occupation_2023-33.xlsx")) == {"ep_occupations"}


def test_cycles_through_the_cli(tmp_path: Path) -> None:
    """Three old-style cycles ingested side by side: each its own vintage, each its own total."""
    src = tmp_path / "downloads"
    src.mkdir()
    workbook_grouped(src, "occupation_2018-28.xlsx", 2018)
    workbook_one_row(src, "occupation_2019-29.xlsx", 2019, "numeric")
    workbook_one_row(src, "occupation_2021-31.xlsx", 2021, "plain", with_53=False)
    data = tmp_path / "data"
    proc = run_cli("ingest", "bls-ep", "--offline", "--from", str(src), data_dir=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from gapkit.store import Store

    store = Store(data)
    assert sorted(store.vintages("ep_occupations")) == ["2018-28", "2019-29", "2021-31"]
    assert sorted(store.vintages("ep_attainment")) == ["2018-28", "2019-29"]
    for cycle in ("2018-28", "2019-29", "2021-31"):
        total = store.scan("ep_occupations", cycle).filter(pl.col("soc_code") == "00-0000").collect()["openings_k"].item()
        assert total == matrix_rows(int(cycle[:4]))[0]["open"]


# -- Table 5.3 on real data ------------------------------------------------------------------------
def test_real_attainment_2022_32(shared_data: Path) -> None:
    tables = parse(shared_data / "bls_ep" / "occupation_2022-32.xlsx")
    att, cycle, notes = tables["ep_attainment"]
    ep = tables["ep_occupations"][0]
    assert cycle == "2022-32" and att.columns == SCHEMAS["ep_attainment"].names
    assert att["soc_code"].n_unique() == 833 and att.height == 833 * 7  # 00-0000 + the 832 detailed occupations
    lines = set(ep.filter(pl.col("occ_type") == "Line item")["soc_code"])
    assert set(att["soc_code"]) == lines | {"00-0000"}
    assert att.filter(pl.col("soc_code") == "00-0000")["occ_type"].unique().to_list() == ["Summary"]
    # every row is a percent distribution, to the rounding of seven published values
    sums = att.group_by("soc_code").agg(pl.col("share").sum())
    assert (sums["share"] - 1).abs().max() <= 0.0035 + 1e-9
    assert not any("summing to more than rounding allows" in n for n in notes)
    # the economy-wide row and registered nurses, as published
    total = att.filter(pl.col("soc_code") == "00-0000").sort("level_rank")["share"].to_list()
    assert total == pytest.approx([0.077, 0.231, 0.195, 0.095, 0.245, 0.112, 0.046])
    rn = dict(att.filter(pl.col("soc_code") == "29-1141").select("level", "share").iter_rows())
    assert rn["associate"] == pytest.approx(0.282) and rn["bachelor"] == pytest.approx(0.533)
    # footnote marks stripped from titles; 459 occupations are footnoted "not an exact match with ACS"
    assert not att["title"].str.contains(r"\(\d\)").any()
    ceo = att.filter(pl.col("soc_code") == "11-1011")
    assert ceo["title"][0] == "Chief executives" and ceo["acs_exact_match"][0] is False
    assert att.filter(~pl.col("acs_exact_match"))["soc_code"].n_unique() == 459
    assert att["acs_exact_match"].null_count() == 0
    assert any("2019 and 2021" in n for n in notes)
    assert att["level_label"].unique().len() == 7 and att["share"].null_count() == 0


# -- bad Table 5.3 ---------------------------------------------------------------------------------
def _bad_53(tmp_path: Path, name: str, change: dict[str, list[object]] | None = None, header: list[str] | None = None) -> Path:
    p = workbook_one_row(tmp_path, name, 2021, "plain")
    sheets = {"Index": [["Occupation.xlsx contents"]]}
    import fastexcel

    reader = fastexcel.read_excel(str(p))
    for s in reader.sheet_names:
        rows = [list(r) for r in reader.load_sheet(s, header_row=None, dtypes="string").to_polars().iter_rows()]
        sheets[s] = [[_num(v) for v in r] for r in rows]
    t53 = sheets["Table 5.3"]
    if header is not None:
        t53[1] = header
    for code, values in (change or {}).items():
        for r in t53:
            if r[1] == code:
                r[2:9] = values
    return write_xlsx(tmp_path / name, sheets)  # type: ignore[arg-type]


def _num(v: object) -> object:
    return float(v) if isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v) else v


def test_attainment_rows_off_by_more_than_rounding_are_reported(tmp_path: Path) -> None:
    p = _bad_53(tmp_path, "occupation_a.xlsx", {"29-1141": [0.5, 1.0, 3.9, 28.2, 53.3, 10.8, 3.3]})  # sums to 101.0
    att, _, notes = parse(p)["ep_attainment"]
    assert any("29-1141 (101.0)" in n for n in notes)
    assert att.filter(pl.col("soc_code") == "29-1141")["share"].sum() == pytest.approx(1.01)  # stored as published


@pytest.mark.parametrize(("change", "needles"), [
    ({"29-1141": [0.5, 1.0, 3.9, 8.2, 53.3, 10.8, 2.3]}, ["29-1141", "sum to 80.0"]),
    ({"29-1141": [0.5, 1.0, 3.9, "n/a", 53.3, 10.8, 2.3]}, ["Table 5.3", "'n/a'", "29-1141"]),
    ({"29-1141": [0.5, 1.0, 3.9, -28.2, 53.3, 10.8, 2.3]}, ["outside 0-100", "29-1141"]),
])
def test_attainment_bad_values(tmp_path: Path, change: dict[str, list[object]], needles: list[str]) -> None:
    p = _bad_53(tmp_path, "occupation_b.xlsx", change)
    with pytest.raises(SourceFormatError) as exc:
        BlsEp().parse(p, str(p))
    assert p.name in str(exc.value) and all(n in str(exc.value) for n in needles), str(exc.value)


def test_attainment_schema_drift(tmp_path: Path) -> None:
    header = ["2021 National Employment Matrix title", "2021 National Employment Matrix code", "Less than high school diploma",
              "High school diploma or equivalent", "Some college", "Associate's degree", "Bachelor's degree", "Graduate degree",
              "Doctoral or professional degree"]
    p = _bad_53(tmp_path, "occupation_c.xlsx", header=header)
    with pytest.raises(SchemaDriftError) as exc:
        BlsEp().parse(p, str(p))
    msg = str(exc.value)
    assert p.name in msg and "master (Master's degree)" in msg and "Table 5.3" in msg and "'Graduate degree'" in msg


def test_bad_attainment_through_the_cli(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    _bad_53(src, "occupation_2021-31.xlsx", {"53-3032": [14.9, 49.7, 21.4, 7.6, 5.6, 0.7, 50.1]})
    data = tmp_path / "data"
    proc = run_cli("ingest", "bls-ep", "--offline", "--from", str(src), data_dir=data)
    assert_clean_error(proc, "occupation_2021-31.xlsx", "53-3032", "Table 5.3")
    assert not (data / "processed" / "ep_occupations").exists()  # nothing half-ingested from the bad file

"""Exports and terminal tables (issue 14, items 3 and 5).

- every ``--out`` format of gap, pathways and programs on the real data, opened with its own reader (polars for
  CSV, JSON and Parquet; fastexcel for the workbook; pandas.read_csv for the CSV, with no junk rows);
- the CSV's ``.meta.json`` sidecar and the workbook's "Sources and method" sheet carry the method and provenance;
- text from a user's file is neutralized in CSV and xlsx cells (never a formula);
- the extension picks the format; a contradicting --format or an unknown extension is refused;
- files honour the umask;
- wrapping, constant-column folding, every-row flags and total rows on small hand-made tables;
- ``--region OH,PA,MI`` and ``--by state --top N`` sorted by the ratio.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import pytest

from gapkit.render.tables import Rows, Total, column_widths, display, markdown_table
from gapkit.render.tables import _table_text as table_text
from tests.conftest import assert_clean_error, run_cli

EXTS = (".csv", ".json", ".parquet", ".md", ".xlsx", ".txt")
COMMANDS = {
    "gap": ["gap", "--sector", "transportation", "--region", "OH"],
    "pathways": ["pathways", "--sector", "transportation", "--region", "OH", "--top", "15"],
    "programs": ["programs", "--sector", "transportation", "--region", "OH", "--top", "15"],
}


def _json_rows(ingested: Path, argv: list[str]) -> dict:
    proc = run_cli(*argv, "--format", "json", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet")}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_out_format_opens_with_its_own_reader(ingested: Path, tmp_path: Path, command: str) -> None:
    import fastexcel
    import pandas as pd
    import polars as pl
    import pyarrow.parquet as pq

    argv = COMMANDS[command]
    want = _json_rows(ingested, argv)
    n, columns, meta = len(want["rows"]), list(want["rows"][0]), want["metadata"]
    assert n > 1
    for ext in EXTS:
        out = tmp_path / f"{command}{ext}"
        proc = run_cli(*argv, "--out", str(out), data_dir=ingested)  # no --format: the extension picks it
        assert proc.returncode == 0, (ext, proc.stderr)
        assert proc.stdout == ""
    # CSV: plain data that polars and pandas read as is, provenance in the sidecar
    csv_path = tmp_path / f"{command}.csv"
    assert not any(line.startswith("#") for line in csv_path.read_text(encoding="utf-8").splitlines())
    frame = pl.read_csv(csv_path, infer_schema_length=None)
    assert frame.height == n and frame.columns == columns
    pdf = pd.read_csv(csv_path)
    assert len(pdf) == n and list(pdf.columns) == columns
    assert pdf[columns[0]].notna().all()  # no junk rows (a "# ..." line would be a row of NaN)
    if "openings" in columns:
        assert pdf["openings"].dtype.kind == "f"  # numbers stay numbers
        assert pdf["openings"].sum() == pytest.approx(sum(r["openings"] for r in want["rows"]), abs=0.01)
    side = json.loads((tmp_path / f"{command}.csv.meta.json").read_text(encoding="utf-8"))
    assert side["method_line"] == meta["method_line"] and side["notes"] == meta["notes"]
    assert side["vintages"]["ep_occupations"]["sha256"] == meta["vintages"]["ep_occupations"]["sha256"] != ""
    # Parquet: the same record in the schema metadata
    t = pq.read_table(tmp_path / f"{command}.parquet")
    assert t.num_rows == n and t.column_names == columns
    assert json.loads(t.schema.metadata[b"gapkit.method"])["method_line"] == side["method_line"]
    assert pl.read_parquet(tmp_path / f"{command}.parquet").height == n
    # JSON
    doc = json.loads((tmp_path / f"{command}.json").read_text(encoding="utf-8"))
    assert len(doc["rows"]) == n and doc["metadata"]["method_line"] == meta["method_line"]
    assert pl.DataFrame(doc["rows"], infer_schema_length=None).height == n
    # Markdown and text: the table as shown, with the method
    md = (tmp_path / f"{command}.md").read_text(encoding="utf-8")
    assert "|---" in md and "Units: people per year" in " ".join(md.split())
    txt = (tmp_path / f"{command}.txt").read_text(encoding="utf-8")
    assert "───" in txt and "Units: people per year" in " ".join(txt.split())
    # xlsx: the data sheet typed, notes, sources and method with every dataset's sha256
    book = tmp_path / f"{command}.xlsx"
    reader = fastexcel.read_excel(book)
    assert reader.sheet_names[0] == (command if command != "programs" else "programs")
    assert reader.sheet_names[-1] == "Sources and method"
    data = reader.load_sheet(0).to_polars()
    assert data.height == n and data.columns == columns
    for c in ("openings", "supply", "ratio", "completions"):
        if c in columns:
            assert data.schema[c].is_numeric(), c
    if meta["notes"]:
        assert "Notes" in reader.sheet_names
        assert reader.load_sheet("Notes").to_polars()["note"].to_list() == meta["notes"]
    src = reader.load_sheet("Sources and method", header_row=None).to_polars()
    cells = [str(v) for col in src.columns for v in src[col].to_list() if v is not None]
    assert meta["method_line"] in cells
    for note in meta["notes"]:
        assert note in cells
    for key in ("ep_occupations", "ipeds_completions", "cip_soc"):
        recs = meta["vintages"][key] if isinstance(meta["vintages"][key], list) else [meta["vintages"][key]]
        for rec in recs:
            assert rec["sha256"] in cells and rec["retrieved"] in cells, key
    xml = _sheet_xml(book)
    assert "<pane " in xml["xl/worksheets/sheet1.xml"] and 'state="frozen"' in xml["xl/worksheets/sheet1.xml"]  # frozen header
    styles = zipfile.ZipFile(book).read("xl/styles.xml").decode()
    assert "#,##0" in styles  # thousands separators for people
    if "ratio" in columns:
        assert 'formatCode="0.00"' in styles  # 2 decimals for ratios


def test_xlsx_and_csv_neutralize_formulas_from_a_users_file(ingested: Path, tmp_path: Path) -> None:
    import fastexcel
    import pandas as pd

    f = tmp_path / "evil.toml"
    f.write_text('name = "evil"\ntitle = "=HYPERLINK(\\"http://x\\",\\"click\\")"\n[[subsectors]]\nkey = "truck"\n'
                 'title = "Trucking"\nnem_industries = ["484000"]\n[[groups]]\nkey = "drivers"\n'
                 'title = "=cmd|\' /C calc\'!A0"\nsoc = ["53-3"]\n[[groups]]\nkey = "other"\ntitle = "@SUM(1+1)"\nsoc = ["*"]\n',
                 encoding="utf-8")
    for ext in (".xlsx", ".csv"):
        out = tmp_path / f"evil{ext}"
        proc = run_cli("gap", "--sector-file", str(f), "--out", str(out), data_dir=ingested)
        assert proc.returncode == 0, proc.stderr
    rows = pd.read_csv(tmp_path / "evil.csv")
    assert set(rows["group_title"]) == {"'=cmd|' /C calc'!A0", "'@SUM(1+1)"}
    book = fastexcel.read_excel(tmp_path / "evil.xlsx")
    titles = set(book.load_sheet(0).to_polars()["group_title"].to_list())
    assert titles == {"'=cmd|' /C calc'!A0", "'@SUM(1+1)"}
    for name, xml in _sheet_xml(tmp_path / "evil.xlsx").items():
        assert "<f>" not in xml, name  # no formula anywhere, the sector's title on the sources sheet included
    side = json.loads((tmp_path / "evil.csv.meta.json").read_text(encoding="utf-8"))
    assert side["sector_title"].startswith("=HYPERLINK")  # JSON is data: kept as written


def test_extension_and_format_conflicts_are_refused(ingested: Path, tmp_path: Path) -> None:
    cases = [
        (["gap", "--out", str(tmp_path / "g.dat")], ["g.dat", ".dat", ".csv", ".xlsx", ".txt"]),
        (["gap", "--out", str(tmp_path / "g.csv"), "--format", "json"], ["g.csv", "--format json", ".json extension"]),
        (["gap", "--out", str(tmp_path / "g.xlsx"), "--format", "table"], ["g.xlsx", "Excel workbook", "--format table"]),
        (["gap", "--out", str(tmp_path / "g")], ["has no extension", ".parquet"]),
        (["gap", "--format", "xlsx"], ["--out PATH.xlsx"]),
        (["pathways", "--out", str(tmp_path / "p.xls")], ["p.xls", ".xlsx"]),
        (["programs", "--out", str(tmp_path / "p.parquet"), "--format", "csv"], ["p.parquet", "--format csv"]),
        (["find", "truck", "--out", str(tmp_path / "f.tsv")], ["f.tsv"]),
        (["regions", "OH", "--out", str(tmp_path / "r.csv"), "--format", "markdown"], ["r.csv", "--format markdown"]),
        (["occupation", "53-3032", "--out", str(tmp_path / "o.xlsx")], ["o.xlsx", "does not write", ".md", ".json"]),
    ]
    for argv, needles in cases:
        assert_clean_error(run_cli(*argv, data_dir=ingested), *needles)
    assert list(tmp_path.iterdir()) == []
    # the format given explicitly with a file name without extension is the user's choice
    proc = run_cli("gap", "--out", str(tmp_path / "plain"), "--format", "csv", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "plain").read_text().startswith("sector,region,group")
    # and an agreeing --format is fine; .markdown and upper case work too
    for name, fmt in (("a.csv", "csv"), ("b.MD", None), ("c.markdown", "markdown")):
        proc = run_cli("gap", "--out", str(tmp_path / name), *(["--format", fmt] if fmt else []), data_dir=ingested)
        assert proc.returncode == 0, proc.stderr


def test_find_regions_and_occupation_pick_the_format_from_the_extension(ingested: Path, tmp_path: Path) -> None:
    import fastexcel
    import pandas as pd

    proc = run_cli("find", "truck driver", "--out", str(tmp_path / "f.xlsx"), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    found = fastexcel.read_excel(tmp_path / "f.xlsx").load_sheet("matches").to_polars()
    assert found["code"][0] == "53-3032"
    proc = run_cli("regions", "OH", "--out", str(tmp_path / "r.csv"), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_csv(tmp_path / "r.csv")) > 10 and (tmp_path / "r.csv.meta.json").is_file()
    proc = run_cli("occupation", "53-3032", "--out", str(tmp_path / "o.json"), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "o.json").read_text())["soc_code"] == "53-3032"
    proc = run_cli("occupation", "53-3032", "--out", str(tmp_path / "o.md"), data_dir=ingested)
    assert proc.returncode == 0 and (tmp_path / "o.md").read_text().startswith("# ")


def test_files_honour_the_umask(ingested: Path, tmp_path: Path) -> None:
    for ext in (".csv", ".xlsx", ".parquet", ".txt"):
        out = tmp_path / f"g{ext}"
        proc = run_cli("gap", "--out", str(out), data_dir=ingested, preexec_fn=lambda: os.umask(0o027))
        assert proc.returncode == 0, proc.stderr
        assert f"wrote {out}" in proc.stderr, (ext, proc.stderr)  # every format says where it went
    for p in tmp_path.iterdir():
        assert p.stat().st_mode & 0o777 == 0o640, (p.name, oct(p.stat().st_mode))
    assert (tmp_path / "g.csv.meta.json").is_file()


# -- terminal tables on hand-made rows ---------------------------------------------------------------------
def _rows() -> Rows:
    cols = ["sector", "region", "group", "group_title", "openings", "entrants", "supply", "ratio", "ratio_note", "gap",
            "supply_extra", "flags"]
    num = [False, False, False, False, True, True, True, True, False, True, True, False]
    title = "Heavy and tractor-trailer truck drivers, light truck drivers and driver/sales workers together"
    return Rows(cols, num, [
        ("transportation", "OH", "operations", title, 1000.0, 500.0, 100.0, 5.0, None, 400.0, 0.0, "IPEDS coverage caveat; small numbers"),
        ("transportation", "OH", "central", "Central services", 300.0, 100.0, 200.0, 0.5, None, -100.0, 0.0, "IPEDS coverage caveat"),
        ("transportation", "OH", "other", "Other", 50.0, 20.0, 0.0, None, "no supply", 20.0, 0.0, "IPEDS coverage caveat; no supply"),
    ])


def test_constant_columns_fold_into_the_title_and_every_row_flags_into_a_note() -> None:
    d = display(_rows())
    assert d.rows.columns == ["group", "group_title", "openings", "entrants", "supply", "ratio", "ratio_note", "gap", "flags"]
    assert d.constants == ["sector transportation", "region OH", "supply_extra 0"]
    assert d.flag_notes == ["flags on every row: IPEDS coverage caveat."]
    assert [r[-1] for r in d.rows.rows] == ["small numbers", "", "no supply"]
    text = table_text(_rows(), "Transportation in OH", "Method.", [], width=200)
    first = text.splitlines()[0]
    assert first == "Transportation in OH — every row: sector transportation; region OH; supply_extra 0"
    assert "note: flags on every row: IPEDS coverage caveat." in text
    assert "transportation  OH" not in text
    # a single row keeps every column; a core figure that is 0 everywhere stays
    one = Rows(_rows().columns, _rows().numeric, _rows().rows[:1])
    assert display(one).rows.columns == one.columns and display(one).constants == []
    zero = Rows(["group", "supply", "supply_extra"], [False, True, True], [("a", 0.0, 0.0), ("b", 0.0, 0.0)])
    assert display(zero).rows.columns == ["group", "supply"] and display(zero).constants == ["supply_extra 0"]
    # an empty text column is dropped without a word
    empty = Rows(["group", "note", "openings"], [False, False, True], [("a", "", 1.0), ("b", None, 2.0)])
    assert display(empty).rows.columns == ["group", "openings"] and display(empty).constants == []


def test_total_row_sums_additive_columns_and_recomputes_the_ratio() -> None:
    d = display(_rows(), Total(("openings", "entrants", "growth", "supply", "gap", "supply_extra"), ("entrants", "supply")))
    assert d.total is not None
    cells = dict(zip(d.rows.columns, d.total, strict=True))
    assert cells["group"] == "total" and cells["group_title"] == ""
    assert cells["openings"] == "1,350" and cells["entrants"] == "620" and cells["supply"] == "300" and cells["gap"] == "320"
    assert cells["ratio"] == "2.07"  # 620 / 300, not 5.0 + 0.5
    assert any("not a sum or mean of ratios" in n for n in d.flag_notes)
    text = table_text(_rows(), "T", "Method.", [], width=200, total=Total(("openings", "entrants", "supply", "gap"), ("entrants", "supply")))
    body = text.splitlines()
    assert re.match(r"^total\s+1,350\s+620\s+300\s+2\.07\s+320$", body[body.index("") - 1])
    assert "**total**" in markdown_table(_rows(), "T", "M", [], total=Total(("openings",)))
    shown = display(_rows(), Total(("openings",), None, shown_only=True))
    assert any("3 rows shown (--top)" in n for n in shown.flag_notes)
    assert display(_rows()).total is None  # no Total: no total row


def test_long_text_wraps_within_its_column_instead_of_being_cut() -> None:
    text = table_text(_rows(), "Transportation in OH", "Method.", [], width=100)
    assert "…" not in text
    lines = text.splitlines()
    assert all(len(ln) <= 100 for ln in lines), max(lines, key=len)
    joined = " ".join(" ".join(ln.split()) for ln in lines)
    for word in ("Heavy", "tractor-", "trailer", "together"):
        assert word in joined
    header = next(ln for ln in lines if ln.startswith("group"))
    start = header.index("group_title")
    # the long title continues on the next lines in the same column
    first = next(i for i, ln in enumerate(lines) if ln.startswith("operations"))
    assert lines[first + 1][:start].strip() == "" and lines[first + 1][start:].strip()
    # at 250 columns nothing wraps: the whole title on one line
    wide = table_text(_rows(), "T", "M", [], width=250)
    assert "Heavy and tractor-trailer truck drivers, light truck drivers and driver/sales workers together" in wide


def test_column_widths_keep_numbers_and_share_the_rest() -> None:
    assert column_widths([10, 5, 40], [False, True, False], 200) == [10, 5, 40]
    w = column_widths([10, 5, 100, 60], [False, True, False, False], 80)
    assert w[1] == 5 and w[0] == 10 and sum(w) + 2 * 3 <= 80 and w[2] >= w[3] - 1
    assert column_widths([30, 30], [False, False], 20, words=[14, 3]) == [14, 8]  # never below the longest word


# -- several states, and --top after sorting -----------------------------------------------------------------
def test_region_several_states_side_by_side(ingested: Path) -> None:
    from gapkit.workspace import Workspace

    three = _json_rows(ingested, ["gap", "--sector", "transportation", "--region", "OH,PA,MI"])
    every = _json_rows(ingested, ["gap", "--sector", "transportation", "--by", "state"])
    by_state = {r["region"]: r for r in every["rows"]}
    assert sorted(r["region"] for r in three["rows"]) == ["MI", "OH", "PA"]
    for r in three["rows"]:
        for k in ("openings", "entrants", "supply", "gap"):
            assert r[k] == pytest.approx(by_state[r["region"]][k], abs=0.01), (r["region"], k)
    ratios = [r["ratio"] for r in three["rows"]]
    assert ratios == sorted(ratios, reverse=True)
    assert three["metadata"]["region"] == "OH,PA,MI" and three["metadata"]["region_name"] == "Ohio, Pennsylvania and Michigan"
    oh = _json_rows(ingested, ["gap", "--sector", "transportation", "--region", "OH"])
    assert sum(r["supply"] for r in oh["rows"]) == pytest.approx(next(r for r in three["rows"] if r["region"] == "OH")["supply"], abs=0.05)
    # the library resolves the same region (names too)
    lib = Workspace(ingested).gap("transportation", region="Ohio, Pennsylvania, MI")
    assert sorted(lib.table["region"].to_list()) == ["MI", "OH", "PA"]
    # the terminal table: one row per state and their total
    proc = run_cli("gap", "--sector", "transportation", "--region", "oh, pa ,mi", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    body = proc.stdout.splitlines()
    assert "Ohio, Pennsylvania and Michigan" in body[0]
    assert sum(1 for ln in body if re.match(r"^(OH|PA|MI)\s", ln)) == 3 and any(ln.startswith("total ") for ln in body)
    # a metro's name with a comma is still a metro; bad lists are clear errors
    proc = run_cli("gap", "--sector", "transportation", "--region", "Columbus, OH", "--format", "json", data_dir=ingested)
    assert proc.returncode == 0 and json.loads(proc.stdout)["metadata"]["region"] == "metro:18140"
    assert_clean_error(run_cli("gap", "--region", "OH,PX", data_dir=ingested), "'PX' is not a state", "OH,PA,MI")
    assert_clean_error(run_cli("gap", "--region", "OH,,MI", data_dir=ingested), "empty state")
    assert_clean_error(run_cli("gap", "--region", "OH,US", data_dir=ingested), "US is not a state")
    assert_clean_error(run_cli("gap", "--region", "OH,PA", "--by", "group", data_dir=ingested), "side by side", "--by group")
    assert_clean_error(run_cli("pathways", "--region", "OH,PA", data_dir=ingested), "--region OH,PA", "one area")


def test_by_state_top_sorts_by_the_ratio_first(ingested: Path) -> None:
    top = _json_rows(ingested, ["gap", "--sector", "transportation", "--by", "state", "--top", "10"])["rows"]
    every = _json_rows(ingested, ["gap", "--sector", "transportation", "--by", "state"])["rows"]
    assert len(top) == 10
    ratios = [r["ratio"] for r in every if r["ratio"] is not None]
    assert [r["ratio"] for r in top] == sorted(ratios, reverse=True)[:10]
    assert [r["region"] for r in top] != sorted(r["region"] for r in top)
    gap = _json_rows(ingested, ["gap", "--sector", "transportation", "--by", "state", "--top", "5", "--sort", "gap"])["rows"]
    assert [r["gap"] for r in gap] == sorted((r["gap"] for r in every), reverse=True)[:5]
    proc = run_cli("gap", "--sector", "transportation", "--by", "state", "--top", "10", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert "The total row sums the 10 rows shown (--top)" in " ".join(proc.stdout.split())


def test_a_withheld_large_ratio_ranks_by_its_bound(ingested: Path) -> None:
    """Areas side by side sort by the ratio: a row printed as "> N" (too few completers for a ratio, but at least N
    openings per completer) ranks as N, not after every ratio; "no meaningful supply" and other unknowns go last."""
    rows = _json_rows(ingested, ["gap", "--sector", "transportation", "--by", "metro", "--region", "OH"])["rows"]

    def key(r: dict) -> float | None:
        if r["ratio"] is not None:
            return r["ratio"]
        note = r["ratio_note"] or ""
        return float(note[2:].replace(",", "")) if note.startswith("> ") else (float("inf") if note == "no supply" else None)

    keys = [key(r) for r in rows]
    known = [k for k in keys if k is not None]
    assert any((r["ratio_note"] or "").startswith("> ") for r in rows), "the Ohio metros have a '> N' row to rank"
    assert keys[:len(known)] == sorted(known, reverse=True) and all(k is None for k in keys[len(known):])


def test_areas_side_by_side_total_is_the_areas_listed_not_the_state(ingested: Path) -> None:
    """Ohio's metros leave out rural counties and Cincinnati counts its Kentucky and Indiana parts: the total row
    is labelled as the sum of the areas listed; with --supply-area state every area counts the same statewide
    completers, so there is no total at all."""
    base = ["gap", "--sector", "transportation", "--by", "metro", "--region", "OH"]
    proc = run_cli(*base, data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("areas listed") for line in lines) and not any(line.startswith("total ") for line in lines)
    proc = run_cli(*base, "--supply-area", "state", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert not any(line.startswith(("areas listed", "total ")) for line in proc.stdout.splitlines())


def test_stdout_csv_is_data_and_the_method_goes_to_stderr(ingested: Path) -> None:
    import pandas as pd

    proc = run_cli("gap", "--sector", "healthcare", "--format", "csv", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_csv(io.StringIO(proc.stdout))) == len(_json_rows(ingested, ["gap", "--sector", "healthcare"])["rows"])
    assert proc.stderr.startswith("# Sources: ")

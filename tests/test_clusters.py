"""The Advance CTE Career Clusters lens on the real crosswalk workbooks (user-supplied, read in place):
loading with provenance, the full-framework fallback, bad workbooks, and --by cluster / --cluster on
pathways and programs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SourceFormatError, UsageError
from gapkit.ingestion.clusters import load, parse_workbook
from gapkit.store import Store, sha256_file
from gapkit.workspace import Workspace
from tests.conftest import assert_clean_error, run_cli

pytest_plugins = ["tests.pathways_support"]  # the pw_dir / pw_ws fixtures


def clusters_dir(shared: Path) -> Path:
    return shared / "data" / "careerclusters"


CLUSTERS = 14
SUB_CLUSTERS = 72


def test_loaded_with_provenance(pw_dir: Path, shared: Path) -> None:
    store = Store(pw_dir)
    soc = store.scan("cluster_soc", "2024").collect()
    cip = store.scan("cluster_cip", "2024").collect()
    assert soc.height == 1203 and soc["soc_code"].n_unique() == 851
    assert cip.height == 4686 and cip["cipcode"].n_unique() == 1945  # 4,725 rows less 39 NO MATCH sentinels
    for f in (soc, cip):
        assert f["cluster"].n_unique() == CLUSTERS and f["sub_cluster"].n_unique() == SUB_CLUSTERS
        assert f.null_count().sum_horizontal().item() == 0
    assert soc["soc_code"].str.contains(r"^\d{2}-\d{4}$").all() and cip["cipcode"].str.contains(r"^\d{2}\.\d{4}$").all()
    assert "99.9999" not in cip["cipcode"].to_list()
    assert list(soc.columns) == ["soc_code", "title", "cluster", "sub_cluster", "source_file", "source_unit"]
    e = store.entry("cluster_soc", "2024")
    assert e is not None and e.source == "careerclusters"
    assert e.sha256 == sha256_file(clusters_dir(shared) / "SOC_Career_Clusters_Crosswalk.xlsx")
    assert set(soc["source_file"].cast(pl.String).unique()) == {"SOC_Career_Clusters_Crosswalk.xlsx"}


def test_full_framework_gives_the_same_alignments(shared: Path, tmp_path: Path) -> None:
    cc = clusters_dir(shared)
    full = parse_workbook(cc / "Full_Framework_Crosswalk.xlsx")
    assert full.full and set(full.frames) == {"soc", "cip"}
    assert any("14 cluster heading row(s)" in n for n in full.notes)
    for kind, name, code in (("soc", "SOC_Career_Clusters_Crosswalk.xlsx", "soc_code"), ("cip", "CIP_Career_Clusters_Crosswalk.xlsx", "cipcode")):
        dedicated = parse_workbook(cc / name).frames[kind]
        key = [code, "cluster", "sub_cluster"]
        assert set(full.frames[kind].select(key).iter_rows()) == set(dedicated.select(key).iter_rows())
    # loading all four workbooks: the dedicated sheets win, the framework is reported as not used
    rep = load([cc], tmp_path / "d")
    assert rep.written == {"cluster_soc": 1203, "cluster_cip": 4686}
    assert any("Full_Framework_Crosswalk.xlsx: its SOC alignments were not used" in n for n in rep.notes)


def test_bad_workbooks_leave_the_store_untouched(pw_dir: Path, shared: Path, tmp_path: Path) -> None:
    cc = clusters_dir(shared)
    data = tmp_path / "d"
    load([cc / "SOC_Career_Clusters_Crosswalk.xlsx"], data)
    before = (data / "manifest.json").read_bytes()
    html = tmp_path / "CIP_Career_Clusters_Crosswalk.xlsx"
    html.write_bytes(b"<!DOCTYPE html><html><body>Access denied</body></html>")
    trunc = tmp_path / "truncated.xlsx"
    trunc.write_bytes((cc / "CIP_Career_Clusters_Crosswalk.xlsx").read_bytes()[:5000])
    other = shared / "data" / "crosswalk" / "CIP2020_SOC2018_Crosswalk.xlsx"
    for bad, needle in ((html, "HTML page"), (trunc, "truncated or corrupt"), (other, "is not an Advance CTE Career Clusters crosswalk")):
        with pytest.raises(SourceFormatError) as exc:
            load([cc / "SOC_Career_Clusters_Crosswalk.xlsx", bad], data)
        assert needle in exc.value.message and str(bad) in exc.value.message
    with pytest.raises(UsageError, match="no such file"):
        load([tmp_path / "missing.xlsx"], data)
    assert (data / "manifest.json").read_bytes() == before
    # a CLI failure is one clean paragraph
    assert_clean_error(run_cli("clusters", "load", str(html), data_dir=data), "HTML page")


def test_cli_load_and_list(shared: Path, tmp_path: Path) -> None:
    data = tmp_path / "d"
    cc = clusters_dir(shared)
    proc = run_cli("clusters", "load", str(cc / "SOC_Career_Clusters_Crosswalk.xlsx"), str(cc / "CIP_Career_Clusters_Crosswalk.xlsx"),
                   data_dir=data)
    assert proc.returncode == 0, proc.stderr
    assert "wrote cluster_soc 2024: 1,203 rows" in proc.stdout and "wrote cluster_cip 2024: 4,686 rows" in proc.stdout
    proc = run_cli("clusters", "--format", "json", data_dir=data)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    assert len(rows) == SUB_CLUSTERS
    assert {r["cluster"] for r in rows} >= {"Supply Chain & Transportation", "Healthcare & Human Services"}
    assert_clean_error(run_cli("clusters", data_dir=tmp_path / "empty"), "gapkit clusters load")


def test_pathways_by_cluster(pw_ws: Workspace, pw_dir: Path) -> None:
    r = pw_ws.pathways("all", region="OH", by="cluster")
    t = r.table
    whole = t.filter(pl.col("sub_cluster") == "(whole cluster)")
    assert whole.height == CLUSTERS
    assert t.filter(pl.col("sub_cluster") != "(whole cluster)").height == SUB_CLUSTERS
    occ = r.occupations
    links = Store(pw_dir).scan("cluster_soc").select("soc_code", "cluster", "sub_cluster").collect()
    for row in whole.iter_rows(named=True):
        socs = links.filter(pl.col("cluster") == row["cluster"])["soc_code"].unique()
        mine = occ.filter(pl.col("soc_code").is_in(socs.to_list()))
        assert row["occupations"] == mine.height
        assert row["openings"] == pytest.approx(mine["openings"].sum())
        assert row["supply"] == pytest.approx(mine["supply"].sum())
        subs = t.filter((pl.col("cluster") == row["cluster"]) & (pl.col("sub_cluster") != "(whole cluster)"))
        assert row["openings"] <= subs["openings"].sum() + 1e-6  # an occupation may sit in several sub-clusters
    sc = whole.filter(pl.col("cluster") == "Supply Chain & Transportation").row(0, named=True)
    assert sc["priority_occupations"] > 10 and "Heavy and tractor-trailer truck drivers" in sc["top_occupations"]


def test_cluster_filter(pw_ws: Workspace, pw_dir: Path) -> None:
    r = pw_ws.pathways("all", region="OH", cluster="supply chain & transportation")
    links = Store(pw_dir).scan("cluster_soc").filter(pl.col("cluster") == "Supply Chain & Transportation").collect()
    assert set(r.table["soc_code"]) <= set(links["soc_code"]) and r.table.height > 50
    assert "53-3032" in r.table["soc_code"].to_list()
    sub = pw_ws.pathways("all", region="OH", cluster="Ground & Rail Transportation")
    assert 0 < sub.table.height < r.table.height
    assert sub.table["sub_clusters"].str.contains("Ground & Rail Transportation").all()
    assert "sub-cluster Ground & Rail Transportation" in sub.title
    with pytest.raises(UsageError, match="matches several"):
        pw_ws.pathways("all", region="OH", cluster="Transportation")
    # programs: the CIP side of the same cluster
    p = pw_ws.programs(region="OH", cluster="Supply Chain & Transportation")
    cips = Store(pw_dir).scan("cluster_cip").filter(pl.col("cluster") == "Supply Chain & Transportation").collect()
    assert p.programs.height > 10 and set(p.programs["cipcode"]) <= set(cips["cipcode"])
    assert "49.0205" in p.programs["cipcode"].to_list()
    pc = pw_ws.programs(region="OH", by="cluster").programs
    assert pc.filter(pl.col("sub_cluster") == "(whole cluster)").height == CLUSTERS
    row = pc.filter((pl.col("cluster") == "Supply Chain & Transportation") & (pl.col("sub_cluster") == "(whole cluster)")).row(0, named=True)
    assert row["programs"] == p.programs.height
    assert row["undersupplied"] + row["balanced"] + row["oversupplied"] + row["weakly_aligned"] <= row["programs"]


def test_cli_cluster_lens(pw_dir: Path) -> None:
    proc = run_cli("pathways", "--region", "OH", "--by", "cluster", "--format", "csv", data_dir=pw_dir)
    assert proc.returncode == 0, proc.stderr
    assert "Supply Chain & Transportation,(whole cluster)" in proc.stdout
    proc = run_cli("programs", "--region", "OH", "--cluster", "Digital Technology", "--top", "5", data_dir=pw_dir)
    assert proc.returncode == 0 and "Career Cluster Digital Technology" in proc.stdout, proc.stderr


def test_copy_of_workbook_under_another_name_is_recognized(shared: Path, tmp_path: Path) -> None:
    src = clusters_dir(shared) / "SOC_Career_Clusters_Crosswalk.xlsx"
    renamed = tmp_path / "my clusters.xlsx"
    shutil.copy(src, renamed)
    rep = load([tmp_path], tmp_path / "d")
    assert rep.written == {"cluster_soc": 1203}
    assert any("No CIP alignments" in n for n in rep.notes)

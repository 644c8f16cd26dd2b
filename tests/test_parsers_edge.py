"""Parser edge cases on small hand-made files in the official layouts (tests/fixtures)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SourceFormatError
from gapkit.ingestion.sources.ipeds import Ipeds
from gapkit.ingestion.sources.oews import Oews
from gapkit.ingestion.sources.projections import Projections

FIX = Path(__file__).resolve().parent / "fixtures"


def test_oews_special_values_never_zero() -> None:
    p = FIX / "oews" / "national_M2024_dl.csv"
    assert Oews().recognize(p, p.read_bytes()[:512])
    [t] = Oews().parse(p, str(p))
    d = {r["soc_code"]: r for r in t.frame.iter_rows(named=True)}
    assert d["00-0000"]["a_median"] == 49_500 and d["00-0000"]["tot_emp"] == 1_000_000  # thousands separators
    top = d["29-1228"]
    assert top["a_median"] is None and top["a_median_flag"] == "top-coded" and top["a_median_topcode"] == 239_200.0
    assert d["27-2011"]["a_median"] is None and d["27-2011"]["a_median_flag"] == "not available"
    assert d["45-2099"]["tot_emp"] is None and d["45-2099"]["emp_flag"] == "not available"
    assert d["53-3032"]["emp_flag"] == "<0.5% of establishments"  # O*NET-style suffix normalized too
    assert t.frame.filter(pl.col("a_median") == 0).height == 0


def test_ipeds_agency_layout_flags_second_majors_and_excel_cips(tmp_path: Path) -> None:
    p = FIX / "ipeds" / "c2099_a.csv"
    [t] = Ipeds().parse(p, str(p))
    f = t.frame
    assert set(f["cipcode"]) == {"51.3800", "01.0101", "51", "99"}  # 51.38 and 1.0101 repaired
    assert f.filter(pl.col("cip_level") == 6)["completions"].sum() == 15 == f.filter(pl.col("cip_level") == 0)["completions"].sum()
    assert f["completions_men"].sum() == 2 + 3 + 5 + 5  # second majors dropped
    # the revised member wins inside a zip
    z = tmp_path / "C2099_A.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("c2099_a.csv", p.read_bytes().replace(b",51.38,1,3,R,10", b",51.38,1,3,R,99"))
        zf.writestr("c2099_a_rv.csv", p.read_bytes())
    [t2] = Ipeds().parse(z, str(z))
    assert t2.frame["source_file"][0] == "C2099_A.zip:c2099_a_rv.csv"


def test_ipeds_directory_cp1252_padding_and_missing(tmp_path: Path) -> None:
    p = FIX / "ipeds" / "hd2099.csv"
    [t] = Ipeds().parse(p, str(p))
    a, b = t.frame.sort("unitid").iter_rows(named=True)
    assert a["name"] == "Universit\u00e9 de l\u2019Exemple" and a["city"] == "Montr\u00e9al"
    assert a["state_fips"] == "39" and a["county_fips"] == "39049" and a["cbsa"] == "18140"
    assert b["county_fips"] is None and b["cbsa"] is None and b["cbsa_type"] is None and b["county_name"] is None


def test_projections_onet_suffix_and_levels() -> None:
    p = FIX / "projections" / "longterm_2099-09_oh.csv"
    [t] = Projections().parse(p, str(p))
    f = t.frame
    assert t.vintage == "2099-09" and t.unit == "ST:39"
    assert set(f["soc_code"]) == {"00-0000", "29-1141", "53-3032", "53-3000"}
    assert dict(zip(f["soc_code"], f["soc_level"], strict=True))["53-3000"] == "minor"
    assert f["state"].unique().to_list() == ["OH"]


def test_truncated_json_and_html(tmp_path: Path) -> None:
    j = tmp_path / "56"
    j.write_text('{"rows": [{"Area": "Wyoming", "STFIPS": "56"')
    with pytest.raises(SourceFormatError, match="malformed or truncated"):
        Projections().parse(j, str(j))
    h = tmp_path / "c2099_a.csv"
    h.write_text("<!DOCTYPE html><html>Not found</html>")
    with pytest.raises(SourceFormatError, match="HTML page"):
        Ipeds().parse(h, str(h))

"""CIP 2020 - SOC 2018 crosswalk source: the real NCES workbook (../shared, read in place) and
hand-made / damaged workbooks built in tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.sources.base import IngestOptions
from gapkit.ingestion.sources.crosswalk import SCHEMAS, Crosswalk
from tests.minixlsx import write_xlsx

SRC = Crosswalk()
NAME = "CIP2020_SOC2018_Crosswalk.xlsx"
HEADER = ["CIP2020Code", "CIP2020Title", "SOC2018Code", "SOC2018Title"]


def real_copies(shared: Path) -> list[Path]:
    return [shared / "data/crosswalk" / NAME, shared / "mirror/nces.ed.gov/ipeds/cipcode/Files" / NAME]


def parse(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    links, unmatched = SRC.parse(path, str(path))
    assert (links.dataset, links.vintage, links.unit) == ("cip_soc", "CIP2020-SOC2018", "XW")
    assert (unmatched.dataset, unmatched.vintage, unmatched.unit) == ("cip_soc_unmatched", "CIP2020-SOC2018", "XW")
    assert links.frame.schema == pl.Schema(SCHEMAS["cip_soc"])
    assert unmatched.frame.schema == pl.Schema(SCHEMAS["cip_soc_unmatched"])
    return links.frame, unmatched.frame


def test_remote() -> None:
    [r] = SRC.remotes(IngestOptions())
    assert r.url == "https://nces.ed.gov/ipeds/cipcode/Files/CIP2020_SOC2018_Crosswalk.xlsx" and r.raw_name == NAME


def test_real_workbook_counts(shared: Path) -> None:
    frames = [parse(p) for p in real_copies(shared)]
    for xw, um in frames:
        # MANIFEST-nces.md section 1: 2,142 CIP and 867 SOC codes besides the sentinels, 194 + 180 no-match rows
        cips = set(xw["cipcode"]) | set(um.filter(pl.col("kind") == "cip")["code"])
        socs = set(xw["soc_code"]) | set(um.filter(pl.col("kind") == "soc")["code"])
        assert len(cips) == 2142 and len(socs) == 867
        assert um.group_by("kind").len().sort("kind").rows() == [("cip", 194), ("soc", 180)]
        assert xw["cipcode"].n_unique() == 2142 - 194 and xw["soc_code"].n_unique() == 867 - 180
        assert xw.height == 6097 - 194 - 180  # no duplicated links in the sheet
        # no sentinel survives, unmatched codes are not linked anywhere
        assert not xw["soc_code"].is_in(["99-9999"]).any() and not xw["cipcode"].is_in(["99.9999"]).any()
        assert not (xw["soc_title"].str.to_uppercase() == "NO MATCH").any() and not (xw["cip_title"].str.to_uppercase() == "NO MATCH").any()
        assert not um["code"].is_in(["99-9999", "99.9999"]).any()
        assert not set(um.filter(pl.col("kind") == "cip")["code"]) & set(xw["cipcode"])
        assert not set(um.filter(pl.col("kind") == "soc")["code"]) & set(xw["soc_code"])
        assert xw["cipcode"].str.contains(r"^\d{2}\.\d{4}$").all() and xw["soc_code"].str.contains(r"^\d{2}-\d{4}$").all()
        assert xw["source_file"].unique().to_list() == [NAME] and um["source_file"].unique().to_list() == [NAME]
        nurse = xw.filter(pl.col("cipcode") == "51.3801")
        assert "29-1141" in nurse["soc_code"].to_list() and nurse["cip_title"][0].endswith(".")
    assert frames[0][0].equals(frames[1][0]) and frames[0][1].equals(frames[1][1])  # mirror copy is byte-identical


def test_recognize(shared: Path, tmp_path: Path) -> None:
    for p in real_copies(shared):
        assert SRC.recognize(p, p.read_bytes()[:512])
    renamed = tmp_path / "cip_soc_2020.xlsx"  # a renamed copy is still known by its CIP-SOC sheet
    shutil.copy(real_copies(shared)[0], renamed)
    assert SRC.recognize(renamed, renamed.read_bytes()[:512])
    others = [shared / "data/careerclusters/CIP_Career_Clusters_Crosswalk.xlsx", shared / "data/soc/soc_2010_to_2018_crosswalk.xlsx",
              shared / "data/cip/Crosswalk2010to2020.csv", shared / "data/bls_ep/occupation_2024-34.xlsx"]
    for p in others:
        assert not SRC.recognize(p, p.read_bytes()[:512]), p


def test_hand_made_sheet_normalizes_codes_and_splits_sentinels(tmp_path: Path) -> None:
    p = write_xlsx(tmp_path / NAME, {
        "File Guide": [["File Name", "Description"]],
        "CIP-SOC": [
            HEADER,
            ["01.0000", "Agriculture, General.", "19-1011", "Animal Scientists"],
            [1.0101, "Agricultural Business.", "11-9013", "Farmers"],  # Excel turned the code into a number
            [" 51.38 ", "Registered Nursing.", "29-1141.00", "Registered Nurses"],  # padded, O*NET suffix
            ["01.0508", "Taxidermy.", "99-9999", "NO MATCH"],
            ["99.9999", "NO MATCH", "55-1011", "Air Crew Officers"],
            ["01.0000", "Agriculture, General.", "19-1011", "Animal Scientists"],  # repeated link
            [None, None, None, None],  # blank row below the table
            ["01.0000", "Agriculture, General.", "19-1012", None],  # a link with no title is kept
        ],
    })
    xw, um = parse(p)
    assert xw.select("cipcode", "soc_code").rows() == [("01.0000", "19-1011"), ("01.0101", "11-9013"), ("51.3800", "29-1141"), ("01.0000", "19-1012")]
    assert um.select("kind", "code", "title").rows() == [("cip", "01.0508", "Taxidermy."), ("soc", "55-1011", "Air Crew Officers")]


def _fails(path: Path, *needles: str, exc: type[SourceFormatError] = SourceFormatError) -> None:
    with pytest.raises(exc) as info:
        SRC.parse(path, str(path))
    msg = str(info.value)
    assert path.name in msg, msg
    for n in needles:
        assert n in msg, msg


def test_bad_workbooks(tmp_path: Path, shared: Path) -> None:
    real = real_copies(shared)[0].read_bytes()
    (tmp_path / "html.xlsx").write_bytes(b"<!DOCTYPE html><html><body>Access Denied</body></html>")
    _fails(tmp_path / "html.xlsx", "HTML page")
    (tmp_path / "truncated.xlsx").write_bytes(real[: len(real) // 2])
    _fails(tmp_path / "truncated.xlsx", "truncated or corrupt")
    (tmp_path / "empty.xlsx").write_bytes(b"")
    _fails(tmp_path / "empty.xlsx", "empty")
    (tmp_path / "text.xlsx").write_bytes(b"CIP2020Code,SOC2018Code\n01.0000,19-1011\n")
    _fails(tmp_path / "text.xlsx", "not an Excel")
    _fails(write_xlsx(tmp_path / "nosheet.xlsx", {"SOC-CIP": [HEADER]}), "no sheet 'CIP-SOC'")
    _fails(write_xlsx(tmp_path / "header_only.xlsx", {"CIP-SOC": [HEADER]}), "no rows")
    renamed = ["CIP2020Code", "CIP2020Title", "SOC Kode", "SOC2018Title"]
    _fails(write_xlsx(tmp_path / "renamed.xlsx", {"CIP-SOC": [renamed, ["01.0000", "A.", "19-1011", "B"]]}), "soc", "SOC Kode", exc=SchemaDriftError)
    _fails(write_xlsx(tmp_path / "badcode.xlsx", {"CIP-SOC": [HEADER, ["01.0000", "A.", "Animal", "B"]]}), "not CIP/SOC codes", "'Animal'")
    _fails(write_xlsx(tmp_path / "half.xlsx", {"CIP-SOC": [HEADER, ["01.0000", "A.", None, "B"]]}), "lack a CIP or a SOC code")
    _fails(write_xlsx(tmp_path / "sentinels.xlsx", {"CIP-SOC": [HEADER, ["01.0508", "T.", "99-9999", "NO MATCH"]]}), "only no-match rows")
    _fails(write_xlsx(tmp_path / "badsentinel.xlsx", {"CIP-SOC": [HEADER, ["01.0000", "A.", "19-1011", "B"], ["x.y", "T.", "99-9999", "NO MATCH"]]}),
           "no-match row")

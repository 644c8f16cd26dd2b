"""SOC 2018 -> projections codes (issue 11 item 3), on the real tables ingested from ../shared.

The CIP-SOC crosswalk links programs to SOC 2018 detailed codes; the projections publish some of them
only merged (21-1011 + 21-1014 as 21-1018, ...). ``soc_nem`` (bls-codes) says which. These tests
measure what that table resolves, from the ingested tables only, so the engine's harmonization step can
be checked against them: every crosswalk SOC reaches a projections line item or is listed, and the
2024 completions that become allocatable are counted.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from gapkit.store import Store

CYCLES = ("2022-32", "2023-33", "2024-34")
MERGED_IN_ISSUE = ["21-1018", "29-2010", "25-9045", "13-1020", "13-2020", "25-2052", "31-1120", "39-7010", "53-1047"]


def _tables(data: Path, cycle: str) -> tuple[pl.DataFrame, pl.DataFrame, set[str]]:
    store = Store(data)
    xw = store.scan("cip_soc").select("cipcode", "soc_code").unique().collect()
    [vintage] = store.vintages("soc_nem")
    codes = store.scan("soc_nem", vintage).select("soc_code", "nem_code", "relation").collect()
    lines = set(store.scan("ep_occupations", cycle).filter(pl.col("occ_type") == "Line item").select("soc_code").collect()["soc_code"])
    return xw, codes, lines


def _resolve(xw: pl.DataFrame, codes: pl.DataFrame, lines: set[str]) -> pl.DataFrame:
    """Crosswalk links with the projections code each SOC resolves to (itself, else through soc_nem; null if neither)."""
    return (
        xw.join(codes.select("soc_code", "nem_code"), on="soc_code", how="left")
        .with_columns(
            pl.col("soc_code").is_in(list(lines)).alias("direct"),
            pl.when(pl.col("soc_code").is_in(list(lines))).then(pl.col("soc_code"))
            .when(pl.col("nem_code").is_in(list(lines))).then(pl.col("nem_code")).alias("ep_code"),
        )
    )


@pytest.mark.parametrize("cycle", CYCLES)
def test_every_crosswalk_soc_resolves_or_is_reported(ingested: Path, cycle: str) -> None:
    xw, codes, lines = _tables(ingested, cycle)
    r = _resolve(xw, codes, lines).select("soc_code", "direct", "ep_code").unique()
    direct = r.filter(pl.col("direct"))
    via = r.filter(~pl.col("direct") & pl.col("ep_code").is_not_null())
    unresolved = sorted(r.filter(pl.col("ep_code").is_null())["soc_code"])
    print(f"\n{cycle}: {r.height} crosswalk SOC codes: {direct.height} are projections codes, {via.height} resolve through "
          f"soc_nem ({', '.join(f'{a}->{b}' for a, b in via.sort('soc_code').select('soc_code', 'ep_code').iter_rows())}), "
          f"{len(unresolved)} unresolved: {', '.join(unresolved)}")
    assert r.height == xw["soc_code"].n_unique()
    # what stays unresolved is military (SOC major group 55): outside the projections and outside the BLS crosswalk
    assert unresolved and all(s.startswith("55-") for s in unresolved)
    assert not codes["soc_code"].str.starts_with("55-").any()
    # every SOC the projections merge resolves, and only to its merged code
    assert via.height > 0 and set(via["soc_code"]) <= set(codes.filter(pl.col("relation") == "merged")["soc_code"])
    assert set(via["ep_code"]) <= set(codes.filter(pl.col("relation") == "merged")["nem_code"])
    # the harmonization never overrides a code the projections publish as is
    assert set(codes.filter(pl.col("soc_code").is_in(list(direct["soc_code"])))["relation"]) == {"same"}


@pytest.mark.parametrize("cycle", CYCLES)
def test_merged_codes_named_in_issue_get_crosswalk_links(ingested: Path, cycle: str) -> None:
    xw, codes, lines = _tables(ingested, cycle)
    r = _resolve(xw, codes, lines)
    for nem in MERGED_IN_ISSUE:
        socs = codes.filter(pl.col("nem_code") == nem)["soc_code"].to_list()
        assert nem in lines and len(socs) >= 2, nem
        assert not xw.filter(pl.col("soc_code") == nem).height  # the crosswalk never names the merged code itself
        assert r.filter(pl.col("ep_code") == nem).height > 0, f"{nem} ({socs}) gets no program through the harmonized codes"


def test_allocatable_completions_once_harmonized(ingested: Path) -> None:
    """2024 first-major completions (6-digit CIP, all award levels, the whole country) whose programs link to no
    projections code until the crosswalk SOCs are harmonized. Issue 11 measured 15,319 wrongly unallocated."""
    store = Store(ingested)
    comp = (store.scan("ipeds_completions", "2024").filter(pl.col("cip_level") == 6)
            .group_by("cipcode").agg(pl.col("completions").sum()).collect())
    figures = {}
    for cycle in CYCLES:
        xw, codes, lines = _tables(ingested, cycle)
        per_cip = _resolve(xw, codes, lines).group_by("cipcode").agg(
            pl.col("direct").any().alias("before"), pl.col("ep_code").is_not_null().any().alias("after"))
        c = comp.join(per_cip, on="cipcode", how="left").with_columns(pl.col("before", "after").fill_null(False))
        total = c["completions"].sum()
        before = c.filter(pl.col("before"))["completions"].sum()
        newly = c.filter(~pl.col("before") & pl.col("after"))
        still = c.filter(~pl.col("after"))["completions"].sum()
        assert before + newly["completions"].sum() + still == total  # conserved
        figures[cycle] = newly["completions"].sum()
        top = newly.sort("completions", descending=True).select("cipcode", "completions")
        print(f"\n{cycle}: of {total:,} completions, {before:,} allocatable before harmonizing codes, {figures[cycle]:,} more after "
              f"({', '.join(f'{a} {b:,}' for a, b in top.iter_rows())}); {still:,} stay unallocated (no projections-linked SOC)")
    assert set(figures.values()) == {15_319}  # the same 832 line items in every cycle; issue 11's figure
    # clinical laboratory science (CIP 51.1004, 51.1005): all 7,207 completions reach only 25-1071 before, 29-2010 after
    xw, codes, lines = _tables(ingested, "2024-34")
    lab = _resolve(xw, codes, lines).filter(pl.col("cipcode").is_in(["51.1004", "51.1005"]))
    assert set(lab.filter(pl.col("direct"))["ep_code"]) == {"25-1071"}
    assert set(lab["ep_code"]) == {"25-1071", "29-2010"}
    assert comp.filter(pl.col("cipcode").is_in(["51.1004", "51.1005"]))["completions"].sum() == 7_207

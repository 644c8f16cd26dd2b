"""Property tests of the gap engine on real data: hypothesis picks the sector, method and region."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapkit.analysis.method import supply_by_occupation
from gapkit.analysis.query import ALLOC_MODES
from gapkit.config.presets import award_config
from gapkit.config.sectors import list_sectors
from gapkit.workspace import Workspace

SECTORS = [s.name for s in list_sectors()]
PRESETS = list(award_config().presets)
options = st.fixed_dictionaries(dict(
    sector=st.sampled_from(SECTORS),
    alloc=st.sampled_from(ALLOC_MODES),
    awards=st.sampled_from(PRESETS),
    region=st.sampled_from(["US", "OH", "TX", "CA", "WY"]),
    retention=st.sampled_from([1.0, 0.8]),
))
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def ws(ingested: Path) -> Workspace:
    return Workspace(ingested)


@SETTINGS
@given(opts=options)
def test_completions_conserved_and_weights_sum_to_one(ws: Workspace, opts: dict[str, Any]) -> None:
    r = ws.resolve("gap", **opts, completions_years="2024")
    supply, un = supply_by_occupation(r, ws.tables, ws.tables.ep(r.ep_cycle), by_state=not r.region.national)
    if opts["alloc"] == "none":
        assert supply["supply_ipeds"].sum() >= un["allocated"] - 1e-6  # full counts: an upper bound
    else:
        # every allocated program's weights sum to 1, so allocated supply equals the allocated input
        assert supply["supply_ipeds"].sum() == pytest.approx(un["allocated"], rel=1e-9, abs=1e-6)
    assert un["allocated"] + un["unallocated"] == pytest.approx(un["input"], rel=1e-9, abs=1e-6)


@SETTINGS
@given(opts=options)
def test_ratio_gap_consistent_and_groups_aggregate_occupations(ws: Workspace, opts: dict[str, Any]) -> None:
    occ = ws.gap(**opts, by="occupation").table
    grp = ws.gap(**opts, by="group").table
    for t in (occ, grp):
        pos = t.filter(pl.col("ratio").is_not_null())
        if pos.height:
            assert ((pos["ratio"] - pos["entrants"] / pos["supply"]).abs() <= 1e-9 * pos["ratio"].abs().max()).all()
        assert ((t["gap"] - (t["entrants"] - t["supply"])).abs() < 1e-6).all()
        assert t.filter(pl.col("supply") < 5)["ratio"].null_count() == t.filter(pl.col("supply") < 5).height
    summed = occ.group_by("group").agg(pl.col("openings").sum(), pl.col("supply").sum()).sort("group")
    direct = grp.select("group", "openings", "supply").sort("group")
    assert summed["group"].to_list() == direct["group"].to_list()
    assert summed["openings"].to_list() == pytest.approx(direct["openings"].to_list(), rel=1e-9)
    assert summed["supply"].to_list() == pytest.approx(direct["supply"].to_list(), rel=1e-9, abs=1e-9)

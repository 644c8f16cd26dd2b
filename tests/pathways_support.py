"""Shared fixtures for the pathway tests: the session's ingested data plus the Advance CTE crosswalks.

The crosswalks are loaded into a copy of the session's data folder (the shared one stays as the other
tests expect it); the copy is made once per session however many modules import the fixture.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gapkit.workspace import Workspace

_CACHE: dict[str, Path] = {}
CLUSTERS = "data/careerclusters"


@pytest.fixture(scope="session")
def pw_dir(ingested: Path, shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with ../shared ingested and the SOC and CIP Career Clusters crosswalks loaded."""
    key = str(ingested)
    if key not in _CACHE:
        from gapkit.ingestion.clusters import load

        dest = tmp_path_factory.mktemp("gapkit-pathways") / "data"
        shutil.copytree(ingested, dest, ignore=shutil.ignore_patterns("cache", ".gapkit.lock"))
        cc = shared / CLUSTERS
        load([cc / "SOC_Career_Clusters_Crosswalk.xlsx", cc / "CIP_Career_Clusters_Crosswalk.xlsx"], dest)
        _CACHE[key] = dest
    return _CACHE[key]


@pytest.fixture(scope="session")
def pw_ws(pw_dir: Path) -> Workspace:
    return Workspace(pw_dir)

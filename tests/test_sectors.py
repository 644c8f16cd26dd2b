"""Sector definitions as data: shipped files validate, user files get clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gapkit.errors import UsageError
from gapkit.sector_schema import validate_sector_text
from gapkit.sectors import list_sectors, load_sector, parse_sector_text

MIN = '''name = "mini"
title = "Mini"
[[subsectors]]
key = "a"
title = "A"
nem_industries = ["484000"]
[[groups]]
key = "drivers"
title = "Drivers"
soc = ["53-3"]
[[groups]]
key = "other"
title = "Other"
soc = ["*"]
'''


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAPKIT_CACHE_DIR", str(tmp_path / "cache"))


def test_shipped_sectors() -> None:
    names = {s.name for s in list_sectors()}
    assert {"transportation", "healthcare", "advanced-manufacturing", "information-technology", "construction", "energy",
            "agriculture", "all-industries"} <= names
    t = load_sector("transportation")
    assert [s.key for s in t.subsectors] == ["trucking", "transit", "air", "rail", "maritime", "highway"]
    assert [g.key for g in t.groups][:4] == ["operations", "maintenance", "construction", "central"]
    assert t.group_of("53-3032") == "operations" and t.group_of("47-4061") == "maintenance"
    assert t.group_of("47-2061") == "construction" and t.group_of("29-1141") == "other"
    assert load_sector("all-industries").whole_economy


def test_every_shipped_file_passes_the_schema() -> None:
    from importlib import resources

    for entry in resources.files("gapkit").joinpath("sector_defs").iterdir():
        validate_sector_text(entry.read_text(), entry.name)  # raises on any problem


def test_shipped_industries_exist_in_real_matrix(shared_data: Path) -> None:
    folder = shared_data / "bls_nem/2022-32/ind_csv_data.bls.gov"
    codes = {re.match(r".*_IND_(.+)\.csv$", p.name).group(1) for p in folder.iterdir()}  # type: ignore[union-attr]
    for s in list_sectors():
        missing = set(s.industries) - codes
        assert not missing, (s.name, missing)


def test_user_file_by_path(tmp_path: Path) -> None:
    f = tmp_path / "mini.toml"
    f.write_text(MIN)
    s = load_sector(str(f))
    assert s.name == "mini" and s.industries == ["484000"]


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda t: t.replace('"484000"', '"48A!"'), "subsectors[0].nem_industries"),
    (lambda t: t.replace('soc = ["*"]', 'soc = ["53-7"]'), "catch-all"),
    (lambda t: t.replace('key = "drivers"', 'key = "other"'), "duplicate group key"),
    (lambda t: t + "colour = 'red'\n", "colour"),
    (lambda t: t.replace('soc = ["53-3"]', 'soc = ["fifty-three"]'), "not a SOC prefix"),
    (lambda t: t.replace('name = "mini"', 'name = "Mini Sector"'), "not a sector name"),
    (lambda t: t.replace('title = "Mini"', 'title = "Mini'), "not valid TOML"),
])
def test_malformed_files_name_file_and_key(tmp_path: Path, mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "broken.toml"
    f.write_text(mutate(MIN))
    with pytest.raises(UsageError) as exc:
        load_sector(str(f))
    assert "broken.toml" in exc.value.message and needle in exc.value.message


def test_industry_in_two_subsectors() -> None:
    text = MIN.replace('[[groups]]', '[[subsectors]]\nkey = "b"\ntitle = "B"\nnem_industries = ["484000"]\n[[groups]]', 1)
    with pytest.raises(UsageError, match="in two subsectors"):
        parse_sector_text(text, "dup.toml")


def test_unknown_sector_lists_shipped() -> None:
    with pytest.raises(UsageError, match="Shipped sectors: .*transportation"):
        load_sector("spaceflight")


def test_validation_is_cached_by_content(tmp_path: Path) -> None:
    f = tmp_path / "mini.toml"
    f.write_text(MIN)
    load_sector(str(f))
    cached = list((tmp_path / "cache" / "validated").glob("sector-*.json"))
    assert cached
    f.write_text(MIN.replace('"484000"', '"48A!"'))  # an edited file is validated again
    with pytest.raises(UsageError):
        load_sector(str(f))

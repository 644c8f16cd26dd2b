"""Sector definitions as data: shipped files validate, user files get clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gapkit.config.sector_schema import validate_sector_text
from gapkit.config.sectors import list_sectors, load_sector, parse_sector_text
from gapkit.errors import UsageError

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
    assert [s.key for s in t.subsectors] == ["trucking", "transit", "air", "rail", "maritime", "highway", "public-transit",
                                             "public-highways"]
    # the public subsectors: government industries restricted to the occupations of one function
    pt, ph = t.subsectors[-2], t.subsectors[-1]
    assert pt.nem_industries == ["999300"] and "53-3052" in pt.occupations
    assert ph.nem_industries == ["999200", "999300"] and "47-4051" in ph.occupations and not set(pt.occupations) & set(ph.occupations)
    assert [g.key for g in t.groups][:4] == ["operations", "maintenance", "construction", "central"]
    assert t.group_of("53-3032") == "operations" and t.group_of("47-4061") == "maintenance"
    assert t.group_of("47-2061") == "construction" and t.group_of("29-1141") == "other"
    assert load_sector("all-industries").whole_economy


def test_every_shipped_file_passes_the_schema() -> None:
    from importlib import resources

    for entry in resources.files("gapkit").joinpath("config/shipped/sectors").iterdir():
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
    (lambda t: t.replace('title = "Mini"', 'title = "Mini"\nkey = [1'), "Unclosed array (at line 4"),
    (lambda t: t.replace('"484000"', '"484000", "48A"'), "subsectors[0].nem_industries[1]: '48A' is not a National Employment Matrix"),
    (lambda t: t.replace('["484000"]', '["484000"]\nnaics = ["48x"]'), "subsectors[0].naics[0]"),
    (lambda t: t.replace('title = "A"\n', 'title = "A"\nnaic = ["484"]\n'), "subsectors[0].naic: unknown key"),
    (lambda t: t.replace('soc = ["*"]', 'soc = ["43-", "*"]'), "groups[1].soc: the last group"),
    (lambda t: t.replace('soc = ["53-3"]', 'soc = ["53-3", "*"]'), "groups[0].soc: only the last group"),
    (lambda t: t.replace('key = "drivers"', 'key = "other"'), "groups[1].key: duplicate group key 'other'"),
    (lambda t: t.replace('nem_industries = ["484000"]', 'nem_industries = ["484000"]\n[[subsectors]]\nkey = "a"\ntitle = "B"\n'
                         'nem_industries = ["481100"]'), "subsectors[1].key: duplicate subsector key 'a'"),
    (lambda t: t.replace('soc = ["53-3"]', 'soc = ["53-3"]\n[[groups]]\nkey = "bus"\ntitle = "Bus"\nsoc = ["53-3052"]'),
     "groups[1].soc[0]: '53-3052' can never match"),
    (lambda t: t.replace('[[subsectors]]', 'key_occupations = ["53-30"]\n[[subsectors]]', 1), "key_occupations[0]"),
    (lambda t: t + 'key_occupations = ["53-3032"]\n', "move 'key_occupations' above"),
    (lambda t: t.replace('name = "mini"', 'name = "mini"\nwhole_economy = true').replace(
        'nem_industries = ["484000"]', 'nem_industries = ["484000"]\n[[subsectors]]\nkey = "b"\ntitle = "B"\nnem_industries = ["481100"]'),
     "whole-economy"),
    (lambda t: t.split("[[subsectors]]")[0] + t[t.index("[[groups]]"):], "at least one [[subsectors]]"),
    (lambda t: t.split("[[groups]]")[0], "groups: Field required"),
    (lambda t: t.replace('title = "A"', 'title = ""'), "subsectors[0].title"),
])
def test_malformed_files_name_file_and_key(tmp_path: Path, mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "broken.toml"
    f.write_text(mutate(MIN))
    with pytest.raises(UsageError) as exc:
        load_sector(str(f))
    assert "broken.toml" in exc.value.message and needle in exc.value.message


def test_industry_in_two_subsectors() -> None:
    text = MIN.replace('[[groups]]', '[[subsectors]]\nkey = "b"\ntitle = "B"\nnem_industries = ["484"]\n[[groups]]', 1)
    with pytest.raises(UsageError, match=r"dup.toml: subsectors\[1\]\.nem_industries\[0\]: industry 484000 is in two subsectors"):
        parse_sector_text(text, "dup.toml")


def test_codes_are_normalized_and_may_be_integers(tmp_path: Path) -> None:
    f = tmp_path / "ints.toml"
    f.write_text(MIN.replace('["484000"]', '[484000, "4811"]\nnaics = [484, "4811"]').replace('soc = ["53-3"]', 'soc = ["53"]'))
    s = load_sector(str(f))
    assert s.industries == ["484000", "481100"] and s.subsectors[0].naics == ["484", "4811"]
    assert s.group_of("53-3032") == "drivers" and s.group_of("11-1021") == "other"


def test_group_of_first_match_wins() -> None:
    text = MIN.replace('soc = ["53-3"]', 'soc = ["53-3052", "47-4061"]\n[[groups]]\nkey = "movers"\ntitle = "M"\nsoc = ["53-", "47-"]')
    s = parse_sector_text(text, "order.toml")
    assert [s.group_of(c) for c in ("53-3052", "53-3032", "47-4061", "47-2061", "29-1141")] == [
        "drivers", "movers", "drivers", "movers", "other"]


def test_sector_api_shapes() -> None:
    for s in list_sectors():
        assert s.groups[-1].soc == ["*"], s.name
        for what in ([x.key for x in s.subsectors], [g.key for g in s.groups]):
            assert len(what) == len(set(what)), s.name
        open_codes = [c for x in s.subsectors if not x.occupations for c in x.nem_industries]
        assert len(open_codes) == len(set(open_codes)), s.name  # an industry is in one subsector unless each lists occupations
        assert all(g.title and g.notes for g in s.groups if not s.whole_economy), s.name
        assert s.whole_economy == (s.name == "all-industries") and (s.industries or s.whole_economy)
    # sectors may share an industry: highway construction is in transportation and construction
    assert "237300" in load_sector("transportation").industries and "237300" in load_sector("construction").industries
    assert load_sector("all-industries").group_of("53-3032") == "soc-53"
    e, it = load_sector("energy"), load_sector("information-technology")
    assert e.group_of("53-7073") == "plant-operators" and e.group_of("47-5012") == "extraction"
    assert it.group_of("49-9052") == "installation" and it.group_of("49-9071") == "other"


def test_path_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nowhere.toml: no such file"):
        load_sector(str(tmp_path / "nowhere.toml"))
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(MIN.replace("Mini", "Min\xe9").encode("latin-1"))
    with pytest.raises(UsageError, match="latin1.toml: not UTF-8"):
        load_sector(str(bad))


def test_unknown_sector_lists_shipped() -> None:
    with pytest.raises(UsageError, match="Shipped sectors: .*transportation"):
        load_sector("spaceflight")


def test_validation_is_cached_by_content(tmp_path: Path) -> None:
    f = tmp_path / "mini.toml"
    f.write_text(MIN)
    load_sector(str(f))
    cached = list((tmp_path / "cache" / "validated").glob("sector*-*.json"))
    assert cached
    f.write_text(MIN.replace('"484000"', '"48A!"'))  # an edited file is validated again
    with pytest.raises(UsageError):
        load_sector(str(f))

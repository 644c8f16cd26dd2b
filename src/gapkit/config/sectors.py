"""Sectors are data: TOML files (shipped ones in ``sector_defs/``), validated by the pydantic schema
in :mod:`gapkit.config.sector_schema` and used by the engine as the plain objects defined here.

A sector names its subsectors (National Employment Matrix industry codes, with NAICS codes for the
reader) and its occupational groups (SOC prefixes or codes, first match wins, a catch-all ``*``
last). ``whole_economy = true`` marks the all-industries sector, whose openings are the published
national occupation openings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from gapkit.config.validated import validated
from gapkit.errors import UsageError

# Bumped whenever sector_schema gains a check, so a file validated by an older schema is checked again.
SCHEMA_REVISION = 3


@dataclass(frozen=True)
class Subsector:
    key: str
    title: str
    nem_industries: list[str]
    naics: list[str] = field(default_factory=list)
    occupations: list[str] = field(default_factory=list)  # empty: every occupation of the industries
    notes: str = ""


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    soc: list[str]
    notes: str = ""

    def matches(self, soc_code: str) -> bool:
        return any(p == "*" or soc_code.startswith(p) for p in self.soc)


@dataclass(frozen=True)
class Sector:
    name: str
    title: str
    groups: list[Group]
    description: str = ""
    sources: str = ""
    whole_economy: bool = False
    subsectors: list[Subsector] = field(default_factory=list)
    key_occupations: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sector:
        """The sector of a validated definition (raises on anything else, e.g. a damaged cache entry)."""
        s = cls(**{**d, "subsectors": [Subsector(**s) for s in d["subsectors"]], "groups": [Group(**g) for g in d["groups"]]})
        texts = [s.name, s.title, s.description, s.sources, *(x for g in s.groups for x in (g.key, g.title, g.notes)),
                 *(x for u in s.subsectors for x in (u.key, u.title, u.notes))]
        codes = [*s.key_occupations, *(c for g in s.groups for c in g.soc),
                 *(c for u in s.subsectors for c in (*u.nem_industries, *u.naics))]
        if not s.groups or not all(isinstance(t, str) for t in texts + codes) or not isinstance(s.whole_economy, bool):
            raise TypeError("not a validated sector definition")
        return s

    @property
    def industries(self) -> list[str]:
        return [c for s in self.subsectors for c in s.nem_industries]

    def group_of(self, soc_code: str) -> str:
        for g in self.groups:
            if g.matches(soc_code):
                return g.key
        return self.groups[-1].key


def parse_sector_text(text: str, origin: str) -> Sector:
    def check(t: str) -> dict[str, Any]:
        from gapkit.config.sector_schema import validate_sector_text

        return validate_sector_text(t, origin)

    return validated(f"sector{SCHEMA_REVISION}", text, check, Sector.from_dict)


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Sector]:
    out: dict[str, Sector] = {}
    for entry in sorted(resources.files("gapkit").joinpath("config/shipped/sectors").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            s = parse_sector_text(entry.read_text(), f"gapkit/config/shipped/sectors/{entry.name}")
            out[s.name] = s
    return out


def list_sectors() -> list[Sector]:
    return list(_shipped().values())


def load_sector(name_or_path: str) -> Sector:
    shipped = _shipped()
    if name_or_path in shipped:
        return shipped[name_or_path]
    p = Path(name_or_path).expanduser()
    if p.suffix.lower() == ".toml" or p.exists():
        from gapkit.config.user_files import read_user_text

        text = read_user_text(p, f"Sector file {name_or_path}", "Give a sector TOML file (see `gapkit sectors show transportation`).")
        return parse_sector_text(text, str(p))
    raise UsageError(f"Unknown sector {name_or_path!r}. Shipped sectors: {', '.join(shipped)}; or give --sector-file PATH.toml.")

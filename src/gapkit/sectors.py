"""Sectors are data: TOML files validated by pydantic (shipped ones in ``sector_defs/``).

A sector names its subsectors (National Employment Matrix industry codes, with NAICS codes for the
reader) and its occupational groups (SOC prefixes or codes, first match wins, a catch-all ``*``
last). ``whole_economy = true`` marks the all-industries sector, whose openings are the published
national occupation openings.
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gapkit.codes import normalize_nem_industry
from gapkit.errors import UsageError

SOC_PATTERN = re.compile(r"^\d{2}(-\d{0,4})?$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Subsector(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    title: str
    nem_industries: list[str] = Field(min_length=1)
    naics: list[str] = Field(default_factory=list)
    notes: str = ""

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError(f"{v!r} is not a key (lower-case letters, digits, - and _)")
        return v

    @field_validator("nem_industries")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return [normalize_nem_industry(c) for c in v]


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    title: str
    soc: list[str] = Field(min_length=1)

    @field_validator("soc")
    @classmethod
    def _soc(cls, v: list[str]) -> list[str]:
        for s in v:
            if s != "*" and not SOC_PATTERN.match(s):
                raise ValueError(f"{s!r} is not a SOC prefix or code (e.g. '53-3', '53-3032') or the catch-all '*'")
        return v

    def matches(self, soc_code: str) -> bool:
        return any(p == "*" or soc_code.startswith(p) for p in self.soc)


class Sector(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    description: str = ""
    sources: str = ""
    whole_economy: bool = False
    subsectors: list[Subsector] = Field(default_factory=list)
    groups: list[Group] = Field(min_length=1)
    key_occupations: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError(f"{v!r} is not a sector name (lower-case letters, digits, - and _)")
        return v

    @field_validator("key_occupations")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        from gapkit.codes import normalize_soc

        return [normalize_soc(s) for s in v]

    @model_validator(mode="after")
    def _consistent(self) -> Sector:
        if not self.whole_economy and not self.subsectors:
            raise ValueError("a sector needs at least one subsector (or whole_economy = true)")
        for what, keys in (("subsector", [s.key for s in self.subsectors]), ("group", [g.key for g in self.groups])):
            dup = sorted({k for k in keys if keys.count(k) > 1})
            if dup:
                raise ValueError(f"duplicate {what} key(s): {', '.join(dup)}")
        if "*" not in self.groups[-1].soc:
            raise ValueError(f"the last group ({self.groups[-1].key!r}) must be the catch-all, with soc = [\"*\"]")
        if any("*" in g.soc for g in self.groups[:-1]):
            raise ValueError("only the last group may be the catch-all '*'")
        seen: dict[str, str] = {}
        for s in self.subsectors:
            for code in s.nem_industries:
                if code in seen:
                    raise ValueError(f"industry {code} is in two subsectors ({seen[code]!r} and {s.key!r})")
                seen[code] = s.key
        return self

    @cached_property
    def industries(self) -> list[str]:
        return [c for s in self.subsectors for c in s.nem_industries]

    def group_of(self, soc_code: str) -> str:
        for g in self.groups:
            if g.matches(soc_code):
                return g.key
        return self.groups[-1].key


def _format_errors(path: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = "".join(f"[{x}]" if isinstance(x, int) else (f".{x}" if i else str(x)) for i, x in enumerate(err["loc"])) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    more = f" (and {len(exc.errors()) - 5} more)" if len(exc.errors()) > 5 else ""
    return f"Sector file {path}: " + "; ".join(parts) + more + ". Fix the file (see `gapkit sectors show transportation` for a working example)."


def parse_sector_text(text: str, origin: str) -> Sector:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"Sector file {origin}: not valid TOML ({exc}). Fix the syntax at that line.") from None
    try:
        return Sector.model_validate(data)
    except ValidationError as exc:
        raise UsageError(_format_errors(origin, exc)) from None


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Sector]:
    out: dict[str, Sector] = {}
    for entry in sorted(resources.files("gapkit").joinpath("sector_defs").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            s = parse_sector_text(entry.read_text(), f"gapkit/sector_defs/{entry.name}")
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
        if not p.is_file():
            raise UsageError(f"Sector file {name_or_path}: no such file.")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"Sector file {name_or_path}: not UTF-8 text.") from None
        return parse_sector_text(text, str(p))
    raise UsageError(f"Unknown sector {name_or_path!r}. Shipped sectors: {', '.join(shipped)}; or give --sector-file PATH.toml.")

"""The pydantic schema of a sector file (see gapkit.sectors for the objects the engine uses)."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gapkit.codes import normalize_nem_industry, normalize_soc
from gapkit.errors import UsageError

SOC_PATTERN = re.compile(r"^\d{2}(-\d{0,4})?$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class SubsectorModel(BaseModel):
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


class GroupModel(BaseModel):
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


class SectorModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    description: str = ""
    sources: str = ""
    whole_economy: bool = False
    subsectors: list[SubsectorModel] = Field(default_factory=list)
    groups: list[GroupModel] = Field(min_length=1)
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
        return [normalize_soc(s) for s in v]

    @model_validator(mode="after")
    def _consistent(self) -> SectorModel:
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


def format_errors(what: str, origin: str, exc: ValidationError, hint: str) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = "".join(f"[{x}]" if isinstance(x, int) else (f".{x}" if i else str(x)) for i, x in enumerate(err["loc"])) or "(top level)"
        parts.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
    more = f" (and {len(exc.errors()) - 5} more)" if len(exc.errors()) > 5 else ""
    return f"{what} {origin}: " + "; ".join(parts) + more + f". {hint}"


def validate_sector_text(text: str, origin: str) -> dict[str, Any]:
    """TOML text -> the normalized definition, or a UsageError naming the file and the bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"Sector file {origin}: not valid TOML ({exc}). Fix the syntax at that line.") from None
    try:
        return SectorModel.model_validate(data).model_dump()
    except ValidationError as exc:
        raise UsageError(format_errors("Sector file", origin, exc, "Fix the file (see `gapkit sectors show transportation` for a working example).")) from None

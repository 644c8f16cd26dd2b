"""The pydantic schema of a sector file (see gapkit.config.sectors for the objects the engine uses).

Errors name the file and the exact key, e.g. ``subsectors[2].nem_industries[0]: '48A' is not a
National Employment Matrix industry code``. Checks that span several entries (unique keys, the
catch-all last, an industry in one subsector only, a SOC prefix that an earlier group already takes)
put the key's location at the start of their message.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gapkit.codes import normalize_nem_industry, normalize_soc
from gapkit.errors import UsageError

SOC_PATTERN = re.compile(r"^\d{2}(-\d{0,4})?$")
NAICS_PATTERN = re.compile(r"^\d{2,6}(-\d{2,6})?$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TOP_LEVEL_KEYS = ("name", "title", "description", "sources", "whole_economy", "key_occupations", "subsectors", "groups")


def _code_text(v: object) -> object:
    """Codes may be written as TOML integers (484000); they are read as text."""
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


def _soc_prefix(v: str) -> str:
    if v != "*" and not SOC_PATTERN.match(v):
        raise ValueError(f"{v!r} is not a SOC prefix or code (e.g. '53-', '53-3', '53-3032') or the catch-all '*'")
    return v


def _naics(v: str) -> str:
    if not NAICS_PATTERN.match(v):
        raise ValueError(f"{v!r} is not a NAICS code (2 to 6 digits, e.g. '484' or '4884', or a range such as '31-33')")
    return v


NemCode = Annotated[str, BeforeValidator(_code_text), AfterValidator(normalize_nem_industry)]
NaicsCode = Annotated[str, BeforeValidator(_code_text), AfterValidator(_naics)]
SocPrefix = Annotated[str, AfterValidator(_soc_prefix)]
SocCode = Annotated[str, AfterValidator(normalize_soc)]
Title = Annotated[str, Field(min_length=1)]


def _slug(v: str, what: str) -> str:
    if not SLUG.match(v):
        raise ValueError(f"{v!r} is not a {what} (lower-case letters, digits, - and _)")
    return v


class SubsectorModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    title: Title
    nem_industries: list[NemCode] = Field(min_length=1)
    naics: list[NaicsCode] = Field(default_factory=list)
    # Only these occupations of the industries (a broad industry such as local government restricted
    # to the occupations of one function, e.g. transit); empty: every occupation.
    occupations: list[SocCode] = Field(default_factory=list)
    notes: str = ""

    @field_validator("occupations")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        dup = sorted({x for x in v if v.count(x) > 1})
        if dup:
            raise ValueError(f"occupation(s) listed twice: {', '.join(dup)}")
        return v

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        return _slug(v, "key")


class GroupModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    title: Title
    soc: list[SocPrefix] = Field(min_length=1)
    notes: str = ""

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        return _slug(v, "key")


def _covers(earlier: str, later: str) -> bool:
    """Does every SOC code matching ``later`` already match ``earlier``? ('53' and '53-' are the same prefix.)"""
    def canon(p: str) -> str:
        return p + "-" if len(p) == 2 else p

    return earlier == "*" or canon(later).startswith(canon(earlier))


class SectorModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: Title
    description: str = ""
    sources: str = ""
    whole_economy: bool = False
    subsectors: list[SubsectorModel] = Field(default_factory=list)
    groups: list[GroupModel] = Field(min_length=1)
    key_occupations: list[SocCode] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _slug(v, "sector name")

    @model_validator(mode="after")
    def _consistent(self) -> SectorModel:
        if self.whole_economy and len(self.subsectors) > 1:
            raise ValueError("subsectors: a whole-economy sector (whole_economy = true) has no subsectors or a single one")
        if not self.whole_economy and not self.subsectors:
            raise ValueError("subsectors: a sector needs at least one [[subsectors]] entry (or whole_economy = true)")
        for what, keys in (("subsectors", [s.key for s in self.subsectors]), ("groups", [g.key for g in self.groups])):
            first: dict[str, int] = {}
            for i, k in enumerate(keys):
                if k in first:
                    raise ValueError(f"{what}[{i}].key: duplicate {what[:-1]} key {k!r} (also {what}[{first[k]}])")
                first[k] = i
        last = len(self.groups) - 1
        if self.groups[last].soc != ["*"]:
            raise ValueError(f"groups[{last}].soc: the last group ({self.groups[last].key!r}) must be the catch-all, with soc = [\"*\"]")
        for i, g in enumerate(self.groups[:-1]):
            if "*" in g.soc:
                raise ValueError(f"groups[{i}].soc: only the last group may be the catch-all '*'")
        seen: dict[str, list[SubsectorModel]] = {}
        for i, s in enumerate(self.subsectors):
            for j, code in enumerate(s.nem_industries):
                for other in seen.get(code, []):
                    shared = sorted(set(other.occupations) & set(s.occupations))
                    if not other.occupations or not s.occupations or shared:
                        why = (f"both take occupation(s) {', '.join(shared[:5])}" if shared else
                               "an industry belongs to one subsector unless each lists its own occupations")
                        raise ValueError(f"subsectors[{i}].nem_industries[{j}]: industry {code} is in two subsectors "
                                         f"({other.key!r} and {s.key!r}); {why}")
                seen.setdefault(code, []).append(s)
        for i, g in enumerate(self.groups[:-1]):
            for j, p in enumerate(g.soc):
                for h, earlier in enumerate(self.groups[:i]):
                    hit = next((e for e in earlier.soc if _covers(e, p)), None)
                    if hit is not None:
                        raise ValueError(f"groups[{i}].soc[{j}]: {p!r} can never match, because the earlier group "
                                         f"{earlier.key!r} (groups[{h}]) already takes {hit!r} (first match wins)")
        return self


def _loc(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{x}]" if isinstance(x, int) else (f".{x}" if i else str(x)) for i, x in enumerate(loc))


def format_errors(what: str, origin: str, exc: ValidationError, hint: str) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = _loc(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        if err["type"] == "extra_forbidden" and len(err["loc"]) == 3 and err["loc"][-1] in TOP_LEVEL_KEYS:
            msg += (f" (in TOML every key after a [[{err['loc'][0]}]] header belongs to that entry: "
                    f"move {err['loc'][-1]!r} above the first [[...]] header)")
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = f" (and {len(exc.errors()) - 5} more)" if len(exc.errors()) > 5 else ""
    return f"{what} {origin}: " + "; ".join(parts) + more + f". {hint}"


def validate_toml_text(text: str, model: type[BaseModel], what: str, origin: str, hint: str = "Fix the file.",
                       mode: str = "python") -> dict[str, Any]:
    """TOML text -> ``model``'s normalized dict, or one UsageError naming ``what origin`` and the bad key (the TOML
    read with the bounds of :func:`gapkit.config.user_files.parse_toml`)."""
    from gapkit.config.user_files import parse_toml

    data = parse_toml(text, what, origin)
    try:
        return model.model_validate(data).model_dump(mode=mode)
    except ValidationError as exc:
        raise UsageError(format_errors(what, origin, exc, hint)) from None


def validate_sector_text(text: str, origin: str) -> dict[str, Any]:
    """TOML text -> the normalized definition, or a UsageError naming the file and the bad key."""
    return validate_toml_text(text, SectorModel, "Sector file", origin,
                              "Fix the file (see `gapkit sectors show transportation` for a working example).")

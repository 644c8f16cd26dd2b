"""Award-level presets and the entry-education mapping, loaded from presets/awards.toml."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gapkit.errors import UsageError

VALID_LEVELS = {1, 2, 3, 4, 5, 6, 7, 8, 17, 18, 19, 20, 21}


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    levels: list[int] = Field(default_factory=list)
    by_entry_education: bool = False

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: list[int]) -> list[int]:
        bad = [x for x in v if x not in VALID_LEVELS]
        if bad:
            raise ValueError(f"unknown IPEDS award level(s) {bad}")
        return v


class IpedsCoverage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    caveat_soc: list[str] = Field(default_factory=list)


class AwardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    awlevels: dict[int, str]
    presets: dict[str, Preset]
    entry_education: dict[str, list[int]]
    ipeds_coverage: IpedsCoverage = IpedsCoverage()


@lru_cache(maxsize=1)
def award_config() -> AwardConfig:
    text = resources.files("gapkit").joinpath("presets/awards.toml").read_text()
    return AwardConfig.model_validate(tomllib.loads(text))


def preset(name: str) -> Preset:
    cfg = award_config()
    if name not in cfg.presets:
        raise UsageError(f"--awards {name!r} is not a preset. Choose from: {', '.join(cfg.presets)}.")
    return cfg.presets[name]

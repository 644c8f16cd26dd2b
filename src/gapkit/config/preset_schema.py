"""The pydantic schema of presets/awards.toml (award-level presets, entry-education mapping)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gapkit.config.sector_schema import validate_toml_text

VALID_LEVELS = {1, 2, 3, 4, 5, 6, 7, 8, 17, 18, 19, 20, 21}


def _check_levels(v: list[int]) -> list[int]:
    bad = [x for x in v if x not in VALID_LEVELS]
    if bad:
        raise ValueError(f"unknown IPEDS award level(s) {bad}")
    return v


class PresetModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    levels: list[int] = Field(default_factory=list)
    by_entry_education: bool = False

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: list[int]) -> list[int]:
        return _check_levels(v)


class IpedsCoverageModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    caveat_soc: list[str] = Field(default_factory=list)


class AwardConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    awlevels: dict[int, str]
    awlevels_short: dict[int, str]
    presets: dict[str, PresetModel]
    entry_education: dict[str, list[int]]
    ipeds_coverage: IpedsCoverageModel = IpedsCoverageModel()

    @model_validator(mode="after")
    def _short_labels(self) -> AwardConfigModel:
        if set(self.awlevels_short) != set(self.awlevels):
            raise ValueError("awlevels_short must label exactly the levels of awlevels")
        return self

    @field_validator("entry_education")
    @classmethod
    def _edu(cls, v: dict[str, list[int]]) -> dict[str, list[int]]:
        for levels in v.values():
            _check_levels(levels)
        return v


def validate_awards_text(text: str, origin: str) -> dict[str, Any]:
    return validate_toml_text(text, AwardConfigModel, "Presets file", origin, mode="json")

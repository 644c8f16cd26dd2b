"""The pydantic schema of a pathway rules file (shipped: presets/pathways.toml; a user's: --rules PATH).

A user file may give only the keys it changes: it is merged over the shipped rules (tables key by key;
a ``[[tiers]]`` list replaces the shipped tiers as a whole) and the result is validated here. Errors
name the file and the exact key, e.g. ``wage.factor: Input should be greater than 0``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gapkit.config.sector_schema import format_errors
from gapkit.errors import UsageError

FLAGS = ("high_wage", "high_growth", "high_demand", "high_skill", "undersupplied")
EDUCATION = (
    "Doctoral or professional degree", "Master's degree", "Bachelor's degree", "Associate's degree",
    "Postsecondary nondegree award", "Some college, no degree", "High school diploma or equivalent",
    "No formal educational credential",
)
TRAINING = ("Internship/residency", "Apprenticeship", "Long-term on-the-job training",
            "Moderate-term on-the-job training", "Short-term on-the-job training", "None")
Positive = Annotated[float, Field(gt=0, le=100)]



def _members(values: list[str], allowed: tuple[str, ...], what: str, sep: str) -> list[str]:
    """``values`` unchanged when each is in ``allowed``; else "'x' is not <what>" listing the allowed values."""
    for x in values:
        if x not in allowed:
            raise ValueError(f"{x!r} is not " + what.format(sep.join(allowed)))
    return values

class WageModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    factor: Positive


class GrowthModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    margin_pct: Annotated[float, Field(ge=-100, le=100)]


class DemandModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    openings_floor: Annotated[float, Field(ge=0)]
    scale_states: bool


class SkillModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    education: list[str] = Field(default_factory=list)
    training: list[str] = Field(default_factory=list)

    @field_validator("education")
    @classmethod
    def _edu(cls, v: list[str]) -> list[str]:
        return _members(v, EDUCATION, "a BLS typical-entry-education category (one of: {})", "; ")

    @field_validator("training")
    @classmethod
    def _train(cls, v: list[str]) -> list[str]:
        return _members(v, TRAINING, "a BLS on-the-job-training category (one of: {})", "; ")


class TierModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=40)]
    description: str = ""
    all: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)

    @field_validator("all", "any")
    @classmethod
    def _flags(cls, v: list[str]) -> list[str]:
        return _members(v, FLAGS, "a flag (use {})", ", ")


class AlignmentModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    undersupplied_ratio: Positive
    oversupplied_ratio: Positive
    weak_wage_factor: Annotated[float, Field(ge=0, le=100)]
    weak_growth_pct: Annotated[float, Field(ge=-100, le=100)]

    @model_validator(mode="after")
    def _order(self) -> AlignmentModel:
        if self.oversupplied_ratio >= self.undersupplied_ratio:
            raise ValueError(f"oversupplied_ratio ({self.oversupplied_ratio:g}) must be below undersupplied_ratio "
                             f"({self.undersupplied_ratio:g}); between them a program is balanced")
        return self


class RulesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wage: WageModel
    growth: GrowthModel
    demand: DemandModel
    skill: SkillModel
    tiers: list[TierModel] = Field(min_length=1)
    alignment: AlignmentModel

    @model_validator(mode="after")
    def _tiers(self) -> RulesModel:
        seen: dict[str, int] = {}
        for i, t in enumerate(self.tiers):
            if t.name in seen:
                raise ValueError(f"tiers[{i}].name: duplicate tier name {t.name!r} (also tiers[{seen[t.name]}])")
            seen[t.name] = i
        last = len(self.tiers) - 1
        if self.tiers[last].all or self.tiers[last].any:
            raise ValueError(f"tiers[{last}]: the last tier ({self.tiers[last].name!r}) must be the catch-all, with no 'all' or 'any' "
                             "conditions, so that every occupation gets a tier")
        for i, t in enumerate(self.tiers[:-1]):
            if not (t.all or t.any):
                raise ValueError(f"tiers[{i}]: only the last tier may have no conditions (tier {t.name!r} would take every occupation)")
        return self


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``: tables key by key, anything else (incl. arrays of tables) replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _load(text: str, origin: str) -> dict[str, Any]:
    from gapkit.config.user_files import parse_toml

    return parse_toml(text, "Rules file", origin)


def validate_rules_text(shipped: str, user: str | None, origin: str) -> dict[str, Any]:
    """The shipped rules with the user's keys merged over them, validated; errors name ``origin`` and the key."""
    data = _load(shipped, "gapkit/config/shipped/pathways.toml")
    if user is not None:
        data = merge(data, _load(user, origin))
    try:
        return RulesModel.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        raise UsageError(format_errors("Rules file", origin, exc,
                                       "Fix the file (the shipped gapkit/config/shipped/pathways.toml documents every key).")) from None

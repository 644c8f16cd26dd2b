"""The pydantic schema of shipped/method.toml (the method's thresholds and mappings)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gapkit.config.preset_schema import VALID_LEVELS
from gapkit.config.sector_schema import validate_toml_text

ATTAINMENT = ("less_than_hs", "high_school", "some_college", "associate", "bachelor", "master", "doctoral_professional")
Share = float


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DemandModel(Strict):
    default: Literal["openings", "entrants", "growth"]


class UpgradeModel(Strict):
    soc: str = Field(pattern=r"^\d{2}-\d{4}$")
    levels: list[int] = Field(min_length=1)
    note: str = Field(min_length=1)


class SupplyModel(Strict):
    default_alloc: Literal["education", "openings", "employment", "equal", "none"]
    entry_route_min_share: float = Field(ge=0, lt=1)
    entry_route_steps_below: int = Field(ge=0, le=6)
    entry_route_excluded_experience: list[Literal["5 years or more", "Less than 5 years"]] = Field(default_factory=list)
    attainment_of_level: dict[int, Literal[ATTAINMENT]]  # type: ignore[valid-type]
    attainment_rank: dict[Literal[ATTAINMENT], int]  # type: ignore[valid-type]
    entry_rank: dict[str, int]
    upgrades: list[UpgradeModel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> SupplyModel:
        if set(self.attainment_of_level) != VALID_LEVELS:
            raise ValueError(f"attainment_of_level must map every IPEDS award level {sorted(VALID_LEVELS)}")
        if set(self.attainment_rank) != set(ATTAINMENT):
            raise ValueError(f"attainment_rank must rank every attainment level: {', '.join(ATTAINMENT)}")
        for u in self.upgrades:
            bad = [x for x in u.levels if x not in VALID_LEVELS]
            if bad:
                raise ValueError(f"upgrades: unknown IPEDS award level(s) {bad} for {u.soc}")
        return self


class RatioModel(Strict):
    supply_floor: float = Field(gt=0)
    bound_min_openings: float = Field(ge=0)


class ScopeModel(Strict):
    occupation_min_share: float = Field(gt=0, le=1)


class ProgramsModel(Strict):
    min_sector_share: float = Field(ge=0, le=1)


class GatesModel(Strict):
    change_only_share: float = Field(gt=0, le=1)
    missing_fraction: float = Field(gt=0, lt=1)
    expected_floor: float = Field(ge=0)
    withhold_share: float = Field(gt=0, le=1)
    detail_total_tolerance: float = Field(gt=0, lt=1)
    openings_rate_band: tuple[float, float]


class EtplModel(Strict):
    apprenticeship_years: float = Field(gt=0, le=10)
    max_completers_per_program: float = Field(gt=0)
    ipeds_institution_types: list[str]


class MethodModel(Strict):
    demand: DemandModel
    supply: SupplyModel
    ratio: RatioModel
    scope: ScopeModel
    programs: ProgramsModel
    gates: GatesModel
    etpl: EtplModel


def validate_method_text(text: str, origin: str) -> dict[str, Any]:
    return validate_toml_text(text, MethodModel, "Method settings", origin, mode="json")

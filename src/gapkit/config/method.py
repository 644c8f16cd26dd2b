"""The method's settings from shipped/method.toml: demand measure, education-aware allocation, ratio
floor, occupation scope, quality gates (validated once by :mod:`gapkit.config.method_schema`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from gapkit.config.validated import validated

ORIGIN = "gapkit/config/shipped/method.toml"


@dataclass(frozen=True)
class Upgrade:
    soc: str
    levels: tuple[int, ...]
    note: str


@dataclass(frozen=True)
class MethodSettings:
    demand_default: str
    alloc_default: str
    entry_route_min_share: float
    entry_route_steps_below: int
    entry_route_excluded_experience: tuple[str, ...]
    attainment_of_level: dict[int, str]
    attainment_rank: dict[str, int]
    entry_rank: dict[str, int]
    upgrades: tuple[Upgrade, ...]
    supply_floor: float
    bound_min_openings: float
    occupation_min_share: float
    program_min_sector_share: float
    change_only_share: float
    missing_fraction: float
    expected_floor: float
    withhold_share: float
    detail_total_tolerance: float
    openings_rate_band: tuple[float, float]
    apprenticeship_years: float
    etpl_max_per_program: float
    etpl_ipeds_types: tuple[str, ...]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MethodSettings:
        s, g = d["supply"], d["gates"]
        return cls(
            demand_default=d["demand"]["default"], alloc_default=s["default_alloc"],
            entry_route_min_share=float(s["entry_route_min_share"]), entry_route_steps_below=int(s["entry_route_steps_below"]),
            entry_route_excluded_experience=tuple(s["entry_route_excluded_experience"]),
            attainment_of_level={int(k): v for k, v in s["attainment_of_level"].items()},
            attainment_rank=dict(s["attainment_rank"]), entry_rank=dict(s["entry_rank"]),
            upgrades=tuple(Upgrade(u["soc"], tuple(u["levels"]), u["note"]) for u in s["upgrades"]),
            supply_floor=float(d["ratio"]["supply_floor"]), bound_min_openings=float(d["ratio"]["bound_min_openings"]),
            occupation_min_share=float(d["scope"]["occupation_min_share"]),
            program_min_sector_share=float(d["programs"]["min_sector_share"]),
            change_only_share=float(g["change_only_share"]), missing_fraction=float(g["missing_fraction"]),
            expected_floor=float(g["expected_floor"]), withhold_share=float(g["withhold_share"]),
            detail_total_tolerance=float(g["detail_total_tolerance"]),
            openings_rate_band=(float(g["openings_rate_band"][0]), float(g["openings_rate_band"][1])),
            apprenticeship_years=float(d["etpl"]["apprenticeship_years"]),
            etpl_max_per_program=float(d["etpl"]["max_completers_per_program"]),
            etpl_ipeds_types=tuple(d["etpl"]["ipeds_institution_types"]),
        )


@lru_cache(maxsize=1)
def method_settings() -> MethodSettings:
    text = resources.files("gapkit").joinpath("config/shipped/method.toml").read_text(encoding="utf-8")

    def check(t: str) -> dict[str, Any]:
        from gapkit.config.method_schema import validate_method_text

        return validate_method_text(t, ORIGIN)

    return validated("method", text, check, MethodSettings.from_dict)

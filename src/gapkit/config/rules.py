"""Pathway rules as data: the thresholds and tiers of ``gapkit pathways`` and the alignment cut-offs of
``gapkit programs``, from ``shipped/pathways.toml`` with a user's ``--rules`` file merged over it
(validated by :mod:`gapkit.config.rules_schema`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from typing import Any

from gapkit.config.validated import validated

FLAG_WORDS = {"high_wage": "high-wage", "high_growth": "high-growth", "high_demand": "high-demand",
              "high_skill": "high-skill", "undersupplied": "undersupplied"}
RULES_SCHEMA = "1"  # bump when rules_schema changes what a valid file normalizes to

@dataclass(frozen=True)
class Tier:
    name: str
    description: str
    all: tuple[str, ...]
    any: tuple[str, ...]

    def condition_text(self) -> str:
        parts = [FLAG_WORDS[f] for f in self.all]
        if self.any:
            alt = " or ".join(FLAG_WORDS[f] for f in self.any)
            parts.append(f"({alt})" if len(self.any) > 1 and self.all else alt)
        return " and ".join(parts) if parts else "everything else"


@dataclass(frozen=True)
class Rules:
    origin: str
    wage_factor: float
    growth_margin_pct: float
    openings_floor: float
    scale_states: bool
    skill_education: tuple[str, ...]
    skill_training: tuple[str, ...]
    tiers: tuple[Tier, ...]
    undersupplied_ratio: float
    oversupplied_ratio: float
    weak_wage_factor: float
    weak_growth_pct: float

    @classmethod
    def from_dict(cls, d: dict[str, Any], origin: str) -> Rules:
        return cls(
            origin=origin,
            wage_factor=float(d["wage"]["factor"]),
            growth_margin_pct=float(d["growth"]["margin_pct"]),
            openings_floor=float(d["demand"]["openings_floor"]),
            scale_states=bool(d["demand"]["scale_states"]),
            skill_education=tuple(d["skill"]["education"]),
            skill_training=tuple(d["skill"]["training"]),
            tiers=tuple(Tier(t["name"], t.get("description", ""), tuple(t["all"]), tuple(t["any"])) for t in d["tiers"]),
            undersupplied_ratio=float(d["alignment"]["undersupplied_ratio"]),
            oversupplied_ratio=float(d["alignment"]["oversupplied_ratio"]),
            weak_wage_factor=float(d["alignment"]["weak_wage_factor"]),
            weak_growth_pct=float(d["alignment"]["weak_growth_pct"]),
        )

    def tiers_text(self) -> str:
        return "; ".join(f"{t.name} = {t.condition_text()}" for t in self.tiers)


def load_rules(path: str | os.PathLike[str] | None = None) -> Rules:
    """The shipped rules, with a user's rules file (only the keys it changes) merged over them."""
    shipped = resources.files("gapkit").joinpath("config/shipped/pathways.toml").read_text(encoding="utf-8")
    user: str | None = None
    origin = "gapkit/config/shipped/pathways.toml"
    if path is not None:
        from gapkit.config.user_files import read_user_text

        origin = str(path)
        user = read_user_text(path, f"--rules {path}", "Give a TOML file with the keys of gapkit/config/shipped/pathways.toml you want to change.")

    def check(_: str) -> dict[str, Any]:
        from gapkit.config.rules_schema import validate_rules_text

        return validate_rules_text(shipped, user, origin)

    key = f"rules-schema-{RULES_SCHEMA}\0" + shipped + "\0" + (user if user is not None else "\0none")
    return validated("pathways", key, check, lambda d: Rules.from_dict(d, origin))

"""Award-level presets and the entry-education mapping, loaded from presets/awards.toml.

The file is validated by the pydantic models in :mod:`gapkit.config.preset_schema` (once per content, see
:mod:`gapkit.config.validated`); the engine reads the plain objects defined here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from gapkit.config.validated import validated
from gapkit.errors import UsageError


@dataclass(frozen=True)
class Preset:
    title: str
    levels: list[int] = field(default_factory=list)
    by_entry_education: bool = False


@dataclass(frozen=True)
class IpedsCoverage:
    caveat_soc: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AwardConfig:
    awlevels: dict[int, str]
    awlevels_short: dict[int, str]
    presets: dict[str, Preset]
    entry_education: dict[str, list[int]]
    ipeds_coverage: IpedsCoverage

    @property
    def entry_levels(self) -> list[int]:
        """Every award level some entry education accepts (the levels the ``entry`` preset can count)."""
        return sorted({lvl for lvls in self.entry_education.values() for lvl in lvls})

    @property
    def no_ipeds_education(self) -> list[str]:
        """Entry educations that no IPEDS award supplies (high school or less): "no IPEDS supply expected"."""
        return [e for e, lv in self.entry_education.items() if not lv]

    def levels_of(self, p: Preset) -> list[int]:
        """The award levels a preset counts (for ``entry``: every level some occupation accepts)."""
        return self.entry_levels if p.by_entry_education else list(p.levels)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AwardConfig:
        return cls(
            awlevels={int(k): v for k, v in d["awlevels"].items()},
            awlevels_short={int(k): v for k, v in d["awlevels_short"].items()},
            presets={k: Preset(**v) for k, v in d["presets"].items()},
            entry_education=d["entry_education"],
            ipeds_coverage=IpedsCoverage(**d["ipeds_coverage"]),
        )


@lru_cache(maxsize=1)
def award_config() -> AwardConfig:
    text = resources.files("gapkit").joinpath("config/shipped/awards.toml").read_text()

    def check(t: str) -> dict[str, Any]:
        from gapkit.config.preset_schema import validate_awards_text

        return validate_awards_text(t, "gapkit/config/shipped/awards.toml")

    return validated("awards", text, check, AwardConfig.from_dict)


def preset(name: str) -> Preset:
    cfg = award_config()
    if name not in cfg.presets:
        raise UsageError(f"--awards {name!r} is not a preset. Choose from: {', '.join(cfg.presets)}.")
    return cfg.presets[name]

"""The pydantic schema of a user's region file (``--region-file``): name, title, counties."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gapkit.codes import STATES
from gapkit.config.sector_schema import format_errors
from gapkit.errors import UsageError


class RegionModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,60}$")
    title: str = Field(min_length=1, max_length=200)
    counties: list[str] = Field(min_length=1, max_length=5000)
    notes: str = ""

    @field_validator("counties", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return [f"{x:05d}" if isinstance(x, int) and not isinstance(x, bool) else x for x in v] if isinstance(v, list) else v

    @field_validator("counties")
    @classmethod
    def _fips(cls, v: list[str]) -> list[str]:
        for i, c in enumerate(v):
            if not re.fullmatch(r"\d{5}", c) or c[:2] not in STATES or c[:2] == "00":
                raise ValueError(f"counties[{i}]: {c!r} is not a county FIPS code (five digits: a state's two, then the county's "
                                 "three, e.g. 39049)")
        dup = sorted({c for c in v if v.count(c) > 1})
        if dup:
            raise ValueError(f"county listed twice: {', '.join(dup)}")
        return sorted(v)


def validate_region(data: dict[str, Any], origin: str) -> dict[str, Any]:
    try:
        return RegionModel.model_validate(data).model_dump()
    except ValidationError as exc:
        raise UsageError(format_errors("--region-file", origin, exc,
                                       'A region file has name = "slug", title = "...", counties = ["39049", ...].')) from None

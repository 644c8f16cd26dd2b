"""Peer states for the brief's peer comparison, from shipped/peers.toml (validated once with pydantic):
each state's bordering states (Alaska and Hawaii: their Census division)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from gapkit.config.validated import validated

ORIGIN = "gapkit/config/shipped/peers.toml"


def validate_peers_text(text: str, origin: str) -> dict[str, Any]:
    """The peers file as a plain dict, or a UsageError naming what is wrong."""
    import tomllib

    from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

    from gapkit.codes import STATE_FIPS_51, STATES
    from gapkit.config.sector_schema import format_errors
    from gapkit.errors import UsageError

    known = {STATES[f][0] for f in STATE_FIPS_51}

    class PeersModel(BaseModel):
        model_config = ConfigDict(extra="forbid")
        peers: dict[str, list[str]]
        unbordered: list[str] = []

        @model_validator(mode="after")
        def _check(self) -> PeersModel:
            bad = sorted({s for s, ps in self.peers.items() for x in (s, *ps) if x not in known})
            if bad:
                raise ValueError(f"unknown state postal code(s): {', '.join(bad)}")
            if missing := sorted(known - set(self.peers)):
                raise ValueError(f"no peers listed for {', '.join(missing)}")
            if selfs := sorted(s for s, ps in self.peers.items() if s in ps or len(set(ps)) != len(ps) or not ps):
                raise ValueError(f"{', '.join(selfs)}: a state's peers must be other states, listed once, at least one")
            odd = sorted(f"{s}-{p}" for s, ps in self.peers.items() for p in ps
                         if s not in self.unbordered and p not in self.unbordered and s not in self.peers[p])
            if odd:
                raise ValueError(f"bordering states must list each other: {', '.join(odd)}")
            return self

    try:
        data = tomllib.loads(text)
        return PeersModel.model_validate(data).model_dump()
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{origin} is not valid TOML: {exc}.") from None
    except ValidationError as exc:
        raise UsageError(format_errors("Peer states file", origin, exc, "Fix the file (each key a state's postal code).")) from None


@lru_cache(maxsize=1)
def peer_states() -> dict[str, tuple[str, ...]]:
    """Each state's (and DC's) peer states, by postal code."""
    text = resources.files("gapkit").joinpath("config/shipped/peers.toml").read_text(encoding="utf-8")
    return validated("peers", text, lambda t: validate_peers_text(t, ORIGIN),
                     lambda d: {s: tuple(ps) for s, ps in d["peers"].items()})

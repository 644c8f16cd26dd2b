"""Reading the files a user points gapkit at (sector files, extra supply, pathway rules): one place
for the checks and the messages (no such file, a folder, not UTF-8, unreadable)."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any

from gapkit.codes import normalize_soc, normalize_state
from gapkit.errors import UsageError

# One row of an extra-supply file: (SOC code, region "US" or a state's postal code, annual completers, source).
ExtraSupplyRow = tuple[str, str, float, str]


def read_user_text(path: str | os.PathLike[str], label: str, fix: str, *, encoding: str = "utf-8") -> str:
    """The file's text; ``label`` names it in messages (``--rules x.toml``), ``fix`` says what to give instead."""
    p = Path(path).expanduser()
    if not p.is_file():
        kind = "is a folder, not a file" if p.is_dir() else "no such file"
        raise UsageError(f"{label}: {kind}. {fix}")
    try:
        return p.read_text(encoding=encoding)
    except UnicodeDecodeError:
        raise UsageError(f"{label}: not UTF-8 text; save it as UTF-8. {fix}") from None
    except OSError as exc:
        raise UsageError(f"{label}: cannot be read ({exc.strerror or exc}).") from None


def read_extra_supply(path: str) -> list[ExtraSupplyRow]:
    """User file of non-IPEDS supply: CSV with soc, region, annual_completers, source."""
    text = read_user_text(path, f"--extra-supply {path}", "Give a CSV with columns soc, region, annual_completers, source.",
                          encoding="utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    need = {"soc", "region", "annual_completers", "source"}
    have = {(h or "").strip().lower() for h in (reader.fieldnames or [])}
    if not need <= have:
        raise UsageError(f"--extra-supply {path}: missing column(s) {', '.join(sorted(need - have))}; the header must be soc,region,annual_completers,source.")
    rows = []
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            soc = normalize_soc(row["soc"])
        except ValueError as exc:
            raise UsageError(f"--extra-supply {path}, row {n}: {exc}.") from None
        reg = row["region"]
        if reg.upper() in {"US", "USA", "NATIONAL", ""}:
            reg = "US"
        elif re.fullmatch(r"(metro|county|wda|custom):[\w+,.-]+", reg, re.I):  # a sub-state area, as --region names it
            reg = _area_code(reg)
        else:
            try:
                reg = normalize_state(reg)
            except ValueError as exc:
                raise UsageError(f"--extra-supply {path}, row {n}: {exc}.") from None
        try:
            value = float(row["annual_completers"].replace(",", ""))
            if value < 0 or value != value:
                raise ValueError
        except ValueError:
            raise UsageError(f"--extra-supply {path}, row {n}: annual_completers {row['annual_completers']!r} is not a non-negative number.") from None
        rows.append((soc, reg, value, row["source"]))
    return rows


def _area_code(text: str) -> str:
    """A sub-state area as an extra-supply row names it -> the code its rows carry: ``county:39049,39041`` ->
    ``county:39041+39049`` (a county list in any order), ``wda:tx-28`` -> ``wda:TX-28``."""
    kind, rest = text.split(":", 1)
    kind = kind.lower()
    if kind == "county":
        return "county:" + "+".join(sorted({c.strip() for c in re.split(r"[,+]", rest) if c.strip()}))
    if kind == "wda":
        return "wda:" + rest.upper()
    return f"{kind}:{rest}"


def read_region_file(path: str) -> dict[str, Any]:
    """A user's region (``--region-file``): TOML with name (a slug), title and counties (five-digit FIPS codes)."""
    import tomllib

    text = read_user_text(path, f"--region-file {path}", 'Give a TOML file: name = "central-ohio", title = "...", '
                          'counties = ["39049", "39041"].')
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--region-file {path}: not valid TOML ({exc}). Fix the syntax at that line.") from None
    from gapkit.config.region_schema import validate_region

    return validate_region(data, path)

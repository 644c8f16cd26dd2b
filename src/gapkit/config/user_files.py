"""Reading the files a user points gapkit at (sector files, extra supply, pathway rules, the refresh
config): one place for the checks and the messages (no such file, a folder, a pipe or device, too large,
not UTF-8, unreadable, TOML nested past any real file) and for what gapkit accepts inside them.

Nothing in a user file is executed: TOML and CSV are parsed as data, then validated.
"""

from __future__ import annotations

import csv
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from gapkit.codes import normalize_soc, normalize_state
from gapkit.errors import UsageError

# One row of an extra-supply file: (SOC code, region "US" or a state's postal code, annual completers, source).
ExtraSupplyRow = tuple[str, str, float, str]

MAX_USER_FILE_BYTES = 64 * 1024 * 1024  # far beyond any sector, rules or extra-supply file
MAX_CELL_CHARS = 1000  # an extra-supply cell (a SOC code, a state, a count, a program's name)
MAX_COMPLETERS = 10_000_000  # one row of extra supply; every US postsecondary award of a year is ~5.5 million
MAX_TOML_DEPTH = 64  # nested tables/arrays: gapkit's files use 3
SURPLUS = "\0surplus"  # csv.DictReader's key for cells past the header


def read_user_bytes(path: str | os.PathLike[str], label: str, fix: str, *, limit: int = MAX_USER_FILE_BYTES) -> bytes:
    """The bytes of a regular file the user named, with a bound: a folder, a named pipe, a device or a file past
    ``limit`` bytes is refused before (or instead of) reading it, so nothing blocks or fills memory."""
    from gapkit.store import kind_of, open_regular

    p = Path(path).expanduser()
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise UsageError(f"{label}: no such file. {fix}") from None
    except OSError as exc:
        raise UsageError(f"{label}: cannot be read ({exc.strerror or exc}). {fix}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{label}: is a folder, not a file. {fix}")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{label}: is {kind_of(st.st_mode)}, not a regular file; gapkit reads only regular files "
                         f"(reading a pipe or device could block forever). {fix}")
    if st.st_size > limit:
        raise UsageError(f"{label}: the file is {st.st_size:,} bytes, past gapkit's limit of {limit:,} for this kind of "
                         f"file. {fix}")
    try:
        with open_regular(p) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"{label}: cannot be read ({exc.strerror or exc}). {fix}") from None
    if len(data) > limit:
        raise UsageError(f"{label}: the file is larger than gapkit's limit of {limit:,} bytes. {fix}")
    return data


def read_user_text(path: str | os.PathLike[str], label: str, fix: str, *, encoding: str = "utf-8") -> str:
    """The file's text; ``label`` names it in messages (``--rules x.toml``), ``fix`` says what to give instead."""
    data = read_user_bytes(path, label, fix)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise UsageError(f"{label}: not UTF-8 text; save it as UTF-8. {fix}") from None


def parse_toml(text: str, what: str, origin: str, fix: str = "Fix the syntax at that line.") -> dict[str, Any]:
    """TOML text -> a dict, or one UsageError naming ``what origin`` (``Sector file my.toml``); nesting deeper
    than any real file (which would exhaust Python's recursion) is refused before parsing."""
    import tomllib

    depth = _bracket_depth(text)
    if depth > MAX_TOML_DEPTH:
        raise UsageError(f"{what} {origin}: arrays or tables nested {depth} levels deep; gapkit's files use 3 and accept "
                         f"at most {MAX_TOML_DEPTH}. {fix}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{what} {origin}: not valid TOML ({exc}). {fix}") from None
    except RecursionError:
        raise UsageError(f"{what} {origin}: nested too deeply to be read. {fix}") from None


def _bracket_depth(text: str) -> int:
    """How deep inline arrays and tables nest (brackets inside strings and comments are skipped)."""
    depth = deepest = 0
    i, n = 0, len(text)
    quote: str | None = None
    while i < n:
        c = text[i]
        if quote is not None:
            if len(quote) == 3 and text.startswith(quote, i):
                quote, i = None, i + 3
                continue
            if c == "\\" and quote[0] == '"':
                i += 2
                continue
            if (len(quote) == 1 and c in (quote, "\n")):
                quote = None
            i += 1
            continue
        if text.startswith('"""', i) or text.startswith("'''", i):
            quote, i = text[i:i + 3], i + 3
            continue
        if c in "\"'":
            quote = c
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def read_extra_supply(path: str) -> list[ExtraSupplyRow]:
    """User file of non-IPEDS supply: CSV with soc, region, annual_completers, source."""
    label = f"--extra-supply {path}"
    fix = "Give a CSV with columns soc, region, annual_completers, source."
    text = read_user_text(path, label, fix, encoding="utf-8-sig")
    reader = csv.DictReader(text.splitlines(), restkey=SURPLUS)
    need = {"soc", "region", "annual_completers", "source"}
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise UsageError(f"{label}, row 1: {_csv_problem(exc)}. {fix}") from None
    have = {(h or "").strip().lower() for h in header}
    if not need <= have:
        raise UsageError(f"{label}: missing column(s) {', '.join(sorted(need - have))}; the header must be soc,region,annual_completers,source.")
    rows = []
    n = 1
    try:
        for n, raw in enumerate(reader, start=2):
            if SURPLUS in raw:
                raise UsageError(f"{label}, row {n}: {len(raw[SURPLUS])} more cell(s) than the header has columns; "
                                 f"quote cells that contain commas. {fix}")
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            long = next((k for k in need if len(row.get(k, "")) > MAX_CELL_CHARS), None)
            if long:
                raise UsageError(f"{label}, row {n}: the {long} cell is {len(row[long]):,} characters long (at most "
                                 f"{MAX_CELL_CHARS:,}). {fix}")
            try:
                soc = normalize_soc(row["soc"])
            except ValueError as exc:
                raise UsageError(f"{label}, row {n}: {exc}.") from None
            reg = row["region"]
            if reg.upper() in {"US", "USA", "NATIONAL", ""}:
                reg = "US"
            elif re.fullmatch(r"(metro|county|wda|custom):[\w+,.-]+", reg, re.I):  # a sub-state area, as --region names it
                reg = _area_code(reg)
            else:
                try:
                    reg = normalize_state(reg)
                except ValueError as exc:
                    raise UsageError(f"{label}, row {n}: {exc}.") from None
            try:
                value = float(row["annual_completers"].replace(",", ""))
                if not math.isfinite(value) or value < 0:
                    raise ValueError
            except ValueError:
                raise UsageError(f"{label}, row {n}: annual_completers {row['annual_completers']!r} is not a non-negative "
                                 "number (infinity and NaN are not numbers of people).") from None
            if value > MAX_COMPLETERS:
                raise UsageError(f"{label}, row {n}: annual_completers {value:,.0f} is more than {MAX_COMPLETERS:,} "
                                 "completers a year (every US postsecondary award of a year is about 5.5 million); check "
                                 "the number.")
            rows.append((soc, reg, value, row["source"]))
    except csv.Error as exc:
        raise UsageError(f"{label}, row {n + 1}: {_csv_problem(exc)}. {fix}") from None
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
    text = read_user_text(path, f"--region-file {path}", 'Give a TOML file: name = "central-ohio", title = "...", '
                          'counties = ["39049", "39041"].')
    data = parse_toml(text, "--region-file", str(path))
    from gapkit.config.region_schema import validate_region

    return validate_region(data, path)


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a cell is longer than {csv.field_size_limit():,} characters"
    return f"the CSV cannot be read ({text})"

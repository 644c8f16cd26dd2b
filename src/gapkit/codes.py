"""Normalizers for the codes that join the sources: SOC, CIP, state FIPS, NEM industry codes.

Each normalizer is idempotent (``f(f(x)) == f(x)``) and raises ``ValueError`` with a clear message
on garbage. The ``*_expr`` variants do the same work vectorized on a polars column and turn
unparseable values into nulls (the parsers report those rows).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

_EXCEL_WRAP = re.compile(r'^="?(.*?)"?$')
_SOC = re.compile(r"^(\d{2})-?(\d{4})(?:\.\d{2})?$")
_CIP = re.compile(r"^(\d{1,2})(?:\.(\d{1,4}))?$")
_NEM = re.compile(r"^(?:TE\d{4}|[0-9A-Z]{2}[0-9A-Z,\-]{4})$")

STATES: dict[str, tuple[str, str]] = {
    "00": ("US", "United States"), "01": ("AL", "Alabama"), "02": ("AK", "Alaska"), "04": ("AZ", "Arizona"),
    "05": ("AR", "Arkansas"), "06": ("CA", "California"), "08": ("CO", "Colorado"), "09": ("CT", "Connecticut"),
    "10": ("DE", "Delaware"), "11": ("DC", "District of Columbia"), "12": ("FL", "Florida"), "13": ("GA", "Georgia"),
    "15": ("HI", "Hawaii"), "16": ("ID", "Idaho"), "17": ("IL", "Illinois"), "18": ("IN", "Indiana"),
    "19": ("IA", "Iowa"), "20": ("KS", "Kansas"), "21": ("KY", "Kentucky"), "22": ("LA", "Louisiana"),
    "23": ("ME", "Maine"), "24": ("MD", "Maryland"), "25": ("MA", "Massachusetts"), "26": ("MI", "Michigan"),
    "27": ("MN", "Minnesota"), "28": ("MS", "Mississippi"), "29": ("MO", "Missouri"), "30": ("MT", "Montana"),
    "31": ("NE", "Nebraska"), "32": ("NV", "Nevada"), "33": ("NH", "New Hampshire"), "34": ("NJ", "New Jersey"),
    "35": ("NM", "New Mexico"), "36": ("NY", "New York"), "37": ("NC", "North Carolina"), "38": ("ND", "North Dakota"),
    "39": ("OH", "Ohio"), "40": ("OK", "Oklahoma"), "41": ("OR", "Oregon"), "42": ("PA", "Pennsylvania"),
    "44": ("RI", "Rhode Island"), "45": ("SC", "South Carolina"), "46": ("SD", "South Dakota"), "47": ("TN", "Tennessee"),
    "48": ("TX", "Texas"), "49": ("UT", "Utah"), "50": ("VT", "Vermont"), "51": ("VA", "Virginia"),
    "53": ("WA", "Washington"), "54": ("WV", "West Virginia"), "55": ("WI", "Wisconsin"), "56": ("WY", "Wyoming"),
    "60": ("AS", "American Samoa"), "66": ("GU", "Guam"), "69": ("MP", "Northern Mariana Islands"),
    "72": ("PR", "Puerto Rico"), "78": ("VI", "Virgin Islands"),
}
ABBR_TO_FIPS: dict[str, str] = {abbr: fips for fips, (abbr, _) in STATES.items()}
# The 50 states and DC: the regions `--region all` iterates over.
STATE_FIPS_51: tuple[str, ...] = tuple(f for f in STATES if f not in {"00", "60", "66", "69", "72", "78"})


def _unwrap(value: object) -> str:
    text = str(value).strip()
    m = _EXCEL_WRAP.match(text)
    return (m.group(1) if m else text).strip()


def normalize_soc(value: object) -> str:
    """``29-1141``, ``291141``, ``="29-1141"`` and O*NET ``29-1141.00`` all become ``29-1141``."""
    text = _unwrap(value)
    m = _SOC.match(text)
    if not m:
        raise ValueError(f"{value!r} is not a SOC code (expected NN-NNNN, e.g. 53-3032)")
    return f"{m.group(1)}-{m.group(2)}"


def soc_level(code: str) -> str:
    """major / minor / broad / detailed, from the SOC 2018 code pattern."""
    if code == "00-0000":
        return "total"
    if code.endswith("0000"):
        return "major"
    if code.endswith("00"):
        return "minor"
    if code.endswith("0"):
        return "broad"
    return "detailed"


def normalize_cip(value: object) -> str:
    """CIP codes as ``NN.NNNN`` (6-digit), ``NN.NN`` (4-digit) or ``NN`` (2-digit).

    Repairs what Excel does to them: ``1.0101`` -> ``01.0101``, ``51.38`` (from 51.3800) ->
    ``51.3800`` when it is clearly a truncated 6-digit code, ``="01.0101"`` -> ``01.0101``.
    A two-decimal value is ambiguous (4-digit series or truncated 6-digit code); it is read as a
    6-digit code with trailing zeros dropped, which is what a float round-trip produces.
    """
    text = _unwrap(value)
    if text == "99":
        return "99"
    m = _CIP.match(text)
    if not m:
        raise ValueError(f"{value!r} is not a CIP code (expected NN.NNNN, e.g. 51.3801)")
    family, rest = m.group(1).zfill(2), m.group(2)
    if rest is None:
        return family
    return f"{family}.{rest.ljust(4, '0')}"


def cip_level(code: str) -> int:
    if code == "99":
        return 0
    if "." not in code:
        return 2
    return 4 if len(code) == 5 else 6


def normalize_fips(value: object) -> str:
    """State FIPS as two digits (``6``, ``' 6'``, ``06`` -> ``06``); postal codes are accepted too."""
    text = _unwrap(value).upper()
    if text in ABBR_TO_FIPS:
        return ABBR_TO_FIPS[text]
    if text.isdigit() and len(text) <= 2 and text.zfill(2) in STATES:
        return text.zfill(2)
    raise ValueError(f"{value!r} is not a state FIPS code or postal abbreviation")


def normalize_state(value: object) -> str:
    """A state as its postal abbreviation, from a FIPS code, abbreviation or full name."""
    text = _unwrap(value)
    for fips, (abbr, name) in STATES.items():
        if text.upper() == abbr or text.lower() == name.lower():
            return abbr
        if text.isdigit() and text.zfill(2) == fips:
            return abbr
    raise ValueError(f"{value!r} is not a U.S. state, DC or territory (use a postal code like OH or a FIPS code like 39)")


def normalize_nem_industry(value: object) -> str:
    """NEM industry codes: 6 characters, NAICS based (``484000``, ranges ``48-490``, ``3250A1``, ``TE1000``)."""
    text = _unwrap(value).upper()
    if text.isdigit() and 3 <= len(text) < 6:
        text = text.ljust(6, "0")
    if not _NEM.match(text):
        raise ValueError(f"{value!r} is not a National Employment Matrix industry code (e.g. 484000, 48-490, TE1000)")
    return text


def soc_expr(col: str) -> pl.Expr:
    """Vectorized normalize_soc: unparseable values become null."""
    import polars as pl

    s = pl.col(col).cast(pl.String).str.strip_chars().str.replace(r'^="?', "").str.replace(r'"$', "").str.strip_chars()
    parts = s.str.extract_groups(r"^(\d{2})-?(\d{4})(?:\.\d{2})?$")
    return (
        pl.when(parts.struct.field("1").is_not_null())
        .then(pl.concat_str([parts.struct.field("1"), pl.lit("-"), parts.struct.field("2")]))
        .otherwise(None)
        .alias(col)
    )


def cip_expr(col: str) -> pl.Expr:
    """Vectorized normalize_cip: unparseable values become null."""
    import polars as pl

    s = pl.col(col).cast(pl.String).str.strip_chars().str.replace(r'^="?', "").str.replace(r'"$', "").str.strip_chars()
    parts = s.str.extract_groups(r"^(\d{1,2})(?:\.(\d{1,4}))?$")
    fam = parts.struct.field("1").str.zfill(2)
    rest = parts.struct.field("2")
    return (
        pl.when(s == "99")
        .then(pl.lit("99"))
        .when(fam.is_not_null() & rest.is_null())
        .then(fam)
        .when(fam.is_not_null())
        .then(pl.concat_str([fam, pl.lit("."), rest.str.pad_end(4, "0")]))
        .otherwise(None)
        .alias(col)
    )


def normalize_county_fips(value: object) -> str:
    """A county FIPS code: exactly 5 digits, the state's 2 and the county's 3 (``39049`` = Franklin County, OH).

    A state code alone (``39000``) or an unknown state part is refused.
    """
    text = _unwrap(value)
    if not (text.isdigit() and len(text) == 5):
        raise ValueError(f"{value!r} is not a county FIPS code (5 digits: the state's 2 and the county's 3, e.g. 39049)")
    if text[:2] not in STATES or text[:2] == "00":
        raise ValueError(f"{value!r} is not a county FIPS code: {text[:2]!r} is not a state FIPS code")
    if text[2:] == "000":
        raise ValueError(f"{value!r} is a whole state, not a county (a county FIPS code is the state's 2 digits and the county's 3)")
    return text

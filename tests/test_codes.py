"""Code normalizers: idempotent, repair what Excel does, reject garbage clearly (property tests)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gapkit.codes import (
    ABBR_TO_FIPS,
    cip_expr,
    normalize_cip,
    normalize_fips,
    normalize_nem_industry,
    normalize_soc,
    normalize_state,
    soc_expr,
    soc_level,
)

socs = st.builds(lambda a, b: f"{a:02d}-{b:04d}", st.integers(11, 55), st.integers(0, 9999))
cips6 = st.builds(lambda a, b: f"{a:02d}.{b:04d}", st.integers(1, 61), st.integers(0, 9999))


@given(socs)
def test_soc_idempotent_and_variants(code: str) -> None:
    assert normalize_soc(code) == code
    assert normalize_soc(normalize_soc(code)) == code
    assert normalize_soc(code.replace("-", "")) == code
    assert normalize_soc(f'="{code}"') == code
    assert normalize_soc(f"{code}.00") == code  # O*NET suffix


@given(cips6)
def test_cip_idempotent_and_excel_mangling(code: str) -> None:
    assert normalize_cip(code) == code
    assert normalize_cip(normalize_cip(code)) == code
    as_float = repr(float(code))  # what Excel does: 51.3800 -> 51.38, 01.0101 -> 1.0101
    assert normalize_cip(as_float) == code
    assert normalize_cip(f'="{code}"') == code


@given(st.text(min_size=1, max_size=12).filter(lambda s: not any(c.isdigit() for c in s) and s.strip().upper() not in ABBR_TO_FIPS))
def test_garbage_rejected(text: str) -> None:
    for fn in (normalize_soc, normalize_cip, normalize_fips):
        with pytest.raises(ValueError, match="is not"):
            fn(text)


@given(st.sampled_from(["01", "6", " 6", "06", "OH", "oh", "39", "72", "00"]))
def test_fips_idempotent(v: str) -> None:
    f = normalize_fips(v)
    assert len(f) == 2 and normalize_fips(f) == f


@given(st.sampled_from(["484000", "48-490", "3250A1", "TE1000", "1131-2", "4841"]))
def test_nem_idempotent(v: str) -> None:
    c = normalize_nem_industry(v)
    assert normalize_nem_industry(c) == c and len(c) == 6


def test_nem_rejects_garbage() -> None:
    for bad in ("", "48", "abc!", "1234567"):
        with pytest.raises(ValueError, match="National Employment Matrix"):
            normalize_nem_industry(bad)


def test_state_names() -> None:
    assert normalize_state("Ohio") == "OH" and normalize_state("39") == "OH" and normalize_state("oh") == "OH"
    with pytest.raises(ValueError):
        normalize_state("Atlantis")


def test_soc_levels() -> None:
    assert [soc_level(c) for c in ("00-0000", "53-0000", "53-3000", "53-3030", "53-3032")] == [
        "total", "major", "minor", "broad", "detailed"]


@given(st.lists(st.one_of(socs, st.text(max_size=8)), max_size=20))
def test_vectorized_matches_scalar_soc(values: list[str]) -> None:
    out = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(soc_expr("v"))["v"].to_list()
    for raw, got in zip(values, out, strict=True):
        try:
            want = normalize_soc(raw)
        except ValueError:
            want = None
        assert got == want


@given(st.lists(cips6, max_size=20))
def test_vectorized_matches_scalar_cip(values: list[str]) -> None:
    mangled = [repr(float(v)) for v in values]
    out = pl.DataFrame({"v": mangled}, schema={"v": pl.String}).select(cip_expr("v"))["v"].to_list()
    assert out == values

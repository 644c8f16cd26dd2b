"""California EDD long-term occupational employment projections for the state and its sub-state areas.

The Socrata export of data.edd.ca.gov's "Long-Term Occupational Employment Projections"
(`Long-Term_Occupational_Employment_Projections.csv`): one row per area × occupation, `Area Type`
State / Metropolitan Area (MSAs and metropolitan divisions) / Consortium (rural multi-county regions),
the area name with its counties in parentheses (`Yuba City MSA (Sutter and Yuba Counties)`), SOC
levels 1 (total) to 4 (detailed), and `Total  Job Openings` with a double space.

Units: `Exits`, `Transfers` and `Total Job Openings` are totals over the whole projection period
(10 years for 2020-2030), not annual averages. They are kept as published (``*_period``) and
annualized by dividing by the period's length (``exits``, ``transfers``, ``openings``, comparable
with ``state_projections.openings``). Median wages of 0.00 mean "not available" and are stored as
null; `N/A` education/experience/training as null.

Dataset ``substate_projections`` is laid out for any state's own sub-state projections (state,
area type, area code and name, the counties named, SOC code and level, employment, change, exits,
transfers, openings): vintage = the projection cycle (`2020-30`), unit = the state (one file holds
a state's whole release). EDD publishes no area codes: ``area_code`` is the state FIPS code for the
state row and null for sub-state areas; ``counties`` lists the county names of the area name
(join them on (state, county_key) with the geo tables).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.codes import STATES, normalize_state, soc_expr
from gapkit.errors import SchemaDriftError, SourceFormatError, UsageError
from gapkit.ingestion.readers import drop_exact_duplicates, map_columns, number_expr, read_csv_text
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source

if TYPE_CHECKING:
    import polars as pl

SCHEMAS = {
    "substate_projections": pa.schema([
        ("cycle", pa.string()), ("state", pa.string()), ("stfips", pa.string()), ("area_type", pa.string()),
        ("area_code", pa.string()), ("area_name", pa.string()), ("area_title", pa.string()),
        ("counties", pa.list_(pa.string())), ("soc_code", pa.string()), ("soc_level", pa.string()), ("title", pa.string()),
        ("base_year", pa.int16()), ("proj_year", pa.int16()), ("years", pa.int8()),
        ("emp_base", pa.float64()), ("emp_proj", pa.float64()), ("emp_change", pa.float64()), ("pct_change", pa.float64()),
        ("exits", pa.float64()), ("transfers", pa.float64()), ("openings", pa.float64()),
        ("exits_period", pa.float64()), ("transfers_period", pa.float64()), ("openings_period", pa.float64()),
        ("h_median", pa.float64()), ("a_median", pa.float64()), ("education", pa.string()), ("experience", pa.string()),
        ("training", pa.string()), ("source_file", pa.string()),
    ])
}
COLS = {
    "area_type": r"^area type$", "area_name": r"^area name", "period": r"^period$", "soc_level": r"^soc level$",
    "soc": r"^standard occupational classification|^soc( code)?$", "title": r"^occupational title$",
    "base": r"^base year employment", "proj": r"^projected year employment", "change": r"^numeric change$",
    "pct": r"^percent(age)? change$", "exits": r"^exits$", "transfers": r"^transfers$", "openings": r"^total job openings$",
    "h_median": r"^median hourly wage$", "a_median": r"^median annual wage$", "education": r"^entry level education$",
    "experience": r"^work experience$", "training": r"^job training$",
}
LABELS = {"area_type": "Area Type", "area_name": "Area Name (County Names)", "period": "Period", "soc_level": "SOC Level",
          "soc": "Standard Occupational Classification (SOC)", "title": "Occupational Title",
          "base": "Base Year Employment Estimate", "proj": "Projected Year Employment Estimate", "change": "Numeric Change",
          "exits": "Exits", "transfers": "Transfers", "openings": "Total Job Openings"}
REQUIRED = ["area_type", "area_name", "period", "soc_level", "soc", "title", "base", "proj", "change", "exits", "transfers",
            "openings"]
NUMBERS = {"base": "emp_base", "proj": "emp_proj", "change": "emp_change", "pct": "pct_change", "exits": "exits_period",
           "transfers": "transfers_period", "openings": "openings_period", "h_median": "h_median", "a_median": "a_median"}
# EDD's area types and SOC levels, as stored.
AREA_TYPES = {"state": "state", "metropolitan area": "metro", "consortium": "consortium"}
SOC_LEVELS = {"1": "total", "2": "major", "3": "minor", "4": "detailed"}
NOT_AVAILABLE = ("", "N/A", "NA", "n/a")
CLAIM = re.compile(r"(ca[_\- ]?edd|edd[_\- ]).*projection.*\.csv$", re.I)
# Exits + transfers + change = openings holds for every published row but rounding; a larger gap is reported.
IDENTITY_TOLERANCE = 10.0


class CaEdd(Source):
    name = "ca-edd"
    title = "California EDD long-term occupational projections for the state, its metros and rural regions"
    datasets = ("substate_projections",)
    homepage = "https://data.edd.ca.gov/"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        raise UsageError("ca-edd has no fixed download URL: export the CSV of \"Long-Term Occupational Employment Projections\" "
                         "from data.edd.ca.gov (catalog.data.gov/dataset/long-term-occupational-employment-projections) and "
                         "ingest it with `gapkit ingest --from FILE`.")

    def recognize(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() != ".csv":
            return False
        if CLAIM.search(path.name):
            return True
        first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].replace(b'"', b"").lower()
        return all(k in first for k in (b"area type", b"standard occupational classification", b"exits", b"transfers"))

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        import polars as pl

        df = read_csv_text(path, origin=path)
        if df.height == 0:
            raise SourceFormatError(path, "the projections file has a header but no data rows.")
        c = map_columns(df.columns, COLS, path=path, required=[])
        missing = [k for k in REQUIRED if k not in c]
        if missing:
            raise SchemaDriftError(path, [LABELS[k] for k in missing], df.columns)

        def txt(k: str) -> pl.Expr:
            return pl.col(c[k]).str.strip_chars() if k in c else pl.lit(None, pl.String)

        def opt(k: str) -> pl.Expr:
            return pl.when(txt(k).is_in(list(NOT_AVAILABLE))).then(None).otherwise(txt(k))

        period = txt("period").str.extract_groups(r"^((?:19|20)\d\d)\s*-\s*((?:19|20)\d\d)$")
        base_year = period.struct.field("1").cast(pl.Int16)
        proj_year = period.struct.field("2").cast(pl.Int16)
        years = proj_year - base_year
        values = {k: number_expr(c[k], specials=NOT_AVAILABLE) for k in NUMBERS if k in c}
        wage = {k: pl.when(values[k] == 0).then(None).otherwise(values[k]) for k in ("h_median", "a_median") if k in values}
        area_name = txt("area_name")
        out = df.select(
            txt("area_type").str.to_lowercase().replace_strict(AREA_TYPES, default=None).alias("area_type"),
            area_name.alias("area_name"),
            area_name.str.replace(r"\s*\([^()]*\)\s*$", "").alias("area_title"),
            _counties_expr(area_name).alias("counties"),
            soc_expr(c["soc"]).alias("soc_code"),
            txt("soc_level").replace_strict(SOC_LEVELS, default=None).alias("soc_level"),
            txt("title").alias("title"),
            base_year.alias("base_year"), proj_year.alias("proj_year"), years.cast(pl.Int8).alias("years"),
            *(v.alias(NUMBERS[k]) for k, v in values.items() if k not in wage),
            *(w.alias(k) for k, w in wage.items()),
            opt("education").alias("education"), opt("experience").alias("experience"), opt("training").alias("training"),
            pl.lit(path.name).alias("source_file"),
            txt("area_type").alias("_area_type"), txt("soc").alias("_soc"), txt("soc_level").alias("_level"),
            txt("period").alias("_period"),
            *(txt(k).alias(f"_raw_{k}") for k in NUMBERS if k in c),
        )
        _check(out, c, path)
        state = _state_of(out, path)
        fips = next(f for f, (a, _) in STATES.items() if a == state)
        out = out.with_columns(
            pl.concat_str([pl.col("base_year").cast(pl.String), pl.lit("-"), (pl.col("proj_year") % 100).cast(pl.String).str.zfill(2)])
            .alias("cycle"),
            pl.lit(state).alias("state"), pl.lit(fips).alias("stfips"),
            pl.when(pl.col("area_type") == "state").then(pl.lit(fips)).otherwise(None).alias("area_code"),
            pl.when(pl.col("area_type") == "state").then(None).otherwise(pl.col("counties")).alias("counties"),
            *((pl.col(f"{k}_period") / pl.col("years")).alias(k) for k in ("exits", "transfers", "openings")),
        )
        notes = _identity_notes(out, path)
        out = out.select(SCHEMAS["substate_projections"].names)
        out, dup_notes = drop_exact_duplicates(out, path, ["cycle", "area_name", "soc_code"], lambda n, r: (
            f"{n} area × occupation key(s) appear more than once with different figures (e.g. {r['soc_code']} in "
            f"{r['area_name']}); the file has conflicting rows."))
        notes = dup_notes + notes + _area_sum_notes(out, path)
        return [ParsedTable("substate_projections", str(cycle), state, part, notes if i == 0 else [])
                for i, ((cycle,), part) in enumerate(out.group_by(["cycle"], maintain_order=True))]


def _counties_expr(area_name: pl.Expr) -> pl.Expr:
    """`X MSA (Alameda and Contra Costa Counties)` -> [Alameda, Contra Costa]; no parenthesis -> null."""
    import polars as pl

    inner = area_name.str.extract(r"\(([^()]*)\)\s*$", 1)
    cleaned = inner.str.replace(r"\s+(Counties|County)\s*$", "").str.replace_all(r",?\s+and\s+", ", ")
    return cleaned.str.split(",").list.eval(pl.element().str.strip_chars()).list.drop_nulls()


def _check(out: pl.DataFrame, c: dict[str, str], path: Path) -> None:
    """One pass: area types, SOC codes and levels, periods and numbers are what EDD publishes."""
    import polars as pl

    checks: list[tuple[pl.Expr, pl.Expr, str]] = [
        (pl.col("area_type").is_null(), pl.col("_area_type"),
         f"column {c['area_type']!r} has {{n}} value(s) that are not State, Metropolitan Area or Consortium, e.g. {{e!r}}."),
        (pl.col("soc_code").is_null(), pl.col("_soc"), f"column {c['soc']!r} has {{n}} value(s) that are not SOC codes, e.g. {{e!r}}."),
        (pl.col("soc_level").is_null(), pl.col("_level"), f"column {c['soc_level']!r} has {{n}} value(s) that are not levels 1-4, e.g. {{e!r}}."),
        (pl.col("years").is_null() | (pl.col("years") <= 0), pl.col("_period"),
         f"column {c['period']!r} has {{n}} value(s) that are not a projection period like 2020-2030, e.g. {{e!r}}."),
    ]
    for k, name in NUMBERS.items():
        if k in c:
            raw = pl.col(f"_raw_{k}")
            bad = raw.is_not_null() & ~raw.is_in(list(NOT_AVAILABLE)) & pl.col(name).is_null()
            if k in ("h_median", "a_median"):  # 0.00 became null on purpose
                bad = bad & (raw.str.replace_all(r"[,$]", "").cast(pl.Float64, strict=False) != 0).fill_null(True)
            checks.append((bad, raw, f"column {c[k]!r} has {{n}} value(s) that are not numbers, e.g. {{e!r}}."))
    for k in REQUIRED:
        if k in NUMBERS and k != "pct":
            name = NUMBERS[k]
            checks.append((pl.col(name).is_null() & pl.col(f"_raw_{k}").is_in(list(NOT_AVAILABLE)).fill_null(True), pl.col("_soc"),
                           f"column {c[k]!r} is empty on {{n}} row(s), e.g. the row of SOC {{e!r}}."))
    res = out.select(*(bad.sum().alias(f"n{i}") for i, (bad, _, _) in enumerate(checks)),
                     *(shown.filter(bad).first().alias(f"e{i}") for i, (bad, shown, _) in enumerate(checks))).row(0, named=True)
    for i, (_, _, msg) in enumerate(checks):
        if res[f"n{i}"]:
            raise SourceFormatError(path, msg.format(n=res[f"n{i}"], e=res[f"e{i}"]))


def _state_of(out: pl.DataFrame, path: Path) -> str:
    import polars as pl

    names = out.filter(pl.col("area_type") == "state")["area_name"].unique().to_list()
    if len(names) != 1:
        raise SourceFormatError(path, f"the file must hold exactly one State area (it has {len(names)}: {', '.join(names[:4]) or 'none'}); "
                                      "gapkit reads one state's release per file.")
    try:
        return normalize_state(names[0])
    except ValueError:
        raise SourceFormatError(path, f"the State area {names[0]!r} is not a U.S. state.") from None


def _identity_notes(out: pl.DataFrame, path: Path) -> list[str]:
    """Openings = exits + transfers + change (EDD's definition): rows off by more than rounding are reported, not fixed."""
    import polars as pl

    gap = pl.col("exits_period") + pl.col("transfers_period") + pl.col("emp_change") - pl.col("openings_period")
    off = out.filter(gap.abs() > IDENTITY_TOLERANCE)
    if off.height == 0:
        return []
    r = off.row(0, named=True)
    parts = r["exits_period"] + r["transfers_period"] + r["emp_change"]
    return [f"{path.name}: {off.height} row(s) publish total job openings that differ from exits + transfers + change "
            f"(e.g. {r['area_title']} {r['soc_code']}: {parts:,.0f} vs {r['openings_period']:,.0f}); stored as published."]


def _area_sum_notes(out: pl.DataFrame, path: Path) -> list[str]:
    """Sub-state areas vs the state at the all-occupations level: EDD projects each area separately, so
    they need not add up; the difference is reported (not adjusted) when the areas name every county once."""
    import polars as pl

    tot = out.filter(pl.col("soc_level") == "total")
    state = tot.filter(pl.col("area_type") == "state")
    areas = tot.filter(pl.col("area_type") != "state")
    if state.height != 1 or areas.height == 0:
        return []
    counties = areas["counties"].explode().drop_nulls()
    if counties.is_duplicated().any():
        return [f"{path.name}: some counties are named by more than one sub-state area; areas are not summed against the state."]
    parts = []
    for col, label in (("emp_base", "base-year employment"), ("openings", "annual openings")):
        s, a = float(state[col].item()), float(areas[col].sum())
        parts.append(f"{label} {a:,.0f} vs {s:,.0f} ({(a - s) / s:+.1%})")
    return [f"{path.name}: the {areas.height} sub-state areas ({counties.len()} counties) vs the state total: " + "; ".join(parts)
            + " (EDD projects each area separately; reported, not adjusted)."]

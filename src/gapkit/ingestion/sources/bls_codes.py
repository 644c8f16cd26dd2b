"""BLS occupation-code harmonization: SOC 2018 detailed codes -> National Employment Matrix (projections) codes.

The CIP-SOC crosswalk, OEWS, Projections Central and Career Clusters use SOC 2018 detailed codes; the
BLS projections (occupation.xlsx, the National Employment Matrix) publish some SOC occupations only
together: 21-1011 and 21-1014 as 21-1018, 29-2011 and 29-2012 as 29-2010, and so on. This source reads
the BLS file that says which, the "O*NET-SOC to National Employment Matrix (NEM) and Occupational
Outlook Handbook Coverage Crosswalk" (`nem-onet-to-soc-crosswalk.xlsx`, BLS Office of Occupational
Statistics and Employment Projections, https://www.bls.gov/emp/documentation/crosswalks.htm).

Why this file and not the others on that page: it is the only one keyed by SOC 2018 detailed codes. Its
rows are O*NET-SOC 2019 codes (`21-1014.00`, `29-2011.01`); the first seven characters of an O*NET-SOC
code are the SOC 2018 detailed code, and every civilian SOC 2018 detailed occupation has at least one
O*NET-SOC code. The NEM-ACS and NEM-CPS crosswalks and the occupational coverage directory list NEM
codes only (one row per NEM occupation), so they cannot say which SOC codes a NEM code stands for.

The dataset ``soc_nem`` has one row per SOC 2018 detailed code (and NEM code it maps to):
- ``relation``: ``same`` (the NEM publishes the SOC occupation under its own code), ``merged`` (the NEM
  code covers several SOC codes: ``socs_in_nem`` of them), ``recoded`` (one SOC code under another NEM
  code), ``split`` (a SOC code whose O*NET-SOC codes go to different NEM codes: one row per NEM code;
  none in the 2023 file);
- ``soc_title`` is the title of the SOC code's ``.00`` O*NET-SOC row (O*NET uses the SOC title there);
- the Occupational Outlook Handbook profile and group the file assigns (null where it prints `—`).
The vintage is the file's "As of" date (2023-09-06 for the file covering the 2022 matrix, whose 832
NEM codes are also those of the 2023-33 and 2024-34 projections). Military occupations (SOC major
group 55) are not in the file: the projections do not cover them.

Checks (a failure raises SourceFormatError naming the file): the header row is found by meaning
(O*NET-SOC code and NEM code columns); every O*NET-SOC code is NN-NNNN.NN and appears once; every
NEM code is NN-NNNN; an O*NET-SOC row without a NEM code is an error.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from gapkit.errors import SchemaDriftError, SourceFormatError
from gapkit.ingestion.readers import lists_sheet, map_columns, normalize_header, xlsx_sheets
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source

URL = "https://www.bls.gov/emp/classifications-crosswalks/nem-onet-to-soc-crosswalk.xlsx"
NAME = re.compile(r"^nem-onet-to-soc-crosswalk[^/]*\.xlsx$", re.I)
SHEET = "ONET to SOC crosswalk"

SCHEMAS: dict[str, pa.Schema] = {
    "soc_nem": pa.schema([
        ("soc_code", pa.string()), ("soc_title", pa.string()), ("nem_code", pa.string()), ("nem_title", pa.string()),
        ("relation", pa.string()), ("socs_in_nem", pa.int16()), ("onet_codes", pa.int16()),
        ("ooh_profile_code", pa.string()), ("ooh_profile_title", pa.string()), ("ooh_group", pa.string()),
        ("as_of", pa.string()), ("source_file", pa.string()),
    ])
}
# field -> regex on the normalized header (what the column means, not its exact wording)
COLUMNS = {
    "onet_code": r"^o\*?net[- ]soc (20\d\d )?code$",
    "onet_title": r"^o\*?net[- ]soc (20\d\d )?title$",
    "nem_code": r"^nem (occupation )?code$|matrix (occupation )?code$",
    "nem_title": r"^nem (occupation(al)? )?title$|matrix (occupation(al)? )?title$|^national employment matrix occupational title$",
    "ooh_code": r"^ooh profile (code|number)$",
    "ooh_title": r"^ooh profile title$",
    "ooh_group": r"^ooh occupation group$",
}
REQUIRED = ["onet_code", "onet_title", "nem_code", "nem_title"]
ONET_RE = r"^\d{2}-\d{4}\.\d{2}$"
SOC_RE = r"^\d{2}-\d{4}$"
MISSING = ("—", "–", "-", "")
AS_OF = re.compile(r"\bas of (\d{1,2})/(\d{1,2})/(\d{4})\b", re.I)
AS_OF_NAME = re.compile(r"asof[-_](\d{4})-(\d{2})-(\d{2})", re.I)


class BlsCodes(Source):
    name = "bls-codes"
    title = "BLS O*NET-SOC to National Employment Matrix crosswalk (SOC 2018 -> projections codes)"
    datasets = ("soc_nem",)
    homepage = "https://www.bls.gov/emp/documentation/crosswalks.htm"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        return [Remote(URL, "nem-onet-to-soc-crosswalk.xlsx")]

    def recognize(self, path: Path, head: bytes) -> bool:
        if NAME.match(path.name):
            return True  # the agency's name claims the file, so a damaged download is reported
        if path.suffix.lower() != ".xlsx" or not head.startswith(b"PK"):
            return False
        return lists_sheet(path, SHEET)

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        import polars as pl

        path = Path(path)
        sheets = xlsx_sheets(path)
        sheet = SHEET if SHEET in sheets else (sheets[0] if sheets else None)
        if sheet is None:
            raise SourceFormatError(path, "the workbook has no sheets.")
        raw = _load(path, sheet)
        head_row, header = _header(raw, path, sheet)
        cols = map_columns(header, COLUMNS, path=path, sheet=sheet, required=REQUIRED)
        body = raw.slice(head_row + 1).rename(dict(zip(raw.columns, header, strict=True)))
        text = {k: _text(c) for k, c in cols.items()}
        df = body.select(*[e.alias(k) for k, e in text.items()]).filter(~pl.all_horizontal(pl.all().is_null()))
        for k in ("ooh_code", "ooh_title", "ooh_group"):
            if k not in df.columns:
                df = df.with_columns(pl.lit(None, pl.String).alias(k))
        if df.height == 0:
            raise SourceFormatError(path, f"sheet {sheet!r} has no rows under its header.")
        _check(df, path, sheet)
        as_of, notes = _as_of(raw, head_row, path)

        df = df.with_columns(pl.col("onet_code").str.slice(0, 7).alias("soc_code"))
        base = df.filter(pl.col("onet_code").str.ends_with(".00")).select("soc_code", pl.col("onet_title").alias("t00"))
        per_soc = (
            df.sort("onet_code")
            .group_by("soc_code", "nem_code", maintain_order=True)
            .agg(pl.col("nem_title").first(), pl.col("onet_title").first().alias("t_first"), pl.len().cast(pl.Int16).alias("onet_codes"),
                 pl.col("ooh_code").first(), pl.col("ooh_title").first(), pl.col("ooh_group").first())
            .join(base, on="soc_code", how="left")
            .with_columns(pl.coalesce("t00", "t_first").alias("soc_title"))
        )
        nem_titles = per_soc.group_by("nem_code").agg(pl.col("nem_title").n_unique().alias("n"), pl.col("nem_title").first().alias("t"))
        clash = nem_titles.filter(pl.col("n") > 1)
        if clash.height:
            raise SourceFormatError(path, f"sheet {sheet!r} gives NEM code {clash['nem_code'][0]} more than one title; the file is damaged or altered.")
        per_soc = per_soc.with_columns(
            pl.col("soc_code").n_unique().over("nem_code").cast(pl.Int16).alias("socs_in_nem"),
            pl.col("nem_code").n_unique().over("soc_code").alias("nems_of_soc"),
        ).with_columns(
            pl.when(pl.col("nems_of_soc") > 1).then(pl.lit("split"))
            .when(pl.col("socs_in_nem") > 1).then(pl.lit("merged"))
            .when(pl.col("soc_code") == pl.col("nem_code")).then(pl.lit("same"))
            .otherwise(pl.lit("recoded")).alias("relation")
        )
        split = per_soc.filter(pl.col("relation") == "split")["soc_code"].unique().sort().to_list()
        if split:
            notes.append(f"{len(split)} SOC code(s) map to more than one NEM code ({', '.join(split[:10])}): one row per NEM code, "
                         "no weights are published.")
        no00 = per_soc.filter(pl.col("t00").is_null())["soc_code"].unique().sort().to_list()
        if no00:
            notes.append(f"{len(no00)} SOC code(s) have no '.00' O*NET-SOC row ({', '.join(no00[:10])}); their title is that of their first O*NET-SOC code.")
        counts = per_soc.group_by("relation").len().sort("relation")
        notes.append(f"{path.name}: {per_soc['soc_code'].n_unique()} SOC 2018 codes -> {per_soc['nem_code'].n_unique()} NEM codes ("
                     + ", ".join(f"{r} {n}" for r, n in counts.iter_rows()) + ").")
        out = per_soc.sort("soc_code", "nem_code").select(
            "soc_code", "soc_title", "nem_code", "nem_title", "relation", "socs_in_nem", "onet_codes",
            pl.col("ooh_code").alias("ooh_profile_code"), pl.col("ooh_title").alias("ooh_profile_title"), "ooh_group",
            pl.lit(as_of).alias("as_of"), pl.lit(path.name).alias("source_file"),
        )
        return [ParsedTable("soc_nem", as_of, "crosswalk", out, notes)]


def _load(path: Path, sheet: str) -> Any:
    import fastexcel

    try:
        return fastexcel.read_excel(str(path)).load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as exc:  # calamine raises its own error types
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise SourceFormatError(path, f"sheet {sheet!r} cannot be read ({text}); the workbook may be truncated or corrupt.") from None


def _header(raw: Any, path: Path, sheet: str) -> tuple[int, list[str]]:
    """The first top row naming an O*NET-SOC code column and a NEM code column (row 5 in the BLS file)."""
    for i in range(min(raw.height, 12)):
        cells = [normalize_header(v) if v is not None else "" for v in raw.row(i)]
        if any(re.search(COLUMNS["onet_code"], c) for c in cells) and any(re.search(COLUMNS["nem_code"], c) for c in cells):
            names, seen = [], set()
            for j, v in enumerate(raw.row(i)):
                n = str(v).strip() if v is not None else f"column_{j}"
                n = n if n not in seen else f"{n}_{j}"
                seen.add(n)
                names.append(n)
            return i, names
    first = [str(v) for r in range(min(raw.height, 6)) for v in raw.row(r) if v is not None]
    raise SchemaDriftError(path, ["O*NET-SOC Code", "NEM Code"], first, sheet)


def _text(col: str) -> Any:
    import polars as pl

    s = pl.col(col).cast(pl.String).str.strip_chars().str.replace(r'^="?(.*?)"?$', "$1").str.strip_chars()
    return pl.when(s.is_null() | s.is_in(list(MISSING))).then(None).otherwise(s)


def _check(df: Any, path: Path, sheet: str) -> None:
    import polars as pl

    bad = df.filter(~pl.col("onet_code").fill_null("").str.contains(ONET_RE))
    if bad.height:
        r = bad.row(0, named=True)
        raise SourceFormatError(path, f"{bad.height} row(s) of sheet {sheet!r} have an O*NET-SOC code that is not NN-NNNN.NN, "
                                      f"e.g. {r['onet_code']!r} ({r['onet_title']!r}).")
    bad = df.filter(~pl.col("nem_code").fill_null("").str.contains(SOC_RE))
    if bad.height:
        r = bad.row(0, named=True)
        raise SourceFormatError(path, f"{bad.height} row(s) of sheet {sheet!r} have no NEM code or one that is not NN-NNNN, "
                                      f"e.g. {r['nem_code']!r} for O*NET-SOC {r['onet_code']}.")
    dups = df.filter(pl.col("onet_code").is_duplicated())["onet_code"].unique().sort()
    if len(dups):
        raise SourceFormatError(path, f"sheet {sheet!r} lists O*NET-SOC code(s) {', '.join(dups.head(5).to_list())} more than once.")


def _as_of(raw: Any, head_row: int, path: Path) -> tuple[str, list[str]]:
    """The file's "As of m/d/yyyy" line (above the header), else the date in its name, else "undated"."""
    for r in range(head_row):
        for v in raw.row(r):
            if v is not None and (m := AS_OF.search(str(v))):
                return _iso(int(m.group(3)), int(m.group(1)), int(m.group(2)), path), []
    if m := AS_OF_NAME.search(path.name):
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)), path), [
            f"{path.name}: no 'As of' line above the header; the date in the file name ({m.group(0)}) is its vintage."]
    return "undated", [f"{path.name}: no 'As of' date in the file or its name; stored as vintage 'undated'."]


def _iso(y: int, m: int, d: int, path: Path) -> str:
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        raise SourceFormatError(path, f"its 'As of' date {m}/{d}/{y} is not a date.") from None

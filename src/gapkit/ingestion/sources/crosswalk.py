"""NCES CIP 2020 ↔ SOC 2018 crosswalk (`CIP2020_SOC2018_Crosswalk.xlsx`, sheet `CIP-SOC`).

Many-to-many, no weights. The sentinel rows (`99-9999`/NO MATCH for a CIP with no SOC, `99.9999`/
NO MATCH for a SOC with no CIP) are dropped from the links and kept as the unmatched list.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from gapkit.codes import cip_expr, soc_expr
from gapkit.errors import SourceFormatError
from gapkit.ingestion.readers import map_columns, read_xlsx_sheet, xlsx_sheets
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source

URL = "https://nces.ed.gov/ipeds/cipcode/Files/CIP2020_SOC2018_Crosswalk.xlsx"
SHEET = "CIP-SOC"
VINTAGE = "CIP2020-SOC2018"

SCHEMAS = {
    "cip_soc": pa.schema([("cipcode", pa.string()), ("cip_title", pa.string()), ("soc_code", pa.string()),
                          ("soc_title", pa.string()), ("source_file", pa.string())]),
    "cip_soc_unmatched": pa.schema([("kind", pa.string()), ("code", pa.string()), ("title", pa.string()),
                                    ("source_file", pa.string())]),
}
COLUMNS = {"cip": r"^cip\s*20\d\d\s*code$|^cip ?code", "cip_title": r"^cip\s*20\d\d\s*title$|^cip ?title",
           "soc": r"^soc\s*20\d\d\s*code$|^soc ?code", "soc_title": r"^soc\s*20\d\d\s*title$|^soc ?title"}


class Crosswalk(Source):
    name = "crosswalk"
    title = "NCES CIP 2020 - SOC 2018 crosswalk"
    datasets = ("cip_soc", "cip_soc_unmatched")
    homepage = "https://nces.ed.gov/ipeds/cipcode/resources.aspx?y=56"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        return [Remote(URL, "CIP2020_SOC2018_Crosswalk.xlsx")]

    def recognize(self, path: Path, head: bytes) -> bool:
        if re.match(r"^CIP20\d\d_SOC20\d\d_Crosswalk[^a-z]*\.xlsx$", path.name, re.I):
            return True
        if path.suffix.lower() != ".xlsx" or not head.startswith(b"PK") or not re.search(r"cip.*soc|crosswalk", path.name, re.I):
            return False
        try:
            return SHEET in xlsx_sheets(path)
        except SourceFormatError:
            return False

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        import polars as pl

        df = read_xlsx_sheet(path, SHEET, header_row=0)
        c = map_columns(df.columns, COLUMNS, path=path, sheet=SHEET)
        df = df.select(
            pl.col(c["cip"]).cast(pl.String).str.strip_chars().alias("cip_raw"),
            pl.col(c["cip_title"]).cast(pl.String).str.strip_chars().alias("cip_title"),
            pl.col(c["soc"]).cast(pl.String).str.strip_chars().alias("soc_raw"),
            pl.col(c["soc_title"]).cast(pl.String).str.strip_chars().alias("soc_title"),
        ).filter(~pl.all_horizontal(pl.all().is_null()))  # blank rows (formatting below the table)
        if df.height == 0:
            raise SourceFormatError(path, f"sheet {SHEET!r} has no rows.")
        half = df.filter(pl.col("cip_raw").is_null() | pl.col("soc_raw").is_null())
        if half.height:
            r = half.row(0, named=True)
            raise SourceFormatError(path, f"{half.height} row(s) of sheet {SHEET!r} lack a CIP or a SOC code, e.g. {r['cip_raw']!r} / {r['soc_raw']!r}.")
        no_soc = (pl.col("soc_raw").eq("99-9999") | pl.col("soc_title").str.to_uppercase().eq("NO MATCH")).fill_null(False)
        no_cip = (pl.col("cip_raw").eq("99.9999") | pl.col("cip_title").str.to_uppercase().eq("NO MATCH")).fill_null(False)
        name = Path(path).name
        links = (
            df.filter(~no_soc & ~no_cip)
            .with_columns(cip_expr("cip_raw").alias("cipcode"), soc_expr("soc_raw").alias("soc_code"))
        )
        bad = links.filter(pl.col("cipcode").is_null() | pl.col("soc_code").is_null())
        if bad.height:
            r = bad.row(0, named=True)
            raise SourceFormatError(path, f"{bad.height} row(s) of sheet {SHEET!r} have codes that are not CIP/SOC codes, e.g. {r['cip_raw']!r} / {r['soc_raw']!r}.")
        links = links.select("cipcode", "cip_title", "soc_code", "soc_title", pl.lit(name).alias("source_file")).unique(maintain_order=True)
        unmatched = pl.concat([
            df.filter(no_soc & ~no_cip).select(pl.lit("cip").alias("kind"), cip_expr("cip_raw").alias("code"), pl.col("cip_title").alias("title")),
            df.filter(no_cip & ~no_soc).select(pl.lit("soc").alias("kind"), soc_expr("soc_raw").alias("code"), pl.col("soc_title").alias("title")),
        ]).unique(maintain_order=True).with_columns(pl.lit(name).alias("source_file"))
        if links.height == 0:
            raise SourceFormatError(path, f"sheet {SHEET!r} links no CIP code to any SOC code (only no-match rows).")
        if unmatched["code"].null_count():
            raise SourceFormatError(path, f"{unmatched['code'].null_count()} no-match row(s) of sheet {SHEET!r} have a code that is not a CIP/SOC code.")
        return [ParsedTable("cip_soc", VINTAGE, "XW", links), ParsedTable("cip_soc_unmatched", VINTAGE, "XW", unmatched)]

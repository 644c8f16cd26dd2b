"""IPEDS (NCES): completions by CIP and award level (`C<year>_A.zip`) and the institution directory
(`HD<year>.zip`).

Completions: columns by name (the agency file puts an imputation-flag column before every count and
carries race/ethnicity columns), first majors only, the revised `_rv` member preferred. The
6-digit rows of each institution and award level must sum to its `99` total: a file that fails that
check is refused. Directory: cp1252 or UTF-8 with BOM, space-padded values, `-2` = not applicable,
county FIPS zero-padded to 5.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.codes import cip_expr
from gapkit.errors import SourceFormatError
from gapkit.ingestion.readers import (
    check_not_empty_or_html,
    decode_text,
    map_columns,
    utf8_csv_file,
    zip_member_to_file,
)
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source

if TYPE_CHECKING:
    import polars as pl

BASE = "https://nces.ed.gov/ipeds/datacenter/data/"
DEFAULT_YEARS = (2021, 2022, 2023, 2024)

SCHEMAS = {
    "ipeds_completions": pa.schema([
        ("year", pa.int16()), ("unitid", pa.int32()), ("cipcode", pa.string()), ("cip_level", pa.int8()),
        ("awlevel", pa.int8()), ("completions", pa.int32()), ("completions_men", pa.int32()),
        ("completions_women", pa.int32()), ("source_file", pa.string()),
    ]),
    "ipeds_institutions": pa.schema([
        ("year", pa.int16()), ("unitid", pa.int32()), ("name", pa.string()), ("city", pa.string()),
        ("state", pa.string()), ("state_fips", pa.string()), ("county_fips", pa.string()),
        ("county_name", pa.string()), ("cbsa", pa.string()), ("cbsa_type", pa.int8()), ("sector", pa.int8()),
        ("control", pa.int8()), ("iclevel", pa.int8()), ("latitude", pa.float64()), ("longitude", pa.float64()),
        ("source_file", pa.string()),
    ]),
}
C_NAME = re.compile(r"^c(\d{4})_a(_rv)?\.(zip|csv)$", re.I)
HD_NAME = re.compile(r"^hd(\d{4})(_rv)?\.(zip|csv)$", re.I)
C_COLS = {"unitid": r"^unitid$", "cipcode": r"^cipcode$", "majornum": r"^majornum$", "awlevel": r"^awlevel$",
          "ctotalt": r"^ctotalt$", "ctotalm": r"^ctotalm$", "ctotalw": r"^ctotalw$"}
HD_COLS = {"unitid": r"^unitid$", "name": r"^instnm$", "city": r"^city$", "state": r"^stabbr$", "fips": r"^fips$",
           "countycd": r"^countycd$", "countynm": r"^countynm$", "cbsa": r"^cbsa$", "cbsatype": r"^cbsatype$",
           "sector": r"^sector$", "control": r"^control$", "iclevel": r"^iclevel$", "lat": r"^latitude$", "lon": r"^longitud"}
# The 6-digit rows of every institution × award level must add up to its CIP 99 total exactly (they
# do in every published year 2020-2024); any mismatch means a truncated or altered file.
MAX_MISMATCH_SHARE = 0.0


class Ipeds(Source):
    name = "ipeds"
    title = "IPEDS completions (C<year>_A) and institution directory (HD<year>)"
    datasets = ("ipeds_completions", "ipeds_institutions")
    homepage = "https://nces.ed.gov/ipeds/datacenter/DataFiles.aspx"

    def remotes(self, opts: IngestOptions) -> list[Remote]:
        years = opts.years or list(DEFAULT_YEARS)
        out = []
        for y in years:
            out.append(Remote(f"{BASE}C{y}_A.zip", f"C{y}_A.zip"))
            out.append(Remote(f"{BASE}HD{y}.zip", f"HD{y}.zip"))
        return out

    def recognize(self, path: Path, head: bytes) -> bool:
        # NCES file names are distinctive: they claim the file (a damaged copy is then reported).
        return bool(C_NAME.match(path.name) or HD_NAME.match(path.name))

    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        m = C_NAME.match(path.name)
        if m:
            return [self._completions(path, int(m.group(1)))]
        m = HD_NAME.match(path.name)
        if m:
            return [self._directory(path, int(m.group(1)))]
        raise SourceFormatError(path, "the file name is not C<year>_A or HD<year>, so gapkit cannot tell the IPEDS survey and year.")

    def _completions(self, path: Path, year: int) -> ParsedTable:
        """Streams the CSV (it can be tens of millions of rows) with only the needed columns."""
        import tempfile

        from gapkit.store import scratch_dir

        with tempfile.TemporaryDirectory(prefix="gapkit-ipeds-", dir=scratch_dir()) as tmp:
            if path.suffix.lower() == ".zip":
                member, csv_path = zip_member_to_file(path, rf"^c{year}_a(_rv)?\.csv$", Path(tmp), prefer=r"_rv\.csv$")
                origin = f"{path.name}:{member}"
            else:
                csv_path, origin = path, path.name
            return self._completions_csv(csv_path, path, origin, year)

    def _completions_csv(self, csv_path: Path, path: Path, origin: str, year: int) -> ParsedTable:
        import polars as pl

        shown = f"{path} ({origin})" if ":" in origin else str(path)
        check_not_empty_or_html(csv_path, "an IPEDS completions CSV")
        with open(csv_path, "rb") as fh:
            first_line = fh.readline(1 << 20)  # the whole header line, however long
        header = [h.strip().strip('"') for h in decode_text(first_line).strip().split(",")]
        c = map_columns(header, C_COLS, path=origin, required=["unitid", "cipcode", "majornum", "awlevel", "ctotalt"])
        ints = [k for k in ("unitid", "majornum", "awlevel", "ctotalt", "ctotalm", "ctotalw") if k in c]

        def frame(typed: bool) -> pl.DataFrame:
            # typed: the counts are parsed as integers while reading (a fraction of the memory of
            # reading them as text, which matters for tens of millions of rows); untyped: text,
            # cast afterwards, so that unreadable cells can be pointed at. CIPCODE is read as a
            # categorical either way: a few thousand distinct codes, 4 bytes a row instead of 16.
            narrow = {"unitid": pl.Int32, "majornum": pl.Int8, "awlevel": pl.Int8}
            overrides = {c[k]: narrow.get(k, pl.Int32) for k in ints} if typed else {}
            overrides[c["cipcode"]] = pl.Categorical
            raw = header[0]
            if raw != header[0].lstrip("\ufeff"):
                overrides = {(raw if k == header[0] else k): v for k, v in overrides.items()}
            lf = pl.scan_csv(csv_path, infer_schema=False, schema_overrides=overrides, encoding="utf8-lossy", truncate_ragged_lines=True)
            lf = lf.rename({name: name.lstrip("\ufeff").strip() for name in lf.collect_schema().names()})
            num = {k: (pl.col(c[k]) if typed else pl.col(c[k]).str.strip_chars().cast(pl.Int64, strict=False)) for k in ints}
            return lf.select(
                num["unitid"].cast(pl.Int32, strict=False).alias("unitid"), pl.col(c["cipcode"]).alias("cip_raw"),
                num["majornum"].cast(pl.Int8, strict=False).alias("majornum"),
                num["awlevel"].cast(pl.Int8, strict=False).alias("awlevel"), num["ctotalt"].cast(pl.Int32, strict=False).alias("completions"),
                *(num[k].cast(pl.Int32, strict=False).alias(n) if k in num else pl.lit(None, pl.Int32).alias(n)
                  for k, n in (("ctotalm", "completions_men"), ("ctotalw", "completions_women"))),
            ).filter(pl.col("majornum").ne_missing(2)).collect(engine="streaming")  # second majors are not supply

        try:
            out = frame(typed=True)
        except pl.exceptions.PolarsError:
            try:
                out = frame(typed=False)
            except pl.exceptions.PolarsError as exc:
                raise SourceFormatError(shown, f"the CSV cannot be parsed ({str(exc).splitlines()[0][:200]}).") from None
        if out.height == 0:
            raise SourceFormatError(shown, "the file has a header but no rows.")
        # Normalize each distinct CIP code (a few thousand) once, with its level, then map the column
        # through the categorical's integer codes: the checks below run on a 4-byte code per row, and
        # the text column is built once, at the end.
        distinct = out.select(pl.col("cip_raw").unique()).with_columns(
            pl.col("cip_raw").to_physical().alias("code"), cip_expr("cip_raw").alias("cipcode"))
        distinct = distinct.with_columns(
            pl.when(pl.col("cipcode") == "99").then(0).when(pl.col("cipcode").str.len_chars() == 2).then(2)
            .when(pl.col("cipcode").str.len_chars() == 5).then(4).otherwise(6).cast(pl.Int8).alias("cip_level")
        ).filter(pl.col("code").is_not_null())
        normalized = pl.Enum(distinct["cipcode"].drop_nulls().unique().sort())
        distinct = distinct.with_columns(pl.col("cipcode").cast(normalized).to_physical().alias("idx"))
        code = pl.col("cip_raw").to_physical()
        out = out.with_columns(
            code.replace_strict(distinct["code"], distinct["idx"], default=None, return_dtype=distinct["idx"].dtype).cat.to(normalized).alias("cipcode"),
            code.replace_strict(distinct["code"], distinct["cip_level"], default=None, return_dtype=pl.Int8).alias("cip_level"),
        ).drop("cip_raw")
        bad = out.filter(pl.any_horizontal(pl.col("unitid", "cipcode", "majornum", "awlevel", "completions").is_null()))
        if bad.height:
            raise SourceFormatError(shown, f"{bad.height} row(s) have an unreadable UNITID, CIPCODE, MAJORNUM, AWLEVEL or CTOTALT "
                                           f"(first: row with UNITID {bad['unitid'][0]}, CIPCODE {bad['cipcode'][0]}).")
        if (out["majornum"] != 1).any():  # second majors were skipped while reading; anything else left is too
            out = out.filter(pl.col("majornum") == 1)
        # Duplicate keys: one Int64 per row packs institution × CIP × award level (unitid: 32 bits, the
        # CIP's index among the normalized codes: < 2**24 as they are at most 99.9999, level: 8 bits);
        # sorted, its distinct values are counted in one pass (a hash set of 15 million keys would
        # take several times the memory).
        key = ((pl.col("unitid").cast(pl.Int64) * 2**24 + pl.col("cipcode").to_physical().cast(pl.Int64)) * 256
               + pl.col("awlevel").cast(pl.Int64) + 128)
        keys = out.select(key.alias("k")).to_series()
        keys.sort(in_place=True)
        n_keys = keys.n_unique()
        del keys
        if n_keys != out.height:
            dup = out.group_by("unitid", "cipcode", "awlevel").len().filter(pl.col("len") > 1)
            r = dup.row(0, named=True)
            raise SourceFormatError(shown, f"{dup.height} institution × CIP × award level key(s) appear more than once (e.g. UNITID {r['unitid']}, CIP {r['cipcode']}, level {r['awlevel']}); the file has duplicated rows.")
        self._check_totals(out.lazy(), Path(shown))  # checks run as queries: no copies of a big table
        out = out.select(
            pl.lit(year).cast(pl.Int16).alias("year"), "unitid", "cipcode", "cip_level", "awlevel", "completions",
            "completions_men", "completions_women", pl.lit(origin).alias("source_file"),  # a literal: polars keeps one value, not one per row
        ).with_columns(pl.col("cipcode").cast(pl.String))  # the stored type, built once, after the checks
        return ParsedTable("ipeds_completions", str(year), "C", out)

    def _check_totals(self, lf: pl.LazyFrame, path: Path) -> None:
        import polars as pl

        tot = lf.filter(pl.col("cip_level") == 0).select("unitid", "awlevel", pl.col("completions").alias("t")).collect()
        if tot.height == 0:
            raise SourceFormatError(path, "the file has no CIPCODE 99 (grand total) rows, so its completions cannot be checked; it is not a complete C<year>_A file.")
        six = lf.filter(pl.col("cip_level") == 6).group_by("unitid", "awlevel").agg(pl.col("completions").sum().alias("s")).collect()
        cmp = tot.join(six, on=["unitid", "awlevel"], how="full", coalesce=True).with_columns(pl.col("t", "s").fill_null(0))
        bad = cmp.filter(pl.col("t") != pl.col("s"))
        if bad.height > max(0, MAX_MISMATCH_SHARE * cmp.height):
            r = bad.row(0, named=True)
            raise SourceFormatError(path, f"for {bad.height} institution × award level cells the 6-digit CIP rows do not add up to the "
                                          f"CIP 99 total (e.g. UNITID {r['unitid']} level {r['awlevel']}: {r['s']} vs {r['t']}); the file is truncated or altered.")

    def _directory(self, path: Path, year: int) -> ParsedTable:
        import tempfile

        import polars as pl

        from gapkit.store import scratch_dir

        with tempfile.TemporaryDirectory(prefix="gapkit-ipeds-", dir=scratch_dir()) as tmp:
            if path.suffix.lower() == ".zip":
                member, csv_path = zip_member_to_file(path, rf"^hd{year}(_rv)?\.csv$", Path(tmp), prefer=r"_rv\.csv$")
                origin = f"{path.name}:{member}"
            else:
                csv_path, origin = path, path.name
            check_not_empty_or_html(csv_path, "an IPEDS directory CSV")
            csv_path = utf8_csv_file(csv_path, Path(tmp))
            with open(csv_path, "rb") as fh:
                first_line = fh.readline()
            header = [h.lstrip("\ufeff").strip().strip('"') for h in decode_text(first_line).strip().split(",")]
            c = map_columns(header, HD_COLS, path=origin, required=["unitid", "name", "state", "fips"])
            try:
                df = pl.read_csv(csv_path, columns=[header.index(v) for v in c.values()], infer_schema=False,
                                 truncate_ragged_lines=True, encoding="utf8-lossy")
            except pl.exceptions.PolarsError as exc:
                raise SourceFormatError(path, f"the CSV cannot be parsed ({str(exc).splitlines()[0][:200]}).") from None
        df = df.rename({old: old.lstrip("\ufeff").strip() for old in df.columns})

        def txt(k: str) -> pl.Expr:
            if k not in c:
                return pl.lit(None, pl.String)
            s = pl.col(c[k]).str.strip_chars()
            return pl.when(s.is_in(["", "-2", "-1"]) | s.is_null()).then(None).otherwise(s)

        def int_(k: str) -> pl.Expr:
            return txt(k).cast(pl.Int64, strict=False)

        out = df.select(
            pl.lit(year).cast(pl.Int16).alias("year"),
            int_("unitid").alias("unitid"),
            txt("name").alias("name"), txt("city").alias("city"), txt("state").alias("state"),
            txt("fips").str.zfill(2).alias("state_fips"),
            txt("countycd").str.zfill(5).alias("county_fips"),
            txt("countynm").alias("county_name"),
            txt("cbsa").alias("cbsa"),
            int_("cbsatype").alias("cbsa_type"), int_("sector").alias("sector"), int_("control").alias("control"),
            int_("iclevel").alias("iclevel"),
            txt("lat").cast(pl.Float64, strict=False).alias("latitude"), txt("lon").cast(pl.Float64, strict=False).alias("longitude"),
            pl.lit(origin).alias("source_file"),
        )
        if out.height == 0:
            raise SourceFormatError(path, "the file has a header but no rows.")
        if out["unitid"].null_count():
            raise SourceFormatError(path, f"{out['unitid'].null_count()} row(s) have no readable UNITID.")
        if out["unitid"].is_duplicated().any():
            raise SourceFormatError(path, "some UNITIDs appear more than once; the directory has duplicated rows.")
        self._check_directory_values(df, out, c, path)
        return ParsedTable("ipeds_institutions", str(year), "HD", _conform(out, "ipeds_institutions"))

    @staticmethod
    def _check_directory_values(df: pl.DataFrame, out: pl.DataFrame, c: dict[str, str], path: Path) -> None:
        """Codes and numbers that are present must be readable: a shifted or altered file is refused."""
        import polars as pl

        checks = {  # output column -> (raw column field, what a valid value looks like)
            "state_fips": ("fips", pl.col("state_fips").str.contains(r"^\d{2}$")),
            "county_fips": ("countycd", pl.col("county_fips").str.contains(r"^\d{5}$")),
            "unitid": ("unitid", pl.col("unitid").is_between(1, 2**31 - 1)),
            **{k: (f, pl.col(k).is_between(-128, 127)) for k, f in
               (("sector", "sector"), ("control", "control"), ("iclevel", "iclevel"), ("cbsa_type", "cbsatype"))},
            "latitude": ("lat", pl.col("latitude").is_between(-90, 90)),
            "longitude": ("lon", pl.col("longitude").is_between(-180, 180)),
        }
        for field, valid in checks.values():
            if field not in c:
                continue
            given = pl.col("_raw").is_not_null() & ~pl.col("_raw").is_in(["", "-2", "-1"])
            bad = out.with_columns(df[c[field]].str.strip_chars().alias("_raw")).filter(given & ~valid.fill_null(False))
            if bad.height:
                raise SourceFormatError(path, f"{bad.height} row(s) have an unreadable {c[field]} value (e.g. {bad['_raw'][0]!r} for "
                                              f"UNITID {bad['unitid'][0]}); the file is shifted or altered.")
        if out["state_fips"].null_count():
            raise SourceFormatError(path, f"{out['state_fips'].null_count()} row(s) have no state FIPS code.")


def _conform(frame: pl.DataFrame, dataset: str) -> pl.DataFrame:
    """``frame`` with exactly the columns and types of SCHEMAS[dataset], in that order."""
    import polars as pl

    schema = pl.Schema(SCHEMAS[dataset])
    return frame.select(list(schema)).cast(dict(schema))

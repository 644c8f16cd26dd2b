"""Finding things by name: occupations, programs (CIP), sectors and regions, ranked, with their codes.

The name index (:func:`name_index`, built once per :class:`~gapkit.analysis.tables.Tables` with polars
from the ingested tables) holds one row per name of every entry:

- occupations: the titles of the newest BLS Employment Projections cycle (detailed "line item" codes
  and summary groups) and the SOC 2018 titles of the BLS O*NET-SOC to NEM crosswalk (``soc_nem``), so a
  SOC 2018 code the projections publish only merged (21-1014 inside 21-1018) is found under either code
  and either title;
- programs: CIP 2020 titles (:meth:`Tables.cip_titles`);
- sectors: the shipped sectors' names and titles, and their subsectors' titles;
- regions: the nation, the 50 states, DC and the territories (always), and when ingested the metro and
  micro areas of the Census CBSA delineation, counties (CBSA delineation and OEWS area definitions) and
  local workforce development areas (``workforce_areas``).

Ranking (:func:`find`): a query is compared with every name after normalization (case, accents,
punctuation, the words "and", "of", "the"..., and plural endings: "Registered Nurse" and "registered
nurses" are the same name), in tiers:

0. exact code (SOC, CIP, postal code or FIPS, CBSA, county FIPS, sector name);
1. what the code contains or stands for: the detailed occupations of a broad, minor or major SOC group,
   the SOC 2018 codes a merged projections code covers (and the projections code of a merged SOC code),
   the programs of a CIP family (``51``) or series (``51.38``);
2. exact name;
3. every word of the query begins a word of the name (words in the query's order first);
4. close spelling (only when nothing above matched): each query word may be a near miss of a word
   in the names with the same first letter (``difflib.get_close_matches`` on the vocabulary, a few
   thousand words), or the whole query a near miss of a whole name.

Within a tier: words in order first, then occupations, programs, sectors, regions; then the kind of
entry (detailed occupations before SOC 2018 codes before summary groups; states before metros before
micros before counties before workforce areas); then size (occupations by employment, programs by
national completions in the newest IPEDS year, metros by their number of counties, counties by their
place in a CBSA: central county of a metro first), then the code. The order is fully determined.

Why difflib and not a fuzzy-matching library: the fuzzy tier only runs on a miss, and runs on the
vocabulary of distinct words rather than on every name, so the standard library is fast enough
(milliseconds) and adds no dependency; the matching itself stays vectorized in polars.

The resolver (:mod:`gapkit.analysis.query`) calls :func:`resolve` so that every option taking a SOC,
CIP, sector or state accepts a unique name and answers a near miss with "did you mean ...", and
:func:`not_detailed` to explain a SOC code that is a group or merged in the projections.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from gapkit.analysis.tables import SMALL
from gapkit.codes import STATES, normalize_soc, soc_level
from gapkit.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.tables import Tables

KINDS = ("occupation", "program", "sector", "region")
STOPWORDS = ("and", "of", "the", "for")  # not "in", "or": state abbreviations in metro titles (Columbus, IN)
_STOP_RE = r"\b(?:" + "|".join(STOPWORDS) + r")\b"
_STEM_RE = r"\b([a-z0-9]{3,}?)(?:ies|y|s)\b"  # nurses -> nurse, technologies / technology -> technolog
ENTRY_COLS = ("kind", "code", "alt", "title", "detail", "rank", "weight", "target", "target_title")
TIER_WHY = {0: "code", 2: "exact name", 3: "all words", 4: "close spelling"}
RANKING = ("Ranked: exact code; what a code contains (a SOC group's detailed occupations, a merged code's SOC 2018 codes, a CIP "
           "family's programs); exact name; all words (in order first); close spelling. Ties: occupations, programs, sectors, "
           "regions; detailed before summary; larger first (employment, completions, counties).")
NATION_NAMES = ("United States", "USA", "U.S.", "US", "national", "nation")
MAX_SUGGESTED = 6  # suggestions shown in one error message


# ---------------------------------------------------------------------------------------------
# normalization: the same in Python (queries) and in polars (the index); a test checks they agree
# ---------------------------------------------------------------------------------------------
def name_key(text: str) -> str:
    """A name as the index compares it: lower case ASCII words, no stop words, plural endings removed."""
    s = "".join(ch for ch in unicodedata.normalize("NFKD", str(text)) if not unicodedata.category(ch).startswith("M")).lower()
    s = re.sub(r"['’]", "", s)
    s = re.sub(r"[^a-z0-9]+", " ", s)
    s = re.sub(_STOP_RE, " ", s)
    s = re.sub(r" +", " ", s).strip()
    return re.sub(_STEM_RE, r"\1", s)


def key_expr(col: str) -> pl.Expr:
    """:func:`name_key` as a polars expression."""
    import polars as pl

    return (pl.col(col).str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
            .str.replace_all(r"['’]", "").str.replace_all(r"[^a-z0-9]+", " ")
            .str.replace_all(_STOP_RE, " ").str.replace_all(r" +", " ").str.strip_chars()
            .str.replace_all(_STEM_RE, "${1}"))


# ---------------------------------------------------------------------------------------------
# the index
# ---------------------------------------------------------------------------------------------
def name_index(tables: Tables | None) -> pl.DataFrame:
    """Every name gapkit can find: one row per (entry, name). Built once per Tables (static parts only without)."""
    if tables is None:
        return _static_index()
    return tables.cached("name-index", lambda: _build(tables))


def index_sources(tables: Tables | None) -> tuple[list[str], list[str]]:
    """(what the index was built from, what is missing and how to add it): for the method line."""
    used, missing = ["shipped sectors", "states (gapkit.codes)"], []
    if tables is None:
        return used, missing
    for ds, label in (("ep_occupations", "BLS Employment Projections {v} titles"), ("soc_nem", "SOC 2018 titles (BLS NEM crosswalk {v})"),
                      ("cip_soc", "CIP 2020 titles (NCES CIP-SOC crosswalk)"), ("ipeds_completions", "IPEDS {v} completions (program order)"),
                      ("cbsa_delineation", "Census CBSA delineation {v}"), ("oews_area_definitions", "OEWS area definitions {v} (counties)"),
                      ("workforce_areas", "county → workforce area files")):
        if tables.has(ds):
            used.append(label.format(v=tables.vintage(ds)))
        elif ds in {"ep_occupations", "cip_soc", "cbsa_delineation"}:
            from gapkit.ingestion.sources import DATASET_SOURCE

            missing.append(f"{ds} (`gapkit ingest {DATASET_SOURCE[ds]}`)")
    return used, missing


def _frame(rows: dict[str, list[Any]]) -> pl.DataFrame:
    import polars as pl

    schema = {"kind": pl.String, "code": pl.String, "alt": pl.String, "title": pl.String, "detail": pl.String, "rank": pl.Int8,
              "weight": pl.Float64, "target": pl.String, "target_title": pl.String, "alias": pl.String, "via": pl.String}
    return pl.DataFrame(rows, schema=schema)


@lru_cache(maxsize=1)
def _static_parts() -> pl.DataFrame:
    """Shipped sectors and subsectors, the nation, states, DC and territories (no data folder needed)."""
    from gapkit.config.sectors import list_sectors

    rows: dict[str, list[Any]] = {c: [] for c in (*ENTRY_COLS, "alias", "via")}

    def add(kind: str, code: str, alt: str | None, title: str, detail: str, rank: int, target: str | None, target_title: str | None,
            aliases: list[tuple[str, str]]) -> None:
        for alias, via in aliases:
            for c, v in zip((*ENTRY_COLS, "alias", "via"), (kind, code, alt, title, detail, rank, 0.0, target, target_title, alias, via),
                            strict=True):
                rows[c].append(v)

    for s in list_sectors():
        detail = "sector: the whole economy" if s.whole_economy else f"sector ({len(s.subsectors)} subsectors)"
        add("sector", s.name, None, s.title, detail, 0, s.name, s.title, [(s.title, "title"), (s.name, "sector name")])
        for sub in s.subsectors:
            add("sector", s.name, None, sub.title, f"subsector of {s.title} (--sector {s.name} --by subsector)", 1, s.name, s.title,
                [(sub.title, "subsector title")])
    add("region", "US", "00", "United States", "the nation", 0, "US", "United States",
        [(n, "title" if n == "United States" else "other name") for n in NATION_NAMES])
    for fips, (abbr, name) in STATES.items():
        if fips == "00":
            continue
        what = "state" if fips not in {"11", "60", "66", "69", "72", "78"} else ("federal district" if fips == "11" else "territory")
        add("region", abbr, fips, name, f"{what} (FIPS {fips})", 1, abbr, name, [(name, "title")])
    return _frame(rows)


@lru_cache(maxsize=1)
def _static_index() -> pl.DataFrame:
    return _finish(_static_parts())


def _build(tables: Tables) -> pl.DataFrame:
    import polars as pl

    parts = [_static_parts()]
    if tables.has("ep_occupations"):
        parts.append(_occupations(tables))
    if tables.has("cip_soc"):
        parts.append(_programs(tables))
    parts.extend(_geo(tables))
    cols = [*ENTRY_COLS, "alias", "via"]
    return _finish(pl.concat([p.select(cols).cast(dict(_static_parts().schema)) for p in parts], how="vertical"))


def _finish(df: pl.DataFrame) -> pl.DataFrame:
    """Entry ids, comparison keys and the kind order; one row per (entry, distinct key)."""
    import polars as pl

    return (
        df.filter(pl.col("alias").is_not_null())
        .with_columns(
            pl.concat_str([pl.col("kind"), pl.col("code"), pl.col("title"), pl.col("detail")], separator="|").alias("eid"),
            key_expr("alias").alias("key"),
            pl.col("kind").replace_strict({k: i for i, k in enumerate(KINDS)}, return_dtype=pl.Int8).alias("kind_order"),
        )
        .filter(pl.col("key") != "")
        .unique(["eid", "key"], keep="first", maintain_order=True)
        .with_columns((pl.col("key").str.count_matches(" ") + 1).cast(pl.Int16).alias("words"))
    )


def _occupations(tables: Tables) -> pl.DataFrame:
    """Projections titles (detailed and summary) and SOC 2018 titles; merged codes found both ways."""
    import polars as pl

    cycle = tables.vintage("ep_occupations")
    ep = (tables.scan("ep_occupations", cycle).select("soc_code", "title", "occ_type", "emp_base_k").collect(engine=SMALL)
          .unique("soc_code", keep="first", maintain_order=True))
    line = pl.col("occ_type") == "Line item"
    code = pl.col("soc_code")
    level = (pl.when(code == "00-0000").then(pl.lit("all occupations")).when(code.str.ends_with("0000")).then(pl.lit("major group"))
             .when(code.str.ends_with("000")).then(pl.lit("minor group")).when(code.str.ends_with("0")).then(pl.lit("broad group"))
             .otherwise(pl.lit("group")))
    soc = tables.scan("soc_nem").collect(engine=SMALL) if tables.has("soc_nem") else None
    merged = None
    if soc is not None:
        merged = (soc.filter(pl.col("soc_code") != pl.col("nem_code")).sort("soc_code").group_by("nem_code", maintain_order=True)
                  .agg(pl.col("soc_code").str.join(", ").alias("covers")))
    ep = ep.join(merged, left_on="soc_code", right_on="nem_code", how="left") if merged is not None else ep.with_columns(
        pl.lit(None, pl.String).alias("covers"))
    entries = ep.select(
        pl.lit("occupation").alias("kind"), code.alias("code"), pl.lit(None, pl.String).alias("alt"), pl.col("title"),
        pl.when(line & pl.col("covers").is_not_null())
        .then(pl.format("detailed occupation ({}); covers SOC 2018 {}", pl.lit(cycle), pl.col("covers")))
        .when(line).then(pl.format("detailed occupation ({})", pl.lit(cycle)))
        .otherwise(pl.format("summary {} ({}); not a detailed occupation", level, pl.lit(cycle))).alias("detail"),
        pl.when(line).then(0).otherwise(2).cast(pl.Int8).alias("rank"),
        (pl.col("emp_base_k").fill_null(0.0) * 1000).alias("weight"),
        pl.when(line).then(code).alias("target"), pl.when(line).then(pl.col("title")).alias("target_title"),
    )
    out = [entries.with_columns(pl.col("title").alias("alias"), pl.lit("title").alias("via"))]
    if soc is not None:
        # SOC 2018 titles of codes the projections publish as they are: a second name of the same entry
        same = soc.filter(pl.col("soc_code") == pl.col("nem_code")).select("soc_code", pl.col("soc_title").alias("alias"))
        out.append(entries.join(same, left_on="code", right_on="soc_code", how="inner").with_columns(pl.lit("SOC 2018 title").alias("via")))
        # SOC 2018 codes the projections publish under another code: entries of their own, pointing at it
        lines = ep.filter(line).select("soc_code", pl.col("title").alias("target_title"), (pl.col("emp_base_k") * 1000).alias("weight"))
        other = soc.filter(pl.col("soc_code") != pl.col("nem_code")).join(lines, left_on="nem_code", right_on="soc_code", how="left")
        out.append(other.select(
            pl.lit("occupation").alias("kind"), pl.col("soc_code").alias("code"), pl.lit(None, pl.String).alias("alt"),
            pl.col("soc_title").alias("title"),
            pl.format("SOC 2018 occupation; in the projections only as {} {}", pl.col("nem_code"),
                      pl.coalesce("target_title", "nem_title")).alias("detail"),
            pl.lit(1, pl.Int8).alias("rank"), pl.col("weight").fill_null(0.0),
            pl.when(pl.col("target_title").is_not_null()).then(pl.col("nem_code")).alias("target"), pl.col("target_title"),
            pl.col("soc_title").alias("alias"), pl.lit("SOC 2018 title").alias("via"),
        ))
    return pl.concat(out, how="vertical_relaxed")


def _programs(tables: Tables) -> pl.DataFrame:
    """CIP 2020 programs, ordered by national completions in the newest IPEDS year when ingested."""
    import polars as pl

    titles = tables.cip_titles().with_columns(pl.col("cip_title").str.strip_chars().str.strip_chars_end(".").alias("t"))
    weight = pl.lit(0.0)
    detail = pl.lit("CIP 2020 program")
    if tables.has("ipeds_completions"):
        year = tables.vintage("ipeds_completions")
        comp = (tables.scan("ipeds_completions", year).filter(pl.col("cip_level") == 6).group_by("cipcode")
                .agg(pl.col("completions").sum().cast(pl.Float64).alias("n")).collect(engine=SMALL))
        titles = titles.join(comp, on="cipcode", how="left")
        weight = pl.col("n").fill_null(0.0)
        detail = pl.format("CIP 2020 program; {} completions in the U.S. (IPEDS {})", _thousands(pl.col("n").fill_null(0)), pl.lit(year))
    return titles.select(
        pl.lit("program").alias("kind"), pl.col("cipcode").alias("code"), pl.lit(None, pl.String).alias("alt"), pl.col("t").alias("title"),
        detail.alias("detail"), pl.lit(0, pl.Int8).alias("rank"), weight.alias("weight"), pl.col("cipcode").alias("target"),
        pl.col("t").alias("target_title"), pl.col("t").alias("alias"), pl.lit("title").alias("via"),
    )


def _thousands(x: pl.Expr) -> pl.Expr:
    """A whole number as text with thousands separators (256911 -> 256,911), vectorized."""
    import polars as pl

    s = x.cast(pl.Int64).cast(pl.String).str.replace(r"(\d)(\d{3})$", "${1},${2}")
    for _ in range(4):
        s = s.str.replace(r"(\d)(\d{3}),", "${1},${2},")
    return s


def _geo(tables: Tables) -> list[pl.DataFrame]:
    """Metro and micro areas, counties and workforce areas, from whichever geography files are ingested."""
    import polars as pl

    none = pl.lit(None, pl.String)
    out: list[pl.DataFrame] = []
    counties: list[pl.DataFrame] = []
    if tables.has("cbsa_delineation"):
        cb = tables.scan("cbsa_delineation").collect(engine=SMALL)
        areas = cb.group_by("cbsa_code").agg(
            pl.col("cbsa_title").first(), pl.col("cbsa_type").first(), pl.len().alias("n"),
            pl.col("state").unique().sort().str.join(", ").alias("states"))
        out.append(areas.select(
            pl.lit("region").alias("kind"), pl.col("cbsa_code").alias("code"), none.alias("alt"), pl.col("cbsa_title").alias("title"),
            pl.format("{} area (CBSA), {} count{} in {}", pl.col("cbsa_type"), pl.col("n"),
                      pl.when(pl.col("n") == 1).then(pl.lit("y")).otherwise(pl.lit("ies")), pl.col("states")).alias("detail"),
            pl.when(pl.col("cbsa_type") == "metro").then(2).otherwise(3).cast(pl.Int8).alias("rank"),
            pl.col("n").cast(pl.Float64).alias("weight"), none.alias("target"), none.alias("target_title"),
            pl.col("cbsa_title").alias("alias"), pl.lit("CBSA title").alias("via"),
        ))
        counties.append(cb.select(
            "county_fips", "county_name", "state", "state_name",
            pl.format("in the {} {} area ({})", "cbsa_title", "cbsa_type", pl.col("central_outlying").str.to_lowercase()).alias("where"),
            (pl.when(pl.col("cbsa_type") == "metro").then(2.0).otherwise(0.0)
             + pl.when(pl.col("central_outlying").str.to_lowercase() == "central").then(1.0).otherwise(0.0)).alias("weight"),
        ))
    if tables.has("oews_area_definitions"):
        oe = tables.scan("oews_area_definitions").filter(pl.col("township_code").is_null()).collect(engine=SMALL)
        counties.append(oe.select("county_fips", pl.col("name").alias("county_name"), "state", "state_name",
                                  pl.lit("outside any metro or micro area").alias("where"), pl.lit(-1.0).alias("weight")))
    if counties:
        # the CBSA delineation first: its rows say where a county sits; OEWS adds the counties outside any CBSA
        co = pl.concat(counties, how="vertical_relaxed").unique("county_fips", keep="first", maintain_order=True)
        if not tables.has("cbsa_delineation"):
            co = co.with_columns(pl.lit(None, pl.String).alias("where"), pl.lit(0.0).alias("weight"))
        title = pl.format("{}, {}", "county_name", "state")
        entry = [
            pl.lit("region").alias("kind"), pl.col("county_fips").alias("code"), none.alias("alt"), title.alias("title"),
            pl.concat_str([pl.lit("county, "), pl.col("state_name"), pl.lit("; ") + pl.col("where")], ignore_nulls=True).alias("detail"),
            pl.lit(4, pl.Int8).alias("rank"), pl.col("weight").clip(lower_bound=0.0), none.alias("target"), none.alias("target_title"),
        ]
        out.append(co.select(*entry, pl.col("county_name").alias("alias"), pl.lit("county name").alias("via")))
        out.append(co.select(*entry, pl.format("{} {}", "county_name", "state_name").alias("alias"), pl.lit("county and state").alias("via")))
    if tables.has("workforce_areas"):
        wa = (tables.scan("workforce_areas").group_by("state", "state_fips", "area_code", "area_name")
              .agg(pl.len().alias("n")).collect(engine=SMALL))
        names = {f: n for f, (_, n) in STATES.items()}
        out.append(wa.select(
            pl.lit("region").alias("kind"), pl.format("{}-{}", "state", "area_code").alias("code"), none.alias("alt"),
            pl.col("area_name").alias("title"),
            pl.format("local workforce development area, {}, {} count{}", pl.col("state_fips").replace_strict(names, default=pl.col("state")),
                      pl.col("n"), pl.when(pl.col("n") == 1).then(pl.lit("y")).otherwise(pl.lit("ies"))).alias("detail"),
            pl.lit(5, pl.Int8).alias("rank"), pl.col("n").cast(pl.Float64).alias("weight"), none.alias("target"), none.alias("target_title"),
            pl.col("area_name").alias("alias"), pl.lit("workforce area name").alias("via"),
        ))
    return out


# ---------------------------------------------------------------------------------------------
# ranking
# ---------------------------------------------------------------------------------------------
def _word_cond(words: list[str]) -> tuple[pl.Expr, pl.Expr]:
    """(every word begins a word of the key, the words do so in order and side by side)."""
    import polars as pl

    every = pl.lit(True)
    for w in words:
        every = every & pl.col("key").str.contains(r"(?:^| )" + re.escape(w))
    phrase = pl.col("key").str.contains(r"(?:^| )" + r"[a-z0-9]* ".join(re.escape(w) for w in words))
    return every, phrase


def _code_candidates(text: str) -> set[str]:
    raw = text.strip()
    out = {raw.upper()}
    with contextlib.suppress(ValueError):
        out.add(normalize_soc(raw))
    m = re.fullmatch(r"(\d{1,2})\.(\d{4})", raw)
    if m:
        out.add(f"{m.group(1).zfill(2)}.{m.group(2)}")
    if raw.isdigit() and len(raw) <= 2:
        out.add(raw.zfill(2))
    return out


def _related(idx: pl.DataFrame, text: str) -> list[pl.DataFrame]:
    """Tier 1: what a code contains or stands for (SOC groups and merged codes, CIP families and series)."""
    import polars as pl

    raw = text.strip()
    out: list[pl.DataFrame] = []
    try:
        c = normalize_soc(raw)
    except ValueError:
        c = None
    if c is not None:
        occ = idx.filter((pl.col("kind") == "occupation") & (pl.col("code") != c))
        detailed = occ.filter(pl.col("rank") < 2)
        out.append(detailed.filter(pl.col("target") == c).with_columns(
            pl.lit(f"SOC 2018 code inside projections code {c}").alias("why")))
        parents = idx.filter((pl.col("kind") == "occupation") & (pl.col("code") == c))["target"].drop_nulls().unique().to_list()
        out.append(occ.filter(pl.col("code").is_in(parents)).with_columns(pl.lit(f"projections code that includes {c}").alias("why")))
        level = soc_level(c)
        prefix = {"major": c[:3], "minor": c[:4], "broad": c[:6]}.get(level)
        if prefix is not None:
            out.append(detailed.filter(pl.col("code").str.starts_with(prefix)).with_columns(pl.lit(f"in {level} group {c}").alias("why")))
    m = re.fullmatch(r"(\d{1,2})(?:\.(\d{2}))?", raw)
    if m:
        fam = m.group(1).zfill(2)
        prefix = f"{fam}.{m.group(2)}" if m.group(2) else f"{fam}."
        out.append(idx.filter((pl.col("kind") == "program") & pl.col("code").str.starts_with(prefix)).with_columns(
            pl.lit(f"in CIP {'series' if m.group(2) else 'family'} {prefix.rstrip('.')}").alias("why")))
    return [f.with_columns(pl.lit(1, pl.Int8).alias("tier"), pl.lit(False).alias("phrase")) for f in out]


def _fuzzy(idx: pl.DataFrame, qkey: str) -> pl.DataFrame:
    """Tier 4: each query word a word of the names or a near miss of one; or the whole query a near miss of a name."""
    import polars as pl

    words = qkey.split()
    vocab = idx["key"].str.split(" ").explode().unique().to_list()
    frames = []
    cond, fixes = pl.lit(True), []
    for w in words:
        if any(v.startswith(w) for v in vocab):
            alts = [w]
        else:
            # a near miss keeps its first letter (typos rarely change it; "shipbuilding" is not "building")
            alts = [v for v in difflib.get_close_matches(w, vocab, n=5, cutoff=0.75) if v[:1] == w[:1]][:3]
            if not alts:
                fixes = []
                break
            fixes.append(f"{w} → {alts[0]}")
        cond = cond & pl.col("key").str.contains(r"(?:^| )(?:" + "|".join(re.escape(x) for x in alts) + ")")
    if fixes:
        frames.append(idx.filter(cond).with_columns(pl.lit("close spelling (" + ", ".join(fixes) + ")").alias("why")))
    whole = difflib.get_close_matches(qkey, idx["key"].unique().to_list(), n=5, cutoff=0.8)
    if whole:
        frames.append(idx.filter(pl.col("key").is_in(whole)).with_columns(pl.lit("close spelling of the whole name").alias("why")))
    if not frames:
        return idx.clear().with_columns(pl.lit(None, pl.String).alias("why"), pl.lit(4, pl.Int8).alias("tier"), pl.lit(False).alias("phrase"))
    return pl.concat(frames, how="diagonal_relaxed").with_columns(pl.lit(4, pl.Int8).alias("tier"), pl.lit(False).alias("phrase"))


def ranked(idx: pl.DataFrame, text: str) -> pl.DataFrame:
    """Every entry of ``idx`` that matches ``text``, best first, one row each, with ``tier`` and ``why``."""
    import polars as pl

    qkey = name_key(text)
    frames = []
    codes = _code_candidates(text)
    # a subsector shares its sector's code but is not what the code names
    exact_code = idx.filter((pl.col("code").str.to_uppercase().is_in(list(codes)) | pl.col("alt").is_in(list(codes)))
                            & ~((pl.col("kind") == "sector") & (pl.col("rank") == 1)))
    frames.append(exact_code.with_columns(
        pl.lit(0, pl.Int8).alias("tier"), pl.lit(False).alias("phrase"),
        pl.when(pl.col("alt").is_in(list(codes))).then(pl.lit("FIPS code")).otherwise(pl.lit("code")).alias("why")))
    frames.extend(_related(idx, text))
    if qkey:
        every, phrase = _word_cond(qkey.split())
        hit = idx.filter(every).with_columns(phrase.alias("phrase"))
        frames.append(hit.with_columns(
            pl.when(pl.col("key") == qkey).then(2).otherwise(3).cast(pl.Int8).alias("tier"),
            pl.when(pl.col("key") == qkey)
            .then(pl.when(pl.col("via") == "title").then(pl.lit("exact name")).otherwise(pl.format("exact name ({})", "via")))
            .when(pl.col("phrase")).then(pl.lit("all words, in order")).otherwise(pl.lit("all words")).alias("why")))
    out = pl.concat(frames, how="diagonal_relaxed")
    if out.height == 0 and qkey:
        out = _fuzzy(idx, qkey)
    return (
        out.sort(["tier", "phrase", "kind_order", "rank", "weight", "words", "code", "title", "eid", "why"],
                 descending=[False, True, False, False, True, False, False, False, False, False], nulls_last=True)
        .unique("eid", keep="first", maintain_order=True)
    )


def find(tables: Tables | None, text: str, kind: str | None = None, top: int | None = 20) -> pl.DataFrame:
    """``gapkit find TEXT``: kind, code, title, detail and why it matched, best first (``top`` rows; None for all)."""
    import polars as pl

    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind {kind!r}: choose one of {', '.join(KINDS)}.")
    if not str(text).strip():
        raise UsageError("gapkit find: give the text to look for, e.g. gapkit find \"truck driver\".")
    if top is not None and top <= 0:
        raise UsageError(f"--top {top}: give a positive number of rows.")
    idx = name_index(tables)
    if kind is not None:
        idx = idx.filter(pl.col("kind") == kind)
    hits = ranked(idx, text)
    if top is not None:
        hits = hits.head(top)
    return hits.select("kind", "code", "title", "detail", pl.col("why").alias("match"))


# ---------------------------------------------------------------------------------------------
# names on the command line: accept a unique name, answer a near miss with "did you mean"
# ---------------------------------------------------------------------------------------------
def _of_kind(kind: str, tables: Tables | None) -> pl.DataFrame:
    import polars as pl

    return name_index(tables).filter(pl.col("kind") == kind)


def suggest(kind: str, text: str, tables: Tables | None = None, top: int = 5) -> list[tuple[str, str]]:
    """The codes (and titles) a command would accept that best match ``text``: did-you-mean candidates."""
    import polars as pl

    hits = ranked(_of_kind(kind, tables), text).filter(pl.col("target").is_not_null())
    hits = hits.unique("target", keep="first", maintain_order=True).head(top)
    return list(zip(hits["target"].to_list(), hits["target_title"].to_list(), strict=True))


def _best(kind: str, text: str, tables: Tables | None) -> pl.DataFrame:
    """The entries of ``kind`` whose code or name ``text`` is exactly (tiers 0 and 2), or an empty frame."""
    import polars as pl

    hits = ranked(_of_kind(kind, tables), text)
    if hits.height == 0:
        return hits
    return hits.filter((pl.col("tier") == hits["tier"].min()) & pl.col("tier").is_in([0, 2]))


def unique_name(kind: str, text: str, tables: Tables | None = None) -> str | None:
    """The code of the one entry a command accepts whose code or name ``text`` is (after normalization), else None.

    Only exact codes and exact names count (case, punctuation, "and"/"of", plural endings aside), and
    only when the entries a command accepts with that code or name share one code and any other entry of
    that name is a SOC summary group holding it (41-2010 Cashiers holds 41-2011 Cashiers).
    """
    import polars as pl

    best = _best(kind, text, tables)
    usable = best.filter(pl.col("rank") == 0 if kind != "region" else pl.col("rank") <= 1)
    if usable.height == 0 or usable["target"].n_unique() != 1 or usable["target"][0] is None:
        return None
    code = str(usable["target"][0])
    others = best.filter(~pl.col("eid").is_in(usable["eid"].implode()))
    for other, rank in zip(others["code"].to_list(), others["rank"].to_list(), strict=True):
        prefix = _soc_prefix(other) if kind == "occupation" and rank == 2 else None
        if prefix is None or not code.startswith(prefix):
            return None
    return code


def _soc_prefix(code: str) -> str | None:
    """What the codes inside a SOC group begin with (29-1140 -> 29-114); None for a detailed code."""
    try:
        level = soc_level(normalize_soc(code))
    except ValueError:
        return None
    return {"major": code[:3], "minor": code[:4], "broad": code[:6]}.get(level)


def did_you_mean(kind: str, text: str, tables: Tables | None = None) -> str:
    """"; did you mean 29-1141 Registered nurses?" (several candidates joined with commas and "or"), or ""."""
    cands = suggest(kind, text, tables, top=MAX_SUGGESTED)
    if not cands:
        return ""
    shown = [code if kind == "sector" else f"{code} ({title})" if kind == "region" else f"{code} {title}" for code, title in cands]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return f"; did you mean {listed}?"


def resolve(kind: str, text: str, tables: Tables | None, problem: str, hint: str = "") -> str:
    """The code of ``text`` when it is a unique name (see :func:`unique_name`); otherwise one UsageError:
    ``problem``, then "; did you mean ...?" when something is close, then ``hint``."""
    code = unique_name(kind, text, tables)
    if code is not None:
        return code
    if kind == "occupation" and tables is not None:  # the exact name of a summary group: name what it holds
        best = _best(kind, text, tables)
        if best.height and (best["rank"] == 2).all():
            why = not_detailed(str(best["code"][0]), tables, tables.vintage("ep_occupations"))
            if why:
                raise UsageError(f"{problem}: {why}")
    raise UsageError(problem + (did_you_mean(kind, text, tables) or ".") + (f" {hint}" if hint else ""))


def find_hint(kind: str, text: str) -> str:
    quoted = '"' + text.replace('"', "") + '"'
    return f"`gapkit find {quoted} --kind {kind}` lists every match."


def sector_name(text: str) -> str:
    """A shipped sector's name from its name or title in any case (``Healthcare``, ``information technology``);
    a sector file path is returned as it is; anything else is a UsageError with did-you-mean."""
    from pathlib import Path

    from gapkit.config.sectors import list_sectors

    shipped = [s.name for s in list_sectors()]
    if text in shipped:
        return text
    if text.strip().lower() == "all":
        raise UsageError(f"Unknown sector {text!r}; did you mean all (every shipped sector, in lower case)?")
    p = Path(text).expanduser()
    if p.suffix.lower() == ".toml" or p.exists():
        return text
    return resolve("sector", text, None, f"Unknown sector {text!r}",
                   f"Shipped sectors: {', '.join(shipped)}; or give --sector-file PATH.toml.")


def not_detailed(code: str, tables: Tables, cycle: str) -> str | None:
    """Why SOC ``code`` is not a detailed occupation of the projections, naming the codes to use instead (None: unknown code)."""
    import polars as pl

    occ = _of_kind("occupation", tables)
    me = occ.filter(pl.col("code") == code).sort("rank")
    if me.height and me["rank"][0] == 1 and me["target"][0] is not None:
        return (f"SOC {code} {me['title'][0]} is a SOC 2018 occupation that the BLS projections ({cycle}) publish only together "
                f"with others, as {me['target'][0]} {me['target_title'][0]}; did you mean {me['target'][0]}?")
    hits = ranked(occ, code).filter((pl.col("tier") == 1) & pl.col("target").is_not_null() & (pl.col("target") != code))
    inside = sorted(dict(zip(hits["target"].to_list(), hits["target_title"].to_list(), strict=True)).items())
    if not inside:
        return None
    level = soc_level(code)
    name = f"SOC {code}" + (f" {me['title'][0]}" if me.height else "")
    listed = ", ".join(f"{c} {t}" for c, t in inside[:8])
    more = f", … ({len(inside)} in all; `gapkit find {code}` lists them)" if len(inside) > 8 else ""
    group = f"a {level} group" if level in {"major", "minor", "broad"} else "a code that covers several SOC 2018 occupations"
    return (f"{name} is {group}, a summary group and not a detailed occupation of the BLS projections ({cycle}); "
            f"its detailed occupations: {listed}{more}.")

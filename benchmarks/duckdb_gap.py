"""An independent DuckDB SQL implementation of two gapkit questions, read from the stored Parquet files
of a gapkit data folder (processed/<dataset>/<vintage>.parquet, listed in manifest.json) and the shipped
sector and award-preset TOML files. It imports nothing from gapkit: it is the reference the benchmarks
time gapkit against, and an independent check of gapkit's numbers (tests/test_duckdb_reference.py).

Questions (default options: awards all, alloc openings, scope sector, newest completions year,
newest vintage of every other table):

* ``--sector transportation`` (any shipped sector): national openings vs supply by occupational group,
  the same rows as ``gapkit gap --sector transportation``;
* ``--sector all --by state``: every shipped sector x every state (50 states and DC), the same rows as
  ``gapkit gap --sector all --by state``.

The method (the project's METHOD.md, with the choices gapkit's README "Method" documents):

Demand. r(o) = separations / mean(base, projected employment) of the BLS Employment Projections cycle
of the matrix (the projections cycle when that one is not ingested). Over a sector's matrix line-item
industries i and line-item occupations o: O_S(o) = sum_i max(0, dE(i,o)/P + r(o) * mean E(i,o)). When
the matrix cycle differs from the projections cycle, O_S(o) is the sector's share of o (over the
PUBLISHED national openings of the matrix cycle) times the newer openings. A sector never needs more
of o than the nation: the subsectors' sum is capped at the national openings. The whole-economy
sector (``whole_economy = true``) takes the published openings as they are.
Supply. First-major completions at 6-digit CIP for the preset's award levels (mean over the years),
allocated over the NCES CIP-SOC crosswalk (restricted to the projections' detailed occupations) in
proportion to national openings; sector scope scales an occupation's supply by the sector's share of
its openings, min(1, O_S(o) / openings(o)).
States. Projections Central openings of each state's detailed occupations (as stored: a broad code
published without its detail counts as detailed) times the national sector share; supply from the
completions of the state's institutions (state from the IPEDS directory of the nearest year).
Gap. ratio = openings / supply (empty when supply is 0), gap = openings - supply, after aggregation.

Usage: python benchmarks/duckdb_gap.py [--data-dir DIR] [--sector NAME|all] [--by group|state]
                                       [--format csv|table]
Without --data-dir, a temporary folder ingested from ../shared (benchmarks/_common.py) is used.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "src/gapkit/config/shipped"
SMALL_OPENINGS = 50.0  # README "Method": flags rows below 50 openings or 0 < supply < 20 as "small numbers"
SMALL_SUPPLY = 20.0
COVERAGE_SHARE = 0.25  # "IPEDS coverage caveat" when at least this share of a row's openings has the caveat


# ---------------------------------------------------------------------------------------------
# what is in the data folder
# ---------------------------------------------------------------------------------------------
def _vintage_order(v: str) -> tuple[int, str]:
    """Vintages sort by the year they start with ("2022-32" after "2014-24"), then by name."""
    digits = "".join(ch for ch in v[:4] if ch.isdigit())
    return (int(digits) if digits else -1, v)


@dataclass(frozen=True)
class Catalog:
    """Stored tables of a gapkit data folder, from its manifest."""

    root: Path
    tables: dict[str, dict[str, Path]]

    @classmethod
    def open(cls, data_dir: Path) -> Catalog:
        manifest = json.loads((data_dir / "manifest.json").read_text())
        tables: dict[str, dict[str, Path]] = {}
        for entry in manifest["datasets"].values():
            tables.setdefault(entry["dataset"], {})[entry["vintage"]] = data_dir / entry["path"]
        return cls(data_dir, tables)

    def vintages(self, dataset: str) -> list[str]:
        found = self.tables.get(dataset)
        if not found:
            raise SystemExit(f"{self.root}: no {dataset} table in manifest.json; ingest it first.")
        return sorted(found, key=_vintage_order)

    def path(self, dataset: str, vintage: str | None = None) -> str:
        v = vintage or self.vintages(dataset)[-1]
        return _sql_text(str(self.tables[dataset][v]))

    def nearest(self, dataset: str, year: int) -> str:
        """The vintage closest to ``year`` (the newer one on a tie)."""
        return min(self.vintages(dataset), key=lambda v: (abs(int(v) - year), -int(v)))


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _cycle_years(cycle: str) -> int:
    """Projection years of a cycle: "2022-32" -> 10, "2022-2032" -> 10."""
    start, _, end = cycle.partition("-")
    if not (start.isdigit() and end.isdigit() and len(start) == 4):
        return 10
    e = int(end) + (int(start) // 100) * 100 if len(end) == 2 else int(end)
    return max(1, e - int(start))


# ---------------------------------------------------------------------------------------------
# the shipped definitions, as DuckDB tables
# ---------------------------------------------------------------------------------------------
def shipped_sectors() -> list[dict[str, Any]]:
    """Every shipped sector file, in file-name order."""
    return [tomllib.loads(p.read_text()) for p in sorted((SHIPPED / "sectors").glob("*.toml"))]


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    con.execute(f"CREATE TEMP TABLE {table} ({columns})")
    if rows:
        marks = "(" + ", ".join("?" * len(rows[0])) + ")"
        con.execute(f"INSERT INTO {table} VALUES " + ", ".join([marks] * len(rows)), [v for r in rows for v in r])


def load_definitions(con: duckdb.DuckDBPyConnection, sectors: list[dict[str, Any]], awards: str = "all") -> None:
    """Sector membership (sector x subsector x industry), group patterns (first match wins) and the
    award preset's levels, coverage caveats and no-IPEDS entry educations as temp tables."""
    cfg = tomllib.loads((SHIPPED / "awards.toml").read_text())
    _insert(con, "sec", "sector VARCHAR, sector_ord INT, whole BOOLEAN",
            [(s["name"], k, bool(s.get("whole_economy", False))) for k, s in enumerate(sectors)])
    _insert(con, "secind", "sector VARCHAR, subsector VARCHAR, industry_code VARCHAR",
            [(s["name"], sub["key"], code) for s in sectors for sub in s.get("subsectors", []) for code in sub["nem_industries"]])
    _insert(con, "grp", "sector VARCHAR, ord INT, group_key VARCHAR, group_title VARCHAR, pattern VARCHAR",
            [(s["name"], k, g["key"], g["title"], p) for s in sectors for k, g in enumerate(s["groups"]) for p in g["soc"]])
    _insert(con, "lvl", "awlevel TINYINT", [(lv,) for lv in cfg["presets"][awards]["levels"]])
    _insert(con, "caveat", "soc_code VARCHAR", [(c,) for c in cfg["ipeds_coverage"]["caveat_soc"]])
    _insert(con, "noexp", "education VARCHAR", [(e,) for e, lv in cfg["entry_education"].items() if not lv])


# ---------------------------------------------------------------------------------------------
# the queries
# ---------------------------------------------------------------------------------------------
def build(con: duckdb.DuckDBPyConnection, cat: Catalog, need_states: bool, need_national: bool) -> None:
    """Temp tables shared by both questions: ep, occ (sector x subsector x occupation demand and share),
    supply_nat / supply_state (allocated completions)."""
    ep_cycle = cat.vintages("ep_occupations")[-1]
    m_cycle = cat.vintages("nem_matrix")[-1]
    m_in_ep = m_cycle in cat.tables["ep_occupations"]
    sep_cycle = m_cycle if m_in_ep else ep_cycle
    years = [int(cat.vintages("ipeds_completions")[-1])]

    def ep_sql(cycle: str) -> str:
        return f"""
            SELECT soc_code, title, education, openings_k * 1000 AS openings_nat, emp_base_k * 1000 AS emp_base,
                   separations_k / ((emp_base_k + emp_proj_k) / 2) AS sep_rate
            FROM read_parquet({cat.path("ep_occupations", cycle)}) WHERE occ_type = 'Line item'"""

    con.execute(f"CREATE TEMP TABLE ep AS {ep_sql(ep_cycle)}")
    con.execute(f"CREATE TEMP TABLE ep_m AS {ep_sql(sep_cycle)}")
    # Annual openings by (industry, occupation) from the matrix, for the industries any sector names.
    con.execute(f"""
        CREATE TEMP TABLE md AS
        SELECT m.industry_code, m.occupation_code AS soc_code,
               greatest(0, (m.emp_proj_k - m.emp_base_k) / {_cycle_years(m_cycle)}
                           + coalesce(r.sep_rate, 0) * (m.emp_base_k + m.emp_proj_k) / 2) * 1000 AS d
        FROM read_parquet({cat.path("nem_matrix", m_cycle)}, file_row_number = true) m
        LEFT JOIN ep_m r ON r.soc_code = m.occupation_code
        WHERE m.industry_type = 'Line item' AND m.occupation_type = 'Line item'
          {"" if not m_in_ep else "AND m.industry_code IN (SELECT industry_code FROM secind)"}
        QUALIFY row_number() OVER (PARTITION BY m.industry_code, m.occupation_code ORDER BY m.file_row_number) = 1""")
    # The share's denominator: published national openings of the matrix cycle, else the matrix's own sum.
    denom = ("SELECT soc_code, openings_nat AS all_m FROM ep_m" if m_in_ep
             else "SELECT soc_code, sum(d) AS all_m FROM md GROUP BY soc_code")
    opening = "s.sub_m" if m_cycle == ep_cycle else "coalesce(if(isnan(s.sub_m / a.all_m * e.openings_nat), 0, s.sub_m / a.all_m * e.openings_nat), 0)"
    con.execute(f"""
        CREATE TEMP TABLE occ AS
        WITH sub AS (
            SELECT si.sector, si.subsector, md.soc_code, sum(md.d) AS sub_m
            FROM md JOIN secind si USING (industry_code) GROUP BY ALL),
        raw AS (
            SELECT s.sector, s.subsector, s.soc_code, e.openings_nat, {opening} AS o
            FROM sub s LEFT JOIN ({denom}) a USING (soc_code) JOIN ep e USING (soc_code)),
        capped AS (
            SELECT sector, subsector, soc_code, openings_nat,
                   if(sum(o) OVER w > openings_nat, o * openings_nat / sum(o) OVER w, o) AS openings_s
            FROM raw WINDOW w AS (PARTITION BY sector, soc_code)),
        shared AS (
            SELECT *, least(1.0, sum(if(openings_nat > 0, openings_s / openings_nat, 0)) OVER (PARTITION BY sector, soc_code)) AS share
            FROM capped)
        SELECT sector, subsector, soc_code, openings_s, share FROM shared WHERE openings_s > 0
        UNION ALL
        SELECT sec.sector, 'all', e.soc_code, e.openings_nat, 1.0 FROM sec, ep e WHERE sec.whole""")
    # Occupation -> group of each sector: a join on SOC prefixes, first match wins, else the last group.
    con.execute("""
        CREATE TEMP TABLE occ_group AS
        WITH o AS (SELECT DISTINCT sector, soc_code FROM occ),
        hit AS (
            SELECT o.sector, o.soc_code, arg_min(g.group_key, g.ord) AS group_key
            FROM o JOIN grp g ON g.sector = o.sector AND (g.pattern = '*' OR starts_with(o.soc_code, g.pattern))
            GROUP BY ALL),
        last AS (SELECT sector, arg_max(group_key, ord) AS group_key FROM grp GROUP BY sector)
        SELECT o.sector, o.soc_code, coalesce(h.group_key, l.group_key) AS group_key
        FROM o LEFT JOIN hit h USING (sector, soc_code) JOIN last l USING (sector)""")
    # Programs: mean annual first-major completions at 6-digit CIP for the preset's levels.
    n = len(years)
    frames = []
    for y in years:
        hd = cat.nearest("ipeds_institutions", y)
        frames.append(f"""
            SELECT c.unitid, c.cipcode, c.completions, i.state
            FROM read_parquet({cat.path("ipeds_completions", str(y))}) c
            {"LEFT JOIN (SELECT unitid, state FROM read_parquet(" + cat.path("ipeds_institutions", hd) + ")) i USING (unitid)"
             if need_states else "CROSS JOIN (SELECT NULL::VARCHAR AS state) i"}
            WHERE c.cip_level = 6 AND c.awlevel IN (SELECT awlevel FROM lvl)""")
    comp = " UNION ALL ".join(frames)
    # Crosswalk links to detailed occupations, weighted by national openings within each program.
    con.execute(f"""
        CREATE TEMP TABLE links AS
        WITH xw AS (SELECT DISTINCT cipcode, soc_code FROM read_parquet({cat.path("cip_soc")})
                    WHERE soc_code IN (SELECT soc_code FROM ep))
        SELECT xw.cipcode, xw.soc_code, e.openings_nat / sum(e.openings_nat) OVER (PARTITION BY xw.cipcode) AS w
        FROM xw JOIN ep e USING (soc_code)""")
    if need_national:
        con.execute(f"""
            CREATE TEMP TABLE supply_nat AS
            WITH prog AS (SELECT cipcode, sum(completions)::DOUBLE / {n} AS c FROM ({comp}) GROUP BY cipcode)
            SELECT l.soc_code, sum(p.c * l.w) AS supply FROM prog p JOIN links l USING (cipcode)
            WHERE NOT isnan(l.w) GROUP BY l.soc_code""")
    if need_states:
        con.execute(f"""
            CREATE TEMP TABLE supply_state AS
            WITH prog AS (SELECT state, cipcode, sum(completions)::DOUBLE / {n} AS c FROM ({comp})
                          WHERE state IS NOT NULL GROUP BY state, cipcode)
            SELECT p.state, l.soc_code, sum(p.c * l.w) AS supply FROM prog p JOIN links l USING (cipcode)
            WHERE NOT isnan(l.w) GROUP BY p.state, l.soc_code""")
        con.execute(f"""
            CREATE TEMP TABLE proj AS
            SELECT state, soc_code, openings FROM read_parquet({cat.path("state_projections")})
            WHERE soc_level = 'detailed' AND stfips BETWEEN '01' AND '56'""")  # FIPS 01-56: 50 states and DC


FLAGS = f"""
    concat_ws('; ',
        CASE WHEN supply <= 0 THEN if(noexp, 'no IPEDS supply expected', 'no supply') END,
        CASE WHEN cov_share >= {COVERAGE_SHARE} THEN 'IPEDS coverage caveat' END,
        CASE WHEN openings < {SMALL_OPENINGS} OR (supply > 0 AND supply < {SMALL_SUPPLY}) THEN 'small numbers' END,
        CASE WHEN region <> 'US' AND NOT whole THEN 'estimated state share' END)"""

ROW_META = """
    JOIN ep e USING (soc_code)
    LEFT JOIN caveat cv USING (soc_code)"""

COV = """coalesce(sum(openings * (cv.soc_code IS NOT NULL OR e.education IN (SELECT education FROM noexp))::INT)
                  / nullif(sum(openings), 0), 0) AS cov_share,
         bool_and(coalesce(e.education IN (SELECT education FROM noexp), false)) AS noexp"""


def national_by_group(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Sector x group rows for the United States."""
    return _rows(con, f"""
        WITH r AS (
            SELECT o.sector, o.soc_code, o.openings_s AS openings,
                   coalesce(sn.supply * o.openings_s / nullif(sum(o.openings_s) OVER (PARTITION BY o.sector, o.soc_code), 0), 0)
                   * o.share AS supply
            FROM occ o LEFT JOIN supply_nat sn USING (soc_code)),
        agg AS (
            SELECT r.sector, 'US' AS region, g.group_key, sum(openings) AS openings, sum(supply) AS supply, {COV}
            FROM r JOIN occ_group g USING (sector, soc_code) {ROW_META}
            GROUP BY ALL)
        SELECT a.sector, a.region, a.group_key AS "group", t.group_title, a.openings, a.supply,
               if(a.supply > 0, a.openings / a.supply, NULL) AS ratio, a.openings - a.supply AS gap,
               0.0::DOUBLE AS supply_extra, {FLAGS} AS flags
        FROM agg a JOIN sec USING (sector)
        JOIN (SELECT DISTINCT sector, group_key, group_title FROM grp) t USING (sector, group_key)
        ORDER BY sec.sector_ord, a.openings DESC, a.group_key""")


def states(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Sector x state rows: published state openings x national sector share; supply from the state's
    institutions x the same share."""
    return _rows(con, f"""
        WITH share AS (SELECT DISTINCT sector, soc_code, share FROM occ),
        r AS (
            SELECT s.sector, p.state AS region, p.soc_code, p.openings * s.share AS openings,
                   coalesce(ss.supply, 0) * s.share AS supply
            FROM proj p JOIN share s USING (soc_code)
            LEFT JOIN supply_state ss ON ss.state = p.state AND ss.soc_code = p.soc_code),
        agg AS (
            SELECT r.sector, r.region, sum(openings) AS openings, sum(supply) AS supply, {COV}
            FROM r {ROW_META} GROUP BY ALL)
        SELECT a.sector, a.region, a.openings, a.supply, if(a.supply > 0, a.openings / a.supply, NULL) AS ratio,
               a.openings - a.supply AS gap, 0.0::DOUBLE AS supply_extra, {FLAGS} AS flags
        FROM agg a JOIN sec USING (sector)
        ORDER BY sec.sector_ord, a.region""")


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    rel = con.execute(sql)
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def answer(data_dir: Path, sector: str = "transportation", by: str = "group") -> list[dict[str, Any]]:
    """The rows of `gapkit gap --sector SECTOR [--by state]`, full precision."""
    if by not in {"group", "state"}:
        raise SystemExit(f"--by {by}: this reference answers --by group (national) and --by state.")
    sectors = shipped_sectors()
    if sector != "all":
        sectors = [s for s in sectors if s["name"] == sector]
        if not sectors:
            raise SystemExit(f"unknown sector {sector!r}")
    con = duckdb.connect()
    load_definitions(con, sectors)
    build(con, Catalog.open(data_dir), need_states=by == "state", need_national=by == "group")
    return states(con) if by == "state" else national_by_group(con)


def write(rows: list[dict[str, Any]], fmt: str) -> None:
    if not rows:
        return
    people = ("openings", "supply", "gap", "supply_extra")
    shown = [{k: (round(v, 2) if k in people else round(v, 4) if k == "ratio" and v is not None else v) for k, v in r.items()}
             for r in rows]
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(shown[0])
        w.writerows(["" if v is None else v for v in r.values()] for r in shown)
    else:
        cols = list(shown[0])
        width = {c: max(len(c), *(len(str(r[c])) for r in shown)) for c in cols}
        print("  ".join(c.ljust(width[c]) for c in cols))
        for r in shown:
            print("  ".join(str("" if r[c] is None else r[c]).ljust(width[c]) for c in cols))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, help="a gapkit data folder (default: ../shared ingested into a temp folder)")
    ap.add_argument("--sector", default="transportation", help="a shipped sector name, or all")
    ap.add_argument("--by", default="group", choices=("group", "state"))
    ap.add_argument("--format", default="table", choices=("table", "csv"))
    args = ap.parse_args(argv)
    data_dir = args.data_dir
    if data_dir is None:
        from _common import default_data_dir

        data_dir = default_data_dir()
    write(answer(data_dir, args.sector, args.by), args.format)


if __name__ == "__main__":
    main()

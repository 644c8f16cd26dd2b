"""An independent DuckDB SQL implementation of two gapkit questions, read from the stored Parquet files
of a gapkit data folder (processed/<dataset>/<vintage>.parquet, listed in manifest.json) and the shipped
sector, award-preset and method-settings TOML files. It imports nothing from gapkit: it is the reference
the benchmarks time gapkit against, and an independent check of gapkit's numbers
(tests/test_duckdb_reference.py). It was written from docs/METHOD.md, not from gapkit's code.

Questions (default options: demand entrants, alloc education, awards all, scope sector, newest
completions year, newest vintage of every other table):

* ``--sector transportation`` (any shipped sector): national demand vs supply by occupational group,
  the same rows as ``gapkit gap --sector transportation``;
* ``--sector all --by state``: every shipped sector x every state (50 states and DC), the same rows as
  ``gapkit gap --sector all --by state``.

``--demand openings|entrants|growth`` and ``--alloc education|openings`` choose the measure the ratio
and gap follow and the supply allocation (``--demand openings --alloc openings`` is the method before
issue 11, with SOC codes harmonized); ``--awards`` takes a preset that lists its award levels.

The method (docs/METHOD.md; thresholds from config/shipped/method.toml):

Demand. Per detailed occupation o of the BLS projections cycle: openings (published), entrants =
max(0, openings - transfers), growth = max(0, dE/P). A sector S (matrix industries i, a subsector
possibly restricted to listed occupations): per measure m, m_M(o) = sum_i max(0, dE(i,o)/P +
rate_m(o) * mean E(i,o)) with rate = separations / mean E (openings), exits / mean E (entrants) or 0
(growth), rates of the matrix cycle's projections. When the matrix cycle differs from the projections
cycle: m_S(o) = m_M(o) / published national m of the matrix cycle * national m of the projections
cycle. The subsectors' sum is capped at the national figure, per measure. The sector's share of o is
min(1, sum of its openings_S(o) / national openings(o)). The whole-economy sector takes the national
figures.
Supply. First-major completions at 6-digit CIP for the preset's award levels (mean over the years),
over the NCES CIP-SOC crosswalk with SOC 2018 codes mapped onto the projections' codes (dataset
soc_nem), restricted to the projections' detailed occupations. ``education``: the completers of program
c at level L go to its linked occupations o for which L is an entry route -- share a(o, L) of o's workers
(BLS Table 5.3, dataset ep_attainment) holding L's attainment level >= entry_route_min_share, L at most
entry_route_steps_below attainment steps below o's typical entry education, o not needing "5 years or
more" of related work experience -- with weights proportional to national openings(o) * a(o, L),
normalized per program and level. ``openings``: every level to every linked occupation, weights
proportional to national openings. Sector scope: an occupation's supply times the subsector's part of
the sector's share.
States. Projections Central's detailed rows of the 50 states and DC: SOC 2018 codes the projections
merge are summed under the projections' code (a code the state publishes itself wins); a code that is
not a projections code is apportioned to the projections' codes of its broad group (else minor group)
that the state's file lacks, by national employment. A state whose openings equal max(0, dE/P) (within
10, the published rounding) for at least change_only_share of its occupations published no separations:
its openings become max(0, dE/P) + national separation rate * mean E and its entrants
max(0, dE/P + national exit rate * mean E) ("estimated state openings"). Otherwise entrants = openings *
the national entrant share, or the state's own share (openings - transfers) / openings from the state
rows of the sub-state projections (California EDD). Expected openings = national openings * the state's
share of national openings; an occupation missing or below missing_fraction of that when the expectation
is at least expected_floor is unusable, and a row in which unusable occupations carry at least
withhold_share of the expected openings prints no ratio ("state data unusable"). A sector's state figures
are the state's times the national sector share; supply from the state's institutions (directory nearest
the completions year) with the national allocation weights, times the same share.
Gap. Demand and supply summed to the row; ratio = demand / supply and gap = demand - supply, except:
"state data unusable"; no supply ("none expected" when every occupation's entry education needs no
postsecondary award, else "no supply"); supply below supply_floor ("> N", N = demand / floor, when demand
>= bound_min_openings, else "no meaningful supply"). Misalignment (state rows): half the sum over
occupations of |supply share - demand share|.

Usage: python benchmarks/duckdb_gap.py [--data-dir DIR] [--sector NAME|all] [--by group|state]
                                       [--demand entrants|openings|growth] [--alloc education|openings]
                                       [--awards PRESET] [--format csv|table]
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
SMALL_OPENINGS = 50.0  # METHOD.md: "small numbers" under 50 (demand) or 0 < supply < 20
SMALL_SUPPLY = 20.0
COVERAGE_SHARE = 0.25  # "IPEDS coverage caveat" when at least this share of a row's openings has the caveat
CHANGE_ONLY_TOLERANCE = 10.0  # Projections Central rounds openings to tens: "equal" = within one rounding step
DEMANDS = ("entrants", "openings", "growth")
ALLOCS = ("education", "openings")


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

    def has(self, dataset: str) -> bool:
        return bool(self.tables.get(dataset))

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


def method_settings() -> dict[str, Any]:
    return tomllib.loads((SHIPPED / "method.toml").read_text())


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    con.execute(f"CREATE TEMP TABLE {table} ({columns})")
    if rows:
        marks = "(" + ", ".join("?" * len(rows[0])) + ")"
        con.execute(f"INSERT INTO {table} VALUES " + ", ".join([marks] * len(rows)), [v for r in rows for v in r])


def load_definitions(con: duckdb.DuckDBPyConnection, sectors: list[dict[str, Any]], awards: str = "all") -> None:
    """Sector membership (sector x subsector x industry [x listed occupation]), group patterns (first
    match wins), the award preset's levels, coverage caveats, no-IPEDS entry educations and the
    education-aware allocation's scales as temp tables."""
    cfg = tomllib.loads((SHIPPED / "awards.toml").read_text())
    sup = method_settings()["supply"]
    preset = cfg["presets"].get(awards)
    if preset is None or "levels" not in preset:
        raise SystemExit(f"--awards {awards}: this reference takes a preset that lists its award levels "
                         f"({', '.join(k for k, v in cfg['presets'].items() if 'levels' in v)}).")
    _insert(con, "sec", "sector VARCHAR, sector_ord INT, whole BOOLEAN",
            [(s["name"], k, bool(s.get("whole_economy", False))) for k, s in enumerate(sectors)])
    # soc_code NULL: the whole industry; else the subsector takes the industry restricted to those occupations
    _insert(con, "secind", "sector VARCHAR, subsector VARCHAR, industry_code VARCHAR, soc_code VARCHAR",
            [(s["name"], sub["key"], code, occ) for s in sectors for sub in s.get("subsectors", [])
             for code in sub["nem_industries"] for occ in (sub.get("occupations") or [None])])
    _insert(con, "grp", "sector VARCHAR, ord INT, group_key VARCHAR, group_title VARCHAR, pattern VARCHAR",
            [(s["name"], k, g["key"], g["title"], p) for s in sectors for k, g in enumerate(s["groups"]) for p in g["soc"]])
    _insert(con, "lvl", "awlevel TINYINT", [(lv,) for lv in preset["levels"]])
    _insert(con, "caveat", "soc_code VARCHAR", [(c,) for c in cfg["ipeds_coverage"]["caveat_soc"]])
    _insert(con, "noexp", "education VARCHAR", [(e,) for e, lv in cfg["entry_education"].items() if not lv])
    _insert(con, "lvl_att", "awlevel TINYINT, level VARCHAR", [(int(k), v) for k, v in sup["attainment_of_level"].items()])
    _insert(con, "att_rank", "level VARCHAR, rank INT", list(sup["attainment_rank"].items()))
    _insert(con, "entry_rank", "education VARCHAR, rank INT", list(sup["entry_rank"].items()))
    _insert(con, "no_entry_exp", "work_experience VARCHAR", [(x,) for x in sup["entry_route_excluded_experience"]])


# ---------------------------------------------------------------------------------------------
# the queries
# ---------------------------------------------------------------------------------------------
def build(con: duckdb.DuckDBPyConnection, cat: Catalog, need_states: bool, need_national: bool, alloc: str = "education") -> None:
    """Temp tables shared by both questions: ep, occ (sector x subsector x occupation demand and share),
    links (allocation weights), supply_nat / supply_state, state demand (sd)."""
    settings = method_settings()
    sup, gates = settings["supply"], settings["gates"]
    ep_cycle = cat.vintages("ep_occupations")[-1]
    m_cycle = cat.vintages("nem_matrix")[-1]
    m_in_ep = m_cycle in cat.tables["ep_occupations"]
    sep_cycle = m_cycle if m_in_ep else ep_cycle
    years = [int(cat.vintages("ipeds_completions")[-1])]

    def ep_sql(cycle: str) -> str:
        p = _cycle_years(cycle)
        return f"""
            SELECT soc_code, title, education, work_experience,
                   openings_k * 1000 AS openings_nat,
                   greatest(0, openings_k - coalesce(transfers_k, 0)) * 1000 AS entrants_nat,
                   greatest(0, (emp_proj_k - emp_base_k) / {p}) * 1000 AS growth_nat,
                   emp_base_k * 1000 AS emp_base,
                   separations_k / nullif((emp_base_k + emp_proj_k) / 2, 0) AS sep_rate,
                   coalesce(exits_k, 0) / nullif((emp_base_k + emp_proj_k) / 2, 0) AS exit_rate
            FROM read_parquet({cat.path("ep_occupations", cycle)}) WHERE occ_type = 'Line item'"""

    con.execute(f"CREATE TEMP TABLE ep AS {ep_sql(ep_cycle)}")
    con.execute(f"CREATE TEMP TABLE ep_m AS {ep_sql(sep_cycle)}")
    # SOC 2018 detailed codes the projections publish under another code (BLS O*NET-SOC -> NEM crosswalk)
    if cat.has("soc_nem"):
        con.execute(f"""CREATE TEMP TABLE sn AS SELECT DISTINCT soc_code, nem_code FROM read_parquet({cat.path("soc_nem")})
                        WHERE soc_code <> nem_code""")
    else:
        con.execute("CREATE TEMP TABLE sn (soc_code VARCHAR, nem_code VARCHAR)")

    # ---- demand: each measure by (industry, occupation) from the matrix ----------------------------
    p_m = _cycle_years(m_cycle)
    chg = f"(m.emp_proj_k - m.emp_base_k) / {p_m}"
    mean = "(m.emp_base_k + m.emp_proj_k) / 2"
    con.execute(f"""
        CREATE TEMP TABLE md AS
        SELECT m.industry_code, m.occupation_code AS soc_code,
               greatest(0, {chg} + coalesce(r.sep_rate, 0) * {mean}) * 1000 AS openings_m,
               greatest(0, {chg} + coalesce(r.exit_rate, 0) * {mean}) * 1000 AS entrants_m,
               greatest(0, {chg}) * 1000 AS growth_m
        FROM read_parquet({cat.path("nem_matrix", m_cycle)}, file_row_number = true) m
        LEFT JOIN ep_m r ON r.soc_code = m.occupation_code
        WHERE m.industry_type = 'Line item' AND m.occupation_type = 'Line item'
          {"" if not m_in_ep else "AND m.industry_code IN (SELECT industry_code FROM secind)"}
        QUALIFY row_number() OVER (PARTITION BY m.industry_code, m.occupation_code ORDER BY m.file_row_number) = 1""")
    # The share's denominators: published national figures of the matrix cycle, else the matrix's own sums.
    denom = ("SELECT soc_code, openings_nat AS all_o, entrants_nat AS all_e, growth_nat AS all_g FROM ep_m" if m_in_ep
             else "SELECT soc_code, sum(openings_m) AS all_o, sum(entrants_m) AS all_e, sum(growth_m) AS all_g FROM md GROUP BY soc_code")

    def scaled(m: str, a: str) -> str:
        if m_cycle == ep_cycle:
            return f"s.{m}_m"
        return f"coalesce(s.{m}_m / nullif(a.{a}, 0) * e.{m}_nat, 0)"

    con.execute(f"""
        CREATE TEMP TABLE occ AS
        WITH sub AS (
            SELECT si.sector, si.subsector, md.soc_code,
                   sum(md.openings_m) AS openings_m, sum(md.entrants_m) AS entrants_m, sum(md.growth_m) AS growth_m
            FROM md JOIN secind si ON si.industry_code = md.industry_code AND (si.soc_code IS NULL OR si.soc_code = md.soc_code)
            GROUP BY ALL),
        raw AS (
            SELECT s.sector, s.subsector, s.soc_code, e.openings_nat, e.entrants_nat, e.growth_nat,
                   {scaled("openings", "all_o")} AS o, {scaled("entrants", "all_e")} AS en, {scaled("growth", "all_g")} AS g
            FROM sub s LEFT JOIN ({denom}) a USING (soc_code) JOIN ep e USING (soc_code)),
        capped AS (
            SELECT sector, subsector, soc_code, openings_nat,
                   if(sum(o) OVER w > openings_nat, o * openings_nat / sum(o) OVER w, o) AS openings_s,
                   if(sum(en) OVER w > entrants_nat, en * entrants_nat / sum(en) OVER w, en) AS entrants_s,
                   if(sum(g) OVER w > growth_nat, g * growth_nat / sum(g) OVER w, g) AS growth_s
            FROM raw WINDOW w AS (PARTITION BY sector, soc_code)),
        shared AS (
            SELECT *, least(1.0, sum(if(openings_nat > 0, openings_s / openings_nat, 0)) OVER (PARTITION BY sector, soc_code)) AS share
            FROM capped)
        SELECT sector, subsector, soc_code, openings_s, entrants_s, growth_s, share FROM shared WHERE openings_s > 0
        UNION ALL
        SELECT sec.sector, 'all', e.soc_code, e.openings_nat, e.entrants_nat, e.growth_nat, 1.0 FROM sec, ep e WHERE sec.whole""")
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

    # ---- supply --------------------------------------------------------------------------------------
    n = len(years)
    frames = []
    for y in years:
        hd = cat.nearest("ipeds_institutions", y)
        frames.append(f"""
            SELECT c.unitid, c.cipcode, c.awlevel, c.completions, i.state
            FROM read_parquet({cat.path("ipeds_completions", str(y))}) c
            {"LEFT JOIN (SELECT unitid, state FROM read_parquet(" + cat.path("ipeds_institutions", hd) + ")) i USING (unitid)"
             if need_states else "CROSS JOIN (SELECT NULL::VARCHAR AS state) i"}
            WHERE c.cip_level = 6 AND c.awlevel IN (SELECT awlevel FROM lvl)""")
    comp = " UNION ALL ".join(frames)
    # Crosswalk links, SOC codes harmonized, to the projections' detailed occupations.
    con.execute(f"""
        CREATE TEMP TABLE xw AS
        SELECT DISTINCT x.cipcode, coalesce(sn.nem_code, x.soc_code) AS soc_code
        FROM read_parquet({cat.path("cip_soc")}) x LEFT JOIN sn USING (soc_code)
        WHERE coalesce(sn.nem_code, x.soc_code) IN (SELECT soc_code FROM ep)""")
    if alloc == "education":
        att = cat.vintages("ep_attainment")[-1]  # Table 5.3 (2022-32), used for every cycle
        con.execute(f"""
            CREATE TEMP TABLE routes AS
            SELECT e.soc_code, la.awlevel, a.share
            FROM ep e
            JOIN read_parquet({cat.path("ep_attainment", att)}) a USING (soc_code)
            JOIN lvl_att la ON la.level = a.level
            JOIN att_rank ar ON ar.level = a.level
            JOIN entry_rank er ON er.education = e.education
            WHERE a.share >= {float(sup["entry_route_min_share"])}
              AND ar.rank >= er.rank - {int(sup["entry_route_steps_below"])}
              AND coalesce(e.work_experience, '') NOT IN (SELECT work_experience FROM no_entry_exp)""")
        con.execute("""
            CREATE TEMP TABLE links AS
            WITH l AS (SELECT x.cipcode, r.awlevel, x.soc_code, e.openings_nat * r.share AS w0
                       FROM xw x JOIN routes r USING (soc_code) JOIN ep e USING (soc_code))
            SELECT cipcode, awlevel, soc_code, w0 / sum(w0) OVER (PARTITION BY cipcode, awlevel) AS w FROM l""")
    else:
        con.execute("""
            CREATE TEMP TABLE links AS
            SELECT x.cipcode, lvl.awlevel, x.soc_code,
                   e.openings_nat / sum(e.openings_nat) OVER (PARTITION BY x.cipcode, lvl.awlevel) AS w
            FROM xw x JOIN ep e USING (soc_code) CROSS JOIN lvl""")
    con.execute("DELETE FROM links WHERE w IS NULL OR isnan(w) OR w <= 0")
    if need_national:
        con.execute(f"""
            CREATE TEMP TABLE supply_nat AS
            WITH prog AS (SELECT cipcode, awlevel, sum(completions)::DOUBLE / {n} AS c FROM ({comp}) GROUP BY ALL)
            SELECT l.soc_code, sum(p.c * l.w) AS supply FROM prog p JOIN links l USING (cipcode, awlevel)
            GROUP BY l.soc_code""")
    if need_states:
        con.execute(f"""
            CREATE TEMP TABLE supply_state AS
            WITH prog AS (SELECT state, cipcode, awlevel, sum(completions)::DOUBLE / {n} AS c FROM ({comp})
                          WHERE state IS NOT NULL GROUP BY ALL)
            SELECT p.state, l.soc_code, sum(p.c * l.w) AS supply FROM prog p JOIN links l USING (cipcode, awlevel)
            GROUP BY p.state, l.soc_code""")
        state_demand(con, cat, gates)


def state_demand(con: duckdb.DuckDBPyConnection, cat: Catalog, gates: dict[str, Any]) -> None:
    """sd: (state, soc_code, openings, entrants, growth, expected, unusable, estimated) for every state x
    projections occupation, from Projections Central's detailed rows, harmonized and gated."""
    p_cycle = cat.vintages("state_projections")[-1]
    p = _cycle_years(p_cycle)
    # FIPS 01-56: the 50 states and DC (the national file is 00, territories 60 and up)
    con.execute(f"""
        CREATE TEMP TABLE proj_raw AS
        SELECT state, soc_code, openings, emp_base, emp_proj FROM read_parquet({cat.path("state_projections", p_cycle)})
        WHERE soc_level = 'detailed' AND stfips BETWEEN '01' AND '56'""")
    # SOC 2018 codes the projections merge, summed under the projections' code (unless the state publishes it)
    con.execute("""
        CREATE TEMP TABLE proj_h AS
        SELECT state, soc_code, openings, emp_base, emp_proj FROM proj_raw WHERE soc_code NOT IN (SELECT soc_code FROM sn)
        UNION ALL
        SELECT r.state, sn.nem_code, sum(r.openings), sum(r.emp_base), sum(r.emp_proj)
        FROM proj_raw r JOIN sn USING (soc_code)
        WHERE NOT EXISTS (SELECT 1 FROM proj_raw q WHERE q.state = r.state AND q.soc_code = sn.nem_code)
        GROUP BY ALL""")
    # Codes that are not projections codes (older SOC, hybrids such as 15-1256): apportioned to the
    # projections' codes of the same broad group (6 characters, 15-125x), else minor group (15-1xxx), that
    # the state's file lacks, by national employment.
    con.execute("""
        CREATE TEMP TABLE proj AS
        WITH ok AS (SELECT * FROM proj_h WHERE soc_code IN (SELECT soc_code FROM ep)),
        old AS (SELECT * FROM proj_h WHERE soc_code NOT IN (SELECT soc_code FROM ep)),
        -- the group keys as columns on both sides, so that the join is a hash join on (width, g)
        socgrp AS (SELECT 6 AS width, left(soc_code, 6) AS g, soc_code, emp_base FROM ep
                   UNION ALL SELECT 4, left(soc_code, 4), soc_code, emp_base FROM ep),
        old_g AS (SELECT state, soc_code, 6 AS width, left(soc_code, 6) AS g FROM old
                  UNION ALL SELECT state, soc_code, 4, left(soc_code, 4) FROM old),
        cand AS (
            SELECT o.state, o.soc_code AS old_code, o.width, e.soc_code AS target, e.emp_base AS w
            FROM old_g o JOIN socgrp e USING (width, g)
            WHERE NOT EXISTS (SELECT 1 FROM ok WHERE ok.state = o.state AND ok.soc_code = e.soc_code)),
        best AS (SELECT state, old_code, max(width) AS width FROM cand GROUP BY ALL),
        frac AS (
            SELECT c.state, c.old_code, c.target, c.w / nullif(sum(c.w) OVER (PARTITION BY c.state, c.old_code), 0) AS f
            FROM cand c JOIN best b USING (state, old_code, width)),
        spread AS (
            SELECT f.state, f.target AS soc_code, sum(o.openings * f.f) AS openings, sum(o.emp_base * f.f) AS emp_base,
                   sum(o.emp_proj * f.f) AS emp_proj
            FROM frac f JOIN old o ON o.state = f.state AND o.soc_code = f.old_code
            GROUP BY ALL)
        SELECT * FROM ok UNION ALL SELECT * FROM spread""")
    # the state's own entrant shares where it publishes exits and transfers (sub-state projections' state rows)
    if cat.has("substate_projections"):
        con.execute(f"""
            CREATE TEMP TABLE own AS
            WITH s AS (
                SELECT state, coalesce(sn.nem_code, s.soc_code) AS soc_code, openings, transfers
                FROM read_parquet({cat.path("substate_projections")}) s LEFT JOIN sn USING (soc_code)
                WHERE area_type = 'state' AND soc_level = 'detailed' AND openings > 0)
            SELECT state, soc_code, greatest(0, least(1, (sum(openings) - sum(transfers)) / sum(openings))) AS own_share
            FROM s GROUP BY ALL""")
    else:
        con.execute("CREATE TEMP TABLE own (state VARCHAR, soc_code VARCHAR, own_share DOUBLE)")
    tol = CHANGE_ONLY_TOLERANCE
    con.execute(f"""
        CREATE TEMP TABLE sd AS
        WITH d AS (
            SELECT p.state, p.soc_code, p.openings, (p.emp_proj - p.emp_base) / {p} AS chg, (p.emp_base + p.emp_proj) / 2 AS mean_e,
                   e.openings_nat, e.entrants_nat, e.sep_rate, e.exit_rate
            FROM proj p JOIN ep e USING (soc_code)),
        est AS (
            SELECT state, avg((abs(openings - greatest(0, chg)) <= {tol})::INT) >= {float(gates["change_only_share"])} AS estimated
            FROM d GROUP BY state),
        g AS (
            SELECT d.state, d.soc_code, est.estimated,
                   if(est.estimated, greatest(0, chg) + sep_rate * mean_e, openings) AS openings,
                   if(est.estimated, greatest(0, chg + exit_rate * mean_e),
                      openings * coalesce(own.own_share, entrants_nat / nullif(openings_nat, 0), 0)) AS entrants,
                   greatest(0, chg) AS growth
            FROM d JOIN est USING (state) LEFT JOIN own USING (state, soc_code)),
        share AS (SELECT state, any_value(estimated) AS estimated, sum(openings) / (SELECT sum(openings_nat) FROM ep) AS state_share
                  FROM g GROUP BY state)
        SELECT s.state, e.soc_code, coalesce(g.openings, 0) AS openings, coalesce(g.entrants, 0) AS entrants,
               coalesce(g.growth, 0) AS growth, e.openings_nat * s.state_share AS expected,
               e.openings_nat * s.state_share >= {float(gates["expected_floor"])}
                 AND (g.openings IS NULL OR g.openings < {float(gates["missing_fraction"])} * e.openings_nat * s.state_share) AS unusable,
               s.estimated
        FROM share s CROSS JOIN ep e LEFT JOIN g ON g.state = s.state AND g.soc_code = e.soc_code""")


def finish(con: duckdb.DuckDBPyConnection, rows: str, keys: list[str], demand: str, national: bool) -> str:
    """SQL aggregating occupation rows (``rows``: sector, region, soc_code, [group_key,] openings, entrants,
    growth, supply, expected, unusable, estimated) to ``keys`` with ratio, ratio_note, gap, flags."""
    ratio = method_settings()["ratio"]
    floor, bound = float(ratio["supply_floor"]), float(ratio["bound_min_openings"])
    withhold = float(method_settings()["gates"]["withhold_share"])
    k = ", ".join(keys)
    growth_col = "a.growth, " if demand == "growth" else ""
    mis = ""
    if not national:  # state rows are one per (sector, region, occupation): the occupations' shares directly
        mis = f""",
        tot AS (SELECT {k}, sum(supply) AS ts, sum({demand}) AS td FROM r GROUP BY ALL),
        mis AS (
            SELECT {k}, if(any_value(ts) > 0 AND any_value(td) > 0, sum(abs(r.supply / ts - r.{demand} / td)) / 2, NULL)
                   AS misalignment
            FROM r JOIN tot USING ({k}) GROUP BY ALL)"""
    return f"""
        WITH r AS ({rows}){mis},
        agg AS (
            SELECT {k}, sum(r.openings) AS openings, sum(r.entrants) AS entrants, sum(r.growth) AS growth, sum(r.supply) AS supply,
                   sum(r.expected) AS expected, sum(if(r.unusable, r.expected, 0)) AS unusable_expected,
                   bool_or(r.estimated) AS estimated,
                   coalesce(sum(r.openings * (cv.soc_code IS NOT NULL OR e.education IN (SELECT education FROM noexp))::INT)
                            / nullif(sum(r.openings), 0), 0) AS cov_share,
                   bool_and(coalesce(e.education IN (SELECT education FROM noexp), false)) AS noexp
            FROM r JOIN ep e USING (soc_code) LEFT JOIN caveat cv USING (soc_code)
            GROUP BY ALL),
        held AS (SELECT *, unusable_expected > 0 AND unusable_expected >= {withhold} * expected AS withheld FROM agg),
        noted AS (
            SELECT *, CASE WHEN withheld THEN 'state data unusable'
                           WHEN supply <= 0 THEN if(noexp, 'none expected', 'no supply')
                           WHEN supply < {floor} THEN if({demand} >= {bound}, '> ' || CAST(floor({demand} / {floor})::BIGINT AS VARCHAR),
                                                         'no meaningful supply')
                      END AS ratio_note
            FROM held)
        SELECT a.openings, a.entrants, {growth_col}a.supply, if(a.ratio_note IS NULL, a.{demand} / a.supply, NULL) AS ratio,
               a.ratio_note, a.{demand} - a.supply AS gap, 0.0::DOUBLE AS supply_extra,
               {"" if national else "m.misalignment, "}
               concat_ws('; ',
                   CASE WHEN a.supply <= 0 THEN if(a.noexp, 'no IPEDS supply expected', 'no supply') END,
                   CASE WHEN a.cov_share >= {COVERAGE_SHARE} THEN 'IPEDS coverage caveat' END,
                   CASE WHEN a.{demand} < {SMALL_OPENINGS} OR (a.supply > 0 AND a.supply < {SMALL_SUPPLY}) THEN 'small numbers' END,
                   CASE WHEN a.region <> 'US' AND NOT sec.whole THEN 'estimated state share' END,
                   CASE WHEN a.estimated THEN 'estimated state openings' END,
                   CASE WHEN a.withheld THEN 'state data unusable' END) AS flags,
               {", ".join(f"a.{c}" for c in keys)}, sec.sector_ord
        FROM noted a JOIN sec USING (sector) {"" if national else f"LEFT JOIN mis m USING ({k})"}"""


def national_by_group(con: duckdb.DuckDBPyConnection, demand: str) -> list[dict[str, Any]]:
    """Sector x group rows for the United States."""
    rows = """
        SELECT o.sector, 'US' AS region, o.soc_code, g.group_key, o.openings_s AS openings, o.entrants_s AS entrants,
               o.growth_s AS growth,
               coalesce(sn.supply * o.openings_s / nullif(sum(o.openings_s) OVER (PARTITION BY o.sector, o.soc_code), 0), 0)
                 * o.share AS supply,
               o.openings_s AS expected, false AS unusable, false AS estimated
        FROM occ o JOIN occ_group g USING (sector, soc_code) LEFT JOIN supply_nat sn USING (soc_code)"""
    body = finish(con, rows, ["sector", "region", "group_key"], demand, national=True)
    return _rows(con, f"""
        SELECT x.sector, x.region, x.group_key AS "group", t.group_title, x.* EXCLUDE (sector, region, group_key, sector_ord)
        FROM ({body}) x JOIN (SELECT DISTINCT sector, group_key, group_title FROM grp) t USING (sector, group_key)
        ORDER BY x.sector_ord, x.{demand} DESC, x.group_key""")


def states(con: duckdb.DuckDBPyConnection, demand: str) -> list[dict[str, Any]]:
    """Sector x state rows: the state's (gated) demand x national sector share; supply from the state's
    institutions x the same share."""
    rows = """
        WITH share AS (SELECT DISTINCT sector, soc_code, share FROM occ)
        SELECT s.sector, d.state AS region, d.soc_code, d.openings * s.share AS openings, d.entrants * s.share AS entrants,
               d.growth * s.share AS growth, coalesce(ss.supply, 0) * s.share AS supply, d.expected * s.share AS expected,
               d.unusable, d.estimated
        FROM sd d JOIN share s USING (soc_code)
        LEFT JOIN supply_state ss ON ss.state = d.state AND ss.soc_code = d.soc_code"""
    body = finish(con, rows, ["sector", "region"], demand, national=False)
    return _rows(con, f"""
        SELECT x.sector, x.region, x.* EXCLUDE (sector, region, sector_ord) FROM ({body}) x ORDER BY x.sector_ord, x.region""")


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    rel = con.execute(sql)
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def answer(data_dir: Path, sector: str = "transportation", by: str = "group", demand: str = "entrants",
           alloc: str = "education", awards: str = "all") -> list[dict[str, Any]]:
    """The rows of `gapkit gap --sector SECTOR [--by state] [--demand D] [--alloc A] [--awards P]`, full precision."""
    if by not in {"group", "state"}:
        raise SystemExit(f"--by {by}: this reference answers --by group (national) and --by state.")
    if demand not in DEMANDS or alloc not in ALLOCS:
        raise SystemExit(f"--demand {demand} / --alloc {alloc}: choose from {DEMANDS} and {ALLOCS}.")
    sectors = shipped_sectors()
    if sector != "all":
        sectors = [s for s in sectors if s["name"] == sector]
        if not sectors:
            raise SystemExit(f"unknown sector {sector!r}")
    con = duckdb.connect()
    load_definitions(con, sectors, awards)
    build(con, Catalog.open(data_dir), need_states=by == "state", need_national=by == "group", alloc=alloc)
    return states(con, demand) if by == "state" else national_by_group(con, demand)


def write(rows: list[dict[str, Any]], fmt: str) -> None:
    if not rows:
        return
    people = ("openings", "entrants", "growth", "supply", "gap", "supply_extra")
    shown = [{k: (round(v, 2) if k in people else round(v, 4) if k in ("ratio", "misalignment") and v is not None else v)
              for k, v in r.items()} for r in rows]
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
    ap.add_argument("--demand", default="entrants", choices=DEMANDS)
    ap.add_argument("--alloc", default="education", choices=ALLOCS)
    ap.add_argument("--awards", default="all")
    ap.add_argument("--format", default="table", choices=("table", "csv"))
    args = ap.parse_args(argv)
    data_dir = args.data_dir
    if data_dir is None:
        from _common import default_data_dir

        data_dir = default_data_dir()
    write(answer(data_dir, args.sector, args.by, args.demand, args.alloc, args.awards), args.format)


if __name__ == "__main__":
    main()

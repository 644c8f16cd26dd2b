"""Scale: multiply the two big inputs of the state gap, ingest them, and run
`gapkit gap --sector all --by state` on the result, side by side with the DuckDB SQL reference
(benchmarks/duckdb_gap.py) on the same files. Reports wall time and peak memory (max RSS of the child)
of each command, the gap / DuckDB time ratio (target <= 1.0) and whether both answers agree to 0.01
person per row. Targets: time growing no faster than linearly; at 50x completions and 3,000 regions,
gapkit no slower than DuckDB and its peak under 600 MiB.

What is multiplied (factor k = 1, 10, 50 by default):

* IPEDS completions: k copies of the real 2023-24 rows (C2024_A.zip), each copy a new set of
  institutions (UNITID + copy * 1,000,000, with matching HD2024.zip directory rows, same states and
  counties); 50x is about 14 million rows. Every copy reaches the gap: supply is allocated from all
  of them.
* Projections Central state projections: the real newest cycle as stored by the base ingest (every
  state, all occupations) written in the bulk CSV layout (`ltprojections.csv`: stfips, areaname, code,
  name, baseyear, base, projyear, proj, change, percentchange, avgannualopenings), plus k-1 copies of
  every state's detailed-occupation rows under synthetic SOC codes (56-0001 ... 61-xxxx: no real
  SOC major group, never ending in 0, so each is a detailed code). The parser keys each state's rows
  by (state, cycle, occupation) and refuses or drops repeated keys, and the gap reads only the newest
  cycle, so copies as sub-state areas or extra cycles would be filtered away; synthetic occupations
  are kept: the stored state_projections table, what the gap loads from it and its state checks
  grow k-fold. The state x occupation join itself keeps only occupations with a BLS national sector
  share, so the synthetic ones leave it there (the gap notes them as left out) and its rows are the
  real ones (checked: the CSV output differs only in the provenance digest and notes). The per-state
  check then notes that each state's detailed openings exceed its published total (reported, as
  designed, never adjusted).

The region variant (``--regions N``, default 3,000, at ``--regions-factor`` completions, default 50):
the factor's ingested completions, with the stored newest state projections and the IPEDS directories
rewritten so that the 50 states and DC become N regions (see split_into_regions): the question's
output grows to every shipped sector x N regions, and every region's supply and openings are its own.
(The row variant above grows the stored tables only; its gap output stays 8 sectors x 51 states.)

Usage: python benchmarks/bench_scale.py [FACTOR ...] [--regions N] [--regions-factor K] [--runs N]
                                        [--data-dir BASE]     (default 1 10 50, 3,000 regions at 50x)
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import tempfile
import tomllib
import zipfile
from pathlib import Path

import polars as pl

from _common import (
    COLD,
    DUCKDB_GAP,
    GAPKIT,
    REPO,
    SHARED,
    Run,
    disagreements,
    interleaved,
    measure,
    output_of,
)
from duckdb_gap import answer

MIRROR = SHARED / "mirror/nces.ed.gov/ipeds/datacenter/data"


def synthetic_ipeds(folder: Path, factor: int) -> int:
    with zipfile.ZipFile(MIRROR / "C2024_A.zip") as z:
        comp = pl.read_csv(io.BytesIO(z.read("c2024_a.csv")), infer_schema=False)
    with zipfile.ZipFile(MIRROR / "HD2024.zip") as z:
        hd = pl.read_csv(io.BytesIO(z.read("hd2024.csv")), infer_schema=False, encoding="utf8-lossy")
    hd = hd.rename({hd.columns[0]: hd.columns[0].lstrip("\ufeff")})

    def copies(df: pl.DataFrame) -> pl.DataFrame:
        uid = pl.col("UNITID").cast(pl.Int64)
        return pl.concat([df.with_columns((uid + k * 1_000_000).cast(pl.String).alias("UNITID")) for k in range(factor)])

    big = copies(comp)
    for name, df in (("C2024_A.zip", big), ("HD2024.zip", copies(hd))):
        member = "c2024_a.csv" if name.startswith("C") else "hd2024.csv"
        with zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z, z.open(member, "w", force_zip64=True) as fh:
            df.write_csv(fh)
    return big.height


def synthetic_code(m: int) -> str:
    """The m-th synthetic SOC code (m >= 0): 56-0001, ..., 56-0009, 56-0011, ... (never ending in 0)."""
    d = 560_000 + m + m // 9 + 1
    return f"{d // 10_000:02d}-{d % 10_000:04d}"


def synthetic_projections(base: Path, folder: Path, factor: int) -> tuple[str, int]:
    """Write the newest stored cycle with k-1 synthetic copies of each state's detailed occupations as
    a bulk CSV in ``folder``; returns (cycle, rows written)."""
    cycle = sorted(p.stem for p in (base / "processed/state_projections").glob("*.parquet"))[-1]
    real = pl.read_parquet(base / f"processed/state_projections/{cycle}.parquet")
    detailed = real.filter(~pl.col("soc_code").str.ends_with("0"))
    codes = detailed["soc_code"].unique().sort().to_list()
    frames = [real]
    for j in range(1, factor):
        fake = {c: synthetic_code((j - 1) * len(codes) + i) for i, c in enumerate(codes)}
        frames.append(detailed.with_columns(pl.col("soc_code").replace_strict(fake), (pl.col("title") + f" (synthetic {j})")))
    out = pl.concat(frames).select(
        pl.col("stfips"), pl.col("area_name").alias("areaname"), pl.col("soc_code").alias("code"), pl.col("title").alias("name"),
        pl.col("base_year").alias("baseyear"), pl.col("emp_base").alias("base"), pl.col("proj_year").alias("projyear"),
        pl.col("emp_proj").alias("proj"), pl.col("emp_change").alias("change"), pl.col("pct_change").alias("percentchange"),
        pl.col("openings").alias("avgannualopenings"),
    )
    out.write_csv(folder / f"ltprojections_{cycle}_synthetic_x{factor}.csv")
    return cycle, out.height


def stored_rows(data: Path, dataset: str, vintage: str) -> int:
    return json.loads((data / "manifest.json").read_text())["datasets"][f"{dataset}/{vintage}"]["rows"]


def change_only_states(real: pl.DataFrame) -> set[str]:
    """States whose published openings are their employment change alone (no separations) for at least
    the method's change_only_share of their detailed occupations (docs/METHOD.md, quality gates; New York
    2022-32), by the DuckDB reference's reading of "equal": within 10, the published rounding."""
    share = tomllib.loads((REPO / "src/gapkit/config/shipped/method.toml").read_text())["gates"]["change_only_share"]
    years = (pl.col("proj_year") - pl.col("base_year")).cast(pl.Float64)
    chg = ((pl.col("emp_proj") - pl.col("emp_base")) / years).clip(lower_bound=0.0)
    flags = (real.filter(pl.col("soc_level") == "detailed")
             .group_by("state").agg(((pl.col("openings") - chg).abs() <= 10.0).mean().alias("f")))
    return set(flags.filter(pl.col("f") >= share)["state"].to_list())


def old_code_states(data: Path, real: pl.DataFrame) -> set[str]:
    """States whose file has detailed codes that are not detailed occupations of the newest BLS projections
    (after mapping merged SOC 2018 codes): gapkit apportions those per FIPS code, not per state, so copies
    of such a state sharing its FIPS code would share one apportionment."""
    def newest(dataset: str) -> Path:
        return sorted((data / f"processed/{dataset}").glob("*.parquet"), key=lambda p: _vintage_order(p.stem))[-1]

    ep = pl.read_parquet(newest("ep_occupations")).filter(pl.col("occ_type") == "Line item").select("soc_code")
    soc_map = pl.read_parquet(newest("soc_nem")).select("soc_code", "nem_code").unique("soc_code")
    codes = (real.filter(pl.col("soc_level") == "detailed").select("state", "soc_code")
             .join(soc_map, on="soc_code", how="left").select("state", pl.coalesce("nem_code", "soc_code").alias("soc_code")))
    return set(codes.join(ep, on="soc_code", how="anti")["state"].to_list())


def split_into_regions(data: Path, regions: int) -> tuple[str, int, int]:
    """Rewrite two stored tables of ``data`` so that the 50 states and DC become ``regions`` regions:
    each state gets a number of regions coded ``<state>-<nn>``; each region's stored projections are a
    copy of its state's (every row, its totals included, with the state's employment and openings), and
    each institution of the IPEDS directories moves to region ``unitid mod n`` of its state. Returns
    (cycle, projection rows, regions made). Territories and the United States rows are left as they are.

    Copies, not shares: the quality gates work on absolute figures (openings within 10 of the employment
    change, an expectation of at least 300 a year), so a region with 1/n of its state's figures would pass
    or fail them for reasons of its size; a copy passes them exactly as its state does, and every region
    runs the same code paths as a real state. Two kinds of state stay one region under their postal code:
    a state whose openings are its employment change alone (New York), because gapkit names such a state in
    a note by looking its postal code up and a region code there ends the command with an internal error
    (KeyError, exit 70); and a state whose file has codes that are not projections codes (older SOC or
    hybrid codes), because gapkit apportions them per FIPS code, which all of a state's regions share, so
    each region would get 1/n of its codes' openings (real state files have one state per FIPS code; both
    reported). gapkit (and Projections Central) have no sub-state regions yet, so the tables are written in
    the store's layout directly, as ingest would write them; the gap treats a region code like a state's."""
    cycle = sorted((p.stem for p in (data / "processed/state_projections").glob("*.parquet")), key=_vintage_order)[-1]
    path = data / f"processed/state_projections/{cycle}.parquet"
    real = pl.read_parquet(path)
    in_states = pl.col("stfips").is_between(pl.lit("01"), pl.lit("56"))
    states = real.filter(in_states).select("stfips", "state").unique().sort("stfips")
    whole = change_only_states(real.filter(in_states)) | old_code_states(data, real.filter(in_states))
    split_states = [s for s in states["state"].to_list() if s not in whole]
    rest = regions - len(whole)
    n_of = {s: rest // len(split_states) + (1 if i < rest % len(split_states) else 0) for i, s in enumerate(split_states)}
    parts = pl.DataFrame({"state": list(n_of), "n": list(n_of.values())}).with_columns(
        pl.int_ranges(0, pl.col("n")).alias("q")).explode("q")
    split = real.filter(in_states).join(parts, on="state", how="inner").with_columns(
        (pl.col("state") + "-" + (pl.col("q") + 1).cast(pl.String).str.zfill(2)).alias("state"),
        (pl.col("area_name") + " region " + (pl.col("q") + 1).cast(pl.String) + " of " + pl.col("n").cast(pl.String)).alias("area_name"),
    ).select(real.columns)
    table = pl.concat([real.filter(~in_states | pl.col("state").is_in(list(whole))), split])
    _rewrite(data, "state_projections", cycle, table)
    n_expr = pl.col("state").replace_strict(n_of, default=None, return_dtype=pl.Int64)
    for f in sorted((data / "processed/ipeds_institutions").glob("*.parquet")):
        hd = pl.read_parquet(f)
        hd = hd.with_columns(pl.when(n_expr.is_not_null())
                             .then(pl.col("state") + "-" + (pl.col("unitid") % n_expr + 1).cast(pl.String).str.zfill(2))
                             .otherwise(pl.col("state")).alias("state"))
        _rewrite(data, "ipeds_institutions", f.stem, hd)
    return cycle, table.height, sum(n_of.values()) + len(whole)


def _vintage_order(v: str) -> tuple[int, str]:
    digits = "".join(ch for ch in v[:4] if ch.isdigit())
    return (int(digits) if digits else -1, v)


def _rewrite(data: Path, dataset: str, vintage: str, table: pl.DataFrame) -> None:
    """Replace one stored table (same columns and types) and its row count in the manifest."""
    path = data / f"processed/{dataset}/{vintage}.parquet"
    table.write_parquet(path)
    manifest = json.loads((data / "manifest.json").read_text())
    manifest["datasets"][f"{dataset}/{vintage}"]["rows"] = table.height
    (data / "manifest.json").write_text(json.dumps(manifest, indent=1))


def gap_vs_duckdb(data: Path, runs: int) -> tuple[Run, Run, str]:
    """`gapkit gap --sector all --by state` and the DuckDB reference on the same folder: best time and peak
    MiB and CPU time of each (taking turns), and whether their answers agree to 0.01 person per row."""
    dd = ["--data-dir", str(data)]
    gap_cmd = [*GAPKIT, "gap", "--sector", "all", "--by", "state", "--format", "csv", *dd]
    r = interleaved({"gap": (gap_cmd, COLD), "duckdb": ([*DUCKDB_GAP, "--sector", "all", "--by", "state", "--format", "csv", *dd], None)},
                    runs)
    bad = disagreements(answer(data, "all", "state"), output_of(gap_cmd, env=COLD), ("sector", "region"))
    return r["gap"], r["duckdb"], "yes" if not bad else f"NO ({len(bad)}: {bad[0]})"


def main(factors: list[int], regions: int, regions_factor: int, runs: int, base_dir: Path | None) -> None:
    root = Path(tempfile.mkdtemp(prefix="gapkit-scale-"))
    try:
        base = base_dir or root / "base"
        if base_dir is None:
            subprocess.run([*GAPKIT, "ingest", "--offline", "--from", str(SHARED), "--data-dir", str(base)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("ipeds: completions rows (C2024_A copies as new institutions); proj: stored state_projections rows of the "
              "newest cycle (real + synthetic detailed occupations per state); times in s (gap and DuckDB: best of "
              f"{runs}, taking turns), peak RSS in MiB; ratio = gap time / DuckDB time (target <= 1.0), cpu r = the same for "
              "CPU time; agree: both answers to 0.01")
        print(f"{'factor':>6} {'ipeds rows':>11} {'ingest s':>9} {'ingest MiB':>11} {'proj rows':>10} {'proj s':>7} "
              f"{'proj MiB':>9} {'gap s':>7} {'gap MiB':>8} {'duckdb s':>9} {'duck MiB':>9} {'ratio':>6} {'cpu r':>6}  agree")
        region_data = None
        for k in sorted(set(factors) | ({regions_factor} if regions else set())):
            src, psrc = root / f"src{k}", root / f"proj{k}"
            src.mkdir()
            psrc.mkdir()
            rows = synthetic_ipeds(src, k)
            data = root / f"data{k}"
            shutil.copytree(base, data)
            ti, mi, _ = measure([*GAPKIT, "ingest", "ipeds", "--offline", "--from", str(src), "--data-dir", str(data)], env=COLD)
            if regions and k == regions_factor:
                region_data = root / f"regions{k}"
                shutil.copytree(data, region_data)
            if k in factors:
                cycle, _ = synthetic_projections(base, psrc, k)
                tp, mp, _ = measure([*GAPKIT, "ingest", "projections", "--offline", "--from", str(psrc), "--data-dir", str(data)], env=COLD)
                prows = stored_rows(data, "state_projections", cycle)
                g, d, agree = gap_vs_duckdb(data, runs)
                print(f"{k:>6} {rows:>11,} {ti:>9.1f} {mi:>11.0f} {prows:>10,} {tp:>7.1f} {mp:>9.0f} {g.secs:>7.2f} {g.peak_mib:>8.0f} "
                      f"{d.secs:>9.2f} {d.peak_mib:>9.0f} {g.secs / d.secs:>6.2f} {g.cpu / d.cpu:>6.2f}  {agree}", flush=True)
            for d in (src, psrc, data):
                shutil.rmtree(d)
        if region_data is not None:
            _, prows, made = split_into_regions(region_data, regions)
            g, d, agree = gap_vs_duckdb(region_data, runs)
            print(f"\n{regions_factor}x completions, {made:,} regions ({prows:,} stored projection rows: the 50 states and DC "
                  "split into regions, institutions spread over their state's regions), every shipped sector x region:")
            print(f"  gapkit gap --sector all --by state  {g.secs:6.2f} s  CPU {g.cpu:6.2f} s  peak {g.peak_mib:5.0f} MiB "
                  f"(target <= 600: {'ok' if g.peak_mib <= 600 else 'OVER'})")
            print(f"  DuckDB reference, same files        {d.secs:6.2f} s  CPU {d.cpu:6.2f} s  peak {d.peak_mib:5.0f} MiB")
            print(f"  ratio gapkit / DuckDB               {g.secs / d.secs:6.2f}       {g.cpu / d.cpu:6.2f}   "
                  f"(target <= 1.0: {'ok' if g.secs <= d.secs else 'OVER'}); answers agree: {agree}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("factors", nargs="*", type=int, help="completions / projections multipliers (default 1 10 50)")
    ap.add_argument("--regions", type=int, default=3000, help="regions of the region variant (0: skip it; default 3000)")
    ap.add_argument("--regions-factor", type=int, default=50, help="completions multiplier of the region variant (default 50)")
    ap.add_argument("--runs", type=int, default=3, help="best of N for the gap and the DuckDB reference (default 3)")
    ap.add_argument("--data-dir", type=Path, help="a data folder with ../shared ingested, used as the base (default: ingest one)")
    a = ap.parse_args()
    main(a.factors or [1, 10, 50], a.regions, a.regions_factor, a.runs, a.data_dir)

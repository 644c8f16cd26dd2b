"""Scale: multiply the two big inputs of the state gap, ingest them, and run
`gapkit gap --sector all --by state` on the result. Reports wall time and peak memory (max RSS) of each
command; the targets are time growing no faster than linearly and peak memory under 2 GiB.

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

Usage: python benchmarks/bench_scale.py [FACTOR ...]     (default 1 10 50)
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import polars as pl

from _common import GAPKIT, SHARED

MIRROR = SHARED / "mirror/nces.ed.gov/ipeds/datacenter/data"


def measure(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak MiB) of one command, via GNU time."""
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", out.name, *cmd], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env={**os.environ, "GAPKIT_NO_CACHE": "1"})
        secs, kib = Path(out.name).read_text().split()[-2:]
    return float(secs), int(kib) / 1024


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


def main(factors: list[int]) -> None:
    root = Path(tempfile.mkdtemp(prefix="gapkit-scale-"))
    try:
        base = root / "base"
        subprocess.run([*GAPKIT, "ingest", "--offline", "--from", str(SHARED), "--data-dir", str(base)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("ipeds: completions rows (C2024_A copies as new institutions); proj: stored state_projections rows of the "
              "newest cycle (real + synthetic detailed occupations per state); times in s, peak RSS in MiB")
        print(f"{'factor':>6} {'ipeds rows':>11} {'ingest s':>9} {'ingest MiB':>11} {'proj rows':>10} {'proj s':>7} "
              f"{'proj MiB':>9} {'gap s':>7} {'gap MiB':>8}")
        for k in factors:
            src, psrc = root / f"src{k}", root / f"proj{k}"
            src.mkdir()
            psrc.mkdir()
            rows = synthetic_ipeds(src, k)
            cycle, _ = synthetic_projections(base, psrc, k)
            data = root / f"data{k}"
            shutil.copytree(base, data)
            ti, mi = measure([*GAPKIT, "ingest", "ipeds", "--offline", "--from", str(src), "--data-dir", str(data)])
            tp, mp = measure([*GAPKIT, "ingest", "projections", "--offline", "--from", str(psrc), "--data-dir", str(data)])
            prows = stored_rows(data, "state_projections", cycle)
            tg, mg = measure([*GAPKIT, "gap", "--sector", "all", "--by", "state", "--data-dir", str(data)])
            print(f"{k:>6} {rows:>11,} {ti:>9.1f} {mi:>11.0f} {prows:>10,} {tp:>7.1f} {mp:>9.0f} {tg:>7.2f} {mg:>8.0f}", flush=True)
            for d in (src, psrc, data):
                shutil.rmtree(d)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 10, 50])

"""Scale: multiply the IPEDS completions table (synthetic copies of the real 2023-24 rows, each copy a
new set of institutions with the same states) 1x, 10x and 50x (about 14 million rows), ingest it, and
run `gapkit gap --sector all --by state` on it. Reports wall time and peak memory (max RSS) of each
command; the targets are time growing no faster than linearly and peak memory under 2 GiB.

Usage: python benchmarks/bench_scale.py [FACTOR ...]     (default 1 10 50)
"""

from __future__ import annotations

import io
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
                       stderr=subprocess.DEVNULL, env={"GAPKIT_NO_CACHE": "1", **__import__("os").environ})
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


def main(factors: list[int]) -> None:
    root = Path(tempfile.mkdtemp(prefix="gapkit-scale-"))
    try:
        base = root / "base"
        subprocess.run([*GAPKIT, "ingest", "--offline", "--from", str(SHARED), "--data-dir", str(base)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"{'factor':>6} {'rows':>12} {'ingest s':>9} {'ingest MiB':>11} {'gap s':>7} {'gap MiB':>8}")
        for k in factors:
            src = root / f"src{k}"
            src.mkdir()
            rows = synthetic_ipeds(src, k)
            data = root / f"data{k}"
            shutil.copytree(base, data)
            ti, mi = measure([*GAPKIT, "ingest", "ipeds", "--offline", "--from", str(src), "--data-dir", str(data)])
            tg, mg = measure([*GAPKIT, "gap", "--sector", "all", "--by", "state", "--data-dir", str(data)])
            print(f"{k:>6} {rows:>12,} {ti:>9.1f} {mi:>11.0f} {tg:>7.2f} {mg:>8.0f}", flush=True)
            shutil.rmtree(src)
            shutil.rmtree(data)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 10, 50])

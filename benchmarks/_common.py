"""Helpers for the benchmarks: timing whole commands (best of N) and their peak memory on this machine,
the data folder they run on, and the agreement check between gapkit's CSV and the DuckDB reference."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GAPKIT_SHARED", REPO.parent / "shared"))
GAPKIT = [sys.executable, "-m", "gapkit.cli"]
DUCKDB_GAP = [sys.executable, str(REPO / "benchmarks/duckdb_gap.py")]
IMPORT_POLARS = [sys.executable, "-c", "import polars"]
COLD = {"GAPKIT_NO_CACHE": "1"}


class Run(NamedTuple):
    secs: float  # wall time
    peak_mib: float  # the child's max RSS
    cpu: float  # the child's user + system CPU seconds (steadier than wall time on a busy machine)


def best_of(cmd: list[str], n: int = 5, env: dict[str, str] | None = None) -> float:
    return min(measure(cmd, env).secs for _ in range(n))


# The command is started by a small launcher process, not by this one: Linux charges a child started with
# vfork (what subprocess and posix_spawn use) with the PARENT's peak RSS in its ru_maxrss, so a benchmark
# that has itself held a big frame (bench_scale builds millions of rows) would report that as every
# command's peak. The launcher (python -S, about 10 MiB) spawns the command, times it and reports its
# wait4 rusage on stdout.
_LAUNCHER = (
    "import os,sys,time\n"
    "n=os.open(os.devnull,os.O_RDWR)\n"
    "t=time.perf_counter()\n"
    "p=os.posix_spawnp(sys.argv[1],sys.argv[1:],os.environ,file_actions=[(os.POSIX_SPAWN_DUP2,n,1),(os.POSIX_SPAWN_DUP2,n,2)])\n"
    "_,s,u=os.wait4(p,0)\n"
    "print(time.perf_counter()-t,u.ru_maxrss,u.ru_utime+u.ru_stime,os.waitstatus_to_exitcode(s))\n"
)


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Wall time, peak memory and CPU time of one whole command (its own rusage, from wait4 in a small
    launcher process, so that this process's own memory does not count)."""
    out = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, *cmd], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout.split()
    secs, maxrss_kib, cpu, rc = float(out[0]), int(out[1]), float(out[2]), int(out[3])
    if rc:
        raise subprocess.CalledProcessError(rc, cmd)
    return Run(secs, maxrss_kib / 1024, cpu)  # ru_maxrss in KiB on Linux


def interleaved(cmds: dict[str, tuple[list[str], dict[str, str] | None]], n: int = 5) -> dict[str, Run]:
    """Best wall time, largest peak memory and least CPU time of each named command over n rounds, the
    commands taking turns within each round, so that a shared machine's load changes hit every side of a
    ratio alike."""
    runs: dict[str, list[Run]] = {name: [] for name in cmds}
    for _ in range(n):
        for name, (cmd, env) in cmds.items():
            runs[name].append(measure(cmd, env))
    return {name: Run(min(x.secs for x in r), max(x.peak_mib for x in r), min(x.cpu for x in r)) for name, r in runs.items()}


def output_of(cmd: list[str], env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, **(env or {})}).stdout


def ensure_ingested(data_dir: Path) -> None:
    if not (data_dir / "manifest.json").exists():
        print(f"ingesting ../shared into {data_dir} ...", file=sys.stderr)
        subprocess.run([*GAPKIT, "ingest", "--offline", "--from", str(SHARED), "--data-dir", str(data_dir)], check=True,
                       stdout=subprocess.DEVNULL)


def default_data_dir() -> Path:
    """The benchmarks' data folder: GAPKIT_BENCH_DATA, else a temp folder with ../shared ingested once."""
    data = Path(os.environ.get("GAPKIT_BENCH_DATA", Path(tempfile.gettempdir()) / "gapkit-bench-data"))
    ensure_ingested(data)
    return data


def data_dir_arg(argv: list[str] | None = None) -> Path:
    """``--data-dir DIR`` from the command line (any gapkit data folder), else :func:`default_data_dir`."""
    args = sys.argv[1:] if argv is None else argv
    for i, a in enumerate(args):
        if a == "--data-dir" and i + 1 < len(args):
            return Path(args[i + 1])
        if a.startswith("--data-dir="):
            return Path(a.split("=", 1)[1])
    return default_data_dir()


# ---------------------------------------------------------------------------------------------
# agreement between gapkit's CSV and the reference's rows
# ---------------------------------------------------------------------------------------------
PEOPLE = ("openings", "entrants", "growth", "supply", "gap", "supply_extra")


def read_gapkit_csv(text: str) -> list[dict[str, str]]:
    """The rows of `gapkit ... --format csv` (the method and note lines start with '#')."""
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


def disagreements(ours: list[dict[str, Any]], gapkit_csv: str, keys: tuple[str, ...], tol: float = 0.01,
                  ordered: bool = False) -> list[str]:
    """Where the reference's rows and gapkit's CSV differ: rows present on one side only, people counts
    (openings, entrants, growth, supply, gap) further apart than ``tol``, ratios or misalignment further
    apart than gapkit's 4 printed decimals, a ratio on one side only, different ratio notes or flags.
    ``ordered`` also compares the row order. An empty list means they agree."""
    theirs = read_gapkit_csv(gapkit_csv)
    key = lambda r: tuple(str(r[k]) for k in keys)  # noqa: E731
    a = {key(r): r for r in ours}
    b = {key(r): r for r in theirs}
    out = [f"{k}: only in the DuckDB reference" for k in a if k not in b]
    out += [f"{k}: only in gapkit's output" for k in b if k not in a]
    if len(a) != len(ours) or len(b) != len(theirs):
        out.append(f"repeated keys: {len(ours) - len(a)} in the reference, {len(theirs) - len(b)} in gapkit's output")
    if ordered and not out and [key(r) for r in ours] != [key(r) for r in theirs]:
        out.append("rows in a different order")
    for k in a.keys() & b.keys():
        r, g = a[k], b[k]
        for c in PEOPLE:
            if c in g and not math.isclose(float(r[c]), float(g[c]), rel_tol=0, abs_tol=tol):
                out.append(f"{k} {c}: reference {r[c]:.4f}, gapkit {g[c]}")
        if "ratio" in g:
            if (r["ratio"] is None) != (g["ratio"] == ""):
                out.append(f"{k} ratio: reference {r['ratio']}, gapkit {g['ratio']!r}")
            elif r["ratio"] is not None and abs(r["ratio"] - float(g["ratio"])) > 1e-4:
                out.append(f"{k} ratio: reference {r['ratio']:.6f}, gapkit {g['ratio']}")
        if "ratio_note" in g and (r.get("ratio_note") or "") != g["ratio_note"]:
            out.append(f"{k} ratio_note: reference {r.get('ratio_note')!r}, gapkit {g['ratio_note']!r}")
        if "misalignment" in g:
            m = r.get("misalignment")
            if (m is None) != (g["misalignment"] == "") or (m is not None and abs(m - float(g["misalignment"])) > 1e-4):
                out.append(f"{k} misalignment: reference {m}, gapkit {g['misalignment']!r}")
        if "flags" in g and r["flags"] != g["flags"]:
            out.append(f"{k} flags: reference {r['flags']!r}, gapkit {g['flags']!r}")
    return out

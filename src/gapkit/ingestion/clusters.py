"""Advance CTE National Career Clusters® Framework crosswalks, loaded as a lens (`gapkit clusters load`).

The workbooks are user-supplied: Advance CTE publishes them (https://careertech.org/resource/framework-crosswalk/)
but they are not government works, so gapkit never bundles or downloads them. A user loads their
copies into the data store, where they become two datasets with provenance in the manifest:

``cluster_soc``  soc_code, title, cluster, sub_cluster, source_file  (SOC_Career_Clusters_Crosswalk.xlsx,
                 sheet "SOC - CC - Sub-Clusters")
``cluster_cip``  cipcode, cip_title, cluster, sub_cluster, source_file  (CIP_Career_Clusters_Crosswalk.xlsx,
                 sheet "CIP - CC - Sub-Clusters")

The full framework workbook (Full_Framework_Crosswalk.xlsx, sheet "SOC - CIP - CC") also works: its
distinct SOC and CIP alignments fill whichever dataset no dedicated workbook in the same load gives.
Columns are found by meaning (header text), never by position; the framework's cluster-only section
rows and the ``99.9999``/``NO MATCH`` sentinel rows are skipped and counted; anything else that is not
a SOC/CIP code or lacks its cluster is refused with a message naming the file and sheet.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from gapkit.codes import cip_expr, soc_expr
from gapkit.errors import SourceFormatError, UsageError
from gapkit.ingestion.readers import map_columns, read_xlsx_sheet, xlsx_sheets
from gapkit.ingestion.sources import CLUSTER_DATASETS, CLUSTERS_LOAD_HINT
from gapkit.store import Store, now_iso, sha256_file

if TYPE_CHECKING:
    import polars as pl

SOURCE = "careerclusters"
DEFAULT_VINTAGE = "2024"  # the modernized National Career Clusters Framework (2024-25 crosswalks)
UNIT = "framework"
SCHEMAS: dict[str, pa.Schema] = {
    "cluster_soc": pa.schema([("soc_code", pa.string()), ("title", pa.string()), ("cluster", pa.string()),
                              ("sub_cluster", pa.string()), ("source_file", pa.string())]),
    "cluster_cip": pa.schema([("cipcode", pa.string()), ("cip_title", pa.string()), ("cluster", pa.string()),
                              ("sub_cluster", pa.string()), ("source_file", pa.string())]),
}
SHEETS = {
    "soc": r"^soc\s*-\s*cc\s*-\s*sub-?clusters?$",
    "cip": r"^cip\s*-\s*cc\s*-\s*sub-?clusters?$",
    "full": r"^soc\s*-\s*cip\s*-\s*cc$",
}
COLUMNS = {
    "soc": r"^soc(\s*20\d\d)?\s*code", "soc_title": r"^occupation\s*title|^soc(\s*20\d\d)?\s*title",
    "cip": r"^cip\s*code", "cip_title": r"^cip\s*title",
    "cluster": r"^career\s*cluster$", "sub_cluster": r"^sub-?\s*cluster$",
}
KIND_DATASET = CLUSTER_DATASETS


@dataclass
class Parsed:
    """What one workbook gives: frames by kind (soc / cip), whether they come from the full framework, notes."""

    path: Path
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    full: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    written: dict[str, int] = field(default_factory=dict)  # dataset -> rows
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    vintage: str = DEFAULT_VINTAGE


def recognize(path: Path) -> bool:
    """Is this an Advance CTE crosswalk workbook (one of the known sheets)?"""
    if path.suffix.lower() != ".xlsx":
        return False
    try:
        names = xlsx_sheets(path)
    except SourceFormatError:
        return False
    return any(re.match(rx, n.strip(), re.I) for n in names for rx in SHEETS.values())


def parse_workbook(path: Path) -> Parsed:
    """The SOC and/or CIP cluster alignments of one workbook (SourceFormatError when it is not one)."""
    names = xlsx_sheets(path)
    found = {kind: next((n for n in names if re.match(rx, n.strip(), re.I)), None) for kind, rx in SHEETS.items()}
    out = Parsed(path)
    if found["soc"] is None and found["cip"] is None and found["full"] is None:
        raise SourceFormatError(
            path, f"is not an Advance CTE Career Clusters crosswalk: it has no 'SOC - CC - Sub-Clusters', 'CIP - CC - Sub-Clusters' "
                  f"or 'SOC - CIP - CC' sheet (it has {', '.join(repr(n) for n in names[:10])}).",
            "Give SOC_Career_Clusters_Crosswalk.xlsx and CIP_Career_Clusters_Crosswalk.xlsx as downloaded from "
            "https://careertech.org/resource/framework-crosswalk/; nothing was loaded.")
    for kind in ("soc", "cip"):
        sheet = found[kind]
        if sheet is not None:
            out.frames[kind] = _links(path, sheet, kind, out.notes)
    if not out.frames and found["full"] is not None:
        out.full = True
        for kind in ("soc", "cip"):
            out.frames[kind] = _links(path, found["full"], kind, out.notes)
    return out


def _links(path: Path, sheet: str, kind: str, notes: list[str]) -> pl.DataFrame:
    import polars as pl

    df = read_xlsx_sheet(path, sheet, header_row=0)
    wanted = {k: COLUMNS[k] for k in (kind, f"{kind}_title", "cluster", "sub_cluster")}
    c = map_columns(df.columns, wanted, path=path, required=[kind, "cluster", "sub_cluster"], sheet=sheet)
    title = pl.col(c[f"{kind}_title"]).cast(pl.String).str.strip_chars() if f"{kind}_title" in c else pl.lit(None, pl.String)
    raw = df.select(
        pl.col(c[kind]).cast(pl.String).str.strip_chars().alias("raw"),
        title.alias("title"),
        pl.col(c["cluster"]).cast(pl.String).str.strip_chars().alias("cluster"),
        pl.col(c["sub_cluster"]).cast(pl.String).str.strip_chars().alias("sub_cluster"),
    ).with_columns(pl.all().replace("", None))
    raw = raw.filter(~pl.all_horizontal(pl.all().is_null()))  # blank (formatted) rows
    section = raw.filter(pl.col("raw").is_null() & pl.col("sub_cluster").is_null() & pl.col("cluster").is_not_null())
    raw = raw.filter(~(pl.col("raw").is_null() & pl.col("sub_cluster").is_null() & pl.col("cluster").is_not_null()))
    if raw.height == 0:
        raise SourceFormatError(path, f"sheet {sheet!r} has no {kind.upper()} rows.", "Give the workbook as Advance CTE publishes it; nothing was loaded.")
    sentinel = "99-9999" if kind == "soc" else "99.9999"
    no_match = (pl.col("raw").eq(sentinel) | pl.col("title").str.to_uppercase().eq("NO MATCH")).fill_null(False)
    n_sentinel = raw.filter(no_match).height
    raw = raw.filter(~no_match)
    norm = soc_expr("raw") if kind == "soc" else cip_expr("raw")
    raw = raw.with_columns(norm.alias("code"))
    bad = raw.filter(pl.col("code").is_null() | pl.col("cluster").is_null() | pl.col("sub_cluster").is_null())
    if bad.height:
        r = bad.row(0, named=True)
        what = "a code that is not a SOC code (NN-NNNN)" if kind == "soc" else "a code that is not a CIP code (NN.NNNN)"
        why = what if r["code"] is None else "no Career Cluster or no Sub-Cluster"
        raise SourceFormatError(path, f"{bad.height} row(s) of sheet {sheet!r} have {why}, e.g. {r['raw']!r} / {r['cluster']!r} / {r['sub_cluster']!r}.",
                                "Give the workbook as Advance CTE publishes it; nothing was loaded.")
    if kind == "cip":
        short = raw.filter(pl.col("code").str.len_chars() != 7)
        if short.height:
            raise SourceFormatError(path, f"{short.height} row(s) of sheet {sheet!r} have a CIP code that is not 6-digit, e.g. {short['raw'][0]!r}.",
                                    "Give the workbook as Advance CTE publishes it; nothing was loaded.")
    code_col = "soc_code" if kind == "soc" else "cipcode"
    title_col = "title" if kind == "soc" else "cip_title"
    out = (
        raw.select(pl.col("code").alias(code_col), pl.col("title").alias(title_col), "cluster", "sub_cluster",
                   pl.lit(path.name).alias("source_file"))
        .unique(subset=[code_col, "cluster", "sub_cluster"], keep="first", maintain_order=True)
    )
    skipped = []
    if section.height:
        skipped.append(f"{section.height} cluster heading row(s)")
    if n_sentinel:
        skipped.append(f"{n_sentinel} {sentinel}/NO MATCH row(s)")
    notes.append(f"{path.name} [{sheet}]: {out.height:,} {kind.upper()} alignments ({out[code_col].n_unique():,} codes, "
                 f"{out['cluster'].n_unique()} clusters, {out['sub_cluster'].n_unique()} sub-clusters)"
                 + (f"; skipped {', '.join(skipped)}" if skipped else "") + ".")
    return out


def _expand(paths: list[str | os.PathLike[str]]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            found = [f for f in sorted(p.rglob("*.xlsx")) if not f.name.startswith(("~$", ".")) and recognize(f)]
            if not found:
                raise UsageError(f"{raw}: the folder holds no Advance CTE Career Clusters crosswalk workbook (.xlsx with a "
                                 "'SOC - CC - Sub-Clusters' or 'CIP - CC - Sub-Clusters' sheet).")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        elif p.exists():
            raise UsageError(f"{raw}: not a regular file or a folder (a pipe or device cannot be loaded: reading it could "
                             "block forever).")
        else:
            raise UsageError(f"{raw}: no such file or folder.")
    return files


def load(paths: list[str | os.PathLike[str]], data_dir: str | os.PathLike[str] | None = None,
         vintage: str | None = None, wait: float = 0.0) -> LoadReport:
    """Read the crosswalk workbooks and write ``cluster_soc`` / ``cluster_cip`` into the data store.

    All files are read and checked before anything is written; a bad file leaves the store untouched.
    """
    from gapkit.store import finite_seconds

    wait = finite_seconds(wait, "--wait")
    vintage = vintage or DEFAULT_VINTAGE
    if not re.match(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$", vintage):
        raise UsageError(f"--vintage {vintage!r}: use letters, digits, '.', '-' or '_' (e.g. 2024).")
    if not paths:
        raise UsageError("gapkit clusters load: give the crosswalk workbook(s) or a folder holding them.")
    parsed = [parse_workbook(f) for f in _expand(paths)]
    report = LoadReport(vintage=vintage)
    chosen: dict[str, tuple[Parsed, pl.DataFrame]] = {}
    for p in sorted(parsed, key=lambda x: x.full):  # dedicated workbooks first, the full framework fills gaps
        report.notes.extend(p.notes)
        for kind, frame in p.frames.items():
            if kind in chosen:
                prev = chosen[kind][0]
                if p.full or prev.path == p.path:
                    report.notes.append(f"{p.path.name}: its {kind.upper()} alignments were not used ({prev.path.name} gives them).")
                    continue
                raise UsageError(f"{prev.path} and {p.path} both give the {kind.upper()} cluster alignments; load one of them.")
            chosen[kind] = (p, frame)
    store = Store(data_dir)
    with store.lock(wait):
        for kind, (p, frame) in chosen.items():
            dataset = KIND_DATASET[kind]
            rec = {"origin": str(p.path.resolve()), "file": p.path.name, "retrieved": now_iso(), "kind": "local",
                   "sha256": sha256_file(p.path), "bytes": p.path.stat().st_size,
                   "sheet": "SOC - CIP - CC" if p.full else ("SOC - CC - Sub-Clusters" if kind == "soc" else "CIP - CC - Sub-Clusters")}
            report.written[dataset] = store.write_table(dataset, vintage, SOURCE, [(UNIT, frame.select(SCHEMAS[dataset].names), rec)],
                                                        SCHEMAS[dataset])
            if str(p.path) not in report.files:
                report.files.append(str(p.path))
    missing = [k.upper() for k in ("soc", "cip") if k not in chosen]
    if missing:
        report.notes.append(f"No {' or '.join(missing)} alignments were in these files; the {'occupation' if 'SOC' in missing else 'program'} "
                            "side of the cluster lens needs them.")
    return report


def overview(data_dir: str | os.PathLike[str] | None = None) -> pl.DataFrame:
    """Clusters and sub-clusters with the number of SOC and CIP codes aligned to each."""
    import polars as pl

    store = Store(data_dir)
    frames = []
    for kind, dataset in KIND_DATASET.items():
        v = store.vintages(dataset)
        if v:
            code = "soc_code" if kind == "soc" else "cipcode"
            frames.append(store.scan(dataset, v[-1]).group_by("cluster", "sub_cluster").agg(pl.col(code).n_unique().alias(f"{kind}_codes")).collect())
    if not frames:
        raise UsageError(f"No Career Clusters crosswalk is loaded. {CLUSTERS_LOAD_HINT}")
    out = frames[0]
    for f in frames[1:]:
        out = out.join(f, on=["cluster", "sub_cluster"], how="full", coalesce=True)
    for c in ("soc_codes", "cip_codes"):
        if c not in out.columns:
            out = out.with_columns(pl.lit(None, pl.UInt32).alias(c))
    return out.select("cluster", "sub_cluster", "soc_codes", "cip_codes").sort("cluster", "sub_cluster")

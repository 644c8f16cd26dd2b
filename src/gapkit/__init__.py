"""gapkit: labor-market skills-gap analysis from official public data.

The library API is what the CLI calls; a notebook can call it directly::

    import gapkit
    gapkit.ingest(["bls-ep"], from_paths=["../shared"])     # fetch/parse into Parquet
    ep = gapkit.load("ep_occupations")                      # polars LazyFrame, newest vintage
    result = gapkit.gap("transportation", by="subsector")   # GapResult with .table and .method
    ws = gapkit.Workspace()                                 # one data folder, every question (see gapkit.workspace)

Packages by stage (each package's ``__init__`` says what it holds and what it may import):
``ingestion`` (downloads, readers, one module per source), ``store`` (Parquet + manifest),
``config`` (sectors, presets, schemas, user files), ``analysis`` (questions and the method),
``render`` (tables, charts, briefs) and ``cli`` (the command line, a thin layer over the rest).

Heavy modules (polars, pyarrow, httpx) are imported lazily so that ``import gapkit`` and
``gapkit --help`` stay fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Workspace": ("gapkit.workspace", "Workspace"),
    "gap": ("gapkit.workspace", "gap"),
    "sensitivity": ("gapkit.workspace", "sensitivity"),
    "pathways": ("gapkit.workspace", "pathways"),
    "programs": ("gapkit.workspace", "programs"),
    "occupation": ("gapkit.workspace", "occupation"),
    "chart": ("gapkit.workspace", "chart"),
    "brief": ("gapkit.workspace", "brief"),
    "find": ("gapkit.workspace", "find"),
    "Query": ("gapkit.analysis.query", "Query"),
    "Tables": ("gapkit.analysis.tables", "Tables"),
    "ingest": ("gapkit.ingestion.pipeline", "ingest"),
    "load": ("gapkit.store", "load"),
    "Store": ("gapkit.store", "Store"),
    "load_sector": ("gapkit.config.sectors", "load_sector"),
    "GapkitError": ("gapkit.errors", "GapkitError"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'gapkit' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]

"""gapkit: labor-market skills-gap analysis from official public data.

The library API is what the CLI calls; a notebook can call it directly::

    import gapkit
    gapkit.ingest(["bls-ep"], from_paths=["../shared"])     # fetch/parse into Parquet
    ep = gapkit.load("ep_occupations")                      # polars LazyFrame, newest vintage
    result = gapkit.gap("transportation", by="subsector")   # GapResult with .table and .method

Heavy modules (polars, pyarrow, httpx) are imported lazily so that ``import gapkit`` and
``gapkit --help`` stay fast.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "ingest": ("gapkit.ingest", "ingest"),
    "load": ("gapkit.store", "load"),
    "Store": ("gapkit.store", "Store"),
    "gap": ("gapkit.gap", "gap"),
    "load_sector": ("gapkit.sectors", "load_sector"),
    "GapkitError": ("gapkit.errors", "GapkitError"),
}


class _Package(types.ModuleType):
    """Keeps ``gapkit.gap`` and ``gapkit.ingest`` the library functions once their submodules load.

    Importing a submodule (``from gapkit.gap import GapData``) normally rebinds the package attribute
    of the same name to the module, after which ``gapkit.gap(...)`` raised "'module' object is not
    callable". The submodules stay importable as usual (``from gapkit.gap import ...``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'gapkit' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]

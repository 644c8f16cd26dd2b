"""Registry of upstream sources: one module each."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gapkit.ingestion.sources.base import Source

# CLI name -> (module, class). Order is the ingest order.
SOURCES: dict[str, tuple[str, str]] = {
    "bls-ep": ("gapkit.ingestion.sources.bls_ep", "BlsEp"),
    "bls-matrix": ("gapkit.ingestion.sources.bls_matrix", "BlsMatrix"),
    "projections": ("gapkit.ingestion.sources.projections", "Projections"),
    "ipeds": ("gapkit.ingestion.sources.ipeds", "Ipeds"),
    "crosswalk": ("gapkit.ingestion.sources.crosswalk", "Crosswalk"),
    "oews": ("gapkit.ingestion.sources.oews", "Oews"),
    "qcew": ("gapkit.ingestion.sources.qcew", "Qcew"),
    "geo": ("gapkit.ingestion.sources.geo", "Geo"),
    "ca-edd": ("gapkit.ingestion.sources.ca_edd", "CaEdd"),
    "etpl": ("gapkit.ingestion.sources.etpl", "Etpl"),
}

# Which source writes which dataset (used for "run `gapkit ingest X`" hints).
DATASET_SOURCE: dict[str, str] = {
    "ep_occupations": "bls-ep",
    "nem_matrix": "bls-matrix",
    "state_projections": "projections",
    "ipeds_completions": "ipeds",
    "ipeds_institutions": "ipeds",
    "cip_soc": "crosswalk",
    "cip_soc_unmatched": "crosswalk",
    "oews_wages": "oews",
    "qcew_area": "qcew",
    "cbsa_delineation": "geo",
    "oews_area_definitions": "geo",
    "workforce_areas": "geo",
    "substate_projections": "ca-edd",
    "etpl_programs": "etpl",
}


def get_source(name: str) -> Source:
    module, cls = SOURCES[name]
    return getattr(importlib.import_module(module), cls)()


def all_sources() -> list[Source]:
    return [get_source(n) for n in SOURCES]

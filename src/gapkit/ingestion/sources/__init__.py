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
    "bls-codes": ("gapkit.ingestion.sources.bls_codes", "BlsCodes"),
    "oews": ("gapkit.ingestion.sources.oews", "Oews"),
    "qcew": ("gapkit.ingestion.sources.qcew", "Qcew"),
    "geo": ("gapkit.ingestion.sources.geo", "Geo"),
    "ca-edd": ("gapkit.ingestion.sources.ca_edd", "CaEdd"),
    "etpl": ("gapkit.ingestion.sources.etpl", "Etpl"),
}

# Which source writes which dataset (used for "run `gapkit ingest X`" hints).
DATASET_SOURCE: dict[str, str] = {
    "ep_occupations": "bls-ep",
    "ep_attainment": "bls-ep",
    "nem_matrix": "bls-matrix",
    "state_projections": "projections",
    "ipeds_completions": "ipeds",
    "ipeds_institutions": "ipeds",
    "cip_soc": "crosswalk",
    "cip_soc_unmatched": "crosswalk",
    "soc_nem": "bls-codes",
    "oews_wages": "oews",
    "qcew_area": "qcew",
    "cbsa_delineation": "geo",
    "oews_area_definitions": "geo",
    "workforce_areas": "geo",
    "substate_projections": "ca-edd",
    "etpl_programs": "etpl",
}


# Datasets `gapkit clusters load` writes (Advance CTE crosswalks, user-supplied) and how to get them.
CLUSTER_DATASETS: dict[str, str] = {"soc": "cluster_soc", "cip": "cluster_cip"}
CLUSTERS_LOAD_HINT = ("Load the Advance CTE National Career Clusters crosswalks first: `gapkit clusters load "
                      "SOC_Career_Clusters_Crosswalk.xlsx CIP_Career_Clusters_Crosswalk.xlsx` (download them from "
                      "https://careertech.org/resource/framework-crosswalk/; gapkit does not ship them).")


def get_source(name: str) -> Source:
    module, cls = SOURCES[name]
    return getattr(importlib.import_module(module), cls)()


def all_sources() -> list[Source]:
    return [get_source(n) for n in SOURCES]

"""The Career Clusters lens: the Advance CTE crosswalks ``gapkit clusters load`` stored (datasets
``cluster_soc`` and ``cluster_cip``), looked up by cluster or sub-cluster name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gapkit.analysis.tables import SMALL
from gapkit.errors import UsageError
from gapkit.ingestion.sources import CLUSTER_DATASETS, CLUSTERS_LOAD_HINT

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.tables import Tables


def cluster_links(tables: Tables, kind: str) -> pl.DataFrame:
    """(code, cluster, sub_cluster) for kind ``soc`` or ``cip`` from the newest loaded framework."""
    import polars as pl

    dataset = CLUSTER_DATASETS[kind]

    def load() -> pl.DataFrame:
        vintages = tables.vintages(dataset)
        if not vintages:
            raise UsageError(f"No Career Clusters crosswalk ({dataset}) is loaded. {CLUSTERS_LOAD_HINT}")
        code = "soc_code" if kind == "soc" else "cipcode"
        return (tables.scan(dataset, vintages[-1]).select(pl.col(code).alias("code"), "cluster", "sub_cluster")
                .unique(maintain_order=True).collect(engine=SMALL))

    return tables.cached(("pw-cluster", kind), load)  # type: ignore[no-any-return]


def resolve_cluster(name: str, links: pl.DataFrame) -> tuple[str, str]:
    """A cluster or sub-cluster named by the user: exact (case-insensitive), else a unique part of a name."""
    want = " ".join(name.split()).lower()
    if not want:
        raise UsageError("--cluster: give a Career Cluster or sub-cluster name (see `gapkit clusters`).")
    clusters = sorted(set(links["cluster"].drop_nulls().to_list()))
    subs = sorted(set(links["sub_cluster"].drop_nulls().to_list()))

    def norm(s: str) -> str:
        return " ".join(s.replace("&", "and").split()).lower()

    for level, names in (("cluster", clusters), ("sub_cluster", subs)):
        for n in names:
            if n.lower() == want or norm(n) == norm(want):
                return level, n
    hits = [("cluster", n) for n in clusters if norm(want) in norm(n)] + [("sub_cluster", n) for n in subs if norm(want) in norm(n)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise UsageError(f"--cluster {name!r} matches several: {'; '.join(n for _, n in hits[:8])}. Give more of the name.")
    raise UsageError(f"--cluster {name!r} is not a Career Cluster or sub-cluster. Clusters: {'; '.join(clusters)} "
                     "(`gapkit clusters` lists the sub-clusters).")


def cluster_members(tables: Tables, kind: str, name: str) -> tuple[pl.DataFrame, str, str]:
    """(code, cluster, sub_cluster) rows of the named cluster or sub-cluster; its level and exact name."""
    import polars as pl

    links = cluster_links(tables, kind)
    level, exact = resolve_cluster(name, links)
    return links.filter(pl.col(level) == exact), level, exact

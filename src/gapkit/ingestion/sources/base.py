"""What every upstream source module declares, in one place: its URLs, how to recognize its files,
how to parse them, and the schema of the tables it produces.

A source module defines one subclass of :class:`Source` and a ``SCHEMAS`` dict of pyarrow schemas
(one per dataset it writes). The ingest orchestrator (``gapkit.ingestion.pipeline``) does everything else:
fetching, caching by sha256, atomic Parquet writes, the manifest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


@dataclass(frozen=True)
class Remote:
    """One upstream file: where it lives and where its raw copy is kept under data/raw/."""

    url: str
    raw_name: str  # path relative to data/raw/<source>/
    required: bool = True  # False: a 404 is reported as "not published" and skipped, not an error
    paged_json: bool = False  # Projections Central style pager (fetch every page, concatenate rows)


@dataclass
class ParsedTable:
    """Rows one input file contributes to one dataset vintage.

    ``unit`` identifies the slice of the dataset the file stands for: rows of a later file with the
    same (dataset, vintage, unit) replace these; other units of the same vintage are kept (e.g. the
    291 per-industry matrix exports of one cycle are 291 units of one table).
    """

    dataset: str
    vintage: str
    unit: str
    frame: pl.DataFrame
    notes: list[str] = field(default_factory=list)


@dataclass
class IngestOptions:
    years: list[int] | None = None  # IPEDS / OEWS years
    cycles: list[str] | None = None  # projection cycles, e.g. ["2024-34"]
    states: list[str] | None = None  # 2-digit FIPS codes
    industries: list[str] | None = None  # NEM industry codes (per-industry matrix downloads)
    counties: list[str] | None = None  # 5-digit county FIPS codes (QCEW area slices)


class Source(ABC):
    """One upstream source. Subclasses set the class attributes and implement the three methods."""

    name: ClassVar[str]  # CLI name, e.g. "bls-ep"
    title: ClassVar[str]  # human name, e.g. "BLS Employment Projections (occupation.xlsx)"
    datasets: ClassVar[tuple[str, ...]]  # processed tables it writes
    homepage: ClassVar[str] = ""

    @abstractmethod
    def remotes(self, opts: IngestOptions) -> list[Remote]:
        """The upstream files to download for these options.

        Raise gapkit.errors.UsageError when the options cannot name any file (e.g. QCEW without
        counties, a source with no fixed URL): the message reaches the user when the source was
        asked for by name; a run over all sources skips it.
        """

    @abstractmethod
    def recognize(self, path: Path, head: bytes) -> bool:
        """True when ``path`` (first bytes ``head``) is a file this source parses. Cheap: name + sniffing."""

    @abstractmethod
    def parse(self, path: Path, origin: str) -> list[ParsedTable]:
        """Parse one raw file into tables. ``origin`` is the URL or local path it came from.

        Raise gapkit.errors.SourceFormatError (or SchemaDriftError) naming the file and the problem
        for anything wrong with the file; never return partial garbage.
        """

    def schema(self, dataset: str) -> pa.Schema:
        import importlib

        module = importlib.import_module(type(self).__module__)
        return module.SCHEMAS[dataset]

"""The library API: a data folder and every question gapkit answers about it.

    import gapkit
    ws = gapkit.Workspace("data")                       # or gapkit.Workspace() for ./data / $GAPKIT_DATA_DIR
    ws.ingest(from_paths=["../shared"], offline=True)   # fetch/parse into Parquet
    ws.gap("transportation", by="subsector", region="OH").table
    ws.gap("all", by="state")                           # every shipped sector × every state, one pass
    ws.sensitivity("transportation").table
    ws.pathways("healthcare", region="TX").table
    ws.programs(region="OH", cip="51.38").table()
    ws.occupation("53-3032", region="TX")
    ws.find("truck driver")                             # occupations, programs, sectors, regions by name
    ws.chart("scatter", "transportation", region="OH").save("oh.svg")
    ws.brief("transportation", region="OH").write("reports/transportation-oh")

Every method takes the options of the matching command, as keywords, with the same defaults (text is
fine: ``completions_years="2022-2024"``); ``gapkit.gap(...)`` and the other module-level functions do
the same on a workspace of their own (``data_dir=...``). The CLI is a thin layer over these methods:
each command parses its options into a :class:`~gapkit.analysis.query.Query`, calls one method and
renders the result. A workspace keeps the tables it has read, so asking several questions of one is
faster than asking them one by one.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from gapkit.analysis.pathways import PathwayResult
    from gapkit.analysis.programs import ProgramResult
    from gapkit.analysis.query import Query, Resolved
    from gapkit.analysis.results import GapResult
    from gapkit.analysis.sweeps import Headline, SweepResult
    from gapkit.analysis.tables import Tables
    from gapkit.config.sectors import Sector
    from gapkit.ingestion.pipeline import IngestReport
    from gapkit.render.brief import Brief
    from gapkit.render.charts import Chart
    from gapkit.store import Store


class Workspace:
    """A gapkit data folder (default ``./data`` or ``$GAPKIT_DATA_DIR``) and the questions asked of it."""

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        from gapkit.analysis.tables import Tables

        self.data_dir = data_dir
        self.tables: Tables = Tables(data_dir)

    def __repr__(self) -> str:
        return f"Workspace({str(self.store.root)!r})"

    @property
    def store(self) -> Store:
        assert self.tables.store is not None
        return self.tables.store

    # -- data --------------------------------------------------------------------------------------
    def ingest(self, sources: list[str] | None = None, **options: Any) -> IngestReport:
        """``gapkit ingest``: download or read the sources into the store (options: from_paths, mirror, offline, ...)."""
        from gapkit.analysis.tables import Tables
        from gapkit.ingestion.pipeline import ingest

        report = ingest(sources, data_dir=self.data_dir, **options)
        self.tables = Tables(self.data_dir)  # what was read before may have changed
        return report

    def load(self, dataset: str, vintage: str | None = None) -> pl.LazyFrame:
        """An ingested dataset as a polars LazyFrame (newest vintage by default)."""
        return self.tables.scan(dataset, vintage)

    def sources(self) -> list[dict[str, Any]]:
        """What is ingested: one dict per dataset and vintage (``gapkit sources --format json``)."""
        from gapkit.render.ingest_report import sources_records

        return sources_records(self.data_dir)

    def regions(self, state: str | None = None, *, kind: str | None = None) -> tuple[pl.DataFrame, dict[str, Any]]:
        """``gapkit regions [STATE]``: the metros, micros, workforce areas and counties ``--region`` accepts, with the
        area data gapkit has for each; and a record of the geography it came from."""
        import polars as pl

        from gapkit.analysis import regions
        from gapkit.analysis.query import resolve_region
        from gapkit.errors import UsageError

        st = None
        if state:
            reg = resolve_region(state, option="STATE")
            if reg.kind != "state":
                raise UsageError(f"gapkit regions {state}: give a state (OH or 39), or nothing for every state.")
            st = reg.code
        table = regions.catalog(self.tables, st)
        if kind:
            kinds = sorted(set(table["kind"].to_list()))
            if kind not in kinds:
                raise UsageError(f"--kind {kind!r}: choose one of {', '.join(kinds)}.")
            table = table.filter(pl.col("kind") == kind)
        vint = {ds: self.tables.provenance(ds, self.tables.vintages(ds)[-1])
                for ds in ("cbsa_delineation", "oews_area_definitions", "workforce_areas", "qcew_area") if self.tables.has(ds)}
        line = "Geography: " + "; ".join(f"{d} {v['vintage']} ({v['sha256']})" for d, v in vint.items()) + "."
        where = st or "every state"
        return table, {"title": f"Regions in {where} (--region CODE): {table.height} areas", "method_line": line, "vintages": vint}

    def sectors(self) -> list[Sector]:
        """The shipped sector definitions (``gapkit sectors``)."""
        from gapkit.config.sectors import list_sectors

        return list_sectors()

    def find(self, text: str, kind: str | None = None, top: int | None = 20) -> pl.DataFrame:
        """``gapkit find``: occupations, programs, sectors and regions matching a name or code, best first.

        Columns kind, code, title, detail, match (why it matched); ``kind`` limits the search to occupation,
        program, sector or region; ``top=None`` returns every match. See :mod:`gapkit.analysis.names`.
        """
        from gapkit.analysis.names import find

        return find(self.tables, text, kind=kind, top=top)

    # -- questions ---------------------------------------------------------------------------------
    def query(self, question: str = "gap", sector: str | None = None, **options: Any) -> Query:
        from gapkit.analysis.query import Query

        return Query(question=question, sector=sector, **options)

    def resolve(self, question: str = "gap", sector: str | None = None, **options: Any) -> Resolved:
        """A question checked and read once (see :mod:`gapkit.analysis.query`); ``.at(...)`` gives variants."""
        return self.query(question, sector, **options).resolve(self.tables)

    def gap(self, sector: str | None = None, **options: Any) -> GapResult:
        """``gapkit gap``: openings vs supply, ratio and gap. ``sector="all"`` compares every shipped sector.

        Options: region, by, awards, alloc, scope, completions_years, vintage, retention, extra_supply,
        sector_file, sort, top.
        """
        from gapkit.analysis.method import compute

        r = self.resolve("gap", sector, **options)
        res = compute(r, self.tables)
        if r.sort:  # descending by the key; ties (and rows without a ratio, last) in the engine's order
            import polars as pl

            key = pl.col(r.sort)
            if r.sort == "ratio" and "ratio_note" in res.table.columns:
                # a withheld ratio that is known to be large ranks by what is known: "> 40" as 40, no completers at
                # all above every ratio; "state data unusable", "none expected", "no meaningful supply" stay last
                note = pl.col("ratio_note")
                key = (pl.when(key.is_not_null()).then(key)
                       .when(note.str.starts_with("> ")).then(note.str.slice(2).str.replace_all(",", "").cast(pl.Float64, strict=False))
                       .when(note == "no supply").then(pl.lit(float("inf"))).otherwise(None))
            res.table = (res.table.with_columns(key.alias("_sort")).sort("_sort", descending=True, nulls_last=True, maintain_order=True)
                         .drop("_sort"))
        if r.top:
            res.table = res.table.head(r.top)
        return res

    def headline(self, sector: str | None = None, **options: Any) -> Headline:
        """The headline ratio of a one-sector question with the range the method allows (``.text()``)."""
        from gapkit.analysis.sweeps import headline

        return headline(self.resolve("sensitivity", sector, **options), self.tables)

    def sensitivity(self, sector: str | None = None, **options: Any) -> SweepResult:
        """``gapkit gap --sensitivity``: the headline under every allocation mode × award preset."""
        from gapkit.analysis.sweeps import sensitivity_result

        return sensitivity_result(self.resolve("sensitivity", sector, **options), self.tables)

    def pathways(self, sector: str | None = None, **options: Any) -> PathwayResult:
        """``gapkit pathways``: occupations ranked for career pathways (default: every occupation of the economy)."""
        from gapkit.analysis.pathways import run

        return run(self.resolve("pathways", sector, **options), self.tables)

    def programs(self, sector: str | None = None, **options: Any) -> ProgramResult:
        """``gapkit programs``: CIP programs with completions, institutions, linked occupations, alignment."""
        from gapkit.analysis.programs import run

        return run(self.resolve("programs", sector, **options), self.tables)

    def occupation(self, soc: str, **options: Any) -> dict[str, Any]:
        """``gapkit occupation SOC``: one occupation's openings, sector shares, programs, institutions and gap."""
        from gapkit.analysis.occupation import run

        return run(self.resolve("occupation", soc=soc, **options), self.tables)

    def chart(self, kind: str, sector: str | None = None, **options: Any) -> Chart:
        """``gapkit chart KIND``: a Chart (``.save(path)``; shows itself in Jupyter). ``out=`` saves it too."""
        from gapkit.render.charts import check_chart_path, draw_data

        out = options.pop("out", None)
        if out is not None:
            check_chart_path(out)
        c = draw_data(self.chart_data(kind, sector, **options))
        if out is not None:
            c.save(out)
        return c

    def chart_data(self, kind: str, sector: str | None = None, **options: Any) -> Any:
        """What chart ``kind`` shows (title, rows, footer) without drawing it (no matplotlib)."""
        from gapkit.analysis.query import PATHWAY_CHARTS

        if kind in PATHWAY_CHARTS:
            from gapkit.render.charts.pathways_charts import pathways_data, programs_data

            r = self.resolve(kind, sector, chart=kind, **options)
            if kind == "pathways":
                from gapkit.analysis.pathways import run as run_pathways

                return pathways_data(run_pathways(r, self.tables), limit=r.limit or 40)
            from gapkit.analysis.programs import run as run_programs

            return programs_data(run_programs(r, self.tables), limit=r.limit or 20)
        from gapkit.render.charts.data import prepare

        return prepare(kind, self.resolve("chart", sector, chart=kind, **options), self.tables)

    def brief(self, sector: str | None = None, *, generated_at: str | None = None, pdf: bool | None = None,
              **options: Any) -> Brief:
        """``gapkit report``: the brief (Markdown, HTML, charts and — ``pdf`` None when headless Chromium is found, True,
        False — its PDF) for one sector and region; ``.write(folder)``."""
        from gapkit.render.brief import build

        return build(self.resolve("brief", sector, **options), self.tables, generated_at=generated_at, pdf=pdf)


def _workspace(options: dict[str, Any]) -> Workspace:
    ws = options.pop("workspace", None)
    return ws if ws is not None else Workspace(options.pop("data_dir", None))


def find(text: str, kind: str | None = None, top: int | None = 20, **options: Any) -> pl.DataFrame:
    """``gapkit.find("truck driver")``: see :meth:`Workspace.find`."""
    return _workspace(options).find(text, kind=kind, top=top)


def gap(sector: str | None = None, **options: Any) -> GapResult:
    """``gapkit.gap("transportation", by="subsector", region="OH")``: see :meth:`Workspace.gap`."""
    return _workspace(options).gap(sector, **options)


def sensitivity(sector: str | None = None, **options: Any) -> SweepResult:
    return _workspace(options).sensitivity(sector, **options)


def pathways(sector: str | None = None, **options: Any) -> PathwayResult:
    return _workspace(options).pathways(sector, **options)


def programs(sector: str | None = None, **options: Any) -> ProgramResult:
    return _workspace(options).programs(sector, **options)


def occupation(soc: str, **options: Any) -> dict[str, Any]:
    return _workspace(options).occupation(soc, **options)


def chart(kind: str, sector: str | None = None, **options: Any) -> Chart:
    return _workspace(options).chart(kind, sector, **options)


def brief(sector: str | None = None, **options: Any) -> Brief:
    return _workspace(options).brief(sector, **options)

"""The ingested tables the method reads, each derived once per :class:`Tables` (a notebook can keep one).

``Tables`` reads a gapkit data folder (``Tables(data_dir)``) or, for tests and experiments, a set of
in-memory frames (``Tables.from_frames({"ep_occupations": {"2024-34": df}, ...})``) laid out like the
stored Parquet tables. Everything here is data access: no option is validated and no method choice is
made (that is :mod:`gapkit.analysis.query` and :mod:`gapkit.analysis.method`).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from gapkit.errors import MissingDataError, UsageError
from gapkit.store import Store, vintage_sort_key

if TYPE_CHECKING:
    import concurrent.futures

    import polars as pl

T = TypeVar("T")

# Which polars engine runs a query. The streaming engine (polars' default) starts each query in about half a
# millisecond, the in-memory engine in a tenth of that; a question runs a hundred or more small queries over the
# national tables (hundreds to thousands of rows), so those use the in-memory engine. Queries whose input grows with
# the data (completions, thousands of regions) stream above STREAM_ROWS rows, in bounded memory.
SMALL = "in-memory"
STREAM_ROWS = 1_000_000
CATEGORICAL_ROWS = 5_000_000  # completions rows above which CIP codes are grouped as categories


def engine_for(rows: int) -> str:
    """The engine for a query over about ``rows`` input rows."""
    return "streaming" if rows > STREAM_ROWS else SMALL


def cycle_years(cycle: str) -> int:
    """Years in a projection cycle: ``2024-34`` -> 10."""
    m = re.match(r"^(\d{4})-(\d{2,4})$", cycle)
    if not m:
        return 10
    start, end = int(m.group(1)), int(m.group(2))
    if end < 100:
        end += (start // 100) * 100
    return max(1, end - start)


class Tables:
    """The data a question is answered from: stored tables plus the derived tables the method uses."""

    def __init__(self, data_dir: str | os.PathLike[str] | Store | None = None) -> None:
        self.store: Store | None = data_dir if isinstance(data_dir, Store) else Store(data_dir)
        self._frames: dict[str, dict[str, pl.DataFrame]] | None = None
        self._init_memo()

    def _init_memo(self) -> None:
        self._memo: dict[Any, Any] = {}
        self._lock = threading.Lock()
        self._running: dict[Any, tuple[int, threading.Event]] = {}
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    @classmethod
    def from_frames(cls, frames: dict[str, dict[str, pl.DataFrame]]) -> Tables:
        """Tables from in-memory frames: ``{dataset: {vintage: frame}}`` with the stored columns."""
        t = cls.__new__(cls)
        t.store, t._frames = None, frames
        t._init_memo()
        return t

    # -- raw access -----------------------------------------------------------------------------
    def cached(self, key: Any, fn: Callable[[], T]) -> T:
        """``fn()`` computed once per key for the life of these tables; when another thread (:meth:`prefetch`) is
        computing the same key, its result is waited for instead of computed twice."""
        while True:
            if key in self._memo:
                return self._memo[key]  # type: ignore[no-any-return]
            with self._lock:
                if key in self._memo:
                    continue
                owner, running = self._running.get(key, (None, None))
                if running is None or owner == threading.get_ident():  # (a key asked for while computing it: no wait)
                    running = threading.Event()
                    self._running[key] = (threading.get_ident(), running)
                    break
            running.wait()  # then the memo has it, or that thread failed and this one computes (and raises) it
        try:
            value = fn()
            self._memo[key] = value
            return value
        finally:
            with self._lock:
                if self._running.get(key, (None, None))[1] is running:
                    del self._running[key]
            running.set()

    def prefetch(self, *calls: Callable[[], Any]) -> None:
        """Start derived tables on a worker thread while the caller goes on: polars releases the GIL while it reads
        and aggregates, so on two cores the reads overlap the rest of the work. Each call asks these Tables for one
        table (``lambda: t.completions(years)``); the result lands in the memo, where the caller's own request
        finds it (or waits for it). An error is raised again, with its message, where the caller asks."""
        import concurrent.futures as cf

        try:
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gapkit-prefetch")
            for call in calls:
                self._pool.submit(_quietly, call)
        except RuntimeError:  # no thread can be started (a process limit): the caller computes everything itself
            return

    def vintages(self, dataset: str) -> list[str]:
        """The ingested vintages of ``dataset``, oldest first (listed once per Tables: a workspace that ingests makes new
        Tables)."""
        if self._frames is not None:
            return sorted(self._frames.get(dataset, {}), key=vintage_sort_key)
        store = self.store
        assert store is not None
        return list(self.cached(("vintages", dataset), lambda: store.vintages(dataset)))

    def scan(self, dataset: str, vintage: str | None = None) -> pl.LazyFrame:
        if self._frames is not None:
            have = self._frames.get(dataset, {})
            if not have or (vintage is not None and vintage not in have):
                raise MissingDataError(dataset, f"gapkit ingest {_source_of(dataset)}", vintage)
            return have[vintage or self.vintages(dataset)[-1]].lazy()
        assert self.store is not None
        return self.store.scan(dataset, vintage)

    def rows(self, dataset: str, vintage: str) -> int:
        """Rows of a stored table as the manifest records them (0 when it is not ingested)."""
        if self._frames is not None:
            frame = self._frames.get(dataset, {}).get(vintage)
            return frame.height if frame is not None else 0
        assert self.store is not None
        e = self.store.entry(dataset, vintage)
        return e.rows if e is not None else 0

    def has(self, dataset: str) -> bool:
        return bool(self.vintages(dataset))

    def vintage(self, dataset: str, wanted: str | None = None, option: str = "--vintage") -> str:
        """The newest vintage of ``dataset``, or ``wanted`` after checking it is ingested."""
        available = self.vintages(dataset)
        if not available:
            raise MissingDataError(dataset, f"gapkit ingest {_source_of(dataset)}")
        if wanted is None:
            return available[-1]
        if wanted not in available:
            raise UsageError(f"{option} {wanted}: {dataset} has vintages {', '.join(available)} ingested.")
        return wanted

    def nearest(self, dataset: str, year: int) -> str:
        """The vintage of a yearly dataset closest to ``year`` (the later one on a tie)."""
        available = self.vintages(dataset)
        if not available:
            raise MissingDataError(dataset, f"gapkit ingest {_source_of(dataset)}")
        return min(available, key=lambda v: (abs(int(v) - year), -int(v)))

    def provenance(self, dataset: str, vintage: str) -> dict[str, Any]:
        e = self.store.entry(dataset, vintage) if self.store is not None else None
        return {"dataset": dataset, "vintage": vintage, "sha256": e.sha256[:12] if e else "", "retrieved": e.retrieved if e else ""}

    # -- derived tables -------------------------------------------------------------------------
    def ep(self, cycle: str) -> pl.DataFrame:
        """Detailed occupations of one EP cycle, persons per year: openings (BLS), entrants (openings less
        occupational transfers: employment growth plus labor-force exits), growth (employment growth, at
        least 0), employment, and the separation and exit rates (per year, of mean employment)."""
        import polars as pl

        def load() -> pl.DataFrame:
            years = cycle_years(cycle)
            mean_k = (pl.col("emp_base_k") + pl.col("emp_proj_k")) / 2
            return (
                self.scan("ep_occupations", cycle)
                .filter(pl.col("occ_type") == "Line item")
                .select(
                    "soc_code", "title", "education", "training", "work_experience", "median_wage",
                    (pl.col("openings_k") * 1000).alias("openings_nat"),
                    ((pl.col("openings_k") - pl.col("transfers_k").fill_null(0.0)).clip(lower_bound=0.0) * 1000).alias("entrants_nat"),
                    ((pl.col("emp_proj_k") - pl.col("emp_base_k")) / years).clip(lower_bound=0.0).mul(1000).alias("growth_nat"),
                    (pl.col("emp_base_k") * 1000).alias("emp_base"),
                    (pl.col("emp_proj_k") * 1000).alias("emp_proj"),
                    (pl.col("separations_k") / mean_k).fill_nan(0.0).alias("sep_rate"),
                    (pl.col("exits_k").fill_null(0.0) / mean_k).fill_nan(0.0).alias("exit_rate"),
                    pl.col("base_year"), pl.col("proj_year"),
                )
                .collect(engine=SMALL)
            )

        return self.cached(("ep", cycle), load)

    def attainment(self) -> pl.DataFrame | None:
        """(soc_code, level, share): educational attainment of each occupation's workers 25+ (BLS Table 5.3,
        newest cycle that publishes it), or None when no cycle with Table 5.3 is ingested."""
        import polars as pl

        def load() -> pl.DataFrame | None:
            if not self.has("ep_attainment"):
                return None
            v = self.vintages("ep_attainment")[-1]
            return (self.scan("ep_attainment", v).filter(pl.col("soc_code") != "00-0000")
                    .select("soc_code", "level", pl.col("share").fill_null(0.0), pl.lit(v).alias("cycle")).collect(engine=SMALL))

        return self.cached("attainment", load)

    def soc_map(self) -> pl.DataFrame | None:
        """(soc_code, nem_code) for SOC 2018 detailed codes the projections publish under another code
        (BLS O*NET-SOC -> NEM crosswalk, source bls-codes), or None when it is not ingested."""
        import polars as pl

        def load() -> pl.DataFrame | None:
            if not self.has("soc_nem"):
                return None
            return (self.scan("soc_nem", self.vintage("soc_nem")).filter(pl.col("soc_code") != pl.col("nem_code"))
                    .select("soc_code", "nem_code").unique().collect(engine=SMALL))

        return self.cached("soc-map", load)

    def harmonize(self, frame: pl.DataFrame, col: str = "soc_code") -> pl.DataFrame:
        """``frame`` with SOC 2018 codes in ``col`` replaced by the projections code they are published under."""
        import polars as pl

        m = self.soc_map()
        if m is None:
            return frame
        return (frame.join(m.rename({"soc_code": col}), on=col, how="left")
                .with_columns(pl.coalesce("nem_code", col).alias(col)).drop("nem_code"))

    def ep_total(self, cycle: str) -> dict[str, float | None]:
        """The all-occupations (00-0000) row of an EP cycle: employment base/projected, openings (persons)."""
        import polars as pl

        def load() -> dict[str, float | None]:
            tot = self.scan("ep_occupations", cycle).filter(pl.col("soc_code") == "00-0000").select(
                "emp_base_k", "emp_proj_k", "openings_k").collect(engine=SMALL)
            if tot.height == 0:
                return {"emp_base": None, "emp_proj": None, "openings": None}
            row = tot.row(0, named=True)
            return {k.removesuffix("_k"): (None if v is None else v * 1000) for k, v in row.items()}

        return self.cached(("ep-total", cycle), load)

    def ep_row(self, cycle: str, soc_code: str) -> dict[str, Any] | None:
        """One occupation's published row (any type) of an EP cycle, or None."""
        import polars as pl

        rows = self.scan("ep_occupations", cycle).filter(pl.col("soc_code") == soc_code).collect(engine=SMALL)
        return rows.row(0, named=True) if rows.height else None

    def matrix_demand(self, matrix_cycle: str, sep_cycle: str, industries: tuple[str, ...] | None = None) -> pl.DataFrame:
        """Annual openings by (line-item industry, line-item occupation) from the matrix, persons.

        ``industries`` limits the query to those industry codes (pushed into the Parquet scan); None
        reads every line-item industry.
        """
        import polars as pl

        def load() -> pl.DataFrame:
            ep = self.ep(sep_cycle).select("soc_code", "sep_rate", "exit_rate")
            m = self.scan("nem_matrix", matrix_cycle)
            if industries is not None:
                m = m.filter(pl.col("industry_code").is_in(list(industries)))
            years = cycle_years(matrix_cycle)
            return (
                m.filter((pl.col("industry_type") == "Line item") & (pl.col("occupation_type") == "Line item"))
                .unique(subset=["industry_code", "occupation_code"], keep="first")
                .join(ep.lazy(), left_on="occupation_code", right_on="soc_code", how="left")
                .select(
                    "industry_code",
                    pl.col("occupation_code").alias("soc_code"),
                    (
                        ((pl.col("emp_proj_k") - pl.col("emp_base_k")) / years
                         + pl.col("sep_rate").fill_null(0.0) * (pl.col("emp_base_k") + pl.col("emp_proj_k")) / 2)
                        .clip(lower_bound=0.0) * 1000
                    ).alias("openings_m"),
                    (
                        ((pl.col("emp_proj_k") - pl.col("emp_base_k")) / years
                         + pl.col("exit_rate").fill_null(0.0) * (pl.col("emp_base_k") + pl.col("emp_proj_k")) / 2)
                        .clip(lower_bound=0.0) * 1000
                    ).alias("entrants_m"),
                    ((pl.col("emp_proj_k") - pl.col("emp_base_k")) / years).clip(lower_bound=0.0).mul(1000).alias("growth_m"),
                    (pl.col("emp_base_k") * 1000).alias("emp_base_m"),
                )
                .collect(engine=SMALL)
            )

        return self.cached(("matrix", matrix_cycle, sep_cycle, industries), load)

    def industry_employment(self, matrix_cycle: str) -> dict[str, float]:
        """Base-year employment (thousands) of every line-item industry of the matrix (its 00-0000 row)."""
        import polars as pl

        def load() -> dict[str, float]:
            mat = self.scan("nem_matrix", matrix_cycle).filter(
                (pl.col("industry_type") == "Line item") & (pl.col("occupation_code") == "00-0000")
            ).select("industry_code", "emp_base_k").collect(engine=SMALL)
            return {k: float(v or 0.0) for k, v in zip(mat["industry_code"].to_list(), mat["emp_base_k"].to_list(), strict=True)}

        return self.cached(("industry-emp", matrix_cycle), load)

    def completions(self, years: tuple[int, ...], by_unit: bool = False) -> pl.DataFrame:
        """Mean annual first-major completions at 6-digit CIP by (state, cipcode, awlevel); ``by_unit`` keeps unitid.

        Runs as a streaming query, so a very large completions table aggregates in bounded memory.
        """
        import polars as pl

        def load() -> pl.DataFrame:
            # CIP codes and states grouped as categories where there are millions of rows (a few thousand codes: at 14
            # million rows a quarter less memory and 0.1 s less), as text below that (categories cost a third more time)
            many = sum(self.rows("ipeds_completions", str(y)) for y in years) > CATEGORICAL_ROWS
            cip = pl.col("cipcode").cast(pl.Categorical) if many else pl.col("cipcode")
            state = pl.col("state").cast(pl.Categorical) if many else pl.col("state")
            frames = []
            for y in years:
                inst = self.scan("ipeds_institutions", self.nearest("ipeds_institutions", y)).select("unitid", state)
                frames.append(
                    self.scan("ipeds_completions", str(y))
                    .filter(pl.col("cip_level") == 6)
                    .select("unitid", cip, "awlevel", pl.col("completions").cast(pl.Float64))
                    .join(inst, on="unitid", how="left")
                )
            keys = ["unitid", "state", "cipcode", "awlevel"] if by_unit else ["state", "cipcode", "awlevel"]
            df = pl.concat(frames).group_by(keys).agg((pl.col("completions").sum() / len(years)).alias("completions"))
            if many:
                df = df.with_columns(pl.col("cipcode").cast(pl.String), pl.col("state").cast(pl.String))
            return df.collect(engine="streaming")

        return self.cached(("completions", years, by_unit), load)

    def completions_national(self, years: tuple[int, ...]) -> pl.DataFrame:
        """Mean annual first-major completions at 6-digit CIP by (cipcode, awlevel), the whole country (no directory join)."""
        import polars as pl

        def load() -> pl.DataFrame:
            frames = [
                self.scan("ipeds_completions", str(y)).filter(pl.col("cip_level") == 6)
                .select("cipcode", "awlevel", pl.col("completions").cast(pl.Float64))
                for y in years
            ]
            return (pl.concat(frames).group_by("cipcode", "awlevel")
                    .agg((pl.col("completions").sum() / len(years)).alias("completions")).collect(engine="streaming"))

        return self.cached(("completions-national", years), load)

    def institutions(self, year: int) -> pl.DataFrame:
        """The institution directory nearest to ``year``: unitid, name, city, state, county_fips."""
        def load() -> pl.DataFrame:
            lf = self.scan("ipeds_institutions", self.nearest("ipeds_institutions", year))
            cols = ["unitid", "name", "city", "state", "county_fips"]
            have = lf.collect_schema().names()
            return lf.select(*(c for c in cols if c in have)).collect(engine=SMALL)

        return self.cached(("institutions", year), load)

    def crosswalk(self) -> pl.DataFrame:
        """NCES CIP-SOC links (cipcode, soc_code), sentinels removed, SOC codes harmonized to the projections'."""
        return self.cached("xw", lambda: self.harmonize(
            self.scan("cip_soc", self.vintage("cip_soc")).select("cipcode", "soc_code").unique().collect(engine=SMALL)).unique())

    def cip_titles(self) -> pl.DataFrame:
        """(cipcode, cip_title) from the crosswalk, its unmatched codes and the Career Clusters crosswalk."""
        import polars as pl

        def load() -> pl.DataFrame:
            frames = [self.scan("cip_soc", self.vintage("cip_soc")).select("cipcode", "cip_title")]
            if self.has("cip_soc_unmatched"):
                frames.append(self.scan("cip_soc_unmatched", self.vintage("cip_soc_unmatched"))
                              .filter(pl.col("kind") == "cip").select(pl.col("code").alias("cipcode"), pl.col("title").alias("cip_title")))
            if self.has("cluster_cip"):
                frames.append(self.scan("cluster_cip").select("cipcode", "cip_title"))
            return pl.concat([f.collect(engine=SMALL) for f in frames]).unique("cipcode", keep="first", maintain_order=True)

        return self.cached("cip-titles", load)

    def state_projections(self, cycle: str, fips: tuple[str, ...] | None = None) -> pl.DataFrame:
        """Projections Central detailed-occupation rows of every state (not the national 00 file), or of the states
        ``fips``, SOC 2018 codes the projections merge summed under the projections' code (a code the state
        publishes itself wins): stfips, state, soc_code, openings, emp_base, emp_proj. Titles are the national
        projections' and totals are checked by :meth:`state_total_notes` (a table of thousands of regions would
        repeat them on millions of rows)."""
        import polars as pl

        if fips is not None:
            fips = tuple(sorted(set(fips)))

        def load() -> pl.DataFrame:
            engine = engine_for(self.rows("state_projections", cycle))
            keep = (pl.col("stfips") != "00") if fips is None else pl.col("stfips").is_in(list(fips))
            cols = ["stfips", "state", "soc_code", "openings", "emp_base", "emp_proj"]
            p = self.scan("state_projections", cycle).filter(keep & (pl.col("soc_level") == "detailed")).select(cols)
            m = self.soc_map()
            if m is None:
                return p.collect(engine=engine)
            # one query of filters (a table of millions of rows is read once, never joined whole): the rows of merged
            # codes are summed under the projections' code unless the state publishes that code itself
            merged_codes, nem_codes = m["soc_code"].unique().implode(), m["nem_code"].unique().implode()
            merged = (p.filter(pl.col("soc_code").is_in(merged_codes)).join(m.lazy(), on="soc_code", how="inner")
                      .group_by("stfips", "state", "nem_code")
                      .agg(pl.col("openings").sum(), pl.col("emp_base").sum(), pl.col("emp_proj").sum())
                      .rename({"nem_code": "soc_code"})
                      .join(p.filter(pl.col("soc_code").is_in(nem_codes)).select("stfips", "soc_code"), on=["stfips", "soc_code"],
                            how="anti"))
            kept = p.filter(~pl.col("soc_code").is_in(merged_codes))
            return pl.concat([kept, merged.select(cols)]).collect(engine=engine)

        return self.cached(("proj", cycle, fips), load)

    def has_state_projections(self, cycle: str, fips: str, *, load: bool = True) -> bool:
        """Whether the Projections Central cycle has detailed-occupation rows for the state ``fips``. ``load``: they are
        loaded (a question about the state reads them next); otherwise only counted (a question about its areas reads
        the rows of every state its areas touch, under another key)."""
        import polars as pl

        if load:
            return self.state_projections(cycle, (fips,)).height > 0

        def count() -> int:
            rows = self.scan("state_projections", cycle).filter((pl.col("stfips") == fips) & (pl.col("soc_level") == "detailed"))
            return int(rows.select(pl.len()).collect(engine=SMALL).item())

        return self.cached(("state-projection-rows", cycle, fips), count) > 0

    def state_total_notes(self, cycle: str, fips: tuple[str, ...] | None = None) -> list[str]:
        """The parser's per-state checks (detail vs published total, openings rate) for every state or the states
        ``fips`` (one query either way)."""
        import polars as pl

        if fips is not None:
            fips = tuple(sorted(set(fips)))

        def load() -> list[str]:
            from gapkit.ingestion.sources.projection_checks import state_total_notes

            lf = self.scan("state_projections", cycle)
            lf = lf.filter(pl.col("stfips").is_in(list(fips))) if fips is not None else lf.filter(pl.col("stfips") != "00")
            return state_total_notes(lf.select("stfips", "cycle", "soc_level", "soc_code", "openings", "emp_base", "emp_proj"))

        return self.cached(("state-totals", cycle, fips), load)


def _quietly(call: Callable[[], Any]) -> None:
    """A prefetch: its error is raised again where the table is asked for (the memo has no entry for it)."""
    with contextlib.suppress(Exception):
        call()


def _source_of(dataset: str) -> str:
    from gapkit.ingestion.sources import DATASET_SOURCE

    return DATASET_SOURCE.get(dataset, "")

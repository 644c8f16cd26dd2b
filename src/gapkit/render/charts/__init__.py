"""Charts for briefs: ``gapkit chart KIND`` and the library calls behind it.

    from gapkit.render.charts import chart
    c = chart("bars", "transportation", by="subsector", region="OH")   # a Chart (shows itself in Jupyter)
    c.save("transportation-oh.png")                                     # PNG 300 dpi, SVG or PDF by extension

Importing this package is cheap; matplotlib is imported when a chart is drawn (in ``style``/``kinds``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapkit.errors import UsageError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from gapkit.analysis.engine import GapData, GapOptions
    from gapkit.render.charts.data import ChartData

# Gap charts (drawn from gap options) and pathway charts (drawn from `gapkit pathways` / `gapkit programs`).
GAP_KINDS = ("bars", "states", "scatter", "sensitivity", "trend")
PATHWAY_KINDS = ("pathways", "programs")
KINDS = GAP_KINDS + PATHWAY_KINDS
EXTENSIONS = (".png", ".svg", ".pdf")


@dataclass(repr=False)
class Chart:
    """A drawn chart: its figure and what it shows (title, rows, method)."""

    figure: Figure
    data: ChartData

    def __repr__(self) -> str:
        return f"Chart(kind={self.data.kind!r}, title={self.data.title!r})"

    @property
    def title(self) -> str:
        return self.data.title

    def to_bytes(self, fmt: str = "png", dpi: int | None = None) -> bytes:
        from gapkit.render.charts import style

        return style.to_bytes(self.figure, fmt, dpi or style.DPI)

    def save(self, out: str | os.PathLike[str]) -> Path:
        """Write the chart; the format follows the extension (.png 300 dpi, .svg, .pdf)."""
        from gapkit.render.brief import _write

        path = check_chart_path(out)
        data = self.to_bytes(path.suffix.lower()[1:])
        try:
            _write(path, data, label=f"--out {out}")
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc}); choose a writable folder with free "
                             "space. Nothing was written.") from None
        return path

    def _repr_png_(self) -> bytes:  # Jupyter shows the chart at screen resolution
        return self.to_bytes("png", 110)


def check_chart_path(out: str | os.PathLike[str], option: str = "--out") -> Path:
    from gapkit.render.tables import check_output_path

    p = check_output_path(out, option)  # length, links, pipes and devices
    if p.suffix.lower() not in EXTENSIONS:
        raise UsageError(f"{option} {out}: the extension chooses the format; use .png (300 dpi), .svg or .pdf.")
    try:
        if p.is_dir():
            raise UsageError(f"{option} {out} is a folder; give a file name such as {p / 'chart.png'}.")
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise UsageError(f"{option} {out}: the folder {parent} does not exist; create it first.")
        if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
            raise UsageError(f"{option} {out}: {parent if not p.exists() else p} is not writable; choose a writable folder.")
    except OSError as exc:
        raise UsageError(f"{option} {out}: the path cannot be used ({exc.strerror or exc}); choose another.") from None
    return p


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UsageError(f"Unknown chart kind {kind!r}: choose one of {', '.join(KINDS)}.")
    return kind


def make_chart(kind: str, opts: GapOptions, data: GapData) -> Chart:
    """Compute what ``kind`` shows for these gap options and draw it."""
    from gapkit.analysis.engine import validate_options
    from gapkit.render.charts.data import prepare
    from gapkit.render.charts.kinds import draw

    if check_kind(kind) in PATHWAY_KINDS:
        raise UsageError(f"Chart kind {kind!r} is drawn from pathway results: use gapkit.render.charts.chart({kind!r}, ...) "
                         f"or `gapkit chart {kind}`.")
    cd = prepare(kind, validate_options(opts), data)
    return Chart(draw(cd), cd)


def draw_data(cd: ChartData) -> Chart:
    """Draw already-prepared chart data (the report reuses one computation for its tables and charts)."""
    from gapkit.render.charts.kinds import draw

    return Chart(draw(cd), cd)


def chart(kind: str, sector: str = "transportation", *, out: str | os.PathLike[str] | None = None,
          data: GapData | None = None, data_dir: str | os.PathLike[str] | None = None, **options: Any) -> Chart:
    """Library entry point: ``chart("scatter", "transportation", region="OH", alloc="employment")``.

    ``options`` are those of :class:`gapkit.analysis.engine.GapOptions` (by, region, awards, alloc, scope, ...); for
    the ``pathways`` kind those of :func:`gapkit.analysis.pathways.pathways` (region, cluster, rules, ...) and for
    ``programs`` those of :func:`gapkit.analysis.programs.programs` (region, cip, soc, cluster, ...).
    """
    from gapkit.analysis.engine import GapData, GapOptions

    if check_kind(kind) in PATHWAY_KINDS:
        from gapkit.render.charts.pathways_charts import pathway_chart, program_chart

        if kind == "pathways":
            return pathway_chart(sector, out=out, data=data, data_dir=data_dir, **options)
        return program_chart(sector=sector, out=out, data=data, data_dir=data_dir, **options)
    if out is not None:
        check_chart_path(out)
    c = make_chart(kind, GapOptions(sector=sector, **options), data or GapData(data_dir))
    if out is not None:
        c.save(out)
    return c


__all__ = ["GAP_KINDS", "KINDS", "PATHWAY_KINDS", "Chart", "chart", "check_chart_path", "make_chart"]

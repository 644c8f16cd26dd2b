"""Charts for briefs: what ``gapkit chart KIND`` draws.

    import gapkit
    c = gapkit.chart("bars", "transportation", by="subsector", region="OH")   # a Chart (shows itself in Jupyter)
    c.save("transportation-oh.png")                                            # PNG 300 dpi, SVG or PDF by extension

``data`` prepares what each kind shows (title, rows, a short footer, the full method for the file's
metadata) from analysis results, ``kinds`` and ``pathways_charts`` draw it in the one ``style`` (its
docstring has the colour table: one meaning per colour), ``labels`` places point labels without
overlaps. Importing this package is cheap; matplotlib is
imported when a chart is drawn.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gapkit.errors import UsageError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
        """The file's bytes; its metadata carries the title and the full method (the footer is short)."""
        from gapkit.render.charts import style

        return style.to_bytes(self.figure, fmt, dpi or style.DPI, title=self.data.title,
                              description=self.data.method_text or None)

    def save(self, out: str | os.PathLike[str]) -> Path:
        """Write the chart; the format follows the extension (.png 300 dpi, .svg, .pdf)."""
        from gapkit.render.tables import write_output

        path = check_chart_path(out)
        write_output(path, self.to_bytes(path.suffix.lower()[1:]))
        return path

    def _repr_png_(self) -> bytes:  # Jupyter shows the chart at screen resolution
        return self.to_bytes("png", 110)


def check_chart_path(out: str | os.PathLike[str]) -> Path:
    p = Path(out).expanduser()
    if p.suffix.lower() not in EXTENSIONS:
        raise UsageError(f"--out {out}: the extension chooses the format; use .png (300 dpi), .svg or .pdf.")
    if p.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file name such as {p / 'chart.png'}.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--out {out}: the folder {parent} does not exist; create it first.")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise UsageError(f"--out {out}: {parent if not p.exists() else p} is not writable; choose a writable folder.")
    return p


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UsageError(f"Unknown chart kind {kind!r}: choose one of {', '.join(KINDS)}.")
    return kind


def draw_data(cd: ChartData) -> Chart:
    """Draw prepared chart data (matplotlib is imported here, on the first chart drawn)."""
    if cd.kind in PATHWAY_KINDS:
        from gapkit.render.charts.pathways_charts import draw as draw_pathway_kind

        return Chart(draw_pathway_kind(cd), cd)
    from gapkit.render.charts.kinds import draw

    return Chart(draw(cd), cd)


__all__ = ["GAP_KINDS", "KINDS", "PATHWAY_KINDS", "Chart", "check_chart_path", "check_kind", "draw_data"]

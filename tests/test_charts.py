"""Charts from real data: every kind in PNG, SVG and PDF, their geometry, text, determinism and labels."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_clean_error, run_cli

KINDS = ("bars", "states", "scatter", "sensitivity", "trend")
FORMATS = ("png", "svg", "pdf")


@pytest.fixture(scope="session")
def ws(ingested: Path) -> Any:
    from gapkit.workspace import Workspace

    return Workspace(ingested)


@pytest.fixture(scope="session")
def drawn(ws: Any) -> dict[str, Any]:
    """One chart of each kind (national transportation), drawn once for the session."""
    return {k: ws.chart(k, "transportation", **({"by": "subsector"} if k == "bars" else {})) for k in KINDS}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _png_dpi(data: bytes) -> float:
    i = data.find(b"pHYs")
    ppm_x, _, unit = struct.unpack(">IIB", data[i + 4 : i + 13])
    assert unit == 1  # pixels per metre
    return ppm_x * 0.0254


def _svg_text(data: bytes) -> str:
    """All text in an SVG (text is kept as <text>, one element per line), whitespace-normalized."""
    root = ET.fromstring(data)
    parts = ["".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")]
    return " ".join(" ".join(parts).split())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_in_every_format(drawn: dict[str, Any], kind: str, fmt: str, tmp_path: Path) -> None:
    chart = drawn[kind]
    out = chart.save(tmp_path / f"{kind}.{fmt}")
    data = out.read_bytes()
    assert len(data) > 5_000
    if fmt == "png":
        width, height = _png_size(data)
        assert width == 1950  # 6.5 in at 300 dpi
        assert round(_png_dpi(data)) == 300
        assert 1200 < height < 4000
    elif fmt == "svg":
        text = _svg_text(data)
        title = " ".join(chart.title.split())
        assert title in text, (title, text[:300])
        assert "Sources: BLS EP" in text  # the provenance sentence every table prints
        assert "IPEDS completions" in text and "Method: " in text
        assert re.search(r'width="468pt"', data.decode()), "6.5 in wide"
    else:
        assert data.startswith(b"%PDF-")
        assert b"CreationDate" not in data  # no timestamps: re-runs are byte-identical


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_is_deterministic(ws: Any, fmt: str) -> None:
    a = ws.chart("scatter", region="OH").to_bytes(fmt)
    b = ws.chart("scatter", region="OH").to_bytes(fmt)
    assert a == b


def test_type_is_at_least_9_points(drawn: dict[str, Any]) -> None:
    from matplotlib.text import Text

    for kind, chart in drawn.items():
        for t in chart.figure.findobj(Text):
            if t.get_visible() and t.get_text().strip():
                assert t.get_fontsize() >= 9, (kind, t.get_text(), t.get_fontsize())


def test_titles_state_the_finding(drawn: dict[str, Any], ws: Any) -> None:
    head = ws.gap(by="sector").table.row(0, named=True)
    ratio = head["entrants"] / head["supply"]  # the default demand measure: entrant openings
    h = ws.headline("transportation")
    assert drawn["bars"].title.startswith(f"Transportation has {ratio:.1f} entrant openings for every completer "
                                          f"(range {h.low:.1f}–{h.high:,.0f})")
    assert "more transportation entrant openings than completers" in drawn["states"].title
    assert drawn["scatter"].title.startswith("Heavy and tractor-trailer truck drivers have the largest gap")
    assert drawn["sensitivity"].title.startswith("Method choices move the transportation ratio from")
    assert drawn["trend"].title.startswith("Completers counted as transportation supply")
    for c in drawn.values():
        assert "United States" in c.data.subtitle or "every state" in c.data.subtitle
        assert "IPEDS" in c.data.subtitle and "2024-34" in c.data.subtitle


def test_scatter_labels_do_not_overlap(ws: Any) -> None:
    from matplotlib.text import Text

    for region in ("US", "OH"):
        chart = ws.chart("scatter", region=region)
        fig = chart.figure
        fig.canvas.draw()  # annotation positions are resolved at draw time
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        labels = [t for t in ax.texts if t.__class__.__name__ == "Annotation"]
        assert len(labels) >= 5, [t.get_text() for t in labels]
        boxes = [Text.get_window_extent(t, renderer) for t in labels]  # the text, not its leader line
        guides = [t.get_window_extent(renderer) for t in ax.texts if t.__class__.__name__ != "Annotation"]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :] + guides:
                assert not a.overlaps(b), (labels[i].get_text(), region)
        # labels stay inside the plot
        axbox = ax.get_window_extent()
        for t, b in zip(labels, boxes, strict=True):
            assert axbox.x0 - 1 <= b.x0 and b.x1 <= axbox.x1 + 1 and axbox.y0 - 1 <= b.y0 and b.y1 <= axbox.y1 + 1, t.get_text()


def test_states_scale_is_centred_on_one(drawn: dict[str, Any]) -> None:
    fig = drawn["states"].figure
    lo, hi = fig.axes[1].get_xlim()  # the colour bar's axis spans the norm's limits
    assert lo * hi == pytest.approx(1.0) and hi > 1  # symmetric on a log scale: ratio 1 in the middle
    frame = drawn["states"].data.frame
    assert frame.height == 51  # one tile per state and DC, missing ones included
    texts = {t.get_text() for t in fig.axes[0].texts}
    for abbr in ("CA", "TX", "NY", "DC", "AK", "HI"):
        assert abbr in texts
    assert {"No completers", "No state projections"} <= texts


def test_trend_matches_the_gap(ws: Any) -> None:
    import polars as pl

    from gapkit.analysis.sweeps import LINKED_SERIES, completions_trend

    years = sorted(int(v) for v in ws.tables.vintages("ipeds_completions"))
    for region in ("US", "OH"):
        trend = completions_trend(ws.resolve("gap", region=region), ws.tables)
        assert sorted(set(trend["year"].to_list())) == years
        for y in years:
            counted = trend.filter((pl.col("year") == y) & (pl.col("kind") == "counted"))["completions"].sum()
            linked = trend.filter((pl.col("year") == y) & (pl.col("series") == LINKED_SERIES))["completions"].sum()
            supply = ws.gap(region=region, by="sector", completions_years=(y,)).table["supply"].sum()
            assert counted == pytest.approx(supply, abs=0.05)  # award groups add up to the all-levels supply
            assert linked >= counted > 0


def test_bars_by_occupation_and_state_region(ws: Any, tmp_path: Path) -> None:
    c = ws.chart("bars", "transportation", by="occupation", region="OH", out=tmp_path / "occ.png")
    assert c.data.frame.height == 12
    assert "in Ohio" in c.title and "Ohio" in c.data.subtitle
    assert (tmp_path / "occ.png").stat().st_size > 5_000


def test_bad_chart_requests_are_clear_errors(ws: Any, tmp_path: Path) -> None:
    from gapkit.errors import UsageError

    with pytest.raises(UsageError, match="Unknown chart kind"):
        ws.chart("pie")
    with pytest.raises(UsageError, match="extension"):
        ws.chart("bars", out=tmp_path / "x.gif")
    with pytest.raises(UsageError, match="compares every state"):
        ws.chart("states", region="OH")
    with pytest.raises(UsageError, match="--by group, subsector or occupation"):
        ws.chart("bars", by="state")


def test_cli_chart(ingested: Path, tmp_path: Path) -> None:
    out = tmp_path / "bars.svg"
    proc = run_cli("chart", "bars", "--by", "subsector", "--region", "OH", "--out", str(out), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert "Transportation in Ohio has" in _svg_text(out.read_bytes())
    assert_clean_error(run_cli("chart", "pie", "--out", str(tmp_path / "p.png"), data_dir=ingested), "Unknown chart kind 'pie'")
    assert_clean_error(run_cli("chart", "bars", "--out", str(tmp_path / "p.jpg"), data_dir=ingested), ".png (300 dpi), .svg or .pdf")
    assert_clean_error(run_cli("chart", "bars", "--out", str(tmp_path / "nope" / "p.png"), data_dir=ingested), "does not exist")
    (tmp_path / "afile").write_text("x")
    assert_clean_error(run_cli("chart", "bars", "--out", str(tmp_path / "afile" / "p.png"), data_dir=ingested), "--out")
    assert_clean_error(run_cli("chart", "bars", "--out", str(tmp_path / "p.png"), data_dir=tmp_path / "empty"), "gapkit ingest")
    assert not (tmp_path / "p.png").exists()

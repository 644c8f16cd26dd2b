"""Charts from real data: every kind in PNG, SVG and PDF, their geometry, text, determinism, labels, colours,
footers, metadata and titles.

Every kind is drawn for transportation and healthcare, nationally and for Ohio (36 charts, drawn once per
session), and each one is checked: no two texts overlap (renderer bounding boxes: titles, tick labels,
legends, point labels, guide labels), no guide text covers a point, leader lines do not cross and each
label belongs to the point it is next to, the largest points are labelled, the footer has at most four
lines, every colour drawn is one of the documented meanings, and the title's claims are true of the rows
the chart draws.
"""

from __future__ import annotations

import io
import math
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import assert_clean_error, run_cli

pytest_plugins = ["tests.pathways_support"]  # pw_dir / pw_ws: the session's data with the Career Clusters loaded

GAP_KINDS = ("bars", "states", "scatter", "sensitivity", "trend")
FORMATS = ("png", "svg", "pdf")
SECTORS = ("transportation", "healthcare")
REGIONS = ("US", "OH")
# every kind (bars at each grain) × sector × region
VARIANTS = {"bars-group": ("bars", {"by": "group"}), "bars-subsector": ("bars", {"by": "subsector"}),
            "bars-occupation": ("bars", {"by": "occupation"}), "states": ("states", {}), "scatter": ("scatter", {}),
            "sensitivity": ("sensitivity", {}), "trend": ("trend", {}), "pathways": ("pathways", {}),
            "programs": ("programs", {})}
CASES = [(v, s, r) for v in VARIANTS for s in SECTORS for r in REGIONS]
CASE_IDS = [f"{v}-{s}-{r}" for v, s, r in CASES]
GUIDE_GIDS = {"gapkit-guide", "gapkit-diagonal", "gapkit-balanced"}

_DRAWN: dict[tuple[str, str, str], Any] = {}


@pytest.fixture(scope="session")
def ws(pw_ws: Any) -> Any:
    return pw_ws


def draw(ws: Any, variant: str, sector: str, region: str) -> Any:
    """The chart of one case, drawn once per session (and rendered, so text positions are final)."""
    key = (variant, sector, region)
    if key not in _DRAWN:
        kind, opts = VARIANTS[variant]
        _DRAWN[key] = ws.chart(kind, sector, region=region, **opts)
    c = _DRAWN[key]
    c.figure.canvas.draw()  # (again: saving to SVG or PDF on the way draws it at 72 dpi)
    return c


@pytest.fixture(scope="session")
def drawn(ws: Any) -> dict[str, Any]:
    """One chart of each gap kind (national transportation)."""
    return {k: draw(ws, "bars-subsector" if k == "bars" else k, "transportation", "US") for k in GAP_KINDS}


# ---------------------------------------------------------------------------------------------
# geometry helpers (display pixels, from the renderer)
# ---------------------------------------------------------------------------------------------
def _renderer(fig: Any) -> Any:
    return fig.canvas.get_renderer()


def _box(t: Any, renderer: Any) -> tuple[float, float, float, float]:
    from matplotlib.text import Text

    bb = Text.get_window_extent(t, renderer)  # the text itself (an annotation's leader is not part of it)
    return (bb.x0, bb.y0, bb.x1, bb.y1)


def _overlap(a: tuple[float, ...], b: tuple[float, ...], tol: float = 0.5) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > tol and min(a[3], b[3]) - max(a[1], b[1]) > tol


def all_texts(fig: Any) -> list[Any]:
    """Every text the figure draws: title, subtitle, footer, axis and tick labels (the ticks in view), legends and
    their titles, colour-bar titles, annotations and guide labels."""
    out = list(fig.texts)
    legends = list(fig.legends)
    for ax in fig.axes:
        out += list(ax.texts)
        out += [ax.title, ax._left_title, ax._right_title]  # noqa: SLF001
        if ax.axison:  # an axes drawn without its axes (the map, the size keys) has no tick labels
            for axis in (ax.xaxis, ax.yaxis):
                if axis.get_visible():
                    out.append(axis.label)
                    # the ticks in view (a locator may return ticks beyond the limits, which are not drawn)
                    out += [lab for t in axis._update_ticks() for lab in (t.label1, t.label2)]  # noqa: SLF001
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    for leg in legends:
        out += list(leg.get_texts()) + [leg.get_title()]
    return [t for t in out if t.get_visible() and t.get_text().strip()]


def markers(fig: Any) -> list[tuple[Any, float, float, float]]:
    """Every point marker of the chart body as (axes, x, y, radius) in display pixels (scatter collections and
    line markers; the legend band's keys are not data)."""
    from matplotlib.collections import PathCollection

    px = fig.dpi / 72
    out = []
    for ax in fig.axes:
        if not ax.axison:
            continue
        for c in ax.collections:
            if isinstance(c, PathCollection) and len(c.get_offsets()):
                offs = c.get_offset_transform().transform(c.get_offsets())
                sizes = c.get_sizes()
                for k, (x, y) in enumerate(offs):
                    out.append((ax, float(x), float(y), math.sqrt(sizes[k % len(sizes)]) / 2 * px))
        for line in ax.lines:
            if line.get_marker() not in (None, "", "None", " ") and len(line.get_xdata()):
                for x, y in ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()])):
                    out.append((ax, float(x), float(y), line.get_markersize() / 2 * px))
    return out


def _edge_distance(box: tuple[float, ...], x: float, y: float, r: float) -> float:
    dx = max(box[0] - x, 0.0, x - box[2])
    dy = max(box[1] - y, 0.0, y - box[3])
    return math.hypot(dx, dy) - r


def _cross(a: tuple[tuple[float, float], ...], b: tuple[tuple[float, float], ...]) -> bool:
    def orient(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    (p1, p2), (p3, p4) = a, b
    return orient(p1, p2, p3) * orient(p1, p2, p4) < 0 and orient(p3, p4, p1) * orient(p3, p4, p2) < 0


def labels(fig: Any) -> list[Any]:
    return [t for ax in fig.axes for t in ax.texts if t.get_gid() == "gapkit-label"]


# ---------------------------------------------------------------------------------------------
# formats, size, type, determinism, metadata
# ---------------------------------------------------------------------------------------------
def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _png_dpi(data: bytes) -> float:
    i = data.find(b"pHYs")
    ppm_x, _, unit = struct.unpack(">IIB", data[i + 4 : i + 13])
    assert unit == 1  # pixels per metre
    return ppm_x * 0.0254


def _svg_text(data: bytes) -> str:
    """All text drawn in an SVG (text is kept as <text>, one element per line), whitespace-normalized."""
    root = ET.fromstring(data)
    parts = ["".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")]
    return " ".join(" ".join(parts).split())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", GAP_KINDS)
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
        assert "Sources: BLS EP" in text and "Method: " in text  # the short footer
        assert re.search(r'width="468pt"', data.decode()), "6.5 in wide"
    else:
        assert data.startswith(b"%PDF-")
        assert b"CreationDate" not in data  # no timestamps: re-runs are byte-identical


def test_the_full_method_travels_in_the_files_metadata(drawn: dict[str, Any]) -> None:
    from PIL import Image

    chart = drawn["bars"]
    method = chart.data.method_text
    assert method.startswith("Sources: BLS EP") and "sha" not in chart.data.footer
    assert re.search(r"\([0-9a-f]{12}\)", method), "file hashes are in the full method"
    assert "Units: people per year" in method and "Method: demand=entrants, awards=all" in method
    assert "IPEDS completions" in method and "IPEDS completions" not in chart.data.footer
    svg = chart.to_bytes("svg")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == chart.title
    assert root.find(f"{ns}desc").text == method
    assert method in "".join(root.find(f"{ns}metadata").itertext())  # Dublin Core description too
    png = Image.open(io.BytesIO(chart.to_bytes("png")))
    assert png.text["Title"] == chart.title and png.text["Description"] == method
    pdf = chart.to_bytes("pdf")
    assert b"/Subject" in pdf and b"/Title" in pdf


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_is_deterministic(ws: Any, fmt: str) -> None:
    for kind in ("scatter", "pathways", "states"):
        a = ws.chart(kind, region="OH").to_bytes(fmt)
        b = ws.chart(kind, region="OH").to_bytes(fmt)
        assert a == b, kind


@pytest.mark.parametrize(("variant", "sector", "region"), CASES, ids=CASE_IDS)
def test_type_width_and_footer(ws: Any, variant: str, sector: str, region: str) -> None:
    """6.5 in wide, no type under 9 pt, a footer of at most four lines that ends by pointing at the metadata."""
    from gapkit.render.charts import style as st

    c = draw(ws, variant, sector, region)
    assert c.figure.get_figwidth() == pytest.approx(6.5)
    for t in all_texts(c.figure):
        assert t.get_fontsize() >= 9, (t.get_text(), t.get_fontsize())
    (foot,) = [t for t in c.figure.texts if t.get_gid() == "gapkit-footer"]
    lines = foot.get_text().split("\n")
    assert 1 <= len(lines) <= 4, lines
    assert lines[0].startswith("Sources: BLS EP") and "file metadata" in foot.get_text().replace("\u00a0", " ")
    for line in lines:  # each line fits the page
        assert st.text_width_pt(line, st.FOOTER_PT) <= (st.WIDTH_IN - 2 * st.MARGIN_IN) * 72
    assert len(c.data.method_text) > len(foot.get_text())


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


# ---------------------------------------------------------------------------------------------
# labels: no overlaps, no guide over a point, leaders, the right point, the largest points
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("variant", "sector", "region"), CASES, ids=CASE_IDS)
def test_no_text_overlaps_another(ws: Any, variant: str, sector: str, region: str) -> None:
    c = draw(ws, variant, sector, region)
    fig = c.figure
    r = _renderer(fig)
    texts = all_texts(fig)
    assert len(texts) > 10
    boxes = [_box(t, r) for t in texts]
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            assert not _overlap(boxes[i], boxes[j]), (texts[i].get_text(), texts[j].get_text())
    # every text stays on the page
    w, h = fig.get_figwidth() * fig.dpi, fig.get_figheight() * fig.dpi
    for t, b in zip(texts, boxes, strict=True):
        assert b[0] >= -0.5 and b[2] <= w + 0.5 and b[1] >= -0.5 and b[3] <= h + 0.5, t.get_text()


@pytest.mark.parametrize(("variant", "sector", "region"), CASES, ids=CASE_IDS)
def test_guides_cover_no_point(ws: Any, variant: str, sector: str, region: str) -> None:
    """Corner labels, the diagonal's label, the dashed lines' labels, '1 = balanced': none is printed over a point,
    and no point label covers a labelled point."""
    c = draw(ws, variant, sector, region)
    fig = c.figure
    r = _renderer(fig)
    pts = markers(fig)
    guides = [t for ax in fig.axes for t in ax.texts if t.get_gid() in GUIDE_GIDS]
    if variant in {"scatter", "pathways"}:
        assert len(guides) >= 2
    for g in guides:
        b = _box(g, r)
        for _ax, x, y, rad in pts:
            assert _edge_distance(b, x, y, rad) > 0, (g.get_text(), x, y)
    px = fig.dpi / 72
    own = [tuple(t.axes.transData.transform(t.xy)) for t in labels(fig)]
    for t in labels(fig):
        b = _box(t, r)
        for x, y in own:
            rad = next((q[3] for q in pts if abs(q[1] - x) < 0.5 and abs(q[2] - y) < 0.5), 2 * px)
            assert _edge_distance(b, x, y, rad) > 0, (t.get_text(), "covers a labelled point")
    if variant == "sensitivity":  # value labels stay off the balanced line
        ax = fig.axes[0]
        if ax.get_xlim()[0] < 1 < ax.get_xlim()[1]:
            x1 = ax.transData.transform((1, 0))[0]
            for t in ax.texts:
                if t.get_gid() != "gapkit-balanced":
                    b = _box(t, r)
                    assert not (b[0] < x1 < b[2]), t.get_text()


@pytest.mark.parametrize(("variant", "sector", "region"), [c for c in CASES if c[0] in {"scatter", "pathways"}],
                         ids=[i for i, c in zip(CASE_IDS, CASES, strict=True) if c[0] in {"scatter", "pathways"}])
def test_leaders_do_not_cross_and_labels_sit_by_their_point(ws: Any, variant: str, sector: str, region: str) -> None:
    c = draw(ws, variant, sector, region)
    fig = c.figure
    r = _renderer(fig)
    pts = markers(fig)
    labs = labels(fig)
    assert len(labs) >= 5
    segments = []
    boxes = [_box(t, r) for t in labs]
    for t in labs:
        x, y = t.axes.transData.transform(t.xy)
        own_r = next((q[3] for q in pts if abs(q[1] - x) < 0.5 and abs(q[2] - y) < 0.5), None)
        assert own_r is not None, f"{t.get_text()!r} is not next to a drawn point"
        if t.arrow_patch is not None:
            v = t.arrow_patch.get_path().vertices
            seg = (tuple(v[0]), tuple(v[-1]))
            assert math.hypot(seg[1][0] - x, seg[1][1] - y) <= own_r + 4 * fig.dpi / 72, t.get_text()  # ends at its point
            segments.append((t, seg))
        else:  # no leader: its own point is the nearest one
            b = _box(t, r)
            d_own = _edge_distance(b, x, y, own_r)
            nearest = min(_edge_distance(b, qx, qy, qr) for _a, qx, qy, qr in pts
                          if not (abs(qx - x) < 0.5 and abs(qy - y) < 0.5))
            assert d_own <= nearest + 1.0, f"{t.get_text()!r} is nearer another point than its own"
    for i, (ta, sa) in enumerate(segments):
        for tb, sb in segments[i + 1 :]:
            assert not _cross(sa, sb), (ta.get_text(), tb.get_text())
        for tb, b in zip(labs, boxes, strict=True):
            if tb is ta:
                continue
            (x0, y0), (x1, y1) = sa
            for k in range(1, 40):  # the leader does not run through another label
                qx, qy = x0 + (x1 - x0) * k / 40, y0 + (y1 - y0) * k / 40
                assert not (b[0] < qx < b[2] and b[1] < qy < b[3]), (ta.get_text(), tb.get_text())


@pytest.mark.parametrize("sector", SECTORS)
@pytest.mark.parametrize("region", REGIONS)
def test_the_largest_points_are_labelled_with_whole_words(ws: Any, sector: str, region: str) -> None:
    pw = draw(ws, "pathways", sector, region)
    texts = [" ".join(t.get_text().split()) for t in labels(pw.figure)]
    frame = pw.data.frame.sort(["openings", "soc_code"], descending=[True, False])
    for title in frame["title"].head(3).to_list():  # the three largest bubbles
        assert any(t.rstrip("…").startswith(" ".join(title.split()[:3])) for t in texts), (title, texts)
    titles = frame["title"].to_list()
    for t in texts:  # a label shortened to fit is cut between words, never inside one
        if t.endswith("…"):
            head = t[:-1]
            full = next((x for x in titles if x.startswith(head)), None)
            assert full is not None and full[len(head)] in " ,", (t, full)
    sc = draw(ws, "scatter", sector, region)
    texts = [" ".join(t.get_text().split()).rstrip("…") for t in labels(sc.figure)]
    f = sc.data.frame
    for row in (f.sort(["gap", "soc_code"], descending=[True, False]).row(0, named=True),
                f.sort(["supply", "soc_code"], descending=[True, False]).row(0, named=True),  # the top-right point
                f.sort(["openings", "soc_code"], descending=[True, False]).row(0, named=True)):
        assert any(row["title"].startswith(t) for t in texts), (row["title"], texts)


def test_pathways_top_coded_wage_on_the_edge(ws: Any) -> None:
    import polars as pl

    c = draw(ws, "pathways", "transportation", "OH")
    capped = c.data.frame.filter(pl.col("wage_status") == "top-coded")
    assert capped.height >= 1  # airline pilots: OEWS publishes "at least $239,200"
    ax = c.figure.axes[0]
    lo, hi = ax.get_xlim()
    uncapped = c.data.frame.filter(pl.col("wage_status") != "top-coded")["wage_value"]
    assert hi < float(capped["wage_value"].min())  # the axis is not stretched to the top code
    assert hi < float(uncapped.max()) * 1.3
    texts = [t.get_text() for t in labels(c.figure)]
    assert any("top-coded" in t for t in texts), texts
    r = _renderer(c.figure)
    x_edge = ax.transData.transform((hi, 0))[0]
    lab = next(t for t in labels(c.figure) if "top-coded" in t.get_text())
    assert abs(ax.transData.transform(lab.xy)[0] - x_edge) < 1  # drawn on the edge
    assert "▸" in c.data.footer and any(t.get_text() == "▸" for t in ax.texts)
    assert _box(lab, r)[2] <= ax.get_window_extent().x1 + 0.5


def test_programs_mark_ratios_beyond_the_scale(ws: Any) -> None:
    c = draw(ws, "programs", "healthcare", "OH")
    rx = c.figure.axes[1]
    lo, hi = rx.get_xlim()
    rows = c.data.frame.to_dicts()
    off = [r for r in rows if r["ratio"] is not None and (r["ratio"] > hi or r["ratio"] < lo) and r["occupations"] and r["openings"]]
    assert off, "the case has a program beyond the ratio scale"
    arrows = [col for col in rx.collections if col.get_gid() == "off-scale"]
    assert len(arrows) == len(off)
    texts = {t.get_text() for t in rx.texts}
    from gapkit.render.charts import style as st

    for r in off:
        assert (st.fmt_ratio(r["ratio"]) if r["ratio"] > hi else f"1/{st.fmt_ratio(1 / r['ratio'])}") in texts
    names = [t.get_text() for t in c.figure.axes[0].get_yticklabels()]
    for name, row in zip(names, c.data.frame.to_dicts(), strict=True):  # whole words: in full, or cut between words
        full = f"{row['cipcode']} {(row['cip_title'] or '').rstrip('.')}"
        flat = name.replace("/\n", "/").replace("\n", " ")
        assert flat == full or (flat.endswith("…") and full.startswith(flat[:-1]) and full[len(flat) - 1] in " ,"), (name, full)
    assert "51.3801 Registered Nursing/Registered Nurse" in [n.replace("/\n", "/").replace("\n", " ") for n in names]


# ---------------------------------------------------------------------------------------------
# colour: one meaning per colour
# ---------------------------------------------------------------------------------------------
def _rgb(c: Any) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgba

    r, g, b, _ = to_rgba(c)
    return (round(r, 3), round(g, 3), round(b, 3))


def _documented(rgba: Any) -> bool:
    """A fill colour is one of the documented meanings, on the ratio scale, or a neutral (white, text greys)."""
    from matplotlib.colors import to_rgba

    from gapkit.render.charts import style as st

    if to_rgba(rgba)[3] == 0:
        return True
    c = np.array(_rgb(rgba))
    known = [*st.COLOR_MEANINGS, "white", st.INK, st.MUTED, st.GRID, "#333333"]
    if any(np.abs(c - np.array(_rgb(k))).max() < 0.01 for k in known):
        return True
    for a, b in ((st.OVER, st.RATIO_MID), (st.RATIO_MID, st.UNDER)):  # on the ratio scale
        pa, pb = np.array(_rgb(a)), np.array(_rgb(b))
        t = np.clip(np.dot(c - pa, pb - pa) / np.dot(pb - pa, pb - pa), 0, 1)
        if np.abs(pa + t * (pb - pa) - c).max() < 0.01:
            return True
    return False


def _fills(fig: Any) -> list[tuple[str, Any]]:
    """(what, colour) of every filled mark: patches (bars, tiles, swatches), scatter markers, line markers."""
    from matplotlib.collections import PathCollection
    from matplotlib.patches import FancyBboxPatch

    skip = {id(fig.patch)} | {id(ax.patch) for ax in fig.axes}
    for leg in list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        skip.add(id(leg.legendPatch))
    out = []
    from matplotlib.patches import Patch

    for p in fig.findobj(Patch):
        if id(p) in skip or isinstance(p, FancyBboxPatch) or not p.get_fill():
            continue
        out.append((f"patch {p.get_gid() or p.get_label()}", p.get_facecolor()))
    for col in fig.findobj(PathCollection):
        for fc in col.get_facecolors():
            out.append((f"markers {col.get_gid()}", fc))
    from matplotlib.lines import Line2D

    for line in fig.findobj(Line2D):
        if line.get_marker() not in (None, "", "None", " ") and line.get_markerfacecolor() not in ("none", "None"):
            out.append((f"line marker {line.get_label()}", line.get_markerfacecolor()))
    return out


@pytest.mark.parametrize(("variant", "sector", "region"), CASES, ids=CASE_IDS)
def test_every_colour_is_a_documented_meaning(ws: Any, variant: str, sector: str, region: str) -> None:
    c = draw(ws, variant, sector, region)
    for what, colour in _fills(c.figure):
        assert _documented(colour), (what, _rgb(colour))


def test_one_meaning_per_colour(ws: Any) -> None:
    """The colour of 'more openings than completers' is the one constant style.UNDER in every chart, and blue
    (style.OVER) means 'more completers' wherever it appears; openings and completers have colours of their own."""
    from gapkit.render.charts import style as st
    from gapkit.render.charts.pathways_charts import ALIGN_COLORS

    assert len(set(map(_rgb, st.COLOR_MEANINGS))) == len(st.COLOR_MEANINGS)  # no colour listed twice
    assert _rgb(st.OPENINGS) not in {_rgb(st.OVER), _rgb(st.UNDER)} and _rgb(st.COMPLETERS) not in {_rgb(st.OVER), _rgb(st.UNDER)}
    assert ALIGN_COLORS["undersupplied (expand)"] == st.UNDER and ALIGN_COLORS["oversupplied"] == st.OVER
    assert _rgb(st.ratio_color(10)) == _rgb(st.ratio_color(50)) == _rgb(st.UNDER)
    assert _rgb(st.ratio_color(0.1)) == _rgb(st.OVER)
    assert np.allclose(_rgb(st.ratio_color(1)), _rgb(st.RATIO_MID), atol=0.005)
    under, over = _rgb(st.UNDER), _rgb(st.OVER)
    for sector in SECTORS:
        # bars: openings charcoal, completers orange, never the blue of "oversupplied"
        bars = draw(ws, "bars-group", sector, "US").figure
        fills = {_rgb(p.get_facecolor()) for p in bars.axes[0].patches}
        assert fills == {_rgb(st.OPENINGS), _rgb(st.COMPLETERS)}
        # scatter: below the diagonal vermillion, above blue
        sc = draw(ws, "scatter", sector, "US").figure
        for col in sc.axes[0].collections:
            if col.get_gid() in {"points-under", "points-over"}:
                assert {_rgb(fc) for fc in col.get_facecolors()} == {under if col.get_gid() == "points-under" else over}
        # states: the tile with the largest ratio is the scale's vermillion end when it is 10 or more
        stt = draw(ws, "states", sector, "US")
        rows = {r["region"]: r for r in stt.data.frame.to_dicts() if r["ratio"] is not None}
        tiles = {p.get_gid(): p for p in stt.figure.axes[0].patches if (p.get_gid() or "").startswith("tile-")}
        for abbr, r in rows.items():
            assert _rgb(tiles[f"tile-{abbr}"].get_facecolor()) == _rgb(st.ratio_color(r["ratio"]))
            if r["ratio"] >= 10:
                assert _rgb(tiles[f"tile-{abbr}"].get_facecolor()) == under
        # sensitivity: markers right of 1 are vermillion, left of 1 blue
        sens = draw(ws, "sensitivity", sector, "US").figure
        for line in sens.axes[0].lines:
            if len(line.get_xdata()) and line.get_markerfacecolor() not in ("none", "None") and line.get_marker() != "None":
                x = float(line.get_xdata()[0])
                if x > 1:
                    assert _rgb(line.get_markerfacecolor()) == under
                elif x < 1:
                    assert _rgb(line.get_markerfacecolor()) == over
        # programs: bars coloured by alignment
        pr = draw(ws, "programs", sector, "OH")
        for p, row in zip(pr.figure.axes[0].patches, pr.data.frame.to_dicts(), strict=True):
            assert _rgb(p.get_facecolor()) == _rgb(ALIGN_COLORS[row["alignment"]])
        # pathways: a bubble with no completers or a ratio of 10 or more is vermillion
        pw = draw(ws, "pathways", sector, "OH").figure
        bubbles = [col for col in pw.axes[0].collections if col.get_gid() in {"bubble", "bubble-none"}]
        assert all(_rgb(col.get_facecolors()[0]) == under for col in bubbles if col.get_gid() == "bubble-none")
        # trend: completers only, in the completers hue
        tr = draw(ws, "trend", sector, "US").figure
        assert {_rgb(p.get_facecolor()) for p in tr.axes[0].patches} <= {_rgb(x) for x in st.COMPLETER_TINTS}


def test_states_scale_is_fixed_and_the_same_for_every_sector(ws: Any) -> None:
    from gapkit.render.charts import style as st

    scales = []
    for sector in SECTORS:
        fig = draw(ws, "states", sector, "US").figure
        cax = fig.axes[1]
        scales.append((cax.get_xlim(), [t.get_text() for t in cax.get_xticklabels()]))
        lo, hi = cax.get_xlim()
        assert lo == pytest.approx(1 / st.RATIO_LIMIT) and hi == pytest.approx(st.RATIO_LIMIT)
    assert scales[0] == scales[1]
    assert scales[0][1][0] == "≤1/10" and scales[0][1][-1] == "≥10"  # clipped beyond, and marked so
    frame = draw(ws, "states", "transportation", "US").data.frame
    assert frame.height == 51  # one tile per state and DC, missing ones included
    texts = {t.get_text() for t in draw(ws, "states", "transportation", "US").figure.axes[0].texts}
    for abbr in ("CA", "TX", "NY", "DC", "AK", "HI"):
        assert abbr in texts
    assert {"No completers", "No state projections"} <= texts


def test_states_chart_highlights_the_region_asked_for(ws: Any, ingested: Path, tmp_path: Path) -> None:
    c = draw(ws, "states", "healthcare", "OH")
    assert c.data.meta["highlight"] == "OH" and c.data.frame.height == 51  # every state is still drawn
    assert c.data.frame.filter(c.data.frame["highlight"])["region"].to_list() == ["OH"]
    (ring,) = [p for p in c.figure.axes[0].patches if p.get_gid() == "gapkit-highlight"]
    oh = next(p for p in c.figure.axes[0].patches if p.get_gid() == "tile-OH")
    assert ring.get_bbox().contains(*oh.get_bbox().get_points().mean(axis=0))
    assert "Ohio (outlined) has" in c.title
    assert not any(p.get_gid() == "gapkit-highlight" for p in draw(ws, "states", "healthcare", "US").figure.axes[0].patches)
    out = tmp_path / "oh.svg"
    proc = run_cli("chart", "states", "--sector", "transportation", "--region", "OH", "--out", str(out), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    svg = out.read_text()
    assert 'id="gapkit-highlight"' in svg and "Ohio (outlined) has" in _svg_text(out.read_bytes())


# ---------------------------------------------------------------------------------------------
# titles: each claim checked against the rows the chart draws
# ---------------------------------------------------------------------------------------------
def _n(text: str) -> float:
    return float(text.replace(",", ""))


def _ratio_text(r: float) -> str:
    return f"{r:,.0f}" if r >= 10 else f"{r:.1f}"


def _check_bars(ws: Any, c: Any, sector: str, region: str) -> None:
    import polars as pl

    from gapkit.analysis.results import published

    title, rows = c.title, c.data.frame.to_dicts()
    by = c.data.meta["by"]
    table = published(ws.gap(sector, region=region, by=by).table)  # the engine's own rows (default demand: entrants)
    table = table.with_columns(pl.col("entrants").alias("openings"))
    ratio = float(table["openings"].sum()) / float(table["supply"].sum())
    m = re.match(r"^(.+?) has ([\d.,]+) (entrant openings for every completer|completers for every entrant opening)"
                 r"(?: \(range ([\d.,]+)–([\d.,]+)\))?; (.+)$", title)
    assert m, title
    said = ratio if m.group(3).startswith("entrant") else 1 / ratio
    assert m.group(2) == (f"{said:,.0f}" if said >= 10 else f"{said:.1f}"), (title, ratio)
    head = ws.headline(sector, region=region)
    if m.group(4):  # the range the method allows: demand measures x supply choices
        assert _ratio_text(head.low) == m.group(4) and _ratio_text(head.high) == m.group(5), (title, head)
        assert head.low <= ratio * 1.0001 and ratio <= head.high * 1.0001
    detail = m.group(6)
    short = [r for r in rows if r["ratio"] is None or r["ratio"] > 1]
    if by == "occupation":
        assert len(rows) == min(12, table.height)
        top = max(rows, key=lambda r: r["gap"])
        dm = re.match(r"the largest gap is for (.+) \(([\d,]+) a year\)$", detail)
        assert dm and dm.group(1).lower() == top["label"].lower() and _n(dm.group(2)) == round(top["gap"]), (detail, top)
        assert top["gap"] == max(table["gap"].to_list())
    elif (dm := re.match(r"(.+) is tightest at ([\d.,]+)$", detail)):
        assert len(short) == len(rows)
        named = [r for r in rows if r["label"].lower() == dm.group(1).lower()]
        assert named and _ratio_text(named[0]["ratio"]) == dm.group(2)
        solid = [r for r in rows if r["ratio"] is not None and "small numbers" not in r["flags"]
                 and r["label"] != "Other occupations"]
        assert named[0]["ratio"] == max(r["ratio"] for r in solid)
    elif (dm := re.match(r"(\d+) of (\d+) .+ have more (?:entrant )?openings than completers$", detail)):
        assert int(dm.group(1)) == len(short) and int(dm.group(2)) == len(rows)
        assert table.filter(pl.col("ratio").is_null() | (pl.col("ratio") > 1)).height == len(short)
    elif re.match(r"completers outnumber (entrant )?openings in every", detail):
        assert not short
    else:
        assert detail.startswith("every ") and len(short) == len(rows), detail


def _check_states(c: Any) -> None:
    import polars as pl

    title = c.title
    have = c.data.frame.filter(pl.col("openings").is_not_null())
    short = have.filter(pl.col("ratio").is_null() | (pl.col("ratio") > 1)).height
    if title.startswith("Every state"):
        assert short == have.height
    else:
        m = re.match(r"^(\d+) of (\d+) states", title)
        assert m and int(m.group(1)) == short and int(m.group(2)) == have.height, title
    fin = have.filter(pl.col("ratio").is_not_null()).sort("ratio")
    m = re.search(r"the ratio runs from ([\d.,]+) in ([A-Za-z. ]+)\*? to ([\d.,]+) in ([A-Za-z. ]+?)\*?(;|$)", title)
    assert m, title
    from gapkit.render.charts.data import region_name

    lo, hi = fin.row(0, named=True), fin.row(-1, named=True)
    assert (m.group(1), m.group(2)) == (_ratio_text(lo["ratio"]), region_name(lo["region"]))
    assert (m.group(3), m.group(4)) == (_ratio_text(hi["ratio"]), region_name(hi["region"]))
    if c.data.meta["highlight"]:
        row = c.data.frame.filter(pl.col("region") == c.data.meta["highlight"]).row(0, named=True)
        assert title.endswith(f"(outlined) has {_ratio_text(row['ratio'])}")


def _check_scatter(c: Any) -> None:
    f = c.data.frame
    top = f.sort(["gap", "soc_code"], descending=[True, False]).row(0, named=True)
    m = re.match(r"^(.+) have the largest gap(?: in [A-Za-z ]+)?: ([\d,]+) entrant openings a year against (no|[\d,]+) completers$",
                 c.title)
    assert m and m.group(1) == top["title"], (c.title, top["title"])
    assert _n(m.group(2)) == round(top["openings"])
    assert (m.group(3) == "no" and top["supply"] <= 0) or _n(m.group(3)) == round(top["supply"])


def _check_sensitivity(c: Any) -> None:
    import polars as pl

    f = c.data.frame
    ratios = [r for r in f["ratio"].to_list() if r is not None]
    m = re.match(r"^Method choices move the .+ ratio(?: in [A-Za-z ]+)? from ([\d.,]+) to ([\d.,]+) entrant openings per "
                 r"completer; the chosen method gives ([\d.,]+)$", c.title)
    assert m, c.title
    assert m.group(1) == _ratio_text(min(ratios)) and m.group(2) == _ratio_text(max(ratios))
    chosen = f.filter(pl.col("chosen"))
    assert chosen.height == 1 and m.group(3) == _ratio_text(chosen["ratio"][0])


def _check_trend(c: Any) -> None:
    import polars as pl

    counted = c.data.frame.filter(pl.col("kind") == "counted").group_by("year").agg(pl.col("completions").sum()).sort("year")
    total = {int(y): round(v) for y, v in counted.iter_rows()}
    years = sorted(total)
    title = c.title
    pairs = [(_n(v), int(y)) for v, y in re.findall(r"([\d,]+) in (\d{4})", title)]
    assert pairs, title
    for v, y in pairs:  # every number is the drawn total of its year
        assert total[y] == v, (title, total)
    # each verb is true of the step it describes
    for verb, (a, ya), (b, yb) in zip(re.findall(r"\b(rose|fell)\b", title), pairs, pairs[1:], strict=False):
        assert (b > a) if verb == "rose" else (b < a), (title, verb, ya, yb)
    if "every year" in title:
        steps = [total[years[i]] - total[years[i - 1]] for i in range(1, len(years))]
        assert all(s > 0 for s in steps) or all(s < 0 for s in steps), title
    if (m := re.search(r"not steadily: it (rose|fell) in ([\d, and]+)$", title)):
        listed = [int(y) for y in re.findall(r"\d{4}", m.group(2))]
        against = [y for i, y in enumerate(years[1:], 1) if (total[y] - total[years[i - 1]]) * (1 if m.group(1) == "rose" else -1) > 0]
        assert listed == against, (title, total)
    if ", then " not in title and "not steadily" not in title and len(years) > 1:  # a monotone claim: the series is monotone
        steps = [total[years[i]] - total[years[i - 1]] for i in range(1, len(years))]
        assert all(s >= 0 for s in steps) or all(s <= 0 for s in steps), (title, total)
    if (m := re.search(r"\(([+-]\d+)%\)", title)):
        assert int(m.group(1)) == round((total[years[-1]] - total[years[0]]) / total[years[0]] * 100)


def _check_pathways(c: Any) -> None:
    import polars as pl

    f = c.data.frame
    m = re.match(r"^[A-Za-z ]+: (\d+) of the (\d+) occupations with the most openings are (.+) \(above the \$(\d+)k wage "
                 r"line", c.title)
    assert m, c.title
    assert int(m.group(2)) == f.height and int(m.group(1)) == f.filter(pl.col("tier") == m.group(3)).height
    assert int(m.group(4)) == round(c.data.meta["wage_threshold"] / 1000)
    assert m.group(3) == c.data.meta["top_tier"]


def _check_programs(c: Any) -> None:
    f = c.data.frame
    counts = {k: f.filter(f["alignment"] == k).height for k in ("undersupplied (expand)", "oversupplied", "weakly aligned")}
    title = c.title
    m = re.search(r"of the (\d+) largest programs", title)
    assert m and int(m.group(1)) == f.height, title
    said = {"undersupplied (expand)": r"(\d+) feeds? undersupplied", "oversupplied": r"(\d+) feeds? oversupplied",
            "weakly aligned": r"(\d+) (?:is|are) weakly aligned"}
    for k, pat in said.items():
        mm = re.search(pat, title)
        assert (int(mm.group(1)) if mm else 0) == counts[k], (title, k, counts)


@pytest.mark.parametrize(("variant", "sector", "region"), CASES, ids=CASE_IDS)
def test_title_is_true_of_the_data(ws: Any, variant: str, sector: str, region: str) -> None:
    c = draw(ws, variant, sector, region)
    kind = VARIANTS[variant][0]
    if kind == "bars":
        _check_bars(ws, c, sector, region)
    else:
        {"states": _check_states, "scatter": _check_scatter, "sensitivity": _check_sensitivity, "trend": _check_trend,
         "pathways": _check_pathways, "programs": _check_programs}[kind](c)
    assert ("Ohio" in c.data.subtitle) == (region == "OH" and kind != "states")


def test_trend_titles_follow_the_series() -> None:
    """What a trend title says for series that rise, fall, turn once, or turn more often."""
    from gapkit.render.charts.data import trend_words

    ys = [2021, 2022, 2023, 2024]
    assert trend_words(ys, [33862.3, 35892.5, 36950.9, 38099.7]) == " rose every year from 33,862 in 2021 to 38,100 in 2024 (+13%)"
    assert trend_words(ys, [1080.95, 1180.93, 1157.29, 1123.21]) == \
        " rose from 1,081 in 2021 to 1,181 in 2022, then fell to 1,123 in 2024"  # never "grew 4%"
    assert trend_words(ys, [25627.3, 25285.7, 25321.7, 25121.8]) == \
        " fell from 25,627 in 2021 to 25,122 in 2024 (-2%), not steadily: it rose in 2023"
    assert trend_words(ys, [10, 12, 9, 10]).startswith(" was 10 in both 2021 and 2024")
    assert trend_words([2024], [5]) == ": 5 in 2024 (only one IPEDS year is ingested)"


# ---------------------------------------------------------------------------------------------
# the rest: trend numbers, region, errors, CLI
# ---------------------------------------------------------------------------------------------
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
    assert "in Ohio" in c.title and "Ohio" in c.data.subtitle and "the 12 of" in c.data.subtitle
    assert (tmp_path / "occ.png").stat().st_size > 5_000


def test_bad_chart_requests_are_clear_errors(ws: Any, tmp_path: Path) -> None:
    from gapkit.errors import UsageError

    with pytest.raises(UsageError, match="Unknown chart kind"):
        ws.chart("pie")
    with pytest.raises(UsageError, match="extension"):
        ws.chart("bars", out=tmp_path / "x.gif")
    with pytest.raises(UsageError, match="--by group, subsector, occupation, metro, county or wda"):
        ws.chart("bars", by="state")
    with pytest.raises(UsageError, match="one state's areas side by side"):
        ws.chart("bars", by="metro", region="US")
    with pytest.raises(UsageError, match="one region"):
        ws.chart("scatter", region="all")


def test_bars_put_a_states_metros_side_by_side(ws: Any, tmp_path: Path) -> None:
    """Issue 12: a chart of a state's metros side by side; the title's claim (lowest and highest ratio) is true of
    the bars it draws, and the legend says the openings are area estimates of entrant openings."""
    c = ws.chart("bars", sector="transportation", by="metro", region="OH", out=tmp_path / "metros.svg")
    rows = c.data.frame.to_dicts()
    assert len(rows) >= 10 and all(r["label"].endswith(("OH", "OH-KY-IN", "WV-OH", "WV-KY-OH")) for r in rows)
    assert "Columbus, OH" in [r["label"] for r in rows]
    assert rows == sorted(rows, key=lambda r: -r["openings"])
    solid = [r for r in rows if r["ratio"] is not None and "small numbers" not in r["flags"]]
    lo, hi = min(solid, key=lambda r: r["ratio"]), max(solid, key=lambda r: r["ratio"])
    assert c.title.startswith("Transportation in Ohio's metro areas")
    assert f"in {lo['label']}" in c.title and f"in {hi['label']}" in c.title
    text = _svg_text((tmp_path / "metros.svg").read_bytes())
    assert "Annual entrant openings (area estimate)" in text


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

"""Labels for points (scatter occupations, pathway bubbles) and for guides, placed without overlaps.

Everything is worked out in display space (pixels of the figure as drawn) with the text's real extent
from the renderer. For each point, in priority order, positions around its marker at growing
distances in 16 directions are tried. A position is refused when the label would

* leave the plot (``bounds``), overlap an earlier label or a guide text (``fixed``),
* cover a labelled point's marker (its own included),
* need a leader line that crosses an earlier leader, runs through a label or guide text, or when an
  earlier leader would run through it.

Among the admissible ones the position covering the fewest other markers, crossing the fewest guide
lines, nearest its point, wins. A label whose nearest marker is not its own gets a leader line to
its point, so no label reads as belonging to the wrong point. A point with no admissible position
stays unlabelled rather than overprinted.

``free_spot`` chooses, among candidate positions, one where a guide text (a corner label, the label of
a diagonal) covers no marker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patheffects import withStroke
from matplotlib.text import Text

from gapkit.render.charts import style as st

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in display pixels
Segment = tuple[tuple[float, float], tuple[float, float]]

LINESPACING = 1.1
GUIDE_BOX = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"}  # a guide text interrupts grid lines
LEADER_AT_PT = 7.0  # labels farther than this from their marker get a leader line


@dataclass
class Target:
    """A point to label: where it is (data coordinates of ``axes``), its marker radius, the text, and other
    layouts of the same text (wider and shorter, narrower and taller) to try where the first does not fit."""

    axes: Axes
    x: float
    y: float
    r_pt: float
    text: str
    alternatives: tuple[str, ...] = ()


def layouts(text: str, widths_in: tuple[float, ...] = (1.75, 2.6, 1.3), max_lines: int = 3) -> tuple[str, tuple[str, ...]]:
    """A label's text wrapped to each width (words never cut): the first, and the other distinct layouts that do
    not shorten the text more than the first does."""
    first = st.shorten(text, widths_in[0], st.ANNOT_PT, max_lines)
    out: list[str] = [first]
    for w in widths_in[1:]:
        t = st.shorten(text, w, st.ANNOT_PT, max_lines + (1 if w < widths_in[0] else 0))
        if t not in out and len(t.replace("\n", " ")) >= len(first.replace("\n", " ")):
            out.append(t)
    return out[0], tuple(out[1:])


@dataclass
class Placed:
    target: Target
    tx: float  # text anchor, display pixels
    ty: float
    ha: str
    va: str
    box: Box
    leader: bool
    text: str = ""  # the layout chosen (the target's text or one of its alternatives)


def renderer(fig: Figure) -> Any:
    return fig.canvas.get_renderer()  # type: ignore[attr-defined]


def text_box(fig: Figure, t: Text) -> Box:
    bb = t.get_window_extent(renderer=renderer(fig))
    return (bb.x0, bb.y0, bb.x1, bb.y1)


def measure(fig: Figure, text: str, size: float = st.ANNOT_PT, linespacing: float = LINESPACING, **kw: Any) -> tuple[float, float]:
    """(width, height) in display pixels of a text as the renderer draws it."""
    t = fig.text(0, 0, text, fontsize=size, linespacing=linespacing, **kw)
    bb = t.get_window_extent(renderer=renderer(fig))
    t.remove()
    return bb.width, bb.height


def overlap(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def segments_cross(a: Segment, b: Segment) -> bool:
    def orient(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    (p1, p2), (p3, p4) = a, b
    return (orient(p1, p2, p3) * orient(p1, p2, p4) < 0) and (orient(p3, p4, p1) * orient(p3, p4, p2) < 0)


def segment_hits_box(s: Segment, box: Box) -> bool:
    """Does the segment pass through the box (Liang-Barsky clipping)?"""
    (x0, y0), (x1, y1) = s
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def box_circle_distance(box: Box, cx: float, cy: float, r: float) -> float:
    """Distance from a box to a circle's edge (negative: they overlap)."""
    dx = max(box[0] - cx, 0.0, cx - box[2])
    dy = max(box[1] - cy, 0.0, cy - box[3])
    return math.hypot(dx, dy) - r


def relpos(ha: str, va: str) -> tuple[float, float]:
    """Where on its text a leader starts: the corner or edge that faces the point (the text's anchor)."""
    return ({"left": 0.0, "center": 0.5, "right": 1.0}[ha], {"bottom": 0.0, "center": 0.5, "top": 1.0}[va])


def leader_of(p: Placed) -> Segment:
    """The leader as drawn: from the text's anchor (the corner facing the point) to the point."""
    return ((p.tx, p.ty), tuple(p.target.axes.transData.transform((p.target.x, p.target.y))))  # type: ignore[return-value]


def _anchor_box(tx: float, ty: float, w: float, h: float, ha: str, va: str) -> Box:
    x0 = tx if ha == "left" else (tx - w if ha == "right" else tx - w / 2)
    y0 = ty if va == "bottom" else (ty - h if va == "top" else ty - h / 2)
    return (x0, y0, x0 + w, y0 + h)


def _inside(box: Box, bounds: list[Box]) -> bool:
    return any(box[0] >= b[0] and box[2] <= b[2] and box[1] >= b[1] and box[3] <= b[3] for b in bounds)


DIRECTIONS = [0, 180, 90, 270, 45, 135, 315, 225, 22.5, 157.5, 337.5, 202.5, 67.5, 112.5, 292.5, 247.5,
              11.25, 168.75, 348.75, 191.25, 33.75, 146.25, 326.25, 213.75]
STEPS_PT = (0, 6, 14, 24, 36, 52, 72, 96, 124, 156, 190, 230)


def place(fig: Figure, targets: list[Target], markers: np.ndarray, fixed: list[Box], bounds: list[Box],
          guide_lines: list[Segment] | None = None) -> list[Placed]:
    """Positions for the labels of ``targets``; ``markers`` is every marker drawn, rows of (x, y, radius) in display
    pixels. Labels are placed one after the other, so the order matters: the priority order and three geometric
    orders (right to left, top to bottom, left to right) are tried and the one that labels the most points at the
    least cost wins, a label's cost weighing more the higher its priority (the first target's label weighs three
    times the last's); a label the priority order cannot place is also tried first. A target with no admissible
    place is left out."""
    anchors = [t.axes.transData.transform((t.x, t.y)) for t in targets]
    idx = list(range(len(targets)))
    orders = [idx, sorted(idx, key=lambda i: (-anchors[i][0], i)), sorted(idx, key=lambda i: (-anchors[i][1], i)),
              sorted(idx, key=lambda i: (anchors[i][0], i))]
    n = max(len(targets) - 1, 1)
    weight = {id(t): 1 + 2 * (n - k) / n for k, t in enumerate(targets)}
    best: tuple[float, list[Placed]] | None = None
    tried: set[tuple[int, ...]] = set()
    k = 0
    while k < len(orders) and k < 12:
        order = orders[k]
        k += 1
        if tuple(order) in tried:
            continue
        tried.add(tuple(order))
        placed, costs = _place_once(fig, [targets[i] for i in order], markers, fixed, bounds, guide_lines)
        missing = [i for i in idx if all(q.target is not targets[i] for q in placed)]
        score = sum(c * weight[id(q.target)] for q, c in zip(placed, costs, strict=True))
        score += sum(100.0 * weight[id(targets[i])] for i in missing)
        if best is None or score < best[0] - 1e-9:
            best = (score, placed)
        if k == 1:  # a label the priority order could not place goes first in another try
            orders += [[i] + [j for j in idx if j != i] for i in missing]
    assert best is not None
    rank = {id(t): r for r, t in enumerate(targets)}
    return sorted(best[1], key=lambda p: rank[id(p.target)])


def _place_once(fig: Figure, targets: list[Target], markers: np.ndarray, fixed: list[Box], bounds: list[Box],
                guide_lines: list[Segment] | None = None) -> tuple[list[Placed], list[float]]:
    px = fig.dpi / 72
    costs: list[float] = []
    pad = 1.5 * px
    guide_lines = guide_lines or []
    placed: list[Placed] = []
    blocked: list[Box] = list(fixed)
    leaders: list[Segment] = []
    anchors = [(*t.axes.transData.transform((t.x, t.y)), t.r_pt * px) for t in targets]
    mk = markers if len(markers) else np.zeros((0, 3))
    for target, (ax_, ay_, ar) in zip(targets, anchors, strict=True):
        sizes = [(k, text, *measure(fig, text)) for k, text in enumerate((target.text, *target.alternatives))]
        best: tuple[float, Placed] | None = None
        for step in STEPS_PT:
            d = ar + (3 + step) * px
            for (k, text, w, h), ang in ((sz, a) for a in DIRECTIONS for sz in sizes):
                c, s = math.cos(math.radians(ang)), math.sin(math.radians(ang))
                tx, ty = ax_ + d * c, ay_ + d * s
                ha = "left" if c > 0.38 else ("right" if c < -0.38 else "center")
                va = "bottom" if s > 0.38 else ("top" if s < -0.38 else "center")
                box = _anchor_box(tx, ty, w, h, ha, va)
                padded = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
                if not _inside(padded, bounds) or any(overlap(padded, b) for b in blocked):
                    continue
                if any(box_circle_distance(padded, qx, qy, qr) < 0 for qx, qy, qr in anchors):
                    continue
                # the nearest marker must be its own (clearly), or a leader line says which point it is
                own = box_circle_distance(box, ax_, ay_, ar)
                dist = (np.hypot(np.maximum.reduce([box[0] - mk[:, 0], np.zeros(len(mk)), mk[:, 0] - box[2]]),
                                 np.maximum.reduce([box[1] - mk[:, 1], np.zeros(len(mk)), mk[:, 1] - box[3]])) - mk[:, 2]
                        if len(mk) else np.zeros(0))
                others_nearer = bool(((dist < own + 1.5 * px) & ~((np.abs(mk[:, 0] - ax_) < 0.5) & (np.abs(mk[:, 1] - ay_) < 0.5))).any()) \
                    if len(mk) else False
                leader = own > LEADER_AT_PT * px or others_nearer
                if any(segment_hits_box(seg, padded) for seg in leaders):
                    continue
                leader_cost = 0.0
                if leader:
                    seg = ((tx, ty), (ax_, ay_))
                    if any(segments_cross(seg, other) for other in leaders):
                        continue
                    if any(segment_hits_box(seg, b) for b in blocked):
                        continue
                    if _markers_near_segment(_visible(seg, ar), np.array(anchors), ax_, ay_, 1 * px):
                        continue
                    leader_cost = 1.0 + sum(1.0 for g in guide_lines if segments_cross(seg, g))
                    leader_cost += 0.5 * _markers_near_segment(_visible(seg, ar), mk, ax_, ay_)
                covered = int((dist < 0).sum()) if len(mk) else 0
                crossings = sum(1 for g in guide_lines if segment_hits_box(g, padded))
                cost = covered * 3 + crossings * 2 + (d - ar) / (6 * px) + leader_cost + 0.5 * k
                if best is None or cost < best[0]:
                    best = (cost, Placed(target, tx, ty, ha, va, box, leader, text))
            if best is not None and best[0] < (3 + step) / 6 + 0.01:  # clean: nothing covered, no leader
                break
        if best is None:
            continue
        costs.append(best[0])
        p = best[1]
        placed.append(p)
        blocked.append((p.box[0] - pad, p.box[1] - pad, p.box[2] + pad, p.box[3] + pad))
        if p.leader:
            leaders.append(leader_of(p))
    return placed, costs


def _visible(seg: Segment, r: float) -> Segment:
    """The part of a leader that is drawn: it stops at the edge of its point's marker (radius ``r``)."""
    (x0, y0), (x1, y1) = seg
    length = math.hypot(x1 - x0, y1 - y0)
    if length <= r:
        return ((x0, y0), (x0, y0))
    f = (length - r) / length
    return ((x0, y0), (x0 + (x1 - x0) * f, y0 + (y1 - y0) * f))


def _markers_near_segment(seg: Segment, mk: np.ndarray, ox: float, oy: float, margin: float = 0.0) -> int:
    """How many markers (other than the one at ``ox, oy``) a leader line runs over (or passes within ``margin`` of)."""
    if not len(mk):
        return 0
    (x0, y0), (x1, y1) = seg
    dx, dy = x1 - x0, y1 - y0
    ll = dx * dx + dy * dy or 1.0
    t = np.clip(((mk[:, 0] - x0) * dx + (mk[:, 1] - y0) * dy) / ll, 0, 1)
    d = np.hypot(mk[:, 0] - (x0 + t * dx), mk[:, 1] - (y0 + t * dy))
    # its own marker, and any marker its own point sits inside (a small bubble on a big one), do not count
    own = np.hypot(mk[:, 0] - ox, mk[:, 1] - oy) < np.maximum(mk[:, 2], 0.5)
    return int(((d < mk[:, 2] + margin) & ~own).sum())


def draw(fig: Figure, placed: list[Placed]) -> None:
    """The labels as annotations (figure points, so SVG/PDF at 72 dpi and PNG at 300 agree)."""
    px = fig.dpi / 72
    for p in placed:
        t = p.target
        t.axes.annotate(
            p.text or t.text, (t.x, t.y), xycoords="data", xytext=(p.tx / px, p.ty / px), textcoords="figure points", ha=p.ha,
            va=p.va, fontsize=st.ANNOT_PT, color=st.INK, linespacing=LINESPACING, annotation_clip=False, zorder=6,
            path_effects=[withStroke(linewidth=2.5, foreground="white")], gid="gapkit-label",
            arrowprops={"arrowstyle": "-", "color": st.MUTED, "linewidth": 0.6, "shrinkA": 0, "relpos": relpos(p.ha, p.va),
                        "shrinkB": t.r_pt + 0.5} if p.leader else None)


def label_points(fig: Figure, targets: list[Target], markers: np.ndarray, fixed: list[Box], bounds: list[Box],
                 guide_lines: list[Segment] | None = None) -> list[Placed]:
    placed = place(fig, targets, markers, fixed, bounds, guide_lines)
    draw(fig, placed)
    return placed


def free_spot(fig: Figure, ax: Axes, text: str, candidates: list[tuple[float, float, str, str]], markers: np.ndarray,
              avoid: list[Box] | None = None, avoid_lines: list[Segment] | None = None, **kw: Any) -> Text:
    """A guide text at the first candidate (axes fractions x, y, ha, va) inside the plot covering no marker, no
    ``avoid`` box and no ``avoid_lines`` segment (leader lines); failing that, the one covering the fewest markers."""
    px = fig.dpi / 72
    best: tuple[int, int] | None = None
    frame = text_box(fig, ax.patch)
    for i, (x, y, ha, va) in enumerate(candidates):
        t = ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, **kw)
        box = text_box(fig, t)
        t.remove()
        padded = (box[0] - 2 * px, box[1] - 2 * px, box[2] + 2 * px, box[3] + 2 * px)
        n = 0 if _inside(box, [frame]) else 10_000  # inside the plot
        n += sum(1 for qx, qy, qr in markers if box_circle_distance(padded, qx, qy, qr) < 0)
        n += 1000 * sum(1 for b in avoid or [] if overlap(padded, b))
        n += 1000 * sum(1 for sg in avoid_lines or [] if segment_hits_box(sg, padded))
        if best is None or n < best[0]:
            best = (n, i)
        if n == 0:
            break
    assert best is not None
    x, y, ha, va = candidates[best[1]]
    return ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, **kw)


def markers_px(ax: Axes) -> np.ndarray:
    """Every scatter marker of ``ax`` as rows (x, y, radius) in display pixels."""
    from matplotlib.collections import PathCollection

    fig = ax.figure
    px = fig.dpi / 72  # type: ignore[union-attr]
    rows: list[tuple[float, float, float]] = []
    for c in ax.collections:
        if not isinstance(c, PathCollection):
            continue
        offs = c.get_offset_transform().transform(c.get_offsets())
        sizes = c.get_sizes()
        for k, (x, y) in enumerate(offs):
            s = sizes[k % len(sizes)] if len(sizes) else 36.0
            rows.append((float(x), float(y), math.sqrt(s) / 2 * px))
    return np.array(rows) if rows else np.zeros((0, 3))


__all__ = ["Placed", "Target", "draw", "free_spot", "label_points", "leader_of", "markers_px", "measure", "overlap", "place",
           "segment_hits_box", "segments_cross", "text_box"]

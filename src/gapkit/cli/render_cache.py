"""Charts and briefs through the result cache: a re-run on unchanged data writes the stored bytes
without importing polars or matplotlib and without drawing anything again.

The key is the same as for tables (the question, the data manifest, the shipped definitions, the
user's files and gapkit's code), plus the chart kind and format. A brief is stored whole — Markdown,
HTML, charts and, once printed, its PDF — so a re-run on unchanged data writes the same bytes again
(its ``Generated at`` line says when the brief was built from this data) without starting Chromium.
"""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING, Any

from gapkit.cli.commands import DataDir, cached

if TYPE_CHECKING:
    from gapkit.render.brief import Brief


def _files(options: dict[str, Any]) -> list[str]:
    return [str(options[k]) for k in ("sector_file", "extra_supply", "rules", "region_file") if options.get(k)]


def chart_bytes(kind: str, sector: str | None, options: dict[str, Any], fmt: str, data_dir: DataDir) -> tuple[str, bytes]:
    """(title, file bytes) of chart ``kind`` drawn as ``fmt`` (png, svg, pdf)."""

    def draw() -> dict[str, Any]:
        from gapkit.workspace import Workspace

        c = Workspace(data_dir).chart(kind, sector, **options)
        return {"title": c.title, "bytes": base64.b64encode(c.to_bytes(fmt)).decode()}

    from gapkit.cache import text_payload

    key = {"cmd": "chart", "kind": kind, "sector": sector, "options": options, "format": fmt}
    hit = cached(data_dir, key, _files(options), draw, check=lambda v: text_payload(v) and {"title", "bytes"} <= set(v))
    try:
        return hit["title"], base64.b64decode(hit["bytes"], validate=True)
    except (ValueError, TypeError):  # damaged entry: draw again (and store it again)
        hit = cached(data_dir, key, _files(options), draw, use=False)
        return hit["title"], base64.b64decode(hit["bytes"])


def _brief_key(sector: str | None, options: dict[str, Any]) -> dict[str, Any]:
    return {"cmd": "report", "sector": sector, "options": options}


def brief(sector: str | None, options: dict[str, Any], data_dir: DataDir, pdf: bool | None = None) -> Brief:
    """The brief for these options: built (printing its PDF as ``pdf`` asks: see :meth:`Brief.write`), or the cached
    one (with its PDF when one was printed)."""
    from gapkit.render.brief import Brief

    made: list[Brief] = []

    def build() -> dict[str, Any]:
        from gapkit.workspace import Workspace

        b = Workspace(data_dir).brief(sector, pdf=pdf, **options)
        made.append(b)
        return b.to_json()

    from gapkit.cache import text_payload

    key = _brief_key(sector, options)
    hit = cached(data_dir, key, _files(options), build, check=text_payload)
    if made:
        return made[0]
    try:
        return Brief.from_json(hit)
    except (KeyError, ValueError, TypeError):  # an entry of another shape: build again (and store it again)
        cached(data_dir, key, _files(options), build, use=False)
        return made[0]


def write_brief(sector: str | None, options: dict[str, Any], data_dir: DataDir, out: str | os.PathLike[str],
                pdf: bool | None) -> tuple[Brief, bool]:
    """Write the brief for these options into ``out`` (``pdf``: as :meth:`Brief.write`); returns it and whether
    brief.pdf was written. A PDF printed now is kept with the cached brief, so a re-run needs no Chromium."""
    b = brief(sector, options, data_dir, pdf)
    printed = b.pdf is None
    written = b.write(out, pdf=pdf)
    if printed and b.pdf is not None:
        cached(data_dir, _brief_key(sector, options), _files(options), b.to_json, use=False)
    return b, any(p.name == "brief.pdf" for p in written)

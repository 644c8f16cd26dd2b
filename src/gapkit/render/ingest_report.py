"""Terminal output for `gapkit ingest` and `gapkit sources`."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from gapkit.render.tables import json_text, rich_console
from gapkit.render.tables import terminal_text as t
from gapkit.store import Store

if TYPE_CHECKING:
    from gapkit.ingestion.pipeline import IngestReport


def print_ingest_report(report: IngestReport) -> None:
    # file names, URLs and notes come from servers and folders gapkit does not control: printed as text
    out = rich_console()
    err = rich_console(stderr=True)
    table = Table(title="gapkit ingest", show_lines=False)
    for col in ("source", "file", "status", "tables (rows)"):
        table.add_column(col)
    shown = 0
    counts: dict[str, int] = {}
    for r in report.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    # Many files of one source and status (e.g. 291 matrix exports) are folded into one line.
    folded: dict[tuple[str, str], list] = {}
    for r in report.results:
        folded.setdefault((r.source, r.status), []).append(r)
    for (source, status), rs in folded.items():
        if status == "failed" or len(rs) <= 6:
            for r in rs:
                tables = ", ".join(f"{d} {v} ({n:,})" for d, v, n in r.tables)
                table.add_row(t(source), t(r.file), status, t(tables))
                shown += 1
        else:
            rows = sum(n for r in rs for _, _, n in r.tables)
            vintages = sorted({f"{d} {v}" for r in rs for d, v, _ in r.tables})
            table.add_row(t(source), f"{len(rs)} files", status, t(", ".join(vintages[:4]) + (f" ({rows:,} rows)" if rows else "")))
    if report.results:
        out.print(table)
    if report.written:
        out.print(t("Tables written: " + ", ".join(f"{k} ({v:,} rows)" for k, v in sorted(report.written.items()))))
    notes = [n for r in report.results for n in r.notes]
    for n in notes[:40]:
        err.print(Text.assemble(("note:", "yellow"), " " + t(n)))
    if report.unrecognized:
        err.print(f"Skipped {len(report.unrecognized)} file(s) gapkit does not recognize:")
        for u in report.unrecognized[:25]:
            err.print(f"  {t(u)}")
        if len(report.unrecognized) > 25:
            err.print(f"  ... and {len(report.unrecognized) - 25} more")
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    out.print(f"Summary: {summary or 'nothing to do'}.")
    for r in report.failed:
        print(f"error: {' '.join(t(r.error).split())}", file=sys.stderr)


def _age(iso: str) -> str:
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return "?"
    secs = (datetime.now(UTC) - then).total_seconds()
    if secs < 120:
        return f"{int(secs)}s"
    if secs < 7200:
        return f"{int(secs // 60)}m"
    if secs < 172800:
        return f"{int(secs // 3600)}h"
    return f"{int(secs // 86400)}d"


def sources_records(data_dir: str | os.PathLike[str] | None) -> list[dict]:
    store = Store(data_dir)
    out = []
    for e in store.entries():
        out.append({
            "source": e.source,
            "dataset": e.dataset,
            "vintage": e.vintage,
            "rows": e.rows,
            "sha256": e.sha256,
            "files": len({i.get("sha256") or u for u, i in e.inputs.items()}),
            "retrieved": e.retrieved,
            "updated": e.updated,
            "origins": e.origins[:5] + ([f"... {len(e.origins) - 5} more"] if len(e.origins) > 5 else []),
            "path": e.path,
        })
    return out


def print_sources(data_dir: str | os.PathLike[str] | None, fmt: str) -> None:
    records = sources_records(data_dir)
    if fmt == "json":
        print(json_text(records, indent=1))
        return
    console = rich_console()
    if not records:
        console.print(f"Nothing ingested yet in {t(Store(data_dir).root)}. Run `gapkit ingest` (or `gapkit ingest --from ../shared`).")
        return
    tab = Table(title=f"Ingested data in {t(Store(data_dir).root)}")
    for c in ("source", "dataset", "vintage", "rows", "files", "retrieved", "age", "sha256"):
        tab.add_column(c, justify="right" if c in {"rows", "files"} else "left")
    for r in records:
        tab.add_row(t(r["source"]), t(r["dataset"]), t(r["vintage"]), f"{r['rows']:,}", str(r["files"]), t(r["retrieved"]),
                    _age(r["retrieved"]), t(r["sha256"][:12]))
    console.print(tab)

"""Outputs reduced to what must not change: a digest of the normalized text and a readable summary.

The outputs themselves are not committed (they hold figures taken from the agency files, which stay in
../shared); the digest pins them and the summary (row count, column sums) says what moved when it breaks.
Normalization drops what legitimately differs between runs: the brief's ``Generated at`` line,
retrieval and update times, numbers beyond one decimal (parallel sums may differ in the last bits), and
the order of rows and of the parts of list cells (ties on a sort key may come in either order).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z|\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?( UTC)?")
NUMBER = re.compile(r"^-?[\d,]*\.?\d+$")
VOLATILE_KEYS = {"retrieved", "updated", "generated_at", "parsed", "timings"}


def _num(text: str) -> float | None:
    t = text.strip()
    if not NUMBER.match(t):
        return None
    try:
        return float(t.replace(",", ""))
    except ValueError:
        return None


def _cell(text: str) -> str:
    v = _num(text)
    if v is not None:
        return f"{v:.1f}"
    # lists in a cell ("bachelor's 1540; associate's 450; ...") may order ties either way
    return "; ".join(sorted(TIME.sub("<time>", text).split("; ")))


def _csv_summary(text: str) -> tuple[str, dict[str, Any]]:
    body = [ln for ln in text.splitlines() if not ln.startswith("#")]
    tail = [TIME.sub("<time>", ln) for ln in text.splitlines() if ln.startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(body))))
    header, data = rows[0], rows[1:]
    # Rows are compared as a set: rows that tie on the sort key may come in either order.
    norm = "\n".join([",".join(header), *sorted(",".join(_cell(c) for c in r) for r in data), *tail])
    sums: dict[str, float] = {}
    for i, col in enumerate(header):
        cells = [r[i] for r in data if i < len(r) and r[i] != ""]
        vals = [_num(c) for c in cells]
        if cells and all(v is not None for v in vals):
            sums[col] = round(sum(v for v in vals if v is not None), 2)
    first = {header[0]: [r[0] for r in data[:5]]} if header else {}
    return norm, {"rows": len(data), "columns": header, "sums": sums, "first": first}


def _json_clean(o: Any) -> Any:
    if isinstance(o, dict):
        return {k: _json_clean(v) for k, v in sorted(o.items()) if k not in VOLATILE_KEYS}
    if isinstance(o, list):
        return [_json_clean(v) for v in o]
    if isinstance(o, float):
        return round(o, 1)
    if isinstance(o, str):
        return TIME.sub("<time>", o)
    return o


def summarize(path: Path) -> dict[str, Any]:
    """{"sha256": digest of the normalized output, "summary": {...}} for a CSV, JSON or brief folder."""
    if path.is_dir():
        text = (path / "brief.md").read_text(encoding="utf-8")
        lines = [TIME.sub("<time>", ln) for ln in text.splitlines() if not ln.lstrip("*").startswith("Generated at")]
        norm = "\n".join(lines)
        summary: dict[str, Any] = {"lines": len(lines), "headings": [ln for ln in lines if ln.startswith("#")][:40]}
    elif path.suffix == ".json":
        obj = _json_clean(json.loads(path.read_text(encoding="utf-8")))
        norm = json.dumps(obj, sort_keys=True)
        summary = {"keys": sorted(obj) if isinstance(obj, dict) else []}
    else:
        text = path.read_text(encoding="utf-8")
        side = path.with_name(path.name + ".meta.json")
        if side.is_file():  # a CSV is plain data; its method line and notes are pinned from the sidecar beside it
            meta = json.loads(side.read_text(encoding="utf-8"))
            text += "".join(f"# {line}\n" for line in [meta["method_line"], *(f"note: {n}" for n in meta["notes"])])
        norm, summary = _csv_summary(text)
    return {"sha256": hashlib.sha256(norm.encode()).hexdigest(), "summary": summary, "_text": norm}

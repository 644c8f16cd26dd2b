"""Render result tables as terminal tables, CSV, Markdown, JSON or Parquet, always with the method."""

from __future__ import annotations

import io
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapkit.errors import UsageError
from gapkit.store import atomic_write_bytes

if TYPE_CHECKING:
    import polars as pl

FORMATS = ("table", "csv", "json", "markdown", "parquet")
INT_COLS = {"openings", "supply", "gap", "supply_extra", "completions", "unallocated"}


def check_out_path(out: str | os.PathLike[str] | None, fmt: str) -> Path | None:
    if out is None:
        if fmt == "parquet":
            raise UsageError("--format parquet writes a binary file: give --out PATH.parquet.")
        return None
    p = Path(out).expanduser()
    if p.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file name, e.g. {Path(out) / ('gap.' + ('md' if fmt == 'markdown' else fmt if fmt != 'table' else 'txt'))}.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--out {out}: the folder {parent} does not exist; create it first.")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--out {out}: the folder {parent} is not writable.")
    return p


def _fmt_cell(col: str, v: Any) -> str:
    if v is None:
        return "no supply" if col == "ratio" else ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if col == "ratio":
            return f"{v:,.2f}"
        if col in INT_COLS or abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:,.2f}"
    return str(v)


def render(df: pl.DataFrame, fmt: str, *, method_line: str, metadata: dict[str, Any], title: str = "",
           out: str | os.PathLike[str] | None = None, notes: list[str] | None = None) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    path = check_out_path(out, fmt)
    notes = notes or []
    if fmt == "table":
        text = _table_text(df, title, method_line, notes, width=None if path is None else 200)
        _emit(text.encode(), path)
    elif fmt == "csv":
        buf = io.StringIO()
        df.write_csv(buf)
        buf.write(f"# {method_line}\n")
        for n in notes:
            buf.write(f"# note: {n}\n")
        _emit(buf.getvalue().encode(), path)
    elif fmt == "markdown":
        _emit(markdown_table(df, title, method_line, notes).encode(), path)
    elif fmt == "json":
        payload = {"metadata": {**metadata, "method_line": method_line, "notes": notes}, "rows": df.to_dicts()}
        _emit((json.dumps(payload, indent=1, default=_json_default) + "\n").encode(), path)
    else:
        import pyarrow.parquet as pq

        table = df.to_arrow()
        meta = dict(table.schema.metadata or {})
        meta[b"gapkit.method"] = json.dumps({**metadata, "method_line": method_line, "notes": notes}, default=_json_default).encode()
        buf2 = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(meta), buf2)
        assert path is not None
        atomic_write_bytes(path, buf2.getvalue())


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and math.isnan(o):
        return None
    return str(o)


def _emit(data: bytes, path: Path | None) -> None:
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        atomic_write_bytes(path, data)
        print(f"wrote {path}", file=sys.stderr)


def _table_text(df: pl.DataFrame, title: str, method_line: str, notes: list[str], width: int | None) -> str:
    """A plain aligned text table (no rich import: this is on every interactive command's path)."""
    import shutil
    import textwrap

    width = width or (shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 160)
    cols = df.columns
    numeric = [df.schema[c].is_numeric() for c in cols]
    cells = [[_fmt_cell(c, v) for c, v in zip(cols, row, strict=True)] for row in df.iter_rows()]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    # shrink the widest text column(s) until the table fits the terminal
    while sum(widths) + 2 * (len(widths) - 1) > width:
        i = max((i for i in range(len(cols)) if not numeric[i]), key=lambda i: widths[i], default=None)
        if i is None or widths[i] <= 12:
            break
        widths[i] -= 1

    def line(values: list[str]) -> str:
        out = []
        for v, w, num in zip(values, widths, numeric, strict=True):
            v = v if len(v) <= w else v[: w - 1] + "…"
            out.append(v.rjust(w) if num else v.ljust(w))
        return "  ".join(out).rstrip()

    text = []
    if title:
        text.append(title)
    text.append(line(list(cols)))
    text.append("  ".join("─" * w for w in widths))
    text.extend(line(r) for r in cells)
    text.append("")
    text.extend(textwrap.wrap(method_line, width=min(width, 120)))
    for n in notes:
        text.extend(textwrap.wrap("note: " + n, width=min(width, 120)))
    return "\n".join(text) + "\n"


def markdown_table(df: pl.DataFrame, title: str, method_line: str, notes: list[str]) -> str:
    lines = []
    if title:
        lines += [f"**{title}**", ""]
    lines.append("| " + " | ".join(df.columns) + " |")
    lines.append("|" + "|".join("---:" if df.schema[c].is_numeric() else "---" for c in df.columns) + "|")
    for row in df.iter_rows():
        lines.append("| " + " | ".join(_fmt_cell(c, v).replace("|", "\\|") for c, v in zip(df.columns, row, strict=True)) + " |")
    lines += ["", f"*{method_line}*"]
    lines += [f"*Note: {n}*" for n in notes]
    return "\n".join(lines) + "\n"

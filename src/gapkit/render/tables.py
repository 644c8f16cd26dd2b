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


class Rows:
    """A rendered-ready table (column names, which are numeric, row tuples): no polars needed."""

    def __init__(self, columns: list[str], numeric: list[bool], rows: list[tuple[Any, ...]]) -> None:
        self.columns, self.numeric, self.rows = columns, numeric, rows

    @classmethod
    def from_frame(cls, df: pl.DataFrame) -> Rows:
        return cls(list(df.columns), [df.schema[c].is_numeric() for c in df.columns], [tuple(r) for r in df.iter_rows()])

    def to_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "numeric": self.numeric, "rows": [list(r) for r in self.rows]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Rows:
        return cls(d["columns"], d["numeric"], [tuple(r) for r in d["rows"]])

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]
INT_COLS = {"openings", "supply", "gap", "supply_extra", "completions", "unallocated"}
# Whole-number counts printed with thousands separators (codes, years and IDs print as they are).
COUNT_PREFIXES = ("completions", "openings", "institutions", "occupations", "priority_occupations")


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
    store = _store_holding(p)
    if store is not None:
        raise UsageError(f"--out {out} is inside gapkit's data folder {store} (its tables, raw files, cache or manifest); "
                         "writing there would corrupt the ingested data. Choose a file outside it, e.g. in a reports/ folder.")
    return p


def _store_holding(p: Path) -> Path | None:
    """The gapkit data folder whose managed files (processed/, raw/, cache/, manifest, lock) ``p`` would overwrite."""
    target = p.resolve()
    for d in target.parents:
        if (d / "manifest.json").is_file() and ((d / "processed").is_dir() or (d / "raw").is_dir()):
            managed = (d / "processed", d / "raw", d / "cache")
            if target in (d / "manifest.json", d / ".gapkit.lock") or any(m == target or m in target.parents for m in managed):
                return d
    return None


def _fmt_cell(col: str, v: Any) -> str:
    if v is None:
        return ""  # a missing ratio says why in ratio_note
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if col == "ratio":
            return f"{v:,.2f}"
        if col in INT_COLS or abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool) and col.startswith(COUNT_PREFIXES):
        return f"{v:,}"
    return str(v)


def render(df: pl.DataFrame | Rows, fmt: str, *, method_line: str, metadata: dict[str, Any], title: str = "",
           out: str | os.PathLike[str] | None = None, notes: list[str] | None = None) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    path = check_out_path(out, fmt)
    notes = notes or []
    if fmt == "parquet":
        import polars as pl
        import pyarrow.parquet as pq

        frame = df if isinstance(df, pl.DataFrame) else pl.DataFrame(df.dicts(), infer_schema_length=None)
        table = frame.to_arrow()
        meta = dict(table.schema.metadata or {})
        meta[b"gapkit.method"] = json.dumps({**metadata, "method_line": method_line, "notes": notes}, default=_json_default).encode()
        buf2 = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(meta), buf2)
        assert path is not None
        write_output(path, buf2.getvalue())
        return
    rows = df if isinstance(df, Rows) else Rows.from_frame(df)
    if fmt == "table":
        text = _table_text(rows, title, method_line, notes, width=None if path is None else 200)
    elif fmt == "csv":
        import csv

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(rows.columns)
        w.writerows(["" if v is None else v for v in r] for r in rows.rows)
        buf.write(f"# {method_line}\n")
        for n in notes:
            buf.write(f"# note: {n}\n")
        text = buf.getvalue()
    elif fmt == "markdown":
        text = markdown_table(rows, title, method_line, notes)
    else:
        payload = {"metadata": {**metadata, "method_line": method_line, "notes": notes}, "rows": rows.dicts()}
        text = json.dumps(payload, indent=1, default=_json_default) + "\n"
    _emit(text.encode(), path)


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and math.isnan(o):
        return None
    return str(o)


def write_output(path: Path, data: bytes, label: str | None = None) -> Path:
    """Write a file the user asked for (``--out``): atomically, with a document's usual permissions
    (rw-r--r-- less the umask), and a clear error naming ``label`` (default ``--out PATH``) when it cannot."""
    try:
        atomic_write_bytes(path, data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(path, 0o666 & ~mask)
    except OSError as exc:
        raise UsageError(f"{label or f'--out {path}'}: cannot write there ({exc.strerror or exc}); choose a writable folder.") from None
    return path


def _emit(data: bytes, path: Path | None) -> None:
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_output(path, data)
        print(f"wrote {path}", file=sys.stderr)


def _table_text(df: Rows, title: str, method_line: str, notes: list[str], width: int | None) -> str:
    """A plain aligned text table (no rich import: this is on every interactive command's path)."""
    import shutil
    import textwrap

    width = width or (shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 160)
    cols = df.columns
    numeric = df.numeric
    cells = [[_fmt_cell(c, v) for c, v in zip(cols, row, strict=True)] for row in df.rows]
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


def markdown_table(df: Rows | pl.DataFrame, title: str, method_line: str, notes: list[str]) -> str:
    rows = df if isinstance(df, Rows) else Rows.from_frame(df)
    lines = []
    if title:
        lines += [f"**{title}**", ""]
    lines.append("| " + " | ".join(rows.columns) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in rows.numeric) + "|")
    for row in rows.rows:
        lines.append("| " + " | ".join(_fmt_cell(c, v).replace("|", "\\|") for c, v in zip(rows.columns, row, strict=True)) + " |")
    lines += ["", f"*{method_line}*"]
    lines += [f"*Note: {n}*" for n in notes]
    return "\n".join(lines) + "\n"

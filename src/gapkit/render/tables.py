"""Render result tables as terminal tables, CSV, Markdown, JSON or Parquet, always with the method.

Text in gapkit's output comes from files and servers gapkit does not control (a user's sector or rules
file, an agency's titles). It is never rendered raw; each output kind is neutralized in one place here:

- terminal: :func:`terminal_text` drops ANSI/OSC escape sequences and other control characters, and
  :func:`rich_console` prints without rich markup, emoji codes or highlighting (``[link=...]`` stays text);
- Markdown: :func:`md_text` escapes raw HTML and link/image brackets (``[x](javascript:...)`` stays text);
- CSV: :func:`csv_cell` prefixes text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
  ``@``, tab, carriage return: OWASP's list) with an apostrophe; numbers stay numbers;
- JSON: :func:`json_text` writes ``null`` for infinities and NaN (which are not JSON) and escapes the rest.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapkit.errors import GapkitError, UsageError
from gapkit.store import atomic_write_bytes, check_target

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


# -- neutralizing text from files and servers ----------------------------------------------------------------
# ANSI CSI sequences, OSC (title, hyperlink) and other escape strings, lone escapes, C0/C1 controls, and the
# Unicode bidirectional overrides that make text display in another order than it reads.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b.?"
                      r"|\x9b[0-?]*[ -/]*[@-~]?|\x9d[^\x07\x9c]*[\x07\x9c]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NUMBER = re.compile(r"[+-]?(\d[\d,]*)?(\.\d+)?([eE][+-]?\d+)?")
# "<" starting raw HTML: a closing tag, a comment or declaration, a tag with attributes or left open, or any
# element a browser knows (script, img, a, svg, iframe ...). A bare unknown tag such as gapkit's own "C<year>_A"
# can neither run nor link anything and is left as written.
_HTML_START = re.compile(r"<(?=[/!?]|[A-Za-z][A-Za-z0-9-]*(?:[^A-Za-z0-9>-]|$)|(?P<name>[A-Za-z][A-Za-z0-9-]*)>)")
_ELEMENT_NAMES = """
a abbr acronym address applet area article aside audio b base basefont bdi bdo bgsound big blink blockquote body br
button canvas caption center cite code col colgroup data datalist dd del details dfn dialog dir div dl dt em embed
fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe image
img input ins isindex kbd keygen label legend li link listing main map mark marquee math menu menuitem meta meter
multicol nav nextid nobr noembed noframes noscript object ol optgroup option output p param picture plaintext pre
progress q rb rp rt rtc ruby s samp script search section select slot small source spacer span strike strong style
sub summary sup svg table tbody td template textarea tfoot th thead time title tr track tt u ul var video wbr xmp
"""
HTML_ELEMENTS = frozenset(_ELEMENT_NAMES.split())


def _html_lt(m: re.Match[str]) -> str:
    name = m.group("name")
    return "<" if name is not None and "-" not in name and name.lower() not in HTML_ELEMENTS else "&lt;"


def terminal_text(text: object, *, newlines: bool = False) -> str:
    """``text`` safe for a terminal: escape sequences and control characters removed (tabs and, unless
    ``newlines``, line breaks become spaces)."""
    t = _ESCAPES.sub("", str(text))
    t = t.replace("\t", " ")
    if not newlines:
        t = t.replace("\r\n", " ").replace("\n", " ")
    return _CONTROLS.sub("", t)


def md_text(text: object) -> str:
    """``text`` safe inside Markdown: no raw HTML (``<`` opening a tag becomes ``&lt;``), no links or images
    (``[`` and ``]`` are escaped), no control characters. Text without those characters is unchanged."""
    t = terminal_text(text)
    if "<" in t:
        t = _HTML_START.sub(_html_lt, t)
    if "[" in t or "]" in t:
        t = t.replace("[", "\\[").replace("]", "\\]")
    return t


def csv_cell(v: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting with =, +, -, @, tab or CR gets a leading apostrophe
    (OWASP's advice), unless the whole text is a plain number; numbers and empty cells are left alone. Escape
    sequences and control characters are dropped (a CSV printed to a terminal is terminal output)."""
    if not isinstance(v, str) or not v:
        return v
    if v[0] in "=+-@\t\r" and not _NUMBER.fullmatch(v):
        v = "'" + v
    return terminal_text(v, newlines=True) if (_CONTROLS.search(v) or "\x1b" in v) else v


def json_safe(o: Any) -> Any:
    """``o`` with every non-finite float (inf, -inf, NaN: not JSON) replaced by None."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: json_safe(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [json_safe(v) for v in o]
    return o


def json_text(payload: Any, **kw: Any) -> str:
    """JSON that is JSON: infinities and NaN written as null (never ``Infinity``), anything else as text."""
    return json.dumps(json_safe(payload), allow_nan=False, default=_json_default, **kw)


def rich_console(**kw: Any) -> Any:
    """A rich Console that treats every string as plain text: no markup (``[/]x`` cannot crash it and
    ``[link=...]`` is not a hyperlink), no emoji codes, no highlighting. Strings from files still go through
    :func:`terminal_text` (rich keeps escape characters)."""
    from rich.console import Console

    return Console(markup=False, emoji=False, highlight=False, **kw)


# -- output paths ------------------------------------------------------------------------------------------
NAME_MAX = 255
PATH_MAX = 4096


def check_output_path(out: str | os.PathLike[str], option: str = "--out") -> Path:
    """Checks every output path shares: not too long, not a symbolic link, not a pipe, device or socket
    (those would be replaced by a regular file, or block). Returns the path (``~`` expanded)."""
    label = f"{option} {out}"
    p = Path(out).expanduser()
    long = next((part for part in p.parts if len(os.fsencode(part)) > NAME_MAX), None)
    if long is not None:
        raise UsageError(f"{label}: the name {long[:40]}… is {len(os.fsencode(long))} bytes long; file and folder names "
                         f"can be at most {NAME_MAX} bytes. Choose a shorter name.")
    if len(os.fsencode(str(p))) >= PATH_MAX:
        raise UsageError(f"{label[:80]}…: the path is {len(os.fsencode(str(p))):,} bytes long; paths can be at most "
                         f"{PATH_MAX - 1:,} bytes. Choose a shorter path.")
    check_target(p, label)
    return p


def check_out_path(out: str | os.PathLike[str] | None, fmt: str) -> Path | None:
    if out is None:
        if fmt == "parquet":
            raise UsageError("--format parquet writes a binary file: give --out PATH.parquet.")
        return None
    p = check_output_path(out)
    try:
        if p.is_dir():
            raise UsageError(f"--out {out} is a folder; give a file name, e.g. {Path(out) / ('gap.' + ('md' if fmt == 'markdown' else fmt if fmt != 'table' else 'txt'))}.")
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise UsageError(f"--out {out}: the folder {parent} does not exist; create it first.")
        if not os.access(parent, os.W_OK):
            raise UsageError(f"--out {out}: the folder {parent} is not writable.")
        store = _store_holding(p)
    except (OSError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a symbolic link loop"
        raise UsageError(f"--out {out}: the path cannot be used ({reason}); choose another.") from None
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
        if not math.isfinite(v):
            return ""
        if col == "ratio":
            return f"{v:,.2f}"
        if col in INT_COLS or abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool) and col.startswith(COUNT_PREFIXES):
        return f"{v:,}"
    return terminal_text(v)


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
        meta[b"gapkit.method"] = json_text({**metadata, "method_line": method_line, "notes": notes}).encode()
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
        w.writerow([csv_cell(c) for c in rows.columns])
        w.writerows(["" if v is None or (isinstance(v, float) and not math.isfinite(v)) else csv_cell(v) for v in r]
                    for r in rows.rows)
        buf.write(f"# {terminal_text(method_line)}\n")  # one line each: text from a file cannot start a row
        for n in notes:
            buf.write(f"# note: {terminal_text(n)}\n")
        text = buf.getvalue()
    elif fmt == "markdown":
        text = markdown_table(rows, title, method_line, notes)
    else:
        payload = {"metadata": {**metadata, "method_line": method_line, "notes": notes}, "rows": rows.dicts()}
        text = json_text(payload, indent=1) + "\n"
    _emit(text.encode(), path)


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return str(o)


def write_output(path: Path, data: bytes, label: str | None = None, *, within: Path | None = None) -> Path:
    """Write a file the user asked for (``--out``): atomically, never through a link or into a pipe or device,
    with a document's usual permissions (rw-rw-rw- less the umask); an OS error (no space, a read-only disk, a
    name too long) is one clear error naming ``label`` (default ``--out PATH``). With ``within`` (a brief's folder),
    a link anywhere between that folder and ``path`` is refused too."""
    label = label or f"--out {path}"
    try:
        atomic_write_bytes(path, data, within=within, label=label, mode=0o666)
    except OSError as exc:
        raise UsageError(f"{label}: cannot write there ({exc.strerror or exc}); choose a writable folder "
                         "with free space. Nothing was written.") from None
    return path


def write_out(data: bytes, path: Path, option: str = "--out") -> None:
    """:func:`write_output` with the option's name in its errors."""
    write_output(path, data, f"{option} {path}")


def _emit(data: bytes, path: Path | None) -> None:
    if path is None:
        write_stdout(data)
    else:
        write_output(path, data)
        print(f"wrote {terminal_text(path)}", file=sys.stderr)


class OutputError(GapkitError):
    """Standard output cannot be written (closed, or its disk is full)."""

    exit_code = 1


def write_stdout(data: bytes) -> None:
    """Write a command's result to standard output; a closed output or a full disk is one clear error."""
    out = sys.stdout
    if out is None or getattr(out, "gapkit_closed", False):
        raise OutputError("Standard output is closed, so gapkit has nowhere to print the result. Run the command with its "
                          "output going to a terminal, a file or a pipe, or give --out FILE.")
    try:
        out.buffer.write(data)
        out.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"The result could not be written to standard output ({exc.strerror or exc}); if it goes "
                          "to a file, free some space on its disk, or give --out FILE elsewhere.") from None


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
        text.append(terminal_text(title))
    text.append(line([terminal_text(c) for c in cols]))
    text.append("  ".join("─" * w for w in widths))
    text.extend(line(r) for r in cells)
    text.append("")
    text.extend(textwrap.wrap(terminal_text(method_line), width=min(width, 120)))
    for n in notes:
        text.extend(textwrap.wrap("note: " + terminal_text(n), width=min(width, 120)))
    return "\n".join(text) + "\n"


def markdown_table(df: Rows | pl.DataFrame, title: str, method_line: str, notes: list[str]) -> str:
    rows = df if isinstance(df, Rows) else Rows.from_frame(df)
    lines = []
    if title:
        lines += [f"**{md_text(title)}**", ""]
    lines.append("| " + " | ".join(md_text(c) for c in rows.columns) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in rows.numeric) + "|")
    for row in rows.rows:
        lines.append("| " + " | ".join(md_text(_fmt_cell(c, v)).replace("|", "\\|") for c, v in zip(rows.columns, row, strict=True)) + " |")
    lines += ["", f"*{md_text(method_line)}*"]
    lines += [f"*Note: {md_text(n)}*" for n in notes]
    return "\n".join(lines) + "\n"

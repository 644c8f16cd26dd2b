"""Render result tables as terminal tables, CSV, Markdown, JSON, Parquet or Excel, always with the method.

``--out FILE`` picks the format from the file's extension (:data:`EXTENSIONS`) unless ``--format`` is given;
a ``--format`` that contradicts the extension, or an unknown extension, is refused (:func:`output_format`).
CSV is plain data (a header and rows, nothing else, so pandas and Excel open it as is); its provenance and
method go to a ``FILE.csv.meta.json`` sidecar beside it, the same record Parquet keeps in its schema
metadata, JSON in its ``metadata`` key and an Excel workbook in its "Sources and method" sheet.

The terminal table wraps long text within its columns, names constant columns once in its title, says a
flag present on every row once in a note, and ends with a total row where the rows add up (:class:`Total`).

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapkit.errors import GapkitError, UsageError
from gapkit.store import atomic_write_bytes, check_target

if TYPE_CHECKING:
    import polars as pl

FORMATS = ("table", "csv", "json", "markdown", "parquet", "xlsx")
# --out's extension -> the format it writes (when --format is not given)
EXTENSIONS = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".md": "markdown", ".markdown": "markdown",
              ".xlsx": "xlsx", ".txt": "table"}
FORMAT_WORDS = {"csv": "CSV data", "json": "JSON", "parquet": "Parquet", "markdown": "Markdown", "xlsx": "Excel workbook",
                "table": "the terminal table as text"}
BINARY = ("parquet", "xlsx")


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
INT_COLS = {"openings", "entrants", "growth", "supply", "gap", "supply_extra", "completions", "unallocated"}
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


def _choices(formats: tuple[str, ...]) -> str:
    exts = [f"{ext} ({FORMAT_WORDS[f]})" for ext, f in EXTENSIONS.items() if f in formats and ext != ".markdown"]
    return ", ".join(exts[:-1]) + " or " + exts[-1] if len(exts) > 1 else exts[0]


def extension_of(fmt: str) -> str:
    """The usual extension of a format (``markdown`` -> ``.md``, ``table`` -> ``.txt``)."""
    return next(ext for ext, f in EXTENSIONS.items() if f == fmt)


def output_format(fmt: str | None, out: str | os.PathLike[str] | None, formats: tuple[str, ...] = FORMATS) -> str:
    """The format to write: ``--format`` if given, else the one ``--out``'s extension names, else ``table``.

    Refused with one paragraph listing the choices: an unknown format or extension, a format this command
    does not write, a ``--format`` that contradicts the extension, a binary format without ``--out``, and an
    ``--out`` without extension and without ``--format``."""
    if fmt is not None and fmt not in formats:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(formats)}.")
    if out is None:
        fmt = fmt or "table"
        if fmt in BINARY:
            raise UsageError(f"--format {fmt} writes a binary file: give --out PATH{extension_of(fmt)}.")
        return fmt
    try:
        folder = Path(out).expanduser().is_dir()
    except OSError:
        folder = False
    if folder:
        raise UsageError(f"--out {out} is a folder; give a file name, e.g. {Path(out) / ('gap' + extension_of(fmt or 'csv'))}.")
    suffix = Path(out).suffix.lower()
    named = EXTENSIONS.get(suffix)
    if not suffix and fmt is not None:
        return fmt  # the user said which format; a file name without extension is theirs to choose
    if named is None or named not in formats:
        what = "has no extension" if not suffix else (
            f"ends in {suffix}, which gapkit does not write" if named is None else
            f"ends in {suffix} ({FORMAT_WORDS[named]}), which this command does not write")
        raise UsageError(f"--out {out} {what}. gapkit picks the format from the extension: {_choices(formats)}. "
                         "Give the file one of these extensions.")
    if fmt is not None and fmt != named:
        raise UsageError(f"--out {out} ends in {suffix}, which writes {FORMAT_WORDS[named]}, but --format {fmt} asks for "
                         f"{FORMAT_WORDS[fmt]}. Drop --format (the extension picks the format) or give the file the "
                         f"{extension_of(fmt)} extension. Extensions: {_choices(formats)}.")
    return named


def check_out_path(out: str | os.PathLike[str] | None, fmt: str | None) -> Path | None:
    fmt = output_format(fmt, out)
    if out is None:
        return None
    p = check_output_path(out)
    try:
        if p.is_dir():
            raise UsageError(f"--out {out} is a folder; give a file name, e.g. {Path(out) / ('gap' + extension_of(fmt))}.")
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


def export_metadata(metadata: dict[str, Any], method_line: str, notes: list[str], title: str = "") -> dict[str, Any]:
    """The record every file export carries (Parquet schema metadata, the CSV sidecar, JSON's ``metadata``,
    the workbook's "Sources and method" sheet): the result's method record, its method line and notes."""
    return {**({"title": title} if title and "title" not in metadata else {}), **metadata, "method_line": method_line, "notes": notes}


def sidecar_path(path: Path) -> Path:
    """Where a CSV's provenance goes: ``FILE.csv.meta.json`` beside it (for a name near the 255-byte limit, the
    name shortened so that the sidecar can exist)."""
    name = path.name
    while len(os.fsencode(name + ".meta.json")) > NAME_MAX:
        name = name[:-1]
    return path.with_name(name + ".meta.json")


def render(df: pl.DataFrame | Rows, fmt: str | None, *, method_line: str, metadata: dict[str, Any], title: str = "",
           out: str | os.PathLike[str] | None = None, notes: list[str] | None = None, total: Total | None = None,
           sheet: str = "data") -> None:
    """Write a result table as ``fmt`` (None: from ``out``'s extension, else the terminal table) to ``out`` or
    standard output. ``total`` adds a total row to the terminal and Markdown tables (never to data files);
    ``sheet`` names the data sheet of a workbook."""
    fmt = output_format(fmt, out)
    path = check_out_path(out, fmt)
    notes = notes or []
    record = export_metadata(metadata, method_line, notes, title)
    if fmt == "parquet":
        import polars as pl
        import pyarrow.parquet as pq

        frame = df if isinstance(df, pl.DataFrame) else pl.DataFrame(df.dicts(), infer_schema_length=None)
        table = frame.to_arrow()
        meta = dict(table.schema.metadata or {})
        meta[b"gapkit.method"] = json_text(record).encode()
        buf2 = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(meta), buf2)
        assert path is not None
        write_output(path, buf2.getvalue())
        print(f"wrote {terminal_text(path)} (the method in its metadata, key gapkit.method)", file=sys.stderr)
        return
    rows = df if isinstance(df, Rows) else Rows.from_frame(df)
    if fmt == "xlsx":
        assert path is not None
        write_output(path, xlsx_bytes(rows, record, sheet=sheet))
        print(f"wrote {terminal_text(path)}", file=sys.stderr)
        return
    if fmt == "table":
        text = _table_text(rows, title, method_line, notes, width=None if path is None else 200, total=total)
    elif fmt == "csv":
        text = csv_text(rows)
        if path is not None:
            sidecar = sidecar_path(path)
            check_output_path(sidecar, "--out (its .meta.json)")
            write_output(path, text.encode())
            write_output(sidecar, (json_text(record, indent=1) + "\n").encode(), f"--out {path} (its provenance {sidecar.name})")
            print(f"wrote {terminal_text(path)} and its provenance {terminal_text(sidecar.name)}", file=sys.stderr)
            return
        # on standard output the data stays data: the method goes to standard error
        print("\n".join(f"# {terminal_text(x)}" for x in [method_line, *(f"note: {n}" for n in notes)]), file=sys.stderr)
    elif fmt == "markdown":
        text = markdown_table(rows, title, method_line, notes, total=total)
    else:
        payload = {"metadata": record, "rows": rows.dicts()}
        text = json_text(payload, indent=1) + "\n"
    _emit(text.encode(), path)


def csv_text(rows: Rows) -> str:
    """Plain CSV: a header and the rows, text cells neutralized (:func:`csv_cell`), non-finite numbers empty."""
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([csv_cell(c) for c in rows.columns])
    w.writerows(["" if v is None or (isinstance(v, float) and not math.isfinite(v)) else csv_cell(v) for v in r]
                for r in rows.rows)
    return buf.getvalue()


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


@dataclass(frozen=True)
class Total:
    """A total row for tables whose rows add up (distinct occupations, groups or states of one sector, with no
    row counted twice): ``columns`` are summed; ``ratio`` = (numerator, denominator) columns recomputes the
    ratio from the totals (a sum of ratios means nothing); ``label`` names the row; ``shown_only`` (``--top``)
    says in a note that it sums the rows shown."""

    columns: tuple[str, ...]
    ratio: tuple[str, str] | None = None
    label: str = "total"
    shown_only: bool = False


FLAG_COLUMNS = ("flags",)
# Numeric columns that are never folded into the title, even when constant: the figures a table is about.
CORE_COLUMNS = {"openings", "entrants", "growth", "supply", "ratio", "gap", "completions"}


@dataclass
class Display:
    """A table as shown to a reader: constant columns named once (``constants``), flags on every row said once
    (``flag_notes``), and a total row (``total``, formatted cells) when the rows add up."""

    rows: Rows
    constants: list[str]
    flag_notes: list[str]
    total: list[str] | None


def _blank(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, float) and not math.isfinite(v))


def display(rows: Rows, total: Total | None = None) -> Display:
    """Fold what repeats: a flag present on every row moves to a note; a column with the same value on every row
    (two rows or more) moves to the title (an empty text column, or an all-zero column that is not a core
    figure, is dropped); and, with ``total``, a total row of the rows shown."""
    cols, numeric, data = list(rows.columns), list(rows.numeric), [list(r) for r in rows.rows]
    flag_notes: list[str] = []
    if len(data) >= 2:
        for i, c in enumerate(cols):
            if numeric[i] or not (c in FLAG_COLUMNS or c.endswith("_flags")):
                continue
            parts = [[x for x in str(r[i] or "").split("; ") if x] for r in data]
            common = [x for x in parts[0] if all(x in p for p in parts[1:])]
            if common:
                flag_notes.append(f"{c} on every row: {'; '.join(common)}.")
                for r, p in zip(data, parts, strict=True):
                    r[i] = "; ".join(x for x in p if x not in common)
    tot: list[str] | None = None
    if total is not None and data:
        sums: dict[str, float] = {}
        for i, c in enumerate(cols):
            if numeric[i] and c in total.columns:
                sums[c] = sum(float(r[i]) for r in data if not _blank(r[i]))
        tot_raw: list[Any] = [sums.get(c) if numeric[i] else None for i, c in enumerate(cols)]
        if total.ratio and total.ratio[0] in sums and total.ratio[1] in sums and "ratio" in cols:
            num, den = sums[total.ratio[0]], sums[total.ratio[1]]
            tot_raw[cols.index("ratio")] = num / den if den > 0 else None
        tot = [_fmt_cell(c, v) for c, v in zip(cols, tot_raw, strict=True)]
        if total.shown_only:
            flag_notes.append(f"The total row sums the {len(data)} rows shown (--top), not every row of the question.")
        if total.ratio and "ratio" in cols:
            flag_notes.append(f"The total ratio is total {total.ratio[0]} / total {total.ratio[1]}, not a sum or mean of ratios.")
    constants: list[str] = []
    keep = list(range(len(cols)))
    if len(data) >= 2:
        keep = []
        for i, c in enumerate(cols):
            first = data[0][i]
            same = all(r[i] == first or (_blank(r[i]) and _blank(first)) for r in data)
            if not same:
                keep.append(i)
            elif numeric[i]:
                if _blank(first) or first == 0:
                    if c in CORE_COLUMNS:
                        keep.append(i)
                    else:
                        constants.append(f"{c} 0")
                else:
                    keep.append(i)
            elif not _blank(first):
                constants.append(f"{c} {terminal_text(first)}")
        if not any(not numeric[i] for i in keep) and tot is not None:  # the total row needs a text cell for its label
            keep = sorted({*keep, next((i for i in range(len(cols)) if not numeric[i]), 0)})
    out = Rows([cols[i] for i in keep], [numeric[i] for i in keep], [tuple(r[i] for i in keep) for r in data])
    if tot is not None:
        tot = [tot[i] for i in keep]
        label = next((j for j, i in enumerate(keep) if not numeric[i]), None)
        if label is not None:
            tot[label] = total.label if total else "total"
    return Display(out, constants, flag_notes, tot)


def _width() -> int:
    """The width to print at: $COLUMNS when set, the terminal's width, else 160 (a pipe or a file)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) >= 40:
        return int(env)
    if sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size((160, 24)).columns
    return 160


MIN_TEXT_WIDTH = 8
MAX_WORD = 16


def column_widths(natural: list[int], numeric: list[bool], width: int, words: list[int] | None = None) -> list[int]:
    """Widths that fit ``width``: numbers keep theirs; text columns share what is left, the narrow ones whole
    and the wide ones evenly, so long text wraps instead of being cut. A text column is never narrower than
    MIN_TEXT_WIDTH, nor than its longest word (up to MAX_WORD) so that words are not split."""
    widths = list(natural)
    words = words or [0] * len(natural)
    text = [i for i in range(len(natural)) if not numeric[i]]
    avail = width - sum(w for w, n in zip(natural, numeric, strict=True) if n) - 2 * (len(natural) - 1)
    if sum(natural[i] for i in text) <= avail:
        return widths
    left, todo = avail, sorted(text, key=lambda i: natural[i])
    for k, i in enumerate(todo):
        fair = left // (len(todo) - k)
        widths[i] = min(natural[i], max(fair, MIN_TEXT_WIDTH, min(words[i], MAX_WORD)))
        left -= widths[i]
    return widths


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=True) or [""]


def _table_text(df: Rows, title: str, method_line: str, notes: list[str], width: int | None, total: Total | None = None) -> str:
    """A plain aligned text table (no rich import: this is on every interactive command's path); long text wraps
    within its column."""
    import textwrap

    width = width or _width()
    d = display(df, total)
    cols, numeric = d.rows.columns, d.rows.numeric
    cells = [[_fmt_cell(c, v) for c, v in zip(cols, row, strict=True)] for row in d.rows.rows]
    heads = [terminal_text(c) for c in cols]
    natural = [max([len(h)] + [len(r[i]) for r in cells] + ([len(d.total[i])] if d.total else [])) for i, h in enumerate(heads)]
    # the longest word of each text column, its name included (a header is not split either)
    words = [max([len(heads[i])] + [len(w) for r in cells for w in r[i].split()]) if not numeric[i] else 0 for i in range(len(cols))]
    widths = column_widths(natural, numeric, width, words)

    def lines(values: list[str]) -> list[str]:
        wrapped = [[v] if num else _wrap(v, w) for v, w, num in zip(values, widths, numeric, strict=True)]
        out = []
        for k in range(max(len(x) for x in wrapped)):
            parts = []
            for x, w, num in zip(wrapped, widths, numeric, strict=True):
                v = x[k] if k < len(x) else ""
                parts.append(v.rjust(w) if num else v.ljust(w))
            out.append("  ".join(parts).rstrip())
        return out

    rule = "  ".join("─" * w for w in widths)
    text = []
    heading = [terminal_text(title)] if title else []
    if d.constants:
        every = "every row: " + "; ".join(d.constants)
        one = f"{heading[0]} — {every}" if heading else every
        heading = [one] if len(one) <= width else [*heading, every]
    for h in heading:
        text.extend(textwrap.wrap(h, width=width, break_long_words=False) or [h])
    text.extend(lines(heads))
    text.append(rule)
    for r in cells:
        text.extend(lines(r))
    if d.total is not None:
        text.append(rule)
        text.extend(lines(d.total))
    text.append("")
    text.extend(textwrap.wrap(terminal_text(method_line), width=min(width, 120)))
    for n in [*d.flag_notes, *notes]:
        text.extend(textwrap.wrap("note: " + terminal_text(n), width=min(width, 120)))
    return "\n".join(text) + "\n"


def markdown_table(df: Rows | pl.DataFrame, title: str, method_line: str, notes: list[str], total: Total | None = None) -> str:
    rows = df if isinstance(df, Rows) else Rows.from_frame(df)
    d = display(rows, total)
    rows = d.rows
    lines = []
    head = title + (" — every row: " + "; ".join(d.constants) if d.constants else "")
    if head:
        lines += [f"**{md_text(head)}**", ""]
    lines.append("| " + " | ".join(md_text(c) for c in rows.columns) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in rows.numeric) + "|")
    for row in rows.rows:
        lines.append("| " + " | ".join(md_text(_fmt_cell(c, v)).replace("|", "\\|") for c, v in zip(rows.columns, row, strict=True)) + " |")
    if d.total is not None:
        lines.append("| " + " | ".join(f"**{md_text(v)}**" if v else "" for v in d.total) + " |")
    lines += ["", f"*{md_text(method_line)}*"]
    lines += [f"*Note: {md_text(n)}*" for n in [*d.flag_notes, *notes]]
    return "\n".join(lines) + "\n"


# -- Excel ---------------------------------------------------------------------------------------------------
# Number formats by column: people with thousands separators, ratios with 2 decimals.
PEOPLE_COLS = {"openings", "entrants", "growth", "supply", "gap", "supply_extra", "completions", "unallocated", "emp_base",
               "emp_proj", "employment"}
RATIO_COLS = {"ratio", "misalignment", "wage_vs_median", "sector_share", "priority_share", "growth_pct", "share"}
MONEY_COLS = {"median_wage", "wage"}
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def number_format(col: str, integer: bool) -> str | None:
    """The Excel number format of a numeric column (None: General, for codes, ranks and years)."""
    if col in RATIO_COLS:
        return "0.00"
    if col in MONEY_COLS:
        return "$#,##0"
    if col in PEOPLE_COLS or col.startswith(COUNT_PREFIXES):
        return "#,##0"
    return None if integer else "#,##0.00"


def provenance_rows(metadata: Any) -> list[dict[str, str]]:
    """Every source record (dataset, vintage, sha256, retrieved) anywhere in a method record, once each."""
    found: list[dict[str, str]] = []

    def walk(o: Any, key: str) -> None:
        if isinstance(o, dict):
            if "sha256" in o and ("vintage" in o or "dataset" in o):
                row = {"dataset": str(o.get("dataset") or key), "vintage": str(o.get("vintage", "")),
                       "sha256": str(o.get("sha256", "")), "retrieved": str(o.get("retrieved", ""))}
                if row not in found:
                    found.append(row)
                return
            for k, v in o.items():
                walk(v, str(k))
        elif isinstance(o, list | tuple):
            for v in o:
                walk(v, key)

    walk(metadata, "")
    return found


def _frame_for_excel(rows: Rows) -> pl.DataFrame:
    import polars as pl

    data: dict[str, list[Any]] = {}
    for i, c in enumerate(rows.columns):
        vals = [r[i] for r in rows.rows]
        if rows.numeric[i]:
            data[c] = [None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v for v in vals]
        else:
            data[c] = [None if v is None else csv_cell(terminal_text(v, newlines=True)) for v in vals]
    schema = {c: (None if rows.numeric[i] else pl.String) for i, c in enumerate(rows.columns)}
    return pl.DataFrame(data, schema_overrides={c: t for c, t in schema.items() if t is not None}, strict=False)


def _widths(frame: pl.DataFrame, cap: int = 60) -> dict[str, int]:
    """Column widths that fit the header and the longest cell (numbers as formatted), at most ``cap``."""
    out = {}
    for c in frame.columns:
        cells = [len(f"{v:,.2f}") if isinstance(v, float) else len(str(v)) for v in frame[c].drop_nulls().head(5000)]
        out[c] = min(cap, max([len(c), *cells]) + 2)
    return out


def xlsx_bytes(rows: Rows, record: dict[str, Any], *, sheet: str = "data") -> bytes:
    """An Excel workbook (XlsxWriter through polars): the table on its own sheet (typed columns, frozen header,
    number formats, fitted widths), the notes on a "Notes" sheet, and a "Sources and method" sheet with the
    method line, every note, the options and the provenance of every dataset. Text cells are neutralized
    (:func:`csv_cell`) and written as text, never as formulas."""
    import polars as pl
    from xlsxwriter import Workbook

    buf = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
               "nan_inf_to_errors": True}
    name = SHEET_NAME_BAD.sub("-", sheet)[:31] or "data"
    with Workbook(buf, options) as wb:
        frame = _frame_for_excel(rows)
        formats = {c: f for c in frame.columns if frame.schema[c].is_numeric()
                   and (f := number_format(c, frame.schema[c].is_integer())) is not None}
        header = {"bold": True, "bg_color": "#DDE4EE", "text_wrap": False}
        frame.write_excel(wb, name, column_formats=formats or None, header_format=header, freeze_panes=(1, 0),
                          column_widths=_widths(frame) or None, table_style="Table Style Light 1", autofilter=True,
                          float_precision=2)
        notes = [str(n) for n in record.get("notes") or []]
        if notes:
            nf = pl.DataFrame({"note": [csv_cell(terminal_text(n)) for n in notes]})
            nf.write_excel(wb, "Notes", header_format=header, freeze_panes=(1, 0), column_widths={"note": 120},
                           column_formats={"note": {"text_wrap": True, "valign": "top"}}, autofilter=False)
        _sources_sheet(wb, record)
    return buf.getvalue()


def _sources_sheet(wb: Any, record: dict[str, Any]) -> None:
    ws = wb.add_worksheet("Sources and method")
    bold = wb.add_format({"bold": True, "valign": "top"})
    head = wb.add_format({"bold": True, "bg_color": "#DDE4EE"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 100)
    ws.set_column(2, 4, 22)

    def text(v: Any) -> str:
        return str(csv_cell(terminal_text(v, newlines=True)))

    r = 0
    ws.write_string(r, 0, "Sources and method", bold)
    r += 2
    if record.get("title"):
        ws.write_string(r, 0, "Table", bold)
        ws.write_string(r, 1, text(record["title"]), wrap)
        r += 1
    ws.write_string(r, 0, "Method", bold)
    ws.write_string(r, 1, text(record.get("method_line", "")), wrap)
    r += 2
    scalars = [(k, v) for k, v in record.items() if k not in {"title", "method_line", "notes", "assumptions"}
               and (isinstance(v, str | int | float | bool) or v is None
                    or (isinstance(v, list) and all(isinstance(x, str | int | float) for x in v)))]
    if scalars:
        ws.write_string(r, 0, "Options", bold)
        r += 1
        for k, v in scalars:
            ws.write_string(r, 0, text(k))
            shown = ", ".join(str(x) for x in v) if isinstance(v, list) else "" if v is None else str(v)
            ws.write_string(r, 1, text(shown), wrap)
            r += 1
        r += 1
    for label, items in (("Assumptions", record.get("assumptions") or []), ("Notes", record.get("notes") or [])):
        if not items:
            continue
        ws.write_string(r, 0, label, bold)
        for n in items:
            ws.write_string(r, 1, text(n), wrap)
            r += 1
        r += 1
    prov = provenance_rows({k: v for k, v in record.items() if k not in {"notes", "method_line"}})
    ws.write_string(r, 0, "Provenance", bold)
    r += 1
    for c, h in enumerate(("dataset", "vintage", "sha256", "retrieved")):
        ws.write_string(r, c, h, head)
    r += 1
    for p in prov:
        for c, k in enumerate(("dataset", "vintage", "sha256", "retrieved")):
            ws.write_string(r, c, text(p[k]))
        r += 1
    if not prov:
        ws.write_string(r, 0, "(no ingested dataset behind this table)")

"""Safe, layout-checking readers for the file types agencies publish (xlsx, csv, zip, json).

Every reader raises :class:`~gapkit.errors.SourceFormatError` naming the file and what is wrong
(an HTML error page saved as .xlsx, a truncated zip, a missing sheet, an empty file...). Columns
are matched by meaning with :func:`map_columns`, never by position.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from gapkit.errors import SchemaDriftError, SourceFormatError, UsageError

if TYPE_CHECKING:
    import polars as pl

MAX_MEMBER_BYTES = 1_500_000_000  # a decompressed archive member larger than this is refused (zip bomb)
MAX_RATIO = 400  # refuse members whose compression ratio is beyond anything agencies publish


def sniff(path: Path, n: int = 512) -> bytes:
    """The first ``n`` bytes of a regular file (a pipe or device raises OSError at once instead of blocking)."""
    from gapkit.store import open_regular

    with open_regular(path) as fh:
        return fh.read(n)


def looks_like_html(head: bytes) -> bool:
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if h.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!doctype")):
        return True
    return h.startswith(b"<?xml") and b"<html" in h


def check_not_empty_or_html(path: Path, expected: str) -> bytes:
    """Common first check: the file exists, is not empty, and is not an HTML error page."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SourceFormatError(path, "the file does not exist.") from None
    if size == 0:
        raise SourceFormatError(path, f"the file is empty (0 bytes), expected {expected}.")
    head = sniff(path)
    if looks_like_html(head):
        raise SourceFormatError(
            path,
            f"the file is an HTML page, not {expected} (agency sites answer blocked or failed downloads with an error page).",
            "Download it again in a browser, or set GAPKIT_CONTACT so the agency accepts gapkit's requests; "
            "data already ingested was left untouched.",
        )
    return head


def xlsx_sheets(path: Path) -> list[str]:
    import fastexcel

    head = check_not_empty_or_html(path, "an Excel workbook (.xlsx)")
    if not head.startswith(b"PK"):
        raise SourceFormatError(path, "the file is not an Excel .xlsx workbook (it is not a zip container).")
    check_archive_members(path)
    try:
        return list(fastexcel.read_excel(str(path)).sheet_names)
    except Exception as exc:  # calamine raises its own error types
        raise SourceFormatError(path, f"the workbook cannot be opened ({_short(exc)}); it may be truncated or corrupt.") from None


def lists_sheet(path: Path, sheet: str) -> bool:
    """Cheap content check for recognizing a workbook: does its sheet list (xl/workbook.xml) name ``sheet``?

    Never raises: a file that is not a readable workbook simply does not list the sheet.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("xl/workbook.xml")
            if info.file_size > 2_000_000:
                return False
            text = zf.read(info).decode("utf-8", errors="replace")
    except (KeyError, OSError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError, zlib.error):
        return False
    from xml.sax.saxutils import escape

    return re.search(r'<(?:\w+:)?sheet\b[^>]*\bname="' + re.escape(escape(sheet, {'"': "&quot;"})) + '"', text) is not None


def read_xlsx_sheet(path: Path, sheet: str | int, header_row: int | None = 0) -> pl.DataFrame:
    """One sheet as strings. ``header_row`` is 0-based; None reads with no header (column_0...)."""
    import fastexcel

    names = xlsx_sheets(path)
    if isinstance(sheet, str) and sheet not in names:
        raise SourceFormatError(path, f"the workbook has no sheet {sheet!r} (it has {', '.join(names)}).")
    try:
        reader = fastexcel.read_excel(str(path))
        loaded = reader.load_sheet(sheet, header_row=header_row, dtypes="string")
        return loaded.to_polars()
    except Exception as exc:
        raise SourceFormatError(path, f"sheet {sheet!r} cannot be read ({_short(exc)}).") from None


def find_sheet(path: Path, pattern: str) -> str | None:
    rx = re.compile(pattern, re.I)
    for name in xlsx_sheets(path):
        if rx.search(name):
            return name
    return None


def read_csv_text(data: bytes | Path, *, origin: str | Path, skip_rows: int = 0) -> pl.DataFrame:
    """A CSV as all-string columns; decodes UTF-8 (with or without BOM) or falls back to cp1252."""
    import polars as pl

    raw = data.read_bytes() if isinstance(data, Path) else data
    if not raw.strip():
        raise SourceFormatError(origin, "the file is empty, expected a CSV table.")
    if looks_like_html(raw[:512]):
        raise SourceFormatError(origin, "the file is an HTML page, not a CSV table.")
    # polars reads the UTF-8 bytes themselves: a str (and a StringIO, 4 bytes a character) of a bulk
    # file of hundreds of MB would take several times its size.
    body = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        body = decode_text(body).encode("utf-8")
    try:
        return pl.read_csv(body, infer_schema=False, skip_rows=skip_rows, truncate_ragged_lines=True)
    except Exception as exc:
        raise SourceFormatError(origin, f"the CSV cannot be parsed ({_short(exc)}).") from None


def decode_text(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def open_zip(path: Path) -> zipfile.ZipFile:
    check_not_empty_or_html(path, "a zip archive")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise SourceFormatError(path, f"the zip archive is corrupt or truncated ({_short(exc)}).") from None
    # Names and declared sizes first (cheap): a bomb is refused before anything is decompressed.
    for info in zf.infolist():
        _check_member(path, info)
    try:
        bad = zf.testzip()
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        raise SourceFormatError(path, f"the zip archive is corrupt or truncated ({_short(exc)}).") from None
    except (NotImplementedError, RuntimeError) as exc:  # encrypted members, compression methods zipfile lacks
        raise SourceFormatError(path, f"the zip archive cannot be unpacked ({_short(exc)}); agencies publish plain "
                                      "deflate archives, so this is not the agency's file.") from None
    if bad is not None:
        raise SourceFormatError(path, f"the zip member {bad!r} fails its CRC check; the archive is corrupt.")
    return zf


def check_archive_members(path: Path) -> None:
    """Names and declared sizes of a zip container's members (an .xlsx is one), without decompressing.

    A container zipfile cannot read is left to the caller's reader, which names the problem.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        return
    for info in infos:
        _check_member(path, info)


def max_member_bytes() -> int:
    """The decompressed-size limit of one archive member (``GAPKIT_MAX_MEMBER_BYTES`` lowers or raises it)."""
    text = os.environ.get("GAPKIT_MAX_MEMBER_BYTES", "").strip()
    if not text:
        return MAX_MEMBER_BYTES
    try:
        value = int(text)
        if value <= 0:
            raise ValueError
    except ValueError:
        raise UsageError(f"The environment variable GAPKIT_MAX_MEMBER_BYTES={text!r} is not a positive whole number of bytes.") from None
    return value


def _check_member(path: Path, info: zipfile.ZipInfo) -> None:
    name = PurePosixPath(info.filename.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", info.filename):
        raise SourceFormatError(path, f"the archive member {info.filename!r} points outside its folder (zip-slip); refusing the archive.")
    limit = max_member_bytes()
    if info.file_size > limit or (
        info.compress_size > 0 and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 50_000_000
    ):
        raise SourceFormatError(
            path, f"the archive member {info.filename!r} would decompress to {info.file_size:,} bytes, past gapkit's safety limit (zip bomb?)."
        )


def _find_member(path: Path, pattern: str, prefer: str | None) -> tuple[zipfile.ZipFile, zipfile.ZipInfo]:
    """The opened (checked) archive and its member whose base name matches ``pattern``; ``prefer`` breaks ties."""
    zf = open_zip(path)
    rx = re.compile(pattern, re.I)
    matches = [i for i in zf.infolist() if not i.is_dir() and rx.search(PurePosixPath(i.filename).name)]
    if not matches:
        members = ", ".join(i.filename for i in zf.infolist()[:10])
        raise SourceFormatError(path, f"the archive has no member matching {pattern!r} (it holds {members or 'nothing'}).")
    if prefer:
        matches = [i for i in matches if re.search(prefer, i.filename, re.I)] or matches
    return zf, matches[0]


def zip_member_bytes(path: Path, pattern: str, prefer: str | None = None) -> tuple[str, bytes]:
    """The bytes of the member whose base name matches ``pattern`` (regex, case-insensitive).

    When several match and one matches ``prefer`` (e.g. the revised ``_rv`` file), that one wins.
    Reading is bounded: a member that inflates past its declared size is refused.
    """
    zf, info = _find_member(path, pattern, prefer)
    with zf.open(info) as fh:
        data = fh.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise SourceFormatError(path, f"the archive member {info.filename!r} inflates past its declared size; refusing it.")
    return info.filename, data


def zip_member_to_file(path: Path, pattern: str, dest_dir: Path, prefer: str | None = None) -> tuple[str, Path]:
    """Stream the matching member (see zip_member_bytes) to a file in ``dest_dir``; bounded by its declared size."""
    zf, info = _find_member(path, pattern, prefer)
    target = dest_dir / PurePosixPath(info.filename).name  # never the member's own path: no zip-slip
    written = 0
    with zf.open(info) as src, open(target, "wb") as out:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            written += len(chunk)
            if written > info.file_size:
                raise SourceFormatError(path, f"the archive member {info.filename!r} inflates past its declared size; refusing it.")
            out.write(chunk)
    return info.filename, target


def utf8_csv_file(src: Path, dest_dir: Path) -> Path:
    """``src`` itself when it is UTF-8 (BOM or not), else a UTF-8 copy of it (cp1252) in ``dest_dir``.

    Both passes stream, so a large file never sits in memory as text.
    """
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(src, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                dec.decode(chunk)
            dec.decode(b"", final=True)
        return src
    except UnicodeDecodeError:
        pass
    out = dest_dir / (src.stem + ".utf8.csv")
    with open(src, "rb") as fh, open(out, "w", encoding="utf-8", newline="") as w:
        cp = codecs.getincrementaldecoder("cp1252")(errors="replace")
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            w.write(cp.decode(chunk))
    return out


def normalize_header(text: object) -> str:
    """Lower-case, dashes unified, whitespace (incl. newlines) collapsed, footnote marks dropped."""
    s = str(text if text is not None else "")
    s = s.replace("\u2013", "-").replace("\u2014", "-").replace("\u2012", "-")
    s = re.sub(r"\[\d+\]|\(\d+\)", "", s)
    s = re.sub(r"\s+", " ", s).strip().lower()
    return s


def map_columns(
    columns: list[str],
    patterns: Mapping[str, str],
    *,
    path: str | Path,
    required: list[str] | None = None,
    sheet: str | None = None,
) -> dict[str, str]:
    """Map wanted fields to actual column names by regex on the normalized header text.

    Returns ``{field: actual_column}`` for every field found; raises SchemaDriftError naming the
    missing required fields, the file and the header it did find.
    """
    found: dict[str, str] = {}
    normalized = {c: normalize_header(c) for c in columns}
    for field, pattern in patterns.items():
        rx = re.compile(pattern, re.I)
        for col, norm in normalized.items():
            if col in found.values():
                continue
            if rx.search(norm):
                found[field] = col
                break
    missing = [f for f in (required if required is not None else list(patterns)) if f not in found]
    if missing:
        raise SchemaDriftError(path, missing, list(columns), sheet)
    return found


def number_expr(col: str, *, specials: tuple[str, ...] = ("—", "-", "", "*", "**", "#", "~", "NA", "N/A", "(8)")) -> pl.Expr:
    """Parse a published number ("1,586.2", '="12"', " 42 ") to Float64; special/suppressed values -> null."""
    import polars as pl

    s = pl.col(col).cast(pl.String).str.strip_chars().str.replace_all(r'^="?|"$', "").str.replace_all(",", "").str.strip_chars()
    return pl.when(s.is_in(list(specials)) | s.is_null()).then(None).otherwise(s.cast(pl.Float64, strict=False))


def drop_exact_duplicates(out: pl.DataFrame, path: Path, key: list[str],
                          clash_message: Callable[[int, dict[str, object]], str]) -> tuple[pl.DataFrame, list[str]]:
    """Rows repeated exactly are dropped (with a note); a ``key`` repeated with different figures is refused with
    ``clash_message(number of clashing keys, first clashing row)``."""
    import polars as pl

    if out.select(pl.struct(key).is_unique().all()).item():
        return out, []
    distinct = out.unique(maintain_order=True)
    clash = distinct.filter(pl.struct(key).is_duplicated())
    if clash.height:
        raise SourceFormatError(path, clash_message(clash.select(key).n_unique(), clash.row(0, named=True)))
    return distinct, [f"{path.name}: {out.height - distinct.height} exact duplicate row(s) were dropped."]


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]

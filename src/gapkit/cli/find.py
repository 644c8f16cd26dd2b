"""`gapkit find TEXT`: occupations, programs, sectors and regions by name or code, ranked (see
:mod:`gapkit.analysis.names`)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from gapkit.cli import DataDir, TableFormat
from gapkit.cli.options import FORMAT_HELP, Out


class FindKind(str, Enum):
    occupation = "occupation"
    program = "program"
    sector = "sector"
    region = "region"


def find_cmd(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="Words of a name (\"truck driver\", nursing, columbus) or a code (29-1140, 51.38, 39049).")],
    kind: Annotated[FindKind | None, typer.Option(help="Only this kind: occupation | program | sector | region.", show_default=False)] = None,
    top: Annotated[int, typer.Option(help="Show the best N matches.")] = 20,
    format: Annotated[TableFormat | None, typer.Option("--format", help=FORMAT_HELP, show_default=False)] = None,
    out: Out = None,
    data_dir: DataDir = None,
) -> None:
    """Find occupations (SOC), programs (CIP), sectors and regions by name or code, best match first."""
    from gapkit.analysis.names import RANKING, index_sources
    from gapkit.analysis.query import _top
    from gapkit.errors import UsageError
    from gapkit.render.tables import check_out_path, output_format, render
    from gapkit.workspace import Workspace

    check_out_path(out, output_format(format.value if format else None, out))
    n = _top(top)
    ws = Workspace(data_dir)
    hits = ws.find(text, kind=kind.value if kind else None, top=None)
    used, missing = index_sources(ws.tables)
    notes = [f"not searched until ingested: {', '.join(missing)}."] if missing else []
    if hits.height == 0:
        among = f"{kind.value}s" if kind else "occupations, programs, sectors or regions"
        raise UsageError(f"Nothing matches {text!r} among {among}. Try fewer or shorter words, a code (53-3032, 51.38, 39049)"
                         + (", or drop --kind" if kind else "") + "." + (f" Note: {notes[0]}" if notes else ""))
    shown = hits.head(n)
    title = f"gapkit find {text!r}: " + (f"best {shown.height} of {hits.height} matches" if hits.height > shown.height
                                         else f"{hits.height} match{'es' if hits.height != 1 else ''}")
    method = f"Names from {'; '.join(used)}. {RANKING}"
    render(shown, format.value if format else None, method_line=method, title=title, out=out, notes=notes, sheet="matches",
           metadata={"query": text, "kind": kind.value if kind else None, "top": n, "matches": hits.height, "sources": used})


def register(app: typer.Typer) -> None:
    app.command("find")(find_cmd)

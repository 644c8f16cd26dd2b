"""The analyst notebook runs end to end against ../shared (ingest, load, gap, alloc change, chart)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO

NOTEBOOK = REPO / "notebooks" / "transportation_gap.ipynb"


def test_notebook_outputs_are_stripped() -> None:
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_executes(ingested: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbclient
    import nbformat

    monkeypatch.setenv("GAPKIT_DATA_DIR", str(ingested))  # the kernel inherits it: ingest only checks, nothing new
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError with the failing cell on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "ok: True" in text and "failed: []" in text
    assert "Sources: BLS EP" in text  # the method line
    assert "Transportation has" in text  # the chart title printed by the chart cell
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the two charts render inline
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("ratio (employment)" in t for t in tables)

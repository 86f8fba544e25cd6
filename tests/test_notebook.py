"""examples/quickstart.ipynb runs top to bottom in a real kernel (nbclient + ipykernel)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "quickstart.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_executes_without_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stdout"]  # nothing printed
    shown = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "rank_low" in shown and "worst_group_accuracy" in shown  # compare's frame, evaluate's scores
    assert "<Figure size" in shown  # compare's plot (an Agg kernel shows its repr, not the image)
    assert os.listdir(tmp_path) == []  # out=None left nothing behind

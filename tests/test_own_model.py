"""A reader's own network through a whole chapter: the LAM chapter at ``preset="smoke"``
with ``models`` = a weight file of an architecture the book does not define (spandrel's
ESRGAN, random weights), or a ``module:callable`` entry, each reported with a DI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import papermill as pm
import pytest
import torch
from spandrel.architectures.ESRGAN import ESRGAN

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["file", "callable"])
def test_lam_chapter_reports_a_di_for_a_readers_own_network(
    entry: str, tmp_path: Path, sr_kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    weights = tmp_path / "my_x4.pth"
    torch.save(ESRGAN(num_filters=8, num_blocks=1, scale=4).state_dict(), weights)
    # The kernel inherits the environment: the user's module is importable, as with
    # PYTHONPATH=/path/to/code; a fresh cache keeps the test independent of others.
    path = os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "cache"))
    results = tmp_path / "results"
    pm.execute_notebook(
        str(REPO / "book" / "lam.ipynb"),
        str(tmp_path / "lam.ipynb"),
        parameters={
            "preset": "smoke",
            "results_dir": str(results),
            # One network alone: the hard cases are scored by the zoo, not by `models`.
            "models": [str(weights)] if entry == "file" else ["user_model:build"],
        },
        kernel_name=sr_kernel,
        cwd=str(REPO / "book"),
        progress_bar=False,
    )
    out = json.loads((results / "lam.json").read_text())
    assert set(out["di"]) == ({"my_x4"} if entry == "file" else {"build"})
    for name, di in out["di"].items():
        assert 0 < di["mean"] <= 100, (name, di)

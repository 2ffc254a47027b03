"""Chapter results: every chapter ends by writing ``<results_dir>/<chapter>.json``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .io import write_json


def _clean(obj: Any) -> Any:
    """Make results JSON-safe: numpy/torch scalars to Python, NaN/inf to ``None``."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_results(results_dir: str | Path, chapter: str, results: dict[str, Any]) -> Path:
    """Atomically write ``results`` to ``<results_dir>/<chapter>.json`` and return the path.

    ``results`` must carry ``"preset"``; values are rounded by the caller, not here.
    """
    if "preset" not in results:
        raise ValueError("results must include the 'preset' that produced them")
    return write_json(Path(results_dir) / f"{chapter}.json", _clean(results))


def read_results(results_dir: str | Path, chapter: str) -> dict[str, Any]:
    """Read a chapter's results JSON (raises ``FileNotFoundError`` with the path)."""
    path = Path(results_dir) / f"{chapter}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results for chapter {chapter!r} at {path}")
    return json.loads(path.read_text())

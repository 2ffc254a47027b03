"""Chapter results: every chapter ends by writing ``<results_dir>/<chapter>.json``.

Three rules, applied by :func:`write_results` so no chapter can forget them:

- **timings apart**: keys naming a wall-clock time (:func:`is_timing`: ``seconds``,
  ``wall``, ``timings``, ``*_train_s``, ...) go to ``<results_dir>/timings/<chapter>.json``,
  so a rerun with equal parameters writes a byte-identical results file (sorted keys, one
  float formatting);
- **no silent NaN**: a NaN or infinite number anywhere is refused, naming its key path; a
  value that is undefined is written as ``None`` by the chapter, on purpose;
- **a schema per chapter** (``helpers/schemas/<chapter>.schema.json``, JSON Schema checked
  with ``jsonschema``): a renamed, missing or mistyped key fails when the chapter writes,
  not when a reader or a later chapter looks for it.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from .files import write_json

#: The committed table of verdicts over seeds (``scripts/verdict_seeds.py``); a package
#: installed without the repository has none.
SEED_TABLE = Path(__file__).resolve().parents[1] / "benchmarks" / "verdict_seeds.json"
#: Folder of the chapters' JSON Schemas, ``<chapter>.schema.json``.
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
# "_s" alone would also match network names (edsr_s, rcan_s): only these timing keys end so
_TIMING = re.compile(r"(seconds|wall|timings|_train_s$|_x\d+_s$|^s_per|per_s|patches/s)")


def is_timing(key: str) -> bool:
    """Whether a results key (one path component) names a wall-clock time."""
    return bool(_TIMING.search(key))


def _clean(obj: Any, path: str = "", bad: list[str] | None = None) -> Any:
    """JSON-safe results: numpy/torch scalars to Python. NaN/inf paths are appended to
    ``bad`` (the top-level call raises, listing them all)."""
    top = bad is None
    bad = [] if bad is None else bad
    if isinstance(obj, dict):
        out: Any = {str(k): _clean(v, f"{path}/{k}", bad) for k, v in obj.items()}
    elif isinstance(obj, list | tuple):
        out = [_clean(v, f"{path}[{i}]", bad) for i, v in enumerate(obj)]
    else:
        if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
            obj = obj.item()
        if isinstance(obj, float) and not math.isfinite(obj):
            bad.append(f"{path or '/'} is {obj}")
        out = obj
    if top and bad:
        raise ValueError(
            f"results value {bad[0]}"
            + (f" (and {len(bad) - 1} more: {'; '.join(bad[1:8])})" if len(bad) > 1 else "")
            + ": a NaN or infinite number would reach the results JSON silently; find why it "
            "is undefined, and write None there on purpose (results.or_none, with the reason "
            "in the chapter) if it may be"
        )
    return out


def or_none(value: Any) -> Any:
    """``value`` with every NaN number replaced by ``None`` (inside dicts and lists too).

    For numbers a chapter knows may be undefined (a std over no kept maps, a correlation
    over one point), written as ``None`` on purpose instead of refused; say why beside it.
    """
    if isinstance(value, dict):
        return {k: or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [or_none(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def split_timings(results: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(values, timings)``: the entries whose key :func:`is_timing`, at any depth of
    nested dicts, moved to ``timings`` under the same path."""
    values: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    for k, v in results.items():
        if is_timing(str(k)):
            timings[k] = v
        elif isinstance(v, dict):
            inner, inner_t = split_timings(v)
            values[k] = inner
            if inner_t:
                timings[k] = inner_t
        else:
            values[k] = v
    return values, timings


@cache
def schema(chapter: str) -> dict[str, Any] | None:
    """The JSON Schema of ``chapter``'s results (None for a chapter that has none)."""
    path = SCHEMA_DIR / f"{chapter}.schema.json"
    return json.loads(path.read_text()) if path.is_file() else None


def validate(chapter: str, values: dict[str, Any]) -> None:
    """Check results against their chapter's schema; ``ValueError`` names every misfit."""
    sch = schema(chapter)
    if sch is None:
        return
    validator = jsonschema.Draft202012Validator(sch)
    errors = sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20]]
        raise ValueError(
            f"results of chapter {chapter!r} do not fit {SCHEMA_DIR / f'{chapter}.schema.json'}"
            f" ({len(errors)} misfit(s)); a key renamed or dropped in the chapter must be "
            "renamed in the schema too:\n" + "\n".join(lines)
        )


def write_results(results_dir: str | Path, chapter: str, results: dict[str, Any]) -> Path:
    """Check and atomically write a chapter's results; return the results path.

    ``results`` must carry ``"preset"``; values are rounded by the caller, not here.
    Writes ``<results_dir>/<chapter>.json`` (timings removed) and, when there are any,
    ``<results_dir>/timings/<chapter>.json``. Raises ``ValueError`` for a NaN/inf value
    or a misfit with the chapter's schema, before anything is written.
    """
    if "preset" not in results:
        raise ValueError("results must include the 'preset' that produced them")
    values, timings = split_timings(_clean(results))
    validate(chapter, values)
    path = write_json(Path(results_dir) / f"{chapter}.json", values)
    timing_path = Path(results_dir) / "timings" / f"{chapter}.json"
    if timings:
        write_json(timing_path, {"preset": results["preset"], **timings})
    else:
        timing_path.unlink(missing_ok=True)
    return path


def read_results(results_dir: str | Path, chapter: str) -> dict[str, Any]:
    """Read a chapter's results JSON (raises ``FileNotFoundError`` with the path)."""
    path = Path(results_dir) / f"{chapter}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results for chapter {chapter!r} at {path}")
    return json.loads(path.read_text())


def read_timings(results_dir: str | Path, chapter: str) -> dict[str, Any]:
    """A chapter's timings (``{}`` when it wrote none)."""
    path = Path(results_dir) / "timings" / f"{chapter}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def outcomes(chapter: str, values: dict[str, Any]) -> dict[str, str]:
    """The outcome of every claim a chapter decided, read from its results ``values``
    (as :func:`read_results` returns them): ``{claim: outcome}``, outcomes lower case.

    Where each chapter keeps them: ``lam`` under ``verdicts``, ``di_vs_psnr`` under
    ``observations`` (written as labels, ``"HOLDS"``), ``texture_profiles`` and
    ``semantic_consistency`` under ``outcome``, ``models_and_data`` one claim per released
    network, ``reproduces_published[<network>]``. Raises ``KeyError`` for another chapter
    or results without that key (written by an older chapter: rerun it)."""
    keys = {
        "lam": "verdicts",
        "di_vs_psnr": "observations",
        "texture_profiles": "outcome",
        "semantic_consistency": "outcome",
        "models_and_data": "reproduces_published",
    }
    if chapter not in keys:
        raise KeyError(f"no claim outcomes known for chapter {chapter!r}; one of {sorted(keys)}")
    if keys[chapter] not in values:
        raise KeyError(
            f"{chapter} results have no {keys[chapter]!r}: written by an older version of the "
            "chapter; rerun it"
        )
    found = values[keys[chapter]]
    if chapter == "models_and_data":
        return {f"reproduces_published[{m}]": r["outcome"].lower() for m, r in found.items()}
    return {claim: str(o).lower() for claim, o in found.items()}


def seed_table(chapter: str, path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """How each claim of ``chapter`` fared over seeds with the book's own networks at
    ``benchmark``: ``{claim: row}`` from the committed table (``path``, default
    :data:`SEED_TABLE`), each row with ``benchmark`` (seed -> outcome),
    ``benchmark_modal``, ``seeds_agreeing``, ``seeds_run``, ``embedded`` and the table's
    ``date``. ``{}`` when there is no table or it has no row for the chapter."""
    path = Path(path) if path is not None else SEED_TABLE
    if not path.is_file():
        return {}
    table = json.loads(path.read_text())
    return {
        r["claim"]: {**r, "date": table["date"]} for r in table["claims"] if r["chapter"] == chapter
    }

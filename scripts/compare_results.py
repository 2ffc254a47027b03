"""Compare two folders of chapter results (``<dir>/<chapter>.json``) value by value.

A refactor must change no number: run the book before and after into two build folders
and compare their ``results/``::

    python scripts/compare_results.py build_before/results build_after/results --tol 1e-6

Numbers agree when ``|a - b| <= tol * max(1, |a|, |b|)``; strings, booleans and the set
of keys must be equal. Keys that hold wall-clock times (a path component for which
:func:`helpers.results.is_timing` holds: ``seconds``, ``wall``, ``timings``, ``*_train_s``,
...) are reported apart and do not fail the comparison. Exit code 0 when every shared
chapter agrees, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.results import is_timing  # noqa: E402  (one rule for what a timing is)


def _is_timing(path: str) -> bool:
    return any(is_timing(part) for part in path.split("/"))


def compare(a: Any, b: Any, tol: float, path: str = "") -> list[str]:
    """Differences between two JSON values, as ``"path: a != b"`` lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}/{k}: only in before" for k in sorted(set(a) - set(b))]
        out += [f"{path}/{k}: only in after" for k in sorted(set(b) - set(a))]
        for k in sorted(set(a) & set(b)):
            out += compare(a[k], b[k], tol, f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in compare(x, y, tol, f"{path}[{i}]")
        ]
    numeric = (int, float)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool):
        if isinstance(b, bool):
            return [f"{path}: {a!r} != {b!r}"]
        if math.isnan(a) and math.isnan(b):
            return []
        if abs(a - b) <= tol * max(1.0, abs(a), abs(b)):
            return []
        return [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--tol", type=float, default=1e-6)
    args = ap.parse_args(argv)
    before = {p.stem: p for p in sorted(args.before.glob("*.json"))}
    after = {p.stem: p for p in sorted(args.after.glob("*.json"))}
    failed = False
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after:
            print(f"{name}: only in {'before' if name in before else 'after'}")
            failed = True
            continue
        diffs = compare(
            json.loads(before[name].read_text()), json.loads(after[name].read_text()), args.tol
        )
        timing = [d for d in diffs if _is_timing(d.split(":")[0])]
        real = [d for d in diffs if d not in timing]
        n = len(real)
        print(f"{name}: {'equal' if not n else f'{n} difference(s)'} (tol {args.tol:g}); "
              f"{len(timing)} timing value(s) differ, ignored")  # fmt: skip
        for d in real[:50]:
            print("   ", d)
        failed |= bool(n)
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())

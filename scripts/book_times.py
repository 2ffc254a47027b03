"""Record a whole-book build's wall times in ``benchmarks/book_times.json``.

The "How this book was built" page of every build renders that file (section "Whole-book
wall times"), so the cost of a ``benchmark`` or cold build is visible in the published
``embedded`` book too. A run is keyed by preset and state (``cold``: empty
``$HELPERS_DATA_DIR``; ``warm``: everything cached); recording the same key again replaces
it. Example, after a cold benchmark build timed with ``time``::

    HELPERS_DATA_DIR=$(mktemp -d) make book PRESET=benchmark BOOK_ARGS="--build-dir b"
    python scripts/book_times.py --build-dir b --state cold --wall-s 5400

``--wall-s`` is the command's own wall time (HTML build and start-up included); without it
the total is the sum of the chapters' times. The budget is the preset table's
``book_budget_min``; chapters the preset's ``book_deferred`` leaves out are listed with
their reason.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from helpers import presets  # noqa: E402
from helpers.book.plan import deferred_chapters  # noqa: E402
from helpers.files import write_json  # noqa: E402

STATES = ("cold", "warm")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_entry(build_dir: Path, state: str, wall_s: float | None = None) -> dict[str, Any]:
    """One build's record from ``<build_dir>/runs/*.json`` (the runner's run records).

    Raises ``ValueError`` when the folder holds no run record, mixes presets or seeds, or
    ``state`` is not ``cold`` or ``warm``."""
    if state not in STATES:
        raise ValueError(f"state must be one of {STATES}, got {state!r}")
    paths = sorted((build_dir / "runs").glob("*.json"))
    if not paths:
        raise ValueError(f"no run records in {build_dir / 'runs'}; is it a build folder?")
    recs = [json.loads(p.read_text()) for p in paths]
    kinds = {(r["preset"], r["parameters"].get("seed")) for r in recs}
    if len(kinds) != 1:
        raise ValueError(f"{build_dir} mixes presets or seeds {sorted(kinds)}; one build only")
    ((preset, seed),) = kinds
    chapters = {r["chapter"]: round(float(r["wall_s"]), 1) for r in recs}
    total = round(float(wall_s), 1) if wall_s is not None else round(sum(chapters.values()), 1)
    budget = presets.get("book_budget_min", preset)[state]
    commits = sorted({str(r.get("commit", "unknown"))[:12] for r in recs})
    return {
        "preset": preset,
        "seed": seed,
        "state": state,
        "date": min(r["started_utc"] for r in recs)[:10],
        "commits": commits,
        "machine": {"cpus": os.cpu_count(), "cpu": _cpu_model()},
        "chapters": chapters,
        "total_s": total,
        "total_is": "the command's wall time" if wall_s is not None else "sum of chapters",
        "budget_min": budget,
        "within_budget": None if budget is None else total <= 60 * budget,
        "deferred": {n: why for n, why in deferred_chapters(preset).items() if n not in chapters},
    }


def record(out: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Add ``entry`` to the JSON at ``out`` (replacing the one of the same preset and
    state); returns the whole file's content."""
    runs = json.loads(out.read_text())["runs"] if out.is_file() else []
    runs = [r for r in runs if (r["preset"], r["state"]) != (entry["preset"], entry["state"])]
    order = {p: i for i, p in enumerate(presets.PRESETS)}
    runs = sorted([*runs, entry], key=lambda r: (order[r["preset"]], STATES.index(r["state"])))
    data = {"updated": datetime.now(UTC).date().isoformat(), "runs": runs}
    write_json(out, data)
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-dir", type=Path, required=True)
    p.add_argument("--state", choices=STATES, required=True)
    p.add_argument("--wall-s", type=float, default=None, help="the command's wall time (s)")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "book_times.json")
    args = p.parse_args(argv)
    try:
        entry = run_entry(args.build_dir, args.state, args.wall_s)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    record(args.out, entry)
    print(json.dumps(entry, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

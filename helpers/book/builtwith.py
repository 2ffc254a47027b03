"""The page "How this book was built": run records, environment and results as tables.

Also the book's ``favicon.ico`` (drawn, not shipped) and the sha256 of a chapter's source,
which tells the page when a chapter changed after it was executed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..presets import PRESETS
from .chapters import Chapter
from .plan import deferred_chapters

#: Name of the generated page listing how the book was built.
BUILT_WITH = "built_with"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted keys to scalars; short lists of scalars stay one value, long ones are counted."""
    if isinstance(obj, dict):
        rows: list[tuple[str, Any]] = []
        for key, value in obj.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(obj, list):
        if len(obj) <= 8 and all(not isinstance(v, dict | list) for v in obj):
            return [(prefix, "[" + ", ".join(_fmt(v) for v in obj) + "]")]
        return [(prefix, f"[{len(obj)} items, see the JSON below]")]
    return [(prefix, obj)]


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _one_preset(records: dict[str, dict[str, Any]]) -> str | None:
    """The preset every executed chapter ran at, or None (none executed, or mixed)."""
    presets = {str(r.get("preset")) for r in records.values()}
    return presets.pop() if len(presets) == 1 else None


def _deferred(records: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Chapters a whole-book run leaves out at the records' one preset -> why
    (:data:`helpers.presets.TABLE` ``["book_deferred"]``); empty when presets are mixed."""
    preset = _one_preset(records)
    return deferred_chapters(preset) if preset in PRESETS else {}


def built_with_page(
    chapters: Sequence[Chapter],
    records: dict[str, dict[str, Any]],
    results_dir: Path,
    book_dir: Path,
) -> str:
    """MyST markdown for the page "How this book was built"."""
    notebooks = [c for c in chapters if c.is_notebook]
    out = [
        "# How this book was built",
        "",
        "Every chapter below was executed top to bottom by "
        "[papermill](https://papermill.readthedocs.io) with the parameters shown, through "
        "`python -m helpers.book`, and this HTML was then built by Jupyter Book from the "
        "executed notebooks (no cell was re-run at build time). To reproduce one chapter:",
        "",
        "```bash",
        "papermill book/<chapter>.ipynb out.ipynb -k sr-book -p preset <preset> -p seed <seed>",
        "```",
        "",
        f"Page generated {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}.",
        "",
        "## Chapters",
        "",
    ]
    rows = []
    deferred = _deferred(records)
    for chapter in notebooks:
        rec = records.get(chapter.name)
        if rec is None:
            state = "left out (see below)" if chapter.name in deferred else "not executed"
            rows.append([chapter.title, state, "", "", "", ""])
            continue
        params = {k: v for k, v in rec["parameters"].items() if k != "preset"}
        stale = rec.get("source_sha256") != _sha256(chapter.path)
        commit = str(rec.get("commit", "unknown"))
        rows.append(
            [
                f"[{chapter.title}]({chapter.name}.ipynb)"
                + (" (source changed since)" if stale else ""),
                rec["preset"],
                ", ".join(f"{k}={v!r}" for k, v in params.items()),
                _duration(float(rec["wall_s"])),
                str(rec["started_utc"])[:16].replace("T", " "),
                commit[:10] + ("+dirty" if commit.endswith("+dirty") else ""),
            ]
        )
    header = ["chapter", "preset", "parameters", "wall time", "started (UTC)", "commit"]
    out += [_table(header, rows), ""]
    total = sum(float(r["wall_s"]) for r in records.values())
    out += [f"Total execution time: {_duration(total)}.", ""]
    missing = [c for c in notebooks if c.name not in records]
    preset = _one_preset(records)
    for c in (c for c in missing if c.name in deferred):
        out += [
            ":::{note}",
            f"**{c.title}** is left out of a `{preset}` run of the whole book: "
            f"{deferred[c.name]}. Run it by itself with `python -m helpers.book --preset "
            f"{preset} --only {c.name}` into the same build folder, and the HTML includes it.",
            ":::",
            "",
        ]
    others = [c.title for c in missing if c.name not in deferred]
    if others:
        out += [
            ":::{warning}",
            "Not executed, so left out of this build: " + ", ".join(others) + ".",
            ":::",
            "",
        ]

    timed = [(c, records[c.name].get("cell_seconds")) for c in notebooks if c.name in records]
    timed = [(c, cells) for c, cells in timed if cells]
    if timed:
        out += [
            "## Seconds per cell",
            "",
            "Each code cell's wall time (papermill's cell metadata), the slowest first; the "
            "cell index counts every cell of the executed copy, the injected parameters too.",
            "",
        ]
        for chapter, cells in timed:
            slow = sorted(cells, key=lambda r: -r[1])
            rows = [[i, f"{s:.2f}", line.replace("`", "'")] for i, s, line in slow]
            table = _table(["cell", "s", "first line"], rows)
            out += [f":::{{dropdown}} {chapter.title}", "", table, "", ":::", ""]

    out += _book_times(
        book_dir.parent / "benchmarks" / "book_times.json", [c.name for c in notebooks]
    )
    out += _scale_out(book_dir.parent / "benchmarks" / "sweep.json")
    out += _seed_agreement(book_dir.parent / "benchmarks" / "verdict_seeds.json")
    out += ["## Environment", ""]
    envs: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for name, rec in records.items():
        env = dict(rec.get("environment") or {})
        env["commit"] = rec.get("commit", "unknown")
        key = json.dumps(env, sort_keys=True)
        envs.setdefault(key, (env, []))[1].append(name)
    for env, names in envs.values():
        if len(envs) > 1:
            out += [f"Used by: {', '.join(names)}", ""]
        out += [_table(["", "version"], sorted(env.items())), ""]

    out += [
        "## Results",
        "",
        f"Each chapter ends by writing its headline numbers to `<results_dir>/<chapter>.json` "
        f"(here `{results_dir.name}/`); they are collected below.",
        "",
    ]
    for chapter in notebooks:
        path = results_dir / f"{chapter.name}.json"
        if chapter.name not in records or not path.is_file():
            continue
        data = json.loads(path.read_text())
        out += [f"### {chapter.title}", "", f"`{path.name}`", ""]
        out += [_table(["key", "value"], flatten(data)), ""]
        out += [
            f":::{{dropdown}} Full JSON ({path.name})",
            "```json",
            json.dumps(data, indent=2, sort_keys=True),
            "```",
            ":::",
            "",
        ]
    return "\n".join(out)


def _scale_out(bench: Path) -> list[str]:
    """The committed sweep benchmark (``scripts/bench_sweep.py``), when there is one."""
    if not bench.is_file():
        return []
    b = json.loads(bench.read_text())
    n, workers = b["settings"]["n"], b["settings"]["workers"]
    rows = [
        ["local (one process)", _duration(b["local"]["seconds"]), "", "1.00"],
        [
            f"Dask, {workers} workers",
            _duration(b["dask"]["seconds"]),
            _duration(b["dask"]["startup_seconds"]),
            f"{b['speedup']:.2f}",
        ],
    ]
    return [
        "## Scale out",
        "",
        f"One sweep of {n} trainings ({b['settings']['steps']} steps each), run by "
        "`helpers.sweep.run` locally and on a Dask `LocalCluster` "
        f"(`benchmarks/sweep.json`, {b['date']}; rerun `python scripts/bench_sweep.py`). "
        f"Same cache keys and weights in both: {b['identical']}.",
        "",
        _table(["executor", "wall time", "cluster start-up", "speed-up"], rows),
        "",
    ]


def _book_times(bench: Path, order: Sequence[str] = ()) -> list[str]:
    """The committed whole-book wall times (``scripts/book_times.py``), when there are any:
    one row per preset and state against the preset's budget, then each run's chapters
    (in the book's ``order``; chapters not in it last)."""
    if not bench.is_file():
        return []
    runs = json.loads(bench.read_text())["runs"]
    within = {True: "yes", False: "**no**", None: "-"}
    rows = [
        [
            f"`{r['preset']}`",
            r["state"],
            _duration(r["total_s"]),
            "-" if r["budget_min"] is None else _duration(60 * r["budget_min"]),
            within[r["within_budget"]],
            ", ".join(r["deferred"]) or "-",
            f"{r['machine']['cpus']} x {r['machine']['cpu']}",
            r["date"],
        ]
        for r in runs
    ]
    out = [
        "## Whole-book wall times",
        "",
        "Whole-book builds timed on the machine named, each from one run "
        "(`benchmarks/book_times.json`; rerun `python scripts/book_times.py` after a build). "
        "Cold: an empty data cache, so every network is trained and every map computed; "
        "warm: all of it cached. The budget is the preset table's `book_budget_min`; a "
        "chapter left out is one the preset's `book_deferred` names (the reason is below).",
        "",
        _table(
            ["preset", "state", "wall time", "budget", "within", "left out", "CPU", "date"], rows
        ),
        "",
    ]
    for r in runs:
        rank = {n: i for i, n in enumerate(order)}
        names = sorted(r["chapters"], key=lambda n: (rank.get(n, len(rank)), n))
        chapter_rows = [[n, _duration(r["chapters"][n])] for n in names]
        out += [f":::{{dropdown}} `{r['preset']}`, {r['state']}: each chapter", ""]
        out += [_table(["chapter", "wall time"], chapter_rows), ""]
        out += [f"Left out: {n}, because {why}." for n, why in r["deferred"].items()]
        out += ["", ":::", ""]
    return out


def _seed_agreement(bench: Path) -> list[str]:
    """The committed table of verdicts over seeds (``scripts/verdict_seeds.py``), if any."""
    return seed_agreement_lines(json.loads(bench.read_text())) if bench.is_file() else []


def seed_agreement_lines(b: dict[str, Any]) -> list[str]:
    """Markdown lines of a verdicts-over-seeds table (``scripts/verdict_seeds.py``'s JSON:
    ``date`` and ``claims``), one column per benchmark seed."""
    seeds = sorted({s for r in b["claims"] for s in r["benchmark"]}, key=int)
    rows = [
        [
            r["chapter"],
            r["claim"],
            f"`{r['rule_source'].rsplit('.', 1)[-1]}`",
            r["null_or_test"],
            r["embedded"] or "-",
            *[r["benchmark"].get(s) or "-" for s in seeds],
            f"{r['seeds_agreeing']} of {r['seeds_run']}",
        ]
        for r in b["claims"]
    ]
    header = ["chapter", "claim", "rule", "null or test", "embedded"]
    header += [f"benchmark, seed {s}" for s in seeds] + ["seeds agreeing"]
    return [
        "## Verdicts across seeds",
        "",
        "Every claim the reproduction chapters decide, at `embedded` and at `benchmark` with "
        "each seed (`benchmarks/verdict_seeds.json`, run on "
        f"{b['date']}; rerun `python scripts/verdict_seeds.py`). The rule is the named "
        "function's docstring in `helpers`; an outcome that changes with the seed is not "
        "a finding at that preset. A row with fewer seeds depends on no trained network "
        "(`models_and_data` scores released weights).",
        "",
        _table(header, rows),
        "",
    ]


def write_favicon_ico(path: Path) -> None:
    """Draw the book's icon (as in ``_static/favicon.svg``) into ``favicon.ico``.

    Browsers ask the site root for ``/favicon.ico`` on pages without an icon link (Jupyter
    Book's redirecting ``index.html``); serving one keeps the console free of 404s.
    """
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, 31, 31), radius=6, fill="#1f4e79")
    for box, colour in [
        ((4, 4, 15, 15), "#9cc3e6"),
        ((16, 16, 27, 27), "#9cc3e6"),
        ((16, 4, 21, 9), "#ffffff"),
        ((22, 10, 27, 15), "#ffffff"),
    ]:
        draw.rectangle(box, fill=colour)
    img.save(path, format="ICO", sizes=[(32, 32), (16, 16)])

"""Every decided claim of the five reproduction chapters, at ``embedded`` and over seeds at
``benchmark``: its rule (the verdict function's docstring), its null or test, the unit
tests that decide it both ways, and how many seeds agree.

A verdict that flips with the seed is not a finding (the zoo's DI moved by 0.1-0.2 between
two machines of one kind with one seed), so each chapter is run at ``benchmark`` with
``--seed 0``, ``1`` and ``2`` and the outcomes are compared here::

    for s in 0 1 2; do
      python -m helpers.book --preset benchmark --seed $s --no-html --build-dir build_s$s
    done
    python scripts/verdict_seeds.py --run embedded:0:build/results \\
        --run benchmark:0:build_s0/results --run benchmark:1:build_s1/results \\
        --run benchmark:2:build_s2/results --out benchmarks/verdict_seeds.json

A ``--run`` may repeat a preset and seed with another folder (chapters run in separate
build folders); a chapter missing from every folder of a run is left out of that run.
Prints a Markdown table; ``--out`` writes the same as JSON.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from helpers import results  # noqa: E402
from helpers.attribution import verdicts as di_verdicts  # noqa: E402
from helpers.attribution import verdicts_lam  # noqa: E402
from helpers.book.builtwith import seed_agreement_lines  # noqa: E402
from helpers.files import write_json  # noqa: E402
from helpers.models import verdicts as model_verdicts  # noqa: E402
from helpers.texture import verdicts as tex_verdicts  # noqa: E402
from helpers.verdict import agreement  # noqa: E402

#: (chapter, claim) -> (the function that decides it, its null or test in a few words).
CLAIMS: dict[tuple[str, str], tuple[Callable[..., Any], str]] = {
    ("models_and_data", "reproduces_published"): (
        model_verdicts.reproduces_published,
        "abs(delta) <= 0.05 dB per network, set, scale",
    ),
    ("lam", "completeness"): (verdicts_lam.completeness, "error <= 5% at 50 steps, falling"),
    ("lam", "fig3_blur_path_edges"): (
        verdicts_lam.blur_path_edges,
        "sign-flip permutation of per-case edge-share differences",
    ),
    ("lam", "global_vs_local"): (verdicts_lam.global_vs_local, "ratio of mean DI > 1.5"),
    ("lam", "trained_vs_released"): (
        verdicts_lam.trained_vs_released,
        "premise measured (released wide, book-trained not)",
    ),
    ("di_vs_psnr", "1_di_vs_psnr"): (
        di_verdicts.psnr_vs_log_di,
        "r and rho > 0.8, both p < 0.05 (null: no association)",
    ),
    ("di_vs_psnr", "2_di_vs_receptive_field"): (
        di_verdicts.receptive_field_vs_di,
        "Spearman rho > 0, p < 0.05; min global DI <= widest CNN's",
    ),
    ("di_vs_psnr", "3_di_vs_scale"): (di_verdicts.scale_trends, "signs of 4 sweep trends"),
    ("di_vs_psnr", "4_di_vs_content"): (
        di_verdicts.content_vs_di,
        "Spearman rho(DI, periodicity) > 0, p < 0.05",
    ),
    ("texture_profiles", "entropy_psnr"): (
        tex_verdicts.entropy_psnr,
        "Pearson r < -0.3, p < 0.01 (null: r = 0)",
    ),
    ("texture_profiles", "entropy_spread"): (
        tex_verdicts.entropy_spread,
        "bootstrap 95% CI of within-bin SD vs 1 dB",
    ),
    ("texture_profiles", "manifold"): (
        tex_verdicts.manifold_overlap,
        "top-label share < 80% in > 50% of clusters",
    ),
    ("texture_profiles", "profiles"): (
        tex_verdicts.profiles_differ,
        "JS above the 95th pct of a label-permutation null (>= 200 draws)",
    ),
    ("texture_profiles", "hard_labels"): (
        tex_verdicts.labels_consistently_hard,
        "Kendall's W, Friedman chi-square p < 0.05",
    ),
    ("texture_profiles", "per_label"): (
        tex_verdicts.per_label_margins,
        "inconclusive below 0.2 dB overall gain",
    ),
    ("texture_profiles", "high_vs_all"): (tex_verdicts.high_vs_all, "difference > 0.1 dB"),
    ("semantic_consistency", "claim1"): (
        tex_verdicts.sr_changes_labels,
        "bootstrap 95% CI vs the paper's 31-54% range",
    ),
    ("semantic_consistency", "claim2"): (
        tex_verdicts.bicubic_keeps_fewer,
        "paired bootstrap 95% CI of SR - bicubic",
    ),
    ("semantic_consistency", "flips"): (tex_verdicts.most_frequent_flips, "none (descriptive)"),
    ("semantic_consistency", "psnr"): (
        tex_verdicts.consistency_psnr,
        "median AUC > 0.55; Mann-Whitney per model",
    ),
}
CHAPTERS = tuple(dict.fromkeys(ch for ch, _ in CLAIMS))


def rule_of(fn: Callable[..., Any]) -> str:
    """The ``Rule:`` paragraph of a verdict function's docstring, on one line."""
    paras = (inspect.getdoc(fn) or "").split("\n\n")
    rule = next((p for p in paras if p.startswith("Rule")), paras[0])
    return " ".join(rule.split())


def tests_calling(names: set[str], test_dir: Path = REPO / "tests") -> dict[str, list[str]]:
    """For each function name, the tests (``file::test``) whose body calls it."""
    found: dict[str, list[str]] = {n: [] for n in names}
    for path in sorted(test_dir.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test")):
                continue
            called = {
                c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", "")
                for c in ast.walk(node)
                if isinstance(c, ast.Call)
            }
            for n in names & called:
                found[n].append(f"{path.relative_to(REPO)}::{node.name}")
    return found


def collect(runs: list[tuple[str, int, Path]]) -> dict[tuple[str, int], dict[str, dict]]:
    """(preset, seed) -> chapter -> {claim: outcome}, from every folder given for a run."""
    out: dict[tuple[str, int], dict[str, dict]] = {}
    for preset, seed, folder in runs:
        for chapter in CHAPTERS:
            path = folder / f"{chapter}.json"
            if path.exists():
                values = results.read_results(folder, chapter)
                if values.get("preset") != preset:
                    raise SystemExit(f"{path} was written at preset {values.get('preset')!r}")
                out.setdefault((preset, seed), {})[chapter] = results.outcomes(chapter, values)
    return out


def table(found: dict[tuple[str, int], dict[str, dict]]) -> list[dict[str, Any]]:
    """One row per decided claim (models_and_data: per released network)."""
    seeds = sorted(s for p, s in found if p == "benchmark")
    tests = tests_calling({fn.__name__ for fn, _ in CLAIMS.values()})
    rows = []
    claims = {(ch, c) for run in found.values() for ch, oc in run.items() for c in oc}
    order = {k: i for i, k in enumerate(CLAIMS)}
    for chapter, claim in sorted(claims, key=lambda k: (order[(k[0], k[1].split("[")[0])], k)):
        fn, null = CLAIMS[(chapter, claim.split("[")[0])]
        by_seed = {s: found[("benchmark", s)].get(chapter, {}).get(claim) for s in seeds}
        done = [o for o in by_seed.values() if o is not None]
        modal, agree = agreement(done) if done else (None, 0)
        rows.append(
            {
                "chapter": chapter,
                "claim": claim,
                "rule": rule_of(fn),
                "rule_source": f"{fn.__module__}.{fn.__name__}",
                "null_or_test": null,
                "unit_tests": tests[fn.__name__],
                "embedded": found.get(("embedded", 0), {}).get(chapter, {}).get(claim),
                "benchmark": {str(s): o for s, o in by_seed.items()},
                "benchmark_modal": modal,
                "seeds_agreeing": agree,
                "seeds_run": len(done),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--run",
        action="append",
        required=True,
        metavar="PRESET:SEED:DIR",
        help="a results folder of one preset and seed (repeat; a run may span folders)",
    )
    ap.add_argument("--out", type=Path, help="write the table as JSON here")
    args = ap.parse_args(argv)
    runs = []
    for spec in args.run:
        preset, seed, folder = spec.split(":", 2)
        if not Path(folder).is_dir():
            ap.error(f"--run {spec}: {folder} is not a folder")
        runs.append((preset, int(seed), Path(folder)))
    meta = [{"preset": p, "seed": s, "folder": str(f)} for p, s, f in runs]
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    found = {"date": date, "runs": meta, "claims": table(collect(runs))}
    print("\n".join(seed_agreement_lines(found)))  # as the built-with page renders it
    if args.out:
        write_json(args.out, found)


if __name__ == "__main__":
    main()

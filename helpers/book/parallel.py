"""Chapters in parallel on a Dask cluster: ``python -m helpers.book --executor dask``.

Chapters share nothing but the content-addressed cache (:mod:`helpers.cache`), so two of
them can run at once and give what each gives alone. A chapter only waits for the
chapters of :data:`AFTER` that are in the same run: the ones that train what it reuses
(the zoo, the texture classifier), so that two workers do not train one network twice.
At most as many chapters run at once as the cluster has worker threads.

Each chapter runs in a worker process (its kernel a child of that process), with the
kernel's output in ``build/logs/<chapter>.log`` as in a sequential run; the terminal gets
a line per chapter started and finished. After a failure no further chapter starts; the
running ones finish, then the first failure is raised (:class:`ChapterFailed`, naming the
chapter and cell, as sequentially). The chapter task leaves the worker's thread pool
(``secede``) while its kernel runs, so a kernel whose sweeps go to the same cluster
(``HELPERS_EXECUTOR=dask``, :mod:`helpers.sweep`) cannot deadlock it.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from .. import sweep
from .chapters import Chapter
from .environment import git_commit, kernel_environment
from .errors import ChapterFailed
from .plan import Plan

#: chapter -> chapters whose cached work it reuses (they finish first when both run).
AFTER: dict[str, tuple[str, ...]] = {
    "lam": ("models_and_data",),
    "di_vs_psnr": ("models_and_data",),
    "texture_profiles": ("models_and_data",),
    "semantic_consistency": ("models_and_data", "texture_profiles"),
    "texture_loss_sr": ("models_and_data", "texture_profiles"),
    "degradation_semantics": ("models_and_data", "texture_profiles"),
}


def ready(pending: list[Chapter], done: set[str], names: set[str]) -> list[Chapter]:
    """The chapters of ``pending`` whose :data:`AFTER` chapters in ``names`` are all done."""
    return [c for c in pending if all(d in done or d not in names for d in AFTER.get(c.name, ()))]


def _run_chapter(book: Any, chapter: Chapter, parameters: dict[str, Any], options: dict) -> dict:
    """The task a worker runs: one chapter, outside the worker's thread pool."""
    from distributed import secede  # optional dependency: only on a Dask worker

    with contextlib.suppress(ValueError):  # not inside a task (a synchronous test client)
        secede()
    return book.execute(chapter, parameters, sync=False, **options)


def execute(
    book: Any,
    plan: Plan,
    *,
    cell_timeout: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """Execute the plan's chapters on a Dask cluster (``scheduler``'s, or a new
    ``LocalCluster`` of ``workers`` processes); their run records, in completion order."""
    from distributed import as_completed  # optional dependency: only with --executor dask

    if not plan.executed:
        return []
    book.sync_copy()
    options = {
        "kernel": plan.kernel,
        "cell_timeout": cell_timeout,
        "environment": kernel_environment(plan.kernel),
        "commit": git_commit(),
    }
    names = {c.name for c in plan.executed}
    pending, done, records = list(plan.executed), set(), []
    failure: ChapterFailed | None = None
    with sweep.client(scheduler, workers) as client:
        slots = max(1, sum(w["nthreads"] for w in client.scheduler_info()["workers"].values()))
        running = as_completed()
        owner: dict[Any, str] = {}

        def start() -> None:
            for c in ready(pending, done, names)[: slots - len(owner)]:
                pending.remove(c)
                fut = client.submit(
                    _run_chapter, book, c, plan.parameters[c.name], options, pure=False
                )
                owner[fut] = c.name
                running.add(fut)
                print(f"{c.name}: started", file=sys.stderr, flush=True)

        start()
        for fut in running:
            name = owner.pop(fut)
            try:
                record = fut.result()
            except ChapterFailed as exc:
                failure = failure or exc
                print(f"{name}: failed", file=sys.stderr, flush=True)
                continue
            done.add(name)
            records.append(record)
            print(f"{name}: {record['wall_s']:.1f} s", file=sys.stderr, flush=True)
            if failure is None:
                start()
    if failure is not None:
        raise failure
    return records

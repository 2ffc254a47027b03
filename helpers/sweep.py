"""Sweeps: a list of independent jobs run one after another, or on a Dask cluster.

One function, :func:`run`, maps a job over items with ``executor="local"`` (this process,
in order: the default) or ``executor="dask"`` (a ``dask.distributed`` client: a
``LocalCluster`` of ``workers`` processes here, or the scheduler at ``scheduler``, e.g.
``tcp://host:8786``, or a dask-jobqueue Slurm cluster's address). The zoo, the DI family
and the attribution prior's tables train their networks through it (:func:`prefetch`):
the workers train into the one content-addressed cache (:mod:`helpers.cache`), and this
process then loads every result from there, so a sweep on Dask gives the same cache keys
and the same weights as a local one (tests/test_sweep.py, on a 2-worker ``LocalCluster``).

Defaults come from the environment, so a chapter's sweeps follow the book runner's
``--executor dask --scheduler ...`` without a parameter of their own: ``HELPERS_EXECUTOR``
(``local`` | ``dask``) and ``HELPERS_SCHEDULER`` (an address; unset: a ``LocalCluster``).
Workers must see the same ``HELPERS_DATA_DIR`` (a shared file system on a cluster; a
``LocalCluster`` inherits this process's environment).

Each job runs with ``threads`` torch threads (default: this process's count), because
the thread count changes a training's floating-point result.

May import: nothing of ``helpers`` (torch and dask lazily: the book runner imports this
module; dask is an optional dependency, ``pip install -e '.[scale]'``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

EXECUTOR_ENV = "HELPERS_EXECUTOR"
SCHEDULER_ENV = "HELPERS_SCHEDULER"
EXECUTORS = ("local", "dask")


def check_executor(executor: str | None = None) -> str:
    """Return ``executor`` (``None``: ``$HELPERS_EXECUTOR``, else ``"local"``) or raise
    ``ValueError`` listing the valid ones."""
    if executor is None:
        executor = os.environ.get(EXECUTOR_ENV) or "local"
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; valid: {list(EXECUTORS)}")
    return executor


@contextmanager
def client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A ``dask.distributed.Client``: connected to ``scheduler`` (default
    ``$HELPERS_SCHEDULER``), or to a new ``LocalCluster`` of ``workers`` single-threaded
    processes (default 2), closed on exit."""
    try:  # optional: only sweeps on Dask need it
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - the dev environment has it
        raise ImportError(
            "executor='dask' needs dask.distributed: pip install -e '.[scale]'"
        ) from err
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address:
        with Client(address) as c:
            yield c
        return
    n = 2 if workers is None else int(workers)
    if n < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


class _Job:
    """``fn`` run with ``threads`` torch threads; its result kept or dropped (a class, not
    a closure, so it pickles by reference)."""

    def __init__(self, fn: Callable[[Any], Any], threads: int, keep: bool = True) -> None:
        self.fn, self.threads, self.keep = fn, threads, keep

    def __call__(self, item: Any) -> Any:
        import torch  # lazily: the book runner imports this module and stays light

        torch.set_num_threads(self.threads)
        out = self.fn(item)
        return out if self.keep else None


def run(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    executor: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    keep: bool = True,
) -> list[Any]:
    """``[fn(item) for item in items]``, in order, on ``executor`` (default
    ``$HELPERS_EXECUTOR``, else ``"local"``: :func:`check_executor`).

    ``fn`` and the items must pickle for ``"dask"`` (module-level functions,
    ``functools.partial`` of them, plain data); the results travel back, so let a job that
    makes something large (a network) store it in the cache and return a small value.
    ``threads``: torch threads per job (default ``torch.get_num_threads()`` here). An
    exception in a job is raised here. ``keep=False`` returns ``None`` per item (jobs run
    for their side effect) and, on Dask, lets the other jobs finish when one fails.
    """
    import torch  # lazily, as in _Job

    items = list(items)
    executor = check_executor(executor)
    threads = torch.get_num_threads() if threads is None else int(threads)
    job = _Job(fn, threads, keep)
    if executor == "local" or not items:
        before = torch.get_num_threads()
        try:
            return [job(item) for item in items]
        finally:
            torch.set_num_threads(before)
    with client(scheduler, workers) as c:
        futures = c.map(job, items, pure=False)
        if keep:
            return c.gather(futures)
        c.gather(futures, errors="skip")
        return [None] * len(items)


def prefetch(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    executor: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> None:
    """Run ``fn`` on every item on the Dask cluster for its side effect (filling the
    cache; results are dropped), so that the caller's own ``fn(item)`` calls afterwards
    load instead of computing. A job that fails is left to the caller's own call, which
    computes it again and raises (or reports) the error where it is handled. A no-op with
    the local executor (the caller's calls do the work, in order, as before)."""
    if check_executor(executor) == "local":
        return
    run(fn, items, executor, scheduler, workers, keep=False)

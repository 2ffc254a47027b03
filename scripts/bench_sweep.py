"""Benchmark: one training sweep run locally and on a 2-worker Dask ``LocalCluster``.

The same ``--n`` training configs (EDSR 4x16 at x2 on the embedded training set, seeds
0..n-1, ``--steps`` steps) are trained twice, each time into an empty cache:

- ``local``: :func:`helpers.sweep.run` with ``executor="local"`` (this process, one after
  another, one torch thread);
- ``dask``: the same call with ``executor="dask"`` on a ``LocalCluster`` of ``--workers``
  single-threaded worker processes (cluster start-up timed apart from the sweep).

Each job returns its cache key and :func:`helpers.models.weights_digest`; the JSON records
both runs' and whether they are equal (they must be: same keys, same weights), the wall
seconds of each, and the speed-up. Run it on an otherwise idle machine: with two
workers on two cores the ideal is 2x.

Usage::

    python scripts/bench_sweep.py --out benchmarks/sweep.json
    python scripts/bench_sweep.py --out /tmp/s.json --n 2 --steps 20
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import sweep  # noqa: E402
from helpers import train as tr  # noqa: E402
from helpers.io import write_json  # noqa: E402
from helpers.models import weights_digest  # noqa: E402


def config(seed: int, steps: int) -> tr.TrainConfig:
    """The sweep's configs: EDSR 4x16, x2, 32 px HR patches, batch 8."""
    return tr.TrainConfig(
        model="edsr", scale=2, steps=steps, model_kwargs={"n_feats": 16, "n_blocks": 4},
        data="embedded_train", patch=32, batch=8, lr=1e-3, seed=seed,
    )  # fmt: skip


def job(cfg: tr.TrainConfig) -> tuple[str, str]:
    """Train ``cfg`` (or load it) into ``$HELPERS_DATA_DIR``: (cache key, weights digest)."""
    r = tr.train(cfg, progress=False)
    return r.key, weights_digest(r.model)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=6, help="trainings in the sweep")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    configs = [config(s, args.steps) for s in range(args.n)]
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HELPERS_DATA_DIR"] = str(Path(tmp) / "local")
        t0 = time.perf_counter()
        local = sweep.run(job, configs, executor="local", threads=1)
        out["local"] = {"seconds": time.perf_counter() - t0, "results": local}
        print(f"local: {out['local']['seconds']:.1f} s", file=sys.stderr)
        os.environ["HELPERS_DATA_DIR"] = str(Path(tmp) / "dask")  # workers inherit it
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):  # fmt: skip
            start = time.perf_counter() - t0
            t1 = time.perf_counter()
            remote = sweep.run(
                functools.partial(job), configs, executor="dask",
                scheduler=cluster.scheduler_address, threads=1,
            )  # fmt: skip
            out["dask"] = {"seconds": time.perf_counter() - t1, "startup_seconds": start,
                           "results": remote}  # fmt: skip
        print(f"dask: {out['dask']['seconds']:.1f} s (+{start:.1f} s start-up)", file=sys.stderr)
    result = {
        "date": dt.date.today().isoformat(),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "loadavg_end": os.getloadavg(),
        },  # fmt: skip
        "settings": {
            "n": args.n,
            "steps": args.steps,
            "workers": args.workers,
            "config": config(0, args.steps).to_dict(),
        },  # fmt: skip
        "local": out["local"],
        "dask": out["dask"],
        "identical": [tuple(r) for r in local] == [tuple(r) for r in remote],
        "speedup": out["local"]["seconds"] / out["dask"]["seconds"],
        "speedup_with_startup": out["local"]["seconds"]
        / (out["dask"]["seconds"] + out["dask"]["startup_seconds"]),
    }
    write_json(args.out, result)
    print(f"identical: {result['identical']}, speed-up x{result['speedup']:.2f} "
          f"(x{result['speedup_with_startup']:.2f} with start-up)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

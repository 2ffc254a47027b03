"""Sweeps (helpers.sweep) and chapters in parallel (helpers.book.parallel) on Dask: the same
cache keys and weights as a local run, failures reported where they are handled."""

from __future__ import annotations

import functools
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import REPO, make_tiny_book

from helpers import sweep
from helpers import train as tr
from helpers.book import parallel
from helpers.book.chapters import Chapter
from helpers.book.errors import ChapterFailed
from helpers.models import weights_digest

pytestmark = pytest.mark.usefixtures("one_thread")


def _square(x: int) -> int:
    return x * x


def _fail_on_two(x: int) -> int:
    if x == 2:
        raise RuntimeError("two")
    return x


def _threads(_: int) -> int:
    return torch.get_num_threads()


def _config(seed: int) -> tr.TrainConfig:
    return tr.TrainConfig(
        model="fsrcnn", scale=2, steps=4, model_kwargs={"d": 8, "s": 4, "m": 1},
        data="embedded_train", patch=16, batch=2, seed=seed,
    )  # fmt: skip


def test_local_run_keeps_order_threads_and_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sweep.EXECUTOR_ENV, raising=False)
    assert sweep.run(_square, [3, 1, 2]) == [9, 1, 4]
    assert sweep.run(_threads, [0], threads=2) == [2] and torch.get_num_threads() == 1
    with pytest.raises(RuntimeError, match="two"):
        sweep.run(_fail_on_two, [1, 2, 3])
    sweep.prefetch(_fail_on_two, [2])  # locally a no-op: the caller's own call does the work


@pytest.mark.bad_input(
    "an executor that is neither local nor dask (argument or $HELPERS_EXECUTOR)",
    "a ValueError lists the valid executors",
)
def test_bad_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"unknown executor 'ray'; valid: \['local', 'dask'\]"):
        sweep.run(_square, [1], executor="ray")
    monkeypatch.setenv(sweep.EXECUTOR_ENV, "threads")
    with pytest.raises(ValueError, match="unknown executor 'threads'"):
        sweep.run(_square, [1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A 2-worker LocalCluster whose workers cache into ``dask_cache`` (``data``)."""
    from distributed import LocalCluster

    data = tmp_path_factory.mktemp("dask_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HELPERS_DATA_DIR", str(data))  # the workers inherit it
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as c:
            yield c.scheduler_address, data


def test_dask_sweep_trains_what_a_local_run_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cluster
) -> None:
    """Two configs trained on a 2-worker LocalCluster (through the environment defaults, as
    a chapter's sweep under the runner) land in the cache under the local keys with the
    local weights; the caller then loads them (no training) and a failing job does not
    stop the other one."""
    address, data = cluster
    configs = [_config(0), _config(1)]
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "local"))
    local = [tr.train(c, progress=False) for c in configs]
    monkeypatch.setenv("HELPERS_DATA_DIR", str(data))
    monkeypatch.setenv(sweep.EXECUTOR_ENV, "dask")
    monkeypatch.setenv(sweep.SCHEDULER_ENV, address)
    tr.prefetch(configs)
    loaded = [tr.train(c, progress=False) for c in configs]
    assert all(r.cached for r in loaded)
    assert [r.key for r in loaded] == [r.key for r in local]
    assert [weights_digest(r.model) for r in loaded] == [weights_digest(r.model) for r in local]
    assert sweep.run(_square, [1, 2, 3]) == [1, 4, 9]
    assert sweep.run(_threads, [0, 1]) == [1, 1]  # each job runs with the caller's threads
    with pytest.raises(RuntimeError, match="two"):
        sweep.run(_fail_on_two, [1, 2])
    sweep.prefetch(functools.partial(_fail_on_two), [1, 2])  # skipped: the caller redoes it


def test_prior_table_jobs_run_on_dask_under_the_local_key(
    monkeypatch: pytest.MonkeyPatch, cluster
) -> None:
    """The attribution prior's sweep job (a custom loss built on the worker) trains there
    under the key the chapter computes here."""
    from helpers import presets
    from helpers.prior import runs, tables

    address, data = cluster
    monkeypatch.setenv("HELPERS_DATA_DIR", str(data))
    cfg = presets.get("prior", "smoke")
    job = functools.partial(tables._train_job, cfg, "local")
    variant = {"lam": 1e-2, "scenario": "global_random"}
    keys = sweep.run(job, [(variant, 0), ({}, 0)], executor="dask", scheduler=address)
    assert keys == [tr.config_key(runs.build_run(cfg, "local", v, 0)[0]) for v in (variant, {})]
    assert runs.train_variant(cfg, "local", variant, 0).cached


def test_chapter_failure_pickles_and_dependencies_order_chapters() -> None:
    exc = ChapterFailed("lam", "chapter 'lam' failed in cell 3", cell_index=3, source="x")
    back = pickle.loads(pickle.dumps(exc))
    assert (back.chapter, str(back), back.cell_index, back.source) == ("lam", str(exc), 3, "x")
    chapters = [Chapter(name=n, path=Path(f"{n}.ipynb"), title=n) for n in parallel.AFTER]
    names = {c.name for c in chapters} | {"models_and_data"}
    first = parallel.ready(chapters, set(), names)
    assert first == []  # every chapter of AFTER waits for models_and_data
    second = {c.name for c in parallel.ready(chapters, {"models_and_data"}, names)}
    assert second == {"lam", "di_vs_psnr", "texture_profiles"}
    alone = parallel.ready(chapters[:1], set(), {chapters[0].name})  # its inputs not in the run
    assert [c.name for c in alone] == [chapters[0].name]


def _named_chapter(src: Path, name: str) -> None:
    path = src / f"{name}.ipynb"
    path.write_text(path.read_text().replace('\\"tiny_chapter\\"', f'\\"{name}\\"'))


@pytest.mark.timeout(600)
def test_runner_executes_chapters_in_parallel_on_dask(tmp_path: Path, sr_kernel: str) -> None:
    src = make_tiny_book(tmp_path, chapters=("tiny_a", "tiny_b"))
    for name in ("tiny_a", "tiny_b"):
        _named_chapter(src, name)
    build = tmp_path / "build"
    cmd = [sys.executable, "-m", "helpers.book", "--book", str(src), "--build-dir", str(build)]
    cmd += ["--kernel", sr_kernel, "--preset", "smoke", "--no-html", "--executor", "dask"]
    done = subprocess.run(cmd + ["--workers", "2"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("tiny_a", "tiny_b"):
        assert f"{name}: started" in done.stderr
        assert json.loads((build / "results" / f"{name}.json").read_text())["preset"] == "smoke"
        assert json.loads((build / "runs" / f"{name}.json").read_text())["wall_s"] > 0
        assert (build / "book" / f"{name}.ipynb").is_file()
    failing = subprocess.run(cmd + ["-p", "fail", "True"], cwd=REPO, capture_output=True, text=True)
    assert failing.returncode == 1
    assert re.search(r"chapter 'tiny_[ab]' failed in cell 4 of tiny_[ab]\.ipynb", failing.stderr)


def test_train_zoo_is_zoo_model_per_member_and_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers.networks import zoo

    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(sweep.EXECUTOR_ENV, raising=False)
    runs = zoo.train_zoo(["fsrcnn", "edsr_s"], [2, 4], "smoke", seed=1)
    assert list(runs) == [("fsrcnn", 2), ("edsr_s", 2), ("fsrcnn", 4), ("edsr_s", 4)]
    for (name, s), run in runs.items():
        assert run.key == tr.config_key(zoo.zoo_config(name, s, "smoke", 1))
        again = zoo.zoo_model(name, s, "smoke", seed=1, progress=False)
        assert again.cached and weights_digest(again.model) == weights_digest(run.model)


@pytest.mark.bad_input(
    "--scheduler or --workers without --executor dask, or --workers below 1",
    "exit 2 before any kernel starts, saying which options go together",
)
def test_runner_dask_options_checked_before_any_kernel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers.book import runner

    src = make_tiny_book(tmp_path)
    common = ["--book", str(src), "--build-dir", str(tmp_path / "b"), "--no-html"]
    assert runner.run(common + ["--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--scheduler and --workers go with --executor dask" in capsys.readouterr().err
    assert runner.run(common + ["--executor", "dask", "--workers", "0"]) == 2
    assert "--workers must be >= 1, got 0" in capsys.readouterr().err


def test_committed_sweep_benchmark_matches_and_is_rendered() -> None:
    """``benchmarks/sweep.json`` (scripts/bench_sweep.py): the Dask sweep trained the same
    keys and weights as the local one, faster on 2 workers, and the built-with page shows
    it."""
    from helpers.book import builtwith

    path = REPO / "benchmarks" / "sweep.json"
    bench = json.loads(path.read_text())
    local, remote = bench["local"]["results"], bench["dask"]["results"]
    assert bench["identical"] and local == remote and len(local) == bench["settings"]["n"]
    assert len({key for key, _ in local}) == bench["settings"]["n"]  # n distinct trainings
    assert bench["speedup"] > 1 and bench["settings"]["workers"] == 2
    page = "\n".join(builtwith._scale_out(path))
    assert "## Scale out" in page and "Dask, 2 workers" in page

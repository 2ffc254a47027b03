"""The caches under concurrency and faults: two processes on one entry, SIGKILL mid-training,
mid-map and mid-write, a full disk.

Each test runs real processes (a small worker script, one CPU thread each so that separate
processes compute bit-identical numbers) on a tiny network, and is a row of the book's page
"What bad input gets" (marker ``bad_input``).
"""

from __future__ import annotations

import errno
import io as pyio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from helpers import cache
from helpers import files as hio

REPO = Path(__file__).resolve().parents[1]
#: Seconds a worker may take before the test fails instead of hanging.
TIMEOUT = 90.0
pytestmark = pytest.mark.timeout(240)

# One training run ("train OUT STEPS CKPT_EVERY"), one LAM map ("lam OUT") or one slow
# atomic write ("write OUT PATH") in the cache $HELPERS_DATA_DIR. It writes OUT.key (the
# entry's key and path) first, OUT.ready when it is at the barrier ($FAULTS_GO: wait for
# that file), OUT (the final weights / map) and a JSON line on stdout at the end.
# $FAULTS_SLOW stalls each training step / network forward that many seconds, so that a
# kill lands mid-run; it is not part of any key.
WORKER = r'''
import json, os, sys, time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

torch.set_num_threads(1)  # bit-identical numbers in every worker process

from helpers import io, train as tr
from helpers.attribution.cache import cache_path, cached_lam, lam_key
from helpers.models import build

mode, out = sys.argv[1], Path(sys.argv[2])
slow = float(os.environ.get("FAULTS_SLOW", "0"))


def mark(suffix, text=""):
    # Written whole, then renamed: the test may read it the moment it exists.
    tmp = out.with_name(out.name + suffix + ".part")
    tmp.write_text(text)
    os.replace(tmp, out.with_name(out.name + suffix))


def barrier():
    go = os.environ.get("FAULTS_GO")
    if go:
        mark(".ready")
        t0 = time.time()
        while not Path(go).exists():
            if time.time() - t0 > 60:
                sys.exit("barrier: no go after 60 s")
            time.sleep(0.005)


if mode == "train":
    steps, every = int(sys.argv[3]), int(sys.argv[4])
    g = torch.Generator().manual_seed(1)
    images = [torch.rand(1, 3, 32, 32 + 8 * i, generator=g) for i in range(2)]
    config = tr.TrainConfig(
        model="fsrcnn", scale=2, steps=steps, model_kwargs={"d": 8, "s": 4, "m": 1},
        data="unit-test-faults", patch=16, batch=2, seed=3, loss="l1_counted",
    )
    calls = [0]

    def loss(sr, hr, lr, model):
        calls[0] += 1  # steps this process trained (fewer than `steps` when it resumed)
        time.sleep(slow)
        return F.l1_loss(sr, hr)

    key, path = tr.config_key(config), tr.checkpoint_path(config)
    mark(".key", json.dumps({"key": key, "path": str(path)}))
    barrier()
    res = tr.train(config, loss, images, ckpt_every=every, progress=False)
    torch.save(res.model.state_dict(), out)
    info = {"steps_run": calls[0], "cached": res.cached}
elif mode == "lam":

    class Watched(nn.Module):
        """The tiny network, telling the test when the map has started (and stalling)."""

        def __init__(self, model):
            super().__init__()
            self.model, self.scale = model, model.scale
            self.receptive_field = model.receptive_field

        def forward(self, x):
            mark(".computing")
            time.sleep(slow)
            return self.model(x)

    torch.manual_seed(0)
    net = Watched(build("edsr", 2, n_feats=8, n_blocks=1))
    image = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    window = (12, 12, 8)
    key = lam_key(net, image, window, steps=6)
    mark(".key", json.dumps({"key": key, "path": str(cache_path(key))}))
    barrier()
    res = cached_lam(net, image, window, steps=6)
    torch.save({"map": res.map}, out)
    info = {"cached": res.cached}
else:  # "write": a large payload written slowly, to be killed mid-write

    def crawl(tmp):
        with open(tmp, "wb") as f:
            for _ in range(100_000):
                f.write(b"x" * 4096)
                f.flush()
                time.sleep(0.01)

    io.atomic_write(sys.argv[3], crawl)
    info = {}
print(json.dumps(info))
'''


class Workers:
    """Starts worker processes on a cache folder, and kills any left at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.script = tmp_path / "worker.py"
        self.script.write_text(WORKER)
        self.procs: list[subprocess.Popen] = []

    def start(
        self,
        data: Path,
        mode: str,
        out: Path,
        *args: Any,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen:
        """A worker ``mode`` writing ``out``, with ``$HELPERS_DATA_DIR`` = ``data``."""
        full_env = {
            **os.environ,
            "HELPERS_DATA_DIR": str(data),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            **(env or {}),
        }
        with open(f"{out}.stdout", "w") as so, open(f"{out}.stderr", "w") as se:
            proc = subprocess.Popen(
                [sys.executable, str(self.script), mode, str(out), *map(str, args)],
                env=full_env,
                cwd=REPO,
                stdout=so,
                stderr=se,
            )
        proc.out = out  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def finish(self, proc: subprocess.Popen) -> dict[str, Any]:
        """Wait for ``proc`` (failing after :data:`TIMEOUT`); its exit 0 and JSON line."""
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"worker {proc.args} hung for {TIMEOUT} s")
        err = Path(f"{proc.out}.stderr").read_text()  # type: ignore[attr-defined]
        assert proc.returncode == 0, err[-3000:]
        out = Path(f"{proc.out}.stdout").read_text()  # type: ignore[attr-defined]
        return json.loads(out.strip().splitlines()[-1])

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL ``proc``: no handler, no ``finally``, as when the machine kills it."""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)
        assert proc.returncode == -signal.SIGKILL

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture()
def workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "data"))
    w = Workers(tmp_path)
    yield w
    w.close()


def wait_for(ready: Callable[[], bool], *procs: subprocess.Popen, timeout: float = TIMEOUT) -> None:
    """Poll ``ready()`` until true; fail if a worker exits first or it takes too long."""
    t0 = time.monotonic()
    while not ready():
        for proc in procs:
            if proc.poll() is not None:
                err = Path(f"{proc.out}.stderr").read_text()  # type: ignore[attr-defined]
                pytest.fail(f"worker exited ({proc.returncode}) too early: {err[-3000:]}")
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"waited {timeout} s in vain")
        time.sleep(0.005)


def entry_of(proc: subprocess.Popen) -> tuple[str, Path]:
    """The key and path of the cache entry a worker works on."""
    info = json.loads(Path(f"{proc.out}.key").read_text())  # type: ignore[attr-defined]
    return info["key"], Path(info["path"])


def run_together(workers: Workers, tmp_path: Path, starts: list[tuple]) -> list[dict[str, Any]]:
    """Start workers, hold them at a barrier until all are ready, release them at once."""
    go = tmp_path / "go"
    procs = [workers.start(*args, env={"FAULTS_GO": str(go)}) for args in starts]
    wait_for(lambda: all(Path(f"{p.out}.ready").exists() for p in procs), *procs)
    go.touch()
    return [workers.finish(p) for p in procs]


def assert_same_tensors(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.mark.bad_input(
    "two processes train the same network config at once",
    "both finish with equal weights; the cache holds one valid checkpoint",
)
def test_two_processes_training_one_config_share_one_checkpoint(tmp_path, workers):
    data, outs = tmp_path / "data", [tmp_path / "a.pt", tmp_path / "b.pt"]
    # A checkpoint every step: the two keep replacing the one file while the other trains.
    infos = run_together(workers, tmp_path, [(data, "train", o, 30, 1) for o in outs])
    key, path = entry_of(workers.procs[0])
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files
    state = cache.load(path, key, "training checkpoint")
    assert state is not None and state["done"] and state["step"] == 30
    assert_same_tensors(weights(outs[0]), weights(outs[1]))
    assert_same_tensors(weights(outs[0]), state["model"])
    print("steps trained by each process:", [i["steps_run"] for i in infos])


@pytest.mark.bad_input(
    "two processes compute the same LAM map at once",
    "both finish with equal maps; the cache holds one valid map",
)
def test_two_processes_computing_one_map_share_one_entry(tmp_path, workers):
    data, outs = tmp_path / "data", [tmp_path / "a.pt", tmp_path / "b.pt"]
    run_together(workers, tmp_path, [(data, "lam", o) for o in outs])
    key, path = entry_of(workers.procs[0])
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    blob = cache.load(path, key, "LAM cache")
    assert blob is not None
    maps = [weights(o)["map"] for o in outs]
    assert torch.equal(maps[0], maps[1]) and torch.equal(maps[0], blob["result"]["map"])


@pytest.mark.bad_input(
    "training is killed (SIGKILL) mid-run and started again",
    "it resumes from the last checkpoint and ends with the same weights as an unbroken run",
)
def test_training_killed_mid_run_resumes_to_identical_weights(tmp_path, workers):
    steps, every = 40, 4
    ref = workers.start(tmp_path / "ref", "train", tmp_path / "ref.pt", steps, every)
    victim = workers.start(
        tmp_path / "data", "train", tmp_path / "killed.pt", steps, every,
        env={"FAULTS_SLOW": "0.1"},
    )  # fmt: skip
    wait_for(lambda: (tmp_path / "killed.pt.key").exists(), victim)
    key, path = entry_of(victim)
    wait_for(path.exists, victim)  # the first checkpoint is written ...
    workers.kill(victim)  # ... and the run dies somewhere after it
    state = cache.load(path, key, "training checkpoint")
    assert state is not None and not state["done"] and 0 < state["step"] < steps
    done_before = state["step"]

    rerun = workers.finish(
        workers.start(tmp_path / "data", "train", tmp_path / "rerun.pt", steps, every)
    )
    assert not rerun["cached"] and rerun["steps_run"] == steps - done_before  # resumed
    assert workers.finish(ref)["steps_run"] == steps
    assert_same_tensors(weights(tmp_path / "ref.pt"), weights(tmp_path / "rerun.pt"))
    final = cache.load(path, key, "training checkpoint")
    assert final is not None and final["done"] and final["step"] == steps
    print(f"resumed from step {done_before} of {steps}; final weights equal: True")


@pytest.mark.bad_input(
    "a LAM map computation is killed (SIGKILL) before it is saved",
    "no cache entry is left; the rerun computes the same map",
)
def test_map_killed_mid_computation_leaves_no_entry(tmp_path, workers):
    ref = workers.start(tmp_path / "ref", "lam", tmp_path / "ref.pt")
    victim = workers.start(
        tmp_path / "data", "lam", tmp_path / "killed.pt", env={"FAULTS_SLOW": "60"}
    )
    wait_for(lambda: (tmp_path / "killed.pt.computing").exists(), victim)
    workers.kill(victim)  # mid-map: the network has run, nothing is saved yet
    key, path = entry_of(victim)
    assert cache.load(path, key, "LAM cache") is None
    lam_dir = path.parent
    assert not lam_dir.exists() or not any(cache.load(f, key) for f in lam_dir.iterdir())

    rerun = workers.finish(workers.start(tmp_path / "data", "lam", tmp_path / "rerun.pt"))
    assert not rerun["cached"] and not workers.finish(ref)["cached"]
    fresh = weights(tmp_path / "rerun.pt")["map"]
    assert torch.equal(fresh, weights(tmp_path / "ref.pt")["map"])
    blob = cache.load(path, key, "LAM cache")
    assert blob is not None and torch.equal(blob["result"]["map"], fresh)


@pytest.mark.parametrize("before", ["old", "none"])
@pytest.mark.bad_input(
    "a cache write crashes halfway through",
    "the previous entry (or none) stays; no partial or temp file is left",
)
def test_write_crashing_halfway_keeps_the_previous_entry(tmp_path, before):
    path = cache.entry_path("demo", "k", root=tmp_path)
    if before == "old":
        cache.save(path, "k", {"v": torch.ones(3)})
    buf = pyio.BytesIO()
    torch.save({"key": "k", "v": torch.zeros(1000)}, buf)
    payload = buf.getvalue()

    def half_then_crash(tmp: Path) -> None:
        tmp.write_bytes(payload[: len(payload) // 2])
        raise RuntimeError("crashed mid-write")

    with pytest.raises(RuntimeError, match="mid-write"):
        hio.atomic_write(path, half_then_crash)
    assert sorted(tmp_path.rglob("*")) == (
        [path.parent, path] if before == "old" else [path.parent]
    )
    loaded = cache.load(path, "k")
    assert loaded is None if before == "none" else torch.equal(loaded["v"], torch.ones(3))


@pytest.mark.bad_input(
    "a process is killed (SIGKILL) while writing a cache file",
    "the previous entry stays valid; the orphaned temp file is deleted by a later write",
)
def test_write_killed_midway_keeps_the_old_entry_and_the_orphan_is_swept(tmp_path, workers):
    path = cache.entry_path("demo", "k", root=tmp_path / "data")
    cache.save(path, "k", {"v": torch.ones(3)})
    proc = workers.start(tmp_path / "data", "write", tmp_path / "w.out", path)

    def temps() -> list[Path]:
        return list(path.parent.glob(f".{path.name}.*.tmp"))

    wait_for(lambda: any(t.stat().st_size > 4096 for t in temps()), proc)
    workers.kill(proc)
    (orphan,) = temps()
    assert torch.equal(cache.load(path, "k")["v"], torch.ones(3))  # old entry, intact
    cache.save(path, "k", {"v": torch.full((3,), 2.0)})
    assert orphan.exists()  # a fresh temp file may be a live writer's: kept
    stale = time.time() - hio.STALE_TEMP_SECONDS - 60
    os.utime(orphan, (stale, stale))
    cache.save(path, "k", {"v": torch.full((3,), 3.0)})
    assert list(path.parent.iterdir()) == [path]
    assert torch.equal(cache.load(path, "k")["v"], torch.full((3,), 3.0))


@pytest.mark.parametrize("report", ["ENOSPC", "torch RuntimeError"])
@pytest.mark.bad_input(
    "the disk fills up while a cache file is written",
    "an OSError (ENOSPC) names the file and the space, and says to free space or move "
    "HELPERS_DATA_DIR; the old entry stays",
)
def test_full_disk_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch, report):
    path = cache.entry_path("train", "k", root=tmp_path)
    cache.save(path, "k", {"v": torch.ones(3)})
    real_save = torch.save

    def save_until_full(obj: Any, f: Path, *args: Any, **kwargs: Any) -> None:
        buf = pyio.BytesIO()
        real_save(obj, buf)
        Path(f).write_bytes(buf.getvalue()[:3000])  # the disk is full after 3 kB
        if report == "ENOSPC":
            raise OSError(errno.ENOSPC, "No space left on device")
        # What torch.save really raises on a full disk: no errno, no path.
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704")

    monkeypatch.setattr(torch, "save", save_until_full)
    if report != "ENOSPC":
        usage = SimpleNamespace(total=10**9, used=10**9, free=0)
        monkeypatch.setattr(shutil, "disk_usage", lambda p: usage)
    with pytest.raises(OSError) as info:
        cache.save(path, "k", {"v": torch.zeros(10_000)})
    monkeypatch.undo()
    err = info.value
    assert err.errno == errno.ENOSPC and err.filename == str(path)
    message = str(err)
    for words in (str(path), "disk full", "3.0 kB", "free", "HELPERS_DATA_DIR"):
        assert words in message, (words, message)
    assert err.__cause__ is not None  # the original error stays attached
    assert list(path.parent.iterdir()) == [path]
    assert torch.equal(cache.load(path, "k")["v"], torch.ones(3))


def test_an_ordinary_write_error_is_not_called_a_full_disk(tmp_path):
    def broken(tmp: Path) -> None:
        raise ValueError("not a tensor")

    with pytest.raises(ValueError, match="not a tensor"):
        hio.atomic_write(tmp_path / "x.pt", broken)
    assert list(tmp_path.iterdir()) == []

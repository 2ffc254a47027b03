"""Where a chapter ran: the commit of the work tree and the versions the kernel sees.

Both go into every run record and onto the page "How this book was built".
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def git_commit(repo: Path = REPO_ROOT) -> str:
    """``git rev-parse HEAD`` (``+dirty`` when the work tree differs), or ``unknown``."""

    def git(*args: str) -> str:
        cmd = ["git", "-C", str(repo), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout

    try:
        head, dirty = git("rev-parse", "HEAD").strip(), git("status", "--porcelain").strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


_ENV_PROBE = """
import json, platform, sys
out = {"python": platform.python_version(), "platform": platform.platform()}
for mod in ("torch", "torchvision", "numpy", "matplotlib", "papermill", "jupyter_book"):
    try:
        out[mod] = __import__(mod).__version__
    except Exception as exc:
        out[mod] = f"unavailable ({type(exc).__name__})"
try:
    import torch
    out["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    out["torch_threads"] = torch.get_num_threads()
except Exception:
    pass
print(json.dumps(out))
"""


def kernel_environment(kernel: str) -> dict[str, Any]:
    """Versions seen by the kernel's own Python (python, torch, numpy, ...), its device,
    and ``torch_threads``, the CPU threads torch uses under this environment
    (``OMP_NUM_THREADS``): the order of floating-point sums, and so trained weights,
    depends on it, so two runs compare bit for bit only at the same count."""
    from jupyter_client.kernelspec import KernelSpecManager

    try:
        python = KernelSpecManager().get_kernel_spec(kernel).argv[0]
        proc = subprocess.run(
            [python, "-c", _ENV_PROBE], capture_output=True, text=True, timeout=300, check=True
        )
        env = json.loads(proc.stdout.strip().splitlines()[-1])
    except Exception as exc:  # the page still builds; it says what went wrong
        env = {"error": f"{type(exc).__name__}: {exc}"}
    env["kernel"] = kernel
    return env

"""pyproject.toml, environment.yml and constraints.txt agree on the package set and pins.

- every dependency of pyproject (core and extras) is pinned with ``==``;
- environment.yml's pip section lists exactly the same packages at the same versions, and
  asks for the same Python;
- constraints.txt (the full lock) carries each of those pins, installs from the registries
  (no local paths), and matches what is installed in this environment;
- the README's test command is the one ``.ci/run`` runs.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib

import pytest
import yaml
from conftest import REPO

PROJECT = "sr-book-helpers"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(req: str) -> tuple[str, str]:
    """``name[extra]==version ; marker`` -> (normalised name, version or '')."""
    req = req.split(";")[0].strip()
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(==\s*([^\s,]+))?", req)
    assert match, f"not a plain pinned requirement: {req!r}"
    return _norm(match.group(1)), match.group(4) or ""


def pyproject_pins() -> dict[str, str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(data["dependencies"])
    for extra in data.get("optional-dependencies", {}).values():
        reqs += extra
    pins = dict(_split(r) for r in reqs)
    pins.pop(PROJECT, None)  # the dev extra includes the book extra by self-reference
    return pins


def environment_yml() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text())


def conda_pip_pins() -> dict[str, str]:
    deps = environment_yml()["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    return dict(_split(r) for r in pip if not r.startswith("-"))


def constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert "==" in line and "@" not in line and not line.startswith("-"), (
                f"constraints.txt must hold name==version pins from a registry, got {line!r}"
            )
            name, version = _split(line)
            pins[name] = version
    return pins


def test_pyproject_pins_every_dependency() -> None:
    unpinned = [name for name, version in pyproject_pins().items() if not version]
    assert not unpinned, f"pin these in pyproject.toml: {unpinned}"


def test_required_packages_present() -> None:
    pins = pyproject_pins()
    required = [
        "torch", "torchvision", "jupyter-book", "papermill", "nbval", "pytest", "jupyterlab",
        "ipykernel", "seaborn", "scikit-image", "scikit-learn", "umap-learn", "pooch", "tqdm",
        "captum", "ruff",
    ]  # fmt: skip
    missing = [name for name in required if name not in pins]
    assert not missing, f"missing from pyproject.toml: {missing}"
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"
    major, minor, patch = (int(x) for x in re.findall(r"\d+", pins["jupyter-book"])[:3])
    assert (1, 0, 4) <= (major, minor, patch) < (2, 0, 0)


def test_environment_yml_mirrors_pyproject() -> None:
    pins, conda = pyproject_pins(), conda_pip_pins()
    only_pyproject = sorted(set(pins) - set(conda))
    only_conda = sorted(set(conda) - set(pins))
    assert not only_pyproject and not only_conda, (
        f"environment.yml lacks {only_pyproject}; pyproject.toml lacks {only_conda}"
    )
    differ = {n: (pins[n], conda[n]) for n in pins if pins[n] != conda[n]}
    assert not differ, f"pyproject vs environment.yml versions differ: {differ}"


def test_environment_yml_python_matches_requires_python() -> None:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert data["requires-python"] == ">=3.11"
    deps = environment_yml()["dependencies"]
    pythons = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert pythons == ["python=3.11"]


def test_constraints_carry_every_pin() -> None:
    pins, lock = pyproject_pins(), constraints()
    missing = sorted(set(pins) - set(lock))
    assert not missing, f"constraints.txt lacks {missing}; run `make lock`"
    differ = {n: (pins[n], lock[n]) for n in pins if pins[n] != lock[n]}
    assert not differ, f"pyproject vs constraints.txt versions differ: {differ}"
    assert PROJECT not in lock, "the lock must not pin the project itself"


def test_installed_environment_matches_lock() -> None:
    """What is installed here is what constraints.txt says (a stale lock fails)."""
    lock = constraints()
    installed = {_norm(d.metadata["Name"]): d.version for d in md.distributions()}
    differ = {n: (v, installed[n]) for n, v in lock.items() if n in installed and installed[n] != v}
    assert not differ, f"installed versions differ from constraints.txt (lock, installed): {differ}"
    absent = [n for n in pyproject_pins() if n not in installed]
    assert not absent, f"not installed: {absent}; run `make test` to install"


@pytest.mark.parametrize("command", ["make book", "make test"])
def test_readme_names_the_two_commands(command: str) -> None:
    readme = (REPO / "README.md").read_text()
    assert f"\n{command}\n" in readme
    if command == "make test":
        ci = (REPO / ".ci" / "run").read_text()
        assert re.search(r"^\s*(exec\s+)?make test\b", ci, re.M), ".ci/run must run `make test`"

"""helpers.parameters: the one check of a chapter's parameter values, in runner and chapter.

The unit tests compare :func:`check_value` with what the annotation means; the book tests
check that every chapter annotates every parameter, that the choices a chapter declares
are the ones its helpers accept, and that a bad value fails in the chapter's first code
cell under a direct papermill call (and before any kernel under the runner).
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any, Literal

import nbformat
import numpy as np
import pytest
import torch
from conftest import BOOK, NOTEBOOK_CHAPTERS, REPO

from helpers import parameters
from helpers.book import chapters
from helpers.parameters import ParameterError, annotation_from_text, check_value, describe

CHAPTERS = NOTEBOOK_CHAPTERS


@pytest.mark.parametrize(
    ("text", "value", "fitted"),
    [
        ("int", 4, 4),
        ("int | None", None, None),
        ("float", 2, 2.0),
        ("float | None", 0.5, 0.5),
        ("str", "coffee", "coffee"),
        ("bool", False, False),
        ("list[str] | None", ("a", "b"), ["a", "b"]),
        ("list[int]", [2, 4], [2, 4]),
        ('Literal["exact", "fast"]', "fast", "fast"),
        ('Literal["umap", "pca"] | None', None, None),
        ("dict[str, int]", {"a": 1}, {"a": 1}),
        ("Any", object, object),
    ],
)
def test_values_that_fit(text: str, value: Any, fitted: Any) -> None:
    out = check_value("ch", "p", annotation_from_text(text), value)
    assert out == fitted and type(out) is type(fitted)


@pytest.mark.parametrize(
    ("text", "value", "message"),
    [
        ("int | None", "abc", "must be int or None; got 'abc' (str)"),
        ("int", True, "must be int; got True (bool)"),
        ("int", 2.5, "must be int; got 2.5 (float)"),
        ("float", "x", "must be float; got 'x'"),
        ("bool", 1, "must be bool; got 1 (int)"),
        ("list[str] | None", "edsr_m", "must be a list of str or None; got 'edsr_m'"),
        ("list[int]", [2, "4"], "must be a list of int"),
        ('Literal["exact", "fast"]', "fats", "must be one of 'exact', 'fast'; got 'fats'"),
        ("Literal[2, 4]", True, "must be one of 2, 4; got True"),
        ("str", None, "must be str; got None"),
    ],
)
@pytest.mark.bad_input(
    "a chapter parameter of the wrong type or outside its declared choices",
    "refused, naming the chapter, the parameter, the value and what is valid",
)
def test_values_that_do_not_fit(text: str, value: Any, message: str) -> None:
    with pytest.raises(ParameterError, match="parameter 'p' of chapter 'ch' " + _re(message)):
        check_value("ch", "p", annotation_from_text(text), value)


def _re(text: str) -> str:
    import re

    return re.escape(text)


def test_describe() -> None:
    assert describe(annotation_from_text("int | None")) == "int or None"
    assert describe(annotation_from_text("list[str]")) == "a list of str"
    assert describe(Literal["a", "b"]) == "one of 'a', 'b'"


@pytest.mark.bad_input(
    "a parameters cell whose annotation would run code (`__import__('os')`)",
    "refused before anything is evaluated; the allowed names are listed",
)
@pytest.mark.parametrize("text", ["__import__('os')", "int.__class__", "open", "int |"])
def test_annotation_text_cannot_run_code(text: str) -> None:
    with pytest.raises(ParameterError):
        annotation_from_text(text)


def test_check_namespace_fits_in_place_like_a_kernel() -> None:
    ns: dict[str, Any] = {}
    exec("from typing import Literal\nsigma: float = 1.2\nmode: Literal['a', 'b'] = 'a'", ns)
    ns["sigma"] = 2  # what papermill's injected cell does with -p sigma 2
    assert parameters.check_namespace(ns, "lam") == {"sigma": 2.0, "mode": "a"}
    assert ns["sigma"] == 2.0 and isinstance(ns["sigma"], float)
    ns["mode"] = "c"
    with pytest.raises(ParameterError, match="parameter 'mode' of chapter 'lam' must be one of"):
        parameters.check_namespace(ns, "lam")
    with pytest.raises(ParameterError, match="annotates no parameter"):
        parameters.check_namespace({"x": 1}, "lam")


# --------------------------------------------------------------------------- the book


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_parameter_is_annotated_and_checked(name: str) -> None:
    path = BOOK / f"{name}.ipynb"
    params = chapters.parameters_cell(path)
    unannotated = [p.name for p in params.values() if p.annotation is None]
    assert not unannotated, f"{name}: annotate {unannotated} in the parameters cell"
    for p in params.values():  # every default fits its own annotation
        check_value(name, p.name, annotation_from_text(p.annotation), p.default)
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    setup = nb.cells[index + 1].source
    assert f'parameters.check_namespace(globals(), "{name}")' in setup


def _choices(chapter: str, name: str) -> tuple[Any, ...]:
    text = chapters.parameters_cell(BOOK / f"{chapter}.ipynb")[name].annotation
    import typing

    arms = parameters._arms(annotation_from_text(text))
    literal = next(a for a in arms if typing.get_origin(a) is Literal)
    return typing.get_args(literal)


def test_declared_choices_are_what_the_helpers_accept() -> None:
    from helpers.attribution.precision import MODES
    from helpers.metrics import gradient_entropy
    from helpers.texture.profiles import project_2d

    assert set(_choices("lam", "mode")) == set(MODES)
    x = torch.rand(1, 3, 16, 16)
    for op in _choices("texture_profiles", "entropy"):
        assert np.isfinite(np.asarray(gradient_entropy(x, operator=op))).all()
    with pytest.raises(ValueError, match="operator must be"):
        gradient_entropy(x, operator="prewitt")
    projections = _choices("texture_profiles", "projection")
    assert project_2d(np.random.rand(12, 4), "pca").shape == (12, 2)
    with pytest.raises(ValueError) as err:
        project_2d(np.random.rand(12, 4), "tsne")
    assert all(repr(p) in str(err.value) for p in projections)
    from helpers.networks.family import parse_member, train_family

    with pytest.raises(ValueError, match="on_failure"):
        train_family([parse_member("edsr_f16_b2")], 4, "smoke", 0, "cpu", on_failure="ignore")
    assert set(_choices("di_vs_psnr", "on_failure")) == {"skip", "raise"}


@pytest.mark.bad_input(
    "`python -m helpers.book --only lam -p steps abc` (a value of the wrong type)",
    "exit 2 within seconds, before any kernel starts: steps must be int or None",
)
def test_runner_refuses_wrong_type_for_a_real_chapter_up_front() -> None:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "helpers.book", "--only", "lam", "-p", "steps", "abc"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "parameter 'steps' of chapter 'lam' must be int or None; got 'abc'" in proc.stderr
    assert "chapters (" not in proc.stderr  # no progress bar: nothing was executed
    assert time.perf_counter() - t0 < 30


@pytest.mark.bad_input(
    '`-y "f7_lr: 1e-3"` (PyYAML 1.1 reads 1e-3 as a string)',
    "read as the float 0.001, as YAML 1.2 does",
)
def test_yaml_exponent_is_a_float(tmp_path: Any) -> None:
    from helpers.book import make_plan

    plan = make_plan(
        BOOK,
        preset="smoke",
        only=["texture_profiles"],
        yaml_params=["f7_lr: 1e-3"],
        results_dir=tmp_path,
        check_kernel_exists=False,
    )
    assert plan.parameters["texture_profiles"]["f7_lr"] == 0.001


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.bad_input(
    "a direct `papermill book/lam.ipynb out.ipynb -p mode fats` (no runner)",
    "the chapter's first code cell raises ParameterError naming mode and its choices",
)
def test_direct_papermill_fails_at_the_first_cell(tmp_path: Any, sr_kernel: str) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out = tmp_path / "lam.ipynb"
    with pytest.raises(PapermillExecutionError) as err:
        pm.execute_notebook(
            str(BOOK / "lam.ipynb"),
            str(out),
            parameters={"preset": "smoke", "mode": "fats", "results_dir": str(tmp_path)},
            kernel_name=sr_kernel,
            cwd=str(BOOK),
            progress_bar=False,
        )
    assert err.value.ename == "ParameterError"
    assert "parameter 'mode' of chapter 'lam' must be one of 'exact', 'fast', 'bf16'" in (
        err.value.evalue
    )
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = next(i for i, c in enumerate(code) if any(
        o.get("output_type") == "error" for o in c.get("outputs", [])))  # fmt: skip
    # parameters, papermill's injected parameters, then the setup cell that checks them
    assert failed == 2 and "parameters.check_namespace" in code[failed].source

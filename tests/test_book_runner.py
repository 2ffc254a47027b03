"""The runner ``python -m helpers.book``: validation before any kernel starts, and failures.

Fast tests check parsing and validation in-process (with papermill and kernel start-up
patched to explode, proving no kernel is reached). Slow tests run the real command on a
tiny book made of ``tests/fixtures/tiny_chapter.ipynb``: a success end to end (executed
copy, results, "How this book was built" page, HTML), then a failing chapter that must name
the chapter and cell and leave no HTML behind.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import FIXTURES, REPO, make_tiny_book

from helpers.book import BookError, Parameter, builtwith, chapters, make_plan, parse_value, runner
from helpers.book import plan as plan_module
from helpers.book.plan import Plan


@pytest.fixture
def tiny_book(tmp_path: Path) -> Path:
    """A book with the real config and intro plus one tiny notebook chapter."""
    return make_tiny_book(tmp_path)


@pytest.fixture
def models_book(tiny_book: Path) -> Path:
    """The tiny book whose chapter also declares a list and a str parameter."""
    import nbformat

    path = tiny_book / "tiny_chapter.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += '\nmodels = ["edsr_m"]\nlabel = "run"'
    nbformat.write(nb, path)
    return tiny_book


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to execute a notebook or start a kernel fail the test."""
    import jupyter_client
    import papermill

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a kernel was started before the input was validated")

    monkeypatch.setattr(papermill, "execute_notebook", boom)
    monkeypatch.setattr(jupyter_client.KernelManager, "start_kernel", boom)
    monkeypatch.setattr(runner, "kernel_environment", boom)


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helpers.book", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        timeout=900,
    )


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("True", True),
        ("False", False),
        ("None", None),
        ("4", 4),
        ("-2", -2),
        ("0.5", 0.5),
        ("1e-3", 1e-3),
        ("imdn", "imdn"),
        ("[1, 2]", [1, 2]),
        ("('a', 3)", ("a", 3)),
        ("{'k': 1}", {"k": 1}),
        ("[not python", "[not python"),
    ],
)
def test_parse_value_like_papermill(text: str, value: object) -> None:
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_toc_files_walks_parts_and_sections() -> None:
    toc = {
        "root": "intro",
        "parts": [
            {"caption": "A", "chapters": [{"file": "a", "sections": [{"file": "a1.ipynb"}]}]},
            {"caption": "B", "chapters": [{"file": "b"}]},
        ],
    }
    assert chapters.toc_files(toc) == ["intro", "a", "a1.ipynb", "b"]
    pruned = chapters._prune_toc(toc, {"b"})
    assert chapters.toc_files(pruned) == ["intro", "a", "a1.ipynb"]
    assert chapters.toc_files(chapters._append_to_toc(pruned, "built_with"))[-1] == "built_with"


def test_parameters_cell_of_fixture() -> None:
    params = chapters.parameters_cell(FIXTURES / "tiny_chapter.ipynb")
    assert list(params) == ["preset", "results_dir", "seed", "frequency", "n_points", "fail"]
    assert params["frequency"] == Parameter("frequency", 2.0, "2.0", True)


def test_parameters_cell_missing(tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    path = tmp_path / "bare.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(BookError, match="no cell tagged 'parameters'"):
        chapters.parameters_cell(path)


def test_flatten_results() -> None:
    rows = dict(builtwith.flatten({"a": {"b": 1.5, "c": [1, 2]}, "d": list(range(20))}))
    assert rows == {"a.b": 1.5, "a.c": "[1, 2]", "d": "[20 items, see the JSON below]"}


# ----------------------------------------------------------------------- bad input


def _plan(book: Path, tmp_path: Path, **kwargs: object) -> Plan:
    kwargs.setdefault("preset", "smoke")
    return make_plan(book, results_dir=tmp_path / "results", **kwargs)


@pytest.mark.bad_input(
    "an unknown preset (`--preset huge`)",
    "exit 2 before any kernel, listing the presets",
)
def test_unknown_preset_lists_presets(tiny_book: Path, tmp_path: Path, no_kernel: None) -> None:
    with pytest.raises(BookError) as err:
        _plan(tiny_book, tmp_path, preset="huge")
    assert "'huge'" in str(err.value)
    assert "smoke, embedded, benchmark, full" in str(err.value)


@pytest.mark.bad_input(
    "an unknown chapter (`--only lamm`), or a markdown page given as a chapter",
    "exit 2 before any kernel, listing the chapters (and which are markdown pages)",
)
def test_unknown_chapter_lists_chapters(tiny_book: Path, tmp_path: Path, no_kernel: None) -> None:
    with pytest.raises(BookError) as err:
        _plan(tiny_book, tmp_path, only=["lamm"])
    msg = str(err.value)
    assert "unknown chapter 'lamm'" in msg and "tiny_chapter" in msg
    assert "intro are markdown pages" in msg


@pytest.mark.bad_input(
    "a parameter no chosen chapter declares (`-p scale 4` for a chapter without `scale`)",
    "exit 2 before any kernel, listing each chapter's parameters",
)
def test_unknown_parameter_lists_declared(tiny_book: Path, tmp_path: Path, no_kernel: None) -> None:
    with pytest.raises(BookError) as err:
        _plan(tiny_book, tmp_path, params=[("scale", "4")])
    msg = str(err.value)
    assert "unknown parameter 'scale'" in msg
    assert "frequency, n_points, fail" in msg


@pytest.mark.bad_input(
    "a `-p` value of the wrong type for a chapter whose parameter has no annotation",
    "exit 2 before any kernel: the type of the declared default is the contract",
)
def test_parameter_of_wrong_type(tiny_book: Path, tmp_path: Path, no_kernel: None) -> None:
    with pytest.raises(
        BookError, match=r"must be int or None; got 'many' \(str\) \(declared n_points = 200\)"
    ):
        _plan(tiny_book, tmp_path, params=[("n_points", "many")])


@pytest.mark.parametrize("name", ["preset", "results_dir", "seed"])
@pytest.mark.bad_input(
    "`-p preset`, `-p seed` or `-p results_dir` (set by the runner's own options)",
    "exit 2, naming the option to use (--preset, --seed, --results-dir)",
)
def test_runner_parameters_have_their_own_options(
    tiny_book: Path, tmp_path: Path, no_kernel: None, name: str
) -> None:
    with pytest.raises(BookError, match=f"not -p {name}"):
        _plan(tiny_book, tmp_path, params=[(name, "1")])


@pytest.mark.bad_input(
    "a Jupyter kernel that is not registered (`--kernel no-such-kernel`)",
    "exit 2 before any execution, with the command that registers it",
)
def test_unregistered_kernel(tiny_book: Path, tmp_path: Path, no_kernel: None) -> None:
    with pytest.raises(BookError) as err:
        _plan(tiny_book, tmp_path, kernel="no-such-kernel")
    assert "ipykernel install --sys-prefix --name no-such-kernel" in str(err.value)


def test_good_plan_coerces_values(tiny_book: Path, tmp_path: Path, no_kernel: None) -> None:
    plan = _plan(
        tiny_book,
        tmp_path,
        params=[("frequency", "3"), ("n_points", "50")],
        seed=7,
        kernel="sr-book",
    )
    params = plan.parameters["tiny_chapter"]
    assert params["frequency"] == 3.0 and isinstance(params["frequency"], float)
    assert params == {
        "preset": "smoke",
        "results_dir": str(tmp_path / "results"),
        "seed": 7,
        "frequency": 3.0,
        "n_points": 50,
    }


def test_whole_book_run_leaves_out_the_presets_deferred_chapters(
    tiny_book: Path, tmp_path: Path, no_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chapter in the preset table's book_deferred is not executed by a whole-book run
    (its reason travels in the plan), still runs with --only, and other presets keep it."""
    from helpers import presets

    table = dict(presets.TABLE)
    table["book_deferred"] = {**table["book_deferred"], "smoke": {"tiny_chapter": "too slow"}}
    monkeypatch.setattr(presets, "TABLE", table)
    whole = _plan(tiny_book, tmp_path)
    assert whole.executed == [] and whole.deferred == {"tiny_chapter": "too slow"}
    only = _plan(tiny_book, tmp_path, only=["tiny_chapter"])
    assert [c.name for c in only.executed] == ["tiny_chapter"] and only.deferred == {}
    other = _plan(tiny_book, tmp_path, preset="embedded")
    assert [c.name for c in other.executed] == ["tiny_chapter"] and other.deferred == {}


def test_deferred_chapters_are_book_chapters() -> None:
    """Every preset's deferred chapters name notebooks of the real book, each with a
    reason; at benchmark the attribution prior is one (too long for the 2 h budget)."""
    from helpers import presets

    names = {c.name for c in chapters.load_chapters(REPO / "book") if c.is_notebook}
    for preset in presets.PRESETS:
        for name, why in plan_module.deferred_chapters(preset).items():
            assert name in names and len(why) > 20, (preset, name)
    assert "attribution_prior" in plan_module.deferred_chapters("benchmark")
    assert plan_module.deferred_chapters("embedded") == {}


def test_built_with_page_gives_the_reason_for_a_deferred_chapter(tmp_path: Path) -> None:
    """Left out on purpose: a note with the preset's reason and the command that runs it;
    a chapter missing for another reason keeps the warning."""
    nbs = [
        chapters.Chapter(n, tmp_path / f"{n}.ipynb", title=n.title())
        for n in ("lam", "attribution_prior", "texture_loss_sr")
    ]
    for c in nbs:
        c.path.write_text("{}")
    rec = {
        "preset": "benchmark",
        "parameters": {"preset": "benchmark", "seed": 0},
        "wall_s": 60.0,
        "started_utc": "2026-12-07T16:00:00",
        "commit": "abc",
    }
    page = builtwith.built_with_page(nbs, {"lam": rec}, tmp_path, tmp_path)
    why = plan_module.deferred_chapters("benchmark")["attribution_prior"]
    assert why in page
    assert "--preset benchmark --only attribution_prior" in page
    assert "left out (see below)" in page
    assert "Not executed, so left out of this build: Texture_Loss_Sr." in page
    embedded = builtwith.built_with_page(
        nbs, {"lam": {**rec, "preset": "embedded"}}, tmp_path, tmp_path
    )
    assert why not in embedded
    assert "left out of this build: Attribution_Prior, Texture_Loss_Sr." in embedded


def test_yaml_list_value_reaches_plan(models_book: Path, tmp_path: Path, no_kernel: None) -> None:
    """-y values are typed by YAML, merged with -p values and checked by the same rules."""
    plan = _plan(
        models_book,
        tmp_path,
        params=[("n_points", "50")],
        yaml_params=["models: [edsr_m, /path/to/my_x4.pth]", "{frequency: 3, label: 4}"],
        check_kernel_exists=False,
    )
    params = plan.parameters["tiny_chapter"]
    assert params["models"] == ["edsr_m", "/path/to/my_x4.pth"]
    assert params["n_points"] == 50
    assert params["frequency"] == 3.0 and isinstance(params["frequency"], float)
    assert params["label"] == "4"  # a str default keeps the text, as with -p


def test_cli_yaml_reaches_plan(
    models_book: Path, tmp_path: Path, no_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-y TEXT`` on the command line arrives in the plan the runner executes."""
    executed: list[Plan] = []
    monkeypatch.setattr(plan_module, "check_kernel", lambda kernel: None)
    monkeypatch.setattr(runner, "_execute_plan", lambda book, plan, **kw: executed.append(plan))
    args = ["--book", str(models_book), "--build-dir", str(tmp_path / "b"), "--no-html"]
    assert runner.run([*args, "-y", "models: [edsr_m, /path/to/my_x4.pth]"]) == 0
    assert executed[0].parameters["tiny_chapter"]["models"] == ["edsr_m", "/path/to/my_x4.pth"]


@pytest.mark.bad_input(
    "one parameter given twice, by `-p` and `-y` (or by two `-y`)",
    "exit 2: give it once",
)
def test_yaml_and_p_same_name_refused(tiny_book: Path, tmp_path: Path, no_kernel: None) -> None:
    with pytest.raises(BookError, match=r"'n_points' is given twice \(-p and -y\)"):
        _plan(tiny_book, tmp_path, params=[("n_points", "50")], yaml_params=["n_points: 60"])
    with pytest.raises(BookError, match=r"'n_points' is given twice \(-y and -y\)"):
        _plan(tiny_book, tmp_path, yaml_params=["n_points: 50", "n_points: 60"])


@pytest.mark.bad_input(
    "an unknown parameter name inside a `-y` mapping",
    "exit 2, listing each chapter's parameters",
)
def test_yaml_unknown_name_refused(tiny_book: Path, tmp_path: Path, no_kernel: None) -> None:
    with pytest.raises(BookError) as err:
        _plan(tiny_book, tmp_path, yaml_params=["{frequency: 3, scale: 4}"])
    msg = str(err.value)
    assert "unknown parameter 'scale'" in msg
    assert "frequency, n_points, fail" in msg


@pytest.mark.bad_input(
    'a `-y` value of the wrong type (`-y "n_points: [1, 2]"` for an int)',
    "exit 2 before any kernel, naming the parameter, the value and its declared type",
)
def test_yaml_value_of_wrong_type(tiny_book: Path, tmp_path: Path, no_kernel: None) -> None:
    with pytest.raises(
        BookError, match=r"-y n_points: \[1, 2\]: .*must be int or None; got \[1, 2\] \(list\)"
    ):
        _plan(tiny_book, tmp_path, yaml_params=["n_points: [1, 2]"])


@pytest.mark.parametrize("name", ["preset", "results_dir", "seed"])
def test_runner_parameters_not_via_yaml(
    tiny_book: Path, tmp_path: Path, no_kernel: None, name: str
) -> None:
    with pytest.raises(BookError, match=f"not -y {name}"):
        _plan(tiny_book, tmp_path, yaml_params=[f"{name}: 1"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models: [edsr_m", "is not valid YAML"),
        ("[1, 2]", "is not a YAML mapping of parameters (it reads as list)"),
        ("edsr_m", "is not a YAML mapping of parameters (it reads as str)"),
    ],
)
@pytest.mark.bad_input(
    '`-y` text that is not YAML, or YAML that is not a mapping (`-y "[1, 2]"`)',
    "exit 2 before anything is written, saying what it read and how to write a mapping",
)
def test_cli_bad_yaml_exits_2(
    tiny_book: Path,
    tmp_path: Path,
    no_kernel: None,
    capsys: pytest.CaptureFixture[str],
    text: str,
    expected: str,
) -> None:
    build = tmp_path / "build"
    code = runner.run(["--book", str(tiny_book), "--build-dir", str(build), "-y", text])
    assert code == 2
    assert expected in capsys.readouterr().err
    assert not build.exists()


@pytest.mark.bad_input(
    "a table of contents listing a chapter file that does not exist",
    "exit 2 naming the entry and the folder searched",
)
def test_missing_toc_file_is_named(tiny_book: Path, tmp_path: Path) -> None:
    (tiny_book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: lam\n")
    with pytest.raises(BookError, match="_toc.yml lists 'lam'"):
        _plan(tiny_book, tmp_path)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--preset", "huge"], "valid presets: smoke, embedded, benchmark, full"),
        (["--only", "nope"], "chapters in"),
        (["-p", "scale", "4"], "unknown parameter 'scale'"),
        (["-y", "scale: 4"], "unknown parameter 'scale'"),
        (["-p", "fail", "True", "-y", "fail: false"], "'fail' is given twice (-p and -y)"),
    ],
)
def test_cli_bad_input_exits_2_before_any_kernel(
    tiny_book: Path,
    tmp_path: Path,
    no_kernel: None,
    capsys: pytest.CaptureFixture[str],
    args,
    expected,
) -> None:
    build = tmp_path / "build"
    code = runner.run(["--book", str(tiny_book), "--build-dir", str(build), *args])
    assert code == 2
    assert expected in capsys.readouterr().err
    assert not build.exists(), "nothing may be written before the input is validated"


def test_cli_subprocess_bad_input_is_fast(tiny_book: Path, tmp_path: Path) -> None:
    """The real command refuses an unknown chapter in seconds, creating nothing."""
    t0 = time.perf_counter()
    proc = _cli("--book", str(tiny_book), "--build-dir", str(tmp_path / "b"), "--only", "lam")
    assert proc.returncode == 2, proc.stderr
    assert "unknown chapter 'lam'" in proc.stderr and "tiny_chapter" in proc.stderr
    assert time.perf_counter() - t0 < 60
    assert not (tmp_path / "b").exists()


# ------------------------------------------------------------------- real execution


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.bad_input(
    "a chapter that raises in one of its cells",
    "exit 1 naming the chapter, cell and error; no HTML left; the last good run's copy, "
    "record and results are put back",
)
def test_runner_end_to_end_then_failure(tiny_book: Path, tmp_path: Path, sr_kernel: str) -> None:
    """Success builds HTML with the built-with page; a failure then names the cell, no HTML."""
    build, html = tmp_path / "build", tiny_book / "_build" / "html"
    common = ["--book", str(tiny_book), "--build-dir", str(build), "--kernel", sr_kernel]

    ok = _cli(*common, "--preset", "smoke", "-p", "frequency", "3", "--seed", "5")
    assert ok.returncode == 0, ok.stderr
    assert (html / "index.html").is_file()
    assert (html / "tiny_chapter.html").is_file()
    page = (html / "built_with.html").read_text()
    for text in ("How this book was built", "A tiny chapter", "smoke", "frequency=3.0", "seed=5"):
        assert text in page, text
    assert "by_part.first_half" in page and "torch" in page
    record = json.loads((build / "runs" / "tiny_chapter.json").read_text())
    assert record["preset"] == "smoke" and record["wall_s"] > 0
    assert record["environment"]["torch"].startswith("2.14.1")
    results = json.loads((build / "results" / "tiny_chapter.json").read_text())
    assert results["preset"] == "smoke" and results["seed"] == 5
    assert "chapters (smoke)" in ok.stderr  # the progress bar over chapters
    assert re.search(r"tiny_chapter: cell \d+/\d+", ok.stderr)  # and the cell it is at
    assert record["cell_seconds"] and all(s >= 0 for _, s, _ in record["cell_seconds"])
    assert "Seconds per cell" in page
    executed = nbformat.read(build / "book" / "tiny_chapter.ipynb", as_version=4).cells
    injected = [c for c in executed if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "hide-input" in injected[0].metadata.tags  # folded in the page

    failing = ["--preset", "smoke", "--only", "tiny_chapter", "-p", "fail", "True"]
    kept = _cli(*common, "--no-html", *failing)  # builds no HTML: leaves the last one alone
    assert kept.returncode == 1 and (html / "index.html").is_file()
    assert "removed the stale HTML" not in kept.stderr

    before_results = (build / "results" / "tiny_chapter.json").read_bytes()
    bad = _cli(*common, *failing)
    assert bad.returncode == 1
    assert (build / "results" / "tiny_chapter.json").read_bytes() == before_results
    assert "chapter 'tiny_chapter' failed in cell 4 of tiny_chapter.ipynb" in bad.stderr
    assert "assert not fail" in bad.stderr and "AssertionError" in bad.stderr
    assert not html.exists(), "a failed run must leave no HTML claiming success"
    assert (build / "failed" / "tiny_chapter.ipynb").is_file()
    # the failed run removed only what it wrote: the last good run's copy, record and
    # results are as they were, and build the HTML again
    assert json.loads((build / "runs" / "tiny_chapter.json").read_text()) == record
    assert (build / "book" / "tiny_chapter.ipynb").is_file()
    assert not list((build / ".running").iterdir())

    again = _cli(*common, "--html-only")
    assert again.returncode == 0, again.stderr
    assert "frequency=3.0" in (html / "built_with.html").read_text()


def test_cli_list_shows_chapters_and_parameters(
    tiny_book: Path, no_kernel: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.run(["--book", str(tiny_book), "--list"]) == 0
    out = capsys.readouterr().out
    assert "intro  (markdown page)" in out
    assert "tiny_chapter  A tiny chapter" in out and "frequency = 2.0" in out


@pytest.mark.bad_input(
    "`--html-only` with `--only`, `-p` or `-y` (it executes nothing)",
    "exit 2: drop them",
)
def test_cli_html_only_takes_no_parameters(
    tiny_book: Path, tmp_path: Path, no_kernel: None, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--book", str(tiny_book), "--build-dir", str(tmp_path / "b"), "--html-only"]
    assert runner.run([*args, "-p", "frequency", "3"]) == 2
    assert "--html-only executes nothing" in capsys.readouterr().err
    assert runner.run([*args, "-y", "frequency: 3"]) == 2
    assert "--html-only executes nothing" in capsys.readouterr().err


def test_kernel_environment_records_the_thread_count(
    sr_kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trained weights depend on the order of floating-point sums, so on the thread count:
    the run record says how many threads the kernel's torch uses under this environment."""
    from helpers.book import kernel_environment

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert kernel_environment(sr_kernel)["torch_threads"] == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert kernel_environment(sr_kernel)["torch_threads"] == 2

"""The package's architecture, checked: layers import one way, no module is too long, and
every subpackage says what it holds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parents[1] / "helpers"

#: Layers, lowest first; a module may import from its own layer or a lower one only.
LAYERS: list[set[str]] = [
    {
        "runtime",
        "io",
        "results",
        "published",
        "presets",
        "parameters",
        "files",
        "cache",
        "verdict",
        "sweep",
    },
    {"data"},
    {"metrics"},
    {"models"},
    {"train"},
    {"networks"},
    {"attribution", "texture", "ddr", "prior"},
    {"texture_loss"},  # builds on texture (its classifier)
    {"plots"},
    {"book"},
]
#: Lazy imports allowed inside functions: heavy or optional third-party packages only.
LAZY_OK = {"lpips", "papermill", "jupyter_client", "tqdm", "PIL", "torch", "spandrel",
           "safetensors", "skimage", "umap", "distributed", "dask"}  # fmt: skip
MAX_LINES = 600


def _modules() -> list[Path]:
    return sorted(p for p in HELPERS.rglob("*.py") if "__pycache__" not in p.parts)


def _unit(path: Path) -> str:
    """The top-level unit of ``helpers`` a file belongs to (``data``, ``train``, ...)."""
    rel = path.relative_to(HELPERS)
    return rel.parts[0].removesuffix(".py")


def _layer(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"helpers/{unit} is in no layer of tests/test_layout.py: add it")


def _imported_units(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported helpers unit, inside a function) for each import of helpers code."""
    tree = ast.parse(path.read_text())
    pkg = list(path.relative_to(HELPERS).with_suffix("").parts)
    pkg = pkg[:-1] if pkg[-1] != "__init__" else pkg[:-1]
    out = []
    funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    inside = {id(n) for f in funcs for n in ast.walk(f) if n is not f}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                parts = base + (node.module.split(".") if node.module else [])
                if not parts:  # "from .. import x" at the top: x is the unit
                    parts = [node.names[0].name]
            elif node.module and node.module.split(".")[0] == "helpers":
                parts = node.module.split(".")[1:] or [node.names[0].name]
            else:
                continue
            out.append((node.lineno, parts[0], id(node) in inside))
    return out


def test_every_module_is_in_a_layer():
    for path in _modules():
        if path.parent == HELPERS and path.name == "__init__.py":
            continue
        _layer(_unit(path))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(HELPERS)))
def test_imports_flow_one_way(path: Path):
    if path.parent == HELPERS and path.name == "__init__.py":
        return
    own = _layer(_unit(path))
    for line, unit, _ in _imported_units(path):
        assert _layer(unit) <= own, (
            f"{path.relative_to(HELPERS)}:{line} imports helpers.{unit} (layer {_layer(unit)}) "
            f"from layer {own}: imports must go data -> models -> train -> analyses -> book"
        )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(HELPERS)))
def test_no_in_function_imports_but_heavy_optional_ones(path: Path):
    tree = ast.parse(path.read_text())
    for f in ast.walk(tree):
        if not isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(f):
            if isinstance(node, ast.Import | ast.ImportFrom):
                if isinstance(node, ast.ImportFrom) and node.level:
                    raise AssertionError(
                        f"{path.relative_to(HELPERS)}:{node.lineno}: helpers import inside a "
                        "function; import at module level (no cycle requires it)"
                    )
                names = (
                    [node.module]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                )
                for name in names:
                    assert name.split(".")[0] in LAZY_OK, (
                        f"{path.relative_to(HELPERS)}:{node.lineno}: lazy import of {name}; "
                        "only heavy optional packages may be imported inside a function"
                    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(HELPERS)))
def test_no_module_over_the_limit(path: Path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(HELPERS)} has {n} lines (limit {MAX_LINES})"


def test_every_subpackage_says_what_it_holds_and_may_import():
    for init in sorted(HELPERS.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(doc.splitlines()) >= 3, f"{init.parent.name}: no docstring"
        listed = {
            p.stem for p in init.parent.glob("*.py") if p.stem not in ("__init__", "__main__")
        }
        missing = [m for m in sorted(listed) if f"``{m}``" not in doc]
        assert not missing, f"helpers/{init.parent.name}/__init__.py does not list {missing}"
        assert "import" in doc.lower(), f"{init.parent.name}: say what it may import"

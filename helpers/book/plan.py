"""What a run will execute, checked before any kernel starts.

:func:`make_plan` validates the preset, the chapters (``--only``), the kernel and every
chapter parameter given on the command line, as ``-p NAME VALUE`` (text, read by
:func:`parse_value` like papermill's ``-p``) or ``-y YAML`` (a mapping, read by
:func:`parse_yaml` like papermill's ``-y``), and returns a :class:`Plan`. Both kinds of
value go through one check: the name must be declared by the chapters, and the value must
fit the type of the declared default (:func:`_coerce`).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..presets import PRESETS
from .chapters import RUNNER_PARAMETERS, Chapter, Parameter, _strip_suffix, load_chapters
from .errors import BookError

#: The project's Jupyter kernel (registered by ``make book`` / ``make test``).
DEFAULT_KERNEL = "sr-book"
#: The runner's own parameters, each set by an option of its own (not ``-p``/``-y``).
_OWN_OPTIONS = {
    "preset": ("the preset", "--preset"),
    "results_dir": ("the results directory", "--results-dir"),
    "seed": ("the seed", "--seed"),
}


class _NoDatesSafeLoader(yaml.SafeLoader):
    """papermill's ``-y`` loader: YAML timestamps stay strings (a date is no parameter)."""

    yaml_implicit_resolvers = {
        key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def parse_value(text: str) -> Any:
    """Turn a ``-p`` value into Python like papermill's CLI does.

    ``True``/``False``/``None``, then int, then float; a value that looks like a Python
    list, tuple, dict or quoted string is read with :func:`ast.literal_eval`; anything else
    stays a string.
    """
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text[:1] in "[({'\"":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            pass
    return text


def parse_yaml(text: str) -> dict[str, Any]:
    """Turn a ``-y`` value into a mapping of parameters like papermill's CLI does.

    YAML types the values (``4`` int, ``[a, b]`` list, ``true`` bool; dates stay strings);
    an empty text is no parameters. Anything but a mapping is refused.
    """
    try:
        data = yaml.load(text, Loader=_NoDatesSafeLoader)
    except yaml.YAMLError as exc:
        raise BookError(f"-y {text!r} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BookError(
            f"-y {text!r} is not a YAML mapping of parameters (it reads as "
            f'{type(data).__name__}); write -y "name: value" or -y "{{a: 1, b: [x, y]}}"'
        )
    return data


def _yaml_text(value: Any) -> str:
    """A ``-y`` value as YAML text (for messages, and for a parameter whose default is a str)."""
    try:
        text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000)
    except yaml.YAMLError:
        return repr(value)
    return text.strip().removesuffix("...").strip()


def _coerce(chapter: str, param: Parameter, raw: str, value: Any, *, given: str) -> Any:
    """Check ``value`` against the type of the declared default (None passes).

    ``raw`` is the text the value was read from (kept when the default is a str);
    ``given`` is how the user gave it (``-p n 4``), for the message.
    """
    default = param.default
    if not param.literal or default is None or value is None:
        return value
    if isinstance(default, str):
        return value if isinstance(value, str) else raw
    ok = True
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, list | tuple):
        ok = isinstance(value, list | tuple)
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
    if not ok:
        raise BookError(
            f"{given}: chapter {chapter!r} declares "
            f"{param.name} = {param.source} ({type(default).__name__}); "
            f"got {type(value).__name__}"
        )
    return value


@dataclass
class Plan:
    """What a run will execute: chapters in order, each with its papermill parameters."""

    preset: str
    chapters: list[Chapter]
    executed: list[Chapter]
    parameters: dict[str, dict[str, Any]]
    kernel: str


def _valid_list(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "(none)"


def check_kernel(kernel: str) -> None:
    """Fail with the registration command when ``kernel`` is not a known kernelspec."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if kernel not in specs:
        raise BookError(
            f"Jupyter kernel {kernel!r} is not registered (available: "
            f"{_valid_list(sorted(specs))}). Register the project's kernel with\n"
            f"    {sys.executable} -m ipykernel install --sys-prefix --name {kernel}\n"
            "(`make book` and `make test` do this)."
        )


def make_plan(
    book_dir: Path,
    *,
    preset: str,
    only: Sequence[str] = (),
    params: Sequence[tuple[str, str]] = (),
    yaml_params: Sequence[str | Mapping[str, Any]] = (),
    seed: int = 0,
    results_dir: Path,
    kernel: str = DEFAULT_KERNEL,
    check_kernel_exists: bool = True,
) -> Plan:
    """Validate everything the user asked for and return what to execute.

    ``params`` are ``-p`` pairs (name, text); ``yaml_params`` are ``-y`` texts (or mappings
    already read). A name given twice across them is refused, except a repeated ``-p``
    (the last wins, as in papermill). Raises :class:`BookError` (listing the valid choices)
    for an unknown preset, chapter or parameter name, bad YAML, a value of the wrong type,
    or an unregistered kernel.
    """
    if preset not in PRESETS:
        raise BookError(f"unknown preset {preset!r}; valid presets: {_valid_list(PRESETS)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise BookError(f"seed must be a non-negative integer, got {seed!r}")
    chapters = load_chapters(book_dir)
    notebooks = [c for c in chapters if c.is_notebook]
    by_name = {c.name: c for c in notebooks}
    if only:
        executed = []
        for name in only:
            key = Path(_strip_suffix(name)).name
            if key not in by_name:
                pages = [c.name for c in chapters if not c.is_notebook]
                extra = f" ({', '.join(pages)} are markdown pages, not executed)" if pages else ""
                raise BookError(
                    f"unknown chapter {name!r}; chapters in {book_dir / '_toc.yml'}: "
                    f"{_valid_list(by_name)}{extra}"
                )
            if by_name[key] not in executed:
                executed.append(by_name[key])
    else:
        executed = notebooks

    # name -> (option, how it was given, the text it was read from, its value)
    extras: dict[str, tuple[str, str, str, Any]] = {}
    typed = [parse_yaml(y) if isinstance(y, str) else y for y in yaml_params]
    entries = [("-p", name, raw, parse_value(raw)) for name, raw in params]
    entries += [("-y", name, _yaml_text(v), v) for mapping in typed for name, v in mapping.items()]
    for option, name, raw, value in entries:
        if not isinstance(name, str):
            raise BookError(f"{option}: parameter names are strings, got {name!r}")
        if name in _OWN_OPTIONS:
            what, own = _OWN_OPTIONS[name]
            raise BookError(f"set {what} with {own}, not {option} {name}")
        if name in extras and (option, extras[name][0]) != ("-p", "-p"):
            raise BookError(
                f"parameter {name!r} is given twice ({extras[name][0]} and {option}); give it once"
            )
        label = f"-p {name} {raw}" if option == "-p" else f"-y {name}: {raw}"
        extras[name] = (option, label, raw, value)
    for name in extras:
        # With --only, every chosen chapter must declare the name; for the whole book, at
        # least one must (it is then passed to the chapters that declare it).
        declaring = [c for c in executed if name in c.parameters]
        if not declaring or (only and len(declaring) < len(executed)):
            lacking = [c for c in executed if name not in c.parameters]
            lines = [
                f"  {c.name}: {_valid_list(p for p in c.parameters if p not in RUNNER_PARAMETERS)}"
                for c in lacking
            ]
            raise BookError(
                f"unknown parameter {name!r} for chapter(s) {_valid_list(c.name for c in lacking)};"
                " parameters each chapter declares (besides "
                f"{', '.join(RUNNER_PARAMETERS)}):\n" + "\n".join(lines)
            )

    per_chapter: dict[str, dict[str, Any]] = {}
    for chapter in executed:
        values: dict[str, Any] = {
            "preset": preset,
            "results_dir": str(results_dir),
            "seed": seed,
        }
        for name, (_, label, raw, value) in extras.items():
            if name in chapter.parameters:
                param = chapter.parameters[name]
                values[name] = _coerce(chapter.name, param, raw, value, given=label)
        per_chapter[chapter.name] = values
    if check_kernel_exists and executed:
        check_kernel(kernel)
    return Plan(preset, chapters, executed, per_chapter, kernel)

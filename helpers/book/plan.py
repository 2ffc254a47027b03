"""What a run will execute, checked before any kernel starts.

:func:`make_plan` validates the preset, the chapters (``--only``), the kernel and every
chapter parameter given on the command line, as ``-p NAME VALUE`` (text, read by
:func:`parse_value` like papermill's ``-p``) or ``-y YAML`` (a mapping, read by
:func:`parse_yaml` like papermill's ``-y``), and returns a :class:`Plan`. Both kinds of
value go through one check: the name must be declared by the chapters, and the value must
fit the parameter's annotation (:mod:`helpers.parameters`, the check the chapter itself
runs first), or the type of its default where it has none (:func:`_coerce`).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..parameters import ParameterError, annotation_from_text, check_value, describe
from ..presets import PRESETS
from ..presets import get as preset_get
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
    """papermill's ``-y`` loader (YAML timestamps stay strings: a date is no parameter),
    except that ``1e-3`` is a float as in YAML 1.2 (PyYAML's 1.1 rule wants ``1.0e-3`` and
    reads ``1e-3`` as a string, which no float parameter accepts)."""

    yaml_implicit_resolvers = {
        key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_NoDatesSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


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


def _contract(chapter: str, param: Parameter) -> Any:
    """The annotation a value must fit: the declared one, else the type of the default."""
    if param.annotation is not None:
        try:
            return annotation_from_text(param.annotation)
        except ParameterError as exc:
            raise BookError(f"chapter {chapter!r}, parameter {param.name!r}: {exc}") from exc
    default = param.default
    if not param.literal or default is None:
        return Any
    return type(default) | None


def _coerce(chapter: str, param: Parameter, raw: str, value: Any, *, given: str) -> Any:
    """``value`` checked against the parameter's annotation (:mod:`helpers.parameters`).

    ``raw`` is the text the value was read from: where the annotation takes a string and
    the typed value does not fit (``-p crop_image 0001``), the text is kept.
    ``given`` is how the user gave it (``-p n 4``), for the message.
    """
    annotation = _contract(chapter, param)
    try:
        return check_value(chapter, param.name, annotation, value, given=given)
    except ParameterError as exc:
        if not isinstance(value, str):
            try:
                return check_value(chapter, param.name, annotation, raw)
            except ParameterError:
                pass
        ann = f": {param.annotation}" if param.annotation else ""
        declared = f" (declared {param.name}{ann} = {param.source})"
        hint = ""
        if isinstance(value, str) and "a list" in describe(annotation):
            hint = f'; give a list with -y "{param.name}: [{value}]"'
        raise BookError(f"{exc}{declared}{hint}") from exc


@dataclass
class Plan:
    """What a run will execute: chapters in order, each with its papermill parameters."""

    preset: str
    executed: list[Chapter]
    parameters: dict[str, dict[str, Any]]
    kernel: str
    #: chapters a whole-book run leaves out at this preset -> why (presets' book_deferred)
    deferred: dict[str, str] = field(default_factory=dict)


def deferred_chapters(preset: str) -> dict[str, str]:
    """The chapters a run of the whole book leaves out at ``preset`` -> the reason
    (:data:`helpers.presets.TABLE` ``["book_deferred"]``); ``--only`` still runs them."""
    return preset_get("book_deferred", preset)


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
    deferred: dict[str, str] = {}
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
        # A whole-book run leaves out the preset's deferred chapters (said on stderr by the
        # runner and on the built-with page); --only runs them.
        deferred = {n: r for n, r in deferred_chapters(preset).items() if n in by_name}
        executed = [c for c in notebooks if c.name not in deferred]

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
    return Plan(preset, executed, per_chapter, kernel, deferred)

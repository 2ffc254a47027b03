"""Chapter parameters: the types a chapter's ``parameters`` cell declares, checked one way.

Each chapter annotates its parameters, and the annotation is the contract::

    from typing import Literal

    steps: int | None = None  # path steps; None: the preset's
    mode: Literal["exact", "fast"] = "exact"

The same check (:func:`check_value`) runs twice: in the runner, on every ``-p``/``-y``
value before any kernel starts (:mod:`helpers.book.plan` reads the annotation's text with
:func:`annotation_from_text`), and in the chapter's first code cell
(:func:`check_namespace` on ``globals()``), so a direct ``papermill`` call or an edit in
JupyterLab gets the same message at once instead of deep in a loop.

Understood annotations: ``int``, ``float`` (an int is accepted and made a float), ``str``,
``bool``, ``None``, ``Any``, ``list[X]`` / ``tuple[X, ...]`` (a tuple or list, checked per
element, returned as a list), ``dict[K, V]``, ``Literal[...]`` (the allowed values) and
unions ``X | Y``. Imports no torch.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal

#: What a parameters cell's annotation text may name (nothing else is evaluated).
_NAMES: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "None": None,
    "Any": Any,
    "Literal": Literal,
}


class ParameterError(ValueError):
    """A chapter parameter whose value does not fit the type its chapter declares."""


def annotation_from_text(text: str) -> Any:
    """The annotation object of a parameters cell's annotation text (``"int | None"``).

    Only the names of :data:`_NAMES` may appear (no builtins, no attribute access), so a
    notebook's annotation cannot run code in the runner. Raises :class:`ParameterError`
    for anything else, naming the text.
    """
    try:
        code = compile(text, "<annotation>", "eval")
    except SyntaxError as exc:
        raise ParameterError(f"annotation {text!r} is not a Python expression") from exc
    unknown = [n for n in code.co_names if n not in _NAMES]
    if unknown:
        raise ParameterError(
            f"annotation {text!r} uses {', '.join(unknown)}; a parameters cell may use "
            f"{', '.join(sorted(_NAMES))}"
        )
    return eval(code, {"__builtins__": {}}, dict(_NAMES))  # noqa: S307 (names checked)


def _arms(annotation: Any) -> tuple[Any, ...]:
    """The alternatives of a union (the annotation itself when it is not one)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def describe(annotation: Any) -> str:
    """Human text for an annotation: ``int or None``, ``one of 'exact', 'fast'``."""
    parts = []
    for arm in _arms(annotation):
        origin, args = typing.get_origin(arm), typing.get_args(arm)
        if arm is None or arm is type(None):
            parts.append("None")
        elif arm is Any:
            parts.append("anything")
        elif origin is Literal:
            parts.append("one of " + ", ".join(repr(a) for a in args))
        elif origin in (list, tuple):
            inner = describe(args[0]) if args else "anything"
            parts.append(f"a list of {inner}")
        elif origin is dict or arm is dict:
            parts.append("a mapping")
        elif arm in (list, tuple):
            parts.append("a list")
        else:
            parts.append(getattr(arm, "__name__", str(arm)))
    return " or ".join(parts)


_NO = object()  # "does not fit" (None is a value that may fit)


def _fit(annotation: Any, value: Any) -> Any:
    """``value`` as ``annotation`` wants it (int -> float, tuple -> list), else ``_NO``."""
    for arm in _arms(annotation):
        origin, args = typing.get_origin(arm), typing.get_args(arm)
        if arm is Any:
            return value
        if arm is None or arm is type(None):
            if value is None:
                return None
        elif origin is Literal:
            # type and value: True is not 1, "4" is not 4
            if any(type(value) is type(a) and value == a for a in args):
                return value
        elif arm is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif arm is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
        elif arm in (list, tuple) or origin in (list, tuple):
            if isinstance(value, list | tuple):
                inner = args[0] if args else Any
                items = [_fit(inner, v) for v in value]
                if all(v is not _NO for v in items):
                    return items
        elif origin is dict:  # dict[K, V]: isinstance takes no parameterized type
            if isinstance(value, dict):
                return value
        elif isinstance(arm, type) and isinstance(value, arm):  # bool, str, dict, ...
            return value
    return _NO


def check_value(chapter: str, name: str, annotation: Any, value: Any, *, given: str = "") -> Any:
    """Return ``value`` fitted to ``annotation`` (int -> float, tuple -> list).

    Raises :class:`ParameterError` naming the chapter, the parameter, the value and what
    is valid; ``given`` is how the user gave it (``-p steps abc``), for the message.
    """
    fitted = _fit(annotation, value)
    if fitted is _NO:
        how = f"{given}: " if given else ""
        raise ParameterError(
            f"{how}parameter {name!r} of chapter {chapter!r} must be {describe(annotation)}; "
            f"got {value!r} ({type(value).__name__})"
        )
    return fitted


def check_namespace(namespace: MutableMapping[str, Any], chapter: str) -> dict[str, Any]:
    """Check a chapter's parameters where it runs: call as ``check_namespace(globals(), name)``.

    Every name annotated in the parameters cell (``namespace["__annotations__"]``) is
    checked with :func:`check_value` and written back fitted (``sigma = 2`` becomes
    ``2.0``). Returns the checked values by name. Raises :class:`ParameterError` for the
    first that does not fit, and when nothing is annotated (the check would be a no-op).
    """
    annotations: Mapping[str, Any] = namespace.get("__annotations__", {})
    if not annotations:
        raise ParameterError(
            f"chapter {chapter!r}: its parameters cell annotates no parameter "
            "(write e.g. `steps: int | None = None`), so nothing can be checked"
        )
    checked = {}
    for name, annotation in annotations.items():
        if name not in namespace:
            continue
        if isinstance(annotation, str):  # a quoted annotation
            annotation = annotation_from_text(annotation)
        checked[name] = check_value(chapter, name, annotation, namespace[name])
        namespace[name] = checked[name]
    return checked

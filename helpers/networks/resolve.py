"""One resolver from a chapter's ``models`` entries to ready :class:`~helpers.models.SRModel` s.

Every chapter takes a ``models`` parameter, a list of entries; each entry is one of:

1. a **zoo** name (:data:`helpers.networks.zoo.MEMBERS`, e.g. ``"edsr_m"``): trained once
   with the book's recipe for the preset, cached on disk (:func:`helpers.train.train`);
2. a **DI-family** name (:func:`helpers.networks.family.parse_member`, e.g.
   ``"fsrcnn_d32_m4"``, ``"edsr_f16_b4"``): trained the same way;
3. a **released** name (:data:`helpers.models.RELEASED`: ``"pan"``, ``"imdn"``,
   ``"carn_m"``, ``"grl_tiny"``): published weights, sha256-checked;
4. a **weight file** (``.pth``, ``.pt``, ``.safetensors``, ``.ckpt``) of any SR
   architecture spandrel recognises (ESRGAN, SwinIR, RCAN, HAT, ...): read without
   executing code, its scale read from the file;
5. a **callable** ``package.module:callable`` returning an ``nn.Module`` (called with
   ``scale=`` when its signature takes ``scale``, else with no arguments).

:func:`resolve` turns one entry into an SRModel; :func:`resolve_many` a whole list, after
checking every entry's form first (a typo in the fifth entry fails in a second, not after
four trainings). Every network is checked up front by one probe forward: it must map
(N, 3, h, w) to (N, 3, s*h, s*w) for the chapter's scale s.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import inspect
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from .. import cache, presets
from ..models import RELEASED, SRModel, build, load_released, load_spandrel
from ..models.receptive_field import empirical_receptive_field
from ..runtime import resolve_device
from ..train import TrainConfig, prefetch, train
from . import family, zoo

Origin = Literal["zoo", "family", "released", "file", "callable"]

#: Where a resolved network can come from (``SRModel.origin``).
ORIGINS: tuple[str, ...] = ("zoo", "family", "released", "file", "callable")
#: Suffixes of weight files :func:`resolve` loads through spandrel.
WEIGHT_SUFFIXES: tuple[str, ...] = (".pth", ".pt", ".safetensors", ".ckpt")
#: Side (LR px) of the probe input every network is checked with.
PROBE_SIZE = 16

_CALLABLE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_TRAINED = ("zoo", "family")


@dataclass(frozen=True)
class ModelEntry:
    """One ``models`` entry, parsed and checked, before anything is trained or loaded.

    ``text``: the entry as given; ``origin``: one of :data:`ORIGINS`; ``name``: the
    display name (the zoo/family/released name, a file's stem, a callable's name after
    the colon); ``target``: the zoo name, the :class:`~helpers.networks.family.FamilyMember`,
    the released key, the file's :class:`~pathlib.Path` or the callable itself.
    """

    text: str
    origin: Origin
    name: str
    target: Any

    @property
    def what(self) -> str:
        """The entry in messages: ``models entry '<text>' (<origin>)``."""
        return f"models entry {self.text!r} ({self.origin})"


def valid_entries(scale: int | None = None) -> str:
    """What a ``models`` entry may be, one form a line (for error messages and help)."""
    released = ", ".join(
        f"{n} (x{'/x'.join(str(s) for s in sorted(scales))})" for n, scales in RELEASED.items()
    )
    zoo_names = ", ".join(zoo.MEMBERS)
    return (
        f"  - a zoo network: {zoo_names}\n"
        "  - a DI-family network: fsrcnn_d<width>_m<depth>[_s<shrink>] or "
        "edsr_f<width>_b<blocks> (e.g. fsrcnn_d32_m4, edsr_f16_b4)\n"
        f"  - a released network: {released}\n"
        f"  - a weight file spandrel recognises: /path/to/net.pth "
        f"({', '.join(WEIGHT_SUFFIXES)}){f' of an x{scale} network' if scale else ''}\n"
        "  - a Python callable returning a torch.nn.Module: package.module:callable "
        "(importable from sys.path; called with scale= when it takes that argument)"
    )


def _unknown(text: str, scale: int) -> ValueError:
    names = [*zoo.MEMBERS, *RELEASED]
    close = difflib.get_close_matches(text.lower(), names, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(
        f"unknown model {text!r}{hint}\nA models entry is one of:\n{valid_entries(scale)}"
    )


def _call_kwargs(fn: Callable[..., Any], scale: int) -> dict[str, Any] | None:
    """``{"scale": scale}`` when ``fn``'s signature takes ``scale``, ``{}`` when it takes no
    required argument, ``None`` when it can be called neither way."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: try no arguments
        return {}
    param = sig.parameters.get("scale")
    takes_scale = param is not None and param.kind in (
        param.POSITIONAL_OR_KEYWORD,
        param.KEYWORD_ONLY,
    )
    kwargs = {"scale": scale} if takes_scale else {}
    try:
        sig.bind(**kwargs)
    except TypeError:
        return None
    return kwargs


def _parse_callable(text: str, scale: int) -> ModelEntry:
    module_name, _, attr = text.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(
            f"models entry {text!r}: cannot import module {module_name!r} ({err}). A "
            "package.module:callable entry needs the module on sys.path (PYTHONPATH or the "
            "working directory)."
        ) from err
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = sorted(  # defined in the module itself, not imported into it
                n
                for n, v in vars(module).items()
                if callable(v)
                and not n.startswith("_")
                and getattr(v, "__module__", None) == module.__name__
            )
            raise ValueError(
                f"models entry {text!r}: module {module_name!r} has no attribute {attr!r}; "
                f"its public callables: {public}"
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(
            f"models entry {text!r}: {attr!r} is a {type(obj).__name__}, not a callable "
            "returning a torch.nn.Module"
        )
    if _call_kwargs(obj, scale) is None:
        raise ValueError(
            f"models entry {text!r}: {attr} must be callable with no arguments or with "
            f"scale= only; its signature is {inspect.signature(obj)}"
        )
    return ModelEntry(text, "callable", attr.split(".")[-1], obj)


def _parse_file(text: str, path: Path) -> ModelEntry:
    path = path.expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"models entry {text!r}: no such weight file {str(path)!r} (relative paths are "
            f"relative to the working directory {os.getcwd()!r}; give an absolute path)"
        )
    if not path.is_file():
        raise ValueError(f"models entry {text!r}: {str(path)!r} is a directory, not a file")
    if path.suffix.lower() not in WEIGHT_SUFFIXES:
        raise ValueError(
            f"models entry {text!r}: {path.name!r} is not a weight file; expected one of "
            f"{list(WEIGHT_SUFFIXES)}"
        )
    return ModelEntry(text, "file", path.stem, path.resolve())


def parse_entry(entry: str | os.PathLike[str], scale: int) -> ModelEntry:
    """Classify and check one ``models`` entry without training or loading weights.

    Checks what can be checked cheaply: a zoo, family or released name (and that a
    released network exists at ``scale``); that a weight file exists and has a weight
    suffix; that a ``package.module:callable`` imports and is callable as required.

    Raises:
        FileNotFoundError: a path to a file that does not exist.
        ValueError: anything else wrong, naming the entry and listing the valid forms.
        TypeError: an entry that is neither a string nor a path.
    """
    if isinstance(entry, os.PathLike):
        return _parse_file(os.fspath(entry), Path(entry))
    if not isinstance(entry, str):
        raise TypeError(
            f"a models entry must be a string (name, path or module:callable), got "
            f"{type(entry).__name__} {entry!r}"
        )
    text = entry.strip()
    if not text:
        raise ValueError(
            f"empty models entry {entry!r}\nA models entry is one of:\n{valid_entries()}"
        )
    if text in zoo.MEMBERS:
        return ModelEntry(entry, "zoo", text, text)
    with contextlib.suppress(ValueError):
        member = family.parse_member(text)
        return ModelEntry(entry, "family", member.name, member)
    if text.lower() in RELEASED:
        key = text.lower()
        if scale not in RELEASED[key]:
            raise ValueError(
                f"models entry {entry!r}: released {key} exists at scales "
                f"{sorted(RELEASED[key])}, not x{scale}"
            )
        return ModelEntry(entry, "released", key, key)
    path = Path(text)
    if _CALLABLE.match(text) and not path.expanduser().exists():
        return _parse_callable(text, scale)
    if (
        path.suffix.lower() in WEIGHT_SUFFIXES
        or "/" in text
        or os.sep in text
        or text.startswith(("~", "."))
        or path.exists()
    ):
        return _parse_file(text, path)
    raise _unknown(text, scale)


# ----------------------------------------------------------------------------- checks


def _probe(net: nn.Module, what: str, scale: int, device: torch.device) -> None:
    """One forward of a (1, 3, n, n) random image in [0, 1] (n = :data:`PROBE_SIZE`, raised
    to the network's ``min_size``/``pad_multiple``), no gradients; ``ValueError`` unless
    the output is (1, 3, scale*n, scale*n). ``net`` must already be in eval mode on
    ``device``."""
    multiple = int(getattr(net, "pad_multiple", 1) or 1)
    side = max(PROBE_SIZE, int(getattr(net, "min_size", 1) or 1))
    side = -(-side // multiple) * multiple
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, side, side, generator=gen).to(device)
    expect = (1, 3, scale * side, scale * side)
    try:
        with torch.no_grad():
            y = net(x)
    except Exception as err:  # any failure of foreign code: name the entry and the probe
        raise ValueError(
            f"{what}: the network fails on a probe input of shape {tuple(x.shape)} "
            f"({type(err).__name__}: {err}); expected it to return {expect} "
            f"(RGB in [0, 1], x{scale})"
        ) from err
    if isinstance(y, torch.Tensor) and tuple(y.shape) == expect:
        return
    got = tuple(y.shape) if isinstance(y, torch.Tensor) else f"a {type(y).__name__}"
    hint = ""
    if isinstance(y, torch.Tensor) and y.ndim == 4 and y.shape[1] != 3:
        hint = f" It returns {y.shape[1]} channels; the book needs RGB (3)."
    elif isinstance(y, torch.Tensor) and y.ndim == 4 and y.shape[-1] % side == 0:
        r = y.shape[-1] // side
        if y.shape[-2] == r * side and r != scale:
            hint = f" It looks like an x{r} network: run the chapter with scale={r}."
    raise ValueError(
        f"{what}: the network maps {tuple(x.shape)} to {got}; expected {expect} "
        f"(RGB in, RGB out, x{scale}).{hint}"
    )


def _precheck_trained(e: ModelEntry, scale: int, preset: str) -> None:
    """Build the untrained zoo/family network on the CPU and probe it (milliseconds), so a
    scale the architecture does not support fails before any training. The global torch
    RNG is left as it was (the build's initialisation draws from it)."""
    cfg = _trained_config(e, scale, preset, 0)
    with torch.random.fork_rng(devices=[]):
        net = build(cfg.model, scale, **cfg.model_kwargs).eval()
        _probe(net, e.what, scale, torch.device("cpu"))


def _measured_receptive_field(model: SRModel) -> int | None:
    """:func:`~helpers.models.receptive_field.empirical_receptive_field` of ``model`` (LR px,
    full width; ``None`` = global or wider than 160 px), cached on disk by its weights
    digest: a foreign network is measured once, not at every chapter run."""
    settings = {"lr_size": 48, "max_lr_size": 160, "seed": 0}
    k = cache.key(
        "receptive_field",
        {"scale": model.scale, **settings},
        code=cache.code_digest("models/receptive_field.py"),
        inputs=[model.digest],
    )

    def measure() -> dict[str, Any]:
        rf = empirical_receptive_field(model, model.scale, device=model.device, **settings)
        return {"receptive_field": rf, "name": model.name}

    path = cache.entry_path("receptive_field", k, suffix=".json")
    payload, _ = cache.cached(path, k, measure, what="receptive-field cache")
    rf = payload["receptive_field"]
    return None if rf is None else int(rf)


# ---------------------------------------------------------------------------- loading


def _trained_config(e: ModelEntry, scale: int, preset: str, seed: int) -> TrainConfig:
    """The training config of a zoo or family entry: the book's one recipe
    (:func:`helpers.networks.zoo.recipe_config`, as ``zoo_config`` and ``member_config``)."""
    arch, size = zoo.MEMBERS[e.target] if e.origin == "zoo" else (e.target.arch, e.target.size)
    return zoo.recipe_config(arch, size, scale, preset, seed)


def _load_foreign(e: ModelEntry, scale: int, device: torch.device) -> tuple[SRModel, bool]:
    """A released, file or callable network, and whether its receptive field is unknown
    (to be measured)."""
    if e.origin in ("released", "file"):  # fresh SRModels named e.name, train_steps None
        if e.origin == "released":
            model = load_released(e.target, scale, device=device)
        else:
            model = load_spandrel(e.target, device=device, scale=scale, name=e.name)
        model.origin = e.origin
        return model, e.origin == "file"
    net = e.target(**_call_kwargs(e.target, scale))
    if not isinstance(net, nn.Module):
        raise ValueError(
            f"{e.what}: {e.name}(...) returned a {type(net).__name__}, expected a torch.nn.Module"
        )
    declared = getattr(net, "scale", None)
    if declared is not None and declared != scale:
        raise ValueError(
            f"{e.what}: the module says scale={declared!r}, but the chapter runs at x{scale}; "
            f"build it for x{scale} (take a scale= argument) or run at scale={declared}"
        )
    # a module without a receptive_field attribute gets None here, then a measured one
    model = SRModel(net, scale=scale, name=e.name, device=device, origin="callable")
    return model, not hasattr(net, "receptive_field")


def _load(
    e: ModelEntry, scale: int, preset: str, seed: int, device: torch.device, progress: bool
) -> SRModel:
    """Train or load entry ``e``, probe it, and measure its receptive field if unknown.

    Building a foreign network initialises weights from the global torch RNG before its
    file overwrites them; that draw is undone (``fork_rng``), so listing one more released
    or user network does not shift the random numbers of what a chapter does next. (The
    book's own networks reseed it in :func:`helpers.train.train`, as they always did.)
    """
    unknown_rf = False
    if e.origin in _TRAINED:  # trained once with the book's recipe, or read back
        cfg = _trained_config(e, scale, preset, seed)
        run = train(cfg, device=device, progress=progress, desc=f"{e.name} x{scale}")
        model = SRModel(
            run.model, name=e.name, device=device, origin=e.origin, train_steps=run.config.steps
        )
    else:
        with torch.random.fork_rng(devices=[]):
            model, unknown_rf = _load_foreign(e, scale, device)
    _probe(model.model, e.what, scale, model.device)
    if unknown_rf:
        model.receptive_field = _measured_receptive_field(model)
    return model


def resolve(
    entry: str | os.PathLike[str],
    scale: int,
    preset: str,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> SRModel:
    """One ``models`` entry as an :class:`~helpers.models.SRModel`, ready to evaluate.

    Args:
        entry: a zoo name, a DI-family name, a released name, a weight-file path or
            ``package.module:callable`` (see the module docstring; :func:`valid_entries`).
        scale: the chapter's SR factor (2, 3 or 4); every network must map
            (N, 3, h, w) to (N, 3, scale*h, scale*w).
        preset: sizes the training of zoo and family networks
            (:data:`helpers.presets.PRESETS`); ignored by the other kinds.
        seed: training seed of zoo and family networks.
        device: where the network runs (default CUDA when available, else CPU).
        progress: tqdm bars while training.

    Returns:
        An SRModel in eval mode on ``device``: LR (N, 3, h, w) float in [0, 1] -> SR
        (N, 3, scale*h, scale*w), unclamped, with ``name`` (display name), ``origin``
        (:data:`ORIGINS`), ``train_steps`` (optimiser steps the book trained it for;
        ``None`` for released, file and callable networks), ``scale`` and
        ``receptive_field`` (LR px, full width; ``None`` = global): the architecture's for
        zoo, family and released networks and for a module with a ``receptive_field``
        attribute, else measured from input gradients (cached by weights digest). Zoo
        networks are exactly ``zoo.zoo_model(...).model`` (same outputs, bit for bit).

    Raises:
        FileNotFoundError: a weight file that does not exist.
        ValueError: an unknown entry (the message lists the valid forms), a released
            network or weight file of another scale, a file that is not RGB
            super-resolution, or a network whose probe output is not
            (1, 3, scale*n, scale*n) for a (1, 3, n, n) input. All are raised before any
            training.
    """
    presets.check_preset(preset)
    e = parse_entry(entry, scale)
    if e.origin in _TRAINED:
        _precheck_trained(e, scale, preset)
    return _load(e, scale, preset, seed, resolve_device(device), progress)


def resolve_many(
    entries: Iterable[str | os.PathLike[str]] | str,
    scale: int,
    preset: str,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> dict[str, SRModel]:
    """Every entry of a chapter's ``models`` list, as ``{display name: SRModel}`` in the
    given order (see :func:`resolve` for the entries and the SRModels).

    First every entry's form is checked (names, files, imports) and every bad one
    reported in one error; then the networks that need no training (released, files,
    callables: seconds) are loaded and probed, and the zoo and family networks are
    probed untrained; only then does any training start. A single string is taken as
    a one-entry list.

    Raises:
        ValueError: an empty list, two entries with the same display name (e.g. two
            files with the same stem), or any :func:`resolve` error (one bad entry's own
            error; several bad entries together in one ValueError).
        FileNotFoundError: the only bad entry is a missing file.
    """
    presets.check_preset(preset)
    if isinstance(entries, str | os.PathLike):
        entries = [entries]
    entries = list(entries)
    if not entries:
        raise ValueError(f"models is empty; give at least one entry:\n{valid_entries(scale)}")
    parsed: list[ModelEntry] = []
    errors: list[Exception] = []
    for x in entries:
        try:
            parsed.append(parse_entry(x, scale))
        except (ValueError, TypeError, FileNotFoundError) as err:
            errors.append(err)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ValueError(
            f"{len(errors)} of {len(entries)} models entries are invalid:\n"
            + "\n".join(f"* {str(err).splitlines()[0]}" for err in errors)
            + f"\nA models entry is one of:\n{valid_entries(scale)}"
        )
    seen: dict[str, str] = {}
    for e in parsed:
        if e.name in seen:
            raise ValueError(
                f"models entries {seen[e.name]!r} and {e.text!r} both have the display name "
                f"{e.name!r}; names must be unique (rename one of the files, or list a "
                "network once)"
            )
        seen[e.name] = e.text
    dev = resolve_device(device)
    out: dict[str, SRModel] = {}
    for e in parsed:  # no training yet: load foreign networks, probe the book's untrained
        if e.origin in _TRAINED:
            _precheck_trained(e, scale, preset)
        else:
            out[e.name] = _load(e, scale, preset, seed, dev, progress)
    trained = [e for e in parsed if e.origin in _TRAINED]
    prefetch([_trained_config(e, scale, preset, seed) for e in trained])  # a sweep (Dask)
    for e in trained:
        out[e.name] = _load(e, scale, preset, seed, dev, progress)
    return {e.name: out[e.name] for e in parsed}

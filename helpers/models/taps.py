"""Layer taps by name on any ``nn.Module``: the outputs of named sub-modules for one input.

Layers are addressed by their names in ``unwrap(model).named_modules()``
(:func:`layer_names`); an unknown name is refused with the list of valid ones. The forward
pass stops as soon as every tapped layer has run, so the layers after the deepest one cost
nothing. Gradients flow through the tapped outputs unless the caller disables them, so a
loss on them trains whatever produced the input (Gatys-style texture losses).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .wrapper import unwrap


class Stop(Exception):
    """Raised by a hook once every tapped layer has its output: ends the forward pass."""


def layer_names(model: nn.Module) -> list[str]:
    """Every tappable layer of ``model`` (its unwrapped network), in registration order."""
    return [name for name, _ in unwrap(model).named_modules() if name]


def check_layers(model: nn.Module, layers: Sequence[str], who: str) -> dict[str, nn.Module]:
    """``{name: module}`` of ``model``; ``ValueError`` naming ``who`` and listing the
    valid names when a layer of ``layers`` is not one of them."""
    named = dict(unwrap(model).named_modules())
    unknown = [n for n in layers if n not in named or not n]
    if unknown:
        valid = layer_names(model)
        raise ValueError(
            f"{who}: unknown layer(s) {unknown}; valid names ({len(valid)}): "
            f"{', '.join(valid[:60])}{' ...' if len(valid) > 60 else ''}"
        )
    return named


def tap(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[str],
    run: Callable[[torch.Tensor], object] | None = None,
) -> dict[str, torch.Tensor]:
    """``{layer: output}`` of ``model`` on ``x`` for every name in ``layers`` (in that
    order); a layer whose output is a tuple gives its first element.

    ``run`` is what to call on ``x`` (default ``model``). Raises ``ValueError`` for an
    unknown layer (listing the valid names) or one that did not run exactly once.
    """
    if not layers:
        raise ValueError(f"no layers to tap; valid names: {layer_names(model)[:60]}")
    named = check_layers(model, layers, type(unwrap(model)).__name__)
    got: dict[str, list[torch.Tensor]] = {n: [] for n in layers}

    def hook(name: str) -> Callable[..., None]:
        def save(_m: nn.Module, _inp: object, out: object) -> None:
            got[name].append(out[0] if isinstance(out, tuple | list) else out)
            if all(got.values()):
                raise Stop

        return save

    handles = [named[n].register_forward_hook(hook(n)) for n in dict.fromkeys(layers)]
    try:
        (run or model)(x)
    except Stop:
        pass
    finally:
        for h in handles:
            h.remove()
    bad = [n for n, v in got.items() if len(v) != 1]
    if bad:
        raise ValueError(f"layer(s) {bad} did not run once per forward pass; tap other layers")
    return {n: got[n][0] for n in layers}

"""The DI-vs-PSNR chapter's tables of networks (Gu & Dong, CVPR 2021, Sec. 4.4, Table 1).

- :func:`architecture`, :func:`family_plan`: what each network is, the family's plan.
- :func:`score_networks`: Y-PSNR/SSIM on the hard cases and a test set (and bicubic's).
- :func:`di_by_case`, :func:`network_table`, :func:`network_results`: DI per network and
  hard case; one row per network (receptive field, PSNR, DI); its JSON record.
- :func:`fit_table`: the log-DI regressions beside the paper's bar.
- :func:`lpips_scores`: LPIPS per network where the ``lpips`` package and weights exist.
- :func:`table1_rows`: each network beside the paper's Table 1 network of its kind.

DI is the diffusion index, in (0, 100]; PSNR in dB; images (1, 3, H, W) in [0, 1].

May import: ``helpers.data``, ``helpers.models``, ``helpers.networks``,
``helpers.published``, :mod:`.di` and :mod:`.result` (and the base modules).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from .. import published
from ..data import SRPair
from ..models import build, evaluate, param_count
from ..models.receptive_field import receptive_field_check
from ..networks import zoo
from ..networks.family import FamilyMember, member_config, parse_member, zoo_twin
from ..results import or_none
from .di import LogDIFit, di_stats, map_di
from .result import LAMResult


def architecture(name: str, origin: str | None) -> str:
    """The registry architecture of a resolved network (``SRModel.origin``): a family
    member's (``"edsr_f16_b4"`` -> ``"edsr"``), a zoo member's (``"rcan_s"`` ->
    ``"rcan"``), else the name itself (released networks: ``"imdn"``)."""
    if origin == "family":
        return parse_member(name).arch
    if origin == "zoo":
        return zoo.MEMBERS[name][0]
    return name


def family_plan(
    members: Iterable[FamilyMember], scale: int, preset: str, seed: int = 0
) -> list[dict[str, Any]]:
    """One row per member: name, arch, width, depth, its zoo twin ("" if none) and the
    training steps and learning rate of its recipe at ``preset``."""
    rows = []
    for m in members:
        cfg = member_config(m, scale, preset, seed)
        rows.append(
            {
                "name": m.name,
                "arch": m.arch,
                "width": m.width,
                "depth": m.depth,
                "zoo twin": zoo_twin(m) or "",
                "steps": cfg.steps,
                "lr": cfg.lr,
            }
        )
    return rows


def score_networks(
    nets: Mapping[str, nn.Module],
    hard_pairs: list[SRPair],
    test_pairs: list[SRPair],
    scale: int,
    device: str | torch.device | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Y-PSNR (dB) and Y-SSIM of every network, and of bicubic, on the hard cases and the
    test images (:func:`helpers.models.evaluate.evaluate_sr`: border shave = scale).

    Returns:
        ``(scores, bicubic)``: name -> ``{"psnr", "ssim"}`` (hard cases) and
        ``{"psnr_test", "ssim_test"}``; bicubic's the same, as the floor every trained
        network should clear (a reference, not a point of the regression).
    """
    scores = {}
    for name, net in tqdm({**nets, "bicubic": build("bicubic", scale)}.items(), "PSNR"):
        h = evaluate.evaluate_sr(net, hard_pairs, device, progress=False)
        t = evaluate.evaluate_sr(net, test_pairs, device, progress=False)
        scores[name] = {
            "psnr": h["psnr_y"],
            "ssim": h["ssim_y"],
            "psnr_test": t["psnr_y"],
            "ssim_test": t["ssim_y"],
        }
    bicubic = scores.pop("bicubic")
    return scores, bicubic


def di_by_case(
    maps: Mapping[tuple[str, str], LAMResult], definition: str = "lam_demo"
) -> pd.DataFrame:
    """DI of each map: rows networks, columns hard cases (both in the maps' order), NaN
    where the window is degenerate (:attr:`LAMResult.degenerate`, left out of every mean).

    Args:
        maps: ``(network, case name) -> LAMResult``
            (:func:`helpers.attribution.cache.cached_lam_maps`).
        definition: :data:`helpers.attribution.di.DI_DEFINITIONS` (default: the LAM demo's).
    """
    nets = list(dict.fromkeys(n for n, _ in maps))
    cases = list(dict.fromkeys(c for _, c in maps))
    return pd.DataFrame(
        {
            c: {
                n: np.nan if (r := maps[(n, c)]).degenerate else map_di(r, definition) for n in nets
            }
            for c in cases
        }
    )


def network_table(
    nets: Mapping[str, nn.Module],
    scores: Mapping[str, Mapping[str, float]],
    maps: Mapping[tuple[str, str], LAMResult],
    scale: int,
    test_set: str,
    device: str | torch.device | None = None,
    definition: str = "lam_demo",
) -> pd.DataFrame:
    """One row per network (index ``network``): its ``kind`` (``SRModel.origin``), the
    receptive field (``"<n>x<n>"`` LR px or ``"global"``; ``empirical`` and ``check`` from
    :func:`helpers.models.receptive_field.receptive_field_check`), ``params``, Y-PSNR (dB)
    and Y-SSIM on the hard cases (``psnr_hard``, ``ssim_hard``) and ``psnr_<test_set>``,
    and the DI summary of its maps (:func:`helpers.attribution.di.di_stats` by
    ``definition``, the LAM demo's by default): ``DI``, ``DI_std``, ``n_maps``,
    ``max_completeness_err_%``, and ``DI_formula_diff`` (largest |DI - the formula's DI|).

    A network whose every window is degenerate (seen at smoke, with barely trained
    networks) gets the DI over all of them, flagged in ``DI_from``, never dropped silently.

    Args:
        nets: name -> network (``.origin`` read when present).
        scores: :func:`score_networks`'s first value.
        maps: ``(network, case name) -> LAMResult`` for every network and hard case.
        scale: SR factor; test_set: the test set's name (a column name).
        device: where the receptive-field check runs.
    """
    rows = []
    for name, net in nets.items():
        rf = receptive_field_check(net, scale, device)
        s = di_stats((r for (n, _), r in maps.items() if n == name), definition)
        rows.append(
            {
                "network": name,
                "kind": getattr(net, "origin", None),
                "receptive_field": rf["label"],
                "empirical": "global" if rf["empirical"] is None else rf["empirical"],
                "check": "ok" if rf["agree"] else "MISMATCH",
                "params": param_count(net),
                "psnr_hard": scores[name]["psnr"],
                "ssim_hard": scores[name]["ssim"],
                f"psnr_{test_set}": scores[name]["psnr_test"],
                "DI": s["mean"] if s["n"] else s["mean_all"],
                "DI_std": s["std"],
                "n_maps": s["n"],
                "DI_from": "kept windows" if s["n"] else "degenerate windows only",
                "max_completeness_err_%": 100 * s["max_completeness_error"],
                "DI_formula_diff": s["max_abs_diff"],
            }
        )
    return pd.DataFrame(rows).set_index("network")


def network_results(
    table: pd.DataFrame,
    arch: Mapping[str, str],
    scores: Mapping[str, Mapping[str, float]],
    train_seconds: Mapping[str, float],
    test_set: str,
) -> dict[str, dict[str, Any]]:
    """The chapter's JSON record of each row of :func:`network_table`: kind, arch, PSNR
    (4 decimals) and SSIM (5) on the hard cases and the test set, DI and its std (4), the
    receptive field (LR px, or ``"global"``) and the empirical one, the worst completeness
    error (fraction, 6 decimals), params and training seconds (1 decimal; ``None`` for
    networks the family run did not train). The std and the completeness error are
    ``None`` where undefined (every window of the network degenerate)."""

    def px(label: str) -> int | str:
        return label if label == "global" else int(label.split("x")[0])

    return {
        n: {
            "kind": r.kind,
            "arch": arch[n],
            "psnr": round(float(r.psnr_hard), 4),
            "ssim": round(float(r.ssim_hard), 5),
            "psnr_test": round(float(r[f"psnr_{test_set}"]), 4),
            "ssim_test": round(float(scores[n]["ssim_test"]), 5),
            "di": round(float(r.DI), 4),
            "di_std": or_none(round(float(r.DI_std), 4)),
            "receptive_field": px(r.receptive_field),
            "receptive_field_empirical": r.empirical,
            "max_completeness_error": or_none(round(float(r["max_completeness_err_%"]) / 100, 6)),
            "params": int(r.params),
            "train_seconds": round(float(train_seconds[n]), 1) if n in train_seconds else None,
        }
        for n, r in table.iterrows()
    }


def fit_table(fits: Mapping[str, LogDIFit | None], paper: Mapping[str, Any]) -> pd.DataFrame:
    """The regressions beside the paper's bar: one column per fit (NaN for ``None``) and
    ``"paper"``; rows networks, Pearson r, p, Spearman rho, p."""
    cols: dict[str, list[Any]] = {
        label: [np.nan] * 5
        if f is None
        else [f.n, f.pearson_r, f.pearson_p, f.spearman_rho, f.spearman_p]
        for label, f in fits.items()
    }
    cols["paper"] = [
        paper["n_networks"],
        f"> {paper['pearson_min']}",
        f"< {paper['p_max']:.0e}",
        f"> {paper['spearman_min']}",
        f"< {paper['p_max']:.0e}",
    ]
    return pd.DataFrame(cols, index=["networks", "Pearson r", "p", "Spearman rho", "p"])


def lpips_scores(
    nets: Mapping[str, nn.Module], cases: Sequence[Any], device: str | torch.device | None = None
) -> tuple[dict[str, float] | None, str]:
    """Mean LPIPS (AlexNet) of each network over the hard cases (``.lr``, ``.hr``), one
    case at a time (hard cases may differ in size).

    Returns:
        ``(name -> LPIPS, "")``, or ``(None, why)`` when the ``lpips`` package or its
        ImageNet backbone weights are not available (the book's machines are offline).
    """
    try:
        # Heavy optional dependency (and it fetches backbone weights): imported on use.
        import lpips

        lpips_net = lpips.LPIPS(net="alex", verbose=False).to(device)
    except Exception as err:  # not installed, or the backbone weights cannot be fetched
        return None, f"{type(err).__name__}: {err}"
    lp = {}
    with torch.no_grad():
        for name, net in nets.items():
            lp[name] = float(
                np.mean(
                    [
                        lpips_net(
                            evaluate.super_resolve(net, c.lr, device).to(device) * 2 - 1,
                            c.hr.to(device) * 2 - 1,
                        ).item()
                        for c in cases
                    ]
                )
            )
    return lp, ""


def table1_rows(
    names: Iterable[str],
    arch: Mapping[str, str],
    receptive_field: Mapping[str, str],
    psnr: Mapping[str, float],
    di: Mapping[str, float],
) -> list[dict[str, Any]]:
    """Each network beside the paper's Table 1 network of the same kind
    (:func:`helpers.published.lam_counterpart`): receptive field, PSNR (2 decimals), DI
    (3 decimals), the remark; the paper's receptive field, PSNR and DI ("" without one)."""
    rows = []
    for name in names:
        counterpart = published.lam_counterpart(arch[name])
        p = published.LAM_TABLE1.get(counterpart, {})
        rows.append(
            {
                "model": name,
                "recpt. field": receptive_field[name],
                "PSNR": round(psnr[name], 2),
                "DI": round(di[name], 3),
                "remark": published.REMARKS.get(arch[name], ""),
                "paper model": counterpart,
                "paper recpt. field": ""
                if not p
                else (
                    "global"
                    if p["receptive_field"] is None
                    else f"{p['receptive_field']}x{p['receptive_field']}"
                ),
                "paper PSNR": p.get("psnr", ""),
                "paper DI": p.get("di", ""),
            }
        )
    return rows

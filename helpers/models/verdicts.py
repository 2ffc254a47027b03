"""The models chapter's claim: our evaluation protocol reproduces the published scores.

:func:`reproduces_published` applies one rule per network to the rows of the chapter's
released-networks table; :func:`row_outcomes` gives each row's own outcome for the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..published import PUBLISHED_CAVEATS
from ..verdict import Verdict, graded

#: |ours − published| (dB) within which a published Y-PSNR counts as reproduced: the
#: papers print two decimals, so 0.05 dB is rounding plus a little protocol noise.
TOLERANCE_DB = 0.05


def row_outcomes(
    rows: Sequence[Mapping[str, Any]], tol_db: float = TOLERANCE_DB
) -> list[str | None]:
    """Per row (``model``, ``dataset``, ``psnr_y``, ``published``): ``"within"`` when
    ``|psnr_y - published| <= tol_db``, ``"outside"`` otherwise, ``None`` without a
    published number."""
    out: list[str | None] = []
    for r in rows:
        pub = r.get("published")
        if pub is None:
            out.append(None)
        else:
            out.append("within" if abs(float(r["psnr_y"]) - float(pub)) <= tol_db else "outside")
    return out


def reproduces_published(
    rows: Sequence[Mapping[str, Any]],
    tol_db: float = TOLERANCE_DB,
    caveats: Mapping[str, str] = PUBLISHED_CAVEATS,
) -> dict[str, Verdict]:
    """One verdict per network that has published numbers.

    Rule: the network's Y-PSNR (MATLAB-bicubic LR, shave = scale) is within ``tol_db``
    dB of the paper's value on every set and scale where the paper gives one. Outcomes:
    ``holds`` (all within), ``does not hold`` (some outside; the caveat of
    :data:`~helpers.published.PUBLISHED_CAVEATS` for that network, or network/dataset, is
    quoted when there is one), ``not testable`` (no published row).

    Args:
        rows: dicts with ``model``, ``dataset``, ``scale``, ``psnr_y`` (dB) and
            ``published`` (dB or None).
    """
    by_model: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_model.setdefault(str(r["model"]), []).append(r)
    rule = (
        f"|ours - published| <= {tol_db} dB on every set and scale the paper reports "
        "(Y-PSNR, shave = scale)"
    )
    verdicts = {}
    for model, group in by_model.items():
        scored = [r for r in group if r.get("published") is not None]
        if not scored:
            verdicts[model] = Verdict(
                model, rule, "not testable", {}, f"{model}: no published number"
            )
            continue
        diffs = {_key(r): round(float(r["psnr_y"]) - float(r["published"]), 3) for r in scored}
        outside = {k: d for k, d in diffs.items() if abs(d) > tol_db}
        worst = max(abs(d) for d in diffs.values())
        text = f"{model}: max |ours - published| {worst:.3f} dB over {len(diffs)} entries"
        if outside:
            sets = sorted({str(r["dataset"]) for r in scored if _key(r) in outside})
            notes = [caveats[k] for k in [model, *(f"{model}/{s}" for s in sets)] if k in caveats]
            text += f"; outside the tolerance: {outside}" + (
                f" (known: {'; '.join(notes)})" if notes else ""
            )
        verdicts[model] = Verdict(
            model,
            rule,
            graded(not outside),
            {"diff_db": diffs, "tolerance_db": tol_db},
            text,
            "the paper's table (published)",
        )
    return verdicts


def _key(r: Mapping[str, Any]) -> str:
    return f"{r['dataset']} x{r['scale']}"

"""Degradation semantics (Liu et al., "Discovering distinctive 'semantics' in
super-resolution networks"): do an SR network's deep features sort inputs by degradation
rather than by content, and what makes them?

- ``inputs``: the same contents clean and under blur, noise and JPEG at two strengths.
- ``taps``: features of named layers of any network (forward hooks), the block chain.
- ``measures``: Calinski–Harabasz index with permutation nulls and bootstrap intervals,
  the linear probe, 2-D projections for figures.
- ``networks``: the four SRResNets (with/without global residual x L1/L1+GAN) trained
  through the one training loop, with snapshots for the training curve.
- ``analysis``: one network measured end to end; ``tables``: the chapter's tables;
  ``verdicts``: the paper's four claims.

May import: ``helpers.data``, ``helpers.models``, ``helpers.metrics``, ``helpers.train``,
``helpers.cache``, ``helpers.verdict``, ``helpers.published``. Nothing imports it but the
chapter and ``helpers.plots.ddr``.
"""

from . import analysis, inputs, measures, networks, tables, taps, verdicts

__all__ = ["analysis", "inputs", "measures", "networks", "tables", "taps", "verdicts"]

"""Texture-loss SR (Gondal et al. 2018, TSRN).

- ``gram``: Gram matrices, the texture loss (Eq. 1), guided per-segment Gram (Eq. 4),
  the feature loss, and the Gram and feature distances as metrics (Eq. 5).
- ``lossnet``: the frozen loss network from three sources (ImageNet VGG-19 when cached,
  a VGG-19-topology texture classifier trained here, random filters).
- ``composites``: texture composites with exact segment masks.
- ``networks``: TSRN's MSE phase and texture phases through the one training loop.
- ``evaluate``: scores by held-out networks (distances, bleeding, sharpness, classifier
  accuracy, the same-texture 2AFC proxy).
- ``analysis``: the chapter's data, per-seed scoring and tables.
- ``verdicts``: the five claims, each a stated rule.

Imports from the base modules, ``data``, ``metrics``, ``models``, ``train`` and
``texture`` (its classifier trains the ``texture`` loss network and judges
recognisability); nothing imports from here but the chapter and ``plots``.
"""

from . import analysis, composites, evaluate, gram, lossnet, networks, verdicts

__all__ = ["analysis", "composites", "evaluate", "gram", "lossnet", "networks", "verdicts"]

"""Texture: the texture classifier and the texture-based error analysis (Magid et al.).

- ``classifier``: DeepTEN (ResNet trunk + Encoding layer), its training data, training,
  loading and evaluation.
- ``analysis``: patch labelling (cached), semantic profiles, label consistency and the
  high-vs-all training experiment.

May import: ``helpers.data``, ``helpers.metrics``, ``helpers.models``, ``helpers.train``,
``helpers.networks``.
"""

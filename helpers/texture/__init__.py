"""Texture: the texture classifier and the texture-based error analysis (Magid et al.,
CVPR 2022). The two texture chapters share everything here, and share its cached results
on disk (:mod:`helpers.cache`) rather than through each other. Its data (DTD, procedural
textures) live in :mod:`helpers.data.textures`, its figures in :mod:`helpers.plots.texture`.

- ``deepten``: the classifier's config (:data:`DEFAULT_CONFIG`), the residual encoding
  layer and DeepTEN (ResNet trunk + encoding, unit-norm texture embeddings), building it
  with or without cached ImageNet trunk weights.
- ``classifier``: training (keyed, resumable, atomic checkpoints), loading, evaluation
  (accuracy, confusion); the texture cache folder.
- ``patches``: seeded patch coordinates, crops at them, labelling patches (label,
  probabilities, embedding).
- ``patchset``: :class:`PatchSet`, the labelled patches of one SR set (HR, bicubic and SR
  versions at the same coordinates, with patch Y-PSNR), and pooling sets.
- ``labelling``: the preset's classifier (trained once, indexed) and the cached labelling
  of SR sets and SR networks' outputs (keyed by classifier, pixels, settings, weights
  digest and code).
- ``complexity``: Fig. 3/4/7 patches as the released Fig. 3 notebook samples and scores
  them (positions, bicubic PSNR convention, entropies, the paper's 0.4 rule count).
- ``nulls``: the verdicts' nulls and intervals, vectorized (label-permutation null of JS
  distances, bootstrap of the PSNR spread at equal entropy, Kendall's W via Friedman).
- ``stability``: the classifier's label stability under small shifts of the patch.
- ``profiles``: semantic profiles and Jensen-Shannon distances (Fig. 8), PSNR per label
  (Fig. 9), entropy vs PSNR (Fig. 3-4), high-complexity selection (Fig. 7), projection
  and k-means of the embeddings (Fig. 5-6).
- ``consistency``: label agreement with bootstrap CIs (Table 1), paired differences,
  flips, example selection (Fig. 10), consistency vs PSNR.
- ``high_vs_all``: Fig. 7's training experiment (all vs high-complexity patches), its
  curve recorded by the training loop's callback and cached.
- ``verdicts``: every claim the two chapters decide, as a function with its rule,
  returning a :class:`~helpers.verdict.Verdict`.
- ``report``: what the texture-profiles chapter prints (summaries as text) and the
  sections of its results JSON, formatted and rounded from the other modules' outputs.

May import: the base modules, ``helpers.data``, ``helpers.metrics``, ``helpers.models``,
``helpers.train`` and ``helpers.networks``; never ``helpers.plots`` or ``helpers.book``.
Inside: ``deepten`` <- ``classifier`` <- ``labelling``; ``patches`` <- ``patchset`` <-
``labelling``, ``profiles``, ``consistency``; ``high_vs_all`` uses ``classifier``'s cache
folder and ``patchset``'s PSNR; ``complexity`` uses ``classifier``'s cache folder,
``patches`` and ``patchset``; ``stability`` uses ``patches``; ``nulls`` no other module
(``profiles`` uses it); ``verdicts`` only ``helpers.published``; ``report`` uses
``complexity``, ``high_vs_all``, ``labelling`` and ``profiles``.
"""

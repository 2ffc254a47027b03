"""helpers: the thin PyTorch package behind the book *How super-resolution networks see*.

Every chapter of the book imports from here; notebooks keep only narrative, parameters,
calls and plots. Layers, each importing only from the ones above it:

- base modules: ``runtime`` (device, seeding, cache location), ``files`` (atomic
  writes, no torch), ``io`` (images, tensors), ``cache`` (the one content-addressed
  cache), ``presets`` (the one preset table), ``parameters`` (the types chapters
  declare, checked by runner and chapter),
  ``results`` (chapters' JSON; their schemas in ``schemas/``), ``published`` (the papers'
  numbers), ``verdict`` (the shape of a decided claim);
- ``data/``: manifest and fetcher, image sets, MATLAB resize, degradations, patches,
  procedural textures;
- ``metrics/``: PSNR/SSIM, entropy of gradients, Gini/DI, image-content measures;
- ``models/``: architectures, registry, released loaders, receptive fields, the
  ``SRModel`` wrapper, super-resolve-and-score;
- ``train``: the one training loop, with keyed, resumable checkpoints;
- ``networks/``: the zoo and the DI family the book trains itself, and the one resolver
  from a chapter's ``models`` entries (names, weight files, ``module:callable``) to
  ``SRModel``;
- analyses, one subpackage per body of work, each with its ``verdicts``:
  ``attribution/`` (LAM, its cache, hard cases, the DI analysis), ``texture/`` (texture
  classifier, labelling, profiles, consistency); the planned chapters get theirs beside
  them (``prior/``, ``texture_loss/``, ``degradation/``);
- ``plots/``: one visual style and the figures chapters share;
- ``book/``: the papermill runner that executes chapters and builds the book.
"""

__version__ = "0.1.0"

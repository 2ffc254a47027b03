"""helpers: the thin PyTorch package behind the book *How super-resolution networks see*.

Every chapter of the book imports from here; notebooks keep only narrative, parameters,
calls and plots. Layers, each importing only from the ones above it:

- base modules: ``runtime`` (device, seeding, cache location), ``io`` (atomic writes,
  images), ``results`` (chapters' JSON), ``published`` (the papers' numbers);
- ``data/``: manifest and fetcher, image sets, MATLAB resize, degradations, patches,
  procedural textures;
- ``metrics/``: PSNR/SSIM, entropy of gradients, Gini/DI, image-content measures;
- ``models/``: architectures, registry, released loaders, receptive fields, the
  ``SRModel`` wrapper, super-resolve-and-score;
- ``train``: the one training loop, with keyed, resumable checkpoints;
- ``networks/``: the zoo and the DI family the book trains itself;
- analyses, one subpackage per body of work: ``attribution/`` (LAM, its cache, hard
  cases), ``texture/`` (texture classifier, profiles, consistency);
- ``plots/``: one visual style and the figures chapters share;
- ``book/``: the papermill runner that executes chapters and builds the book.
"""

__version__ = "0.1.0"

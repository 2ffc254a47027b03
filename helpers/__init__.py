"""helpers: the thin PyTorch package behind the book *How super-resolution networks see*.

Every chapter of the book imports from here; notebooks keep only narrative, parameters,
calls and plots. Modules, one concern each:

- ``runtime``: device choice, seeding, data/cache locations.
- ``io``: atomic file writes, image load/save and uint8 <-> tensor conversion.
- ``data``: the data manifest, the pooch fetcher with offline mirror, image sets.
- ``resize``: MATLAB-compatible bicubic ``imresize`` in torch.
- ``degradations``: seeded bicubic-down, blur, noise and JPEG degradations.
- ``patches``: random and grid patch samplers.
- ``metrics``: PSNR/SSIM on Y or RGB, entropy of gradients, Gini and DI.
- ``models``: the model registry (trainable architectures, released weights).
- ``train``: the one training loop, with config-keyed, resumable checkpoints.
- ``zoo``: the small networks the book trains itself and shares across chapters.
- ``evaluate``: super-resolve a set and score it (PSNR/SSIM on Y, as the papers).
- ``published``: the papers' numbers, printed beside the book's.
- ``hard_cases``: the LAM paper's rule for hard patches (low PSNR, high variance).
- ``attribution``: local attribution maps (LAM) and integrated gradients.
- ``lam_cache``: a keyed, verified on-disk cache of LAM maps shared by chapters.
- ``family``: the DI chapter's network family, its training and receptive-field checks.
- ``content``: image-content measures (orientation coherence, periodicity).
- ``procedural``: procedurally generated textures with DTD's label names.
- ``texture``: the DeepTEN texture classifier, its data and training.
- ``texture_analysis``: patch labelling, semantic profiles and label consistency.
- ``results``: atomic JSON results per chapter.
- ``plots``: one visual style.
- ``book``: the papermill runner that executes chapters and builds the book.
"""

__version__ = "0.1.0"

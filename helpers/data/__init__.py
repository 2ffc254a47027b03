"""Data: everything that turns files or seeds into image tensors, and nothing that learns.

- ``download``: ``data_manifest.yaml`` and the verified fetcher (pooch, offline mirror).
- ``sets``: SR test/training sets as HR/LR pairs, plain image lists, DTD-10 lists.
- ``resize``: MATLAB-compatible bicubic ``imresize`` and the one HR->LR pair function.
- ``degradations``: seeded blur, noise and JPEG (the one Gaussian kernel lives here).
- ``patches``: random and grid patch samplers.
- ``textures``: labelled texture images (procedural, DTD-10, DTD-47) for the texture
  classifier, with its transforms and the preset's train/test split.
- ``procedural`` + ``patterns``: procedurally generated textures under DTD's label names
  (the public API and sampling context; one generator per label).

May import: ``helpers.io``, ``helpers.runtime``, ``helpers.cache``. Nothing above it.
"""

from .download import MANIFEST_PATH, RAW_PREFIX, DataUnavailableError, fetch, keys, manifest
from .sets import IMAGE_SUFFIXES, SR_SETS, SRPair, dtd10, load_images, load_sr_set

__all__ = [
    "IMAGE_SUFFIXES",
    "MANIFEST_PATH",
    "RAW_PREFIX",
    "SR_SETS",
    "DataUnavailableError",
    "SRPair",
    "dtd10",
    "fetch",
    "keys",
    "load_images",
    "load_sr_set",
    "manifest",
]

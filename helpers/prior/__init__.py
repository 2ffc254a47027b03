"""Attribution prior (Zamfir, MSc thesis 2022): can a loss on input-gradient norms make SR
networks use self-similar regions?

- ``ssm``: self-similarity maps (batched NCC, Eq. 3.1) and the extraction module
  (candidate SSM, PoI and SSR boxes, the four scenarios of Fig. 4.4).
- ``loss``: the prior (Eq. 3.2-3.10) as a loss of the one training loop, with the
  receptive-field crop of the input-gradient pass; weight decay as a loss for Table 4.6.
- ``runs``: the chapter's trainings (paired seeds: same seed, same init and batches),
  test sets and per-image scores, DI through the LAM cache, attribution-norm sections
  (Fig. 4.5), PSNR on SSRs and PoIs (Table 4.7), the overhead measurement.
- ``stats``: paired t-test, Wilcoxon, paired bootstrap over images, TOST, Holm, power.
- ``tables``: which variants each of the thesis's tables trains, training and scoring
  them over the seeds, their statistics and display.
- ``report``: the NCC check against skimage and what the chapter prints and writes.
- ``verdicts``: the thesis's nine claims as rules on those numbers.

May import: ``helpers.data``, ``helpers.models``, ``helpers.metrics``, ``helpers.train``,
``helpers.attribution``, ``helpers.cache``, ``helpers.verdict``, ``helpers.published``,
``helpers.presets``. Nothing imports it but the chapter, ``helpers.plots.prior`` and
``scripts/bench_prior.py``.
"""

from . import loss, ssm

__all__ = ["loss", "ssm"]

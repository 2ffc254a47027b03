"""The one preset table: what ``smoke``, ``embedded``, ``benchmark`` and ``full`` mean.

Every preset-dependent default of every chapter lives here, one entry per concern
(:data:`TABLE`), and nowhere else: training budgets, the released networks a preset uses,
the DI family, LAM steps and hard cases, test sets, the texture classifier's config and
data, patch sampling, bootstrap replicates. Chapters resolve their ``None`` parameters with
one call, :func:`fill`; the runner and the modules read the same table with :func:`get`.
Changing what ``benchmark`` means is an edit of this file only.

This module imports no torch (the runner validates presets before any kernel starts;
``python -c "import helpers.presets"`` stays instant).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

#: The four scales every chapter runs at (README, "Presets").
PRESETS: tuple[str, ...] = ("smoke", "embedded", "benchmark", "full")

#: The zoo's members (their sizes: :data:`helpers.networks.zoo.MEMBERS`), in book order.
ZOO: tuple[str, ...] = ("fsrcnn", "edsr_s", "edsr_m", "rcan_s", "nlsn_s", "srresnet_s")

#: Released networks with published weights (:mod:`helpers.models.registry`).
RELEASED: tuple[str, ...] = ("carn_m", "imdn", "pan", "grl_tiny")

_BIG = ("benchmark", "full")


def _cross(arch: str, widths: Sequence[int], depths: Sequence[int], at_w: int, at_d: int):
    """A width sweep at depth ``at_d`` and a depth sweep at width ``at_w`` (shared centre),
    as ``(arch, width, depth)`` triples."""
    out = [(arch, w, at_d) for w in widths]
    return out + [(arch, at_w, d) for d in depths if d != at_d]


def _grid(arch: str, widths: Sequence[int], depths: Sequence[int]):
    return [(arch, w, d) for w in widths for d in depths]


def family_name(arch: str, width: int, depth: int) -> str:
    """The DI family's name for a network: ``fsrcnn_d<width>_m<depth>`` (FSRCNN's shrink
    ``s`` = 12) or ``edsr_f<width>_b<depth>``; :func:`helpers.networks.family.parse_member`
    reads it back."""
    return f"fsrcnn_d{width}_m{depth}" if arch == "fsrcnn" else f"edsr_f{width}_b{depth}"


_EMBEDDED_FAMILY = _cross("fsrcnn", [16, 32, 56], [2, 4, 8], 32, 4) + _cross(
    "edsr", [8, 16, 32], [2, 4, 8, 16], 16, 4
)

# fmt: off
#: concern -> preset -> value. Read with :func:`get` (a deep copy).
TABLE: dict[str, dict[str, Any]] = {
    # The zoo's (and the DI family's) training recipe: the same recipe, fewer or more
    # steps. ``lr_patch`` is the LR patch side (HR patch = lr_patch * scale).
    # embedded/benchmark: all six members at x4 in ~8 min on 2 idle CPU cores. Measured on
    # the embedded test images (x4, Y-PSNR; bicubic 28.68 dB): EDSR 4x16 gives 28.64 dB
    # after 1000 steps at lr 5e-4 but 28.96 dB at 1e-3, so a short schedule wants a larger
    # step than EDSR's 2e-4 (which assumes 300k steps); at 300 steps every member but
    # SRResNet (global residual) was still below bicubic. full: DIV2K (point
    # HELPERS_LOCAL_DIV2K_TRAIN at its HR folder).
    "train_budget": {
        "smoke": {"steps": 6, "batch": 4, "lr_patch": 12, "data": "embedded_train"},
        "embedded": {"steps": 1000, "batch": 12, "lr_patch": 16, "lr": 1e-3,
                     "data": "embedded_train"},
        "benchmark": {"steps": 1000, "batch": 12, "lr_patch": 16, "lr": 1e-3,
                      "data": "embedded_train"},
        "full": {"steps": 300_000, "batch": 16, "lr_patch": 48, "data": "div2k_train"},
    },
    # Step multiplier per architecture. FSRCNN has no skip connection (its deconvolution
    # must learn the whole image from a near-zero init) and costs ~1/4 of EDSR 8x32 per
    # step: at 1000 steps it is 2.9 dB below bicubic, at 4000 steps 0.6 dB, for about the
    # same wall time as EDSR 8x32 at 1000.
    "train_step_factor": {
        "smoke": {}, "embedded": {"fsrcnn": 4}, "benchmark": {"fsrcnn": 4}, "full": {},
    },
    # Released networks a chapter adds to the zoo by default.
    "released": {"smoke": [], "embedded": [], "benchmark": list(RELEASED),
                 "full": list(RELEASED)},
    # The DI family as (arch, width, depth). embedded: two crosses (width sweep at a fixed
    # depth, depth sweep at a fixed width) sized so that the 11 networks train in a quarter
    # of an hour on two CPU cores with the zoo budget (EDSR's cost grows with width
    # squared, so its width sweep stops at 32); their centres equal the zoo's fsrcnn and
    # edsr_s. full: the paper's 15 + 15 on grids over its ranges.
    "family": {
        "smoke": _cross("fsrcnn", [8, 16], [1, 2], 16, 2) + _cross("edsr", [8, 16], [1, 2], 8, 2),
        "embedded": _EMBEDDED_FAMILY,
        "benchmark": list(_EMBEDDED_FAMILY),
        "full": _grid("fsrcnn", [16, 32, 56, 96, 128], [2, 8, 16])
        + _grid("edsr", [32, 64, 128, 192, 256], [10, 16, 24]),
    },
    # LAM path steps (the paper's right Riemann sum) and hard cases, shared by the LAM and
    # DI chapters so that both attribute the same windows. full: 100 steps on the paper's
    # 150 hard cases.
    "lam_steps": {"smoke": 8, "embedded": 50, "benchmark": 50, "full": 100},
    # How the LAM and DI chapters' maps integrate the path (helpers.attribution.MODES):
    # "exact" is the paper's right sum at lam_steps; "fast" the fewest arclength nodes
    # whose map is closer to the converged integral than the paper's 50-step sum on every
    # network and crop of benchmarks/lam_rules.json. benchmark runs fast so that its 11
    # hard cases fit on a CPU: GRL-tiny costs ~120 s per 64^2 map exact and ~48 s fast
    # (benchmarks/lam_speed.json), and two of the cases pad to 128^2 in its windows.
    "lam_mode": {"smoke": "exact", "embedded": "exact", "benchmark": "fast", "full": "exact"},
    "n_hard": {"smoke": 1, "embedded": 6, "benchmark": 11, "full": 150},
    # Where hard cases come from: the paper's rule over sub-images of the embedded test
    # images (size/stride in HR px; smoke: first image only; no candidate overlapping a
    # chosen one by more than max_overlap of its area, at most max_per_image per photo),
    # the LAM authors' 11 demo crops (lam_hard), or the paper's 150 from a local folder
    # ($HELPERS_LOCAL_LAM_HARD150; the chapters stop with a message when it is absent).
    "hard_cases": {
        "smoke": {"source": "rule", "size": 128, "stride": 128, "first_image_only": True},
        "embedded": {"source": "rule", "size": 256, "stride": 128, "first_image_only": False,
                     "max_overlap": 0.25, "max_per_image": 2},
        "benchmark": {"source": "lam_hard"},
        "full": {"source": "local"},
    },
    # The DI chapter's PSNR/SSIM test set.
    "di_test_set": {"smoke": "embedded_test", "embedded": "embedded_test",
                    "benchmark": "set5", "full": "set5"},
    # Test-set evaluation limits (images, centre crop in HR px): smoke scores one crop.
    "eval_limit": {"smoke": {"limit": 1, "crop": 96}, "embedded": {}, "benchmark": {},
                   "full": {}},
    # Models and data: the scales and sets the released networks are scored on (each at
    # the scales its weights exist for), and how many Set5/Set14 images the resize check
    # remakes (None: all).
    "released_eval": {
        "smoke": {"scales": [4], "sets": ["set5"], "resize_check_limit": 1},
        "embedded": {"scales": [2, 3, 4], "sets": ["set5", "set14"], "resize_check_limit": None},
        "benchmark": {"scales": [2, 3, 4], "sets": ["set5", "set14"], "resize_check_limit": None},
        "full": {"scales": [2, 3, 4], "sets": ["set5", "set14"], "resize_check_limit": None},
    },
    "di_eval_limit": {"smoke": {"limit": 1, "crop": 128}, "embedded": {}, "benchmark": {},
                      "full": {}},
    # The texture classifier (DeepTEN) per preset, overlaid on
    # helpers.texture.deepten.DEFAULT_CONFIG. Timings: 2 shared CPU cores
    # (scripts/bench_texture.py).
    "texture_classifier": {
        # Seconds: the tests' code path, tiny everything.
        "smoke": {
            "backbone": "resnet18", "stages": 2, "width": 16, "pretrained": False,
            "reduce_dim": 16, "codewords": 8, "logit_scale": 16.0, "crop": 48, "batch": 16,
            "steps": 40, "optimizer": "adamw", "lr": 3e-3, "weight_decay": 1e-4,
            "schedule": "cosine", "ckpt_every": 20,
        },
        # Procedural textures (22 DTD classes), from scratch on CPU: a ResNet-18 cut after
        # stage 3 at 3/8 width (24-48-96 channels), D=48, K=16 (768-d embedding), 64 px.
        "embedded": {
            "backbone": "resnet18", "stages": 3, "width": 24, "pretrained": False,
            "reduce_dim": 48, "codewords": 16, "logit_scale": 16.0, "crop": 64, "batch": 32,
            "steps": 1200, "optimizer": "adamw", "lr": 2e-3, "weight_decay": 1e-4,
            "schedule": "cosine", "warmup_steps": 50, "ckpt_every": 200,
        },
        # DTD-10 (mirror), official split 1 (train+val / test), from scratch on CPU; images
        # resized to 128 px on the short side, 96 px crops. ImageNet weights only apply at
        # width 64 (set "width": 64, "stages": 4 when torchvision's resnet18 is cached).
        "benchmark": {
            "backbone": "resnet18", "stages": 3, "width": 24, "pretrained": "auto",
            "reduce_dim": 48, "codewords": 16, "logit_scale": 16.0, "crop": 96,
            "load_size": 128, "batch": 32, "steps": 1000, "optimizer": "adamw", "lr": 2e-3,
            "weight_decay": 1e-4, "schedule": "cosine", "warmup_steps": 50, "ckpt_every": 200,
        },
        # The paper: ResNet-50 DeepTEN (D=128, K=32: 4096-d embedding) on DTD-47 train+val,
        # 224 px, batch 64, 600 epochs of 3760 images (35 250 steps), SGD lr 0.01 / 10 every
        # 150 epochs, momentum 0.9, weight decay 1e-6; ImageNet weights when cached. GPU.
        "full": {
            "backbone": "resnet50", "stages": 4, "width": 64, "pretrained": "auto",
            "reduce_dim": 128, "codewords": 32, "crop": 224, "load_size": 256, "batch": 64,
            "steps": 35250, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
            "weight_decay": 1e-6, "schedule": "step", "ckpt_every": 1000, "num_workers": 8,
        },
    },
    # The data the texture classifier trains and tests on.
    "texture_data": {
        "smoke": {"source": "procedural", "labels": ["chequered", "polka-dotted", "striped"],
                  "n_train": 24, "n_test": 12, "size": 64},
        "embedded": {"source": "procedural", "labels": "all", "n_train": 160, "n_test": 40,
                     "size": 80},
        "benchmark": {"source": "dtd10"},
        "full": {"source": "dtd47"},
    },
    # Patch sampling, datasets and models of both texture chapters (so that they hit the
    # same cached labellings). ``datasets`` maps an SR set to its limit/crop options;
    # ``train_set`` is the SR training data (profiles, Fig. 3-7); ``test_sets`` are
    # super-resolved by every model. benchmark: embedded_test is profiled but not SR-ed.
    # fig3: the released Fig. 3 notebook's sampling for Fig. 3/4/7 (LR px per patch, patches
    # per image); n_null: draws of the Fig. 8 permutation null; stability: the classifier's
    # label stability under shifts (HR px) of at most max_patches test patches.
    # full: the sets need local folders ($HELPERS_LOCAL_<NAME>).
    "texture_patches": {
        "smoke": {
            "size": 64, "n_per_image": 6,
            "datasets": {"embedded_train": {"limit": 2, "crop": 256},
                         "embedded_test": {"limit": 2, "crop": 192}},
            "train_set": "embedded_train", "test_sets": ["embedded_test"],
            "zoo": ["fsrcnn", "edsr_s"], "released": [], "n_boot": 200, "k_clusters": 3,
            "fig3": {"lr_patch": 48, "n_per_image": 20}, "n_null": 200,
            "stability": {"shifts": [4], "max_patches": 12},
        },
        "embedded": {
            "size": 128, "n_per_image": 50,
            "datasets": {"embedded_train": {}, "embedded_test": {}},
            "train_set": "embedded_train", "test_sets": ["embedded_test"],
            "zoo": list(ZOO), "released": [], "n_boot": 2000, "k_clusters": 8,
            "fig3": {"lr_patch": 48, "n_per_image": 100}, "n_null": 1000,
            "stability": {"shifts": [2, 4, 8], "max_patches": 300},
        },
        "benchmark": {
            "size": 128, "n_per_image": 50,
            "datasets": {"embedded_train": {}, "embedded_test": {}, "set5": {}, "set14": {},
                         "lam_hard": {}},
            "train_set": "embedded_train", "test_sets": ["set5", "set14", "lam_hard"],
            "zoo": list(ZOO), "released": list(RELEASED), "n_boot": 2000, "k_clusters": 10,
            "fig3": {"lr_patch": 48, "n_per_image": 100}, "n_null": 1000,
            "stability": {"shifts": [2, 4, 8], "max_patches": 300},
        },
        "full": {
            "size": 128, "n_per_image": 50,
            "datasets": {"div2k_train": {}, "set14": {}, "b100": {}, "urban100": {},
                         "manga109": {}},
            "train_set": "div2k_train",
            "test_sets": ["set14", "b100", "urban100", "manga109"],
            "zoo": list(ZOO), "released": list(RELEASED), "n_boot": 2000, "k_clusters": 15,
            "fig3": {"lr_patch": 48, "n_per_image": 100}, "n_null": 1000,
            "stability": {"shifts": [2, 4, 8], "max_patches": 1000},
        },
    },
    # Texture profiles, Fig. 7 (high-complexity vs all patches): training steps.
    "f7_steps": {"smoke": 8, "embedded": 1000, "benchmark": 1000, "full": 20000},
    # The 2-d projection of the texture manifold (PCA at smoke: skips numba's compile).
    "projection": {"smoke": "pca", "embedded": "umap", "benchmark": "umap", "full": "umap"},
    # Smallest label count for per-label statistics (Fig. 4 and Fig. 9); fig7: fewest
    # training patches the paper's entropy/PSNR >= 0.4 must keep before Fig. 7 falls back
    # to the top 20% by quantile (and says so).
    "min_label_count": {"smoke": {"fig4": 2, "fig9": 1, "fig7": 4},
                        "embedded": {"fig4": 5, "fig9": 3, "fig7": 50},
                        "benchmark": {"fig4": 5, "fig9": 3, "fig7": 50},
                        "full": {"fig4": 5, "fig9": 3, "fig7": 50}},
    # Degradation semantics (Liu et al.): the four SRResNets (zoo's srresnet_s size, x4,
    # L1 phase on the zoo's budget, then a GAN fine-tune), their contents, nulls, seeds.
    # photos: image set -> tiles per image (size HR px); textures: procedural contents;
    # released: networks whose features are also measured.
    "ddr": {
        "smoke": {"scale": 4, "n_feats": 16, "n_blocks": 3, "steps": 8, "gan_steps": 4,
                  "lr": 1e-3, "gan_lr": 1e-4, "lr_patch": 12, "batch": 4,
                  "data": "embedded_train", "adv_weight": 5e-3, "d_lr": 2e-4, "d_width": 8,
                  "snapshots": 2, "seeds": [0], "photos": {"embedded_test": 2}, "limit": 2,
                  "textures": 2, "size": 64, "n_perm": 50, "n_boot": 50, "probe_perm": 10,
                  "projections": ["pca"], "released": []},
        "embedded": {"scale": 4, "n_feats": 32, "n_blocks": 6, "steps": 1000, "gan_steps": 300,
                     "lr": 1e-3, "gan_lr": 1e-4, "lr_patch": 16, "batch": 12,
                     "data": "embedded_train", "adv_weight": 5e-3, "d_lr": 2e-4, "d_width": 32,
                     "snapshots": 10, "seeds": [0, 1], "photos": {"embedded_test": 3},
                     "limit": None, "textures": 8, "size": 128, "n_perm": 500, "n_boot": 500,
                     "probe_perm": 50, "projections": ["tsne", "umap"], "released": []},
        "benchmark": {"scale": 4, "n_feats": 32, "n_blocks": 6, "steps": 1000,
                      "gan_steps": 300, "lr": 1e-3, "gan_lr": 1e-4, "lr_patch": 16,
                      "batch": 12, "data": "embedded_train", "adv_weight": 5e-3,
                      "d_lr": 2e-4, "d_width": 32, "snapshots": 10, "seeds": [0, 1, 2],
                      "photos": {"embedded_test": 3, "set14": 1, "dtd10_test": 2}, "limit": None,
                      "textures": 8, "size": 128, "n_perm": 500, "n_boot": 500,
                      "probe_perm": 50, "projections": ["tsne", "umap"],
                      "released": list(RELEASED)},
        "full": {"scale": 4, "n_feats": 64, "n_blocks": 16, "steps": 100_000,
                 "gan_steps": 50_000, "lr": 2e-4, "gan_lr": 1e-4, "lr_patch": 24, "batch": 16,
                 "data": "div2k_train", "adv_weight": 5e-3, "d_lr": 1e-4, "d_width": 64,
                 "snapshots": 20, "seeds": [0, 1, 2], "photos": {"div2k_valid": 4},
                 "limit": None, "textures": 8, "size": 128, "n_perm": 1000, "n_boot": 1000,
                 "probe_perm": 200, "projections": ["tsne", "umap"],
                 "released": list(RELEASED)},
    },
    # Texture-loss SR (Gondal et al., TSRN): the generator (the paper's 10 x 64 at full,
    # 4 x 32 here on CPU), its MSE phase then a texture phase (Gram, guided Gram, feature
    # loss) on texture composites; the loss network (VGG-19 topology, block-1 width
    # ``width``) trained as a texture classifier (``lossnet.classifier``) or random; a
    # second one of seed ``judge_seed`` scores. variants: texture-phase networks per seed;
    # ablation_seeds: the seeds that also train the per-layer Fig. 4 ablation.
    "texture_loss": {
        "smoke": {"scale": 4, "n_feats": 8, "n_blocks": 2, "lr_patch": 12, "batch": 4,
                  "mse_steps": 6, "tex_steps": 4, "lr": 1e-3, "tex_lr": 5e-4, "seeds": [0],
                  "composite_size": 48, "n_train": 8, "n_test": 4, "segments": [2, 3],
                  "lossnet": {"width": 4, "probe": 8, "probe_size": 32, "classifier": {
                      "pretrained": False, "reduce_dim": 8, "codewords": 4,
                      "logit_scale": 16.0, "crop": 32, "batch": 8, "steps": 4,
                      "optimizer": "adamw", "lr": 2e-3, "schedule": "cosine",
                      "ckpt_every": 4}},
                  "source": "texture", "judge_seed": 1, "classify_per_class": 2, "triplets": 30,
                  "n_boot": 200,
                  "ablation_seeds": [], "released": []},
        "embedded": {"scale": 4, "n_feats": 32, "n_blocks": 4, "lr_patch": 16, "batch": 8,
                     "mse_steps": 500, "tex_steps": 250, "lr": 1e-3, "tex_lr": 5e-4,
                     "seeds": [0, 1], "composite_size": 80, "n_train": 48, "n_test": 12,
                     "segments": [2, 3, 4],
                     "lossnet": {"width": 8, "probe": 64, "probe_size": 64, "classifier": {
                         "pretrained": False, "reduce_dim": 32, "codewords": 8,
                         "logit_scale": 16.0, "crop": 64, "batch": 32, "steps": 300,
                         "optimizer": "adamw", "lr": 2e-3, "weight_decay": 1e-4,
                         "schedule": "cosine", "warmup_steps": 30, "ckpt_every": 100}},
                     "source": "texture", "judge_seed": 1, "classify_per_class": 8, "triplets": 400,
                     "n_boot": 1000, "ablation_seeds": [], "released": []},
        "benchmark": {"scale": 4, "n_feats": 32, "n_blocks": 4, "lr_patch": 16, "batch": 8,
                      "mse_steps": 500, "tex_steps": 250, "lr": 1e-3, "tex_lr": 5e-4,
                      "seeds": [0, 1, 2], "composite_size": 128, "n_train": 48, "n_test": 16,
                      "segments": [2, 3, 4],
                      "lossnet": {"width": 8, "probe": 64, "probe_size": 96, "classifier": {
                          "pretrained": False, "reduce_dim": 32, "codewords": 8,
                          "logit_scale": 16.0, "crop": 96, "load_size": 128, "batch": 32,
                          "steps": 400, "optimizer": "adamw", "lr": 2e-3,
                          "weight_decay": 1e-4, "schedule": "cosine", "warmup_steps": 30,
                          "ckpt_every": 100}},
                      "source": "texture", "judge_seed": 1, "classify_per_class": 10,
                      "triplets": 400,
                      "n_boot": 1000, "ablation_seeds": [0], "released": ["pan", "imdn"]},
        "full": {"scale": 4, "n_feats": 64, "n_blocks": 10, "lr_patch": 64, "batch": 32,
                 "mse_steps": 20_000, "tex_steps": 100_000, "lr": 5e-4, "tex_lr": 5e-4,
                 "seeds": [0, 1, 2], "composite_size": 256, "n_train": 2000, "n_test": 100,
                 "segments": [2, 3, 4],
                 "lossnet": {"width": 64, "probe": 256, "probe_size": 224, "classifier": {
                     "pretrained": False, "reduce_dim": 128, "codewords": 32, "crop": 224,
                     "load_size": 256, "batch": 64, "steps": 20_000, "optimizer": "sgd",
                     "lr": 0.01, "schedule": "step", "ckpt_every": 1000}},
                 "source": "imagenet", "judge_seed": 1, "classify_per_class": 40, "triplets": 2000,
                 "n_boot": 2000, "ablation_seeds": [0], "released": ["pan", "imdn"]},
    },
    # Attribution prior (Zamfir 2022), x2 as the thesis. nets: a local network (EDSR, the
    # EDSR-T analogue; finite receptive field) and a global one (RCAN: channel attention).
    # tables: which of the thesis's tables a preset trains (the chapter says which it
    # leaves out). embedded: EDSR 16x4 passes bicubic on the embedded test images after
    # ~400 steps at lr 1e-3 (24 px LR patches, batch 8; 200 steps are 1.5 dB below it);
    # a prior step costs ~2.5 plain ones on 24 px patches (the whole patch is inside the
    # receptive field, so no crop), so the N_SSR table, w = 0.1 and 0.5 and the global
    # network's large lambdas are left out: the cold run takes ~14 min on 2 shared cores;
    # benchmark leaves out Table 4.4's unconstrained rows (shown only, no verdict uses
    # them; 15 of its ~110 trainings)
    # (36 trainings with w = 0.1 too: ~15 min). overhead:
    # measured on the thesis's batch (16 x 48 px LR). full: Table 4.1's settings (EDSR-T
    # 16x64, RCAN-T 6 blocks x 64, 48 px, batch 16, lr 1e-4; 1000 epochs ~ 50k steps).
    "prior": {
        "smoke": {"scale": 2, "seeds": [0], "steps": 3, "batch": 2, "lr_patch": 24, "lr": 1e-3,
                  "data": "embedded_train",
                  "nets": {"local": {"arch": "edsr", "kwargs": {"n_feats": 4, "n_blocks": 1}},
                           "global": {"arch": "rcan",
                                      "kwargs": {"n_groups": 1, "n_blocks": 1, "n_feats": 4,
                                                 "reduction": 2}}},
                  "lambdas": [0.0, 1e-2], "global_lambdas": [0.0, 1e-2], "w": [0.5],
                  "n_ssr": [2], "n_ssr_unconstrained": True, "scenarios": ["global_random"],
                  "regularisers": ["wd"],
                  "test_sets": {"embedded_test": {"limit": 1, "crop": 96}}, "n_hard": 1,
                  "lam_steps": 4, "n_boot": 100, "overhead": {"lr_patch": 24, "batch": 2,
                                                              "reps": 1}},
        "embedded": {"scale": 2, "seeds": [0, 1, 2], "steps": 400, "batch": 8, "lr_patch": 24,
                     "lr": 1e-3, "data": "embedded_train",
                     "nets": {"local": {"arch": "edsr", "kwargs": {"n_feats": 16, "n_blocks": 4}},
                              "global": {"arch": "rcan", "kwargs": {"n_groups": 2, "n_blocks": 2,
                                                                    "n_feats": 16}}},
                     "lambdas": [0.0, 1e-4, 1e-2], "global_lambdas": [0.0, 1e-4], "w": [1.0],
                     "n_ssr": [], "n_ssr_unconstrained": True,
                     "scenarios": ["global_similar", "local_random", "global_random"],
                     "regularisers": ["wd", "one_block_fewer", "bn"],
                     "test_sets": {"embedded_test": {}}, "n_hard": 4, "lam_steps": 20,
                     "n_boot": 2000, "overhead": {"lr_patch": 48, "batch": 16, "reps": 5}},
        "benchmark": {"scale": 2, "seeds": [0, 1, 2, 3, 4], "steps": 1000, "batch": 8,
                      "lr_patch": 32, "lr": 1e-3, "data": "dtd10_train",
                      "nets": {"local": {"arch": "edsr", "kwargs": {"n_feats": 16, "n_blocks": 6}},
                               "global": {"arch": "rcan", "kwargs": {
                                   "n_groups": 2, "n_blocks": 3, "n_feats": 16}}},
                      "lambdas": [0.0, 1e-5, 1e-4, 1e-3, 1e-2], "global_lambdas": [0.0, 1e-5, 1e-4],
                      "w": [0.1, 0.5, 1.0], "n_ssr": [2, 5], "n_ssr_unconstrained": False,
                      "scenarios": ["global_similar", "local_random", "global_random"],
                      "regularisers": ["wd", "one_block_fewer", "bn"],
                      "test_sets": {"set5": {}, "set14": {}}, "n_hard": 11, "lam_steps": 50,
                      "n_boot": 2000, "overhead": {"lr_patch": 48, "batch": 16, "reps": 5}},
        "full": {"scale": 2, "seeds": [0, 1, 2, 3], "steps": 50_000, "batch": 16, "lr_patch": 48,
                 "lr": 1e-4, "data": "div2k_train",
                 "nets": {"local": {"arch": "edsr", "kwargs": {"n_feats": 64, "n_blocks": 16}},
                          "global": {"arch": "rcan", "kwargs": {"n_groups": 6, "n_blocks": 6,
                                                                "n_feats": 64}}},
                 "lambdas": [0.0, 1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2],
                 "global_lambdas": [0.0, 1e-5, 1e-4, 1e-3], "w": [0.1, 0.5, 1.0],
                 "n_ssr": [2, 3], "n_ssr_unconstrained": True,
                 "scenarios": ["global_similar", "local_random", "global_random"],
                 "regularisers": ["wd", "one_block_fewer", "bn"],
                 "test_sets": {"set5": {}, "set14": {}, "b100": {}, "urban100": {}},
                 "n_hard": 150, "lam_steps": 100, "n_boot": 2000,
                 "overhead": {"lr_patch": 48, "batch": 16, "reps": 10}},
    },
    # A whole-book run's budget in minutes on a fresh 2-core CPU: cold (empty cache, every
    # network trained and map computed) and warm (all cached); None where none is set.
    # scripts/book_times.py checks a measured build against it.
    "book_budget_min": {
        "smoke": {"cold": None, "warm": None}, "embedded": {"cold": 60, "warm": 10},
        "benchmark": {"cold": 120, "warm": None}, "full": {"cold": None, "warm": None},
    },
    # Chapters a run of the whole book leaves out at a preset (chapter -> why), because
    # one alone exceeds the preset's book budget on a 2-core CPU (README, "Presets").
    # `python -m helpers.book --only <chapter>` runs one into the same build folder, and
    # the HTML then includes it; the "How this book was built" page gives the reason.
    "book_deferred": {
        "smoke": {}, "embedded": {},
        "benchmark": {
            "attribution_prior": (
                "its sweep trains every variant of the thesis's tables on each of the "
                "preset's seeds, every step with the prior's second backward pass; on a "
                "2-core CPU it alone takes longer than the whole benchmark book's budget "
                "of two hours"
            ),
        },
        "full": {},
    },
}
# fmt: on


def check_preset(preset: str) -> str:
    """Return ``preset`` or raise ``ValueError`` listing the valid presets."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid: {list(PRESETS)}")
    return preset


def get(concern: str, preset: str) -> Any:
    """A deep copy of :data:`TABLE` ``[concern][preset]`` (``KeyError`` naming the valid
    concerns, ``ValueError`` for an unknown preset)."""
    check_preset(preset)
    if concern not in TABLE:
        raise KeyError(f"unknown preset concern {concern!r}; valid: {sorted(TABLE)}")
    return copy.deepcopy(TABLE[concern][preset])


def _f7_lr(preset: str) -> float:
    # The zoo's learning rate; the EDSR default (2e-4) where the budget names none.
    return get("train_budget", preset).get("lr", 2e-4)


#: chapter -> parameter -> how its ``None`` resolves for a preset (a function of it).
CHAPTER_DEFAULTS: dict[str, dict[str, Any]] = {
    "models_and_data": {
        "zoo_members": lambda p: list(ZOO),
        "released": lambda p: get("released", p),
    },
    "lam": {
        "models": lambda p: list(ZOO) + get("released", p),
        "n_hard": lambda p: get("n_hard", p),
        "steps": lambda p: get("lam_steps", p),
        "mode": lambda p: get("lam_mode", p),
    },
    "di_vs_psnr": {
        "models": lambda p: list(ZOO) + get("released", p),
        "n_hard": lambda p: get("n_hard", p),
        "steps": lambda p: get("lam_steps", p),
        "mode": lambda p: get("lam_mode", p),
        "test_set": lambda p: get("di_test_set", p),
        "family_members": lambda p: [family_name(*m) for m in get("family", p)],
    },
    "texture_profiles": {
        "n_per_image": lambda p: get("texture_patches", p)["n_per_image"],
        "projection": lambda p: get("projection", p),
        "k_clusters": lambda p: get("texture_patches", p)["k_clusters"],
        "f7_steps": lambda p: get("f7_steps", p),
        "f7_lr": _f7_lr,
        "f7_test": lambda p: get("texture_patches", p)["test_sets"][0],
        "f3_lr_patch": lambda p: get("texture_patches", p)["fig3"]["lr_patch"],
        "f3_n_per_image": lambda p: get("texture_patches", p)["fig3"]["n_per_image"],
    },
    "degradation_semantics": {
        "seeds": lambda p: get("ddr", p)["seeds"],
        "released": lambda p: get("ddr", p)["released"],
        "projections": lambda p: get("ddr", p)["projections"],
    },
    "texture_loss_sr": {
        "seeds": lambda p: get("texture_loss", p)["seeds"],
        "released": lambda p: get("texture_loss", p)["released"],
        "loss_network": lambda p: get("texture_loss", p)["source"],
    },
    "semantic_consistency": {
        "models": lambda p: [
            *get("texture_patches", p)["zoo"],
            *get("texture_patches", p)["released"],
        ],
        "datasets": lambda p: get("texture_patches", p)["test_sets"],
        "n_per_image": lambda p: get("texture_patches", p)["n_per_image"],
        "n_boot": lambda p: get("texture_patches", p)["n_boot"],
    },
    "attribution_prior": {
        "seeds": lambda p: get("prior", p)["seeds"],
        "lambdas": lambda p: get("prior", p)["lambdas"],
    },
}


def chapter_defaults(chapter: str, preset: str) -> dict[str, Any]:
    """Every preset-resolved default of ``chapter`` (parameter -> value) at ``preset``."""
    check_preset(preset)
    if chapter not in CHAPTER_DEFAULTS:
        raise KeyError(f"no preset defaults for {chapter!r}; chapters: {sorted(CHAPTER_DEFAULTS)}")
    return {name: rule(preset) for name, rule in CHAPTER_DEFAULTS[chapter].items()}


def fill(chapter: str, preset: str, **params: Any) -> tuple[Any, ...]:
    """The chapter's parameters with every ``None`` replaced by the preset's default.

    ``models, n_hard = fill("lam", preset, models=models, n_hard=n_hard)``: the values come
    back in the order given; a value that is not ``None`` is kept as the reader set it. A
    name the chapter has no preset default for raises ``KeyError`` naming the valid ones.
    """
    defaults = chapter_defaults(chapter, preset)  # table look-ups: cheap to make them all
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise KeyError(
            f"{chapter}: no preset default for {unknown}; parameters with one: {sorted(defaults)}"
        )
    return tuple(defaults[k] if v is None else v for k, v in params.items())

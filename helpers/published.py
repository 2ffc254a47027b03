"""Numbers the papers publish, in one place, so chapters print them beside ours.

Each table names its source. PSNR values are Y-channel dB with border shave = scale on
MATLAB-bicubic LR, as the papers report them.
"""

from __future__ import annotations

#: Y-PSNR (dB) of released networks, from each paper's benchmark table:
#: PAN (Zhao et al., ECCV-W 2020, Table 2), IMDN (Hui et al., ACM MM 2019, Table 3),
#: CARN-M (Ahn et al., ECCV 2018, Table 2). GRL-tiny: approximate, from the LAM demo's
#: model zoo note; its paper (Li et al., CVPR 2023) reports Set5 x4 32.56.
RELEASED_PSNR: dict[tuple[str, int], dict[str, float]] = {
    ("pan", 2): {"set5": 38.00, "set14": 33.59},
    ("pan", 3): {"set5": 34.40, "set14": 30.36},
    ("pan", 4): {"set5": 32.13, "set14": 28.61},
    ("imdn", 2): {"set5": 38.00, "set14": 33.63},
    ("imdn", 3): {"set5": 34.36, "set14": 30.32},
    ("imdn", 4): {"set5": 32.21, "set14": 28.58},
    ("carn_m", 2): {"set5": 37.53, "set14": 33.26},
    ("carn_m", 3): {"set5": 33.99, "set14": 30.08},
    ("carn_m", 4): {"set5": 31.92, "set14": 28.42},
    ("grl_tiny", 4): {"set5": 32.5},
}
#: Y-PSNR (dB) of MATLAB bicubic upscaling, as the SR papers tabulate it (Kim et al.,
#: VDSR, CVPR 2016, Table 2; the same values recur in EDSR's and CARN's tables).
BICUBIC_PSNR: dict[tuple[str, int], dict[str, float]] = {
    ("bicubic", 2): {"set5": 33.66, "set14": 30.24},
    ("bicubic", 3): {"set5": 30.39, "set14": 27.55},
    ("bicubic", 4): {"set5": 28.42, "set14": 26.00},
}
#: Where a published number is known not to be reproducible, and why (by network, or
#: ``"network/dataset"``): printed beside a row the rule finds outside its tolerance.
PUBLISHED_CAVEATS: dict[str, str] = {
    "carn_m": "the released carn_m.pth was retrained after publication; its repository's "
    "README warns that the paper's numbers cannot be reproduced with it",
    "bicubic/set14": "the older tables may have used another copy of Set14 (an "
    "explanation offered, not checked here)",
    "grl_tiny": "its value here is approximate (the LAM demo's model-zoo note), not a paper "
    "table; its paper reports Set5 x4 32.56",
}

#: LAM paper (Gu & Dong, CVPR 2021), Table 1: receptive field (LR px, None = global),
#: PSNR (dB, x4, on their 150 hard patches: hence ~21 dB) and DI, with the remark.
_TABLE1_ROWS = [  # model, receptive field, PSNR, DI, remark
    ("FSRCNN", 17, 20.30, 0.797, "Fully convolution network."),
    ("CARN", 45, 21.27, 1.807, "Residual network."),
    ("EDSR", 75, 20.96, 2.977, "Residual network."),
    ("MSRN", 107, 21.39, 3.194, "Residual network."),
    ("RRDBNet", 703, 20.96, 13.417, "Residual network."),
    ("IMDN", None, 21.23, 14.643, "Global pooling."),
    ("RFDN", None, 21.40, 13.208, "Global pooling."),
    ("RCAN", None, 22.20, 16.596, "Global pooling."),
    ("RNAN", None, 21.91, 13.243, "Non-local attention."),
    ("SAN", None, 22.55, 18.642, "Non-local attention."),
]
LAM_TABLE1: dict[str, dict[str, object]] = {
    name: {"receptive_field": rf, "psnr": psnr, "di": di, "remark": remark}
    for name, rf, psnr, di, remark in _TABLE1_ROWS
}

#: The network of the paper's Table 1 that each architecture of this book stands for.
LAM_COUNTERPART: dict[str, str] = {
    "fsrcnn": "FSRCNN",
    "edsr": "EDSR",
    "rcan": "RCAN",
    "nlsn": "RNAN",
    "carn_m": "CARN",
    "imdn": "IMDN",
}


def lam_counterpart(name: str) -> str:
    """The paper's Table 1 network for an architecture or a sized member name of it
    (``"edsr"``, ``"edsr_s"`` -> ``"EDSR"``; ``"carn_m"`` -> ``"CARN"``); ``""`` if none."""
    key = name.lower()
    return LAM_COUNTERPART.get(key) or LAM_COUNTERPART.get(key.rsplit("_", 1)[0], "")


#: LAM paper, Sec. 4.4: PSNR vs log DI over 48 networks.
LAM_REGRESSION = {"pearson_min": 0.8, "spearman_min": 0.8, "p_max": 1e-12, "n_networks": 48}

#: LAM paper, Sec. 4.1: the test set of hard cases (150 sub-images of 256x256 HR px from
#: DIV2K-valid and Urban100, the central 16x16 SR patch attributed, mean PSNR 20.87 dB);
#: Sec. 4.4: the scale networks (15 FSRCNN + 15 EDSR) "under the same training condition".
LAM_TEST_SET = {"n_images": 150, "size": 256, "window": 16, "mean_psnr": 20.87}
#: LAM paper, Sec. 4.4: the 15 + 15 networks of different scales, width and depth ranges
#: (FSRCNN: feature maps d, mapping layers m; EDSR: n_feats, residual blocks), "all the
#: models are trained with the same setting".
LAM_FAMILY = {
    "fsrcnn": {"n": 15, "width": (16, 128), "depth": (2, 16)},
    "edsr": {"n": 15, "width": (32, 256), "depth": (10, 24)},
}

#: What kind of network each architecture is (the "Remark" column of the LAM paper's
#: Table 1), for the book's own networks and the released ones.
REMARKS: dict[str, str] = {
    "fsrcnn": "Fully convolution network.",
    "edsr": "Residual network.",
    "srresnet": "Residual network.",
    "carn_m": "Residual network (cascading, mobile).",
    "pan": "Pixel attention (local).",
    "rcan": "Global pooling (channel attention).",
    "imdn": "Global pooling (contrast channel attention).",
    "nlsn": "Non-local attention.",
    "grl_tiny": "Global + regional + local attention (transformer).",
}

# --------------------------------------------------------------------------- texture
# Magid et al., "Texture-based Error Analysis for Image Super-Resolution", CVPR 2022.

#: Magid et al., Table 1: % of SR patches with the HR patch's texture label (DTD-47
#: DeepTEN classifier, x4, 50 random 128x128 patches per image).
MAGID_PATCHES = {"size": 128, "n_per_image": 50}
MAGID_TABLE1: dict[str, dict[str, float]] = {
    "Bicubic": {"Set14": 20.2, "B100": 26.1, "Urban100": 31.6, "Manga109": 31.9},
    "EDSR": {"Set14": 33.4, "B100": 30.9, "Urban100": 47.1, "Manga109": 52.4},
    "RCAN": {"Set14": 37.4, "B100": 32.9, "Urban100": 50.1, "Manga109": 53.2},
    "NLSN": {"Set14": 37.9, "B100": 34.4, "Urban100": 50.1, "Manga109": 54.2},
    "SAN": {"Set14": 35.1, "B100": 32.6, "Urban100": 48.6, "Manga109": 52.6},
}
#: Magid et al., Table 1 / §4.2.3: the range of top-1 agreement (share) of the SR models
#: (30.9%, EDSR on B100, to 54.2%, NLSN on Manga109) and of bicubic (20.2% on Set14 to
#: 31.9% on Manga109).
MAGID_SR_AGREEMENT: tuple[float, float] = (0.309, 0.542)
MAGID_BICUBIC_AGREEMENT: tuple[float, float] = (0.202, 0.319)
#: Magid et al., §3.2 (Implementation details): their DeepTEN (ResNet-50 backbone, inputs
#: normalised with ImageNet statistics) trained on DTD-47 train+val for 600 epochs reaches
#: 97% training and 72% test accuracy.
MAGID_CLASSIFIER = {"classes": 47, "test_accuracy": 0.72, "train_accuracy": 0.97}
#: Magid et al., §4.1 (Discussion, Fig. 7): "high complexity" patches have entropy of
#: gradients / bicubic PSNR >= 0.4, about 20% of DIV2K's training patches.
MAGID_HIGH_RATIO = 0.4
MAGID_HIGH_SHARE = 0.2
#: Magid et al., §4.2.2 (Fig. 9): EDSR gains only 0.65 dB over bicubic on Set14's hardest
#: labels and 0.41 dB on Urban100's easiest one.
MAGID_FIG9_GAINS_DB = {"set14_bottom": 0.65, "urban100_top": 0.41}
#: Magid et al., Fig. 5-6: k-means with 15 clusters on 40 000 DIV2K patches' embeddings.
MAGID_CLUSTERS = {"k": 15, "n_patches": 40_000}
#: The released Fig. 3 notebook of Magid et al. (sabdelmagid/CVPR22-TextureBasedError-SR,
#: "Figure3-Entropy vs PSNR"): 100 patches of 48 LR px (192 HR px at x4) per DIV2K
#: training image, positions from ``random.randint`` after ``random.seed(123)`` for each
#: image; bicubic PSNR on RGB in 0-255, no border shave, patches kept when 0 <= PSNR <= 60.
MAGID_FIG3_CODE = {"lr_patch": 48, "n_per_image": 100, "seed": 123, "psnr_max": 60.0}
#: The papers' numbers the two texture chapters quote in their prose, by glue name
#: (``myst_nb.glue``; the text marks each as the paper's).
MAGID_PROSE: dict[str, float | int] = {
    "paper_patch": MAGID_PATCHES["size"],
    "paper_classes": MAGID_CLASSIFIER["classes"],
    "paper_acc": MAGID_CLASSIFIER["test_accuracy"],
    "paper_high_ratio": MAGID_HIGH_RATIO,
    "paper_high_share": MAGID_HIGH_SHARE,
    "paper_k": MAGID_CLUSTERS["k"],
    "paper_k_n": MAGID_CLUSTERS["n_patches"],
    "paper_f9_bottom": MAGID_FIG9_GAINS_DB["set14_bottom"],
    "paper_f9_top": MAGID_FIG9_GAINS_DB["urban100_top"],
    "paper_sr_lo": MAGID_SR_AGREEMENT[0],
    "paper_sr_hi": MAGID_SR_AGREEMENT[1],
    "paper_bic_lo": MAGID_BICUBIC_AGREEMENT[0],
    "paper_bic_hi": MAGID_BICUBIC_AGREEMENT[1],
    "code_lr_patch": MAGID_FIG3_CODE["lr_patch"],
    "code_n_per_image": MAGID_FIG3_CODE["n_per_image"],
    "code_seed": MAGID_FIG3_CODE["seed"],
}

#: Liu et al., "Discovering distinctive 'semantics' in super-resolution networks" (DDR):
#: the text available here (abstract, figure captions) states its findings in words only;
#: its CHI tables are not in it, so the chapter compares in direction. Claim -> statement.
LIU_DDR_CLAIMS: dict[str, str] = {
    "degradation_not_content": "deep features of SR networks trained on clean bicubic LR "
    "are separated by degradation type even when contents are aligned; a classification "
    "network's are separated by content (Fig. 1, 3, 5)",
    "two_factors": "adversarial learning and the global residual make SR networks extract "
    "degradation-related representations (Fig. 3e: SRResNet-woGR vs SRResNet; SRGAN)",
    "depth_and_training": "the representations become more discriminative with depth and "
    "evolve during training, correlating with SR performance",
    "distortion_identification": "the deep degradation representations identify "
    "distortions (an application of the finding)",
}

#: Gondal, Schölkopf & Hirsch, "The Unreasonable Effectiveness of Texture Transfer for
#: Single Image Super-resolution" (ECCV-W 2018). Table 1: top-1 accuracy of an ImageNet
#: VGG-19 on 1000 ILSVRC-12 validation images super-resolved 4x ("HR": the originals).
GONDAL_TABLE1_VGG19_TOP1: dict[str, float] = {
    "bicubic": 0.455,
    "SRResNet": 0.538,
    "SRGAN": 0.578,
    "ENet-PAT": 0.571,
    "TSRN-S": 0.610,
    "TSRN-G": 0.609,
    "HR": 0.656,
}
#: Table 5, column "All" (2AFC on BAPPS validation, %): Gram distance of uncalibrated
#: ImageNet networks ("ours") vs the distance of their features (LPIPS' "supervised nets").
GONDAL_TABLE5_ALL: dict[str, dict[str, float]] = {
    "gram": {"SqueezeNet": 70.2, "AlexNet": 69.7, "VGG": 70.2},
    "feature": {"SqueezeNet": 68.6, "AlexNet": 68.9, "VGG": 67.0},
}
#: The paper's claims in words (claim -> statement), as the chapter's verdicts name them.
GONDAL_TSRN_CLAIMS: dict[str, str] = {
    "perceptual_at_lower_psnr": "a residual network trained with the Gram texture loss "
    "alone after MSE pretraining (TSRN-G) is perceptually better than the MSE network, at "
    "lower PSNR",
    "feature_loss_blurs": "the feature (perceptual) loss on the same layers blurs where the "
    "Gram loss does not (Fig. 4)",
    "guided_keeps_segments": "semantically guided Gram matrices (TSRN-S) keep textures from "
    "bleeding across regions",
    "recognisability": "classifier accuracy on TSRN outputs is closer to HR than on MSE or "
    "bicubic outputs (Table 1, VGG-19 top-1: bicubic 0.455, SRResNet 0.538, TSRN-G 0.609, "
    "HR 0.656)",
    "gram_beats_features": "the Gram distance of deep features is a better perceptual "
    "metric than the feature distance (Table 5, BAPPS 2AFC 'All': Gram 70.2/69.7/70.2 vs "
    "features 68.6/68.9/67.0 for SqueezeNet/AlexNet/VGG)",
}


# --- Zamfir, "Attribution priors for super-resolution" (MSc thesis, 2022), x2 PSNR (dB) ----
# Seed text: shared/seeds/002_2b0621be556b8da1.txt. (mean, sd over 4 seeds; sets: Set5,
# Set14, B100, Urban100, HardCases.)
#: Table 4.2, EDSR-T, lambda_AP -> set -> (PSNR mean, sd); 0.0 is the baseline.
ZAMFIR_PRIOR_LAMBDA_EDSR: dict[float, dict[str, tuple[float, float]]] = {
    0.0: {"set5": (37.42, 0.0553), "set14": (33.01, 0.0319), "b100": (31.78, 0.0147),
          "urban100": (30.60, 0.0239), "hard": (28.24, 0.0439)},
    1e-4: {"set5": (37.44, 0.0257), "set14": (33.03, 0.0131), "b100": (31.78, 0.0121),
           "urban100": (30.61, 0.0125), "hard": (28.26, 0.0342)},
    5e-4: {"set5": (37.41, 0.0601), "set14": (33.02, 0.0203), "b100": (31.77, 0.0137),
           "urban100": (30.61, 0.0269), "hard": (28.24, 0.0475)},
    1e-3: {"set5": (37.39, 0.0597), "set14": (33.01, 0.0211), "b100": (31.76, 0.0177),
           "urban100": (30.58, 0.0355), "hard": (28.22, 0.0581)},
    5e-3: {"set5": (37.26, 0.0224), "set14": (32.92, 0.161), "b100": (31.71, 0.0049),
           "urban100": (30.47, 0.0345), "hard": (28.08, 0.0537)},
    1e-2: {"set5": (37.16, 0.0425), "set14": (32.84, 0.0310), "b100": (31.66, 0.0193),
           "urban100": (30.28, 0.0251), "hard": (27.87, 0.0419)},
}  # fmt: skip
#: Sec. 4.6: training time with the prior (EDSR-B, 2080 RTX): x2, and twice the memory.
ZAMFIR_PRIOR_TIME_FACTOR = 2.0
#: Sec. 4.2/4.5: the settings of the prior (LR px): PoI 5x5, local window 7x7, global SSRs
#: outside 11x11, 48 px LR crops, batch 16, Fig. 4.5's PoI 13x13 and +20 px sections.
ZAMFIR_PRIOR_SETTINGS = {"poi": 5, "local_window": 7, "exclude": 11, "lr_patch": 48,
                         "batch": 16, "fig45_poi": 13, "fig45_step": 20, "seeds": 4}  # fmt: skip
#: The nine claims, as the chapter states them.
ZAMFIR_PRIOR_CLAIMS: dict[str, str] = {
    "lambda": "lambda_AP = 1e-4 improves EDSR-T slightly, most on HardCases (28.24 -> 28.26 "
    "dB, 4 seeds; RNAN-T +0.06 dB at 1e-5); lambda = 1e-2 hurts (-0.26 Set5, -0.37 HardCases)",
    "di": "the prior raises DI (Fig. 4.2), yet higher DI does not mean higher PSNR",
    "w_sim": "w = Sim is as good as or better than a constant w (Table 4.3)",
    "n_ssr": "more local SSRs do not help (Table 4.4)",
    "random": "randomly chosen regions do about as well as self-similar ones (Table 4.5)",
    "regularisers": "BN in blocks, weight decay or one block fewer do not give the gain "
    "(Table 4.6)",
    "ssr_poi": "PSNR measured on SSRs and PoIs improves (Table 4.7: +0.10 / +0.18 dB)",
    "concentrated": "attribution norm stays concentrated near the PoI (Fig. 4.5)",
    "time": "the prior doubles training time (Sec. 4.6)",
}

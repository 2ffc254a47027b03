"""Regenerate ``data_manifest.yaml`` from the mirror index and the installed sample data.

Run once when the manifest changes: ``python scripts/make_manifest.py <mirror-root>``.
Upstream URLs and sha256 come from the mirror's ``MIRROR.tsv`` (checked against the
bytes), the embedded sets from the files scikit-image and matplotlib ship.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

import matplotlib
import skimage
import yaml

RAW = "https://raw.githubusercontent.com/"
PAN = RAW + "zhaohengyuan1/PAN/4d045d18592c5771cd3990da88f292812774e538/"
IMDN = RAW + "Zheng222/IMDN/8f158e6a5ac9db6e5857d9159fd4a6c4214da574/"
CARN = RAW + "nmhkahn/CARN-pytorch/40d3514f81cccd680d846cd5ab07af35f2c8e0e2/"
GRL = RAW + "wenjuan7275/LAM_Demo/f3a86e09160417b2d84a9ac2ca64af18ed6396a2/"
LAM_X = RAW + "X-Lowlevel-Vision/LAM_Demo/6e75cc026ee8570f3966a6f017e9152556400876/"
LAM_C = RAW + "chxy95/LAM_Demo/73c08fee6e36cc09f1098aa99daed6b38ce3ebb8/"
DTD_IMG = RAW + "pan8915/DeepTexture/522f46f683af11e93673bff29f81df14f49edfb2/images/"
DTD_SPLIT = (
    RAW + "DongHappyyy/DBTrans/5521528a5a96f8f8705186704c09aee3ba7c048b/datasets/DTD/splits/"
)

# The fixed embedded split: test images are never used for training.
EMBEDDED_TRAIN = [
    "astronaut.png", "hubble_deep_field.jpg", "ihc.png", "motorcycle_left.png",
    "motorcycle_right.png", "retina.jpg", "camera.png", "brick.png", "grass.png", "gravel.png",
]  # fmt: skip
EMBEDDED_TEST = ["chelsea.png", "coffee.png", "rocket.jpg", "grace_hopper.jpg"]

WEIGHTS = {
    "pan_x2": PAN + "experiments/pretrained_models/PANx2_DF2K.pth",
    "pan_x3": PAN + "experiments/pretrained_models/PANx3_DF2K.pth",
    "pan_x4": PAN + "experiments/pretrained_models/PANx4_DF2K.pth",
    "imdn_x2": IMDN + "checkpoints/IMDN_x2.pth",
    "imdn_x3": IMDN + "checkpoints/IMDN_x3.pth",
    "imdn_x4": IMDN + "checkpoints/IMDN_x4.pth",
    "carn_m": CARN + "checkpoint/carn_m.pth",
    "grl_tiny_x4": GRL + "ModelZoo/models/gnll_final_tiny_w32_s64.ckpt",
}
LAM_HARD = [LAM_X + f"test_images/{i}.png" for i in range(1, 8)] + [
    LAM_C + f"test_images/img_{i:03d}.png" for i in (19, 41, 59, 61)
]

DATASETS = {
    "embedded": {
        "description": "Natural colour photos and textures shipped with scikit-image "
        "and matplotlib; fixed train/test split.",
        "licence": "scikit-image data: CC0/public domain or as listed in skimage/data/"
        "README.txt; grace_hopper.jpg: public domain (US Navy).",
        "layout": "embedded/{train,test}/<file>",
        "train": EMBEDDED_TRAIN,
        "test": EMBEDDED_TEST,
    },
    "set5": {
        "description": "Set5 HR and MATLAB-bicubic LR (x2/x3/x4).",
        "licence": "research use (Bevilacqua et al. 2012)",
        "layout": "set5/HR/<name>.png; set5/LR_bicubic/X<s>/<name>x<s>.png",
    },
    "set14": {
        "description": "Set14 HR and MATLAB-bicubic LR (x2/x3/x4).",
        "licence": "research use (Zeyde et al. 2010)",
        "layout": "set14/HR/<name>.png; set14/LR_bicubic/X<s>/<name>x<s>.png",
    },
    "lam_hard": {
        "description": "Hard-case 256x256 crops from the LAM demo (Gu & Dong 2021).",
        "licence": "research use (LAM_Demo repository)",
        "layout": "lam_hard/<name>.png (HR only; LR made with MATLAB-bicubic)",
    },
    "dtd10": {
        "description": "Describable Textures Dataset, 10 of 47 classes x 120 images, "
        "with the official split 1 filtered to these classes.",
        "licence": "research use only (Cimpoi et al. 2014)",
        "layout": "dtd10/images/<class>/<class>_NNNN.jpg; dtd10/splits/{train1,test1}.txt",
    },
    "weights": {
        "description": "Released SR weights.",
        "licence": "PAN, IMDN: see their repositories; CARN: MIT; GRL: see LAM_Demo",
        "layout": "weights/<model>_x<s>",
    },
}

# Full-scale sets: no checksum is known offline, so they are local-folder datasets.
FULL_SCALE = {
    "div2k_train": {
        "url": "https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip",
        "licence": "research use (Agustsson & Timofte 2017)",
        "layout": "a folder of HR PNGs (0001.png ... 0800.png)",
    },
    "div2k_valid": {
        "url": "https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_valid_HR.zip",
        "licence": "research use (Agustsson & Timofte 2017)",
        "layout": "a folder of HR PNGs (0801.png ... 0900.png)",
    },
    "b100": {
        "url": "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/",
        "licence": "research use (BSDS300 test split, Martin et al. 2001)",
        "layout": "a folder of 100 HR images",
    },
    "urban100": {
        "url": "https://github.com/jbhuang0604/SelfExSR",
        "licence": "research use (Huang et al. 2015)",
        "layout": "a folder of 100 HR images",
    },
    "dtd47": {
        "url": "https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz",
        "licence": "research use only (Cimpoi et al. 2014)",
        "layout": "torchvision.datasets.DTD root (dtd/images, dtd/labels)",
    },
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(mirror: Path) -> None:
    rows = {}
    with open(mirror / "MIRROR.tsv") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows[r["url"]] = r
    files: dict[str, dict] = {}

    def add(key: str, url: str) -> None:
        r = rows[url]
        local = mirror / r["local"]
        assert sha256(local) == r["sha256"], f"mirror bytes differ from MIRROR.tsv: {url}"
        files[key] = {"url": url, "sha256": r["sha256"], "size": int(r["bytes"])}

    for url in rows:
        for ds, name in (("Set5", "set5"), ("Set14", "set14")):
            stem = PAN + f"datasets/{ds}/"
            if url.startswith(stem):
                add(f"{name}/{url[len(stem) :]}", url)
        if url.startswith(DTD_IMG):
            add(f"dtd10/images/{url[len(DTD_IMG) :]}", url)
    for split in ("train1", "test1"):
        add(f"dtd10/splits/{split}.txt", DTD_SPLIT + f"{split}.txt")
    for name, url in WEIGHTS.items():
        add(f"weights/{name}", url)
    for url in LAM_HARD:
        src = "x" if url.startswith(LAM_X) else "c"
        add(f"lam_hard/{src}{Path(url).stem}.png", url)

    sk = Path(skimage.__file__).parent / "data"
    mpl = Path(matplotlib.get_data_path()) / "sample_data"
    for split in ("train", "test"):
        for name in DATASETS["embedded"][split]:
            if name == "grace_hopper.jpg":
                path, url = (
                    mpl / name,
                    f"package://matplotlib/mpl-data/sample_data/{name}",
                )
            else:
                path, url = sk / name, f"package://skimage/data/{name}"
            files[f"embedded/{split}/{name}"] = {
                "url": url,
                "sha256": sha256(path),
                "size": path.stat().st_size,
            }

    manifest = {
        "version": 1,
        "note": "Generated by scripts/make_manifest.py. Keys are fetch() keys; "
        "raw.githubusercontent.com URLs are served from $HELPERS_DATA_MIRROR when set; "
        "package:// URLs are files shipped inside installed packages (pinned versions).",
        "datasets": DATASETS,
        "full_scale": FULL_SCALE,
        "files": dict(sorted(files.items())),
    }
    out = Path(__file__).resolve().parents[1] / "data_manifest.yaml"
    out.write_text(yaml.safe_dump(manifest, sort_keys=False, width=100))
    print(f"wrote {len(files)} files to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))

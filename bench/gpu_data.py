"""The images the study of m reads, for a GPU machine that has no data set (bench/gpu_session.sh study_m).

    python bench/gpu_data.py [--run gpu] [--out .gpu_data] [--datasets mnist]   (make gpu-data does it)

The study of m reads the first n ≤ max(unet.memorization.n) training images and the first n_test test
images of each data set (``memgen.data.take_images``). This writes just those, from the data sets as
prepared here (``results/<run>/data/<dataset>/prepared.npz``, made by Snakemake from the run's own
sources), as the four gzipped IDX files of ``<out>/<dataset>/``: the folder ``data.idx_folders``
reads. The first images, and so every result of the study, are the same as with the whole set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
from snakemake.utils import update_config

from memgen.data import load_prepared, write_idx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", default="gpu")
    parser.add_argument("--configfile", nargs="+", default=["config.yaml", "presets/gpu.yaml"])
    parser.add_argument("--out", default=".gpu_data")
    parser.add_argument("--datasets", nargs="+", default=None, help="default: unet.memorization.datasets")
    args = parser.parse_args()
    config: dict = {}
    for path in args.configfile:  # mappings merged, lists replaced, as Snakemake merges config files
        update_config(config, yaml.safe_load(Path(path).read_text()) or {})
    mem = config["unet"]["memorization"]
    counts = {"train": max(mem["n"]), "test": mem["n_test"]}
    for dataset in args.datasets or mem["datasets"]:
        folder = Path("results") / args.run / "data" / dataset
        data = load_prepared(folder / "prepared.npz", folder / "manifest.json")
        out = Path(args.out) / dataset
        out.mkdir(parents=True, exist_ok=True)
        for split, stem in (("train", "train"), ("test", "t10k")):
            k = counts[split]
            images, labels = getattr(data, f"{split}_images"), getattr(data, f"{split}_labels")
            if k > len(labels):
                raise SystemExit(f"{folder}: {k} {split} images asked for, the prepared set holds {len(labels)}")
            write_idx(out / f"{stem}-images-idx3-ubyte.gz", images[:k])
            write_idx(out / f"{stem}-labels-idx1-ubyte.gz", labels[:k].astype("uint8"))
        size = sum(f.stat().st_size for f in out.iterdir()) / 2**20
        print(f"{out}: the first {counts['train']} training and {counts['test']} test images ({size:.1f} MiB)")


if __name__ == "__main__":
    main()

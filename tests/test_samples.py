"""Sample writers: PNG grid, NPZ and PT batches, image folders, read back with plain readers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.utils import save_image

from torchgan_lstm.app.samples import (
    NPZ_KEY,
    to_uint8_nhwc,
    write_image_folder,
    write_samples,
)

SIZE = 16
PAD = 2  # make_grid's default padding


def images(n: int = 10, channels: int = 1, seed: int = 0) -> torch.Tensor:
    """Random generator-like output in [-1, 1], with both ends exactly present."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, channels, SIZE, SIZE, generator=g) * 2 - 1
    x[0, :, 0, 0], x[0, :, 0, 1] = -1.0, 1.0
    return x


def assert_within_quantisation(pixels: np.ndarray, original: torch.Tensor) -> None:
    """uint8 pixels (N, H, W, C) decode to the original to within half a step (1/255)."""
    decoded = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert (decoded - original).abs().max() <= 1 / 255 + 1e-6


@pytest.mark.parametrize("channels", [1, 3])
def test_png_grid_reads_back_cell_by_cell(tmp_path, channels):
    x = images(10, channels)
    out = write_samples(x, tmp_path / "grid.png", "png", nrow=4)
    grid = Image.open(out)
    assert grid.mode == ("L" if channels == 1 else "RGB")
    cell = SIZE + PAD
    assert grid.size == (4 * cell + PAD, 3 * cell + PAD)  # 10 images, 4 a row: 3 rows
    pixels = np.asarray(grid).reshape(grid.size[1], grid.size[0], channels)
    for index in (0, 5, 9):
        row, col = divmod(index, 4)
        y, x0 = PAD + row * cell, PAD + col * cell
        np.testing.assert_array_equal(
            pixels[y : y + SIZE, x0 : x0 + SIZE], to_uint8_nhwc(x[index : index + 1])[0]
        )


def test_png_grid_has_torchvision_save_image_pixels(tmp_path):
    x = images(6, 3)
    before = x.clone()
    write_samples(x, tmp_path / "ours.png", nrow=3)
    assert torch.equal(x, before)  # the caller's batch is left as it was
    save_image(x, tmp_path / "theirs.png", nrow=3, normalize=True, value_range=(-1, 1))
    ours = np.asarray(Image.open(tmp_path / "ours.png"))
    np.testing.assert_array_equal(ours, np.asarray(Image.open(tmp_path / "theirs.png")))


@pytest.mark.parametrize("channels", [1, 3])
def test_npz_holds_uint8_nhwc_under_arr_0(tmp_path, channels):
    x = images(5, channels)
    write_samples(x, tmp_path / "samples.npz", "npz")
    with np.load(tmp_path / "samples.npz") as archive:
        assert archive.files == [NPZ_KEY] == ["arr_0"]
        pixels = archive[NPZ_KEY]
    assert pixels.dtype == np.uint8
    assert pixels.shape == (5, SIZE, SIZE, channels)
    assert pixels.min() == 0 and pixels.max() == 255
    assert_within_quantisation(pixels, x)


def test_pt_holds_the_float_tensor_unchanged(tmp_path):
    base = images(8, 3)
    view = base[::2]  # a view: only its own 4 images may reach the file
    write_samples(view, tmp_path / "samples.pt", "pt")
    loaded = torch.load(tmp_path / "samples.pt", weights_only=True)
    assert isinstance(loaded, torch.Tensor) and loaded.dtype == torch.float32
    torch.testing.assert_close(loaded, view, rtol=0, atol=0)
    assert loaded.untyped_storage().nbytes() == view.numel() * 4


@pytest.mark.parametrize("channels", [1, 3])
def test_image_folder_has_one_numbered_png_per_image(tmp_path, channels):
    x = images(12, channels)
    folder = write_image_folder(x, tmp_path / "fid" / "fake")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"{i:06d}.png" for i in range(12)]
    read = np.stack([np.asarray(Image.open(folder / name)) for name in names])
    read = read.reshape(12, SIZE, SIZE, channels)
    np.testing.assert_array_equal(read, to_uint8_nhwc(x))
    assert_within_quantisation(read, x)


def test_image_folder_refuses_a_folder_with_earlier_pngs(tmp_path):
    write_image_folder(images(3), tmp_path)
    with pytest.raises(ValueError, match=r"already holds 3 PNG files .*empty or new folder"):
        write_image_folder(images(2), tmp_path)


def test_values_outside_the_range_are_clipped():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 1.5]).reshape(1, 1, 1, 5)
    assert to_uint8_nhwc(x).ravel().tolist() == [0, 0, 128, 255, 255]


def test_format_follows_the_extension_when_not_given(tmp_path):
    write_samples(images(2), tmp_path / "a.NPZ")
    with np.load(tmp_path / "a.NPZ") as archive:
        assert archive[NPZ_KEY].shape == (2, SIZE, SIZE, 1)


@pytest.mark.parametrize(
    ("out", "fmt", "message"),
    [
        ("s.jpg", "jpg", r"format must be one of 'png', 'npz', 'pt', got 'jpg'"),
        ("s.npz", "png", r"out must end in \.png for format='png', got 's\.npz'"),
        ("s.jpg", None, r"the extension of out \('s\.jpg'\) must be one of 'png', 'npz', 'pt'"),
    ],
)
def test_unknown_formats_and_mismatched_extensions_are_refused(tmp_path, out, fmt, message):
    with pytest.raises(ValueError, match=message):
        write_samples(images(2), tmp_path / out, fmt)
    assert not (tmp_path / out).exists()


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.zeros(2, 2, SIZE, SIZE), r"shape \(N, C, H, W\) with N >= 1 and C 1 or 3"),
        (torch.zeros(1, SIZE, SIZE), r"shape \(N, C, H, W\)"),
        (torch.zeros(0, 1, SIZE, SIZE), r"N >= 1"),
        (torch.zeros(2, 1, SIZE, SIZE, dtype=torch.uint8), r"float tensor .* got torch\.uint8"),
        (torch.full((1, 1, SIZE, SIZE), float("nan")), "finite"),
    ],
)
def test_images_that_are_not_a_generated_batch_are_refused(tmp_path, x, message):
    with pytest.raises(ValueError, match=message):
        write_samples(x, tmp_path / "s.png")
    with pytest.raises(ValueError, match=message):
        write_image_folder(x, tmp_path / "folder")


def test_nrow_must_be_a_positive_integer(tmp_path):
    with pytest.raises(ValueError, match="nrow must be >= 1, got 0"):
        write_samples(images(2), tmp_path / "s.png", nrow=0)


def overflowing_checkpoint(checkpoint_path, folder):
    """A copy of a real checkpoint whose generator weights are finite but so large (1e30 times
    the trained ones) that its images come out NaN."""
    from torchgan_lstm.checkpoint import safe_load

    checkpoint = safe_load(checkpoint_path)
    for part in ("generator", "generator_ema"):
        for name, value in checkpoint[part].items():
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                value.mul_(1 if "running_var" in name else 1e30)
    folder.mkdir()
    torch.save(checkpoint, folder / "gan0.model")
    return folder / "gan0.model"


@pytest.mark.parametrize("out", ["grid.png", "batch.npz", "batch.pt", "folder"])
def test_a_generator_producing_nan_writes_nothing_and_exits_2(
    out, tiny_checkpoint, tmp_path, capsys
):
    from torchgan_lstm.app import cli

    path = overflowing_checkpoint(tiny_checkpoint, tmp_path / "checkpoint")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sample", str(path), "--out", str(tmp_path / out), "--n", "4"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "must be finite, got 1024 NaN/inf values of 1024: the generator produced NaN/inf" in err
    assert not (tmp_path / out).exists()


def test_finite_samples_pass_and_any_nan_is_counted():
    from torchgan_lstm.app.samples import check_finite_samples

    check_finite_samples(images(3))
    check_finite_samples(np.arange(3))  # integers are always finite
    x = images(3)
    x[1, 0, :2, :3] = float("-inf")
    with pytest.raises(ValueError, match="samples must be finite, got 6 NaN/inf values of 768"):
        check_finite_samples(x)

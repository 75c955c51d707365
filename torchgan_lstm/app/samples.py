"""Generated images written to files: a grid for people, arrays and folders for FID tools.

Every writer takes what the generators produce, a float batch ``(N, C, H, W)`` in ``[-1, 1]``
with ``C`` 1 (grey) or 3 (RGB), and maps it to 8-bit pixels as torchvision's ``save_image``
does: ``round((x + 1) / 2 * 255)``, values outside ``[-1, 1]`` clipped.

Formats of :func:`write_samples`:

- ``"png"``: one PNG grid of all images, ``nrow`` per row.
- ``"npz"``: a NumPy archive holding the uint8 batch ``(N, H, W, C)`` under the key ``arr_0``,
  the layout of OpenAI's guided-diffusion FID evaluator (``evaluations/evaluator.py``), which
  reads ``arr_0`` as uint8 NHWC images in ``[0, 255]``. (pytorch-fid's ``.npz`` files hold
  Inception statistics, ``mu`` and ``sigma``, not images.)
- ``"pt"``: the batch itself as float32, values unchanged, saved with ``torch.save`` as a lone
  tensor (loadable with ``torch.load(path, weights_only=True)``).

:func:`write_image_folder` writes one PNG per image (``000000.png``, ``000001.png``, ...), the
input of clean-fid (``fid.compute_fid(folder1, folder2)``), torch-fidelity and pytorch-fid.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid

from .._validation import InputError, check_choice, check_int

__all__ = [
    "FORMATS",
    "NPZ_KEY",
    "check_finite_samples",
    "to_uint8_nhwc",
    "write_image_folder",
    "write_png",
    "write_samples",
]

FORMATS = ("png", "npz", "pt")
NPZ_KEY = "arr_0"
_CHANNELS = (1, 3)


def _check_images(images: object) -> torch.Tensor:
    """``images`` on the CPU, if it is a finite float batch ``(N >= 1, C in (1, 3), H, W)``."""
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        got = (
            f"{images.dtype} tensor" if isinstance(images, torch.Tensor) else type(images).__name__
        )
        raise InputError(f"images must be a float tensor (N, C, H, W) in [-1, 1], got {got}")
    if images.dim() != 4 or images.shape[1] not in _CHANNELS or images.shape[0] == 0:
        raise InputError(
            f"images must have shape (N, C, H, W) with N >= 1 and C 1 or 3, got "
            f"{tuple(images.shape)}"
        )
    check_finite_samples(images, "images")
    return images.detach().cpu()


def check_finite_samples(samples: torch.Tensor | np.ndarray, name: str = "samples") -> None:
    """Refuse generated samples holding NaN or infinite values, before anything is written.

    Args:
        samples: a batch of generated images or sequences (tensor on any device, or array).
        name: what they are called in the message.

    Raises:
        InputError: some values are NaN or infinite; the message gives their count (a
            generator with broken weights, or one whose output overflows the data's units).
    """
    values = torch.as_tensor(samples)
    if not (values.is_floating_point() or values.is_complex()):
        return
    bad = values.numel() - int(torch.isfinite(values).sum())
    if bad:
        raise InputError(
            f"{name} must be finite, got {bad} NaN/inf values of {values.numel()}: the generator "
            f"produced NaN/inf; they were not written"
        )


def _pixels(unit: torch.Tensor) -> torch.Tensor:
    """Values in ``[0, 1]`` to uint8, rounding half up like torchvision's ``save_image``."""
    return unit.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)


def to_uint8_nhwc(images: torch.Tensor) -> np.ndarray:
    """Generated images as 8-bit pixels, channels last: the layout image files and FID tools use.

    Args:
        images: float ``(N, C, H, W)`` in ``[-1, 1]``, ``C`` 1 or 3; any device.

    Returns:
        uint8 array ``(N, H, W, C)``, ``round((x + 1) / 2 * 255)`` with ``x`` clipped to
        ``[-1, 1]``.

    Raises:
        ValueError: ``images`` is not a finite float tensor of that shape.
    """
    return _nhwc(_check_images(images))


def _nhwc(images: torch.Tensor) -> np.ndarray:
    return _pixels((images.float() + 1) / 2).permute(0, 2, 3, 1).contiguous().numpy()


def _png_image(pixels: np.ndarray) -> Image.Image:
    """One ``(H, W, C)`` uint8 image as a grey (``C == 1``) or RGB PIL image."""
    return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def write_png(pixels: np.ndarray, path: str | os.PathLike) -> None:
    """Write one uint8 image ``(H, W, C)`` (``C`` 1 or 3) as a grey or RGB PNG."""
    _png_image(pixels).save(path, format="PNG")


def _format_of(out: Path, format: str | None) -> str:
    suffix = out.suffix.lower().lstrip(".")
    if format is None:
        return check_choice(f"the extension of out ({out.name!r})", suffix, FORMATS)
    check_choice("format", format, FORMATS)
    if suffix != format:
        raise InputError(f"out must end in .{format} for format={format!r}, got {out.name!r}")
    return format


def write_samples(
    images: torch.Tensor, out: str | os.PathLike, format: str | None = None, nrow: int = 8
) -> Path:
    """Write a batch of generated images as one file.

    Args:
        images: float ``(N, C, H, W)`` in ``[-1, 1]``, ``C`` 1 or 3; any device.
        out: the file to write; its extension must be the format's (``.png``, ``.npz``,
            ``.pt``). Missing parent folders are created.
        format: ``"png"`` (one grid), ``"npz"`` (uint8 ``(N, H, W, C)`` under ``arr_0``) or
            ``"pt"`` (the float32 tensor); ``None`` takes it from ``out``'s extension.
        nrow: images per row of the PNG grid.

    Returns:
        ``out`` as a ``Path``.

    Raises:
        ValueError: ``images`` is not a finite float batch of 1- or 3-channel images, ``format``
            is not one of ``FORMATS`` (the message lists them), ``out``'s extension is not the
            format's, or ``nrow`` is not a positive integer.
    """
    out = Path(out)
    chosen = _format_of(out, format)
    nrow = check_int("nrow", nrow)
    images = _check_images(images)
    out.parent.mkdir(parents=True, exist_ok=True)
    if chosen == "png":
        grid = make_grid(images.float(), nrow=nrow, normalize=True, value_range=(-1, 1))
        # make_grid repeats a grey channel into three; a grey grid is kept grey.
        grid = grid[:1] if images.shape[1] == 1 else grid
        _png_image(_pixels(grid).permute(1, 2, 0).numpy()).save(out, format="PNG")
    elif chosen == "npz":
        with out.open("wb") as file:  # a path not ending in ".npz" would get one appended
            np.savez(file, **{NPZ_KEY: _nhwc(images)})
    else:
        # A compact copy: saving a view would write the whole tensor it is a view of.
        torch.save(images.to(torch.float32, memory_format=torch.contiguous_format, copy=True), out)
    return out


def write_image_folder(images: torch.Tensor, folder: str | os.PathLike) -> Path:
    """Write each image as its own PNG, ``000000.png``, ``000001.png``, ..., for FID tools.

    The folder must hold no PNG yet: FID tools read every image in a folder, so files of an
    earlier batch would be scored together with these.

    Args:
        images: float ``(N, C, H, W)`` in ``[-1, 1]``, ``C`` 1 (grey PNGs) or 3 (RGB PNGs).
        folder: where to write; created if missing.

    Returns:
        ``folder`` as a ``Path``.

    Raises:
        ValueError: ``images`` is not a finite float batch of 1- or 3-channel images, or
            ``folder`` already holds PNG files.
    """
    folder = Path(folder)
    pixels = to_uint8_nhwc(images)
    if folder.is_dir() and (earlier := sorted(folder.glob("*.png"))):
        raise InputError(
            f"folder {folder} already holds {len(earlier)} PNG files (e.g. {earlier[0].name}); "
            f"FID tools would score them with the new images: pass an empty or new folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    width = max(6, len(str(len(pixels) - 1)))
    for index, image in enumerate(pixels):
        write_png(image, folder / f"{index:0{width}d}.png")
    return folder

"""Safe image loading: any size and mode in, one normalised grayscale array out, or a clear error.

Images arrive from users and from data sets we do not control, so the header is checked before any
pixel is decoded (decompression bombs, absurd or empty dimensions), truncated and non-image files
fail with the file's name, and every mode (1, L, P, RGB(A), LA, I;16, I, F) becomes float32 in
[0, 1]. Radiographs are grayscale; colour is averaged away.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 64_000_000
"""Largest width x height accepted (a 8000 x 8000 radiograph); more is treated as a decompression bomb."""
MAX_SIDE = 30_000
MAX_BYTES = 256 * 1024 * 1024


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: float32 grayscale in [0, 1] plus what it looked like on disk."""

    pixels: np.ndarray
    source: str
    mode: str
    size: tuple[int, int]


def _check_header(im: Image.Image, name: str, max_pixels: int) -> None:
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError(f"{name}: image has no pixels ({w}x{h})")
    if w > MAX_SIDE or h > MAX_SIDE or w * h > max_pixels:
        raise ImageError(f"{name}: image is {w}x{h} pixels, over the limit of {max_pixels:,} "
                         "(possible decompression bomb); downscale it first")


def _to_gray(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        return ((arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)).astype(np.float32)
    if mode == "1":
        return np.asarray(im, dtype=np.float32)
    if mode in ("P", "PA", "RGBA", "LA", "CMYK", "YCbCr", "HSV", "LAB", "RGBX", "RGBa", "La"):
        im = im.convert("RGBA" if "A" in mode or mode == "P" else "RGB")
        if im.mode == "RGBA":
            bg = Image.new("RGBA", im.size, (0, 0, 0, 255))
            im = Image.alpha_composite(bg, im).convert("RGB")
    if im.mode == "RGB":
        im = im.convert("L")
    if im.mode != "L":
        im = im.convert("L")
    return np.asarray(im, dtype=np.float32) / 255.0


def load_image(source: str | Path | bytes | Image.Image | np.ndarray, *,
               max_pixels: int = MAX_PIXELS, reduce_to: int | None = None) -> LoadedImage:
    """Decode a file path, raw bytes, a PIL image or an array to grayscale float32 in [0, 1].

    ``reduce_to`` lets the decoder drop resolution early (JPEG draft mode, integer box reduction)
    when the caller only needs about that many pixels a side: a 2k radiograph then loads in a few ms.
    """
    if isinstance(source, np.ndarray):
        arr = np.asarray(source)
        if arr.ndim == 3:
            arr = arr[..., :3].mean(axis=-1) if arr.shape[-1] in (3, 4) else arr[0]
        if arr.ndim != 2 or arr.size == 0:
            raise ImageError(f"array image must be 2-D (H, W) or (H, W, C), got shape {source.shape}")
        if arr.shape[0] * arr.shape[1] > max_pixels:
            raise ImageError(f"array image {arr.shape} is over the limit of {max_pixels:,} pixels")
        a = arr.astype(np.float32)
        if a.max() > 1.0 or a.min() < 0.0:
            lo, hi = float(a.min()), float(a.max())
            a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        return LoadedImage(a, "<array>", str(arr.dtype), (arr.shape[1], arr.shape[0]))
    if isinstance(source, Image.Image):
        _check_header(source, "<image>", max_pixels)
        return LoadedImage(_to_gray(source), "<image>", source.mode, source.size)
    if isinstance(source, bytes):
        name, data = "<bytes>", source
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise ImageError(f"{name}: file not found")
        if not path.is_file():
            raise ImageError(f"{name}: not a file")
        size = path.stat().st_size
        if size == 0:
            raise ImageError(f"{name}: file is empty")
        if size > MAX_BYTES:
            raise ImageError(f"{name}: file is {size:,} bytes, over the {MAX_BYTES:,} byte limit")
        data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise ImageError(f"{name}: image is over the {MAX_BYTES:,} byte limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im: Image.Image = Image.open(io.BytesIO(data))
            _check_header(im, name, max_pixels)
            im.seek(0)
            if reduce_to and im.format == "JPEG":
                im.draft("L", (reduce_to * 2, reduce_to * 2))
            im.load()
            factor = max(im.size) // (reduce_to * 2) if reduce_to else 0
            if factor >= 2:
                if im.mode.startswith("I;16"):
                    im = im.convert("I")
                im = im.reduce(factor)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"{name}: refused as a possible decompression bomb ({err})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file PIL can read (PNG, JPEG, TIFF, BMP ...)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageError(f"{name}: image is truncated or corrupt ({err})") from None
    return LoadedImage(_to_gray(im), name, im.mode, im.size)


def square_resize(pixels: np.ndarray, size: int) -> np.ndarray:
    """Pad to a square (edge value, so borders stay plain) and resize with antialiasing."""
    h, w = pixels.shape
    side = max(h, w)
    if h != w:
        top, left = (side - h) // 2, (side - w) // 2
        pixels = np.pad(pixels, ((top, side - h - top), (left, side - w - left)), mode="edge")
    if side == size:
        return pixels.astype(np.float32)
    im = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32))
    im = im.resize((size, size), Image.Resampling.BILINEAR if side < size else Image.Resampling.BOX)
    return np.asarray(im, dtype=np.float32).clip(0.0, 1.0)


def standardise(pixels: np.ndarray) -> np.ndarray:
    """Per-image zero mean, unit variance: removes exposure and bit-depth differences between sources."""
    m, s = float(pixels.mean()), float(pixels.std())
    return ((pixels - m) / (s if s > 1e-6 else 1.0)).astype(np.float32)


def equalise(pixels: np.ndarray) -> np.ndarray:
    """Per-image histogram equalisation (mid-ranks of the pixel values), then zero mean and unit variance.

    Stronger than :func:`standardise`: the output depends only on the order of the pixel values, so
    any monotone change of exposure, gamma or window leaves it unchanged, and the shape of the
    histogram (which differs between acquisition settings) no longer reaches the model.
    """
    flat = np.asarray(pixels, dtype=np.float64).reshape(-1)
    ordered = np.sort(flat)
    rank = (np.searchsorted(ordered, flat, side="left") + np.searchsorted(ordered, flat, side="right")) / 2.0
    u = (rank / max(flat.size, 1)).reshape(np.shape(pixels))
    return standardise(u.astype(np.float32))


FIXED_MEAN, FIXED_STD = 0.5, 0.25
"""Scaling of :data:`INTENSITY_MODES` ``fixed``: the same for every image, so exposure reaches the model."""

INTENSITY_MODES: tuple[str, ...] = ("zscore", "equalise", "fixed")
"""Per-image intensity normalisation: ``zscore`` (:func:`standardise`), ``equalise`` (:func:`equalise`),
or ``fixed`` (none: one scaling for all images; kept to measure what the per-image ones do)."""


def normalise(pixels: np.ndarray, mode: str = "zscore") -> np.ndarray:
    """Pixels in [0, 1] to model input under one of :data:`INTENSITY_MODES`."""
    if mode == "zscore":
        return standardise(pixels)
    if mode == "equalise":
        return equalise(pixels)
    if mode == "fixed":
        return ((np.asarray(pixels, dtype=np.float32) - FIXED_MEAN) / FIXED_STD).astype(np.float32)
    raise ValueError(f"unknown intensity normalisation {mode!r}; use one of {', '.join(INTENSITY_MODES)}")


def preprocess(source: str | Path | bytes | Image.Image | np.ndarray | LoadedImage, size: int,
               intensity: str = "zscore") -> np.ndarray:
    """Model input (size x size, float32) from anything :func:`load_image` accepts.

    The default per-image standardisation is what every served model reads (a model trained with
    histogram equalisation applies it itself, and equalisation ignores the standardisation).
    """
    img = source if isinstance(source, LoadedImage) else load_image(source, reduce_to=size)
    return normalise(square_resize(img.pixels, size), intensity)

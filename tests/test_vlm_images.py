"""Safe image loading: every mode and size in, clear errors for truncated, non-image and bomb files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.fixtures.vlm.builders import png_with_size, write_png
from vlm.images import ImageError, load_image, preprocess, square_resize


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "LA", "I;16", "1", "I", "F"])
def test_every_mode_becomes_unit_grayscale(tmp_path, mode):
    if mode in ("I", "F"):
        arr = (np.arange(30 * 20).reshape(20, 30) * (1000 if mode == "I" else 0.5))
        img = Image.fromarray(arr.astype(np.int32 if mode == "I" else np.float32))
        path = tmp_path / "x.tif"
        img.save(path)
    else:
        path = write_png(tmp_path / f"x_{mode.replace(';', '')}.png", seed=3, size=(30, 20), mode=mode)
    loaded = load_image(path)
    assert loaded.pixels.shape == (20, 30) and loaded.pixels.dtype == np.float32
    assert loaded.pixels.min() >= 0.0 and loaded.pixels.max() <= 1.0
    assert loaded.pixels.std() > 0, f"{mode}: contrast survived the conversion"
    x = preprocess(loaded, 32)
    assert x.shape == (32, 32) and abs(float(x.mean())) < 1e-3 and abs(float(x.std()) - 1) < 1e-2


def test_sixteen_bit_keeps_its_dynamic_range(tmp_path):
    arr = np.zeros((10, 10), dtype=np.uint16)
    arr[:, 5:] = 4000  # a dark 16-bit film: 8-bit truncation would make it flat
    path = tmp_path / "dark16.png"
    Image.fromarray(arr).save(path)
    px = load_image(path).pixels
    assert px[:, :5].max() == 0.0 and px[:, 5:].min() == 1.0


def test_jpeg_bytes_arrays_and_large_images_are_read_and_reduced(tmp_path):
    path = tmp_path / "big.jpg"
    Image.fromarray((np.random.default_rng(0).random((900, 1200)) * 255).astype(np.uint8)).save(path)
    full = load_image(path)
    small = load_image(path, reduce_to=64)
    assert full.size == (1200, 900) and max(small.pixels.shape) < 400
    assert preprocess(path, 64).shape == (64, 64)
    assert load_image(path.read_bytes()).pixels.shape == (900, 1200)
    assert load_image(np.full((5, 7, 3), 200, dtype=np.uint8)).pixels.shape == (5, 7)
    assert square_resize(np.ones((10, 40), np.float32), 16).shape == (16, 16)


def test_truncated_file_is_refused(tmp_path):
    path = write_png(tmp_path / "ok.png", size=(200, 200))
    data = path.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(cut)


@pytest.mark.parametrize("content,match", [(b"hello, not an image\n", "not an image"), (b"", "empty")])
def test_non_image_and_empty_files_are_refused(tmp_path, content, match):
    path = tmp_path / "report.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=match):
        load_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path)


@pytest.mark.parametrize("w,h", [(100_000, 100_000), (40_000, 10), (0, 0)])
def test_absurd_dimensions_are_refused_before_decoding(tmp_path, w, h):
    path = png_with_size(tmp_path / "bomb.png", w, h)
    with pytest.raises(ImageError, match="decompression bomb|no pixels|not an image|truncated"):
        load_image(path)


def test_pixel_limit_is_a_parameter(tmp_path):
    path = write_png(tmp_path / "a.png", size=(50, 50))
    with pytest.raises(ImageError, match="over the limit"):
        load_image(path, max_pixels=1000)
    with pytest.raises(ImageError, match="2-D"):
        load_image(np.zeros((2, 2, 2, 2)))


def test_intensity_normalisations_differ_in_what_exposure_reaches_the_model():
    from vlm.images import INTENSITY_MODES, equalise, normalise

    rng = np.random.default_rng(0)
    px = np.clip(rng.beta(2, 5, (24, 24)), 0, 1).astype(np.float32)
    darker = px * 0.6
    gamma = px ** 2.2  # a monotone change of the film's curve
    assert np.allclose(normalise(px, "zscore"), normalise(darker, "zscore"), atol=1e-5)
    assert not np.allclose(normalise(px, "zscore"), normalise(gamma, "zscore"), atol=1e-2)
    assert np.allclose(equalise(px), equalise(gamma), atol=1e-5), "equalisation ignores any monotone curve"
    assert abs(float(equalise(px).mean())) < 1e-5 and abs(float(equalise(px).std()) - 1) < 1e-4
    assert not np.allclose(normalise(px, "fixed"), normalise(darker, "fixed")), "fixed scaling keeps exposure"
    flat = np.full((5, 5), 0.3, np.float32)
    assert np.isfinite(equalise(flat)).all() and np.allclose(equalise(flat), 0.0)
    assert set(INTENSITY_MODES) == {"zscore", "equalise", "fixed"}
    with pytest.raises(ValueError, match="unknown intensity"):
        normalise(px, "clahe")
    assert np.allclose(preprocess(px, 24, "equalise"), equalise(px), atol=1e-5)

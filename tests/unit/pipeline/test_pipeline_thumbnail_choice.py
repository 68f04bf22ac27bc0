"""Choosing and titling a thumbnail frame: scores, wrapping and the JPEG's limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.thumbnail import MAX_BYTES, choose_frame, render_thumbnail, wrap


def _vivid(width: int = 640, height: int = 360) -> Image.Image:
    ys, xs = np.mgrid[0:height, 0:width]
    checks = ((xs // 16 + ys // 16) % 2).astype(np.uint8)
    red = np.where(checks, 230, 30)
    green = (xs * 255 // width).astype(np.uint8)
    blue = np.where(checks, 40, 210)
    return Image.fromarray(np.stack([red, green, blue], axis=-1).astype(np.uint8))


def test_a_sharp_colourful_frame_beats_flat_blurry_and_dark_ones() -> None:
    vivid = _vivid()
    blurry = vivid.filter(ImageFilter.GaussianBlur(12))
    flat = Image.new("RGB", vivid.size, (120, 120, 120))
    dark = vivid.point(lambda value: value // 12)
    grey = vivid.convert("L").convert("RGB")
    assert choose_frame([flat, blurry, dark, vivid, grey]) == 3


def test_no_frames_is_an_input_error() -> None:
    with pytest.raises(StageInputError):
        choose_frame([])


def test_wrapping_keeps_lines_within_the_width() -> None:
    lines = wrap("one two three four five six", len, 9)
    assert lines == ["one two", "three", "four five", "six"]
    assert wrap("unbreakablewordthatislong", len, 5) == ["unbreakablewordthatislong"]


@pytest.mark.parametrize(
    "title",
    ["", "Short", "A Very Long Title " * 10],
)
def test_render_gives_a_1280x720_jpeg_under_two_megabytes(title: str) -> None:
    noisy = Image.fromarray(
        np.random.default_rng(1).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    )
    data = render_thumbnail(noisy, title)
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("JPEG", (1280, 720))
    assert len(data) < MAX_BYTES


def test_title_is_drawn_in_the_lower_part_of_the_picture() -> None:
    plain = np.asarray(Image.open(io.BytesIO(render_thumbnail(_vivid(), ""))), dtype=int)
    titled = np.asarray(Image.open(io.BytesIO(render_thumbnail(_vivid(), "Night"))), dtype=int)
    changed = np.abs(plain - titled).max(axis=2) > 60
    rows, _ = np.nonzero(changed)
    assert changed.sum() > 5000
    assert rows.min() > 300


def test_a_portrait_frame_is_centred_on_a_blurred_copy() -> None:
    tall = _vivid(360, 640)
    image = Image.open(io.BytesIO(render_thumbnail(tall, "")))
    assert image.size == (1280, 720)
    pixels = np.asarray(image, dtype=int)
    edge, centre = pixels[:, :100].std(), pixels[:, 560:720].std()
    assert centre > 2 * edge  # the sharp film in the middle, the soft fill at the sides

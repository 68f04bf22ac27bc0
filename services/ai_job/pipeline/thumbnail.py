"""Stage 6, thumbnail: the film in; a 1280x720 JPEG under 2 MB with the title on its best frame.

Candidate frames are decoded with PyAV at even steps through the film (away from the fades at
either end) and scored by sharpness (the variance of a Laplacian) times colourfulness (Hasler
and Süsstrunk's metric), so crisp, vivid frames beat blurry cross-fades and flat or dark ones.
The winner fills the 16:9 canvas (a portrait film sits on a blurred, darkened copy of itself)
and the title is set in Roboto Black, wrapped to at most three lines and outlined on a shaded
band, so it reads at the small sizes YouTube shows thumbnails at.
"""

from __future__ import annotations

import functools
import io
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from services.ai_job.pipeline.ports import ReadableStore, StageInputError, validate_key
from services.ai_job.pipeline.stage import (
    CancelCheck,
    Progress,
    ProgressCallback,
    ToolFailed,
    never_cancelled,
    no_progress,
    stage_key,
)

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 1280, 720
MAX_BYTES = 2 * 1024 * 1024
CANDIDATES = 12
SCORE_WIDTH = 320  # frames are scored small: fast, and sharp at thumbnail size is what counts
MAX_TITLE_CHARS = 200
TITLE_LINES = 3
MARGIN = 64


@dataclass(frozen=True)
class ThumbnailResult:
    """The keys written (`thumbnail`), the chosen frame's time and the JPEG's size."""

    artifacts: dict[str, str]
    frame_s: float
    size: int


def run_thumbnail(
    video_key: str,
    title: str,
    *,
    storage: ReadableStore,
    key_prefix: str,
    progress: ProgressCallback = no_progress,
    cancelled: CancelCheck = never_cancelled,
) -> ThumbnailResult:
    """Title the film's best frame; store `<prefix>/thumbnail/thumbnail.jpg`."""
    tracker = Progress("thumbnail_generation", progress, cancelled)
    tracker.checkpoint()
    validate_key(video_key, field="video_key")
    title = " ".join(str(title).split())
    if len(title) > MAX_TITLE_CHARS:
        raise StageInputError.field("title", f"must be at most {MAX_TITLE_CHARS} characters")
    with tempfile.TemporaryDirectory(prefix="filmstudio-thumbnail-") as scratch:
        path = storage.get_file(video_key, Path(scratch) / "video.mp4")
        tracker.report(0.1, "film fetched")
        frames = candidate_frames(path, tracker)
    moment, frame = frames[choose_frame([image for _, image in frames])]
    tracker.report(0.8, f"frame at {moment:.1f} s chosen")
    tracker.checkpoint()
    data = render_thumbnail(frame, title)
    key = stage_key(key_prefix, "thumbnail", "thumbnail.jpg")
    storage.put_bytes(key, data, content_type="image/jpeg")
    tracker.report(1.0, "thumbnail stored")
    log.info("thumbnail: frame at %.1f s, %d bytes", moment, len(data))
    return ThumbnailResult({"thumbnail": key}, round(moment, 3), len(data))


def candidate_frames(path: Path, tracker: Progress) -> list[tuple[float, Image.Image]]:
    """Decode frames at even steps through the film, skipping its first and last tenth."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise StageInputError.field("video_key", "the file has no video stream")
            stream = container.streams.video[0]
            length = (container.duration or 0) / av.time_base
            moments = [length * (0.1 + 0.8 * n / max(1, CANDIDATES - 1)) for n in range(CANDIDATES)]
            frames: list[tuple[float, Image.Image]] = []
            for number, moment in enumerate(moments, start=1):
                container.seek(round(moment * av.time_base), backward=True)
                for frame in container.decode(stream):
                    if frame.time is None or frame.time >= moment - 1e-3:
                        frames.append((moment, Image.fromarray(frame.to_ndarray(format="rgb24"))))
                        break
                tracker.step(number, len(moments), 0.1, 0.7, f"frame {number} of {len(moments)}")
    except av.error.FFmpegError as error:
        raise ToolFailed(f"cannot decode the film: {error}") from error
    if not frames:
        raise StageInputError.field("video_key", "the film has no frames to choose from")
    return frames


def score(image: Image.Image) -> float:
    """Rate a frame: sharpness times colourfulness, halved for each stop it is too dark."""
    small = image.convert("RGB")
    small = small.resize((SCORE_WIDTH, max(1, round(SCORE_WIDTH * small.height / small.width))))
    rgb = np.asarray(small, dtype=np.float32)
    grey = rgb.mean(axis=2)
    laplacian = (
        -4 * grey[1:-1, 1:-1] + grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]
    )
    sharpness = float(np.sqrt(laplacian.var()))
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg, yb = red - green, (red + green) / 2 - blue
    colour = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    brightness = float(grey.mean())
    exposure = min(1.0, brightness / 60.0) * min(1.0, (255.0 - brightness) / 40.0)
    return sharpness * (1.0 + colour / 25.0) * max(0.0, exposure)


def render_thumbnail(frame: Image.Image, title: str) -> bytes:
    """Fill 1280x720 with `frame`, set `title` on it, and encode a JPEG under 2 MB."""
    canvas = _fill(frame.convert("RGB"))
    if title:
        _title(canvas, title)
    for quality in (90, 85, 75, 60, 45):
        buffer = io.BytesIO()
        canvas.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
        if buffer.tell() < MAX_BYTES:
            return buffer.getvalue()
    raise ToolFailed("the thumbnail does not fit in 2 MB")


def _fill(frame: Image.Image) -> Image.Image:
    """Cover the canvas with a landscape frame; centre a tall one on a blurred copy of itself."""
    cover = max(WIDTH / frame.width, HEIGHT / frame.height)
    background = frame.resize((round(frame.width * cover), round(frame.height * cover)))
    left, top = (background.width - WIDTH) // 2, (background.height - HEIGHT) // 2
    canvas = background.crop((left, top, left + WIDTH, top + HEIGHT))
    if frame.width / frame.height >= 1.5:
        return canvas
    canvas = canvas.filter(ImageFilter.GaussianBlur(24)).point(lambda value: int(value * 0.55))
    fit = min(WIDTH / frame.width, HEIGHT / frame.height)
    inner = frame.resize((round(frame.width * fit), round(frame.height * fit)))
    canvas.paste(inner, ((WIDTH - inner.width) // 2, (HEIGHT - inner.height) // 2))
    return canvas


def _title(canvas: Image.Image, title: str) -> None:
    """Set the title in the lower part: the largest size whose lines fit, outlined, shaded."""
    from services.ai_job.pipeline.image_engines.captions import font_file

    draw = ImageDraw.Draw(canvas)
    path = str(font_file("Black"))
    for size in range(104, 35, -6):  # the largest size that fits, else the smallest, cut short
        font = ImageFont.truetype(path, size)
        lines = wrap(title, functools.partial(draw.textlength, font=font), WIDTH - 2 * MARGIN)
        if len(lines) <= TITLE_LINES:
            break
    lines = lines[:TITLE_LINES]
    if len(lines) == TITLE_LINES and " ".join(lines) != title:
        lines[-1] = lines[-1].rstrip(".,;: ") + "…"
    spacing = round(size * 1.15)
    top = HEIGHT - MARGIN - spacing * len(lines)
    shade = Image.new("L", (WIDTH, HEIGHT), 0)
    band = np.linspace(0, 190, HEIGHT - (top - MARGIN)).astype(np.uint8)
    shade.paste(Image.fromarray(np.repeat(band[:, None], WIDTH, axis=1)), (0, top - MARGIN))
    canvas.paste(Image.new("RGB", canvas.size, (0, 0, 0)), mask=shade)
    stroke = max(2, size // 14)
    for number, line in enumerate(lines):
        y = top + number * spacing
        draw.text((MARGIN + stroke + 2, y + stroke + 2), line, font=font, fill=(0, 0, 0))
        draw.text(
            (MARGIN, y), line, font=font, fill=(255, 255, 255),
            stroke_width=stroke, stroke_fill=(0, 0, 0),
        )  # fmt: skip


def wrap(text: str, measure: Callable[[str], float], width: float) -> list[str]:
    """Break `text` into lines no wider than `width` (a word longer than a line stands alone)."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and measure(candidate) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def choose_frame(frames: Sequence[Image.Image]) -> int:
    """Return the index of the best frame of `frames` by `score`."""
    if not frames:
        raise StageInputError.field("frames", "no frames to choose from")
    return max(range(len(frames)), key=lambda n: score(frames[n]))

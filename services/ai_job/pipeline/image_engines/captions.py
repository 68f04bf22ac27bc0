"""Text on the storyboard's frames, set in Roboto from the `font-roboto` package."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from services.ai_job.pipeline.stage import ToolFailed

Frame = tuple[int, int, int, int]  # x, y, width, height of the part the viewer sees


@functools.cache
def font_file(weight: str = "Regular") -> Path:
    """Return the path of a Roboto TTF shipped by the font-roboto package (no system fonts)."""
    try:
        import font_roboto
    except ImportError as error:
        raise ToolFailed("the font-roboto package is not installed") from error
    path = Path(font_roboto.font_directory) / f"Roboto-{weight}.ttf"
    if not path.is_file():
        raise ToolFailed(f"font-roboto has no {path.name}")
    return path


def _font(size: int, weight: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_file(weight)), size=max(6, size))


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """Shorten `text` with an ellipsis until it fits `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    words = text.split()
    while words and draw.textlength(" ".join(words) + "…", font=font) > width:
        words.pop()
    return " ".join(words) + "…" if words else ""


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: float
) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def draw_caption(image: Image.Image, text: str, frame: Frame, *, on_paper: bool) -> None:
    """Write a one-line caption along the top of the frame, on a band that keeps it legible."""
    x, y, width, height = frame
    size = max(8, round(height * 0.032))
    font = _font(size, "Medium")
    draw = ImageDraw.Draw(image, "RGBA")
    margin = max(2, round(height * 0.02))
    line = _fit(draw, " ".join(text.split()), font, width - 4 * margin)
    if not line:
        return
    band = (x + margin, y + margin, x + width - margin, y + margin + round(size * 1.45))
    ink, backing = (
        ((20, 20, 24, 255), (255, 255, 255, 150))
        if on_paper
        else ((240, 240, 240, 255), (0, 0, 0, 120))
    )
    draw.rectangle(band, fill=backing)
    draw.text((band[0] + margin, band[1] + round(size * 0.18)), line, font=font, fill=ink)


def draw_title(image: Image.Image, text: str, frame: Frame, *, on_paper: bool) -> None:
    """Set a title card's words large and centred in the frame, wrapped to fit."""
    x, y, width, height = frame
    draw = ImageDraw.Draw(image)
    size = max(8, round(min(height * 0.1, width * 0.07)))
    while True:
        font = _font(size, "Bold")
        lines = _wrap(draw, " ".join(text.split()), font, width * 0.84)
        too_wide = any(draw.textlength(line, font=font) > width * 0.84 for line in lines)
        if size <= 8 or (len(lines) * size * 1.25 <= height * 0.7 and not too_wide):
            break
        size = round(size * 0.85)
    ink = (24, 24, 28) if on_paper else (238, 236, 230)
    top = y + (height - len(lines) * size * 1.25) / 2
    for number, line in enumerate(lines):
        left = x + (width - draw.textlength(line, font=font)) / 2
        draw.text((left, top + number * size * 1.25), line, font=font, fill=ink)

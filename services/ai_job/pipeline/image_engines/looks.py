"""The storyboard's light and look: the sky by time of day, the grade by style and mood."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from services.ai_job.pipeline.image_engines.canvas import (
    Canvas,
    Color,
    color,
    edges,
    luma,
    mix,
    resize,
)


@dataclass(frozen=True)
class Light:
    """The sky and the light level of a time of day, and what hangs in the sky."""

    zenith: Color
    horizon: Color
    level: float  # how much light falls on the ground, 0 to 1
    body: str  # "sun", "moon" or ""
    body_y: float  # the height of the sun or moon (0 top, 1 bottom of the canvas)
    body_color: Color
    stars: bool = False


_DAY = Light((0.22, 0.47, 0.85), (0.74, 0.85, 0.95), 1.0, "sun", 0.26, (1.0, 0.97, 0.86))
_GOLDEN = Light((0.2, 0.22, 0.48), (1.0, 0.55, 0.28), 0.6, "sun", 0.5, (1.0, 0.72, 0.4))
_DAWN = Light((0.28, 0.3, 0.55), (1.0, 0.68, 0.45), 0.65, "sun", 0.48, (1.0, 0.8, 0.6))
_BLUE = Light((0.06, 0.09, 0.28), (0.36, 0.32, 0.52), 0.35, "moon", 0.32, (0.85, 0.88, 1.0))
_NIGHT = Light((0.01, 0.02, 0.07), (0.06, 0.09, 0.2), 0.18, "moon", 0.3, (0.9, 0.92, 1.0), True)
LIGHTS = {
    "DAY": _DAY,
    "NOON": dataclasses.replace(_DAY, body_y=0.22, zenith=(0.18, 0.45, 0.9)),
    "AFTERNOON": dataclasses.replace(_DAY, body_y=0.3, horizon=(0.85, 0.84, 0.8)),
    "MORNING": dataclasses.replace(_DAY, body_y=0.36, horizon=(0.95, 0.88, 0.76), level=0.9),
    "DAWN": _DAWN,
    "SUNRISE": _DAWN,
    "EVENING": _GOLDEN,
    "SUNSET": _GOLDEN,
    "DUSK": _BLUE,
    "TWILIGHT": _BLUE,
    "NIGHT": _NIGHT,
    "MIDNIGHT": dataclasses.replace(_NIGHT, level=0.12),
}


@dataclass(frozen=True)
class Look:
    """A style's grade and finish."""

    mode: str = "color"  # color, mono, poster, wash or pencil
    saturation: float = 1.0
    contrast: float = 1.0
    warmth: float = 0.0
    toning: float = 0.0  # teal shadows and orange highlights
    grain: float = 0.03
    vignette: float = 0.3
    letterbox: float = 0.0  # the aspect ratio of the picture between bars, 0 for none
    fog: float = 0.0
    light: float = 1.0
    rain: bool = False
    paper: Color = (0.96, 0.94, 0.89)


LOOKS = {
    "cinematic": Look(saturation=1.05, contrast=1.12, toning=0.5, letterbox=2.39),
    "documentary": Look(saturation=0.85, contrast=1.0, grain=0.05, vignette=0.15),
    "noir": Look("mono", contrast=1.55, grain=0.06, vignette=0.6, letterbox=1.85, fog=0.1),
    "anime": Look("poster", saturation=1.35, contrast=1.05, grain=0.0, vignette=0.08),
    "watercolor": Look("wash", saturation=0.7, contrast=0.85, grain=0.0, vignette=0.25),
    "sketch": Look("pencil", grain=0.02, vignette=0.1),
}
_ALIASES = {
    "storyboard": "sketch",
    "pencil": "sketch",
    "comic": "anime",
    "animation": "anime",
    "cartoon": "anime",
    "film": "cinematic",
    "black": "noir",
    "painting": "watercolor",
}
_MOODS = {
    "bright": {"light": 1.12, "contrast": -0.04, "saturation": 0.08},
    "warm": {"warmth": 0.12},
    "fiery": {"warmth": 0.2, "contrast": 0.1, "saturation": 0.1},
    "cold": {"warmth": -0.14, "saturation": -0.1},
    "snowy": {"warmth": -0.12, "fog": 0.25, "light": 1.05},
    "dark": {"light": 0.72, "contrast": 0.14},
    "tense": {"contrast": 0.18, "saturation": -0.05},
    "calm": {"contrast": -0.08, "saturation": -0.05},
    "foggy": {"fog": 0.4},
    "rainy": {"light": 0.8, "saturation": -0.15, "fog": 0.2, "warmth": -0.06},
}
_FACTORS = {"light"}


def light_for(time_of_day: str) -> Light:
    """Return the light of a scene heading's time of day (daylight when unknown)."""
    return LIGHTS.get(time_of_day.strip().upper(), _DAY)


def look_for(style: str, moods: tuple[str, ...]) -> Look:
    """Return the look of a style (a preset or a free-form style naming one), shifted by moods."""
    words = style.lower().replace("-", " ").split()
    named = [_ALIASES.get(word, word) for word in words]
    look = next((LOOKS[word] for word in named if word in LOOKS), LOOKS["cinematic"])
    changes: dict[str, float | bool] = {"rain": "rainy" in moods}
    for mood in moods:
        for name, amount in _MOODS.get(mood, {}).items():
            current = float(changes.get(name, getattr(look, name)))
            changes[name] = current * amount if name in _FACTORS else current + amount
    return dataclasses.replace(look, **changes)  # type: ignore[arg-type]


def grade(image: torch.Tensor, look: Look, canvas: Canvas) -> torch.Tensor:
    """Apply the look's colour, contrast and rendering mode to a 3 x H x W image."""
    if look.warmth:
        image = image * color((1 + look.warmth * 0.35, 1.0, 1 - look.warmth * 0.35), image.device)
    gray = luma(image)
    image = mix(gray, image, look.saturation)
    if look.toning:
        teal, orange = (
            color((0.0, 0.1, 0.14), image.device),
            color((0.1, 0.04, -0.06), image.device),
        )
        image = image + look.toning * (teal * (1 - gray) ** 2 + orange * gray**2)
    image = ((image - 0.5) * look.contrast + 0.5).clamp(0.0, 1.0)
    if look.mode == "mono":
        return luma(image).expand(3, -1, -1)
    if look.mode == "poster":
        outline = (edges(luma(image)) * 6.0).clamp(0.0, 1.0)
        return (torch.round(image * 5.0) / 5.0) * (1 - 0.8 * outline)
    if look.mode == "wash":
        return _wash(image, look, canvas)
    if look.mode == "pencil":
        return _pencil(image, look, canvas)
    return image


def _wash(image: torch.Tensor, look: Look, canvas: Canvas) -> torch.Tensor:
    """Watercolour: soft washes lifted toward the paper, pigment pooling at the edges."""
    small = resize(image, max(2, canvas.height // 6), max(2, canvas.width // 6))
    soft = resize(small, canvas.height, canvas.width)
    pooled = (edges(luma(soft)) * 4.0).clamp(0.0, 0.6)
    paper = color(look.paper, image.device)
    texture = resize(canvas.rand(1, max(2, canvas.height // 24), max(2, canvas.width // 24)),
                     canvas.height, canvas.width)  # fmt: skip
    washed = paper * (1 - 0.75 * (1 - soft)) * (1 - 0.35 * pooled)
    return (washed * (0.94 + 0.06 * texture)).clamp(0.0, 1.0)


def _pencil(image: torch.Tensor, look: Look, canvas: Canvas) -> torch.Tensor:
    """Pencil storyboard: outlines from the picture's edges, hatching for its shadows."""
    gray = luma(image)
    lines = (edges(gray) * 5.0).clamp(0.0, 1.0)
    stripes = torch.remainder((canvas.xs + canvas.ys) * canvas.height / 5.0, 1.0)
    hatch = (stripes < (1 - gray) * 0.6).float() * (gray < 0.55).float()
    shade = 1 - 0.45 * hatch - 0.35 * (1 - gray)
    return color(look.paper, image.device) * (1 - 0.85 * lines) * shade.clamp(0.2, 1.0)


def fog(image: torch.Tensor, haze: Color, amount: torch.Tensor | float) -> torch.Tensor:
    """Blend toward the haze colour by `amount` (a number or a 1 x H x W mask)."""
    return mix(image, color(haze, image.device), amount)


def rain(image: torch.Tensor, canvas: Canvas, strength: float = 0.35) -> torch.Tensor:
    """Draw slanted streaks of rain over the whole picture."""
    rows = max(2, canvas.height // 18)
    drops = (canvas.rand(1, 1, rows, canvas.width) > 0.965).float()
    streaks = resize(drops.squeeze(0), canvas.height, canvas.width)  # vertical streaks
    slant = (torch.arange(canvas.height, device=image.device).view(-1, 1) * 0.25).long()
    columns = torch.remainder(torch.arange(canvas.width, device=image.device) + slant, canvas.width)
    slanted = torch.gather(streaks[0], 1, columns)
    return (image * (1 - 0.08 * slanted) + strength * slanted * 0.8).clamp(0.0, 1.0)


def finish(
    image: torch.Tensor, look: Look, canvas: Canvas, frame: tuple[int, int, int, int]
) -> torch.Tensor:
    """Add grain, the vignette and letterbox bars around `frame` (x, y, width, height)."""
    x, y, width, height = frame
    if look.grain:
        image = image + look.grain * canvas.randn(1, canvas.height, canvas.width)
    if look.vignette:
        cx, cy = (x + width / 2) / canvas.height, (y + height / 2) / canvas.height
        reach = (width / canvas.height / 2) ** 2 + (height / canvas.height / 2) ** 2
        falloff = ((canvas.xs - cx) ** 2 + (canvas.ys - cy) ** 2) / reach
        if look.mode in {"wash", "pencil"}:  # paper shows through at the edges
            image = mix(
                image, color(look.paper, image.device), (look.vignette * falloff).clamp(0, 1)
            )
        else:
            image = image * (1 - look.vignette * falloff).clamp(0.0, 1.0)
    if look.letterbox and width / height > 1.5 and width / look.letterbox < height:
        bar = round((height - width / look.letterbox) / 2)
        rows = torch.arange(canvas.height, device=image.device).view(1, -1, 1)
        inside = (rows >= y + bar) & (rows < y + height - bar)
        image = image * inside
    return image.clamp(0.0, 1.0)

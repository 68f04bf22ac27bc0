"""Silhouettes of the characters in a shot, each with a build that stays the same in every shot."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from services.ai_job.pipeline.image_engines.base import stable_seed
from services.ai_job.pipeline.image_engines.canvas import (
    Canvas,
    Color,
    box_distance,
    color,
    coverage,
    disc_distance,
    glow,
    mix,
)

MAX_FIGURES = 6


@dataclass(frozen=True)
class Build:
    """A character's shape: height, breadth, head size, and a hat or long hair."""

    height: float
    breadth: float
    head: float
    hat: bool
    long_hair: bool


def build_of(name: str) -> Build:
    """Derive a character's build from the name alone, so every shot draws them alike."""
    pick = random.Random(stable_seed("build", name.upper()))  # noqa: S311 - a shape, not a secret
    hat = pick.random() < 0.3
    return Build(
        height=pick.uniform(0.9, 1.1),
        breadth=pick.uniform(0.85, 1.2),
        head=pick.uniform(0.9, 1.1),
        hat=hat,
        long_hair=not hat and pick.random() < 0.35,
    )


def framing(kind: str, count: int) -> tuple[float, float]:
    """Return (figure height, where it stands) for a kind of shot, in canvas heights.

    Close shots place the head's centre on the eye line given; distant ones the feet.
    """
    if kind == "close-up":  # head and shoulders
        return 2.6, 0.44
    if kind in {"medium", "two-shot"}:  # from the waist up
        return (1.15, 0.36) if count <= 2 else (0.9, 0.4)
    return 0.3, 0.86  # establishing, wide, pov: people small in the place


def figure_mask(canvas: Canvas, build: Build, cx: float, feet: float, tall: float) -> torch.Tensor:
    """Return the 0-1 coverage of one standing silhouette whose feet are at (cx, feet)."""
    size = tall * build.height
    head_r = size * 0.06 * build.head
    head_y = feet - size + head_r
    shoulders = head_y + head_r * 1.55
    half_w = size * 0.14 * build.breadth
    hips = feet - size * 0.45
    legs = (hips + feet) / 2, (feet - hips) / 2
    torso = (shoulders + hips) / 2, (hips - shoulders) / 2
    parts = [
        disc_distance(canvas, cx, head_y, head_r),
        box_distance(canvas, cx, head_y + head_r * 1.1, head_r * 0.45, head_r * 0.6),
        box_distance(canvas, cx, torso[0], half_w, torso[1], half_w * 0.35),
        box_distance(canvas, cx - half_w * 0.45, legs[0], half_w * 0.4, legs[1], half_w * 0.1),
        box_distance(canvas, cx + half_w * 0.45, legs[0], half_w * 0.4, legs[1], half_w * 0.1),
    ]
    if build.hat:
        parts.append(box_distance(canvas, cx, head_y - head_r * 0.55, head_r * 1.7, head_r * 0.12))
        parts.append(
            box_distance(
                canvas, cx, head_y - head_r * 0.95, head_r * 0.95, head_r * 0.45, head_r * 0.2
            )
        )
    if build.long_hair:
        parts.append(
            box_distance(
                canvas, cx, head_y + head_r * 0.9, head_r * 1.15, head_r * 1.2, head_r * 0.6
            )
        )
    distance = torch.stack([part.expand(canvas.height, canvas.width) for part in parts]).amin(0)
    return coverage(distance, canvas).unsqueeze(0)


def draw_figures(
    image: torch.Tensor,
    canvas: Canvas,
    names: tuple[str, ...],
    kind: str,
    shadow: Color,
    rim: Color,
    haze: tuple[Color, float],
) -> torch.Tensor:
    """Draw the named characters across the frame, darker than the scene, lit at the rim."""
    shown = names[:MAX_FIGURES]
    if not shown:
        return image
    tall, feet = framing(kind, len(shown))
    spread = 0.55 if len(shown) > 1 else 0.0
    for number, name in enumerate(shown):
        place = 0.5 if len(shown) == 1 else 0.5 - spread / 2 + spread * number / (len(shown) - 1)
        cx = canvas.aspect * (place + canvas.uniform(-0.04, 0.04))
        if kind == "close-up":
            cx = canvas.aspect * canvas.uniform(0.38, 0.62)
        build = build_of(name)
        if tall < 0.5:
            step = feet + canvas.uniform(-0.02, 0.02)
        else:  # put the head on the eye line whatever the character's height
            step = feet + tall * build.height * (1 - 0.06 * build.head)
        mask = figure_mask(canvas, build, cx, step, tall)
        if tall < 0.5:  # a figure in the distance stands on a soft shadow of its own
            pool = glow(canvas, cx, step, tall * 0.12).unsqueeze(0) * 0.35
            image = image * (1 - pool * (1 - mask))
        body = mix(color(shadow, canvas.device), color(haze[0], canvas.device), haze[1])
        rim_px = max(1, round(canvas.height * 0.004))
        lit_edge = (mask - torch.roll(mask, shifts=(rim_px, -rim_px), dims=(1, 2))).clamp(0.0, 1.0)
        body = body * (1.25 - 0.5 * canvas.ys.clamp(0.0, 1.0))  # lit from above
        image = mix(image, body, mask) + color(rim, canvas.device) * lit_edge * 0.6
    return image

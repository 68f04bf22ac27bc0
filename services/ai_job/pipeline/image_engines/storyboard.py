"""The default image engine: a storyboard frame drawn in torch from the shot's text, no weights.

The place comes from INT/EXT, the location and the time of day (sky, land or room, shared by all
shots of a scene), the framing from the kind of shot, the cast from the characters present (each
with a build derived from the name), and the grade from the style and the mood words. The
background of closer shots is drawn at a lower resolution and scaled up: it costs less and
reads as depth of field.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image

from services.ai_job.pipeline.image_engines.base import ShotSpec, stable_seed
from services.ai_job.pipeline.image_engines.canvas import (
    Canvas,
    color,
    coverage,
    disc_distance,
    resize,
    scale_color,
)
from services.ai_job.pipeline.image_engines.captions import Frame, draw_caption, draw_title
from services.ai_job.pipeline.image_engines.figures import draw_figures
from services.ai_job.pipeline.image_engines.looks import (
    Look,
    finish,
    fog,
    grade,
    light_for,
    look_for,
    rain,
)
from services.ai_job.pipeline.image_engines.scenery import exterior, interior

# Two cores on the studio's small machines; more threads than cores only add contention.
RENDER_THREADS = max(1, min(4, os.cpu_count() or 1))
_HORIZON = {"establishing": 0.58, "wide": 0.6, "pov": 0.55}  # closer shots: 0.45
_FLOOR = {"establishing": 0.7, "wide": 0.7, "pov": 0.72, "close-up": 0.86}  # others: 0.8
_DETAIL = {"close-up": 3, "medium": 2, "two-shot": 2}  # background drawn at 1/n resolution
_SCOPES = ("SCOPE", "CROSS-HAIRS", "CROSSHAIRS", "BINOCULARS", "RIFLE")


def _words(shot: ShotSpec) -> str:
    return f"{shot.heading} {shot.location} {shot.description}".upper()


def frame_of(width: int, height: int, overscan: float) -> Frame:
    """Return the centred rectangle a viewer sees of a keyframe `overscan` times the frame."""
    inner_w, inner_h = round(width / overscan), round(height / overscan)
    return (width - inner_w) // 2, (height - inner_h) // 2, inner_w, inner_h


class StoryboardEngine:
    """Draws storyboard keyframes on CUDA when present, else on the CPU."""

    name = "storyboard"

    def __init__(self, device: str | None = None) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if self.device.type == "cpu" and torch.get_num_threads() > RENDER_THREADS:
            torch.set_num_threads(RENDER_THREADS)

    def render(self, shot: ShotSpec, width: int, height: int, seed: int) -> Image.Image:
        """Render `shot` at width x height, bars and caption inside its overscan margin."""
        frame = frame_of(width, height, shot.overscan)
        look = look_for(shot.style, shot.moods)
        canvas = Canvas(height, width, self.device, stable_seed(seed, "shot", shot.id))
        with torch.inference_mode():
            if shot.kind == "title-card":
                pixels = self._title_background(canvas, look, frame)
            else:
                pixels = self._picture(shot, canvas, look, frame, seed)
            array = (pixels * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0)
            image = Image.fromarray(np.ascontiguousarray(array.cpu().numpy()), "RGB")
        on_paper = look.mode in {"wash", "pencil"}
        if shot.kind == "title-card":
            draw_title(image, shot.caption or shot.description, frame, on_paper=on_paper)
        elif shot.caption:
            draw_caption(image, shot.caption, frame, on_paper=on_paper)
        return image

    def _picture(
        self, shot: ShotSpec, canvas: Canvas, look: Look, frame: Frame, seed: int
    ) -> torch.Tensor:
        light = light_for(shot.time_of_day)
        detail = _DETAIL.get(shot.kind, 1)
        # The backdrop's own seed is the scene's and the place's: every shot of a scene shares it.
        backdrop = Canvas(
            max(8, canvas.height // detail),
            max(8, canvas.width // detail),
            self.device,
            stable_seed(seed, "place", shot.scene, shot.int_ext, shot.location),
        )
        indoors = shot.int_ext.upper().startswith("INT")
        if indoors:
            floor = _FLOOR.get(shot.kind, 0.8)
            palette = stable_seed("walls", shot.location) % 1024
            image = interior(backdrop, light, shot.location, floor, palette)
            haze, horizon = scale_color(light.horizon, 0.6), floor
        else:
            horizon = _HORIZON.get(shot.kind, 0.45)
            image = exterior(backdrop, light, shot.location, horizon)
            haze = light.horizon
        if look.fog:
            near_horizon = (1 - (backdrop.ys - horizon).abs() * 2.5).clamp(0.0, 1.0)
            image = fog(image, haze, (look.fog * (0.35 + 0.65 * near_horizon)).clamp(max=0.85))
        image = resize(image, canvas.height, canvas.width)
        shadow = scale_color((0.07, 0.07, 0.09), 0.6 + 0.6 * light.level)
        rim = scale_color(light.body_color, 0.3 + 0.7 * light.level)
        far = look.fog * 0.6 if shot.kind in {"establishing", "wide", "pov"} else 0.0
        scoped = shot.kind == "pov" and any(word in _words(shot) for word in _SCOPES)
        framing = "medium" if scoped else shot.kind  # the scope brings its target close
        image = draw_figures(image, canvas, shot.characters, framing, shadow, rim, (haze, far))
        if scoped:
            image = _scope(image, canvas, frame)
        if look.rain:
            image = rain(image, canvas)
        image = image * look.light
        return finish(grade(image, look, canvas), look, canvas, frame)

    def _title_background(self, canvas: Canvas, look: Look, frame: Frame) -> torch.Tensor:
        if look.mode in {"wash", "pencil"}:
            image = canvas.fill(look.paper)
        else:
            image = canvas.fill((0.09, 0.09, 0.11)) * (1.15 - 0.3 * canvas.ys)
        plain = Look(look.mode, grain=look.grain, vignette=look.vignette, paper=look.paper)
        return finish(image, plain, canvas, frame)


def _scope(image: torch.Tensor, canvas: Canvas, frame: Frame) -> torch.Tensor:
    """Look through a rifle scope: a round view with a crosshair, black around it."""
    x, y, width, height = frame
    cx, cy = (x + width / 2) / canvas.height, (y + height / 2) / canvas.height
    radius = height / canvas.height * 0.42
    view = coverage(disc_distance(canvas, cx, cy, radius), canvas, softness=3.0)
    hair = coverage((canvas.xs - cx).abs() - canvas.pixel, canvas) + coverage(
        (canvas.ys - cy).abs() - canvas.pixel, canvas
    )
    image = image * (1 - hair.clamp(max=1.0) * 0.9)
    return image * view + color((0.0, 0.0, 0.0), canvas.device) * (1 - view)

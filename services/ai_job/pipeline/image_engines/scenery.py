"""The storyboard's places: a sky, exteriors of ridges, skyline, forest or water, and rooms."""

from __future__ import annotations

import torch

from services.ai_job.pipeline.image_engines.canvas import (
    Canvas,
    Color,
    box_distance,
    color,
    coverage,
    disc_distance,
    glow,
    lerp_color,
    mix,
    scale_color,
)
from services.ai_job.pipeline.image_engines.looks import Light

_CITY = ("CITY", "STREET", "ALLEY", "ROOF", "DOWNTOWN", "AVENUE", "BUILDING", "PARKING", "TOWN",
         "SQUARE", "BRIDGE", "STATION", "MANSION", "PLAZA")  # fmt: skip
_FOREST = ("FOREST", "WOOD", "SHACK", "CABIN", "PARK", "TRAIL", "CAMP", "GARDEN", "JUNGLE", "FARM")
_WATER = ("POOL", "LAKE", "BEACH", "SEA", "OCEAN", "RIVER", "HARBOR", "HARBOUR", "DOCK", "SHORE")
_WALLS: tuple[Color, ...] = (
    (0.72, 0.64, 0.52),
    (0.55, 0.6, 0.62),
    (0.5, 0.56, 0.45),
    (0.62, 0.42, 0.34),
    (0.46, 0.36, 0.28),
    (0.66, 0.66, 0.68),
)
_GROUND: Color = (0.3, 0.36, 0.22)


def terrain(location: str) -> str:
    """Return the kind of exterior a location suggests: city, forest, water or hills."""
    upper = location.upper()
    for kind, words in (("water", _WATER), ("city", _CITY), ("forest", _FOREST)):
        if any(word in upper for word in words):
            return kind
    return "hills"


def sky_colour(ys: torch.Tensor, light: Light, horizon: float) -> torch.Tensor:
    """Return the sky gradient for heights `ys` (H x 1), from zenith to the horizon line."""
    depth = (ys / horizon).clamp(0.0, 1.0) ** 1.6
    return mix(color(light.zenith, ys.device), color(light.horizon, ys.device), depth)


def sky(canvas: Canvas, light: Light, horizon: float) -> torch.Tensor:
    """Paint the sky with its sun or moon (and stars at night)."""
    image = sky_colour(canvas.ys, light, horizon).expand(3, canvas.height, canvas.width).clone()
    if light.stars:
        specks = (canvas.rand(1, canvas.height, canvas.width) > 0.9985).float()
        image = image + specks * (1 - canvas.ys / horizon).clamp(0.0, 1.0) * 0.8
    if light.body:
        cx = canvas.aspect * canvas.uniform(0.2, 0.8)
        radius = 0.045 if light.body == "sun" else 0.035
        body = color(light.body_color, canvas.device)
        halo = glow(canvas, cx, light.body_y, radius * (6 if light.body == "sun" else 3))
        image = image + body * halo * (0.45 if light.body == "sun" else 0.2)
        image = mix(image, body, coverage(disc_distance(canvas, cx, light.body_y, radius), canvas))
    return image


def exterior(canvas: Canvas, light: Light, location: str, horizon: float) -> torch.Tensor:
    """Paint an outdoor place: sky, three receding layers of land, then the near ground."""
    image = sky(canvas, light, horizon)
    kind = terrain(location)
    ground = scale_color(_GROUND, 0.35 + 0.65 * light.level)
    for layer in range(3):  # far to near: each layer less hazy and lower
        nearness = (layer + 1) / 3
        tint = lerp_color(light.horizon, ground, 0.35 + 0.55 * nearness)
        top = horizon - 0.16 + 0.08 * layer
        if kind == "city" and layer < 2:
            line, lit = _skyline(canvas, top - 0.1 * (1 - layer), light)
            tint = lerp_color(
                light.horizon, scale_color((0.32, 0.33, 0.38), light.level), 0.5 + 0.4 * layer
            )
        elif kind == "forest" and layer >= 1:
            line, lit = _treeline(canvas, top, 0.08 + 0.06 * layer), None
            tint = lerp_color(tint, (0.08, 0.18, 0.1), 0.4 * nearness)
        else:
            line, lit = top - (0.1 - 0.03 * layer) * canvas.ridge(), None
        mask = coverage(line - canvas.ys, canvas)
        image = mix(image, color(tint, canvas.device), mask)
        if lit is not None:
            image = image + lit * mask
    if kind == "water":
        return _water(canvas, image, light, horizon + 0.06)
    near = (canvas.ys - (horizon + 0.06)).clamp(min=0.0)
    shade = color(ground, canvas.device) * (1 - 0.8 * near)
    return mix(image, shade, coverage(horizon + 0.06 - canvas.ys, canvas))


def _skyline(canvas: Canvas, base: float, light: Light) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the roofline of a row of buildings, and their windows (lit at night)."""
    count = max(6, int(canvas.aspect * 14))
    edges = torch.cumsum(0.4 + canvas.rand(count), 0)
    edges = edges / edges[-1] * canvas.aspect
    heights = base - 0.05 - 0.22 * canvas.rand(count) ** 1.5
    index = torch.bucketize(canvas.xs.contiguous(), edges).clamp(max=count - 1)
    roof = heights[index]
    cells_x = torch.floor(canvas.xs * 60).long()
    cells_y = torch.floor(canvas.ys * 60).long()
    pane = (torch.remainder(canvas.xs * 60, 1.0) < 0.55) & (
        torch.remainder(canvas.ys * 60, 1.0) < 0.5
    )
    table = canvas.rand(64, 128)
    on = table[torch.remainder(cells_y, 64), torch.remainder(cells_x, 128)]
    night = 1.0 - light.level
    lit = (pane & (on > 0.55 + 0.3 * light.level) & (canvas.ys > roof + 0.01)).float()
    warm = color((0.95, 0.8, 0.45), canvas.device) * (0.15 + 0.7 * night)
    return roof, warm * lit


def _treeline(canvas: Canvas, base: float, height: float) -> torch.Tensor:
    """Return the outline of a row of pointed trees."""
    count = max(8, int(canvas.aspect * 30))
    edges = torch.cumsum(0.5 + canvas.rand(count), 0)
    edges = edges / edges[-1] * canvas.aspect
    starts = torch.cat([torch.zeros(1, device=canvas.device), edges[:-1]])
    tall = height * (0.6 + 0.4 * canvas.rand(count))
    index = torch.bucketize(canvas.xs.contiguous(), edges).clamp(max=count - 1)
    within = (canvas.xs - starts[index]) / (edges[index] - starts[index])
    peak = 1 - (2 * within - 1).abs()
    return base + 0.04 - tall[index] * peak


def _water(canvas: Canvas, image: torch.Tensor, light: Light, shore: float) -> torch.Tensor:
    """Cover everything below the shore with water that mirrors the sky."""
    mirrored = sky_colour((2 * shore - canvas.ys).clamp(min=0.0), light, shore)
    ripples = 0.9 + 0.1 * torch.sin(canvas.ys * 240 + 3 * canvas.ridge(octaves=3, knots=8))
    water = mirrored * ripples * color((0.7, 0.85, 0.95), canvas.device)
    return mix(image, water, coverage(shore - canvas.ys, canvas))


def interior(
    canvas: Canvas, light: Light, location: str, floor: float, palette: int
) -> torch.Tensor:
    """Paint a room: wall, floorboards in perspective, windows onto the time of day, lamps."""
    indoor = 0.45 + 0.45 * light.level
    wall = color(_WALLS[palette % len(_WALLS)], canvas.device) * indoor
    image = wall * (0.8 + 0.2 * (canvas.ys / floor).clamp(0.0, 1.0))
    image = image.expand(3, canvas.height, canvas.width).clone()
    cx = canvas.aspect / 2
    board = torch.remainder((canvas.xs - cx) / (canvas.ys - floor + 0.05) * 4.0, 1.0)
    boards = (
        color((0.4, 0.28, 0.18), canvas.device) * indoor * (0.85 + 0.15 * (board < 0.08).float())
    )
    image = mix(
        image, boards * (0.7 + 0.5 * (canvas.ys - floor)), coverage(floor - canvas.ys, canvas)
    )
    windows = 1 + int(canvas.uniform(0, 2.0))
    for number in range(windows):
        wx = canvas.aspect * (number + 0.5 + canvas.uniform(-0.15, 0.15)) / windows
        half_w, half_h, wy = 0.09, 0.13, floor * 0.42
        view = sky_colour(canvas.ys - wy + half_h + 0.05, light, 0.5)
        pane = coverage(box_distance(canvas, wx, wy, half_w, half_h), canvas)
        bars = (
            coverage((canvas.xs - wx).abs() - 0.006, canvas)
            + coverage((canvas.ys - wy).abs() - 0.006, canvas)
        ).clamp(max=1.0)
        frame = color(_WALLS[(palette + 3) % len(_WALLS)], canvas.device) * 0.5 * indoor
        image = mix(image, mix(view, frame, bars), pane)
        image = (
            image
            + color(light.horizon, canvas.device) * glow(canvas, wx, wy, 0.35) * 0.15 * light.level
        )
    lamps = 1 if light.level > 0.5 else 2
    for _ in range(lamps):
        lx = canvas.aspect * canvas.uniform(0.1, 0.9)
        ly = floor * canvas.uniform(0.35, 0.6)
        warmth = color((1.0, 0.78, 0.45), canvas.device)
        image = image + warmth * glow(canvas, lx, ly, 0.3) * (0.5 - 0.3 * light.level)
        shade = coverage(box_distance(canvas, lx, ly, 0.03, 0.022, 0.008), canvas)
        image = mix(image, warmth * 1.1, shade)
    if "GARAGE" in location.upper() or "WAREHOUSE" in location.upper():
        door = coverage(box_distance(canvas, cx, floor * 0.62, 0.35, floor * 0.38), canvas)
        slats = 0.85 + 0.15 * (torch.remainder(canvas.ys * 40, 1.0) < 0.15).float()
        image = mix(image, wall * 0.8 * slats, door)
    return image.clamp(0.0, 1.5)

"""The storyboard's drawing surface: coordinates, seeded noise and soft-edged shapes in torch.

Lengths are in units of the canvas height (y runs 0 at the top to 1 at the bottom, x from 0 to
width/height), so a layout looks the same at 64 px and at 1080p. Random numbers always come from
a CPU generator and then move to the device: the same seed gives the same picture on any device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F  # noqa: N812

Color = tuple[float, float, float]


@dataclass
class Canvas:
    """A height x width image plane on `device`, with its own seeded random stream."""

    height: int
    width: int
    device: torch.device
    seed: int
    generator: torch.Generator = field(init=False)
    xs: torch.Tensor = field(init=False)
    ys: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)
        pixel = 1.0 / self.height
        self.xs = (torch.arange(self.width, device=self.device) + 0.5).view(1, -1) * pixel
        self.ys = (torch.arange(self.height, device=self.device) + 0.5).view(-1, 1) * pixel

    @property
    def aspect(self) -> float:
        """Return width / height: the largest x."""
        return self.width / self.height

    @property
    def pixel(self) -> float:
        """Return the size of one pixel in canvas units."""
        return 1.0 / self.height

    def rand(self, *shape: int) -> torch.Tensor:
        """Return uniform [0, 1) numbers from the canvas's stream, on its device."""
        return torch.rand(shape, generator=self.generator).to(self.device)

    def randn(self, *shape: int) -> torch.Tensor:
        """Return standard normal numbers from the canvas's stream, on its device."""
        return torch.randn(shape, generator=self.generator).to(self.device)

    def uniform(self, low: float, high: float) -> float:
        """Return one number in [low, high) from the stream (for layout decisions)."""
        return low + (high - low) * float(torch.rand((), generator=self.generator))

    def fill(self, rgb: Color) -> torch.Tensor:
        """Return a 3 x H x W image of one colour."""
        return color(rgb, self.device).expand(3, self.height, self.width).clone()

    def ridge(self, octaves: int = 4, knots: int = 4, roughness: float = 0.5) -> torch.Tensor:
        """Return fractal 1-D value noise across the width (1 x W, about -1 to 1)."""
        total = torch.zeros(1, self.width, device=self.device)
        amplitude, scale = 1.0, 0.0
        for octave in range(octaves):
            count = knots * 2**octave + 1
            values = self.rand(1, 1, count) * 2 - 1
            smooth = F.interpolate(values, size=self.width, mode="linear", align_corners=True)
            total += amplitude * smooth.view(1, -1)
            scale += amplitude
            amplitude *= roughness
        return total / scale


def color(rgb: Color, device: torch.device) -> torch.Tensor:
    """Return a colour as a 3 x 1 x 1 tensor that broadcasts over an image."""
    return torch.tensor(rgb, dtype=torch.float32, device=device).view(3, 1, 1)


def mix(a: torch.Tensor, b: torch.Tensor, amount: torch.Tensor | float) -> torch.Tensor:
    """Blend from `a` to `b` by `amount` (0 keeps a, 1 gives b)."""
    return a + (b - a) * amount


def lerp_color(a: Color, b: Color, amount: float) -> Color:
    """Blend two colours on the CPU."""
    return (a[0] + (b[0] - a[0]) * amount, a[1] + (b[1] - a[1]) * amount,
            a[2] + (b[2] - a[2]) * amount)  # fmt: skip


def scale_color(rgb: Color, factor: float) -> Color:
    """Darken or brighten a colour."""
    return (rgb[0] * factor, rgb[1] * factor, rgb[2] * factor)


def coverage(distance: torch.Tensor, canvas: Canvas, softness: float = 1.0) -> torch.Tensor:
    """Turn a signed distance (negative inside) into an anti-aliased 0-1 mask."""
    return (0.5 - distance / (canvas.pixel * softness)).clamp(0.0, 1.0)


def box_distance(
    canvas: Canvas, cx: float, cy: float, half_w: float, half_h: float, radius: float = 0.0
) -> torch.Tensor:
    """Return the signed distance to a rounded box centred at (cx, cy)."""
    dx = (canvas.xs - cx).abs() - (half_w - radius)
    dy = (canvas.ys - cy).abs() - (half_h - radius)
    outside = torch.sqrt(dx.clamp(min=0) ** 2 + dy.clamp(min=0) ** 2)
    return outside + torch.maximum(dx, dy).clamp(max=0) - radius


def disc_distance(canvas: Canvas, cx: float, cy: float, radius: float) -> torch.Tensor:
    """Return the signed distance to a disc."""
    return torch.sqrt((canvas.xs - cx) ** 2 + (canvas.ys - cy) ** 2) - radius


def glow(canvas: Canvas, cx: float, cy: float, radius: float) -> torch.Tensor:
    """Return a soft Gaussian light around (cx, cy), 1 at the centre."""
    return torch.exp(-((canvas.xs - cx) ** 2 + (canvas.ys - cy) ** 2) / (radius * radius))


def luma(image: torch.Tensor) -> torch.Tensor:
    """Return Rec. 709 luma (1 x H x W) of a 3 x H x W image."""
    weights = torch.tensor([0.2126, 0.7152, 0.0722], device=image.device).view(3, 1, 1)
    return (image * weights).sum(0, keepdim=True)


def edges(gray: torch.Tensor) -> torch.Tensor:
    """Return the Sobel gradient magnitude of a 1 x H x W image."""
    kernel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernels = torch.stack([kernel, kernel.t()]).unsqueeze(1).to(gray.device)
    padded = F.pad(gray.unsqueeze(0), (1, 1, 1, 1), mode="replicate")
    gradient = F.conv2d(padded, kernels)
    return torch.sqrt((gradient**2).sum(1) + 1e-12)


def resize(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resample a C x H x W image smoothly (a cheap blur when it grows)."""
    if image.shape[-2:] == (height, width):
        return image
    resized = F.interpolate(image.unsqueeze(0), size=(height, width), mode="bilinear")
    return resized.squeeze(0)

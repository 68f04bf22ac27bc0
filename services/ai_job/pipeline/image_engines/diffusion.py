"""The diffusers engine: a Stable-Diffusion-family pipeline from a local model directory.

Nothing is downloaded: the directory must hold a saved pipeline (`model_index.json` and its
parts), it is read with `local_files_only=True`, and the hub is switched offline before
diffusers is imported (huggingface_hub reads HF_HUB_OFFLINE once, at import). fp16 on a GPU,
fp32 on the CPU. The model draws at its native size in the frame's aspect and the still is
scaled to the size asked for: larger than native, these models repeat their subjects.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from services.ai_job.pipeline.image_engines.base import ShotSpec, stable_seed
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.stage import CancelCheck, StageCancelled, ToolFailed, never_cancelled

log = logging.getLogger(__name__)

DEFAULT_STEPS = 25
GUIDANCE = 7.0
NEGATIVE_PROMPT = "text, watermark, logo, caption, blurry, low quality, deformed, extra limbs"


def model_path(model_dir: str) -> Path:
    """Return MODEL_DIR as an absolute path to a saved pipeline, else raise StageInputError."""
    path = Path(model_dir)
    # A relative path would be taken for a hub id and looked up on the network.
    if not model_dir or not path.is_absolute():
        raise StageInputError.field(
            "model_dir", "must be the absolute path of a local model directory"
        )
    if not path.is_dir():
        raise StageInputError.field("model_dir", f"{model_dir} is not a directory")
    if not (path / "model_index.json").is_file():
        raise StageInputError.field(
            "model_dir", f"{model_dir} holds no diffusers pipeline (model_index.json)"
        )
    return path


def _offline_diffusers() -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    hub = sys.modules.get("huggingface_hub.constants")
    if hub is not None:  # imported earlier by someone else: its flag was read already
        hub.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]
    try:
        import diffusers
    except ImportError as error:
        raise ToolFailed(
            "the diffusers engine needs `pip install 'filmstudio[diffusers]'`"
        ) from error
    return diffusers


def _multiple_of_8(value: float) -> int:
    return max(8, round(value / 8) * 8)


class DiffusersEngine:
    """Renders shots with a text-to-image pipeline loaded once from `model_dir`."""

    name = "diffusers"

    def __init__(
        self,
        model_dir: str,
        *,
        steps: int = DEFAULT_STEPS,
        device: str | None = None,
        cancelled: CancelCheck = never_cancelled,
    ) -> None:
        path = model_path(model_dir)
        diffusers = _offline_diffusers()
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.steps = steps
        self._cancelled = cancelled
        try:
            pipeline = diffusers.AutoPipelineForText2Image.from_pretrained(
                str(path), local_files_only=True, dtype=dtype
            )
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise ToolFailed(
                f"could not load a text-to-image pipeline from {path}: {error}"
            ) from error
        pipeline.set_progress_bar_config(disable=True)
        self.pipeline = pipeline.to(self.device)
        self.native = int(pipeline.unet.config.sample_size) * int(pipeline.vae_scale_factor)
        log.info("diffusers: %s from %s on %s", type(pipeline).__name__, path, self.device)

    def render(self, shot: ShotSpec, width: int, height: int, seed: int) -> Image.Image:
        """Draw `shot` from its prompt at the model's size, then scale it to width x height."""
        scale = min(1.0, self.native / max(width, height))
        draw_w, draw_h = _multiple_of_8(width * scale), _multiple_of_8(height * scale)
        # One seed per scene keeps a scene's shots alike; the prompt tells them apart.
        generator = torch.Generator("cpu").manual_seed(
            stable_seed(seed, "scene", shot.scene) % 2**63
        )
        result = self.pipeline(
            prompt=shot.prompt or shot.description,
            negative_prompt=NEGATIVE_PROMPT,
            width=draw_w,
            height=draw_h,
            num_inference_steps=self.steps,
            guidance_scale=GUIDANCE,
            generator=generator,
            callback_on_step_end=self._checkpoint,
        )
        image: Image.Image = result.images[0].convert("RGB")
        if image.size != (width, height):
            image = image.resize((width, height), Image.Resampling.LANCZOS)
        return image

    def _checkpoint(
        self, pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        if self._cancelled():
            raise StageCancelled("image_generation")
        return tensors

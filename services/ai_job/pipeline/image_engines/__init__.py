"""Image engines behind one interface, chosen by name.

    storyboard  the default: a storyboard frame drawn in torch from the shot's text, no weights
    diffusers   a Stable-Diffusion-family pipeline from a local MODEL_DIR (the `diffusers` extra)

An engine is any object with a `name` and `render(shot: ShotSpec, width, height, seed)` that
returns an RGB PIL image of that size, the same for the same arguments.
"""

from __future__ import annotations

from services.ai_job.pipeline.image_engines.base import ImageEngine, ShotSpec, read_moods
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.stage import CancelCheck, never_cancelled

ENGINES = ("storyboard", "diffusers")

__all__ = ["ENGINES", "ImageEngine", "ShotSpec", "make_engine", "read_moods"]


def make_engine(
    name: str, *, model_dir: str = "", steps: int = 0, cancelled: CancelCheck = never_cancelled
) -> ImageEngine:
    """Build the engine called `name`; `model_dir` and `steps` are the diffusers engine's."""
    if name == "storyboard":
        from services.ai_job.pipeline.image_engines.storyboard import StoryboardEngine

        return StoryboardEngine()
    if name == "diffusers":
        # Imported here: diffusers and transformers take seconds to import and are optional.
        from services.ai_job.pipeline.image_engines.diffusion import DEFAULT_STEPS, DiffusersEngine

        return DiffusersEngine(model_dir, steps=steps or DEFAULT_STEPS, cancelled=cancelled)
    raise StageInputError.field("engine", f"must be one of {', '.join(ENGINES)}")

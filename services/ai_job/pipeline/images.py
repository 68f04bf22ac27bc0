"""Stage 4, image generation: a breakdown in; one keyframe PNG per shot and a manifest out.

Each keyframe is `overscan` times the film's frame (1.25 by default: 1600x900 for 720p), so the
video stage can pan and zoom across it; the manifest names the centred rectangle that is the
frame itself, where the storyboard engine keeps its letterbox bars and captions. Engines come
from `image_engines` by name; every shot gets the job's seed, so a scene's shots share a look.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.ai_job.pipeline.breakdown import SCHEMA as BREAKDOWN_SCHEMA
from services.ai_job.pipeline.image_engines import (
    ENGINES,
    ImageEngine,
    ShotSpec,
    make_engine,
    read_moods,
)
from services.ai_job.pipeline.ports import ArtifactStore, InputViolation, StageInputError
from services.ai_job.pipeline.shots import describe_shot, image_prompt
from services.ai_job.pipeline.stage import (
    CancelCheck,
    Progress,
    ProgressCallback,
    ToolFailed,
    never_cancelled,
    no_progress,
    put_json,
    stage_key,
)
from services.ai_job.pipeline.text import truncate_words

log = logging.getLogger(__name__)

SHOT_IMAGES_SCHEMA = "filmstudio.shot_images.v1"
MIN_SIDE, MAX_SIDE = 16, 3840
MAX_SHOTS = 2000  # about three hours of film at five seconds a shot
MAX_SEED = 2**63 - 1
CAPTION_CHARS = 110
_PNG_LEVEL = 1  # zlib: 60 ms for a grainy 1600x900 keyframe, as small as level 3 (100 ms)


@dataclass(frozen=True)
class ImageOptions:
    """The engine, the film's frame size, the look, the seed and the pan/zoom margin."""

    engine: str = "storyboard"
    width: int = 1280
    height: int = 720
    style: str = ""  # empty: the breakdown's style
    seed: int = 0
    model_dir: str = ""  # the diffusers engine's local model directory (absolute)
    overscan: float = 1.25
    captions: bool = True
    steps: int = 0  # diffusion steps; 0 for the engine's default

    def validate(self) -> None:
        """Raise StageInputError for an unknown engine or sizes no encoder or engine handles."""
        bad = []
        if self.engine not in ENGINES:
            bad.append(InputViolation("engine", f"must be one of {', '.join(ENGINES)}"))
        sides = (("width", self.width), ("height", self.height))
        for name, side in sides:
            if type(side) is not int or not MIN_SIDE <= side <= MAX_SIDE or side % 2:
                bad.append(
                    InputViolation(name, f"must be an even number from {MIN_SIDE} to {MAX_SIDE}")
                )
        if not bad and not 1 / 3 <= self.width / self.height <= 3:
            bad.append(InputViolation("height", "the aspect ratio must lie between 1:3 and 3:1"))
        if not 1.0 <= self.overscan <= 2.0:
            bad.append(InputViolation("overscan", "must be 1.0 to 2.0"))
        if type(self.seed) is not int or not 0 <= self.seed <= MAX_SEED:
            bad.append(InputViolation("seed", f"must be a whole number from 0 to {MAX_SEED}"))
        if not 0 <= self.steps <= 200:
            bad.append(InputViolation("steps", "must be 0 to 200"))
        if len(self.style) > 80:
            bad.append(InputViolation("style", "must be at most 80 characters"))
        if self.engine == "diffusers" and not self.model_dir:
            bad.append(
                InputViolation("model_dir", "the diffusers engine needs a local model directory")
            )
        if bad:
            raise StageInputError(bad)

    def image_size(self) -> tuple[int, int]:
        """Return the keyframes' width and height: the frame grown by the overscan, even."""
        return round(self.width * self.overscan / 2) * 2, round(self.height * self.overscan / 2) * 2


@dataclass(frozen=True)
class ImageResult:
    """The manifest and the keys of the artifacts written (`manifest`)."""

    manifest: dict[str, Any]
    artifacts: dict[str, str]


def shot_specs(breakdown: Mapping[str, Any], options: ImageOptions) -> list[ShotSpec]:
    """Describe every shot of a breakdown to an engine, with its scene's place and light."""
    if not isinstance(breakdown, Mapping) or breakdown.get("schema") != BREAKDOWN_SCHEMA:
        raise StageInputError.field("breakdown", f"expected a {BREAKDOWN_SCHEMA} document")
    try:
        return _specs(breakdown, options)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise StageInputError.field("breakdown", f"malformed breakdown: {error!r}") from None


def _specs(breakdown: Mapping[str, Any], options: ImageOptions) -> list[ShotSpec]:
    shots = list(breakdown["shots"])
    if not shots or len(shots) > MAX_SHOTS:
        raise StageInputError.field(
            "breakdown", f"must have 1 to {MAX_SHOTS} shots, not {len(shots)}"
        )
    if len({str(shot["id"]) for shot in shots}) != len(shots):
        raise StageInputError.field("breakdown", "two shots share an id")
    scenes = {int(scene["index"]): scene for scene in breakdown.get("scenes") or []}
    style = options.style or str(breakdown.get("style") or "cinematic")
    people = {str(c["name"]): c.get("description") for c in breakdown.get("characters") or []}
    specs = []
    for shot in shots:
        scene = scenes.get(int(shot["scene"]), {})
        beats = {int(beat["index"]): beat for beat in scene.get("beats") or []}
        covered = [beats[i] for i in shot.get("beats") or [] if i in beats]
        kind = str(shot.get("kind") or "wide")
        place = str(scene.get("setting") or scene.get("location") or scene.get("heading") or "")
        description = str(
            shot.get("description")
            or describe_shot(
                kind, covered, str(scene.get("location") or scene.get("heading") or "")
            )
        )
        spoken = " ".join(str(beat.get("text") or "") for beat in covered)
        if kind == "title-card":
            caption = description
        else:
            caption = truncate_words(description, CAPTION_CHARS) if options.captions else ""
        characters = [str(name) for name in shot.get("characters") or []]
        int_ext = str(scene.get("setting_int_ext") or scene.get("int_ext") or "EXT").upper()
        light = str(scene.get("lighting") or scene.get("time_of_day") or "DAY").upper()
        prompt = shot.get("image_prompt") or image_prompt(
            style,
            kind,
            description,
            [(name, people.get(name)) for name in characters],
            int_ext=str(scene.get("setting_int_ext") or scene.get("int_ext") or ""),
            setting=str(scene.get("setting") or ""),
            lighting=str(scene.get("lighting") or ""),
        )
        specs.append(
            ShotSpec(
                id=str(shot["id"]),
                scene=int(shot["scene"]),
                kind=kind,
                prompt=str(prompt),
                description=description,
                int_ext=int_ext,
                time_of_day=light,
                location=place,
                heading=str(scene.get("heading") or ""),
                style=style,
                moods=read_moods(f"{scene.get('heading') or ''} {description} {spoken}"),
                characters=tuple(characters),
                caption=caption,
                overscan=options.overscan,
            )
        )
    return specs


def run_image_generation(
    breakdown: Mapping[str, Any],
    *,
    storage: ArtifactStore,
    key_prefix: str,
    options: ImageOptions = ImageOptions(),
    engine: ImageEngine | None = None,
    progress: ProgressCallback = no_progress,
    cancelled: CancelCheck = never_cancelled,
) -> ImageResult:
    """Render a keyframe per shot; store `<prefix>/images/<shot>.png` and `images/shots.json`."""
    tracker = Progress("image_generation", progress, cancelled)
    tracker.checkpoint()
    options.validate()
    specs = shot_specs(breakdown, options)
    keys = [stage_key(key_prefix, "images", f"{spec.id}.png") for spec in specs]
    engine = engine or make_engine(
        options.engine, model_dir=options.model_dir, steps=options.steps, cancelled=cancelled
    )
    tracker.report(0.05, f"{engine.name} engine ready")
    tracker.checkpoint()
    width, height = options.image_size()
    with tempfile.TemporaryDirectory(prefix="filmstudio-images-") as scratch:
        files = []
        for number, spec in enumerate(specs, start=1):
            image = engine.render(spec, width, height, options.seed)
            if image.size != (width, height):
                raise ToolFailed(f"{engine.name} drew {image.size}, not {(width, height)}")
            path = Path(scratch) / f"{number:05d}.png"
            image.convert("RGB").save(path, format="PNG", compress_level=_PNG_LEVEL)
            files.append(path)
            tracker.step(number, len(specs), 0.05, 0.95, f"shot {number} of {len(specs)}")
        manifest = _manifest(breakdown["shots"], specs, keys, files, engine.name, options)
        for key, path in zip(keys, files, strict=True):
            storage.put_file(key, path, content_type="image/png")
    manifest_key = stage_key(key_prefix, "images", "shots.json")
    put_json(storage, manifest_key, manifest)
    tracker.report(1.0, f"{len(specs)} keyframes stored")
    log.info("images: %d keyframes at %dx%d by %s", len(specs), width, height, engine.name)
    return ImageResult(manifest, {"manifest": manifest_key})


def _manifest(
    shots: list[Mapping[str, Any]],
    specs: list[ShotSpec],
    keys: list[str],
    files: list[Path],
    engine: str,
    options: ImageOptions,
) -> dict[str, Any]:
    width, height = options.image_size()
    return {
        "schema": SHOT_IMAGES_SCHEMA,
        "engine": engine,
        "style": specs[0].style,
        "seed": options.seed,
        "width": options.width,
        "height": options.height,
        "overscan": options.overscan,
        "image_width": width,
        "image_height": height,
        # The frame inside each keyframe: what the viewer sees when the camera does not move.
        "frame": {
            "x": (width - options.width) // 2,
            "y": (height - options.height) // 2,
            "width": options.width,
            "height": options.height,
        },
        "shots": [
            {
                "id": spec.id,
                "scene": spec.scene,
                "kind": spec.kind,
                "start_s": float(shot.get("start_s") or 0.0),
                "duration_s": float(shot.get("duration_s") or 0.0),
                "key": key,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "characters": list(spec.characters),
                "caption": spec.caption,
                "prompt": spec.prompt,
            }
            for shot, spec, key, path in zip(shots, specs, keys, files, strict=True)
        ],
    }

"""The storyboard engine and the image stage, rendering for real at tiny sizes."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from services.ai_job.pipeline.image_engines.base import ShotSpec
from services.ai_job.pipeline.image_engines.looks import LOOKS
from services.ai_job.pipeline.image_engines.storyboard import StoryboardEngine
from services.ai_job.pipeline.images import ImageOptions, run_image_generation
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.script_analysis import analyse_script
from services.ai_job.pipeline.stage import StageCancelled
from services.common.storage import LocalStorage

SHOT = ShotSpec(
    id="scene-001-shot-01",
    scene=1,
    kind="wide",
    description="Brick waits on the patio.",
    int_ext="EXT",
    time_of_day="DAY",
    location="BRICK'S PATIO",
    characters=("BRICK",),
    caption="Brick waits on the patio.",
    overscan=1.25,
)
SCRIPT = """EXT. ROOFTOP - NIGHT

Rain. MAYA, a courier, looks over the city.

MAYA
Almost there.

INT. KITCHEN - DAY

TOM, her brother, pours coffee.

.TITLES

> THE END <
"""


@pytest.fixture(scope="module")
def engine() -> StoryboardEngine:
    """One storyboard engine on the CPU."""
    return StoryboardEngine("cpu")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


def _differ(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(_pixels(a) - _pixels(b)).mean())


def test_the_same_shot_and_seed_give_the_same_bytes(engine: StoryboardEngine) -> None:
    first = _png(engine.render(SHOT, 120, 68, seed=7))
    assert _png(engine.render(SHOT, 120, 68, seed=7)) == first
    assert _png(engine.render(SHOT, 120, 68, seed=8)) != first


@pytest.mark.parametrize("size", [(120, 68), (68, 120), (80, 80), (1600, 900)])
def test_shots_render_at_the_size_and_aspect_asked_for(
    engine: StoryboardEngine, size: tuple[int, int]
) -> None:
    image = engine.render(SHOT, *size, seed=0)
    assert (image.size, image.mode) == (size, "RGB")


@pytest.mark.parametrize("style", [*LOOKS, "storyboard", "comic", "a style of its own"])
def test_every_style_renders_and_looks_its_own(engine: StoryboardEngine, style: str) -> None:
    image = engine.render(dataclasses.replace(SHOT, style=style), 96, 54, seed=0)
    pixels = _pixels(image)
    assert pixels.std() > 5.0  # a picture, not a flat fill
    spread = np.abs(pixels[..., 0] - pixels[..., 2]).max()
    if style == "noir":  # black and white
        assert spread <= 1.0
    elif style in {"sketch", "storyboard"}:  # pencil on cream paper
        assert spread <= 20.0
    else:
        assert _differ(image, engine.render(dataclasses.replace(SHOT, style="noir"), 96, 54, 0)) > 3


def test_the_characters_present_are_drawn(engine: StoryboardEngine) -> None:
    empty = engine.render(dataclasses.replace(SHOT, characters=()), 96, 54, seed=0)
    cast = engine.render(SHOT, 96, 54, seed=0)
    two = engine.render(dataclasses.replace(SHOT, characters=("BRICK", "STEEL")), 96, 54, seed=0)
    assert _differ(empty, cast) > 0.5
    assert _differ(cast, two) > 0.5


def test_interiors_and_exteriors_differ(engine: StoryboardEngine) -> None:
    outside = engine.render(SHOT, 96, 54, seed=0)
    inside = engine.render(dataclasses.replace(SHOT, int_ext="INT"), 96, 54, seed=0)
    assert _differ(outside, inside) > 10.0


@pytest.mark.parametrize("int_ext", ["EXT", "INT"])
def test_night_is_darker_than_day(engine: StoryboardEngine, int_ext: str) -> None:
    day = engine.render(dataclasses.replace(SHOT, int_ext=int_ext), 96, 54, seed=0)
    night = dataclasses.replace(SHOT, int_ext=int_ext, time_of_day="NIGHT")
    assert _pixels(engine.render(night, 96, 54, seed=0)).mean() < _pixels(day).mean() * 0.75


def test_rain_mood_and_captions_change_the_picture(engine: StoryboardEngine) -> None:
    plain = engine.render(dataclasses.replace(SHOT, caption=""), 160, 90, seed=0)
    rainy = dataclasses.replace(SHOT, caption="", moods=("rainy",))
    assert _differ(plain, engine.render(rainy, 160, 90, seed=0)) > 2.0
    assert _differ(plain, engine.render(SHOT, 160, 90, seed=0)) > 0.2


def test_a_title_card_sets_its_words_on_a_plain_ground(engine: StoryboardEngine) -> None:
    card = dataclasses.replace(SHOT, kind="title-card", characters=(), caption="THE END")
    blank = dataclasses.replace(card, caption="")
    words = _pixels(engine.render(card, 160, 90, seed=0))
    ground = _pixels(engine.render(blank, 160, 90, seed=0))
    assert (words - ground).max() > 100  # light letters on the dark ground


def _stage(storage: LocalStorage, **changes: Any) -> tuple[dict[str, Any], list[float]]:
    fractions: list[float] = []
    options = dataclasses.replace(ImageOptions(width=96, height=54), **changes)
    result = run_image_generation(
        analyse_script(SCRIPT),
        storage=storage,
        key_prefix="jobs/j1",
        options=options,
        progress=lambda fraction, message: fractions.append(fraction),
    )
    assert result.artifacts == {"manifest": "jobs/j1/images/shots.json"}
    return result.manifest, fractions


def test_the_stage_stores_a_keyframe_per_shot_and_the_manifest(local_storage: LocalStorage) -> None:
    manifest, fractions = _stage(local_storage)
    stored = json.loads(local_storage.get_bytes("jobs/j1/images/shots.json"))
    assert stored == manifest
    assert (manifest["schema"], manifest["engine"], manifest["overscan"]) == (
        "filmstudio.shot_images.v1",
        "storyboard",
        1.25,
    )
    assert (manifest["width"], manifest["height"]) == (96, 54)
    assert (manifest["image_width"], manifest["image_height"]) == (120, 68)
    assert manifest["frame"] == {"x": 12, "y": 7, "width": 96, "height": 54}
    breakdown = analyse_script(SCRIPT)
    shots = manifest["shots"]
    assert [shot["id"] for shot in shots] == [shot["id"] for shot in breakdown["shots"]]
    for shot, planned in zip(shots, breakdown["shots"], strict=True):
        assert shot["key"] == f"jobs/j1/images/{shot['id']}.png"
        assert (shot["start_s"], shot["duration_s"]) == (planned["start_s"], planned["duration_s"])
        assert shot["characters"] == planned.get("characters", [])
        assert shot["prompt"].startswith("cinematic film still")
        image = Image.open(io.BytesIO(local_storage.get_bytes(shot["key"])))
        assert (image.format, image.size) == ("PNG", (120, 68))
    assert shots[-1]["caption"] == "THE END"
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0


def test_the_same_job_renders_the_same_keyframes(tmp_path: Path) -> None:
    first, _ = _stage(LocalStorage(tmp_path / "a"), seed=3)
    again, _ = _stage(LocalStorage(tmp_path / "b"), seed=3)
    other, _ = _stage(LocalStorage(tmp_path / "c"), seed=4)
    hashes = [[shot["sha256"] for shot in m["shots"]] for m in (first, again, other)]
    assert hashes[0] == hashes[1]
    assert hashes[0] != hashes[2]


def test_bad_options_stop_the_stage_before_it_writes(local_storage: LocalStorage) -> None:
    with pytest.raises(StageInputError, match="width"):
        _stage(local_storage, width=95)
    assert local_storage.list("jobs") == []


def test_cancelling_stops_between_shots_and_writes_nothing(local_storage: LocalStorage) -> None:
    rendered: list[str] = []

    class Counting(StoryboardEngine):
        def render(self, shot: ShotSpec, width: int, height: int, seed: int) -> Image.Image:
            rendered.append(shot.id)
            return super().render(shot, width, height, seed)

    with pytest.raises(StageCancelled):
        run_image_generation(
            analyse_script(SCRIPT),
            storage=local_storage,
            key_prefix="jobs/j1",
            options=ImageOptions(width=96, height=54),
            engine=Counting("cpu"),
            cancelled=lambda: len(rendered) >= 2,
        )
    assert len(rendered) == 2
    assert local_storage.list("jobs") == []

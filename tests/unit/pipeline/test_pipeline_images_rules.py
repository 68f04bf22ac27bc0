"""Image stage rules without rendering: options, the shots an engine is told about, looks."""

from __future__ import annotations

from typing import Any

import pytest

from services.ai_job.pipeline.image_engines import make_engine, read_moods
from services.ai_job.pipeline.image_engines.base import stable_seed
from services.ai_job.pipeline.image_engines.figures import build_of
from services.ai_job.pipeline.image_engines.looks import LOOKS, light_for, look_for
from services.ai_job.pipeline.image_engines.storyboard import frame_of
from services.ai_job.pipeline.images import ImageOptions, shot_specs
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.script_analysis import analyse_script

SCRIPT = """EXT. CITY STREET - NIGHT

Rain hammers the empty street. MAYA, a courier, runs through the dark.

MAYA
Almost there.

INT. KITCHEN - MORNING

Warm light. TOM, her brother, pours coffee.

TOM
You're soaked.
"""


def _violations(options: ImageOptions) -> set[str]:
    with pytest.raises(StageInputError) as raised:
        options.validate()
    return {violation.field for violation in raised.value.violations}


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        (ImageOptions(engine="dalle"), {"engine"}),
        (ImageOptions(width=0), {"width"}),
        (ImageOptions(width=1281), {"width"}),
        (ImageOptions(height=8000), {"height"}),
        (ImageOptions(width=1600, height=200), {"height"}),
        (ImageOptions(overscan=0.9), {"overscan"}),
        (ImageOptions(overscan=3.0), {"overscan"}),
        (ImageOptions(seed=-1), {"seed"}),
        (ImageOptions(steps=1000), {"steps"}),
        (ImageOptions(style="x" * 81), {"style"}),
        (ImageOptions(engine="diffusers"), {"model_dir"}),
        (ImageOptions(engine="", width=3, seed=-5), {"engine", "width", "seed"}),
    ],
)
def test_bad_options_name_each_bad_field(options: ImageOptions, fields: set[str]) -> None:
    assert _violations(options) == fields


@pytest.mark.parametrize(
    ("width", "height", "image"),
    [
        (1280, 720, (1600, 900)),
        (1080, 1920, (1350, 2400)),
        (720, 720, (900, 900)),
        (96, 54, (120, 68)),
    ],
)
def test_keyframes_are_the_frame_grown_by_the_overscan_in_even_pixels(
    width: int, height: int, image: tuple[int, int]
) -> None:
    options = ImageOptions(width=width, height=height)
    options.validate()
    assert options.image_size() == image
    x, y, inner_w, inner_h = frame_of(*image, options.overscan)
    assert abs(inner_w - width) <= 1
    assert abs(inner_h - height) <= 1
    assert (x, y) == ((image[0] - inner_w) // 2, (image[1] - inner_h) // 2)


def test_an_unknown_engine_name_is_refused_when_building_it() -> None:
    with pytest.raises(StageInputError, match="engine"):
        make_engine("midjourney")


def test_each_shot_is_told_its_scene_place_light_mood_and_cast() -> None:
    breakdown = analyse_script(SCRIPT)
    specs = shot_specs(breakdown, ImageOptions(style="noir"))
    assert [spec.id for spec in specs] == [shot["id"] for shot in breakdown["shots"]]
    street = [spec for spec in specs if spec.scene == 1]
    kitchen = [spec for spec in specs if spec.scene == 2]
    assert {(s.int_ext, s.time_of_day, s.location) for s in street} == {
        ("EXT", "NIGHT", "CITY STREET")
    }
    assert {(s.int_ext, s.time_of_day) for s in kitchen} == {("INT", "MORNING")}
    assert {"rainy", "dark"} <= set(street[0].moods)
    assert any("warm" in spec.moods for spec in kitchen)
    assert {spec.style for spec in specs} == {"noir"}
    assert any(spec.characters == ("MAYA",) for spec in street)
    assert all(spec.prompt and spec.caption for spec in specs)
    assert all(spec.overscan == 1.25 for spec in specs)


def test_the_breakdowns_style_is_the_default_and_captions_can_be_left_out() -> None:
    breakdown = analyse_script(SCRIPT)
    specs = shot_specs(breakdown, ImageOptions(captions=False))
    assert {spec.style for spec in specs} == {breakdown["style"]}
    assert {spec.caption for spec in specs} == {""}


def test_a_title_card_keeps_its_words_as_the_caption_even_without_captions() -> None:
    breakdown = analyse_script(".OPENING TITLES\n\n> THE END <\n")
    specs = shot_specs(breakdown, ImageOptions(captions=False))
    assert [(spec.kind, spec.caption) for spec in specs] == [("title-card", "THE END")]


@pytest.mark.parametrize(
    ("breakdown", "message"),
    [
        ({"schema": "something.else"}, "filmstudio.breakdown.v2"),
        ({"schema": "filmstudio.breakdown.v2", "shots": []}, "1 to 2000 shots"),
        ({"schema": "filmstudio.breakdown.v2", "shots": [{"scene": 1}]}, "malformed"),
        (
            {"schema": "filmstudio.breakdown.v2", "shots": [{"id": "a", "scene": 1}] * 2},
            "share an id",
        ),
    ],
)
def test_a_malformed_breakdown_is_bad_input(breakdown: dict[str, Any], message: str) -> None:
    with pytest.raises(StageInputError, match=message):
        shot_specs(breakdown, ImageOptions())


def test_mood_words_are_read_from_the_text() -> None:
    assert read_moods("A gorgeous day. The sun is shining.") == ("bright",)
    assert read_moods("Thunder. Rain on the dark, misty road.") == ("dark", "foggy", "rainy")
    assert read_moods("He sits at the table.") == ()


def test_every_style_has_a_look_and_free_form_styles_find_theirs() -> None:
    assert look_for("noir", ()) == LOOKS["noir"]
    assert look_for("Dark NOIR thriller", ()).mode == "mono"
    assert look_for("storyboard", ()).mode == "pencil"
    assert look_for("oil painting", ()) == LOOKS["watercolor"]
    assert look_for("something new", ()) == LOOKS["cinematic"]
    rainy = look_for("cinematic", ("rainy",))
    assert (rainy.rain, rainy.light < 1.0, rainy.fog > 0.0) == (True, True, True)


def test_unknown_times_of_day_are_daylight_and_night_is_darker() -> None:
    assert light_for("CONTINUOUS") == light_for("DAY")
    assert light_for("night").level < light_for("DAY").level


def test_a_character_has_the_same_build_in_every_shot_and_process() -> None:
    assert build_of("BRICK") == build_of("Brick")
    assert {build_of(name) for name in ("BRICK", "STEEL", "MAYA", "TOM")} != {build_of("BRICK")}
    assert stable_seed(1, "a") == 6148644138517888281  # sha256, not the salted hash()

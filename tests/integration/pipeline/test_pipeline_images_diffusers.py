"""The diffusers engine through its real loading code, on a tiny random pipeline built here.

No registry ships usable text-to-image weights, so the test builds a Stable Diffusion pipeline
of about 1.7 M random parameters (a byte-level CLIP tokenizer, a two-block UNet and VAE), saves
it with save_pretrained and lets the engine load it from that directory, offline.
"""

from __future__ import annotations

import io
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from services.ai_job.pipeline.image_engines import make_engine
from services.ai_job.pipeline.image_engines.base import ShotSpec
from services.ai_job.pipeline.images import ImageOptions, run_image_generation
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.script_analysis import analyse_script
from services.ai_job.pipeline.stage import StageCancelled, ToolFailed
from services.common.storage import LocalStorage

os.environ["HF_HUB_OFFLINE"] = "1"  # huggingface_hub reads it once, when first imported
SCRIPT = "EXT. BEACH - DAWN\n\nWaves roll in. MAYA walks along the shore.\n"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build, save and return a tiny random Stable Diffusion pipeline (64 px native)."""
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    transformers = pytest.importorskip("transformers")
    from tokenizers import pre_tokenizers

    torch.manual_seed(0)  # the same weights every run
    vocab = {char: i for i, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    start, end = len(vocab), len(vocab) + 1
    vocab |= {"<|startoftext|>": start, "<|endoftext|>": end}
    text_config = transformers.CLIPTextConfig(
        bos_token_id=start,
        eos_token_id=end,
        pad_token_id=end,
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=len(vocab),
        max_position_embeddings=77,
    )
    pipeline = diffusers.StableDiffusionPipeline(
        unet=diffusers.UNet2DConditionModel(
            block_out_channels=(32, 64),
            layers_per_block=1,
            sample_size=32,
            in_channels=4,
            out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
            attention_head_dim=8,
        ),
        vae=diffusers.AutoencoderKL(
            block_out_channels=(32, 64),
            down_block_types=("DownEncoderBlock2D",) * 2,
            up_block_types=("UpDecoderBlock2D",) * 2,
            latent_channels=4,
        ),
        text_encoder=transformers.CLIPTextModel(text_config),
        tokenizer=transformers.CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77),
        scheduler=diffusers.DPMSolverMultistepScheduler(steps_offset=1),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    path = tmp_path_factory.mktemp("tiny-sd")
    pipeline.save_pretrained(path)
    return path


def _run(storage: LocalStorage, model: Path, **extra: Any) -> dict[str, Any]:
    options = ImageOptions(
        engine="diffusers", width=48, height=32, model_dir=str(model), steps=2, seed=5
    )
    return run_image_generation(
        analyse_script(SCRIPT), storage=storage, key_prefix="jobs/j1", options=options, **extra
    ).manifest


def test_a_saved_pipeline_renders_every_shot_the_same_way_twice(
    model_dir: Path, tmp_path: Path
) -> None:
    first_store, second_store = LocalStorage(tmp_path / "a"), LocalStorage(tmp_path / "b")
    first, second = _run(first_store, model_dir), _run(second_store, model_dir)
    assert first["engine"] == "diffusers"
    assert first["shots"] == second["shots"]
    for shot in first["shots"]:
        image = Image.open(io.BytesIO(first_store.get_bytes(shot["key"])))
        assert (image.format, image.size, image.mode) == ("PNG", (60, 40), "RGB")
    stored = json.loads(first_store.get_bytes("jobs/j1/images/shots.json"))
    assert stored["image_width"] == 60


def test_the_engine_draws_at_the_model_size_and_scales_to_the_frame(model_dir: Path) -> None:
    engine = make_engine("diffusers", model_dir=str(model_dir), steps=2)
    shot = ShotSpec(id="s1", prompt="a lighthouse at dawn")
    assert engine.render(shot, 100, 30, seed=1).size == (100, 30)


def test_cancelling_stops_a_render_between_diffusion_steps(model_dir: Path) -> None:
    steps: list[int] = []

    def cancelled() -> bool:
        steps.append(1)
        return True

    engine = make_engine("diffusers", model_dir=str(model_dir), steps=4, cancelled=cancelled)
    with pytest.raises(StageCancelled):
        engine.render(ShotSpec(id="s1", prompt="a storm"), 64, 64, seed=1)
    assert steps == [1]  # asked once, after the first of four steps


def test_a_cancelled_stage_writes_nothing(model_dir: Path, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    calls = itertools.count()
    with pytest.raises(StageCancelled):
        _run(storage, model_dir, cancelled=lambda: next(calls) >= 2)
    assert storage.list("jobs") == []


@pytest.mark.parametrize(
    ("model_dir", "message"),
    [
        ("", "absolute path"),
        ("models/sd", "absolute path"),
        ("/nonexistent/model", "is not a directory"),
    ],
)
def test_a_missing_model_directory_is_bad_input(model_dir: str, message: str) -> None:
    with pytest.raises(StageInputError, match=message):
        make_engine("diffusers", model_dir=model_dir)


def test_a_directory_without_a_pipeline_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(StageInputError, match="no diffusers pipeline"):
        make_engine("diffusers", model_dir=str(tmp_path))


def test_a_broken_pipeline_fails_as_a_tool(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    with pytest.raises(ToolFailed, match="could not load"):
        make_engine("diffusers", model_dir=str(tmp_path))

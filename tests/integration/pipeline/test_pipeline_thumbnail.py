"""Thumbnails from a real film: decoded with PyAV, titled, and small enough for YouTube."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.thumbnail import MAX_BYTES, run_thumbnail
from services.ai_job.pipeline.video import VideoOptions
from services.common.storage import LocalStorage
from tests.integration.pipeline.test_pipeline_video import PREFIX, compose, make_film_inputs


def test_thumbnail_of_a_film_is_a_titled_1280x720_jpeg(local_storage: LocalStorage) -> None:
    film = compose(
        local_storage, make_film_inputs(local_storage), options=VideoOptions(width=160, height=90)
    )
    reports: list[float] = []
    result = run_thumbnail(
        film.artifacts["video"],
        "The Long Night of Brick Braddock",
        storage=local_storage,
        key_prefix=PREFIX,
        progress=lambda fraction, message: reports.append(fraction),
    )
    assert result.artifacts["thumbnail"] == f"{PREFIX}/thumbnail/thumbnail.jpg"
    data = local_storage.get_bytes(result.artifacts["thumbnail"])
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("JPEG", (1280, 720))
    assert len(data) < MAX_BYTES
    assert 0.4 <= result.frame_s <= 4.6  # not from the fades at either end
    assert reports == sorted(reports)
    assert reports[-1] == 1.0


def test_a_file_without_pictures_is_refused(local_storage: LocalStorage) -> None:
    inputs = make_film_inputs(local_storage)
    wav_key = inputs["timings"]["audio"]["key"]
    with pytest.raises(StageInputError, match="no video stream"):
        run_thumbnail(wav_key, "Title", storage=local_storage, key_prefix=PREFIX)

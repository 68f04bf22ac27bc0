"""Video composition with the real ffmpeg: a tiny film checked stream by stream with PyAV."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from services.ai_job.pipeline.media_tools import probe
from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.stage import StageCancelled
from services.ai_job.pipeline.video import VideoOptions, run_video_composition
from services.common.storage import LocalStorage

PREFIX = "jobs/film"
VOICE_S = 4.0


def _still(width: int, height: int, seed: int) -> bytes:
    """A colourful, detailed still: stripes and noise, so motion and sharpness show."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    image = np.stack(
        [
            (xs * (3 + seed) % 255),
            (ys * (5 + seed) % 255),
            rng.integers(0, 255, size=(height, width)),
        ],
        axis=-1,
    ).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _wav(seconds: float, rate: int = 48000) -> bytes:
    """A mono tone that speaks in bursts, like lines of dialogue."""
    frames = bytearray()
    for n in range(round(seconds * rate)):
        t = n / rate
        level = 0.3 if (t % 1.0) < 0.7 else 0.0
        frames += struct.pack("<h", round(32767 * level * math.sin(2 * math.pi * 220 * t)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(bytes(frames))
    return buffer.getvalue()


SRT = (
    "1\n00:00:00,200 --> 00:00:02,400\nHello there.\n\n"
    "2\n00:00:02,600 --> 00:00:03,600\nGeneral Kenobi.\n"
)
VTT = "WEBVTT\n\n00:00:00.200 --> 00:00:01.400\nHello there.\n"


def make_film_inputs(
    storage: LocalStorage, width: int = 160, height: int = 90, overscan: float = 1.25
) -> dict[str, Any]:
    """Store three stills, a dialogue WAV and subtitles; return the stage's documents and keys."""
    image_w, image_h = round(width * overscan / 2) * 2, round(height * overscan / 2) * 2
    kinds = ["establishing", "close-up", "medium"]
    shots, images = [], []
    for number, kind in enumerate(kinds, start=1):
        key = f"{PREFIX}/images/shot-{number}.png"
        storage.put_bytes(key, _still(image_w, image_h, number))
        shots.append({"id": f"s{number}", "scene": 1, "kind": kind, "beats": [number - 1]})
        images.append({"id": f"s{number}", "scene": 1, "start_s": 0.0, "duration_s": 1.0,
                       "key": key, "characters": [], "caption": ""})  # fmt: skip
    storage.put_bytes(f"{PREFIX}/voice/dialogue.wav", _wav(VOICE_S))
    storage.put_bytes(f"{PREFIX}/subtitles/subtitles.srt", SRT.encode())
    storage.put_bytes(f"{PREFIX}/subtitles/subtitles.vtt", VTT.encode())
    cues = [
        {"index": 1, "scene": 1, "beat": 1, "speaker": "A", "start_s": 1.2, "end_s": 2.4},
        {"index": 2, "scene": 1, "beat": 2, "speaker": "B", "start_s": 2.6, "end_s": 3.6},
    ]
    return {
        "breakdown": {"schema": "filmstudio.breakdown.v2", "shots": shots},
        "timings": {
            "schema": "filmstudio.voice_timings.v1",
            "duration_s": VOICE_S,
            "audio": {"key": f"{PREFIX}/voice/dialogue.wav"},
            "scenes": [{"index": 1, "start_s": 0.0, "end_s": VOICE_S}],
            "cues": cues,
        },
        "manifest": {
            "schema": "filmstudio.shot_images.v1",
            "engine": "test",
            "width": width,
            "height": height,
            "overscan": overscan,
            "image_width": image_w,
            "image_height": image_h,
            "shots": images,
        },
        "subtitles": {
            "srt": f"{PREFIX}/subtitles/subtitles.srt",
            "vtt": f"{PREFIX}/subtitles/subtitles.vtt",
        },
    }


def compose(storage: LocalStorage, inputs: dict[str, Any], **kwargs: Any) -> Any:
    """Run the stage on `inputs` with `kwargs` passed through."""
    return run_video_composition(
        inputs["breakdown"],
        inputs["timings"],
        inputs["manifest"],
        inputs["subtitles"],
        storage=storage,
        key_prefix=PREFIX,
        **kwargs,
    )


def top_level_atoms(path: Path) -> list[str]:
    """Read the MP4's top-level box types in file order."""
    atoms, data, offset = [], path.read_bytes(), 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        atoms.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return atoms


def test_film_follows_youtubes_recommended_settings(local_storage: LocalStorage) -> None:
    inputs = make_film_inputs(local_storage)
    reports: list[float] = []
    result = compose(
        local_storage,
        inputs,
        options=VideoOptions(width=160, height=90),
        progress=lambda fraction, message: reports.append(fraction),
    )
    film = local_storage.root / result.artifacts["video"]
    info = probe(film)
    (video,) = info.of_kind("video")
    (audio,) = info.of_kind("audio")
    (subtitle,) = info.of_kind("subtitle")
    assert (video.codec, video.profile, video.pixel_format) == ("h264", "High", "yuv420p")
    assert (video.width, video.height, round(video.frame_rate or 0)) == (160, 90, 24)
    assert (audio.codec, audio.profile, audio.sample_rate, audio.channels) == (
        "aac",
        "LC",
        48000,
        2,
    )
    assert subtitle.codec == "mov_text"
    atoms = top_level_atoms(film)
    assert atoms.index("moov") < atoms.index("mdat")
    assert abs(info.duration_s - (VOICE_S + 1.0)) < 0.5  # the voice track plus the 1 s tail
    assert result.duration_s == pytest.approx(info.duration_s, abs=0.01)
    with av.open(str(film)) as container:
        keyframes = [
            packet.pts * packet.time_base
            for packet in container.demux(video=0)
            if packet.is_keyframe and packet.pts is not None
        ]
    assert len(keyframes) >= 7  # a closed GOP every half second
    preview = probe(local_storage.root / result.artifacts["preview"])
    assert preview.of_kind("video")[0].codec == "h264"
    assert reports == sorted(reports)
    assert reports[-1] == 1.0
    assert len(set(reports)) > 3
    assert [shot["id"] for shot in result.shots] == ["s1", "s2", "s3"]


@pytest.mark.parametrize(("width", "height"), [(90, 160), (120, 120)])
def test_portrait_and_square_films_with_burned_subtitles(
    local_storage: LocalStorage, width: int, height: int
) -> None:
    inputs = make_film_inputs(local_storage, width, height)
    options = VideoOptions(width=width, height=height, burn_subtitles=True, tail_s=0.0)
    result = compose(local_storage, inputs, options=options)
    info = probe(local_storage.root / result.artifacts["video"])
    (video,) = info.of_kind("video")
    assert (video.width, video.height) == (width, height)
    assert abs(info.duration_s - VOICE_S) < 0.5


def test_burned_subtitles_draw_text_on_the_picture(local_storage: LocalStorage) -> None:
    inputs = make_film_inputs(local_storage, 320, 180)
    plain = compose(local_storage, inputs, options=VideoOptions(width=320, height=180))
    plain_frame = _frame_at(local_storage.root / plain.artifacts["video"], 0.8)
    burned = compose(
        local_storage, inputs, options=VideoOptions(width=320, height=180, burn_subtitles=True)
    )
    burned_frame = _frame_at(local_storage.root / burned.artifacts["video"], 0.8)
    changed = np.abs(plain_frame.astype(int) - burned_frame).max(axis=2) > 60
    rows, _ = np.nonzero(changed)
    assert changed.sum() > 100  # libass found Roboto and drew the line...
    assert rows.min() > 120  # ...at the bottom of the picture


def _frame_at(path: Path, seconds: float) -> np.ndarray[Any, Any]:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError("no frame that late")


def test_music_is_mixed_under_the_dialogue(local_storage: LocalStorage) -> None:
    inputs = make_film_inputs(local_storage)
    local_storage.put_bytes(f"{PREFIX}/music/theme.wav", _wav(1.3))
    options = VideoOptions(width=160, height=90, music_key=f"{PREFIX}/music/theme.wav")
    result = compose(local_storage, inputs, options=options)
    info = probe(local_storage.root / result.artifacts["video"])
    assert abs(info.duration_s - (VOICE_S + 1.0)) < 0.5


@pytest.mark.parametrize(
    "options",
    [
        VideoOptions(width=161, height=90),
        VideoOptions(width=200, height=90),
        VideoOptions(width=64, height=36),
        VideoOptions(fps=23),
        VideoOptions(preset="placebo"),
        VideoOptions(music_key="../secret"),
    ],
)
def test_bad_options_are_refused(local_storage: LocalStorage, options: VideoOptions) -> None:
    inputs = make_film_inputs(local_storage)
    with pytest.raises(StageInputError):
        compose(local_storage, inputs, options=options)


def test_a_shot_without_a_still_is_refused(local_storage: LocalStorage) -> None:
    inputs = make_film_inputs(local_storage)
    inputs["manifest"]["shots"].pop()
    with pytest.raises(StageInputError, match="no still"):
        compose(local_storage, inputs, options=VideoOptions(width=160, height=90))


def test_cancellation_stops_ffmpeg(local_storage: LocalStorage) -> None:
    inputs = make_film_inputs(local_storage)
    reports: list[float] = []

    def cancel_once_encoding() -> bool:
        return any(fraction > 0.05 for fraction in reports)

    with pytest.raises(StageCancelled):
        compose(
            local_storage,
            inputs,
            options=VideoOptions(width=160, height=90),
            progress=lambda fraction, message: reports.append(fraction),
            cancelled=cancel_once_encoding,
        )
    assert not list((local_storage.root / PREFIX).glob("video/*"))

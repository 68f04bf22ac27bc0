"""The film, end to end: a full_generation job on the corpus screenplay in the production shape.

PostgreSQL, Redis and RQ worker processes whose PATH holds only the virtual environment, so no
system ffmpeg or espeak-ng can be used: the media come from pip. The first worker is killed
once the voice is done; the job is run again by another worker and must reuse the finished
stages. The film is checked with PyAV.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any

import av
import pytest
from filmstudio.v1 import ai_job_pb2, common_pb2, project_pb2, project_pb2_grpc
from google.protobuf import struct_pb2
from PIL import Image

from services.common.storage_setup import storage_from_settings
from tests.support.jobs import funded_studio
from tests.support.workers import Workers, production_studio, redis_prefix

pytestmark = pytest.mark.postgres
SUCCEEDED, RUNNING = common_pb2.JOB_STATUS_SUCCEEDED, common_pb2.JOB_STATUS_RUNNING
ENDED = (SUCCEEDED, common_pb2.JOB_STATUS_FAILED, common_pb2.JOB_STATUS_CANCELLED)
# After the voice: subtitles and the video start only once it is done.
AFTER_VOICE = {"subtitle_generation", "video_composition", "thumbnail_generation"}
RENDER_HEIGHT = 144


@pytest.fixture(scope="module")
def prefix():
    with redis_prefix("fsfilm") as name:
        yield name


@pytest.fixture(scope="module")
async def production(tmp_path_factory, postgres_url, prefix):
    var = tmp_path_factory.mktemp("var")
    async with production_studio(var, postgres_url, prefix, HEARTBEAT_TIMEOUT=3) as studio:
        yield studio


@pytest.fixture
def workers(production, prefix):
    # Only the virtual environment on PATH: a system ffmpeg or espeak-ng cannot be found.
    pool = Workers(production, prefix, PATH=str(Path(sys.executable).parent))
    pool.env.pop("FFMPEG", None)
    yield pool
    pool.stop_all()


async def _stages_seen(studio, name: str, stop_at: set[str], within: float) -> set[str]:
    """Follow a job's events until one of `stop_at` stages runs; return the stages seen."""
    seen: set[str] = set()
    request = ai_job_pb2.WatchJobRequest(name=name)
    async with asyncio.timeout(within):
        async for response in studio.jobs.WatchJob(request, metadata=studio.auth):
            seen.add(response.event.stage)
            if response.event.stage in stop_at or response.event.terminal:
                return seen
    return seen


def _top_level_atoms(data: bytes) -> list[str]:
    """Return the MP4's top-level box types in file order."""
    atoms, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        atoms.append(kind)
        if size < 8:
            break
        offset += size
    return atoms


def _artifacts(job: ai_job_pb2.Job) -> dict[str, str]:
    return {artifact.kind: artifact.key for artifact in job.artifacts}


async def test_full_generation_makes_the_film_and_a_killed_run_resumes_after_the_voice(
    production, workers
) -> None:
    server, channel, _ = production
    studio = await funded_studio(server, channel, credits=5000)
    extra = struct_pb2.Struct()
    extra.update({"render_height": RENDER_HEIGHT})
    job = ai_job_pb2.Job(
        project=studio.project,
        job_type=common_pb2.JOB_TYPE_FULL_GENERATION,
        parameters=ai_job_pb2.JobParameters(extra=extra),
    )
    created = await studio.jobs.CreateJob(
        ai_job_pb2.CreateJobRequest(job=job), metadata=studio.auth
    )
    name = created.job.name

    doomed = workers.start()
    seen = await _stages_seen(studio, name, AFTER_VOICE, within=240)
    assert seen & AFTER_VOICE, f"the job ended before the voice was done: {seen}"
    workers.kill(doomed)
    workers.start()
    done = await studio.wait_for(name, *ENDED, within=480)
    assert done.status == SUCCEEDED, done.error
    assert done.attempt == 2, "the killed attempt was run again"
    events = await studio.watch(name)
    reused = {e.stage for e in events if "reused from a previous run" in e.message}
    assert {"script_analysis", "voice_synthesis"} <= reused

    storage = storage_from_settings(server.app.settings)
    artifacts = _artifacts(done)
    assert {"video", "video_preview", "thumbnail", "subtitles_srt", "subtitles_vtt"} <= set(
        artifacts
    )
    film = storage.get_bytes(artifacts["video"])
    atoms = _top_level_atoms(film)
    assert atoms.index("moov") < atoms.index("mdat"), "faststart: the index comes first"
    timings = json.loads(storage.get_bytes(artifacts["voice_timings"]))
    with av.open(io.BytesIO(film)) as container:
        kinds = {stream.type: stream for stream in container.streams}
        video, audio = kinds["video"], kinds["audio"]
        assert video.codec_context.name == "h264"
        assert video.codec_context.profile == "High"
        assert video.codec_context.height == RENDER_HEIGHT
        assert audio.codec_context.name == "aac"
        assert audio.codec_context.sample_rate == 48000
        assert audio.codec_context.channels == 2
        assert "subtitle" in kinds, "a soft subtitle track"
        duration = float(container.duration or 0) / av.time_base
    padding = float(done.result["video_composition"]["padding_s"])
    assert abs(duration - (timings["duration_s"] + padding)) <= 0.5

    thumbnail = storage.get_bytes(artifacts["thumbnail"])
    assert len(thumbnail) < 2 * 1024 * 1024
    with Image.open(io.BytesIO(thumbnail)) as picture:
        assert (picture.format, picture.size) == ("JPEG", (1280, 720))

    projects: Any = project_pb2_grpc.ProjectServiceStub(channel)
    project = (
        await projects.GetProject(
            project_pb2.GetProjectRequest(name=studio.project), metadata=studio.auth
        )
    ).project
    assert project.status == common_pb2.PROJECT_STATUS_COMPLETED
    assert project.latest_job == name
    assert {"video", "thumbnail", "subtitles_srt"} <= {a.kind for a in project.artifacts}

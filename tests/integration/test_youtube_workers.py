"""A worker killed mid-upload: another `filmstudio worker` process resumes YouTube's session."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator

import pytest
from filmstudio.v1 import common_pb2, youtube_pb2

from tests.support.jobs import funded_studio
from tests.support.workers import Workers, production_studio, redis_prefix
from tests.support.youtube import UPLOAD_SETTINGS, connect, finish_project, youtube_stub
from tests.support.youtube_fake import FakeYouTube

SUCCEEDED, FAILED = common_pb2.JOB_STATUS_SUCCEEDED, common_pb2.JOB_STATUS_FAILED
SIZE = 24 * 256 * 1024 + 777  # 25 chunks of 256 KiB, the last one short


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeYouTube]:
    with FakeYouTube() as server:
        yield server


@pytest.fixture(scope="module")
def prefix():
    with redis_prefix("fsyt") as name:
        yield name


@pytest.fixture(scope="module")
async def production(tmp_path_factory, module_postgres_url, prefix, fake):
    """On a database of its own, so that no other module's leftover job reaches its workers."""
    var = tmp_path_factory.mktemp("var")
    extra = {**fake.settings(), **UPLOAD_SETTINGS}
    async with production_studio(var, module_postgres_url, prefix, **extra) as studio:
        yield studio


async def test_a_killed_worker_is_resumed_by_another_from_the_stored_session(
    production, prefix, fake
) -> None:
    server, channel, _ = production
    studio = await funded_studio(server, channel, credits=100)
    digest = await finish_project(server, studio.project, size=SIZE)
    await connect(studio, fake)
    env = {key: str(value) for key, value in {**fake.settings(), **UPLOAD_SETTINGS}.items()}
    workers = Workers(production, prefix, **env)
    try:
        fake.chunk_delay = 0.15  # about 4 s of upload: time to kill the first worker midway
        request = youtube_pb2.UploadVideoRequest(project=studio.project, title="Resumed")
        made = (await youtube_stub(studio).UploadVideo(request, metadata=studio.auth)).upload
        doomed = workers.start()
        deadline = asyncio.get_running_loop().time() + 30
        while fake.received_so_far() < SIZE * 0.4:
            assert asyncio.get_running_loop().time() < deadline, "the upload never got going"
            await asyncio.sleep(0.02)
        workers.kill(doomed)
        held = fake.received_so_far()
        assert held < SIZE
        fake.chunk_delay = 0.0
        workers.start()
        job = await studio.wait_for(made.job, SUCCEEDED, FAILED, within=90)
        assert job.status == SUCCEEDED, job.error
        assert job.attempt == 2, "the reaper handed the killed attempt to the next worker"
    finally:
        workers.stop_all()
    done = (
        await youtube_stub(studio).GetUploadStatus(
            youtube_pb2.GetUploadStatusRequest(name=made.name), metadata=studio.auth
        )
    ).upload
    assert hashlib.sha256(fake.uploaded(done.video_id)).hexdigest() == digest
    assert len(fake.sessions) == 1, "the second worker went on with the first one's session"
    assert fake.status_queries >= 1, "it asked YouTube where the session stood"
    assert fake.bytes_received < 1.5 * SIZE, (fake.bytes_received, SIZE, held)

"""YouTubeService against a local fake of Google OAuth and YouTube, driven by the real client."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from filmstudio.v1 import ai_job_pb2, common_pb2, project_pb2, project_pb2_grpc, youtube_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import select

from services.youtube.cli import rotate_keys
from services.youtube.connection import Connections
from services.youtube.google_api import GoogleApi
from services.youtube.models import YouTubeConnectionRow
from services.youtube.token_cipher import TokenCipher, TokenUnreadable
from tests.support.jobs import JOB_SETTINGS, Studio, funded_studio
from tests.support.studio import running_studio, studio_settings
from tests.support.users import error_of
from tests.support.youtube import UPLOAD_SETTINGS, connect, finish_project, youtube_stub
from tests.support.youtube_fake import FakeYouTube, consent

SUCCEEDED, FAILED = common_pb2.JOB_STATUS_SUCCEEDED, common_pb2.JOB_STATUS_FAILED


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeYouTube]:
    with FakeYouTube() as server:
        yield server


@pytest.fixture(scope="module")
async def studio_server(tmp_path_factory, postgres_url, fake):
    settings = studio_settings(
        tmp_path_factory.mktemp("var"),
        postgres_url,
        **JOB_SETTINGS,
        **fake.settings(),
        **UPLOAD_SETTINGS,
    )
    async with running_studio(settings, background=True) as (server, channel):
        yield server, channel


@pytest.fixture
async def studio(studio_server, fake) -> AsyncIterator[Studio]:
    fake.reset()
    yield await funded_studio(*studio_server, credits=100)
    fake.reset()


async def upload(studio: Studio, **fields) -> youtube_pb2.Upload:
    request = youtube_pb2.UploadVideoRequest(
        project=studio.project, title="Brick & Steel", **fields
    )
    return (await youtube_stub(studio).UploadVideo(request, metadata=studio.auth)).upload


async def status(studio: Studio, name: str) -> youtube_pb2.Upload:
    request = youtube_pb2.GetUploadStatusRequest(name=name)
    return (await youtube_stub(studio).GetUploadStatus(request, metadata=studio.auth)).upload


async def test_connecting_reads_the_channel_and_keeps_tokens_unreadable_without_the_key(
    studio, fake
) -> None:
    channel = await connect(studio, fake)
    assert (channel.channel_id, channel.title) == (fake.channel_id, fake.channel_title)
    assert "https://www.googleapis.com/auth/youtube.upload" in channel.scopes
    [refresh_token] = fake.refresh_tokens
    user_id = int(studio.user.split("/")[1])
    async with studio.server.app.database.session() as db:
        row = await db.scalar(
            select(YouTubeConnectionRow).where(YouTubeConnectionRow.user_id == user_id)
        )
    assert row is not None
    assert row.refresh_token.startswith("v1.k1.")
    assert refresh_token not in row.refresh_token
    owner = f"youtube-connection:users/{user_id}"
    with pytest.raises(TokenUnreadable):
        TokenCipher.parse("k1:" + "B" * 43).decrypt(row.refresh_token, owner)
    with pytest.raises(TokenUnreadable):  # bound to its owner: useless in another user's row
        TokenCipher.parse(UPLOAD_SETTINGS["YOUTUBE_TOKEN_KEYS"]).decrypt(row.refresh_token, "x")
    assert (
        TokenCipher.parse(UPLOAD_SETTINGS["YOUTUBE_TOKEN_KEYS"]).decrypt(row.refresh_token, owner)
        == refresh_token
    )
    # A rotated key list still reads the old rows, and writes new ones under the new key.
    rotated = TokenCipher.parse("k2:" + "C" * 43 + "," + UPLOAD_SETTINGS["YOUTUBE_TOKEN_KEYS"])
    assert rotated.decrypt(row.refresh_token, owner) == refresh_token
    assert not rotated.is_current(row.refresh_token)


async def test_the_authorization_url_asks_for_pkce_s256_offline_access_and_the_scopes(
    studio,
) -> None:
    start = await youtube_stub(studio).ConnectYouTubeAccount(
        youtube_pb2.ConnectYouTubeAccountRequest(manage_playlists=False), metadata=studio.auth
    )
    url = start.authorization_url
    assert "code_challenge_method=S256" in url
    assert "access_type=offline" in url
    assert f"state={start.state}" in url
    assert "youtube.upload" in url
    assert "auth%2Fyoutube+" not in url


async def test_a_state_works_once_and_only_for_the_user_who_started(
    studio, studio_server, fake
) -> None:
    stub = youtube_stub(studio)
    start = await stub.ConnectYouTubeAccount(
        youtube_pb2.ConnectYouTubeAccountRequest(), metadata=studio.auth
    )
    code, state = await consent(start.authorization_url)
    other = await funded_studio(*studio_server, credits=0)
    stolen = await error_of(
        stub.CompleteYouTubeConnection(
            youtube_pb2.CompleteYouTubeConnectionRequest(code=code, state=state),
            metadata=other.auth,
        )
    )
    assert stolen.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Another user's refused attempt does not burn the state of the user who started.
    request = youtube_pb2.CompleteYouTubeConnectionRequest(code=code, state=state)
    await stub.CompleteYouTubeConnection(request, metadata=studio.auth)
    again = await error_of(stub.CompleteYouTubeConnection(request, metadata=studio.auth))
    assert again.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_upload_survives_503s_a_429_an_expired_token_and_a_dropped_connection(
    studio, fake
) -> None:
    digest = await finish_project(studio.server, studio.project)
    await connect(studio, fake)
    playlist = await youtube_stub(studio).CreatePlaylist(
        youtube_pb2.CreatePlaylistRequest(
            playlist=youtube_pb2.Playlist(
                title="Shorts", privacy_status=youtube_pb2.PRIVACY_STATUS_UNLISTED
            )
        ),
        metadata=studio.auth,
    )
    assert playlist.playlist.playlist_id in fake.playlists
    fake.faults = ["503", "429", "401", "drop", "503"]
    made = await upload(
        studio,
        description="A film",
        tags=["noir", "short film"],
        playlist_id=playlist.playlist.playlist_id,
        privacy_status=youtube_pb2.PRIVACY_STATUS_UNLISTED,
        made_for_kids=True,
        language="en",
    )
    assert made.state == youtube_pb2.UPLOAD_STATE_QUEUED
    job = await studio.wait_for(made.job, SUCCEEDED, FAILED, within=60)
    assert job.status == SUCCEEDED, job.error
    assert fake.faults == []
    assert fake.faults_answered == ["503", "429", "401", "drop", "503"]
    done = await status(studio, made.name)
    assert hashlib.sha256(fake.uploaded(done.video_id)).hexdigest() == digest
    assert done.state == youtube_pb2.UPLOAD_STATE_PROCESSED
    assert done.video_url == f"https://www.youtube.com/watch?v={done.video_id}"
    assert (done.upload_status, done.processing_status) == ("processed", "succeeded")
    # One refresh when the upload was asked for (the grant is checked), one after the 401.
    assert fake.refreshes == 2, "the 401 made the worker ask for a fresh token"
    assert done.video_id in fake.thumbnails
    assert [i["resourceId"]["videoId"] for i in fake.playlist_items] == [done.video_id]
    video = fake.videos[done.video_id]["metadata"]
    assert video["snippet"]["tags"] == ["noir", "short film"]
    assert video["status"]["privacyStatus"] == "unlisted"
    assert video["status"]["selfDeclaredMadeForKids"] is True
    assert video["snippet"]["defaultLanguage"] == "en"
    # Progress follows the bytes YouTube acknowledged, chunk by chunk.
    events = await studio.watch(made.job)
    sent = [e for e in events if e.message.endswith("bytes sent")]
    assert len(sent) >= 3
    assert [e.progress for e in sent] == sorted(e.progress for e in sent)
    project = await studio_project(studio)
    assert project.status == common_pb2.PROJECT_STATUS_PUBLISHED


async def studio_project(studio: Studio) -> project_pb2.Project:
    stub = project_pb2_grpc.ProjectServiceStub(studio.channel)
    request = project_pb2.GetProjectRequest(name=studio.project)
    return (await stub.GetProject(request, metadata=studio.auth)).project


async def test_youtube_processing_failure_shows_in_the_status(studio, fake) -> None:
    await finish_project(studio.server, studio.project, size=300_000)
    await connect(studio, fake)
    made = await upload(studio)
    await studio.wait_for(made.job, SUCCEEDED, FAILED, within=60)
    fake.video_upload_status = "failed"
    failed = await status(studio, made.name)
    assert failed.state == youtube_pb2.UPLOAD_STATE_FAILED
    assert (failed.upload_status, failed.error) == ("failed", "codec")


async def test_a_revoked_grant_is_a_failed_precondition_telling_to_reconnect(studio, fake) -> None:
    await finish_project(studio.server, studio.project)
    await connect(studio, fake)
    fake.revoke_all()
    error = await error_of(upload(studio))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "reconnect" in error.details()
    again = await error_of(upload(studio))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION, "the connection stays broken"
    await connect(studio, fake)
    made = await upload(studio)
    assert (await studio.wait_for(made.job, SUCCEEDED, FAILED, within=60)).status == SUCCEEDED


async def test_uploading_someone_elses_project_is_not_found(studio, studio_server, fake) -> None:
    await finish_project(studio.server, studio.project)
    other = await funded_studio(*studio_server, credits=100)
    await connect(other, fake)
    request = youtube_pb2.UploadVideoRequest(project=studio.project, title="Mine now")
    error = await error_of(youtube_stub(other).UploadVideo(request, metadata=other.auth))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    await connect(studio, fake)
    made = await upload(studio)
    peek = await error_of(
        youtube_stub(other).GetUploadStatus(
            youtube_pb2.GetUploadStatusRequest(name=made.name), metadata=other.auth
        )
    )
    assert peek.code() == grpc.StatusCode.NOT_FOUND
    await studio.wait_for(made.job, SUCCEEDED, FAILED, within=60)


async def test_only_a_finished_project_is_uploaded_and_bad_metadata_names_its_fields(
    studio, fake
) -> None:
    await connect(studio, fake)
    draft = await error_of(upload(studio))
    assert draft.code() == grpc.StatusCode.FAILED_PRECONDITION
    request = youtube_pb2.UploadVideoRequest(
        project=studio.project,
        title="x" * 101,
        privacy_status=youtube_pb2.PRIVACY_STATUS_PUBLIC,
        publish_time={"seconds": 4102444800},
        category_id="film",
    )
    bad = await error_of(youtube_stub(studio).UploadVideo(request, metadata=studio.auth))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(bad) == {"title", "publish_time", "category_id"}


def _violations(error: grpc.aio.AioRpcError) -> set[str]:
    status = rpc_status.from_call(error)
    fields: set[str] = set()
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields |= {v.field for v in bad.field_violations}
    return fields


async def test_disconnect_revokes_at_google_and_forgets_the_tokens(studio, fake) -> None:
    await connect(studio, fake)
    [refresh_token] = fake.refresh_tokens
    await youtube_stub(studio).DisconnectYouTubeAccount(
        youtube_pb2.DisconnectYouTubeAccountRequest(), metadata=studio.auth
    )
    assert fake.revoked == [refresh_token]
    user_id = int(studio.user.split("/")[1])
    async with studio.server.app.database.session() as db:
        assert await db.get(YouTubeConnectionRow, user_id) is None
    await finish_project(studio.server, studio.project)
    error = await error_of(upload(studio))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_cancelling_an_upload_stops_it_midway(studio, fake) -> None:
    await finish_project(studio.server, studio.project, size=40 * 256 * 1024)
    await connect(studio, fake)
    fake.chunk_delay = 0.1
    made = await upload(studio)
    await studio.wait_for(made.job, common_pb2.JOB_STATUS_RUNNING, within=30)
    deadline = asyncio.get_running_loop().time() + 30
    while fake.received_so_far() == 0:
        assert asyncio.get_running_loop().time() < deadline, "no bytes arrived"
        await asyncio.sleep(0.02)
    await studio.jobs.CancelJob(ai_job_pb2.CancelJobRequest(name=made.job), metadata=studio.auth)
    job = await studio.wait_for(made.job, common_pb2.JOB_STATUS_CANCELLED, within=10)
    assert job.status == common_pb2.JOB_STATUS_CANCELLED
    await asyncio.sleep(0.5)
    assert fake.received_so_far() < 40 * 256 * 1024
    assert fake.videos == {}
    assert (await studio_project(studio)).status == common_pb2.PROJECT_STATUS_COMPLETED
    assert (await status(studio, made.name)).state == youtube_pb2.UPLOAD_STATE_FAILED


async def test_rotating_keys_re_encrypts_stored_tokens_under_the_new_key(studio, fake) -> None:
    await connect(studio, fake)
    [refresh_token] = fake.refresh_tokens
    database = studio.server.app.database
    old = UPLOAD_SETTINGS["YOUTUBE_TOKEN_KEYS"]
    rotated = TokenCipher.parse(f"k2:{'C' * 43},{old}")
    changed, unreadable = await rotate_keys(
        database, Connections(database, GoogleApi(studio.server.app.settings), rotated)
    )
    assert changed >= 1
    assert unreadable == 0
    user_id = int(studio.user.split("/")[1])
    async with database.session() as db:
        row = await db.get(YouTubeConnectionRow, user_id)
    assert row is not None
    assert row.refresh_token.startswith("v1.k2.")
    owner = f"youtube-connection:users/{user_id}"
    assert TokenCipher.parse(f"k2:{'C' * 43}").decrypt(row.refresh_token, owner) == refresh_token


async def test_an_account_without_a_channel_is_refused_and_its_grant_revoked(studio, fake) -> None:
    fake.channel_id = ""
    try:
        error = await error_of(connect(studio, fake))
    finally:
        fake.channel_id = FakeYouTube.channel_id
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no YouTube channel" in error.details()
    assert len(fake.revoked) == 1
    assert fake.refresh_tokens == {}


async def test_a_forgotten_session_starts_over_in_a_new_one(studio, fake) -> None:
    digest = await finish_project(studio.server, studio.project, size=600_000)
    await connect(studio, fake)
    fake.faults = ["ok", "gone"]
    made = await upload(studio)
    job = await studio.wait_for(made.job, SUCCEEDED, FAILED, within=60)
    assert job.status == SUCCEEDED, job.error
    done = await status(studio, made.name)
    assert hashlib.sha256(fake.uploaded(done.video_id)).hexdigest() == digest
    assert len(fake.sessions) == 1, "the forgotten one is gone, the new one holds the video"


async def test_a_failed_upload_retried_goes_on_with_its_session(studio, fake) -> None:
    digest = await finish_project(studio.server, studio.project, size=900_000)
    await connect(studio, fake)
    fake.faults = ["ok", "400"]
    made = await upload(studio)
    failed = await studio.wait_for(made.job, SUCCEEDED, FAILED, within=60)
    assert failed.status == FAILED
    assert "400" in failed.error
    held = fake.received_so_far()
    assert held > 0
    retried = await studio.jobs.RetryJob(
        ai_job_pb2.RetryJobRequest(name=made.job), metadata=studio.auth
    )
    job = await studio.wait_for(retried.job.name, SUCCEEDED, FAILED, within=60)
    assert job.status == SUCCEEDED, job.error
    done = await status(studio, made.name)
    assert done.job == retried.job.name, "the upload follows its newest job"
    assert done.state == youtube_pb2.UPLOAD_STATE_PROCESSED
    assert hashlib.sha256(fake.uploaded(done.video_id)).hexdigest() == digest
    assert len(fake.sessions) == 1, "the retry went on with the first job's session"

"""YouTube over REST through the gateway: connect, the callback, an upload watched over SSE."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from gateway.filmstudio import filmstudio_config
from gateway.server import GatewayServer
from tests.support.jobs import JOB_SETTINGS, funded_studio
from tests.support.studio import running_studio, studio_settings
from tests.support.youtube import UPLOAD_SETTINGS, finish_project
from tests.support.youtube_fake import REDIRECT_URI, FakeYouTube


def _sse(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields:
            events.append(fields)
    return events


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeYouTube]:
    with FakeYouTube() as server:
        yield server


@pytest.fixture(scope="module")
async def rest(
    tmp_path_factory, postgres_url, fake
) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    settings = studio_settings(
        tmp_path_factory.mktemp("var"),
        postgres_url,
        **JOB_SETTINGS,
        **fake.settings(),
        **UPLOAD_SETTINGS,
    )
    async with running_studio(settings, background=True) as (server, channel):
        studio = await funded_studio(server, channel, credits=100)
        gateway = GatewayServer(
            filmstudio_config(settings, f"127.0.0.1:{server.port}"), port=0, grace_seconds=1
        )
        port = await gateway.start()
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=dict(studio.auth), timeout=60
            ) as client:
                yield client, studio
        finally:
            await gateway.stop()


async def test_connect_callback_upload_watched_over_sse_and_status(rest, fake) -> None:
    client, studio = rest
    connect = await client.post("/v1/youtube:connect", json={"managePlaylists": True})
    assert connect.status_code == 200, connect.text
    start = connect.json()
    assert start["authorizationUrl"].startswith(fake.base_url)
    # The browser goes to Google and comes back to our callback page with the code and state.
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        consent = await browser.get(start["authorizationUrl"])
    assert consent.status_code == 302
    callback = httpx.URL(consent.headers["Location"])
    assert str(callback).startswith(REDIRECT_URI)
    assert callback.params["state"] == start["state"]
    completed = await client.post(
        "/v1/youtube:complete",
        json={"code": callback.params["code"], "state": callback.params["state"]},
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["channel"]["channelId"] == fake.channel_id

    made = await client.post(
        "/v1/youtube/playlists",
        json={"title": "Shorts", "privacyStatus": "PRIVACY_STATUS_UNLISTED"},
    )
    assert made.status_code == 200, made.text
    playlist = made.json()
    assert playlist["privacyStatus"] == "PRIVACY_STATUS_UNLISTED"

    digest = await finish_project(studio.server, studio.project)
    started = await client.post(
        "/v1/youtube/uploads",
        json={
            "project": studio.project,
            "title": "Over REST",
            "tags": ["rest"],
            "privacyStatus": "PRIVACY_STATUS_PUBLIC",
            "playlistId": playlist["playlistId"],
            "requestId": "rest-upload-1",
        },
    )
    assert started.status_code == 200, started.text
    upload = started.json()
    assert upload["state"] == "UPLOAD_STATE_QUEUED"
    again = await client.post(
        "/v1/youtube/uploads",
        json={
            "project": studio.project,
            "title": "Over REST",
            "tags": ["rest"],
            "privacyStatus": "PRIVACY_STATUS_PUBLIC",
            "playlistId": playlist["playlistId"],
            "requestId": "rest-upload-1",
        },
    )
    assert again.json()["name"] == upload["name"], "a repeated request_id is the same upload"

    watched = await client.get(
        f"/v1/{upload['job']}:watch", headers={"Accept": "text/event-stream"}
    )
    assert watched.status_code == 200, watched.text
    events = [e for e in _sse(watched.text) if "data" in e and e.get("event") != "end"]
    assert events, watched.text
    last = events[-1]["data"]
    assert '"terminal":true' in last.replace(" ", "")
    assert "JOB_STATUS_SUCCEEDED" in last

    status = await client.get(f"/v1/{upload['name']}")
    assert status.status_code == 200, status.text
    done = status.json()
    assert done["state"] == "UPLOAD_STATE_PROCESSED"
    assert done["videoUrl"] == f"https://www.youtube.com/watch?v={done['videoId']}"
    assert hashlib.sha256(fake.uploaded(done["videoId"])).hexdigest() == digest
    assert [i["playlistId"] for i in fake.playlist_items] == [playlist["playlistId"]]

    project = (await client.get(f"/v1/{studio.project}")).json()
    assert project["status"] == "PROJECT_STATUS_PUBLISHED"

    gone = await client.post("/v1/youtube:disconnect", json={})
    assert gone.status_code == 200, gone.text
    another = await studio.new_project("Sequel")
    await finish_project(studio.server, another)
    refused = await client.post("/v1/youtube/uploads", json={"project": another, "title": "Again"})
    assert refused.status_code == 400
    assert refused.json()["details"][0]["reason"] == "YOUTUBE_NOT_CONNECTED"

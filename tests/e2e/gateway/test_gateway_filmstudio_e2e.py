"""FilmStudio over REST end to end: real processes, a real HTTP client, documented paths."""

from __future__ import annotations

import json
import signal
import time
import uuid

import httpx
import pytest

from tests.support.studio import TEST_PASSWORD

SCRIPT = "INT. DESERT - DAY\n\nA lone rider crosses the dunes.\n\nRIDER\nWater. Please.\n"


def _sse(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields:
            events.append(fields)
    return events


@pytest.fixture(scope="module")
def signed_in(processes) -> tuple[httpx.Client, str]:
    """Register and log in over REST; return a client with the bearer token."""
    client = httpx.Client(base_url=processes.base_url, timeout=30)
    email = f"rest-{uuid.uuid4().hex[:8]}@example.com"
    registered = client.post(
        "/v1/users:register",
        json={"email": email, "password": TEST_PASSWORD, "firstName": "Rest"},
    )
    assert registered.status_code == 200, registered.text
    login = client.post("/v1/auth:login", json={"email": email, "password": TEST_PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["tokens"]["accessToken"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client, email


def test_the_gateway_serves_docs_and_health_for_the_studio(processes) -> None:
    spec = httpx.get(f"{processes.base_url}/openapi.json").json()
    assert spec["info"]["title"] == "FilmStudio API"
    assert "/v1/jobs/{jobsId}:watch" in spec["paths"]
    assert httpx.get(f"{processes.base_url}/docs").status_code == 200
    assert httpx.get(f"{processes.base_url}/healthz").json() == {"status": "SERVING"}


def test_unauthenticated_calls_are_401_with_a_status_body(processes) -> None:
    response = httpx.get(f"{processes.base_url}/v1/projects/1")
    assert response.status_code == 401
    assert response.json()["details"][0]["reason"] == "CREDENTIALS_MISSING"
    assert response.headers["x-request-id"]


def test_register_login_and_create_a_project(signed_in) -> None:
    client, email = signed_in
    me = client.get("/v1/users/me")
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
    created = client.post(
        "/v1/projects",
        json={
            "title": "Dunes",
            "script": SCRIPT,
            "style": "STYLE_CINEMATIC",
            "targetDurationSeconds": 30,
        },
    )
    assert created.status_code == 200, created.text
    project = created.json()
    assert project["title"] == "Dunes"
    assert project["status"] == "PROJECT_STATUS_DRAFT"
    fetched = client.get(f"/v1/{project['name']}")
    assert fetched.json()["name"] == project["name"]
    listed = client.get("/v1/projects", params={"pageSize": 10})
    assert [p["name"] for p in listed.json()["projects"]] == [project["name"]]
    # A PATCH without updateMask changes the fields its body names, and only those (the
    # gateway derives the mask from the body, as grpc-gateway does).
    patched = client.patch(
        f"/v1/{project['name']}",
        json={"title": "Dunes II", "etag": project["etag"]},
        params={"updateMask": "title"},
    )
    assert patched.status_code == 200, patched.text
    renamed = client.patch(f"/v1/{project['name']}", json={"title": "Dunes III"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["title"], renamed.json()["style"]) == ("Dunes III", "STYLE_CINEMATIC")
    assert renamed.json()["script"] == SCRIPT


def test_start_a_job_and_stream_its_progress_as_ndjson_and_sse_with_resume(signed_in) -> None:
    client, _ = signed_in
    deadline = time.monotonic() + 30
    while client.get("/v1/users/me/credits").json().get("available", "0") == "0":
        assert time.monotonic() < deadline, "the monthly allowance never arrived"
        time.sleep(0.25)
    project = client.post(
        "/v1/projects", json={"title": "Watch me", "script": SCRIPT, "targetDurationSeconds": 20}
    ).json()
    started = client.post(
        "/v1/jobs", json={"project": project["name"], "jobType": "JOB_TYPE_SCRIPT_ANALYSIS"}
    )
    assert started.status_code == 200, started.text
    job = started.json()["name"]
    with client.stream("GET", f"/v1/{job}:watch", timeout=120) as stream:
        assert stream.status_code == 200, stream.read()
        lines = [json.loads(line) for line in stream.iter_lines() if line]
    events = [line["result"]["event"] for line in lines]
    assert events
    assert events[-1]["terminal"] is True
    assert all("error" not in line for line in lines)
    sse = client.get(f"/v1/{job}:watch", headers={"Accept": "text/event-stream"}, timeout=120)
    ids = [e["id"] for e in _sse(sse.text) if "id" in e]
    assert ids == [event["id"] for event in events]
    resumed = client.get(
        f"/v1/{job}:watch",
        headers={"Accept": "text/event-stream", "Last-Event-ID": ids[0]},
        timeout=120,
    )
    assert [e["id"] for e in _sse(resumed.text) if "id" in e] == ids[1:]
    assert _sse(resumed.text)[-1]["event"] == "end"


def test_sigterm_stops_the_gateway_gracefully(processes) -> None:
    processes.gateway.send_signal(signal.SIGTERM)
    output, _ = processes.gateway.communicate(timeout=30)
    assert processes.gateway.returncode == 0, output
    assert "gateway stopped" in output
    assert "Traceback" not in output

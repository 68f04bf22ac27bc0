"""The web page's session routes over plain HTTP: the refresh token stays in an HttpOnly cookie."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.oauth_provider import FakeOAuthProvider
from tests.support.studio import free_port
from tests.support.studio_process import StudioProcess, studio_process

PASSWORD = "a long passphrase for cookies"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> Iterator[StudioProcess]:
    with studio_process(tmp_path_factory.mktemp("session")) as running:
        yield running


def _cookie_header(answer: httpx.Response) -> str:
    return answer.headers.get("set-cookie", "")


def test_login_sets_the_refresh_token_only_as_a_strict_httponly_cookie(studio) -> None:
    with httpx.Client(base_url=studio.gateway_url, timeout=30) as client:
        registered = client.post(
            "/v1/users:register", json={"email": "cookie@example.com", "password": PASSWORD}
        )
        assert registered.status_code == 200, registered.text
        login = client.post(
            "/app/session/login", json={"email": "cookie@example.com", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        cookie = _cookie_header(login)
        assert {"HttpOnly", "SameSite=Strict", "Path=/app/session"} <= set(cookie.split("; "))
        assert "refresh" not in login.text.lower(), "the page never sees the refresh token"
        access = login.json()["accessToken"]
        me = client.get("/v1/users/me", headers={"Authorization": f"Bearer {access}"})
        assert me.json()["email"] == "cookie@example.com"

        spent = client.cookies.get("filmstudio_refresh")
        refreshed = client.post("/app/session/refresh", json={})
        assert refreshed.json()["signedIn"] is True
        assert client.cookies.get("filmstudio_refresh") != spent, "the refresh token rotates"

        out = client.post(
            "/app/session/logout", json={}, headers={"Authorization": f"Bearer {access}"}
        )
        assert out.json() == {"signedIn": False}
        assert "Max-Age=0" in _cookie_header(out)
        again = client.post("/app/session/refresh", json={})
        assert again.json() == {"signedIn": False}


def test_session_routes_refuse_what_a_cross_site_form_can_send(studio) -> None:
    form = httpx.post(
        f"{studio.gateway_url}/app/session/login",
        data={"email": "a@example.com", "password": PASSWORD},
        timeout=30,
    )
    assert form.status_code == 415
    stale = httpx.post(
        f"{studio.gateway_url}/app/session/refresh",
        json={},
        cookies={"filmstudio_refresh": "not-a-token"},
        timeout=30,
    )
    assert stale.json() == {"signedIn": False}
    assert "Max-Age=0" in _cookie_header(stale)


def test_the_page_is_served_with_a_strict_content_security_policy(studio) -> None:
    page = httpx.get(f"{studio.gateway_url}/", timeout=30)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert '<script type="module" src="/app/app.js">' in page.text
    config = httpx.get(f"{studio.gateway_url}/app/config.json", timeout=30).json()
    assert config["prices"]["full_generation"] == {"base": 10, "per_minute": 8}
    artifact = httpx.post(
        f"{studio.gateway_url}/app/artifact", json={"job": "jobs/1", "kind": "video"}, timeout=30
    )
    assert artifact.status_code == 401, "artifacts need the owner's token"


def test_continue_with_google_ends_in_the_same_cookie_session(tmp_path) -> None:
    port = free_port()
    redirects = {
        "google_redirect_uri": f"http://127.0.0.1:{port}/auth/callback/google",
        "github_redirect_uri": f"http://127.0.0.1:{port}/auth/callback/github",
    }
    with (
        FakeOAuthProvider(**redirects) as fake,
        studio_process(tmp_path, gateway_port=port, **fake.settings_overrides()) as studio,
        httpx.Client(base_url=studio.gateway_url, timeout=30) as browser,
    ):
        assert browser.get("/app/config.json").json()["oauth"] == ["google", "github"]
        started = browser.post("/app/session/oauth/start", json={"provider": "google"})
        assert "SameSite=Lax" in _cookie_header(started), "the state survives the way back"
        consent = httpx.get(started.json()["authorizationUrl"], timeout=30)
        assert consent.status_code == 302
        callback = consent.headers["location"]

        planted = httpx.get(callback, timeout=30)  # the same link in a browser that did not start
        assert planted.headers["location"] == "/#/oauth-failed"

        back = browser.get(callback)
        assert (back.status_code, back.headers["location"]) == (303, "/#/projects")
        refreshed = browser.post("/app/session/refresh", json={}).json()
        assert refreshed["signedIn"] is True
        me = browser.get(
            "/v1/users/me", headers={"Authorization": f"Bearer {refreshed['accessToken']}"}
        )
        assert me.json()["email"] == fake.google_user.email.lower()

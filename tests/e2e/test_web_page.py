"""The web page as a new user drives it in headless Chromium, against `filmstudio run`.

Debian's chromium through Playwright (no browser download); any console error fails the test,
and axe-core (vendored under tests/support/vendor) must find no serious accessibility violation.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.studio_process import FILMSTUDIO, StudioProcess, studio_process
from tests.support.youtube_fake import REDIRECT_URI, FakeYouTube

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[1] / "support" / "vendor" / "axe-core" / "axe.min.js"
SCREENPLAY = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "brick-and-steel.fountain"
PASSWORD = "a long passphrase for the page"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-screenshots"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt install chromium; .ci/run does)"
)


@pytest.fixture(scope="module")
def youtube() -> Iterator[FakeYouTube]:
    with FakeYouTube() as fake:
        yield fake


@pytest.fixture(scope="module")
def studio(tmp_path_factory, youtube) -> Iterator[StudioProcess]:
    settings = {**youtube.settings(), "YOUTUBE_TOKEN_KEYS": "k1:" + "A" * 43}
    with studio_process(tmp_path_factory.mktemp("web"), **settings) as running:
        yield running


@pytest.fixture
def page(tmp_path, monkeypatch) -> Iterator[tuple[Any, list[str]]]:
    sync_api = pytest.importorskip("playwright.sync_api")
    # Chromium writes its profile and caches under these: keep them in the test's directory.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-quic",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        tab = browser.new_page()
        problems: list[str] = []
        tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda error: problems.append(str(error)))
        try:
            yield tab, problems
        finally:
            browser.close()


def _serious_violations(tab: Any) -> list[str]:
    """Run axe-core in the page; return the serious and critical violations."""
    if not tab.evaluate("() => typeof axe !== 'undefined'"):
        tab.evaluate(AXE.read_text())  # evaluated over CDP: the page's CSP does not apply
    found = tab.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"
    )
    return [
        f"{v['id']} ({v['impact']}, {v['nodes']})"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def _percent(tab: Any) -> float:
    return float(tab.locator("#job-percent").inner_text().rstrip(" %") or 0)


def test_a_new_user_makes_a_film_in_the_browser(studio, youtube, page, tmp_path) -> None:
    tab, problems = page
    tab.goto(studio.gateway_url + "/")
    tab.get_by_role("heading", name="Create an account").wait_for()
    for hidden in ("#view-projects", "#job-panel", "#result", "#nav"):
        assert tab.locator(hidden).is_hidden(), f"{hidden} waits its turn"
    assert _serious_violations(tab) == []

    tab.get_by_label("First name").fill("Ada")
    tab.locator("#up-email").fill("ada@example.com")
    tab.locator("#up-password").fill(PASSWORD)
    tab.get_by_role("button", name="Create account").click()
    tab.get_by_role("heading", name="New project").wait_for()
    assert (
        tab.evaluate("() => Object.keys(localStorage).length + Object.keys(sessionStorage).length")
        == 0
    )
    assert all(c["httpOnly"] for c in tab.context.cookies()), "the refresh token is HttpOnly"

    tab.get_by_label("Title", exact=True).fill("Brick & Steel")
    tab.locator("#ed-script").fill(SCREENPLAY.read_text())
    tab.get_by_label("Style").select_option("STYLE_NOIR")
    tab.get_by_label("Duration (seconds)").fill("60")
    tab.get_by_role("button", name="Save project").click()
    tab.get_by_role("heading", name="Brick & Steel").wait_for()
    price = int(tab.locator("#price").inner_text())
    assert price == 18, "a 60-second 720p film: 10 + 8 a minute"
    assert _serious_violations(tab) == []

    tab.get_by_role("button", name="Generate film").click()
    tab.wait_for_function(
        "() => parseFloat(document.querySelector('#job-percent').textContent) > 0"
    )
    assert f"{price} credits on hold" in tab.locator("#status").inner_text()
    before = _percent(tab)
    tab.reload()
    # After the reload the session comes back from the cookie and the watch resumes.
    tab.get_by_role("heading", name="Brick & Steel").wait_for()
    tab.locator("#job-panel").wait_for(state="visible")
    tab.wait_for_function(
        "() => document.querySelector('#job-percent').textContent === '100 %'", timeout=180_000
    )
    assert _percent(tab) >= before
    assert tab.locator("#stages li").count() >= 5, "a bar per stage"

    tab.locator("#result").wait_for(state="visible", timeout=30_000)
    tab.wait_for_function(
        "() => document.querySelector('#project-meta').textContent.startsWith('completed')"
    )
    assert tab.get_by_role("button", name="Cancel").is_hidden(), "nothing left to cancel"
    tab.wait_for_function("() => document.querySelector('#player').readyState >= 2")
    tab.evaluate("() => { const v = document.querySelector('#player'); v.muted = true; v.play(); }")
    tab.wait_for_function("() => document.querySelector('#player').currentTime > 0.5")
    cues = tab.evaluate(
        "() => { const t = document.querySelector('#player').textTracks[0]; t.mode = 'showing';"
        " return t.cues ? t.cues.length : 0; }"
    )
    assert cues > 0, "the subtitle track is loaded"
    assert tab.evaluate("() => document.querySelector('#thumbnail').naturalWidth") > 0
    with tab.expect_download() as downloading:
        tab.get_by_role("button", name="SRT subtitles").click()
    srt = Path(downloading.value.path()).read_text()
    assert downloading.value.suggested_filename == "film.srt"
    assert srt.startswith("1\n00:00:"), srt[:40]
    # Kept after the run (var/ is ignored by git) for a person or CI to look at.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "film-page.png"
    tab.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert _serious_violations(tab) == []

    _upload_to_youtube(tab, studio, youtube)

    tab.get_by_role("link", name=re.compile("^Credits")).click()
    tab.get_by_role("heading", name="Credits").wait_for()
    assert "hold for jobs/" in tab.locator("#credits-history").inner_text()
    assert problems == [], problems


def test_an_admin_sees_the_admin_area(studio, page) -> None:
    tab, problems = page
    tab.goto(studio.gateway_url + "/")
    tab.locator("#up-email").fill("grace@example.com")
    tab.locator("#up-password").fill(PASSWORD)
    tab.get_by_role("button", name="Create account").click()
    tab.get_by_role("heading", name="New project").wait_for()
    assert tab.locator("#admin-link").is_hidden(), "no admin area for users"
    tab.get_by_label("Title", exact=True).fill("Draft")
    tab.locator("#ed-script").fill("A lighthouse keeper counts the ships.")
    tab.get_by_role("button", name="Save project").click()
    tab.get_by_role("heading", name="Draft").wait_for()
    assert tab.locator("#price").inner_text() == "18"
    tab.get_by_role("link", name="Edit the script and settings").click()
    tab.get_by_role("heading", name="Edit “Draft”").wait_for()
    assert tab.get_by_label("Title", exact=True).input_value() == "Draft", (
        "the editor shows the project"
    )
    tab.get_by_label("Title", exact=True).fill("Lighthouse")
    tab.get_by_label("Resolution").select_option("RESOLUTION_1080P")
    tab.get_by_role("button", name="Save project").click()
    tab.get_by_role("heading", name="Lighthouse").wait_for()
    assert tab.locator("#price").inner_text() == "22", "1080p costs half as much again a minute"

    promote = ("users", "promote", "grace@example.com", "--role", "admin")
    subprocess.run([FILMSTUDIO, *promote], env=studio.env, check=True, capture_output=True)
    tab.get_by_role("button", name="Sign out").click()
    tab.get_by_role("heading", name="Sign in").wait_for()
    assert tab.context.cookies() == [], "signing out clears the session cookie"
    tab.locator("#in-email").fill("grace@example.com")
    tab.locator("#in-password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_role("link", name="Admin").click()
    tab.get_by_role("heading", name="Admin").wait_for()
    tab.locator("#admin-stats dt").first.wait_for()
    tab.get_by_label("Search users").fill("grace")
    tab.get_by_role("button", name="Search").click()
    tab.get_by_text("grace@example.com · admin").wait_for()
    assert _serious_violations(tab) == []
    assert problems == [], problems


def _upload_to_youtube(tab: Any, studio: StudioProcess, youtube: FakeYouTube) -> None:
    """Connect the channel through the consent screen, then upload the film with metadata."""

    def to_the_gateway(route: Any) -> None:
        # Google sends the browser to the registered redirect URI; here that is our gateway.
        query = urlsplit(route.request.url).query
        where = f"{studio.gateway_url}/youtube/callback?{query}"
        route.fulfill(status=302, headers={"Location": where})

    tab.context.route(f"{REDIRECT_URI}**", to_the_gateway)
    tab.get_by_role("button", name="Connect your YouTube channel").click()
    tab.get_by_text("Connected to the YouTube channel “Ada's Films”").wait_for()
    tab.locator("#youtube").wait_for(state="visible", timeout=30_000)
    assert tab.evaluate("() => sessionStorage.length") == 0
    tab.get_by_label("Video title").fill("Brick & Steel (draft)")
    tab.get_by_label("Description").fill("A noir short made with FilmStudio.")
    tab.get_by_label("Tags").fill("noir, short")
    tab.get_by_label("Who can watch").select_option("PRIVACY_STATUS_UNLISTED")
    tab.get_by_role("button", name="Upload", exact=True).click()
    tab.get_by_role("link", name="Watch it on YouTube").wait_for(timeout=120_000)
    assert "Upload processed" in tab.locator("#yt-status").inner_text()
    (video,) = youtube.videos.values()
    assert video["privacy"] == "unlisted"
    assert video["metadata"]["snippet"]["title"] == "Brick & Steel (draft)"
    assert video["metadata"]["snippet"]["tags"] == ["noir", "short"]

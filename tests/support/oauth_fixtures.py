"""Pytest fixtures for the fake OAuth providers; import them into a conftest or test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.oauth_provider import FakeOAuthProvider


@pytest.fixture(scope="session")
def oauth_provider() -> Iterator[FakeOAuthProvider]:
    """The fake Google and GitHub, serving on 127.0.0.1 for the whole session."""
    with FakeOAuthProvider() as fake:
        yield fake


@pytest.fixture
def fresh_oauth_provider(oauth_provider: FakeOAuthProvider) -> Iterator[FakeOAuthProvider]:
    """The session's fake providers with users, switches, codes and counters reset around a test."""
    oauth_provider.reset()
    yield oauth_provider
    oauth_provider.reset()

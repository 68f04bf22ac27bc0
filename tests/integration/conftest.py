"""Fixtures for tests that talk to a real studio server over gRPC."""

from __future__ import annotations

import pytest

from tests.support.jobs import JOB_SETTINGS
from tests.support.studio import running_studio, studio_settings


@pytest.fixture(scope="module")
async def live(tmp_path_factory, postgres_url):
    """A server with every service, on the session's PostgreSQL database, for one module."""
    settings = studio_settings(tmp_path_factory.mktemp("var"), postgres_url)
    async with running_studio(settings) as (server, channel):
        yield server, channel


@pytest.fixture(scope="module")
async def embedded_jobs(tmp_path_factory, postgres_url):
    """A server with in-process workers and event bus (the embedded default), for one module."""
    settings = studio_settings(tmp_path_factory.mktemp("var"), postgres_url, **JOB_SETTINGS)
    async with running_studio(settings, background=True) as (server, channel):
        yield server, channel

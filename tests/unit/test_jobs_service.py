"""The job service as the product docs build it: defaults, never the environment."""

from __future__ import annotations

from services.ai_job.ai_job_service import AIJobService
from services.ai_job.queue import InProcessQueue
from services.common.config import explicit_settings
from services.common.db import Database


def test_a_job_service_built_without_settings_does_not_read_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("JOB_DIAGNOSTICS", "1")
    monkeypatch.setenv("JOB_MAX_ATTEMPTS", "7")
    service = AIJobService(Database("sqlite+aiosqlite:///:memory:"), InProcessQueue())
    assert service.settings.job_max_attempts == 3
    assert not service.settings.job_diagnostics
    assert not service.runners.diagnostics


def test_a_job_service_uses_the_settings_it_is_given() -> None:
    settings = explicit_settings(JOB_DIAGNOSTICS=True, JOB_MAX_ATTEMPTS=5)
    service = AIJobService(
        Database("sqlite+aiosqlite:///:memory:"), InProcessQueue(), settings=settings
    )
    assert service.settings.job_max_attempts == 5
    assert service.runners.diagnostics

"""The composition root: settings, database and auth, built once and handed to servicers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import grpc

from services.common.auth import JwtAuthenticator
from services.common.config import Settings
from services.common.db import Database
from services.common.mail import Outbox, transport_from_settings
from services.common.tokens import ServiceToken, TokenCodec
from services.user.sessions import DatabaseSessionCheck

if TYPE_CHECKING:
    from services.ai_job.ai_job_service import AIJobService
    from services.ai_job.worker import Worker
    from services.credits.credits_service import CreditsService
    from services.project.project_service import ProjectService
    from services.user.user_service import UserService

log = logging.getLogger(__name__)

OUTBOX_INTERVAL_SECONDS = 30.0
PURGE_INTERVAL_SECONDS = 6 * 3600.0


@dataclass
class App:
    """Everything a domain needs at run time, owned by the process that serves it."""

    settings: Settings
    database: Database
    tokens: TokenCodec
    authenticator: JwtAuthenticator
    session_check: DatabaseSessionCheck
    outbox: Outbox
    _services: dict[str, object] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    _workers: list[Worker] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings) -> App:
        """Build the app's components from settings (nothing connects until used)."""
        tokens = TokenCodec.from_settings(settings)
        database = Database.from_settings(settings)
        # Every process that serves RPCs checks user tokens against live sessions.
        session_check = DatabaseSessionCheck(database)
        return cls(
            settings=settings,
            database=database,
            tokens=tokens,
            authenticator=JwtAuthenticator(tokens, session_check),
            session_check=session_check,
            outbox=Outbox(database, transport_from_settings(settings), settings.mail_from),
        )

    def user_service(self) -> UserService:
        """Return the process's UserService."""
        from services.user.user_service import UserService

        if "user" not in self._services:
            self._services["user"] = UserService(
                self.database,
                settings=self.settings,
                codec=self.tokens,
                session_check=self.session_check,
                outbox=self.outbox,
            )
        service = self._services["user"]
        assert isinstance(service, UserService)
        return service

    def credits_service(self) -> CreditsService:
        """Return the process's CreditsService."""
        from services.credits.credits_service import CreditsService

        if "credits" not in self._services:
            self._services["credits"] = CreditsService(
                self.database, self.settings, codec=self.tokens
            )
        service = self._services["credits"]
        assert isinstance(service, CreditsService)
        return service

    def project_service(self) -> ProjectService:
        """Return the process's ProjectService."""
        from services.project.project_service import ProjectService

        if "project" not in self._services:
            self._services["project"] = ProjectService(
                self.database, self.tokens.derived_key("project-page-tokens")
            )
        service = self._services["project"]
        assert isinstance(service, ProjectService)
        return service

    def job_service(self) -> AIJobService:
        """Return the process's AIJobService (with its queue, events and credits client)."""
        from services.ai_job.ai_job_service import AIJobService
        from services.ai_job.credits_client import GrpcCreditsClient
        from services.ai_job.events import event_bus_from_settings
        from services.ai_job.queue import InProcessQueue, RQQueue

        if "jobs" not in self._services:
            settings = self.settings
            queue: InProcessQueue | RQQueue = (
                RQQueue(settings.redis_url, settings.queue_prefix)
                if settings.redis_url
                else InProcessQueue()
            )
            target = settings.credits_service_address or settings.grpc_target
            self._channels["credits"] = grpc.aio.insecure_channel(target)
            self._services["jobs"] = AIJobService(
                self.database,
                queue,
                settings=settings,
                projects=self.project_service(),
                credits=GrpcCreditsClient(
                    self._channels["credits"], ServiceToken(self.tokens, "jobs")
                ),
                events=event_bus_from_settings(
                    settings.redis_url, settings.queue_prefix, settings.event_stream_maxlen
                ),
                page_secret=self.tokens.derived_key("job-page-tokens"),
            )
        service = self._services["jobs"]
        assert isinstance(service, AIJobService)
        return service

    def start_background(self) -> None:
        """Start the periodic work of the process (mail retries)."""
        self._every(OUTBOX_INTERVAL_SECONDS, self.outbox.flush)
        self._every(PURGE_INTERVAL_SECONDS, self._purge_projects)
        self._every(
            self.settings.credits_expiry_interval_seconds, self.credits_service().expire_due
        )
        if "jobs" in self._services:
            self.start_jobs()

    def start_jobs(self) -> None:
        """Start job recovery, and the in-process workers when there is no Redis queue."""
        from services.ai_job.queue import InProcessQueue
        from services.ai_job.worker import Worker
        from services.common.storage import storage_from_settings

        jobs = self.job_service()
        self._every(self.settings.reaper_interval_seconds, jobs.recover)
        if isinstance(jobs.queue, InProcessQueue) and self.settings.worker_concurrency:
            worker = Worker(self.settings, storage_from_settings(self.settings))
            self._workers.append(worker)
            jobs.queue.start(worker.run, self.settings.worker_concurrency)

    async def _purge_projects(self) -> None:
        from services.common.storage import storage_from_settings
        from services.project.purge import purge_projects

        await purge_projects(self.project_service(), storage_from_settings(self.settings))

    def _every(self, seconds: float, work: Callable[[], Awaitable[object]]) -> None:
        async def loop() -> None:
            while True:
                try:
                    await work()
                except Exception:  # a failed round is logged and retried next round
                    log.exception("background work failed")
                await asyncio.sleep(seconds)

        self._tasks.append(asyncio.get_running_loop().create_task(loop()))

    async def close(self) -> None:
        """Stop background work and release connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if "jobs" in self._services:
            jobs = self.job_service()
            await jobs.queue.close()
            await jobs.events.close()
        for worker in self._workers:
            await worker.close()
        for channel in self._channels.values():
            await channel.close(None)
        await self.database.dispose()

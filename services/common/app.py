"""The process's runtime: settings, database, tokens and the domains' facades, built once.

The App knows no domain. The composition root (services/bootstrap.py) hands it each domain's
providers, and a domain's facade is built on first use: `app.get(ProjectService)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar, cast

from services.common.auth import JwtAuthenticator, SessionCheck
from services.common.config import Settings
from services.common.db import Database
from services.common.mail import Outbox, transport_from_settings
from services.common.tokens import TokenCodec

log = logging.getLogger(__name__)

OUTBOX_INTERVAL_SECONDS = 30.0

T = TypeVar("T")
# Builds one shared object (a domain facade, a client) for an App, on first use.
Provider = Callable[["App"], object]


@dataclass
class App:
    """Everything a domain needs at run time, owned by the process that serves it."""

    settings: Settings
    database: Database
    tokens: TokenCodec
    outbox: Outbox
    providers: Mapping[type, Provider] = field(default_factory=dict)
    session_check_provider: Callable[[App], SessionCheck] | None = None
    _built: dict[type, object] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        settings: Settings,
        providers: Mapping[type, Provider] | None = None,
        session_check: Callable[[App], SessionCheck] | None = None,
    ) -> App:
        """Build the app's components from settings (nothing connects until used)."""
        database = Database.from_settings(settings)
        return cls(
            settings=settings,
            database=database,
            tokens=TokenCodec.from_settings(settings),
            outbox=Outbox(database, transport_from_settings(settings), settings.mail_from),
            providers=dict(providers or {}),
            session_check_provider=session_check,
        )

    def get(self, kind: type[T]) -> T:
        """Return the process's one instance of a provided type, building it on first use."""
        if kind not in self._built:
            provider = self.providers.get(kind)
            if provider is None:
                raise LookupError(f"no domain provides {kind.__name__}")
            self._built[kind] = provider(self)
        return cast(T, self._built[kind])

    def built(self, kind: type) -> bool:
        """Tell whether this process has built (and so serves or uses) a provided type."""
        return kind in self._built

    @cached_property
    def session_check(self) -> SessionCheck | None:
        """Return the live-session check for user tokens, when a domain provides one."""
        return self.session_check_provider(self) if self.session_check_provider else None

    @cached_property
    def authenticator(self) -> JwtAuthenticator:
        """Return the bearer-token authenticator every hosted RPC goes through."""
        return JwtAuthenticator(self.tokens, self.session_check)

    def start_background(self, starters: tuple[Callable[[App], None], ...] = ()) -> None:
        """Start the process's periodic work: mail retries, then each domain's own."""
        self.every(OUTBOX_INTERVAL_SECONDS, self.outbox.flush)
        for start in starters:
            start(self)

    def every(self, seconds: float, work: Callable[[], Awaitable[object]]) -> None:
        """Run `work` now and then every `seconds` until the app closes; failures are logged."""

        async def loop() -> None:
            while True:
                try:
                    await work()
                except Exception:  # a failed round is logged and retried next round
                    log.exception("background work failed")
                await asyncio.sleep(seconds)

        self._tasks.append(asyncio.get_running_loop().create_task(loop()))

    def on_close(self, closer: Callable[[], Awaitable[object]]) -> None:
        """Release something when the app closes (last registered, first closed)."""
        self._closers.append(closer)

    async def close(self) -> None:
        """Stop background work and release connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        while self._closers:
            await self._closers.pop()()
        await self.database.dispose()

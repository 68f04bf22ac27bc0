"""The composition root: settings, database and auth, built once and handed to servicers."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.auth import JwtAuthenticator
from services.common.config import Settings
from services.common.db import Database
from services.common.tokens import TokenCodec


@dataclass
class App:
    """Everything a domain needs at run time, owned by the process that serves it."""

    settings: Settings
    database: Database
    tokens: TokenCodec
    authenticator: JwtAuthenticator

    @classmethod
    def create(cls, settings: Settings) -> App:
        """Build the app's components from settings (nothing connects until used)."""
        tokens = TokenCodec.from_settings(settings)
        return cls(
            settings=settings,
            database=Database.from_settings(settings),
            tokens=tokens,
            authenticator=JwtAuthenticator(tokens),
        )

    async def close(self) -> None:
        """Release connections."""
        await self.database.dispose()

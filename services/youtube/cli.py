"""`filmstudio youtube rotate-keys`: re-encrypt stored YouTube tokens under the current key."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from sqlalchemy import select

from services.common.config import Settings
from services.common.db import Database
from services.common.tokens import TokenCodec
from services.youtube.connection import Connections
from services.youtube.google_api import GoogleApi
from services.youtube.models import YouTubeConnectionRow
from services.youtube.token_cipher import TokenCipher, TokenUnreadable

log = logging.getLogger(__name__)
KEY_PURPOSE = "youtube-token-key"


def cipher_for(settings: Settings, codec: TokenCodec) -> TokenCipher:
    """Return the token cipher a process uses (YOUTUBE_TOKEN_KEYS, else a derived dev key)."""
    return TokenCipher.from_settings(settings, codec.derived_key(KEY_PURPOSE))


def register(commands: Any) -> None:
    """Add the `youtube` command."""
    youtube = commands.add_parser("youtube", help="YouTube connection maintenance")
    actions = youtube.add_subparsers(dest="action", required=True)
    rotate = actions.add_parser(
        "rotate-keys",
        help="re-encrypt stored tokens with the first key of YOUTUBE_TOKEN_KEYS "
        "(run after putting a new key first; then the old key can be removed)",
    )
    rotate.set_defaults(handler=_rotate)


async def rotate_keys(database: Database, connections: Connections) -> tuple[int, int]:
    """Re-encrypt every connection not under the current key; return (rotated, unreadable)."""
    rotated = unreadable = 0
    async with database.session() as db:
        user_ids = list(await db.scalars(select(YouTubeConnectionRow.user_id)))
    for user_id in user_ids:
        async with database.session() as db, db.begin():
            row = await db.get(YouTubeConnectionRow, user_id, with_for_update=True)
            if row is None:
                continue
            try:
                rotated += await connections.rotate(db, row)
            except TokenUnreadable:
                unreadable += 1
                log.error("youtube token unreadable with every key", extra={"user_id": user_id})
    return rotated, unreadable


async def _run(settings: Settings) -> int:
    database = Database.from_settings(settings)
    try:
        cipher = cipher_for(settings, TokenCodec.from_settings(settings))
        rotated, unreadable = await rotate_keys(
            database, Connections(database, GoogleApi(settings), cipher)
        )
    finally:
        await database.dispose()
    log.info("youtube tokens rotated", extra={"rotated": rotated, "unreadable": unreadable})
    return 1 if unreadable else 0


def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(settings))

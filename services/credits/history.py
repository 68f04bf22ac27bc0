"""The history a user sees: their transactions, newest first, filtered, a page at a time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from services.common import errors
from services.common.db import Database
from services.common.pagination import PageTokens, page_size, query_key
from services.credits.ledger import peek
from services.credits.models import TransactionRow
from services.credits.records import KINDS, Transaction, from_row

DEFAULT_PAGE_SIZE = 50


async def page(
    db: Database,
    tokens: PageTokens,
    *,
    user_id: int,
    kind: str | None,
    start_time: datetime | None,
    end_time: datetime | None,
    size: int,
    page_token: str,
) -> tuple[list[Transaction], str]:
    """Return one page of a user's transactions and the token of the next ("" on the last)."""
    limit = page_size(size, default=DEFAULT_PAGE_SIZE)
    if kind is not None and kind not in KINDS:
        raise errors.InvalidArgument.field("kind", f"must be one of {', '.join(KINDS)}")
    key = query_key(list="credits", user=user_id, kind=kind, start=start_time, end=end_time)
    position = tokens.decode(page_token, key)
    query = select(TransactionRow).where(TransactionRow.user_id == user_id)
    if kind is not None:
        query = query.where(TransactionRow.kind == kind)
    if start_time is not None:
        query = query.where(TransactionRow.created_at >= start_time)
    if end_time is not None:
        query = query.where(TransactionRow.created_at < end_time)
    if position is not None:
        after = datetime.fromisoformat(str(position["t"]))
        query = query.where(
            (TransactionRow.created_at < after)
            | ((TransactionRow.created_at == after) & (TransactionRow.id < int(position["id"])))
        )
    query = query.order_by(TransactionRow.created_at.desc(), TransactionRow.id.desc())
    async with db.reader() as session:
        await peek(session, user_id)  # NOT_FOUND for an unknown user
        rows = list((await session.scalars(query.limit(limit + 1))).all())
    found, more = rows[:limit], len(rows) > limit
    token = (
        tokens.encode({"t": found[-1].created_at.isoformat(), "id": found[-1].id}, key)
        if more
        else ""
    )
    return [from_row(Transaction, row) for row in found], token

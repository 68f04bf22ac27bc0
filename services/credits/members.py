"""Who holds credits: the ledger's read-only view of the users table.

The user domain owns `users`; the ledger needs three of its columns (does the user exist, which
tier's allowance do they get, are they active) inside its own statements, under the wallet lock
and in the fast path's single statement. It names them here, as its foreign keys name
`users.id`, instead of importing the user domain's code: a contract on the schema, not on a
module. `ACTIVE` is the user domain's state of an account in good standing.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String, column, table

USERS = table(
    "users",
    column("id", BigInteger),
    column("tier", String),
    column("state", String),
)
ACTIVE = "active"

"""Idempotency keys: a digest of the first request's parameters, and the error for a reuse."""

from __future__ import annotations

import hashlib
import json

from services.common import errors


def fingerprint(operation: str, **parameters: object) -> str:
    """Return a digest of a request's parameters, to tell a replay from a reused key."""
    canonical = json.dumps([operation, parameters], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def reused_key(request_id: str) -> errors.FailedPrecondition:
    """Return the error for an idempotency key repeated with different parameters."""
    return errors.FailedPrecondition(
        f"request_id {request_id!r} was used before with different parameters",
        reason="IDEMPOTENCY_KEY_REUSED",
        metadata={"request_id": request_id},
        subject=request_id,
    )

"""Small conversions shared by the domains' proto mappers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from filmstudio.v1 import common_pb2
from google.protobuf import timestamp_pb2

from services.common import errors
from services.common.caller import caller_of
from services.common.context import Principal


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """Return a protobuf Timestamp for an aware datetime (None stays unset)."""
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def resource_id(name: str, collection: str, field: str = "name") -> int:
    """Parse "collection/123" into 123, or raise InvalidArgument naming the field."""
    prefix = f"{collection}/"
    raw = name[len(prefix) :] if name.startswith(prefix) else ""
    if not raw.isdigit() or len(raw) > 19 or int(raw) >= 2**63:
        raise errors.InvalidArgument.field(field, f"must look like {collection}/{{id}}")
    return int(raw)


def user_ref(name: str, principal: Principal, field: str = "name") -> int:
    """Resolve "users/me" or "users/{id}" to a user id the caller may act on.

    Who may act for whom is Caller.may_act_for; anyone else's account is NOT_FOUND so that ids
    reveal nothing.
    """
    if name in ("users/me", "me"):
        if principal.is_service or not principal.subject.isdigit():
            raise errors.InvalidArgument.field(field, "services must name the user")
        return int(principal.subject)
    user_id = resource_id(name, "users", field)
    if caller_of(principal).may_act_for(user_id):
        return user_id
    raise errors.NotFound(f"{name} not found")


# Turns an artifact's storage key into a URL its owner can fetch (presigned on S3).
Link = Callable[[str], str]


def artifact_message(artifact: Mapping[str, Any], link: Link | None = None) -> common_pb2.Artifact:
    """Return the proto of a stored artifact, with a download URL when a link maker is given."""
    message = common_pb2.Artifact(**artifact)
    if link is not None and message.key:
        message.download_url = link(message.key)
    return message

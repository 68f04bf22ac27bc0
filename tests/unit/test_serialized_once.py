"""A stream's messages are serialized once per message object, however many streams send it."""

from __future__ import annotations

import pytest
from filmstudio.v1 import ai_job_pb2

from services.common.interceptors import serialized_once


def test_one_object_is_serialized_once_for_every_stream_that_sends_it() -> None:
    made: list[ai_job_pb2.WatchJobResponse] = []

    def serialize(message: ai_job_pb2.WatchJobResponse) -> bytes:
        made.append(message)
        return message.SerializeToString()

    once = serialized_once(serialize)
    assert once is not None
    first = ai_job_pb2.WatchJobResponse()
    first.event.message = "rendering scene 1"
    second = ai_job_pb2.WatchJobResponse()
    second.event.message = "rendering scene 2"
    sent = [once(first) for _ in range(1000)]  # a thousand watchers of one event
    assert sent == [first.SerializeToString()] * 1000
    assert made == [first]
    assert once(second) == second.SerializeToString()  # the next event: its own bytes
    assert once(first) == first.SerializeToString()  # an equal answer after another one
    assert made == [first, second, first]


def test_a_failed_serialization_is_not_kept() -> None:
    calls = 0

    def flaky(message: object) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("not this time")
        return b"ok"

    once = serialized_once(flaky)
    assert once is not None
    message = object()
    with pytest.raises(ValueError, match="not this time"):
        once(message)
    assert once(message) == b"ok"
    assert calls == 2


def test_a_method_without_a_serializer_keeps_none() -> None:
    assert serialized_once(None) is None

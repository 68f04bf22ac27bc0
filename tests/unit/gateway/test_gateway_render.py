"""The cached renderer writes what protojson with EmitUnpopulated writes (grpc-gateway's default).

That is json_format's output with fields without presence included, plus unset singular
message fields (outside oneofs) as null.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from filmstudio.v1 import ai_job_pb2, project_pb2
from google.protobuf import json_format

from gateway.render import Renderer
from tests.support.gateway_backend import pb, sample_book


def _cases() -> list[object]:
    job = ai_job_pb2.Job(name="jobs/1", progress=12.5, cost_credits=2**40)
    job.result.update({"scenes": [{"n": 1}], "ok": True, "none": None})
    job.eta.FromSeconds(90)
    special = pb.Book(rating=math.nan, weight=math.inf, copies={-1: 0}, signed={"value": False})
    echo = pb.EchoResponse(request=pb.EchoRequest(choice_b=0, ratio=0.1, big=2**64 - 1))
    echo.request.anything.string_value = "x"
    echo.request.mask.paths.extend(["title", "author.display_name"])
    dated = project_pb2.Project(name="projects/2")
    dated.create_time.FromNanoseconds(1_700_000_000_123_456_789)
    return [
        sample_book("shelves/a/books/b"),
        pb.Book(),
        special,
        echo,
        project_pb2.GetProjectResponse(project=project_pb2.Project(name="projects/1")),
        project_pb2.GetProjectResponse(project=dated),
        project_pb2.ListProjectsResponse(),
        job,
        pb.Book(genre=99, other_genres=[1, 42]),
    ]


def _add_nulls(message: Any, out: dict[str, Any]) -> None:
    """Write unset singular message fields as null, as protojson's EmitUnpopulated does."""
    if message.DESCRIPTOR.full_name.startswith("google.protobuf."):
        return
    for field in message.DESCRIPTOR.fields:
        target = field.message_type
        if target is None or target.GetOptions().map_entry:
            continue
        if field.is_repeated:
            items = getattr(message, field.name)
            for item, written in zip(items, out[field.json_name], strict=True):
                _add_nulls(item, written)
        elif message.HasField(field.name):
            _add_nulls(getattr(message, field.name), out[field.json_name])
        elif field.containing_oneof is None:
            out[field.json_name] = None


@pytest.mark.parametrize("message", _cases(), ids=lambda m: type(m).__name__)
def test_renderer_matches_protojson_emit_unpopulated(message) -> None:
    expected = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    _add_nulls(message, expected)
    assert Renderer().to_json(message) == expected


def test_unset_messages_are_null_and_unset_oneofs_and_optionals_are_left_out() -> None:
    written = Renderer().to_json(pb.Book())
    assert written["author"] is None
    assert written["publishTime"] is None
    assert written["pageCount"] is None
    assert "inStock" not in written
    assert "edition" not in written


_INSTANTS = [
    (-62_135_596_800, 0),  # 0001-01-01T00:00:00Z, the first instant proto3 JSON can write
    (253_402_300_799, 999_999_999),  # the last
    (-1, 1),
    (0, 0),
    (951_782_400, 5_000_000),  # a leap day, to the millisecond
    (1_796_285_736, 331_309_000),  # to the microsecond
    (1_700_000_000, 123_456_789),  # to the nanosecond
]


@pytest.mark.parametrize(("seconds", "nanos"), _INSTANTS)
def test_timestamps_are_written_as_protobuf_writes_them(seconds: int, nanos: int) -> None:
    project = project_pb2.Project()
    project.create_time.seconds, project.create_time.nanos = seconds, nanos
    assert Renderer().to_json(project)["createTime"] == project.create_time.ToJsonString()


@pytest.mark.parametrize(
    ("seconds", "nanos"), [(-62_135_596_801, 0), (253_402_300_800, 0), (0, -1), (0, 10**9)]
)
def test_timestamps_out_of_range_fail_as_protobuf_fails(seconds: int, nanos: int) -> None:
    project = project_pb2.Project()
    project.create_time.seconds, project.create_time.nanos = seconds, nanos
    with pytest.raises(ValueError, match="Timestamp is not valid") as protobuf_error:
        project.create_time.ToJsonString()
    with pytest.raises(ValueError, match="Timestamp is not valid") as ours:
        Renderer().to_json(project)
    assert str(ours.value) == str(protobuf_error.value)


@pytest.mark.parametrize("message", _cases(), ids=lambda m: type(m).__name__)
def test_a_type_written_again_from_its_kept_plan_writes_the_same_in_field_order(message) -> None:
    renderer = Renderer()
    first, again = renderer.to_json(message), renderer.to_json(message)
    order = [f.json_name for f in message.DESCRIPTOR.fields if f.json_name in again]
    assert list(again) == list(first) == order  # declaration order, set oneofs included
    assert again == first


def test_instants_written_again_are_still_each_their_own() -> None:
    renderer, project = Renderer(), project_pb2.Project()
    for _ in range(2):
        for seconds, nanos in _INSTANTS:
            project.create_time.seconds, project.create_time.nanos = seconds, nanos
            assert renderer.to_json(project)["createTime"] == project.create_time.ToJsonString()

"""Splitting a request stream into JSON values, and the update mask derived from a PATCH body."""

from __future__ import annotations

import pytest

from gateway.errors import GatewayError
from gateway.fieldmask import mask_from_body
from gateway.jsonpb import FieldError
from gateway.requeststream import split_values
from tests.support.gateway_backend import pb


def test_values_back_to_back_split_with_or_without_whitespace() -> None:
    assert split_values('{"a":1}{"b":2} \n{"c":3}', final=False) == (
        [{"a": 1}, {"b": 2}, {"c": 3}],
        "",
    )


@pytest.mark.parametrize("cut", ['{"a":1', '{"a":"x', '{"a":tr', '{"a":1.'])
def test_a_value_cut_short_waits_for_more_until_the_end(cut: str) -> None:
    assert split_values('{"z":0}' + cut, final=False) == ([{"z": 0}], cut)
    with pytest.raises(GatewayError):
        split_values(cut, final=True)


def test_a_number_at_the_end_waits_as_it_may_go_on() -> None:
    assert split_values("{}12", final=False) == ([{}], "12")
    assert split_values("12", final=True) == ([12], "")


def test_a_value_wrong_before_the_end_fails_at_once() -> None:
    with pytest.raises(GatewayError):
        split_values('{"a": nope} {"b": 1} {"c": 2} {"d": 3}', final=False)


def test_the_mask_follows_nested_messages_and_stops_at_lists_maps_and_structs() -> None:
    body = {
        "title": "T",
        "author": {"displayName": "A", "address": {"city": "C"}},
        "chapters": [{"title": "x"}],
        "labels": {"k": "v"},
        "metadata": {"a": {"b": [1]}, "c": 1},
        "publishTime": None,
    }
    assert mask_from_body(body, pb.Book.DESCRIPTOR) == [
        "author.address.city",
        "author.display_name",
        "chapters",
        "labels",
        "metadata.a.b",
        "metadata.c",
        "publish_time",
        "title",
    ]
    assert mask_from_body({"author": {}}, pb.Book.DESCRIPTOR) == ["author"]
    assert mask_from_body(None, pb.Book.DESCRIPTOR) == []


@pytest.mark.parametrize("body", [{"bogus": 1}, {"title": {"x": 1}}])
def test_the_mask_refuses_what_does_not_map_to_fields(body: object) -> None:
    with pytest.raises(FieldError):
        mask_from_body(body, pb.Book.DESCRIPTOR)

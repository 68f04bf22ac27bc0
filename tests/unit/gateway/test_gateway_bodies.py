"""Unary answers' JSON bodies are written once per distinct answer and binding, within a budget."""

from __future__ import annotations

import json

from gateway.bodies import LARGEST_KEPT_BYTES, JsonBodies
from gateway.render import Renderer
from gateway.routing import Router, bindings_for
from gateway.transcode import dumps, render
from tests.support.gateway_backend import pb, sample_book

ROUTER = Router(bindings_for(pb.DESCRIPTOR.services_by_name.values()))
WHOLE, _ = ROUTER.match("POST", "/v1/echo")
BOOK_ONLY, _ = ROUTER.match("POST", "/v1/echo:book")


def _answer(title: str = "Dune") -> pb.EchoResponse:
    book = sample_book("shelves/a/books/b")
    book.title = title
    return pb.EchoResponse(book=book)


def test_an_answer_is_written_once_and_as_render_writes_it() -> None:
    bodies = JsonBodies(Renderer())
    first = bodies.body(WHOLE, _answer())
    assert first == dumps(render(WHOLE, _answer(), Renderer()))
    assert bodies.body(WHOLE, _answer()) is first  # an equal answer, parsed anew: kept
    assert len(bodies) == 1


def test_a_different_answer_or_response_body_is_written_for_itself() -> None:
    bodies = JsonBodies(Renderer())
    whole = json.loads(bodies.body(WHOLE, _answer()))
    other = json.loads(bodies.body(WHOLE, _answer("Emma")))
    book = json.loads(bodies.body(BOOK_ONLY, _answer()))
    assert (whole["book"]["title"], other["book"]["title"], book["title"]) == (
        "Dune",
        "Emma",
        "Dune",
    )
    assert "book" not in book
    assert len(bodies) == 3


def test_maps_in_any_order_are_one_answer() -> None:
    bodies = JsonBodies(Renderer())
    one, two = _answer(), _answer()
    one.book.labels.clear()
    two.book.labels.clear()
    one.book.labels.update({"a": "1", "b": "2"})
    two.book.labels.update({"b": "2", "a": "1"})
    assert bodies.body(WHOLE, one) is bodies.body(WHOLE, two)


def test_a_full_budget_starts_again_and_large_answers_are_not_kept() -> None:
    size = len(_answer().SerializeToString()) + len(dumps(render(WHOLE, _answer(), Renderer())))
    bodies = JsonBodies(Renderer(), budget_bytes=size * 2 + size // 2)
    for title in ("a", "b"):
        bodies.body(WHOLE, _answer(title))
    assert len(bodies) == 2
    third = bodies.body(WHOLE, _answer("c"))
    assert len(bodies) == 1  # the budget was full: dropped together, the new one kept
    assert json.loads(third)["book"]["title"] == "c"

    large = _answer("x" * (LARGEST_KEPT_BYTES + 1))
    written = bodies.body(WHOLE, large)
    assert json.loads(written)["book"]["title"] == "x" * (LARGEST_KEPT_BYTES + 1)
    assert len(bodies) == 1


def test_the_bytes_as_received_are_the_key_when_given() -> None:
    bodies = JsonBodies(Renderer())
    wire = _answer().SerializeToString()
    received = bodies.body(WHOLE, pb.EchoResponse.FromString(wire), wire)
    # As values: a parsed message may list a map's keys in another order than the one built.
    assert json.loads(received) == json.loads(dumps(render(WHOLE, _answer(), Renderer())))
    assert bodies.body(WHOLE, pb.EchoResponse.FromString(wire), bytes(wire)) is received

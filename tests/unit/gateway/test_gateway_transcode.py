"""Requests are built from body, query and path as grpc-gateway does; responses rendered."""

from __future__ import annotations

import json

import pytest

from gateway.errors import GatewayError
from gateway.jsonpb import FieldError, parse_message
from gateway.render import Renderer
from gateway.routing import Router, bindings_for
from gateway.transcode import build_request, render
from tests.support.gateway_backend import pb, sample_book

ROUTER = Router(bindings_for(pb.DESCRIPTOR.services_by_name.values()))
RENDERER = Renderer()


def _build(verb: str, path: str, query=(), body: object = None):
    binding, variables = ROUTER.match(verb, path)
    raw = b"" if body is None else json.dumps(body).encode()
    request = binding.method.input_type
    from google.protobuf import message_factory

    message = message_factory.GetMessageClass(request)()
    return binding, build_request(binding, message, variables, list(query), raw)


def _violation(error: GatewayError) -> str:
    detail = error.status.details[0]
    from google.rpc import error_details_pb2

    bad = error_details_pb2.BadRequest()
    detail.Unpack(bad)
    return bad.field_violations[0].field


def test_body_star_fills_the_request_and_path_variables_win() -> None:
    _, request = _build(
        "POST", "/v1/books:create", body={"parent": "shelves/a", "book": {"title": "T"}}
    )
    assert (request.parent, request.book.title) == ("shelves/a", "T")
    _, patched = _build("PATCH", "/v1/shelves/a/books/b", body={"name": "x", "title": "T"})
    assert patched.book.name == "shelves/a/books/b"


def test_query_parameters_are_refused_when_the_body_carries_everything() -> None:
    with pytest.raises(GatewayError) as error:
        _build("POST", "/v1/books:create", query=[("requestId", "x")], body={})
    assert _violation(error.value) == "requestId"


def test_query_parameters_accept_proto_and_json_names_nested_and_repeated() -> None:
    _, request = _build(
        "GET",
        "/v1/shelves/a/books",
        query=[
            ("page_size", "3"),
            ("filter.author.display_name", "x"),
            ("filter.minPages", "7"),
            ("genres", "GENRE_FICTION"),
            ("genres", "3"),
            ("showDeleted", "false"),
        ],
    )
    assert request.page_size == 3
    assert request.filter.author.display_name == "x"
    assert request.filter.min_pages.value == 7
    assert list(request.genres) == [1, 3]
    assert request.show_deleted is False


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ([("pageSize", "1"), ("pageSize", "2")], "pageSize"),
        ([("books.title", "x")], "books.title"),
        ([("filter.publishedAfter.seconds", "1")], "filter.publishedAfter.seconds"),
        ([("labels[a", "b")], "labels[a"),
        ([("pageSize[x]", "1")], "pageSize[x]"),
    ],
)
def test_query_parameters_that_cannot_bind_are_refused(query, field) -> None:
    with pytest.raises(GatewayError) as error:
        _build("GET", "/v1/shelves/a/books", query=query)
    assert _violation(error.value) == field


def test_json_parsing_reports_the_full_field_path() -> None:
    message = pb.Book()
    with pytest.raises(FieldError) as error:
        parse_message({"chapters": [{}, {"pages": "x"}]}, message)
    assert error.value.field == "chapters[1].pages"
    with pytest.raises(FieldError) as twice:
        parse_message({"page_count": 1, "pageCount": 2}, pb.Book())
    assert twice.value.field == "page_count"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ({"edition": 2147483647}, True),
        ({"edition": 2147483648}, False),
        ({"edition": 1.0}, True),
        ({"edition": 1.5}, False),
        ({"edition": True}, False),
        ({"edition": "1e3"}, True),
        ({"isbn": "-9223372036854775808"}, True),
        ({"rating": "Infinity"}, True),
        ({"rating": "inf"}, False),
        ({"cover": "!!"}, False),
        ({"signed": None}, True),
        ({"metadata": {"a": None}}, True),
        ({"copies": {"x": 1}}, False),
        ({"author": []}, False),
    ],
)
def test_scalar_rules_follow_proto3_json(value, ok: bool) -> None:
    if ok:
        parse_message(value, pb.Book())
    else:
        with pytest.raises(FieldError):
            parse_message(value, pb.Book())


def test_render_honours_response_body_and_prints_unpopulated_fields() -> None:
    binding, _ = ROUTER.match("GET", "/v1/shelves/a")
    response = pb.GetShelfResponse(shelf=pb.Shelf(name="shelves/a"), etag="x")
    assert render(binding, response, RENDERER) == {
        "name": "shelves/a",
        "theme": "",
        "bookCount": "0",
    }
    book_binding, _ = ROUTER.match("GET", "/v1/shelves/a/books/b")
    rendered = render(book_binding, sample_book("shelves/a/books/b"), RENDERER)
    assert rendered["otherGenres"] == ["GENRE_POETRY"]
    assert rendered["subtitle"] == "Book One"


def test_two_members_of_a_oneof_in_the_query_are_refused() -> None:
    with pytest.raises(GatewayError) as error:
        _build("GET", "/v1/echo", query=[("choiceA", "x"), ("choiceB", "1")])
    assert _violation(error.value) == "choiceB"
    _, request = _build("GET", "/v1/echo", query=[("choiceB", "1"), ("book.edition", "2")])
    assert (request.choice_b, request.book.edition) == (1, 2)


MEMO_CASES = [
    ("/v1/shelves/a/books", [("page_size", "3"), ("filter.minPages", "7"), ("genres", "3")]),
    ("/v1/shelves/a/books", [("pageSize", "0"), ("showDeleted", "true")]),
    ("/v1/shelves/a/books", [("pageSize", "1"), ("pageSize", "2")]),  # an error
    ("/v1/shelves/a/books", [("parent", "shelves/z")]),  # bound by the path
    ("/v1/echo", [("choiceB", "0"), ("book.edition", "2")]),  # a oneof member at its default
    ("/v1/echo", [("choiceA", "x"), ("choiceB", "1")]),  # an error
    ("/v1/echo", [("number", "7"), ("numbers", "1"), ("numbers", "2"), ("genre", "1")]),
]


@pytest.mark.parametrize(("path", "query"), MEMO_CASES)
@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
def test_the_query_memo_builds_what_the_query_walk_builds(path, query, strict) -> None:
    from google.protobuf import message_factory

    from gateway.transcode import QueryMemo

    binding, variables = ROUTER.match("GET", path)
    memo = QueryMemo()

    def built(queries: QueryMemo | None) -> object:
        message = message_factory.GetMessageClass(binding.method.input_type)()
        try:
            request = build_request(
                binding, message, dict(variables), query, b"", strict=strict, queries=queries
            )
        except GatewayError as error:
            return _violation(error), error.status.message
        return request.SerializeToString(deterministic=True), request.ListFields()

    walked = built(None)
    assert built(memo) == walked  # worked out and kept
    assert built(memo) == walked  # taken from the memo

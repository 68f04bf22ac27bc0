"""Input as grpc-gateway takes it by default, on both upstream clients; strict_input refuses it.

Unknown body fields and query keys are ignored, the path wins over a query value for the same
field, a `body: "*"` route ignores its query, and a Grpc-Metadata-* header with a bad key or a
non-ASCII value is skipped. A PATCH without an update mask gets the body's fields as its mask.
"""

from __future__ import annotations

import json

import pytest


async def test_unknown_body_fields_are_ignored(both) -> None:
    body = {"title": "Dune", "bogus": 1, "author": {"displayName": "F", "nope": [1]}}
    response = await both.client.post("/v1/shelves/s1/books", json=body)
    assert response.status_code == 200, response.text
    book = both.backend.calls.requests["CreateBook"].book
    assert (book.title, book.author.display_name) == ("Dune", "F")


async def test_unknown_query_keys_and_path_bound_values_are_ignored(both) -> None:
    query = {"unknown": "1", "a[b": "2", "parent": "shelves/other", "pageSize": "3"}
    response = await both.client.get("/v1/shelves/s1/books", params=query)
    assert response.status_code == 200, response.text
    seen = both.backend.calls.requests["ListBooks"]
    # The path wins over the query for the field it binds, as grpc-gateway's filter has it.
    assert (seen.parent, seen.page_size) == ("shelves/s1", 3)


async def test_a_query_value_for_the_body_field_is_ignored(both) -> None:
    response = await both.client.post(
        "/v1/shelves/s1/books", params={"book.title": "Query"}, json={"title": "Body"}
    )
    assert response.status_code == 200, response.text
    assert both.backend.calls.requests["CreateBook"].book.title == "Body"


async def test_the_query_of_a_body_star_route_is_ignored(both) -> None:
    response = await both.client.post("/v1/echo", params={"text": "query"}, json={"number": 2})
    assert response.status_code == 200, response.text
    assert both.backend.calls.requests["Echo"].text == ""


async def test_bad_metadata_headers_are_skipped(both) -> None:
    headers = [
        ("Grpc-Metadata-Grpc-Timeout", "1S"),
        ("Grpc-Metadata-Bad!Key", "x"),
        ("Grpc-Metadata-X-Latin", "caf\xe9".encode("latin-1")),
        ("Grpc-Metadata-X-Good", "kept"),
    ]
    response = await both.client.get("/v1/inspect", headers=headers)
    assert response.status_code == 200, response.text
    seen = response.json()["metadata"]
    assert seen["x-good"] == "kept"
    assert "x-latin" not in seen
    assert "bad!key" not in seen
    # Bad base64 in a -bin header stays a 400, as grpc-gateway's decodeBinHeader fails it.
    bad_bin = await both.client.get("/v1/inspect", headers={"Grpc-Metadata-X-Bin": "%%%"})
    assert bad_bin.status_code == 400


async def test_malformed_values_are_still_400(both) -> None:
    response = await both.client.get("/v1/shelves/s1/books", params={"pageSize": "ten"})
    assert response.status_code == 400
    response = await both.client.post("/v1/shelves/s1/books", json={"title": 5})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        ({"params": {"unknown": "1"}}, 400),
        ({"headers": {"Grpc-Metadata-Grpc-Timeout": "1S"}}, 400),
    ],
)
async def test_strict_input_refuses_what_the_default_ignores(strict, request_args, status) -> None:
    response = await strict.client.get("/v1/inspect", **request_args)
    assert response.status_code == status, response.text
    echo = await strict.client.post("/v1/echo", params={"text": "q"}, json={"number": 2})
    assert echo.status_code == 400


async def test_a_patch_without_a_mask_gets_the_body_fields_as_its_mask(both) -> None:
    body = {
        "title": "New",
        "author": {"displayName": "A", "address": {"city": "Paris"}},
        "tags": ["x"],
        "labels": {"k": "v"},
        "metadata": {"a": {"b": 1}, "c": [1, 2]},
        "publishTime": "2020-01-01T00:00:00Z",
        "pageCount": None,
    }
    response = await both.client.patch("/v1/shelves/s1/books/b1", json=body)
    assert response.status_code == 200, response.text
    seen = both.backend.calls.requests["UpdateBook"]
    assert list(seen.update_mask.paths) == [
        "author.address.city",
        "author.display_name",
        "labels",
        "metadata.a.b",
        "metadata.c",
        "page_count",
        "publish_time",
        "tags",
        "title",
    ]
    assert seen.book.name == "shelves/s1/books/b1"


async def test_a_patch_with_a_mask_keeps_it(both) -> None:
    response = await both.client.patch(
        "/v1/shelves/s1/books/b1", params={"updateMask": "title"}, json={"title": "T", "isbn": 1}
    )
    assert response.status_code == 200, response.text
    assert list(both.backend.calls.requests["UpdateBook"].update_mask.paths) == ["title"]


async def test_a_patch_with_an_unknown_field_is_400_as_grpc_gateway(both) -> None:
    # FieldMaskFromRequestBody cannot map the field to a path: grpc-gateway refuses it too.
    response = await both.client.patch(
        "/v1/shelves/s1/books/b1", content=json.dumps({"bogus": 1}).encode()
    )
    assert response.status_code == 400, response.text


async def test_an_empty_patch_sends_an_empty_mask(both) -> None:
    response = await both.client.patch("/v1/shelves/s1/books/b1", content=b"")
    assert response.status_code == 200, response.text
    assert list(both.backend.calls.requests["UpdateBook"].update_mask.paths) == []

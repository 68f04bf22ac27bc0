"""Every HTTP mapping feature, over real HTTP to a real gRPC backend."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from tests.support.gateway_backend import pb


async def test_path_variable_with_template_and_response_body(live) -> None:
    response = await live.client.get("/v1/shelves/s1")
    assert response.status_code == 200
    # response_body: the shelf alone; int64 as a string; the etag field is not sent.
    assert response.json() == {
        "name": "shelves/s1",
        "theme": "science fiction",
        "bookCount": "1099511627776",
    }


async def test_two_level_resource_name_binds_one_field(live) -> None:
    response = await live.client.get("/v1/shelves/s1/books/b%2F2", params={"readMask": "title"})
    assert response.status_code == 200
    assert live.backend.calls.requests["GetBook"].name == "shelves/s1/books/b/2"
    assert list(live.backend.calls.requests["GetBook"].read_mask.paths) == ["title"]


async def test_response_is_proto3_json_with_every_kind_of_field(live) -> None:
    book = (await live.client.get("/v1/shelves/s1/books/b1")).json()
    assert book["genre"] == "GENRE_FICTION"
    assert book["publishTime"] == "1965-08-04T00:00:00Z"
    assert book["readTime"] == "36000.500s"
    assert book["pageCount"] == 412
    assert book["isbn"] == "9780441013593"
    assert book["cover"] == base64.b64encode(b"\x89PNG").decode()
    assert book["copies"] == {"1": "3", "2": "18446744073709551615"}
    assert book["metadata"] == {"awards": ["Hugo", "Nebula"], "year": 1965.0}
    assert book["inStock"] is True
    assert "outOfStockReason" not in book
    assert book["author"]["address"] == {"city": "Tacoma", "country": "US"}
    # Unpopulated scalars and lists are written, as grpc-gateway does.
    assert book["firstEdition"] is False
    assert book["edition"] == 1


async def test_every_unbound_field_is_a_query_parameter(live) -> None:
    query = [
        ("pageSize", "5"),
        ("page_token", "tok"),
        ("filter.genre", "GENRE_POETRY"),
        ("filter.tags", "a"),
        ("filter.tags", "b"),
        ("filter.publishedAfter", "2020-01-02T03:04:05Z"),
        ("filter.minPages", "100"),
        ("filter.inStock", "true"),
        ("filter.author.displayName", "Le Guin"),
        ("genres", "GENRE_FICTION"),
        ("genres", "2"),
        ("minRating", "3.5"),
        ("maxIsbn", "18446744073709551615"),
        ("showDeleted", "1"),
        ("labels[lang]", "en"),
        ("labels[tier]", "gold"),
        ("readMask", "title,author.displayName"),
        ("maxAge", "1.5s"),
        ("cursor", base64.b64encode(b"\xff\x00").decode()),
    ]
    response = await live.client.get("/v1/shelves/s9/books", params=query)
    assert response.status_code == 200, response.text
    seen = live.backend.calls.requests["ListBooks"]
    assert seen.parent == "shelves/s9"
    assert (seen.page_size, seen.page_token) == (5, "tok")
    assert seen.filter.genre == pb.GENRE_POETRY
    assert list(seen.filter.tags) == ["a", "b"]
    assert seen.filter.published_after.ToJsonString() == "2020-01-02T03:04:05Z"
    assert seen.filter.min_pages.value == 100
    assert seen.filter.in_stock is True
    assert seen.filter.author.display_name == "Le Guin"
    assert list(seen.genres) == [pb.GENRE_FICTION, pb.GENRE_NONFICTION]
    assert seen.min_rating == 3.5
    assert seen.max_isbn == 2**64 - 1
    assert seen.show_deleted is True
    assert dict(seen.labels) == {"lang": "en", "tier": "gold"}
    assert list(seen.read_mask.paths) == ["title", "author.display_name"]
    assert seen.max_age.ToMilliseconds() == 1500
    assert seen.cursor == b"\xff\x00"
    # The response echoes the request back as JSON.
    assert response.json()["request"]["labels"] == {"lang": "en", "tier": "gold"}


async def test_body_field_binds_one_field_and_the_rest_come_from_the_query(live) -> None:
    response = await live.client.post(
        "/v1/shelves/s1/books",
        params={"requestId": "r-1"},
        json={"title": "Kindred", "genre": "GENRE_FICTION", "labels": {"a": "b"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "shelves/s1/books/generated"
    seen = live.backend.calls.requests["CreateBook"]
    assert (seen.parent, seen.request_id, seen.book.title) == ("shelves/s1", "r-1", "Kindred")


async def test_additional_bindings_reach_the_same_rpc(live) -> None:
    put = await live.client.put("/v1/shelves/s2/books/kin", json={"title": "Kindred"})
    assert put.status_code == 200
    assert put.json()["name"] == "shelves/s2/books/kin"
    star = await live.client.post(
        "/v1/books:create",
        json={"parent": "shelves/s3", "bookId": "x", "book": {"title": "T"}, "requestId": "q"},
    )
    assert star.status_code == 200
    assert star.json()["name"] == "shelves/s3/books/x"
    assert live.backend.calls.requests["CreateBook"].request_id == "q"


async def test_nested_path_variable_wins_over_the_body(live) -> None:
    response = await live.client.patch(
        "/v1/shelves/s1/books/b1",
        params={"updateMask": "title,pageCount"},
        json={"name": "shelves/evil/books/x", "title": "New", "pageCount": 10},
    )
    assert response.status_code == 200
    seen = live.backend.calls.requests["UpdateBook"]
    assert seen.book.name == "shelves/s1/books/b1"
    assert list(seen.update_mask.paths) == ["title", "page_count"]
    assert response.json()["pageCount"] == 10


async def test_delete_returns_an_empty_object(live) -> None:
    response = await live.client.delete("/v1/shelves/s1/books/b1")
    assert (response.status_code, response.json()) == (200, {})


async def test_well_known_types_oneofs_and_scalars_round_trip(live) -> None:
    sent = {
        "book": {"title": "T", "outOfStockReason": "lost", "metadata": {"k": [1, "two", None]}},
        "text": "héllo ✓",
        "number": -7,
        "numbers": ["9007199254740993", 2],
        "mask": "title,author.displayName",
        "when": "2024-02-29T12:00:00.250Z",
        "wait": "-0.5s",
        "flag": False,
        "anything": {"nested": [True, 1.5]},
        "genre": 3,
        "choiceB": 4,
        "ratio": "NaN",
        "blob": "_-8=",
        "big": "18446744073709551615",
    }
    response = await live.client.post("/v1/echo", json=sent)
    assert response.status_code == 200, response.text
    echoed = response.json()["request"]
    assert echoed["numbers"] == ["9007199254740993", "2"]
    assert echoed["when"] == "2024-02-29T12:00:00.250Z"
    assert echoed["wait"] == "-0.500s"
    assert echoed["flag"] is False
    assert echoed["anything"] == {"nested": [True, 1.5]}
    assert echoed["genre"] == "GENRE_POETRY"
    assert echoed["choiceB"] == 4
    assert "choiceA" not in echoed
    assert echoed["ratio"] == "NaN"
    assert base64.b64decode(echoed["blob"]) == b"\xff\xef"
    assert echoed["big"] == "18446744073709551615"
    assert echoed["book"]["metadata"] == {"k": [1.0, "two", None]}
    assert echoed["book"]["outOfStockReason"] == "lost"


async def test_body_with_proto_field_names_is_accepted(live) -> None:
    response = await live.client.post("/v1/echo", json={"book": {"page_count": 3}, "choice_a": "x"})
    assert response.status_code == 200
    assert response.json()["request"]["book"]["pageCount"] == 3


async def test_query_only_and_catch_all_bindings(live) -> None:
    query = await live.client.get("/v1/echo", params={"text": "q", "when": "2020-01-01T00:00:00Z"})
    assert query.json()["request"]["text"] == "q"
    deep = await live.client.get("/v1/echo/shelves/a/books/b")
    assert deep.json()["request"]["book"]["name"] == "shelves/a/books/b"


async def test_response_body_on_an_additional_binding(live) -> None:
    response = await live.client.post("/v1/echo:book", json={"title": "only the book"})
    assert response.json()["title"] == "only the book"
    assert "request" not in response.json()


def _violation(response) -> tuple[str, str]:
    body = response.json()
    assert body["code"] == 3
    (detail,) = [d for d in body["details"] if d["@type"].endswith("google.rpc.BadRequest")]
    violation = detail["fieldViolations"][0]
    return violation["field"], violation["description"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "x", "bogus": 1}, "book.bogus"),
        ({"author": {"displayName": "a", "nope": 2}}, "book.author.nope"),
        ({"chapters": [{"title": "a"}, {"pages": -1}]}, "book.chapters[1].pages"),
        ({"genre": "GENRE_UNKNOWN"}, "book.genre"),
        ({"isbn": "12ab"}, "book.isbn"),
        ({"publishTime": "yesterday"}, "book.publish_time"),
        ({"inStock": True, "outOfStockReason": "x"}, "book.out_of_stock_reason"),
        ({"tags": "not-a-list"}, "book.tags"),
        ({"title": 5}, "book.title"),
        ({"title": "\ud800"}, "book.title"),
        ({"weight": 1e300}, "book.weight"),
        ({"copies": {"one": "1"}}, "book.copies['one']"),
    ],
)
async def test_unknown_and_malformed_body_fields_are_400_naming_the_field(
    strict, payload, field
) -> None:
    # Strict input: unknown fields are refused too (tests/.../test_gateway_lenient_input.py
    # has the default, grpc-gateway's, which ignores them).
    # json.dumps escapes the lone surrogate as \ud800, as a hostile client would send it.
    body = json.dumps(payload).encode()
    response = await strict.client.post(
        "/v1/shelves/s1/books", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert _violation(response)[0] == field


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"pageSize": "ten"}, "pageSize"),
        ({"pageSize": "99999999999"}, "pageSize"),
        ({"genres": "GENRE_NOPE"}, "genres"),
        ({"showDeleted": "maybe"}, "showDeleted"),
        ({"unknown": "1"}, "unknown"),
        ({"parent": "shelves/x"}, "parent"),
        ({"filter": "x"}, "filter"),
        ({"labels": "x"}, "labels"),
        ({"filter.publishedAfter": "noon"}, "filter.publishedAfter"),
    ],
)
async def test_bad_query_parameters_are_400_naming_the_parameter(strict, query, field) -> None:
    # Strict input: unknown and path-bound keys are refused too.
    response = await strict.client.get("/v1/shelves/s1/books", params=query)
    assert response.status_code == 400, response.text
    assert _violation(response)[0] == field


async def test_a_body_that_is_not_json_is_400(live) -> None:
    response = await live.client.post(
        "/v1/echo", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldViolations"][0]["reason"] == "INVALID_JSON"


async def test_a_non_json_content_type_is_415(live) -> None:
    response = await live.client.post(
        "/v1/echo", content=b"a=b", headers={"content-type": "text/csv"}
    )
    assert response.status_code == 415
    assert response.json()["code"] == 3


async def test_bodies_over_the_limit_are_413(live) -> None:
    response = await live.client.post("/v1/echo", json={"text": "x" * 70_000})
    assert response.status_code == 413
    assert response.json()["code"] == 8


async def test_gzip_request_bodies_are_accepted_and_bombs_refused(live) -> None:
    plain = json.dumps({"text": "zipped"}).encode()
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    response = await live.client.post("/v1/echo", content=gzip.compress(plain), headers=headers)
    assert response.json()["request"]["text"] == "zipped"
    bomb = gzip.compress(json.dumps({"text": "a" * 1_000_000}).encode())
    assert len(bomb) < 64 * 1024
    refused = await live.client.post("/v1/echo", content=bomb, headers=headers)
    assert refused.status_code == 413


async def test_large_responses_are_gzipped_when_the_client_accepts_it(live) -> None:
    response = await live.client.get("/v1/shelves/s1/books", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["books"][0]["title"] == "Dune"  # httpx decompresses
    small = await live.client.get("/v1/shelves/s1", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers

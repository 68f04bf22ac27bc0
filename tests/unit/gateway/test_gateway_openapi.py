"""OpenAPI 3.1 from the descriptors: paths, parameters, schemas that match what we send."""

from __future__ import annotations

import jsonschema_rs
import pytest
from google.protobuf import descriptor_pool

from gateway.app import Gateway
from gateway.filmstudio import filmstudio_config
from gateway.render import Renderer
from gateway.routing import Router, bindings_for
from gateway.transcode import render
from services.common.config import Settings
from tests.support.gateway_backend import pb, sample_book
from tests.support.gateway_harness import gateway_test_config


@pytest.fixture(scope="module")
def spec() -> dict:
    return Gateway(gateway_test_config("127.0.0.1:1")).openapi


def _validator(spec: dict, name: str):
    root = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return jsonschema_rs.Draft202012Validator(root)


def test_templates_become_paths_with_named_id_parameters(spec) -> None:
    assert set(spec["paths"]) == {
        "/v1/shelves/{shelvesId}",
        "/v1/shelves/{shelvesId}/books",
        "/v1/shelves/{shelvesId}/books/{booksId}",
        "/v1/books:create",
        "/v1/shelves/{shelvesId}:watch",
        "/v1/chat",
        "/v1/echo",
        "/v1/echo:book",
        "/v1/echo/{namePath}",
        "/v1/fail",
        "/v1/inspect",
        "/v1/sleep",
        "/v1/bind/{uuid}:custom:custom",
        "/v1/bind/ids/{ids}/genres/{genres}",
        "/v1/download/{name}",
        "/v1/download/{name}:stream",
        "/v1/shout",
        "/v1/collect",
    }
    book = spec["paths"]["/v1/shelves/{shelvesId}/books/{booksId}"]
    assert set(book) == {"get", "put", "patch", "delete"}
    names = [p["name"] for p in book["get"]["parameters"] if p["in"] == "path"]
    assert names == ["shelvesId", "booksId"]


def test_unbound_fields_are_query_parameters_nested_repeated_and_maps(spec) -> None:
    op = spec["paths"]["/v1/shelves/{shelvesId}/books"]["get"]
    query = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
    assert "parent" not in query
    assert {"pageSize", "filter.genre", "filter.tags", "filter.author.displayName"} <= set(query)
    assert query["genres"]["schema"]["items"]["enum"][1] == "GENRE_FICTION"
    assert query["labels"]["style"] == "deepObject"
    assert query["filter.publishedAfter"]["schema"] == {
        "$ref": "#/components/schemas/google.protobuf.Timestamp"
    }
    assert query["pageSize"]["description"] == "The maximum number of books."


def test_bodies_follow_the_rule(spec) -> None:
    create = spec["paths"]["/v1/shelves/{shelvesId}/books"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"] == "#/components/schemas/gatewaytest.v1.Book"
    star = spec["paths"]["/v1/books:create"]["post"]["requestBody"]["content"]
    assert set(star["application/json"]["schema"]["properties"]) == {
        "parent",
        "bookId",
        "book",
        "requestId",
    }
    assert "requestBody" not in spec["paths"]["/v1/shelves/{shelvesId}"]["get"]


def test_access_option_marks_operations_that_need_a_bearer_token(spec) -> None:
    paths = spec["paths"]
    assert paths["/v1/shelves/{shelvesId}"]["get"]["security"] == []
    assert paths["/v1/shelves/{shelvesId}/books/{booksId}"]["get"]["security"] == [
        {"bearerAuth": []}
    ]
    assert paths["/v1/shelves/{shelvesId}/books/{booksId}"]["delete"]["x-access"] == "ACCESS_ADMIN"
    assert "security" not in paths["/v1/echo"]["post"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_comments_become_descriptions(spec) -> None:
    book = spec["components"]["schemas"]["gatewaytest.v1.Book"]
    assert book["description"] == "A book: one field of every kind."
    assert book["properties"]["title"]["description"] == "The title."
    watch = spec["paths"]["/v1/shelves/{shelvesId}:watch"]["get"]
    assert watch["summary"].startswith("Stream the events of a shelf")
    assert set(watch["responses"]["200"]["content"]) == {
        "application/json",
        "text/event-stream",
    }


def test_component_schemas_accept_what_the_gateway_writes(spec) -> None:
    router = Router(bindings_for(pb.DESCRIPTOR.services_by_name.values()))
    binding, _ = router.match("GET", "/v1/shelves/a/books/b")
    written = render(binding, sample_book("shelves/a/books/b"), Renderer())
    _validator(spec, "gatewaytest.v1.Book").validate(written)
    assert not _validator(spec, "gatewaytest.v1.Book").is_valid({**written, "extra": 1})
    assert not _validator(spec, "gatewaytest.v1.Book").is_valid(
        {"inStock": True, "outOfStockReason": "both members of a oneof"}
    )
    _validator(spec, "google.rpc.Status").validate(
        {"code": 5, "message": "x", "details": [{"@type": "type.googleapis.com/x.Y", "a": 1}]}
    )


def test_the_filmstudio_document_covers_every_routed_rpc(tmp_path) -> None:
    settings = Settings(FILMSTUDIO_ENV="test", FILMSTUDIO_VAR_DIR=str(tmp_path))
    gateway = Gateway(filmstudio_config(settings, "127.0.0.1:1"))
    spec = gateway.openapi
    assert len(gateway.core.router.bindings) == sum(len(p) for p in spec["paths"].values())
    assert spec["paths"]["/v1/users:register"]["post"]["security"] == []
    get_project = spec["paths"]["/v1/projects/{projectsId}"]["get"]
    assert get_project["security"] == [{"bearerAuth": []}]
    assert (
        get_project["summary"] == "Return a project the caller owns (NOT_FOUND for anyone else's)"
    )
    watch = spec["paths"]["/v1/jobs/{jobsId}:watch"]["get"]
    assert "text/event-stream" in watch["responses"]["200"]["content"]
    assert descriptor_pool.Default().FindServiceByName("filmstudio.v1.AIJobService")

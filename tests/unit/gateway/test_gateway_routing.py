"""Path templates parse and match as google.api.http defines them; the router picks well."""

from __future__ import annotations

import pytest

from gateway.errors import GatewayError
from gateway.routing import Router, TemplateError, Variable, bindings_for, parse_template
from tests.support.gateway_backend import pb


def test_a_template_with_variables_and_a_verb_parses() -> None:
    template = parse_template("/v1/{name=projects/*/jobs/*}:cancel")
    assert template.segments == ("v1", Variable("name", ("projects", "*", "jobs", "*")))
    assert template.verb == "cancel"
    assert template.match("/v1/projects/p1/jobs/j2:cancel") == {"name": "projects/p1/jobs/j2"}
    assert template.match("/v1/projects/p1/jobs/j2") is None
    assert template.match("/v1/projects/p1:cancel") is None


def test_a_bare_variable_is_one_segment_and_percent_decoded() -> None:
    template = parse_template("/v1/shelves/{shelf}/books/{book.name}")
    assert template.match("/v1/shelves/a%2Fb/books/x%20y") == {"shelf": "a/b", "book.name": "x y"}
    assert template.match("/v1/shelves/a/b/books/x") is None


def test_double_wildcard_spans_segments() -> None:
    template = parse_template("/files/{path=**}")
    assert template.match("/files/a/b/c.txt") == {"path": "a/b/c.txt"}


@pytest.mark.parametrize(
    "text", ["v1/x", "/v1//x", "/v1/{name", "/v1/{na-me}", "/v1/{name=}", "/v1/x:", "/v1/a{b}"]
)
def test_malformed_templates_are_refused(text: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(text)


def test_bindings_come_from_rules_and_additional_bindings() -> None:
    bindings = bindings_for([pb.DESCRIPTOR.services_by_name["ShelfService"]])
    create = [b for b in bindings if b.method.name == "CreateBook"]
    assert [(b.http_method, b.template.text, b.body) for b in create] == [
        ("POST", "/v1/{parent=shelves/*}/books", "book"),
        ("PUT", "/v1/{parent=shelves/*}/books/{book_id}", "book"),
        ("POST", "/v1/books:create", "*"),
    ]
    assert "Compact" not in {b.method.name for b in bindings}


def test_the_most_specific_template_wins() -> None:
    router = Router(bindings_for([pb.DESCRIPTOR.services_by_name["ShelfService"]]))
    binding, variables = router.match("GET", "/v1/shelves/s1:watch")
    assert (binding.method.name, variables) == ("WatchShelf", {"name": "shelves/s1"})
    binding, _ = router.match("GET", "/v1/shelves/s1")
    assert binding.method.name == "GetShelf"


def test_no_match_is_404_and_another_method_is_405() -> None:
    router = Router(bindings_for([pb.DESCRIPTOR.services_by_name["ShelfService"]]))
    with pytest.raises(GatewayError) as missing:
        router.match("GET", "/v2/else")
    assert missing.value.http == 404
    with pytest.raises(GatewayError) as wrong:
        router.match("POST", "/v1/shelves/s1/books/b1")
    assert wrong.value.http == 405
    assert ("allow", "DELETE, GET, PATCH, PUT") in wrong.value.headers


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ("/v1/{name=projects/*}", "/v1/projects/"),
        ("/v1/books:create", "/v1/books"),
        ("/v1/{parent=shelves/*}/books", "/v1/shelves/"),
        ("/v1/{name}", "/v1/"),
        ("/", "/"),
    ],
)
def test_each_template_knows_the_literal_prefix_of_its_paths(text: str, prefix: str) -> None:
    assert parse_template(text).prefix == prefix

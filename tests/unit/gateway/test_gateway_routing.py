"""Path templates parse and match as google.api.http defines them; the router picks well."""

from __future__ import annotations

import logging

import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor

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


def test_a_final_double_wildcard_also_matches_no_segment_as_grpc_gateway() -> None:
    template = parse_template("/files/{path=**}")
    assert template.match("/files") == {"path": ""}
    assert template.match("/files/") == {"path": ""}
    assert template.match("/filesx") is None
    assert parse_template("/{rest=**}").match("/") == {"rest": ""}


@pytest.mark.parametrize(
    ("text", "verb", "path", "variables"),
    [
        # After a variable the verb starts at the first ':' (grpc-gateway's httprule parser).
        ("/v1/{uuid}:custom:custom", "custom:custom", "/v1/a:b:custom:custom", {"uuid": "a:b"}),
        # After a literal it starts at the last one; the rest is the literal.
        ("/v1/foo:bar:baz", "baz", "/v1/foo:bar:baz", {}),
        (
            "/v1/{name=shelves/*/books/**}:x",
            "x",
            "/v1/shelves/s/books/a/b:x",
            {"name": "shelves/s/books/a/b"},
        ),
        ("/v1/{a.b.c=x/*}/y/{ids}", "", "/v1/x/1/y/p,q", {"a.b.c": "x/1", "ids": "p,q"}),
        ("/v1/**/tail", "", "/v1/a/b/tail", {}),
        ("/v1/*/{n}", "", "/v1/any/one", {"n": "one"}),
    ],
)
def test_the_full_template_syntax_parses_as_grpc_gateway_reads_it(
    text: str, verb: str, path: str, variables: dict[str, str]
) -> None:
    template = parse_template(text)
    assert template.verb == verb
    assert template.match(path) == variables


@pytest.mark.parametrize(
    "text",
    [
        "v1/x",
        "/v1//x",
        "/v1/{name",
        "/v1/{na-me}",
        "/v1/{name=}",
        "/v1/x:",
        "/v1/a{b}",
        "/v1/",
        "/v1/{a={b}}",
        "/v1/**/**",
        "/v1/a b",
    ],
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


def test_no_match_is_404_and_another_method_is_501() -> None:
    router = Router(bindings_for([pb.DESCRIPTOR.services_by_name["ShelfService"]]))
    with pytest.raises(GatewayError) as missing:
        router.match("GET", "/v2/else")
    assert missing.value.http == 404
    with pytest.raises(GatewayError) as wrong:
        router.match("POST", "/v1/shelves/s1/books/b1")
    assert wrong.value.http == 501
    assert ("allow", "DELETE, GET, PATCH, PUT") in wrong.value.headers


def _things_file(
    name: str,
) -> tuple[
    descriptor_pb2.FileDescriptorProto,
    descriptor_pb2.DescriptorProto,
    descriptor_pb2.ServiceDescriptorProto,
]:
    """Return a file `<name>/v1/<name>.proto` with a message Thing (a `name`) and service Things."""
    file = descriptor_pb2.FileDescriptorProto(
        name=f"{name}/v1/{name}.proto",
        package=f"{name}.v1",
        syntax="proto3",
        dependency=["google/api/annotations.proto"],
    )
    message = file.message_type.add(name="Thing")
    message.field.add(name="name", number=1, type=9, label=1)
    return file, message, file.service.add(name="Things")


def _mixed_routes() -> ServiceDescriptor:
    """Return a service whose routes name the second segment whole, or stop before it ends."""
    file, message, service = _things_file("mixed")
    message.field.add(name="part", number=2, type=9, label=1)
    templates = [
        "/v1/{name=**}",
        "/v1/{name=things/*}",
        "/v1/{name}/parts",
        "/v1/things",
        "/v1/things:count",
        "/v1/{name=things/*}/parts/{part=**}",
        "/v1/{name=*}",
    ]
    for number, template in enumerate(templates):
        for verb in ("get", "post"):
            method = service.method.add(
                name=f"{verb.title()}{number}",
                input_type=".mixed.v1.Thing",
                output_type=".mixed.v1.Thing",
            )
            rule = http_pb2.HttpRule(**{verb: template}, body="*" if verb == "post" else "")
            method.options.Extensions[annotations_pb2.http].CopyFrom(rule)
    return _pool_with(file).FindServiceByName("mixed.v1.Things")


def _scan(router: Router, verb: str, path: str) -> object:
    """Match as the router did before it indexed routes: every route of the verb, in order."""
    for prefix, binding in router._by_verb.get(verb, ()):
        if path.startswith(prefix) and binding.template.match(path) is not None:
            return binding
    return None


@pytest.mark.parametrize(
    "path",
    [
        "/v1/shelves/s1",
        "/v1/shelves/s1:watch",
        "/v1/shelves/s1/books",
        "/v1/shelves/s1/books/b%2F1",
        "/v1/shelves",
        "/v1/shelves/",
        "/v1/echo",
        "/v1/echo/shelves/s1/books/b1",
        "/v1/bind/ids/1/genres/2",
        "/v1/bind/u1:custom:custom",
        "/v1/download/x:stream",
        "/v1/nowhere/at/all",
        "/v1",
        "/",
        "",
        "/v2/shelves/s1",
        "//shelves/s1",
        "/v1/things/a",
        "/v1/things/a/b/c",
        "/v1/things/a/parts",
        "/v1/things/a/parts/p/q",
        "/v1/other/parts",
        "/v1/things",
        "/v1/things:count",
        "/v1/shelves/s1/parts",
    ],
)
@pytest.mark.parametrize("verb", ["GET", "POST", "PATCH", "DELETE"])
def test_routes_indexed_by_segment_match_as_a_scan_of_them_all(verb: str, path: str) -> None:
    services = [pb.DESCRIPTOR.services_by_name[name] for name in pb.DESCRIPTOR.services_by_name]
    router = Router(bindings_for([*services, _mixed_routes()]))
    try:
        found: object = router.match(verb, path)[0]
    except GatewayError:
        found = None
    assert found is _scan(router, verb, path)


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


def _pool_with(file: descriptor_pb2.FileDescriptorProto) -> descriptor_pool.DescriptorPool:
    """Return a pool holding the file and, from the default pool, everything it imports."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(name: str) -> None:
        found = descriptor_pool.Default().FindFileByName(name)
        for dependency in found.dependencies:
            if dependency.name not in added:
                add(dependency.name)
        proto = descriptor_pb2.FileDescriptorProto()
        found.CopyToProto(proto)
        pool.Add(proto)
        added.add(name)

    for name in file.dependency:
        add(name)
    pool.Add(file)
    return pool


def test_a_rule_that_cannot_be_served_is_skipped_and_logged(caplog) -> None:
    file, message, service = _things_file("skipped")
    message.field.add(name="children", number=2, type=11, label=3, type_name=".skipped.v1.Thing")
    templates = {
        "Good": "/v1/{name}:custom:custom",
        "BadTemplate": "/v1/{name=}",
        "NoSuchField": "/v1/{missing}",
        "ThroughRepeated": "/v1/{children.name}",
    }
    for method_name, template in templates.items():
        method = service.method.add(
            name=method_name, input_type=".skipped.v1.Thing", output_type=".skipped.v1.Thing"
        )
        method.options.Extensions[annotations_pb2.http].CopyFrom(http_pb2.HttpRule(get=template))
    pool = _pool_with(file)
    with caplog.at_level(logging.WARNING, logger="gateway.routing"):
        bindings = bindings_for([pool.FindServiceByName("skipped.v1.Things")])
    assert [b.method.name for b in bindings] == ["Good"]
    skipped = [r.getMessage() for r in caplog.records if "HTTP rule skipped" in r.getMessage()]
    assert len(skipped) == 3
    assert any("/v1/{name=}" in line for line in skipped)
    assert any("missing" in line for line in skipped)

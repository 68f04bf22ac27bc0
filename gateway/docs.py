"""A self-contained HTML reference rendered from the OpenAPI document (no CDN, no JS)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 2rem;color:#222}
h2{border-bottom:2px solid #ddd;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.verb{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.patch{color:#a60}.put{color:#a0a}.delete{color:#c22}
code{background:#f4f4f4;padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #eee;padding:.2rem .5rem;
text-align:left;vertical-align:top}.lock{color:#a60;font-size:.85em}
pre{background:#f8f8f8;padding:.5rem;overflow:auto;font-size:.85em}
"""


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f'<a href="#{escape(name)}">{escape(name)}</a>'
    if schema.get("type") == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return "enum: " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if "format" in schema:
        kind = f"{kind} ({schema['format']})"
    return escape(str(kind))


def _parameters(op: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{_type(p.get('schema', {}))}</td><td>{escape(p.get('description', ''))}</td></tr>"
        for p in op.get("parameters", [])
    )
    return f"<table><tr><th>name</th><th>in</th><th>type</th><th></th></tr>{rows}</table>"


def _operation(path: str, verb: str, op: dict[str, Any]) -> str:
    lock = ' <span class="lock">🔒 bearer token</span>' if op.get("security") else ""
    parts = [
        f'<div class="op" id="{escape(op["operationId"])}">',
        f'<span class="verb {verb}">{verb}</span> <code>{escape(path)}</code>{lock}',
        f"<p>{escape(op.get('description', op.get('summary', '')))}</p>",
    ]
    if op.get("parameters"):
        parts.append(_parameters(op))
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        parts.append(f"<p>Body: {_type(body['schema'])}</p>")
    ok = op["responses"]["200"]
    for media, content in ok.get("content", {}).items():
        parts.append(f"<p>Response <code>{escape(media)}</code>: {_type(content['schema'])}</p>")
    parts.append("</div>")
    return "".join(parts)


def _schema(name: str, schema: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(prop)}</code></td><td>{_type(s)}</td>"
        f"<td>{escape(s.get('description', ''))}</td></tr>"
        for prop, s in schema.get("properties", {}).items()
    )
    table = f"<table>{rows}</table>" if rows else f"<p>{_type(schema)}</p>"
    return (
        f'<h3 id="{escape(name)}">{escape(name)}</h3>'
        f"<p>{escape(schema.get('description', ''))}</p>{table}"
    )


def render_docs(spec: dict[str, Any]) -> str:
    """Return the HTML page for an OpenAPI document."""
    info = spec["info"]
    by_tag: dict[str, list[str]] = {}
    for path, verbs in spec["paths"].items():
        for verb, op in verbs.items():
            by_tag.setdefault(op["tags"][0], []).append(_operation(path, verb, op))
    sections = []
    for tag in spec.get("tags", []):
        ops = "".join(by_tag.get(tag["name"], []))
        sections.append(
            f'<h2 id="tag-{escape(tag["name"])}">{escape(tag["name"])}</h2>'
            f"<p>{escape(tag.get('description', ''))}</p>{ops}"
        )
    schemas = "".join(_schema(n, s) for n, s in spec["components"]["schemas"].items())
    errors = json.dumps({"code": 5, "message": "project not found", "details": []})
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(info['title'])} reference</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(info['title'])} <small>{escape(info['version'])}</small></h1>"
        f"<p>{escape(info.get('description', ''))}</p>"
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1). "
        "Send <code>Authorization: Bearer &lt;token&gt;</code> to operations marked 🔒. "
        "<code>Grpc-Timeout: 5S</code> sets a deadline; <code>Grpc-Metadata-Name</code> "
        "headers become gRPC metadata. Streams answer one JSON object a line "
        "(<code>application/json</code>, as grpc-gateway), or Server-Sent Events with "
        "<code>Accept: text/event-stream</code>, or WebSocket on the same URL.</p>"
        f"<p>Errors are a google.rpc.Status, e.g. <code>{escape(errors)}</code>.</p>"
        f"{''.join(sections)}<h2>Schemas</h2>{schemas}</body></html>"
    )

"""The JSON bodies of unary answers, written once per distinct answer.

Clients read the same resources again and again (a page of projects, a job being polled), and
writing a response as JSON costs far more than the call's own transport: a page of 20 projects
took ~100 us to render and encode against ~2 us to serialize. An answer's JSON is a function of
its message type, the binding's response_body and its wire bytes alone, so the body is kept by
those: equal bytes are an equal message, whoever asked. Nothing is kept across the budget: when
full, the kept bodies are dropped together and the next answers fill it again.
"""

from __future__ import annotations

from google.protobuf.message import Message

from gateway.render import Renderer
from gateway.routing import Binding
from gateway.transcode import dumps, render

BUDGET_BYTES = 4 * 1024 * 1024
# Larger answers are written each time: they are rarely read twice, and would crowd the rest.
LARGEST_KEPT_BYTES = 64 * 1024


class JsonBodies:
    """Unary answers' JSON bodies, kept by (type, response_body, wire bytes) within a budget."""

    def __init__(self, renderer: Renderer, budget_bytes: int = BUDGET_BYTES) -> None:
        self.renderer = renderer
        self.budget_bytes = budget_bytes
        self._kept: dict[tuple[str, str, bytes], bytes] = {}
        self._size = 0

    def body(self, binding: Binding, response: Message, wire: bytes | None = None) -> bytes:
        """Return the answer's JSON body, written on its first sight.

        `wire` is the response's bytes as received, when the caller has them: equal bytes parse
        to an equal message, so they are as good a key, and cost nothing to make.
        """
        if wire is None:
            # Deterministic, so equal maps give equal bytes (another order would only miss).
            wire = response.SerializeToString(deterministic=True)
        if len(wire) > LARGEST_KEPT_BYTES:
            return self._write(binding, response)
        key = (response.DESCRIPTOR.full_name, binding.response_body, wire)
        body = self._kept.get(key)
        if body is None:
            body = self._write(binding, response)
            size = len(wire) + len(body)
            if self._size + size > self.budget_bytes:
                self._kept.clear()
                self._size = 0
            self._kept[key] = body
            self._size += size
        return body

    def _write(self, binding: Binding, response: Message) -> bytes:
        return dumps(render(binding, response, self.renderer))

    def __len__(self) -> int:
        return len(self._kept)

"""Answers as grpc-gateway writes them, on both upstream clients.

Wrong methods are 501 (UNIMPLEMENTED), 401s carry an RFC 6750 challenge, unset message fields
are null, streams are application/json.
"""

from __future__ import annotations

import json


async def test_a_wrong_method_is_501_unimplemented_with_allow(both) -> None:
    response = await both.client.delete("/v1/shelves/s1")
    assert response.status_code == 501
    assert response.json() == {"code": 12, "message": "Method Not Allowed", "details": []}
    assert response.headers["allow"] == "GET"


async def test_a_401_carries_a_bearer_challenge(both) -> None:
    anonymous = await both.client.post("/v1/fail", json={"code": 16, "message": "who?"})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    bad = await both.client.post(
        "/v1/fail", json={"code": 16}, headers={"Authorization": "Bearer expired"}
    )
    assert bad.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    forbidden = await both.client.post("/v1/fail", json={"code": 7})
    assert "www-authenticate" not in forbidden.headers


async def test_unset_message_fields_are_null(both) -> None:
    response = await both.client.post("/v1/echo", json={"text": "hi"})
    assert response.status_code == 200, response.text
    request = response.json()["request"]
    assert request["book"] is None
    assert request["when"] is None
    assert request["flag"] is None
    assert request["text"] == "hi"
    assert request["numbers"] == []
    assert "choiceA" not in request  # an unset oneof member is left out, as protojson does


async def test_a_stream_is_application_json_one_result_a_line(both) -> None:
    response = await both.client.get("/v1/shelves/s1:watch", params={"count": 2})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["result"]["event"]["id"] for line in lines] == ["1", "2"]

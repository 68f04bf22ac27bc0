"""The committed tests/gen code is what grpc_tools.protoc makes of tests/protos today."""

from __future__ import annotations

from pathlib import Path

from grpc_tools import protoc

from tests.support.gateway_backend import ROOT, TEST_GEN, TEST_PROTOS

PROTO = "gatewaytest/v1/gatewaytest.proto"


def test_generated_test_code_is_fresh(tmp_path: Path) -> None:
    args = [
        "protoc",
        f"-I{TEST_PROTOS}",
        f"-I{ROOT / 'protos'}",
        f"-I{Path(protoc.__file__).parent / '_proto'}",
        f"--python_out={tmp_path}",
        f"--pyi_out={tmp_path}",
        f"--grpc_python_out={tmp_path}",
        str(TEST_PROTOS / PROTO),
    ]
    assert protoc.main(args) == 0
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.py*"))
    assert made, "protoc produced nothing"
    for relative in made:
        committed = TEST_GEN / relative
        assert committed.exists(), f"{relative} is missing from tests/gen"
        assert committed.read_text() == (tmp_path / relative).read_text(), (
            f"tests/gen/{relative} is stale; regenerate it (see tests/support/gateway_backend.py)"
        )

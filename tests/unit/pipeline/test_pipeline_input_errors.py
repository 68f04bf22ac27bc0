"""Bad stage input reaches jobs and the CLI as the studio's InvalidArgument, unchanged."""

from __future__ import annotations

import pytest

from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.script_analysis import run_script_analysis
from services.ai_job.runners import STAGES
from services.ai_job.stage_graph import RunContext, stage_input_errors
from services.common.errors import FieldViolation, InvalidArgument


def test_a_stage_input_error_becomes_invalid_argument_with_the_same_violations(
    memory_storage,
) -> None:
    with pytest.raises(InvalidArgument) as raised, stage_input_errors():
        run_script_analysis(b"\x00\x01", storage=memory_storage, key_prefix="jobs/j1")
    assert raised.value.violations == [
        FieldViolation("script", "is binary data, not text", "INVALID_SCRIPT")
    ]
    assert raised.value.message == "invalid argument: script: is binary data, not text"
    assert raised.value.reason == "INVALID_ARGUMENT"
    assert isinstance(raised.value.__cause__, StageInputError)


def test_a_job_stage_with_an_empty_script_fails_with_invalid_argument(memory_storage) -> None:
    context = RunContext(
        job={"parameters": {}},
        project={"script": "   "},
        storage=memory_storage,
        key_prefix="jobs/j1",
        report=lambda percent, stage, message: None,
        cancelled=lambda: False,
    )
    with pytest.raises(InvalidArgument, match=r"^invalid argument: script: is empty$"):
        STAGES["script_analysis"].execute(context, lambda fraction, message: None)
    assert memory_storage.objects == {}


def test_a_key_prefix_outside_the_rules_names_the_prefix(memory_storage) -> None:
    with pytest.raises(InvalidArgument) as raised, stage_input_errors():
        run_script_analysis("Hello there.", storage=memory_storage, key_prefix="../jobs")
    assert [(v.field, v.reason) for v in raised.value.violations] == [("key_prefix", "INVALID_KEY")]

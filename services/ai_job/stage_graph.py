"""Run a job's stages as a graph: independent stages side by side, finished ones reused.

Each stage's artifacts live under a prefix named by a hash of its inputs (its parameters and
the hashes of the stages it needs), with a marker written last. A stage whose marker exists is
not run again: a retried job resumes after its last completed stage, and any later job of the
same project whose inputs did not change reuses the work. Progress is one bar across the
stages, weighted by their cost; cancellation is checked between stages and, through the
stages' own checks, inside them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from services.ai_job.pipeline.ports import StageInputError
from services.ai_job.pipeline.stage import StageCancelled
from services.common import errors, metrics, tracing
from services.common.storage import Storage

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


class StageFailed(RuntimeError):
    """A stage failed in a way that retrying it might fix."""


@dataclass
class RunContext:
    """What a running stage may use: the job, its project, storage, progress and cancellation."""

    job: dict[str, Any]
    project: dict[str, Any]
    storage: Storage
    # Where the project's stage outputs live ("projects/{id}"); each stage gets its own prefix.
    key_prefix: str
    report: Callable[[float, str, str], None]
    cancelled: Callable[[], bool]
    # The worker's own choices (image engine, model directory): inputs like the parameters.
    options: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    # Storage keys earlier stages hand to later ones ("breakdown", "timings", ...).
    keys: dict[str, str] = field(default_factory=dict)

    def parameter(self, name: str, default: Any = None) -> Any:
        """Return a job parameter (the project's values are merged in at creation)."""
        value = self.job.get("parameters", {}).get(name)
        return default if value in (None, "", 0) else value

    def extra_parameter(self, name: str, default: Any = None) -> Any:
        """Return a value of the job's free-form `extra` parameters."""
        return (self.job.get("parameters", {}).get("extra") or {}).get(name, default)


StageFunction = Callable[[RunContext, Progress], dict[str, Any]]
Inputs = Callable[[RunContext], Mapping[str, Any]]


def _no_inputs(ctx: RunContext) -> Mapping[str, Any]:
    return {}


@dataclass(frozen=True)
class Stage:
    """One step of a job: its share of the progress bar, what it needs, and what it reads."""

    name: str
    weight: float
    run: StageFunction
    needs: tuple[str, ...] = ()
    # The job and project values the stage's output depends on: part of its cache key.
    inputs: Inputs = _no_inputs
    # Bump when the stage's code changes what it makes, so older outputs are not reused.
    version: int = 1

    def execute(self, ctx: RunContext, progress: Progress) -> dict[str, Any]:
        """Run the stage, its bad input raised as InvalidArgument."""
        with stage_input_errors():
            return self.run(ctx, progress)


@contextmanager
def stage_input_errors() -> Iterator[None]:
    """Raise a pipeline StageInputError as the InvalidArgument with the same violations."""
    try:
        yield
    except StageInputError as error:
        violations = [
            errors.FieldViolation(v.field, v.description, v.reason) for v in error.violations
        ]
        raise errors.InvalidArgument(violations) from error


def order(stages: Mapping[str, Stage], targets: Sequence[str]) -> list[Stage]:
    """Return the targets and everything they need, each after what it needs."""
    ordered: list[Stage] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for need in stages[name].needs:
            visit(need)
        ordered.append(stages[name])

    for target in targets:
        visit(target)
    return ordered


def fingerprints(ctx: RunContext, stages: Sequence[Stage]) -> dict[str, str]:
    """Return each stage's cache key: a hash of its inputs and of the stages it needs."""
    found: dict[str, str] = {}
    for stage in stages:  # in dependency order, so needs are hashed first
        document = {
            "stage": stage.name,
            "version": stage.version,
            "inputs": dict(stage.inputs(ctx)),
            "needs": {need: found[need] for need in stage.needs},
        }
        text = json.dumps(document, sort_keys=True, default=str)
        found[stage.name] = hashlib.sha256(text.encode()).hexdigest()[:20]
    return found


def stage_prefix(project_prefix: str, stage: str, fingerprint: str) -> str:
    """Return where one run of a stage keeps its artifacts and its marker."""
    return f"{project_prefix}/stages/{stage}/{fingerprint}"


def marker_key(prefix: str) -> str:
    """Return the key of a finished stage's marker (written after all its artifacts)."""
    return f"{prefix}/done.json"


def finished_stage(storage: Storage, prefix: str) -> dict[str, Any] | None:
    """Return a finished stage's recorded output, or None."""
    key = marker_key(prefix)
    if not storage.exists(key):
        return None
    document: dict[str, Any] = json.loads(storage.get_bytes(key))
    return document


def mark_finished(storage: Storage, prefix: str, output: dict[str, Any]) -> None:
    """Record a stage's output so a later run with the same inputs can skip it."""
    storage.put_bytes(
        marker_key(prefix), json.dumps(output).encode(), content_type="application/json"
    )


@dataclass(frozen=True)
class GraphRunner:
    """Runs a job's stage graph in a worker thread, with retries and bounded parallelism."""

    storage: Storage
    retries: int = 2
    retry_base_seconds: float = 1.0
    parallelism: int = 2

    def run(self, ctx: RunContext, stages: Sequence[Stage]) -> None:
        """Run (or reuse) every stage; raise StageCancelled if cancelled, else a stage's error."""
        keys = fingerprints(ctx, stages)
        total = sum(stage.weight for stage in stages) or 1.0
        shares = {stage.name: 0.0 for stage in stages}
        lock = threading.Lock()
        failed = threading.Event()
        outputs: dict[str, dict[str, Any]] = {}

        def report(stage: Stage, fraction: float, message: str) -> None:
            with lock:
                shares[stage.name] = max(shares[stage.name], min(1.0, fraction))
                percent = sum(s.weight * shares[s.name] for s in stages) / total * 100
            ctx.report(percent, stage.name, message)

        parent = tracing.current()  # the job's span: pool threads do not inherit the context

        def run_one(stage: Stage) -> dict[str, Any]:
            started, outcome = time.perf_counter(), "failed"
            try:
                with tracing.span(f"stage {stage.name}", parent, attributes={"stage": stage.name}):
                    output, outcome = run_or_reuse(stage)
                return output
            except StageCancelled:
                outcome = "cancelled"
                raise
            finally:
                metrics.observe_stage(stage.name, outcome, time.perf_counter() - started)

        def run_or_reuse(stage: Stage) -> tuple[dict[str, Any], str]:
            prefix = stage_prefix(ctx.key_prefix, stage.name, keys[stage.name])
            finished = finished_stage(self.storage, prefix)
            if finished is not None:
                report(stage, 1.0, f"{stage.name} reused from a previous run")
                return finished, "reused"
            with lock:
                view = replace(
                    ctx,
                    key_prefix=prefix,
                    keys=dict(ctx.keys),
                    cancelled=lambda: ctx.cancelled() or failed.is_set(),
                )
            output = self._attempts(stage, view, lambda f, m: report(stage, f, m))
            mark_finished(self.storage, prefix, output)
            return output, "ran"

        pending = list(stages)
        running: dict[Future[dict[str, Any]], Stage] = {}
        first_error: BaseException | None = None
        with ThreadPoolExecutor(self.parallelism, thread_name_prefix="stage") as pool:
            while pending or running:
                for stage in list(pending):
                    ready = all(need in outputs for need in stage.needs)
                    if ready and len(running) < self.parallelism and not failed.is_set():
                        if ctx.cancelled():
                            failed.set()
                            break
                        pending.remove(stage)
                        running[pool.submit(run_one, stage)] = stage
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    stage = running.pop(future)
                    error = future.exception()
                    if error is None:
                        with lock:
                            outputs[stage.name] = future.result()
                            ctx.keys.update(outputs[stage.name].get("keys", {}))
                    else:
                        failed.set()  # the others stop at their next check
                        # A stage's own failure explains the job better than the others' stops.
                        if first_error is None or isinstance(first_error, StageCancelled):
                            first_error = error
        if first_error is not None:
            raise first_error
        if len(outputs) < len(stages):
            raise StageCancelled(pending[0].name if pending else "job")
        for stage in stages:  # in dependency order, whatever order they finished in
            ctx.artifacts += outputs[stage.name].get("artifacts", [])
            ctx.outputs.update(outputs[stage.name].get("result", {}))

    def _attempts(self, stage: Stage, ctx: RunContext, progress: Progress) -> dict[str, Any]:
        """Run one stage, retrying transient failures with exponential backoff."""
        for attempt in range(self.retries + 1):
            if ctx.cancelled():
                raise StageCancelled(stage.name)
            try:
                return stage.execute(ctx, progress)
            except StageCancelled:
                raise
            except (StageFailed, OSError, TimeoutError) as error:
                if attempt == self.retries:
                    raise
                delay = self.retry_base_seconds * 2**attempt
                log.warning(
                    "stage failed; retrying",
                    extra={"stage": stage.name, "retry_in_s": delay, "error": str(error)},
                )
                deadline = time.monotonic() + delay
                while time.monotonic() < deadline:
                    if ctx.cancelled():
                        raise StageCancelled(stage.name) from error
                    time.sleep(min(0.05, delay))
        raise AssertionError("unreachable")

"""Follow a job's WatchJob stream: a live progress bar per stage (rich), or NDJSON for scripts."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from filmstudio.v1 import ai_job_pb2, common_pb2
from google.protobuf import json_format

from services.client_cli.client import Client

SUCCEEDED = common_pb2.JOB_STATUS_SUCCEEDED
PSEUDO_STAGES = ("job", "starting", "done")
RESUME_DELAY_SECONDS = 1.0


def watch(client: Client, job: str, *, as_json: bool) -> int:
    """Follow `job` to its end; return 0 when it succeeded, 1 otherwise."""
    follow = _print_json if as_json else _Bars(job).update
    last: Any = None
    try:
        last = _follow(client, job, follow)
    finally:
        # Also on Ctrl-C or a lost server: leave the terminal as it was.
        _Bars.finish(succeeded=last is not None and last.status == SUCCEEDED)
    if last.status == SUCCEEDED:
        return 0
    if not as_json:
        status = common_pb2.JobStatus.Name(last.status).removeprefix("JOB_STATUS_").lower()
        sys.stderr.write(f"filmstudio: {job} {status}: {last.message}\n")
    return 1


def _follow(client: Client, job: str, follow: Callable[[Any], None]) -> Any:
    """Return the job's terminal event, passing every event to `follow` on the way."""
    last: Any = None
    while True:
        after = last.id if last is not None else ""
        request = ai_job_pb2.WatchJobRequest(name=job, after_event_id=after)
        # No deadline: a film takes as long as it takes; the stream ends with the job.
        for response in client.jobs.WatchJob(request, metadata=client.metadata()):
            last = response.event
            follow(last)
            if last.terminal:
                return last
        # The stream ended early (a server restart): resume after the last event seen.
        time.sleep(RESUME_DELAY_SECONDS)


def _print_json(event: Any) -> None:
    sys.stdout.write(json_format.MessageToJson(event, indent=None) + "\n")
    sys.stdout.flush()


class _Bars:
    """One bar for the job and one per stage; a stage's bar shows its share of the job."""

    _active: Any = None

    def __init__(self, job: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        self.progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[message]}"),
            console=Console(stderr=False),
            # Off a terminal (a pipe, a test) rich still prints the final state; log lines too.
            transient=False,
        )
        self.job_task = self.progress.add_task(job, total=100, message="")
        self.stages: dict[str, Any] = {}
        self.contributed: dict[str, float] = {}
        self.percent = 0.0
        self.progress.start()
        _Bars._active = self

    def update(self, event: Any) -> None:
        """Show one event."""
        from rich.console import Console

        stage = event.stage or "job"
        # Progress is the whole job's; a stage's own share is what it added to it.
        gained = max(0.0, event.progress - self.percent)
        self.percent = max(self.percent, event.progress)
        # "starting" and "done" are the job's own moments, not stages with a bar.
        if stage not in self.stages and stage not in PSEUDO_STAGES:
            self.stages[stage] = self.progress.add_task(f"  {stage}", total=None, message="")
            self.contributed[stage] = 0.0
        if stage in self.stages:
            self.contributed[stage] += gained
            self.progress.update(
                self.stages[stage],
                total=100,
                completed=min(100.0, self.contributed[stage]),
                message=event.message[:60],
            )
        status = common_pb2.JobStatus.Name(event.status).removeprefix("JOB_STATUS_").lower()
        self.progress.update(
            self.job_task, completed=self.percent, message=f"{status}: {event.message[:50]}"
        )
        if not Console().is_terminal:
            # A pipe gets a line per event: a script or a test can follow without a terminal.
            sys.stdout.write(f"{self.percent:5.1f} % {stage}: {event.message}\n")
            sys.stdout.flush()

    @classmethod
    def finish(cls, *, succeeded: bool) -> None:
        """Fill every stage's bar when the job succeeded, and stop the live display."""
        bars = cls._active
        if bars is None:
            return
        if succeeded:
            for stage, task in bars.stages.items():
                share = bars.contributed[stage] or 1.0
                bars.progress.update(task, total=share, completed=share)
        bars.progress.stop()
        cls._active = None

"""What each client command does, one function per command, against a signed-in Client."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from filmstudio.v1 import ai_job_pb2, common_pb2, credits_pb2, project_pb2, user_pb2
from google.protobuf import struct_pb2

from services.client_cli import credentials, download, output
from services.client_cli.client import DEADLINE_SECONDS, Client, resource
from services.client_cli.watch import watch

STYLES = ("cinematic", "documentary", "noir", "anime", "watercolor", "sketch")
ASPECTS = {"16:9": "ASPECT_RATIO_16_9", "9:16": "ASPECT_RATIO_9_16", "1:1": "ASPECT_RATIO_1_1"}
RESOLUTIONS = {"720p": "RESOLUTION_720P", "1080p": "RESOLUTION_1080P"}


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("Password: ")


def _email(args: argparse.Namespace) -> str:
    return str(args.email or input("Email: ")).strip()


def signup(client: Client, args: argparse.Namespace) -> int:
    """Create an account, then sign in to it."""
    email, password = _email(args), _password(args)
    request = user_pb2.RegisterUserRequest(
        email=email, password=password, first_name=args.first_name or ""
    )
    client.users.RegisterUser(request, timeout=DEADLINE_SECONDS)
    return _sign_in(client, args, email, password)


def login(client: Client, args: argparse.Namespace) -> int:
    """Sign in and store the session's tokens."""
    return _sign_in(client, args, _email(args), _password(args))


def _sign_in(client: Client, args: argparse.Namespace, email: str, password: str) -> int:
    request = user_pb2.LoginRequest(email=email, password=password)
    answer = client.users.Login(request, timeout=DEADLINE_SECONDS)
    client.store_tokens(answer.tokens, email=answer.user.email)
    if args.json:
        output.emit_json(answer.user)
    else:
        output.say(f"signed in to {client.server} as {answer.user.email}")
    return 0


def logout(client: Client, args: argparse.Namespace) -> int:
    """Revoke the session on the server and forget its tokens here."""
    stored = credentials.load(client.server)
    if stored is not None:
        request = user_pb2.LogoutRequest(refresh_token=stored.refresh_token)
        try:
            client.call(client.users.Logout, request)
        finally:
            credentials.forget(client.server)  # forgotten here even if the server is away
    if args.json:
        output.emit_json({"signedOut": True})
    else:
        output.say("signed out")
    return 0


def projects(client: Client, args: argparse.Namespace) -> int:
    """List the caller's projects, newest first."""
    request = project_pb2.ListProjectsRequest(page_size=args.limit)
    answer = client.call(client.projects.ListProjects, request)
    if args.json:
        output.emit_json(answer.projects)
        return 0
    rows = [
        (
            p.name,
            p.title,
            output.enum_name(common_pb2.ProjectStatus, p.status, "PROJECT_STATUS_"),
            p.latest_job or "-",
        )
        for p in answer.projects
    ]
    output.table(("project", "title", "status", "latest job"), rows)
    return 0


def project_create(client: Client, args: argparse.Namespace) -> int:
    """Create a project from a script file."""
    script = Path(args.script).read_text(encoding="utf-8")
    project = project_pb2.Project(
        title=args.title or Path(args.script).stem,
        script=script,
        style=f"STYLE_{args.style.upper()}",
        target_duration_seconds=args.duration,
        aspect_ratio=ASPECTS[args.aspect_ratio],
        resolution=RESOLUTIONS[args.resolution],
        voice=args.voice,
    )
    request = project_pb2.CreateProjectRequest(project=project, request_id=str(uuid.uuid4()))
    created = client.call(client.projects.CreateProject, request).project
    if args.json:
        output.emit_json(created)
    else:
        output.say(created.name)
    return 0


def generate(client: Client, args: argparse.Namespace) -> int:
    """Start a full generation of a project; with --watch, follow it to its end."""
    extra = struct_pb2.Struct()
    if args.render_height:
        extra.update({"render_height": args.render_height})
    job = ai_job_pb2.Job(
        project=resource("projects", args.project),
        job_type=common_pb2.JOB_TYPE_FULL_GENERATION,
        parameters=ai_job_pb2.JobParameters(extra=extra),
    )
    request = ai_job_pb2.CreateJobRequest(job=job, request_id=str(uuid.uuid4()))
    created = client.call(client.jobs.CreateJob, request).job
    if not args.json:
        output.say(f"{created.name}: {created.cost_credits} credits on hold")
    elif not args.watch:
        output.emit_json(created)
    return watch(client, created.name, as_json=args.json) if args.watch else 0


def jobs(client: Client, args: argparse.Namespace) -> int:
    """List the caller's jobs, newest first."""
    request = ai_job_pb2.ListJobsRequest(page_size=args.limit)
    if args.project:
        request.project = resource("projects", args.project)
    answer = client.call(client.jobs.ListJobs, request)
    if args.json:
        output.emit_json(answer.jobs)
        return 0
    rows = [
        (
            j.name,
            j.project,
            output.enum_name(common_pb2.JobStatus, j.status, "JOB_STATUS_"),
            f"{j.progress:.0f} %",
            j.stage or "-",
            j.cost_credits,
        )
        for j in answer.jobs
    ]
    output.table(("job", "project", "status", "progress", "stage", "credits"), rows)
    return 0


def cancel(client: Client, args: argparse.Namespace) -> int:
    """Cancel a job (a running one stops at its next checkpoint)."""
    request = ai_job_pb2.CancelJobRequest(name=resource("jobs", args.job))
    job = client.call(client.jobs.CancelJob, request).job
    if args.json:
        output.emit_json(job)
    else:
        status = output.enum_name(common_pb2.JobStatus, job.status, "JOB_STATUS_")
        output.say(f"{job.name}: {status}")
    return 0


def credits(client: Client, args: argparse.Namespace) -> int:
    """Show the balance, and with --history the latest ledger entries."""
    balance = client.call(
        client.credits.GetCredits, credits_pb2.GetCreditsRequest(name="users/me/credits")
    ).credits
    history: Any = []
    if args.history:
        request = credits_pb2.ListTransactionsRequest(parent="users/me", page_size=args.limit)
        history = client.call(client.credits.ListTransactions, request).transactions
    if args.json:
        document: dict[str, Any] = {"credits": output.to_dict(balance)}
        if args.history:
            document["transactions"] = [output.to_dict(entry) for entry in history]
        output.emit_json(document)
        return 0
    output.say(
        f"{balance.available} available, {balance.reserved} on hold "
        f"({balance.monthly} monthly, {balance.purchased} purchased; tier {balance.tier})"
    )
    if args.history:
        rows = [
            (
                time.strftime("%Y-%m-%d %H:%M", time.gmtime(t.create_time.seconds)),
                f"{t.amount:+d}",
                t.balance_after,
                output.enum_name(credits_pb2.TransactionKind, t.kind, "TRANSACTION_KIND_"),
                t.reason,
            )
            for t in history
        ]
        output.table(("when (UTC)", "amount", "balance", "kind", "reason"), rows)
    return 0


def fetch(client: Client, args: argparse.Namespace) -> int:
    """Download a job's or a project's MP4, subtitles or thumbnail."""
    if args.target.startswith("jobs/"):
        request: Any = ai_job_pb2.GetJobRequest(name=args.target)
        artifacts = client.call(client.jobs.GetJob, request).job.artifacts
    else:
        request = project_pb2.GetProjectRequest(name=resource("projects", args.target))
        artifacts = client.call(client.projects.GetProject, request).project.artifacts
    artifact = download.pick(artifacts, args.what)
    saved = download.fetch(artifact, Path(args.output) if args.output else None)
    if args.json:
        output.emit_json({"path": str(saved), "kind": artifact.kind, "key": artifact.key})
    else:
        output.say(str(saved))
    return 0

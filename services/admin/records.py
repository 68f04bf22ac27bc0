"""What the admin domain hands out: system counts, user pages and details, failed jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.ai_job.records import Job
from services.common.audit import AuditEntry
from services.common.records import Record
from services.credits.records import Credits, Transaction
from services.project.records import Project
from services.user.records import SessionInfo, User


@dataclass(frozen=True)
class JobCount(Record):
    """How many jobs of one type are in one status."""

    job_type: str
    status: str
    count: int


@dataclass(frozen=True)
class SystemStats(Record):
    """System-wide counts, each taken by one aggregate query."""

    total_users: int
    active_users_30d: int
    suspended_users: int
    new_users_7d: int
    total_projects: int
    projects_by_status: dict[str, int]
    jobs_by_status: dict[str, int]
    jobs_by_type: list[JobCount]
    jobs_ended_24h: int
    job_failure_rate_24h: float
    queue_depth: int
    jobs_running: int
    credits_outstanding: int
    credits_issued_month: int
    credits_consumed_month: int
    credits_consumed_30d: int
    observed_at: datetime


@dataclass(frozen=True)
class UserPage(Record):
    """One page of a user search."""

    users: list[User]
    next_page_token: str


@dataclass(frozen=True)
class UserDetails(Record):
    """Everything an operator needs to know about one account."""

    user: User
    credits: Credits
    recent_transactions: list[Transaction]
    recent_projects: list[Project]
    recent_jobs: list[Job]
    sessions: list[SessionInfo]
    active_sessions: int


@dataclass(frozen=True)
class FailedJob(Record):
    """A failed job with what only operators see."""

    job: Job
    worker: str
    max_attempts: int
    queue_wait_seconds: float | None
    run_seconds: float | None


@dataclass(frozen=True)
class FailedJobPage(Record):
    """One page of failed jobs."""

    jobs: list[FailedJob]
    next_page_token: str


@dataclass(frozen=True)
class ProjectPage(Record):
    """One page of the moderation queue."""

    projects: list[Project]
    next_page_token: str


@dataclass(frozen=True)
class SuspendOutcome(Record):
    """A suspension: the account, and the jobs it stopped."""

    user: User
    cancelled_jobs: list[int]


@dataclass(frozen=True)
class AuditPage(Record):
    """One page of the audit log."""

    entries: list[AuditEntry]
    next_page_token: str

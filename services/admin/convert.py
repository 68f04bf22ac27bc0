"""Proto <-> domain for the admin service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from filmstudio.v1 import admin_pb2, common_pb2, user_pb2
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from services.admin.records import FailedJob, JobCount, SystemStats, UserDetails
from services.ai_job.convert import job_message
from services.common.audit import AuditEntry
from services.common.convert import Link, timestamp
from services.common.enums import JOB_STATUS_VALUE, JOB_TYPE_VALUE
from services.credits.convert import credits_message, transaction_message
from services.project.convert import project_message
from services.user.convert import session_message, user_message

# A filter's enum number to its domain name; unknown numbers become "?" and fail validation.
STATE_FILTER: dict[int, str] = {
    user_pb2.USER_STATE_ACTIVE: "active",
    user_pb2.USER_STATE_SUSPENDED: "suspended",
}
ROLE_FILTER: dict[int, str] = {common_pb2.ROLE_USER: "user", common_pb2.ROLE_ADMIN: "admin"}


def filter_name(table: dict[int, str], value: int) -> str:
    """Return the domain name of a filter enum ("" when unset, "?" when unknown)."""
    return table.get(value, "" if value == 0 else "?")


def moment(stamp: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    """Return an aware datetime for a set Timestamp field, None when unset."""
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def _duration(seconds: float | None) -> duration_pb2.Duration | None:
    if seconds is None:
        return None
    message = duration_pb2.Duration()
    message.FromTimedelta(timedelta(seconds=max(seconds, 0.0)))
    return message


def _job_count(count: JobCount) -> admin_pb2.JobCount:
    return admin_pb2.JobCount(
        job_type=JOB_TYPE_VALUE.get(count.job_type, 0),  # type: ignore[arg-type]
        status=JOB_STATUS_VALUE.get(count.status, 0),  # type: ignore[arg-type]
        count=count.count,
    )


def stats_message(stats: SystemStats) -> admin_pb2.SystemStats:
    """Return the proto of the system's counts."""
    return admin_pb2.SystemStats(
        total_users=stats.total_users,
        active_users=stats.active_users_30d,
        suspended_users=stats.suspended_users,
        total_projects=stats.total_projects,
        projects_by_status={k.upper(): v for k, v in stats.projects_by_status.items()},
        jobs_by_status={k.upper(): v for k, v in stats.jobs_by_status.items()},
        credits_outstanding=stats.credits_outstanding,
        credits_consumed_30d=stats.credits_consumed_30d,
        observe_time=timestamp(stats.observed_at),
        new_users_7d=stats.new_users_7d,
        jobs_by_type=[_job_count(c) for c in stats.jobs_by_type],
        job_failure_rate_24h=stats.job_failure_rate_24h,
        jobs_ended_24h=stats.jobs_ended_24h,
        credits_issued_month=stats.credits_issued_month,
        credits_consumed_month=stats.credits_consumed_month,
        queue_depth=stats.queue_depth,
        jobs_running=stats.jobs_running,
    )


def details_message(details: UserDetails, link: Link | None) -> admin_pb2.GetUserDetailsResponse:
    """Return the proto of a user's details."""
    return admin_pb2.GetUserDetailsResponse(
        user=user_message(details.user),
        credits=credits_message(details.credits),
        recent_projects=[project_message(p, link) for p in details.recent_projects],
        recent_jobs=[job_message(j, link) for j in details.recent_jobs],
        active_sessions=details.active_sessions,
        recent_transactions=[transaction_message(t) for t in details.recent_transactions],
        sessions=[session_message(s) for s in details.sessions],
    )


def failed_message(failed: FailedJob, link: Link | None) -> admin_pb2.FailedJob:
    """Return the proto of a failed job with its operator details."""
    return admin_pb2.FailedJob(
        job=job_message(failed.job, link),
        worker=failed.worker,
        max_attempts=failed.max_attempts,
        queue_wait=_duration(failed.queue_wait_seconds),
        run_time=_duration(failed.run_seconds),
    )


def audit_message(entry: AuditEntry) -> admin_pb2.AuditEntry:
    """Return the AuditEntry message of an audit log entry."""
    details = struct_pb2.Struct()
    details.update(entry.details)
    return admin_pb2.AuditEntry(
        name=f"auditEntries/{entry.seq}",
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        details=details,
        request_id=entry.request_id,
        create_time=timestamp(entry.created_at),
        sequence=entry.seq,
        hash=entry.hash,
        previous_hash=entry.prev_hash,
    )

"""What operators change: account state, credit grants and moderation decisions.

Every change goes through the owning domain's facade: suspension through UserService (which
ends the sessions) and AIJobService.cancel_job (which releases the holds), grants through the
credits ledger, moderation through the project status machine in one transaction with the
owner's mail in the outbox.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime

from services.admin.records import SuspendOutcome
from services.ai_job.ai_job_service import AIJobService
from services.common import audit, errors
from services.common.caller import Caller
from services.common.db import Database
from services.common.errors import FieldViolation
from services.common.mail import Mail, Outbox
from services.credits.credits_service import CreditsService
from services.credits.records import GRANT, LedgerResult
from services.project.project_service import ProjectService
from services.project.records import Project, to_project
from services.user.records import User
from services.user.user_service import UserService

log = logging.getLogger(__name__)

MAX_REASON = 500
# Cancelling walks the user's live jobs a page at a time.
CANCEL_PAGE = 100


def reason_violations(reason: str, *, required: bool) -> list[FieldViolation]:
    """Check an operator's reason: required where asked, short, printable."""
    if required and not reason.strip():
        return [FieldViolation("reason", "is required", "REQUIRED")]
    if len(reason) > MAX_REASON:
        return [FieldViolation("reason", f"must be at most {MAX_REASON} characters", "TOO_LONG")]
    if any(unicodedata.category(ch) == "Cc" for ch in reason):
        return [FieldViolation("reason", "must not contain control characters", "INVALID")]
    return []


def require_reason(reason: str, *, required: bool = True) -> str:
    """Return the trimmed reason or raise InvalidArgument."""
    if bad := reason_violations(reason, required=required):
        raise errors.InvalidArgument(bad)
    return reason.strip()


async def cancel_live_jobs(jobs: AIJobService, user_id: int, caller: Caller) -> list[int]:
    """Cancel a user's queued and running jobs through the job service; return their ids.

    Queued jobs end at once and their holds are released; running ones are asked to stop at
    their next checkpoint and release their holds when their worker stops (or the reaper fails
    them).
    """
    cancelled: list[int] = []
    for status in ("queued", "running"):
        token = ""
        while True:
            page = await jobs.get_user_jobs(
                user_id, status=status, limit=CANCEL_PAGE, page_token=token
            )
            for job in page.jobs:
                if job.cancel_requested:
                    continue
                try:
                    await jobs.cancel_job(job.id, caller)
                except errors.FailedPrecondition:
                    continue  # it ended meanwhile: nothing left to hold
                cancelled.append(job.id)
            token = page.next_page_token
            if not token:
                break
    return cancelled


class Actions:
    """Operators' changes, each through the domain that owns what changes."""

    def __init__(
        self,
        database: Database,
        users: UserService,
        projects: ProjectService,
        credits: CreditsService,
        jobs: AIJobService,
        outbox: Outbox,
    ) -> None:
        self.database = database
        self.users = users
        self.projects = projects
        self.credits = credits
        self.jobs = jobs
        self.outbox = outbox

    async def suspend(self, user_id: int, reason: str, caller: Caller) -> SuspendOutcome:
        """Suspend an account: its sessions end at once, its live jobs are cancelled."""
        why = require_reason(reason)
        if user_id == caller.user_id:
            raise errors.FailedPrecondition(
                "an operator cannot suspend their own account", reason="SELF_SUSPENSION"
            )
        user = await self.users.suspend_user(user_id, why, actor=caller.name)
        cancelled = await cancel_live_jobs(self.jobs, user_id, caller)
        log.info(
            "user suspended",
            extra={"target_user": user_id, "actor": caller.name, "cancelled_jobs": len(cancelled)},
        )
        return SuspendOutcome(user, cancelled)

    async def reactivate(self, user_id: int, reason: str, caller: Caller) -> User:
        """Let a suspended account sign in again."""
        why = require_reason(reason)
        user = await self.users.reactivate_user(user_id, why, actor=caller.name)
        log.info("user reactivated", extra={"target_user": user_id, "actor": caller.name})
        return user

    async def grant(
        self,
        user_id: int,
        amount: int,
        reason: str,
        request_id: str,
        expires_at: datetime | None,
        caller: Caller,
    ) -> LedgerResult:
        """Grant credits through the ledger, once per request_id."""
        bad = reason_violations(reason, required=True)
        if amount <= 0:
            bad.append(FieldViolation("amount", "must be positive", "OUT_OF_RANGE"))
        if not request_id.strip():
            bad.append(FieldViolation("request_id", "is required", "REQUIRED"))
        if bad:
            raise errors.InvalidArgument(bad)
        await self.users.get_user(user_id)  # NOT_FOUND before the ledger sees the id
        return await self.credits.add_credits(
            user_id,
            amount,
            GRANT,
            reason.strip(),
            idempotency_key=request_id,
            expires_at=expires_at,
            actor=caller.name,
        )

    async def decide(self, project_id: int, status: str, reason: str, caller: Caller) -> Project:
        """Approve or reject a project under review and tell its owner through the outbox."""
        why = require_reason(reason, required=status == "rejected")
        owner_id = (await self.projects.get_project(project_id, caller)).owner_id
        owner = await self.users.get_user(owner_id)
        async with self.database.session() as db, db.begin():
            row = await self.projects.load(db, project_id, caller)
            await self.projects.transition(db, row, status, caller.name, why)
            project = to_project(row)
            self.outbox.enqueue(db, _decision_mail(owner, project, status, why))
            await audit.append(
                db,
                "project.approve" if status == "approved" else "project.reject",
                target=f"projects/{project_id}",
                actor=caller.name,
                details={"reason": why, "owner": f"users/{owner_id}"},
            )
        self.outbox.flush_soon()
        log.info(
            "project moderated",
            extra={"project_id": project_id, "status": status, "actor": caller.name},
        )
        return project


def _decision_mail(owner: User, project: Project, status: str, reason: str) -> Mail:
    if status == "approved":
        subject = f'Your project "{project.title}" was approved'
        body = f'Your project "{project.title}" passed review and can now be published.\n'
    else:
        subject = f'Your project "{project.title}" was not approved'
        body = f'Your project "{project.title}" did not pass review.\n\nReason: {reason}\n'
    if reason and status == "approved":
        body += f"\nNote from the reviewer: {reason}\n"
    return Mail(owner.email, subject[:200], body)

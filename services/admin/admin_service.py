"""AdminService: the operations console backend.

Reads across the domains are aggregate queries and keyset listings (`stats.py`, `search.py`,
`reads.py`); changes go through each owning domain's facade (`actions.py`). This class holds
the dependencies and is the one entry point. The audit log is written by every domain through
`services/common/audit.py`; this class lists it (`audit_log.py`) and checks its hash chain.
"""

from __future__ import annotations

from datetime import datetime

from services.admin import audit_log, reads, search, stats
from services.admin.actions import Actions
from services.admin.audit_log import AuditFilter
from services.admin.records import (
    AuditPage,
    FailedJobPage,
    ProjectPage,
    SuspendOutcome,
    SystemStats,
    UserDetails,
    UserPage,
)
from services.admin.search import UserFilter
from services.ai_job.ai_job_service import AIJobService
from services.common.audit_verify import AuditReport, verify
from services.common.caller import Caller
from services.common.db import Database
from services.common.mail import Outbox
from services.common.pagination import PageTokens
from services.credits.credits_service import CreditsService
from services.credits.records import LedgerResult
from services.project.project_service import ProjectService
from services.project.records import Project
from services.user.records import SessionInfo, User
from services.user.user_service import UserService

__all__ = ["AdminService", "AuditFilter", "UserFilter"]

# How much of a user's history the details show.
RECENT = 10


class AdminService:
    """Operators' use cases: stats, users, grants, failed jobs, moderation, the audit log."""

    def __init__(
        self,
        db: Database,
        *,
        users: UserService,
        projects: ProjectService,
        credits: CreditsService,
        jobs: AIJobService,
        outbox: Outbox | None = None,
        page_secret: bytes | str = b"filmstudio-admin",
    ) -> None:
        self.db = db
        self.users = users
        self.projects = projects
        self.credits = credits
        self.jobs = jobs
        self.page_tokens = PageTokens(page_secret)
        self.actions = Actions(db, users, projects, credits, jobs, outbox or users.outbox)

    # --- Reads ----------------------------------------------------------------------------------

    async def get_system_stats(self, now: datetime | None = None) -> SystemStats:
        """Return counts of users, projects, jobs and credits, each one aggregate query."""
        return await stats.system_stats(self.db, now)

    async def search_users(
        self, filters: UserFilter | None = None, limit: int = 0, page_token: str = ""
    ) -> UserPage:
        """Find users by email or name substring, state, role and creation range, newest first."""
        return await search.search(
            self.db, self.page_tokens, filters or UserFilter(), limit, page_token
        )

    async def get_user_details(self, user_id: int) -> UserDetails:
        """Return an account with its balances, recent history and live sessions."""
        user = await self.users.get_user(user_id)
        credits = await self.credits.get_user_credits(user_id)
        transactions, _ = await self.credits.get_transaction_history(user_id, page_size=RECENT)
        projects = await self.projects.get_user_projects(user_id, limit=RECENT, show_deleted=True)
        jobs = await self.jobs.get_user_jobs(user_id, limit=RECENT)
        sessions = await self._sessions(user_id)
        return UserDetails(
            user=user,
            credits=credits,
            recent_transactions=transactions,
            recent_projects=projects.projects,
            recent_jobs=jobs.jobs,
            sessions=sessions,
            active_sessions=len(sessions),
        )

    async def _sessions(self, user_id: int) -> list[SessionInfo]:
        found, token = await self.users.list_sessions(user_id, size=100)
        while token:
            more, token = await self.users.list_sessions(user_id, size=100, token=token)
            found += more
        return found

    async def get_failed_jobs(
        self,
        job_type: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 0,
        page_token: str = "",
    ) -> FailedJobPage:
        """List failed jobs, newest first, with error, stage, attempts, worker and timings."""
        return await reads.failed_jobs(
            self.db, self.page_tokens, job_type, start, end, limit, page_token
        )

    async def get_moderation_queue(self, limit: int = 0, page_token: str = "") -> ProjectPage:
        """List projects waiting for review, longest waiting first."""
        return await reads.moderation_queue(self.db, self.page_tokens, limit, page_token)

    async def list_audit_log(
        self, filters: AuditFilter | None = None, limit: int = 0, page_token: str = ""
    ) -> AuditPage:
        """List audit entries by actor, action, target and time range, newest first."""
        return await audit_log.page(
            self.db, self.page_tokens, filters or AuditFilter(), limit, page_token
        )

    async def verify_audit_log(self) -> AuditReport:
        """Recompute the audit log's hash chain; the report names the first broken row."""
        return await verify(self.db)

    # --- Changes --------------------------------------------------------------------------------

    async def suspend_user(self, user_id: int, reason: str, caller: Caller) -> SuspendOutcome:
        """Suspend an account: every session ends at once, queued and running jobs are cancelled."""
        return await self.actions.suspend(user_id, reason, caller)

    async def reactivate_user(self, user_id: int, reason: str, caller: Caller) -> User:
        """Reactivate a suspended account (its old sessions stay ended)."""
        return await self.actions.reactivate(user_id, reason, caller)

    async def grant_credits(
        self,
        user_id: int,
        amount: int,
        reason: str,
        request_id: str,
        caller: Caller,
        expires_at: datetime | None = None,
    ) -> LedgerResult:
        """Grant credits through the ledger; a repeated request_id returns the first grant."""
        return await self.actions.grant(user_id, amount, reason, request_id, expires_at, caller)

    async def approve_project(self, project_id: int, caller: Caller, note: str = "") -> Project:
        """Approve a project under review; its owner is told by mail."""
        return await self.actions.decide(project_id, "approved", note, caller)

    async def reject_project(self, project_id: int, reason: str, caller: Caller) -> Project:
        """Reject a project under review with a reason its owner is told by mail."""
        return await self.actions.decide(project_id, "rejected", reason, caller)

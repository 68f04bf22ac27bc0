"""The product documentation's usage examples work in-process, as written there."""

from __future__ import annotations

import uuid

from services.common.db import Database
from services.project.project_service import ProjectService
from services.user.user_service import UserService


async def test_user_service_example(database_url, tmp_path, monkeypatch) -> None:
    # Built without settings, the services take the defaults (never the environment): a var/
    # directory under the working directory, which the test keeps in its own folder.
    monkeypatch.chdir(tmp_path)
    db = Database(database_url)
    try:
        email = f"user-{uuid.uuid4().hex[:6]}@example.com"
        # Initialize service
        user_service = UserService(db, jwt_secret="secret_key")

        # Register user
        user = await user_service.register_user(
            email=email, password="SecurePass123!", first_name="John", last_name="Doe"
        )

        # Login
        auth = await user_service.login(email=email, password="SecurePass123!")
        access_token = auth["access_token"]

        assert user["first_name"] == "John"
        assert (await user_service.verify_token(access_token))["user_id"] == auth["user"]["id"]
    finally:
        await db.dispose()


async def test_project_service_example(database_url, tmp_path, monkeypatch) -> None:
    # Built without settings, the services take the defaults (never the environment): a var/
    # directory under the working directory, which the test keeps in its own folder.
    monkeypatch.chdir(tmp_path)
    db = Database(database_url)
    try:
        users = UserService(db, jwt_secret="secret_key")
        email = f"maker-{uuid.uuid4().hex[:6]}@example.com"
        await users.register_user(email=email, password="SecurePass123!")
        user_id = (await users.login(email=email, password="SecurePass123!"))["user"]["id"]

        # Initialize service
        project_service = ProjectService(db)

        # Create project
        project = await project_service.create_project(
            user_id=user_id,
            title="My First Film",
            script="A story about...",
            style="cinematic",
            target_duration=90,
        )

        # List projects
        projects = await project_service.get_user_projects(
            user_id=user_id, status="completed", limit=10
        )

        assert project["status"] == "draft"
        assert projects["projects"] == []
        drafts = await project_service.get_user_projects(user_id=user_id, status="draft")
        assert [p["id"] for p in drafts["projects"]] == [project["id"]]
    finally:
        await db.dispose()


async def test_ai_job_service_example(database_url, tmp_path, monkeypatch) -> None:
    """The documented example, word for word: a full_generation job, queued."""
    from services.ai_job.ai_job_service import AIJobService
    from services.ai_job.queue import InProcessQueue
    from services.credits.credits_service import CreditsService

    # Built without settings, the services take the defaults (never the environment): a var/
    # directory under the working directory, which the test keeps in its own folder.
    monkeypatch.chdir(tmp_path)
    db = Database(database_url)
    try:
        users = UserService(db, jwt_secret="secret_key")
        email = f"jobs-{uuid.uuid4().hex[:6]}@example.com"
        await users.register_user(email=email, password="SecurePass123!")
        user_id = (await users.login(email=email, password="SecurePass123!"))["user"]["id"]
        await CreditsService(db).add_credits(user_id, 100, idempotency_key=str(uuid.uuid4()))
        project_id = (await ProjectService(db).create_project(user_id=user_id, title="Film"))["id"]
        queue_client = InProcessQueue()

        # Initialize service
        job_service = AIJobService(db, queue_client)

        # Create generation job
        job = await job_service.create_job(
            project_id=project_id,
            user_id=user_id,
            job_type="full_generation",
            parameters={"style": "cinematic", "duration": 90, "voice": "male_narrator"},
            priority=2,  # Normal priority
        )
        job_id = job["id"]

        # Check status
        status = await job_service.get_job(job_id)
        assert status["progress"] == 0
        assert status["status"] == "queued"
        assert status["parameters"]["duration_seconds"] == 90
        await queue_client.close()
    finally:
        await db.dispose()

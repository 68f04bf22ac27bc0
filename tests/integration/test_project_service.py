"""ProjectService over real gRPC on PostgreSQL: ownership, pages, etags, soft delete, status."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import grpc
import pytest
from filmstudio.v1 import common_pb2, project_pb2, project_pb2_grpc
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import update

from services.common import errors
from services.common.caller import Caller
from services.common.db import utcnow
from services.common.storage import LocalStorage
from services.project.models import ProjectRow
from services.project.project_service import ProjectService
from services.project.purge import purge_projects
from services.project.rules import TRANSITIONS
from tests.support.studio import bearer, signed_in
from tests.support.users import error_of

STATUS = {
    name.removeprefix("PROJECT_STATUS_").lower(): value
    for name, value in common_pb2.ProjectStatus.items()
    if value
}


class Owner:
    """A signed-in user with a ProjectService stub."""

    def __init__(self, channel, token: str) -> None:
        self.stub = project_pb2_grpc.ProjectServiceStub(channel)
        self.auth = bearer(token)

    async def create(self, title: str = "Brick & Steel", **fields) -> project_pb2.Project:
        project = project_pb2.Project(title=title, script="INT. GARAGE - DAY", **fields)
        request = project_pb2.CreateProjectRequest(project=project)
        return (await self.stub.CreateProject(request, metadata=self.auth)).project

    async def get(self, name: str) -> project_pb2.Project:
        request = project_pb2.GetProjectRequest(name=name)
        return (await self.stub.GetProject(request, metadata=self.auth)).project

    async def list(self, **kwargs) -> project_pb2.ListProjectsResponse:
        request = project_pb2.ListProjectsRequest(**kwargs)
        return await self.stub.ListProjects(request, metadata=self.auth)

    async def update(self, project: project_pb2.Project, *paths: str) -> project_pb2.Project:
        request = project_pb2.UpdateProjectRequest(
            project=project, update_mask=field_mask_pb2.FieldMask(paths=list(paths))
        )
        return (await self.stub.UpdateProject(request, metadata=self.auth)).project


async def _owner(live, tag: str = "owner") -> Owner:
    server, channel = live
    return Owner(channel, await signed_in(server, f"{tag}-{uuid.uuid4().hex[:8]}@example.com"))


def _violations(error: grpc.aio.AioRpcError) -> set[str]:
    status = rpc_status.from_call(error)
    fields: set[str] = set()
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields |= {v.field for v in bad.field_violations}
    return fields


async def test_create_fills_defaults_and_starts_in_draft(live) -> None:
    alice = await _owner(live)
    project = await alice.create()
    assert project.status == common_pb2.PROJECT_STATUS_DRAFT
    assert project.style == common_pb2.STYLE_CINEMATIC
    assert project.target_duration_seconds == 90
    assert project.aspect_ratio == common_pb2.ASPECT_RATIO_16_9
    assert project.resolution == common_pb2.RESOLUTION_1080P
    assert project.etag
    assert await alice.get(project.name) == project


async def test_every_invalid_field_gets_its_own_violation(live) -> None:
    alice = await _owner(live)
    error = await error_of(
        alice.create(
            title="",
            target_duration_seconds=5,
            style=99,
            voice="Not A Voice!",
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == {
        "project.title",
        "project.target_duration_seconds",
        "project.style",
        "project.voice",
    }


async def test_oversized_and_binary_scripts_are_refused(live) -> None:
    alice = await _owner(live)
    request = project_pb2.CreateProjectRequest(
        project=project_pb2.Project(title="big", script="a" * (1024 * 1024 + 1))
    )
    big = await error_of(alice.stub.CreateProject(request, metadata=alice.auth))
    assert _violations(big) == {"project.script"}
    request.project.script = "line one\x00\x01binary"
    binary = await error_of(alice.stub.CreateProject(request, metadata=alice.auth))
    assert _violations(binary) == {"project.script"}


async def test_a_repeated_request_id_returns_the_first_project(live) -> None:
    alice = await _owner(live)
    key = str(uuid.uuid4())
    request = project_pb2.CreateProjectRequest(
        project=project_pb2.Project(title="Once"), request_id=key
    )
    first, second = await asyncio.gather(
        alice.stub.CreateProject(request, metadata=alice.auth),
        alice.stub.CreateProject(request, metadata=alice.auth),
        return_exceptions=True,
    )
    created = [r for r in (first, second) if not isinstance(r, Exception)]
    assert created, "at least one concurrent create succeeds"
    again = await alice.stub.CreateProject(request, metadata=alice.auth)
    assert all(r.project.name == again.project.name for r in created)
    request.project.title = "Different"
    error = await error_of(alice.stub.CreateProject(request, metadata=alice.auth))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_another_user_can_neither_read_update_delete_nor_list(live) -> None:
    alice, bob = await _owner(live, "alice"), await _owner(live, "bob")
    project = await alice.create()
    for attempt in (
        bob.get(project.name),
        bob.update(project_pb2.Project(name=project.name, title="mine now"), "title"),
        bob.stub.DeleteProject(
            project_pb2.DeleteProjectRequest(name=project.name), metadata=bob.auth
        ),
        bob.stub.UndeleteProject(
            project_pb2.UndeleteProjectRequest(name=project.name), metadata=bob.auth
        ),
        bob.list(owner=project.owner),
    ):
        error = await error_of(attempt)
        assert error.code() == grpc.StatusCode.NOT_FOUND
    assert project.name not in {p.name for p in (await bob.list()).projects}
    assert (await alice.get(project.name)).title == project.title


async def test_an_admin_sees_any_project(live) -> None:
    server, channel = live
    alice = await _owner(live)
    project = await alice.create()
    admin = Owner(
        channel, await signed_in(server, f"adm-{uuid.uuid4().hex[:6]}@example.com", "admin")
    )
    assert (await admin.get(project.name)).name == project.name
    assert [p.name for p in (await admin.list(owner=project.owner)).projects] == [project.name]


async def test_pagination_returns_every_row_once_while_rows_are_added(live) -> None:
    alice = await _owner(live)
    before = [(await alice.create(f"p{i}")).name for i in range(7)]
    seen: list[str] = []
    token = ""
    added: list[str] = []
    while True:
        page = await alice.list(page_size=3, page_token=token)
        seen += [p.name for p in page.projects]
        added.append((await alice.create("added between pages")).name)
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(before)
    assert len(seen) == len(set(seen))
    ids = [int(name.split("/")[1]) for name in seen]
    assert ids == sorted(ids, reverse=True), "newest first"
    assert all(name not in seen for name in added)


async def test_page_size_is_capped_and_tokens_are_tamper_evident(live) -> None:
    alice = await _owner(live)
    for i in range(3):
        await alice.create(f"p{i}")
    page = await alice.list(page_size=1000)
    assert len(page.projects) == 3
    first = await alice.list(page_size=1)
    forged = first.next_page_token[:-2] + (
        "AA" if not first.next_page_token.endswith("AA") else "BB"
    )
    for token in (forged, "garbage", "eyJpZCI6MX0.x"):
        error = await error_of(alice.list(page_size=1, page_token=token))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    other_filter = await error_of(
        alice.list(page_size=1, page_token=first.next_page_token, status=STATUS["completed"])
    )
    assert other_filter.code() == grpc.StatusCode.INVALID_ARGUMENT
    negative = await error_of(alice.list(page_size=-1))
    assert negative.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_update_applies_only_the_mask_and_a_stale_etag_is_aborted(live) -> None:
    alice = await _owner(live)
    project = await alice.create()
    change = project_pb2.Project(
        name=project.name, title="New title", voice="female_narrator", etag=project.etag
    )
    updated = await alice.update(change, "title")
    assert (updated.title, updated.voice) == ("New title", project.voice)
    assert updated.etag != project.etag
    stale = await error_of(alice.update(change, "voice"))
    assert stale.code() == grpc.StatusCode.ABORTED
    unknown = await error_of(alice.update(project_pb2.Project(name=project.name), "status"))
    assert unknown.code() == grpc.StatusCode.INVALID_ARGUMENT
    empty = await error_of(alice.update(project_pb2.Project(name=project.name)))
    assert empty.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_recorded_job_outputs_are_a_new_version_that_stale_edits_cannot_overwrite(
    live,
) -> None:
    server, _ = live
    alice = await _owner(live)
    project = await alice.create()
    project_id = int(project.name.split("/")[1])
    service = server.app.get(ProjectService)
    video = {"kind": "video", "key": f"projects/{project_id}/jobs/7/video.mp4", "size_bytes": 3}
    recorded = await service.record_outputs(project_id, 7, [video])
    seen = await alice.get(project.name)
    assert seen.etag == recorded.etag != project.etag
    assert seen.latest_job == "jobs/7"
    assert [a.key for a in seen.artifacts] == [video["key"]]
    assert seen.update_time.ToDatetime() > project.update_time.ToDatetime()
    stale = project_pb2.Project(name=project.name, title="Stale", etag=project.etag)
    aborted = await error_of(alice.update(stale, "title"))
    assert aborted.code() == grpc.StatusCode.ABORTED
    assert (await alice.get(project.name)).title == project.title

    # Inside a caller's transaction (the job service's), the change commits with it or not at all.
    thumbnail = {"kind": "thumbnail", "key": f"projects/{project_id}/jobs/8/thumb.jpg"}
    async with server.app.database.session() as db, db.begin() as transaction:
        await service.record_outputs(project_id, 8, [thumbnail], session=db)
        await transaction.rollback()
    assert (await alice.get(project.name)).etag == seen.etag
    async with server.app.database.session() as db, db.begin():
        inside = await service.record_outputs(project_id, 8, [thumbnail], session=db)
    after = await alice.get(project.name)
    assert after.etag == inside.etag != seen.etag
    assert after.latest_job == "jobs/8"
    fresh = project_pb2.Project(name=project.name, title="Fresh", etag=after.etag)
    assert (await alice.update(fresh, "title")).title == "Fresh"


async def test_outputs_of_a_deleted_or_missing_project_are_not_found(live) -> None:
    server, _ = live
    alice = await _owner(live)
    project = await alice.create()
    await alice.stub.DeleteProject(
        project_pb2.DeleteProjectRequest(name=project.name), metadata=alice.auth
    )
    service = server.app.get(ProjectService)
    with pytest.raises(errors.NotFound):
        await service.record_outputs(int(project.name.split("/")[1]), 1, [])
    with pytest.raises(errors.NotFound):
        await service.record_outputs(2**40, 1, [])


async def test_only_a_user_can_own_a_new_project(live) -> None:
    server, _ = live
    with pytest.raises(errors.InvalidArgument) as refused:
        await server.app.get(ProjectService).create_project(None, "Made by a service")
    assert [(v.field, v.description) for v in refused.value.violations] == [
        ("project.owner", "a user must create projects")
    ]


async def test_soft_delete_show_deleted_undelete_and_purge(live, tmp_path) -> None:
    server, _ = live
    alice = await _owner(live)
    kept, gone = await alice.create("kept"), await alice.create("gone")
    deleted = (
        await alice.stub.DeleteProject(
            project_pb2.DeleteProjectRequest(name=gone.name, etag=gone.etag), metadata=alice.auth
        )
    ).project
    assert deleted.HasField("delete_time")
    assert deleted.purge_time.ToDatetime() - deleted.delete_time.ToDatetime() == timedelta(days=30)
    assert [p.name for p in (await alice.list()).projects] == [kept.name]
    assert {p.name for p in (await alice.list(show_deleted=True)).projects} == {
        kept.name,
        gone.name,
    }
    restored = await alice.stub.UndeleteProject(
        project_pb2.UndeleteProjectRequest(name=gone.name), metadata=alice.auth
    )
    assert not restored.project.HasField("delete_time")
    again = await error_of(
        alice.stub.UndeleteProject(
            project_pb2.UndeleteProjectRequest(name=gone.name), metadata=alice.auth
        )
    )
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS

    await alice.stub.DeleteProject(
        project_pb2.DeleteProjectRequest(name=gone.name), metadata=alice.auth
    )
    project_id = int(gone.name.split("/")[1])
    async with server.app.database.session() as db, db.begin():
        await db.execute(
            update(ProjectRow)
            .where(ProjectRow.id == project_id)
            .values(deleted_at=utcnow() - timedelta(days=31))
        )
    late = await error_of(
        alice.stub.UndeleteProject(
            project_pb2.UndeleteProjectRequest(name=gone.name), metadata=alice.auth
        )
    )
    assert late.code() == grpc.StatusCode.NOT_FOUND

    storage = LocalStorage(tmp_path / "artifacts")
    storage.put_bytes(f"projects/{project_id}/jobs/1/video.mp4", b"mp4")
    storage.put_bytes(f"projects/{int(kept.name.split('/')[1])}/jobs/1/video.mp4", b"keep")
    purged = await purge_projects(server.app.get(ProjectService), storage)
    assert project_id in [p.id for p in purged]
    assert storage.list(f"projects/{project_id}/") == []
    assert storage.list(f"projects/{int(kept.name.split('/')[1])}/")
    missing = await error_of(alice.get(gone.name))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def _force_status(server, name: str, status: str) -> None:
    async with server.app.database.session() as db, db.begin():
        await db.execute(
            update(ProjectRow).where(ProjectRow.id == int(name.split("/")[1])).values(status=status)
        )


async def test_every_forbidden_status_transition_is_refused_and_allowed_ones_recorded(live) -> None:
    server, channel = live
    alice = await _owner(live)
    internal = bearer(server.app.tokens.issue_service_token("jobs"))
    stub = project_pb2_grpc.ProjectServiceStub(channel)
    project = await alice.create()
    for current in TRANSITIONS:
        for target in TRANSITIONS:
            await _force_status(server, project.name, current)
            request = project_pb2.UpdateProjectStatusRequest(
                name=project.name, status=STATUS[target], reason="test"
            )
            if target in TRANSITIONS[current]:
                response = await stub.UpdateProjectStatus(request, metadata=internal)
                assert response.project.status == STATUS[target]
                assert response.change.actor == "services/jobs"
                continue
            error = await error_of(stub.UpdateProjectStatus(request, metadata=internal))
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, (current, target)
            assert current.upper() in error.details()
            assert target.upper() in error.details()
    history = await server.app.get(ProjectService).status_history(
        int(project.name.split("/")[1]), Caller(None, is_admin=True)
    )
    assert len(history) == sum(len(targets) for targets in TRANSITIONS.values())


async def test_a_project_cannot_be_edited_or_deleted_while_it_renders(live) -> None:
    server, _ = live
    alice = await _owner(live)
    project = await alice.create()
    await _force_status(server, project.name, "generating")
    edit = await error_of(alice.update(project_pb2.Project(name=project.name, title="x"), "title"))
    assert edit.code() == grpc.StatusCode.FAILED_PRECONDITION
    delete = await error_of(
        alice.stub.DeleteProject(
            project_pb2.DeleteProjectRequest(name=project.name), metadata=alice.auth
        )
    )
    assert delete.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize("name", ["projects/abc", "project/1", "projects/", "projects/1/x", ""])
async def test_malformed_names_are_invalid_arguments(live, name) -> None:
    alice = await _owner(live)
    error = await error_of(alice.get(name))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == {"name"}

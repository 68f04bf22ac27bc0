import datetime

from filmstudio.v1 import ai_job_pb2 as _ai_job_pb2
from filmstudio.v1 import common_pb2 as _common_pb2
from filmstudio.v1 import credits_pb2 as _credits_pb2
from filmstudio.v1 import options_pb2 as _options_pb2
from filmstudio.v1 import project_pb2 as _project_pb2
from filmstudio.v1 import user_pb2 as _user_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SystemStats(_message.Message):
    __slots__ = ("total_users", "active_users", "suspended_users", "total_projects", "projects_by_status", "jobs_by_status", "credits_outstanding", "credits_consumed_30d", "observe_time", "new_users_7d", "jobs_by_type", "job_failure_rate_24h", "jobs_ended_24h", "credits_issued_month", "credits_consumed_month", "queue_depth", "jobs_running")
    class ProjectsByStatusEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class JobsByStatusEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TOTAL_USERS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_USERS_FIELD_NUMBER: _ClassVar[int]
    SUSPENDED_USERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PROJECTS_FIELD_NUMBER: _ClassVar[int]
    PROJECTS_BY_STATUS_FIELD_NUMBER: _ClassVar[int]
    JOBS_BY_STATUS_FIELD_NUMBER: _ClassVar[int]
    CREDITS_OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    CREDITS_CONSUMED_30D_FIELD_NUMBER: _ClassVar[int]
    OBSERVE_TIME_FIELD_NUMBER: _ClassVar[int]
    NEW_USERS_7D_FIELD_NUMBER: _ClassVar[int]
    JOBS_BY_TYPE_FIELD_NUMBER: _ClassVar[int]
    JOB_FAILURE_RATE_24H_FIELD_NUMBER: _ClassVar[int]
    JOBS_ENDED_24H_FIELD_NUMBER: _ClassVar[int]
    CREDITS_ISSUED_MONTH_FIELD_NUMBER: _ClassVar[int]
    CREDITS_CONSUMED_MONTH_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    JOBS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    total_users: int
    active_users: int
    suspended_users: int
    total_projects: int
    projects_by_status: _containers.ScalarMap[str, int]
    jobs_by_status: _containers.ScalarMap[str, int]
    credits_outstanding: int
    credits_consumed_30d: int
    observe_time: _timestamp_pb2.Timestamp
    new_users_7d: int
    jobs_by_type: _containers.RepeatedCompositeFieldContainer[JobCount]
    job_failure_rate_24h: float
    jobs_ended_24h: int
    credits_issued_month: int
    credits_consumed_month: int
    queue_depth: int
    jobs_running: int
    def __init__(self, total_users: _Optional[int] = ..., active_users: _Optional[int] = ..., suspended_users: _Optional[int] = ..., total_projects: _Optional[int] = ..., projects_by_status: _Optional[_Mapping[str, int]] = ..., jobs_by_status: _Optional[_Mapping[str, int]] = ..., credits_outstanding: _Optional[int] = ..., credits_consumed_30d: _Optional[int] = ..., observe_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., new_users_7d: _Optional[int] = ..., jobs_by_type: _Optional[_Iterable[_Union[JobCount, _Mapping]]] = ..., job_failure_rate_24h: _Optional[float] = ..., jobs_ended_24h: _Optional[int] = ..., credits_issued_month: _Optional[int] = ..., credits_consumed_month: _Optional[int] = ..., queue_depth: _Optional[int] = ..., jobs_running: _Optional[int] = ...) -> None: ...

class JobCount(_message.Message):
    __slots__ = ("job_type", "status", "count")
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    job_type: _common_pb2.JobType
    status: _common_pb2.JobStatus
    count: int
    def __init__(self, job_type: _Optional[_Union[_common_pb2.JobType, str]] = ..., status: _Optional[_Union[_common_pb2.JobStatus, str]] = ..., count: _Optional[int] = ...) -> None: ...

class FailedJob(_message.Message):
    __slots__ = ("job", "worker", "max_attempts", "queue_wait", "run_time")
    JOB_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_WAIT_FIELD_NUMBER: _ClassVar[int]
    RUN_TIME_FIELD_NUMBER: _ClassVar[int]
    job: _ai_job_pb2.Job
    worker: str
    max_attempts: int
    queue_wait: _duration_pb2.Duration
    run_time: _duration_pb2.Duration
    def __init__(self, job: _Optional[_Union[_ai_job_pb2.Job, _Mapping]] = ..., worker: _Optional[str] = ..., max_attempts: _Optional[int] = ..., queue_wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., run_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("name", "actor", "action", "target", "details", "request_id", "create_time", "sequence", "hash", "previous_hash")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    name: str
    actor: str
    action: str
    target: str
    details: _struct_pb2.Struct
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    sequence: int
    hash: str
    previous_hash: str
    def __init__(self, name: _Optional[str] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., target: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sequence: _Optional[int] = ..., hash: _Optional[str] = ..., previous_hash: _Optional[str] = ...) -> None: ...

class GetSystemStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSystemStatsResponse(_message.Message):
    __slots__ = ("stats",)
    STATS_FIELD_NUMBER: _ClassVar[int]
    stats: SystemStats
    def __init__(self, stats: _Optional[_Union[SystemStats, _Mapping]] = ...) -> None: ...

class SearchUsersRequest(_message.Message):
    __slots__ = ("query", "state", "role", "page_size", "page_token", "created_after", "created_before")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    query: str
    state: _user_pb2.UserState
    role: _common_pb2.Role
    page_size: int
    page_token: str
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    def __init__(self, query: _Optional[str] = ..., state: _Optional[_Union[_user_pb2.UserState, str]] = ..., role: _Optional[_Union[_common_pb2.Role, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SearchUsersResponse(_message.Message):
    __slots__ = ("users", "next_page_token")
    USERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[_user_pb2.User]
    next_page_token: str
    def __init__(self, users: _Optional[_Iterable[_Union[_user_pb2.User, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetUserDetailsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetUserDetailsResponse(_message.Message):
    __slots__ = ("user", "credits", "recent_projects", "recent_jobs", "active_sessions", "recent_transactions", "sessions")
    USER_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    RECENT_PROJECTS_FIELD_NUMBER: _ClassVar[int]
    RECENT_JOBS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    RECENT_TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    user: _user_pb2.User
    credits: _credits_pb2.Credits
    recent_projects: _containers.RepeatedCompositeFieldContainer[_project_pb2.Project]
    recent_jobs: _containers.RepeatedCompositeFieldContainer[_ai_job_pb2.Job]
    active_sessions: int
    recent_transactions: _containers.RepeatedCompositeFieldContainer[_credits_pb2.Transaction]
    sessions: _containers.RepeatedCompositeFieldContainer[_user_pb2.Session]
    def __init__(self, user: _Optional[_Union[_user_pb2.User, _Mapping]] = ..., credits: _Optional[_Union[_credits_pb2.Credits, _Mapping]] = ..., recent_projects: _Optional[_Iterable[_Union[_project_pb2.Project, _Mapping]]] = ..., recent_jobs: _Optional[_Iterable[_Union[_ai_job_pb2.Job, _Mapping]]] = ..., active_sessions: _Optional[int] = ..., recent_transactions: _Optional[_Iterable[_Union[_credits_pb2.Transaction, _Mapping]]] = ..., sessions: _Optional[_Iterable[_Union[_user_pb2.Session, _Mapping]]] = ...) -> None: ...

class SuspendUserRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SuspendUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: _user_pb2.User
    def __init__(self, user: _Optional[_Union[_user_pb2.User, _Mapping]] = ...) -> None: ...

class ReactivateUserRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReactivateUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: _user_pb2.User
    def __init__(self, user: _Optional[_Union[_user_pb2.User, _Mapping]] = ...) -> None: ...

class GrantCreditsRequest(_message.Message):
    __slots__ = ("user", "amount", "reason", "request_id", "expire_time")
    USER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    user: str
    amount: int
    reason: str
    request_id: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, user: _Optional[str] = ..., amount: _Optional[int] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GrantCreditsResponse(_message.Message):
    __slots__ = ("transaction", "credits")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    transaction: _credits_pb2.Transaction
    credits: _credits_pb2.Credits
    def __init__(self, transaction: _Optional[_Union[_credits_pb2.Transaction, _Mapping]] = ..., credits: _Optional[_Union[_credits_pb2.Credits, _Mapping]] = ...) -> None: ...

class ListFailedJobsRequest(_message.Message):
    __slots__ = ("job_type", "page_size", "page_token", "start_time", "end_time")
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    job_type: _common_pb2.JobType
    page_size: int
    page_token: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, job_type: _Optional[_Union[_common_pb2.JobType, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListFailedJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token", "failures")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_ai_job_pb2.Job]
    next_page_token: str
    failures: _containers.RepeatedCompositeFieldContainer[FailedJob]
    def __init__(self, jobs: _Optional[_Iterable[_Union[_ai_job_pb2.Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., failures: _Optional[_Iterable[_Union[FailedJob, _Mapping]]] = ...) -> None: ...

class GetModerationQueueRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetModerationQueueResponse(_message.Message):
    __slots__ = ("projects", "next_page_token")
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    projects: _containers.RepeatedCompositeFieldContainer[_project_pb2.Project]
    next_page_token: str
    def __init__(self, projects: _Optional[_Iterable[_Union[_project_pb2.Project, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ApproveProjectRequest(_message.Message):
    __slots__ = ("name", "note")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    name: str
    note: str
    def __init__(self, name: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ApproveProjectResponse(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: _project_pb2.Project
    def __init__(self, project: _Optional[_Union[_project_pb2.Project, _Mapping]] = ...) -> None: ...

class RejectProjectRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectProjectResponse(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: _project_pb2.Project
    def __init__(self, project: _Optional[_Union[_project_pb2.Project, _Mapping]] = ...) -> None: ...

class ListAuditLogRequest(_message.Message):
    __slots__ = ("actor", "action", "target", "page_size", "page_token", "start_time", "end_time")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    actor: str
    action: str
    target: str
    page_size: int
    page_token: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, actor: _Optional[str] = ..., action: _Optional[str] = ..., target: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAuditLogResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

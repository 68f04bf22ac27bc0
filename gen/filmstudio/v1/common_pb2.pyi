from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_USER: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]

class ProjectStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROJECT_STATUS_UNSPECIFIED: _ClassVar[ProjectStatus]
    PROJECT_STATUS_DRAFT: _ClassVar[ProjectStatus]
    PROJECT_STATUS_QUEUED: _ClassVar[ProjectStatus]
    PROJECT_STATUS_GENERATING: _ClassVar[ProjectStatus]
    PROJECT_STATUS_COMPLETED: _ClassVar[ProjectStatus]
    PROJECT_STATUS_FAILED: _ClassVar[ProjectStatus]
    PROJECT_STATUS_PENDING_REVIEW: _ClassVar[ProjectStatus]
    PROJECT_STATUS_APPROVED: _ClassVar[ProjectStatus]
    PROJECT_STATUS_REJECTED: _ClassVar[ProjectStatus]
    PROJECT_STATUS_PUBLISHED: _ClassVar[ProjectStatus]

class Style(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STYLE_UNSPECIFIED: _ClassVar[Style]
    STYLE_CINEMATIC: _ClassVar[Style]
    STYLE_DOCUMENTARY: _ClassVar[Style]
    STYLE_NOIR: _ClassVar[Style]
    STYLE_ANIME: _ClassVar[Style]
    STYLE_WATERCOLOR: _ClassVar[Style]
    STYLE_SKETCH: _ClassVar[Style]

class AspectRatio(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASPECT_RATIO_UNSPECIFIED: _ClassVar[AspectRatio]
    ASPECT_RATIO_16_9: _ClassVar[AspectRatio]
    ASPECT_RATIO_9_16: _ClassVar[AspectRatio]
    ASPECT_RATIO_1_1: _ClassVar[AspectRatio]

class Resolution(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOLUTION_UNSPECIFIED: _ClassVar[Resolution]
    RESOLUTION_720P: _ClassVar[Resolution]
    RESOLUTION_1080P: _ClassVar[Resolution]

class JobType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_TYPE_UNSPECIFIED: _ClassVar[JobType]
    JOB_TYPE_SCRIPT_ANALYSIS: _ClassVar[JobType]
    JOB_TYPE_IMAGE_GENERATION: _ClassVar[JobType]
    JOB_TYPE_VOICE_SYNTHESIS: _ClassVar[JobType]
    JOB_TYPE_VIDEO_COMPOSITION: _ClassVar[JobType]
    JOB_TYPE_SUBTITLE_GENERATION: _ClassVar[JobType]
    JOB_TYPE_THUMBNAIL_GENERATION: _ClassVar[JobType]
    JOB_TYPE_FULL_GENERATION: _ClassVar[JobType]
    JOB_TYPE_YOUTUBE_UPLOAD: _ClassVar[JobType]

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_SUCCEEDED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLED: _ClassVar[JobStatus]
ROLE_UNSPECIFIED: Role
ROLE_USER: Role
ROLE_ADMIN: Role
PROJECT_STATUS_UNSPECIFIED: ProjectStatus
PROJECT_STATUS_DRAFT: ProjectStatus
PROJECT_STATUS_QUEUED: ProjectStatus
PROJECT_STATUS_GENERATING: ProjectStatus
PROJECT_STATUS_COMPLETED: ProjectStatus
PROJECT_STATUS_FAILED: ProjectStatus
PROJECT_STATUS_PENDING_REVIEW: ProjectStatus
PROJECT_STATUS_APPROVED: ProjectStatus
PROJECT_STATUS_REJECTED: ProjectStatus
PROJECT_STATUS_PUBLISHED: ProjectStatus
STYLE_UNSPECIFIED: Style
STYLE_CINEMATIC: Style
STYLE_DOCUMENTARY: Style
STYLE_NOIR: Style
STYLE_ANIME: Style
STYLE_WATERCOLOR: Style
STYLE_SKETCH: Style
ASPECT_RATIO_UNSPECIFIED: AspectRatio
ASPECT_RATIO_16_9: AspectRatio
ASPECT_RATIO_9_16: AspectRatio
ASPECT_RATIO_1_1: AspectRatio
RESOLUTION_UNSPECIFIED: Resolution
RESOLUTION_720P: Resolution
RESOLUTION_1080P: Resolution
JOB_TYPE_UNSPECIFIED: JobType
JOB_TYPE_SCRIPT_ANALYSIS: JobType
JOB_TYPE_IMAGE_GENERATION: JobType
JOB_TYPE_VOICE_SYNTHESIS: JobType
JOB_TYPE_VIDEO_COMPOSITION: JobType
JOB_TYPE_SUBTITLE_GENERATION: JobType
JOB_TYPE_THUMBNAIL_GENERATION: JobType
JOB_TYPE_FULL_GENERATION: JobType
JOB_TYPE_YOUTUBE_UPLOAD: JobType
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_SUCCEEDED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLED: JobStatus

class Artifact(_message.Message):
    __slots__ = ("kind", "key", "content_type", "size_bytes", "sha256", "download_url")
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_URL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    key: str
    content_type: str
    size_bytes: int
    sha256: str
    download_url: str
    def __init__(self, kind: _Optional[str] = ..., key: _Optional[str] = ..., content_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., download_url: _Optional[str] = ...) -> None: ...

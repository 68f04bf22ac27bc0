import datetime

from filmstudio.v1 import options_pb2 as _options_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PrivacyStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIVACY_STATUS_UNSPECIFIED: _ClassVar[PrivacyStatus]
    PRIVACY_STATUS_PRIVATE: _ClassVar[PrivacyStatus]
    PRIVACY_STATUS_UNLISTED: _ClassVar[PrivacyStatus]
    PRIVACY_STATUS_PUBLIC: _ClassVar[PrivacyStatus]

class UploadState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPLOAD_STATE_UNSPECIFIED: _ClassVar[UploadState]
    UPLOAD_STATE_QUEUED: _ClassVar[UploadState]
    UPLOAD_STATE_UPLOADING: _ClassVar[UploadState]
    UPLOAD_STATE_PROCESSING: _ClassVar[UploadState]
    UPLOAD_STATE_PROCESSED: _ClassVar[UploadState]
    UPLOAD_STATE_FAILED: _ClassVar[UploadState]
    UPLOAD_STATE_REJECTED: _ClassVar[UploadState]
PRIVACY_STATUS_UNSPECIFIED: PrivacyStatus
PRIVACY_STATUS_PRIVATE: PrivacyStatus
PRIVACY_STATUS_UNLISTED: PrivacyStatus
PRIVACY_STATUS_PUBLIC: PrivacyStatus
UPLOAD_STATE_UNSPECIFIED: UploadState
UPLOAD_STATE_QUEUED: UploadState
UPLOAD_STATE_UPLOADING: UploadState
UPLOAD_STATE_PROCESSING: UploadState
UPLOAD_STATE_PROCESSED: UploadState
UPLOAD_STATE_FAILED: UploadState
UPLOAD_STATE_REJECTED: UploadState

class YouTubeChannel(_message.Message):
    __slots__ = ("channel_id", "title", "scopes", "connect_time")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    CONNECT_TIME_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    title: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    connect_time: _timestamp_pb2.Timestamp
    def __init__(self, channel_id: _Optional[str] = ..., title: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., connect_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Upload(_message.Message):
    __slots__ = ("name", "project", "job", "state", "progress", "video_id", "video_url", "upload_status", "processing_status", "error", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    VIDEO_URL_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_STATUS_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    job: str
    state: UploadState
    progress: float
    video_id: str
    video_url: str
    upload_status: str
    processing_status: str
    error: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., job: _Optional[str] = ..., state: _Optional[_Union[UploadState, str]] = ..., progress: _Optional[float] = ..., video_id: _Optional[str] = ..., video_url: _Optional[str] = ..., upload_status: _Optional[str] = ..., processing_status: _Optional[str] = ..., error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Playlist(_message.Message):
    __slots__ = ("playlist_id", "title", "description", "privacy_status")
    PLAYLIST_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_STATUS_FIELD_NUMBER: _ClassVar[int]
    playlist_id: str
    title: str
    description: str
    privacy_status: PrivacyStatus
    def __init__(self, playlist_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., privacy_status: _Optional[_Union[PrivacyStatus, str]] = ...) -> None: ...

class ConnectYouTubeAccountRequest(_message.Message):
    __slots__ = ("manage_playlists",)
    MANAGE_PLAYLISTS_FIELD_NUMBER: _ClassVar[int]
    manage_playlists: bool
    def __init__(self, manage_playlists: _Optional[bool] = ...) -> None: ...

class ConnectYouTubeAccountResponse(_message.Message):
    __slots__ = ("authorization_url", "state")
    AUTHORIZATION_URL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    authorization_url: str
    state: str
    def __init__(self, authorization_url: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class CompleteYouTubeConnectionRequest(_message.Message):
    __slots__ = ("code", "state")
    CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    code: str
    state: str
    def __init__(self, code: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class CompleteYouTubeConnectionResponse(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: YouTubeChannel
    def __init__(self, channel: _Optional[_Union[YouTubeChannel, _Mapping]] = ...) -> None: ...

class UploadVideoRequest(_message.Message):
    __slots__ = ("project", "title", "description", "tags", "privacy_status", "publish_time", "playlist_id", "category_id", "request_id", "made_for_kids", "language")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_STATUS_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    PLAYLIST_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MADE_FOR_KIDS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    project: str
    title: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    privacy_status: PrivacyStatus
    publish_time: _timestamp_pb2.Timestamp
    playlist_id: str
    category_id: str
    request_id: str
    made_for_kids: bool
    language: str
    def __init__(self, project: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., privacy_status: _Optional[_Union[PrivacyStatus, str]] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., playlist_id: _Optional[str] = ..., category_id: _Optional[str] = ..., request_id: _Optional[str] = ..., made_for_kids: _Optional[bool] = ..., language: _Optional[str] = ...) -> None: ...

class UploadVideoResponse(_message.Message):
    __slots__ = ("upload",)
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    upload: Upload
    def __init__(self, upload: _Optional[_Union[Upload, _Mapping]] = ...) -> None: ...

class CreatePlaylistRequest(_message.Message):
    __slots__ = ("playlist",)
    PLAYLIST_FIELD_NUMBER: _ClassVar[int]
    playlist: Playlist
    def __init__(self, playlist: _Optional[_Union[Playlist, _Mapping]] = ...) -> None: ...

class CreatePlaylistResponse(_message.Message):
    __slots__ = ("playlist",)
    PLAYLIST_FIELD_NUMBER: _ClassVar[int]
    playlist: Playlist
    def __init__(self, playlist: _Optional[_Union[Playlist, _Mapping]] = ...) -> None: ...

class GetUploadStatusRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetUploadStatusResponse(_message.Message):
    __slots__ = ("upload",)
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    upload: Upload
    def __init__(self, upload: _Optional[_Union[Upload, _Mapping]] = ...) -> None: ...

class DisconnectYouTubeAccountRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DisconnectYouTubeAccountResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class IssueUploadTokenRequest(_message.Message):
    __slots__ = ("job", "refresh")
    JOB_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    job: str
    refresh: bool
    def __init__(self, job: _Optional[str] = ..., refresh: _Optional[bool] = ...) -> None: ...

class IssueUploadTokenResponse(_message.Message):
    __slots__ = ("access_token", "expire_time", "upload")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    expire_time: _timestamp_pb2.Timestamp
    upload: str
    def __init__(self, access_token: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., upload: _Optional[str] = ...) -> None: ...

class RecordUploadedVideoRequest(_message.Message):
    __slots__ = ("job", "video_id")
    JOB_FIELD_NUMBER: _ClassVar[int]
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    job: str
    video_id: str
    def __init__(self, job: _Optional[str] = ..., video_id: _Optional[str] = ...) -> None: ...

class RecordUploadedVideoResponse(_message.Message):
    __slots__ = ("upload",)
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    upload: Upload
    def __init__(self, upload: _Optional[_Union[Upload, _Mapping]] = ...) -> None: ...

import datetime

from filmstudio.v1 import options_pb2 as _options_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Genre(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENRE_UNSPECIFIED: _ClassVar[Genre]
    GENRE_FICTION: _ClassVar[Genre]
    GENRE_NONFICTION: _ClassVar[Genre]
    GENRE_POETRY: _ClassVar[Genre]
GENRE_UNSPECIFIED: Genre
GENRE_FICTION: Genre
GENRE_NONFICTION: Genre
GENRE_POETRY: Genre

class Shelf(_message.Message):
    __slots__ = ("name", "theme", "book_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    THEME_FIELD_NUMBER: _ClassVar[int]
    BOOK_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    theme: str
    book_count: int
    def __init__(self, name: _Optional[str] = ..., theme: _Optional[str] = ..., book_count: _Optional[int] = ...) -> None: ...

class Author(_message.Message):
    __slots__ = ("display_name", "birth_year", "address")
    class Address(_message.Message):
        __slots__ = ("city", "country")
        CITY_FIELD_NUMBER: _ClassVar[int]
        COUNTRY_FIELD_NUMBER: _ClassVar[int]
        city: str
        country: str
        def __init__(self, city: _Optional[str] = ..., country: _Optional[str] = ...) -> None: ...
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    BIRTH_YEAR_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    birth_year: int
    address: Author.Address
    def __init__(self, display_name: _Optional[str] = ..., birth_year: _Optional[int] = ..., address: _Optional[_Union[Author.Address, _Mapping]] = ...) -> None: ...

class Chapter(_message.Message):
    __slots__ = ("title", "pages")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    title: str
    pages: int
    def __init__(self, title: _Optional[str] = ..., pages: _Optional[int] = ...) -> None: ...

class Book(_message.Message):
    __slots__ = ("name", "title", "genre", "tags", "labels", "author", "publish_time", "read_time", "page_count", "metadata", "isbn", "rating", "cover", "in_stock", "out_of_stock_reason", "chapters", "copies", "weight", "first_edition", "other_genres", "subtitle", "signed", "edition")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class CopiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: int
        def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    READ_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ISBN_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    COVER_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    OUT_OF_STOCK_REASON_FIELD_NUMBER: _ClassVar[int]
    CHAPTERS_FIELD_NUMBER: _ClassVar[int]
    COPIES_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    FIRST_EDITION_FIELD_NUMBER: _ClassVar[int]
    OTHER_GENRES_FIELD_NUMBER: _ClassVar[int]
    SUBTITLE_FIELD_NUMBER: _ClassVar[int]
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    EDITION_FIELD_NUMBER: _ClassVar[int]
    name: str
    title: str
    genre: Genre
    tags: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    author: Author
    publish_time: _timestamp_pb2.Timestamp
    read_time: _duration_pb2.Duration
    page_count: _wrappers_pb2.Int32Value
    metadata: _struct_pb2.Struct
    isbn: int
    rating: float
    cover: bytes
    in_stock: bool
    out_of_stock_reason: str
    chapters: _containers.RepeatedCompositeFieldContainer[Chapter]
    copies: _containers.ScalarMap[int, int]
    weight: float
    first_edition: bool
    other_genres: _containers.RepeatedScalarFieldContainer[Genre]
    subtitle: _wrappers_pb2.StringValue
    signed: _wrappers_pb2.BoolValue
    edition: int
    def __init__(self, name: _Optional[str] = ..., title: _Optional[str] = ..., genre: _Optional[_Union[Genre, str]] = ..., tags: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., author: _Optional[_Union[Author, _Mapping]] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., read_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., page_count: _Optional[_Union[_wrappers_pb2.Int32Value, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., isbn: _Optional[int] = ..., rating: _Optional[float] = ..., cover: _Optional[bytes] = ..., in_stock: _Optional[bool] = ..., out_of_stock_reason: _Optional[str] = ..., chapters: _Optional[_Iterable[_Union[Chapter, _Mapping]]] = ..., copies: _Optional[_Mapping[int, int]] = ..., weight: _Optional[float] = ..., first_edition: _Optional[bool] = ..., other_genres: _Optional[_Iterable[_Union[Genre, str]]] = ..., subtitle: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., signed: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ..., edition: _Optional[int] = ...) -> None: ...

class GetShelfRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetShelfResponse(_message.Message):
    __slots__ = ("shelf", "etag")
    SHELF_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    shelf: Shelf
    etag: str
    def __init__(self, shelf: _Optional[_Union[Shelf, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class GetBookRequest(_message.Message):
    __slots__ = ("name", "read_mask")
    NAME_FIELD_NUMBER: _ClassVar[int]
    READ_MASK_FIELD_NUMBER: _ClassVar[int]
    name: str
    read_mask: _field_mask_pb2.FieldMask
    def __init__(self, name: _Optional[str] = ..., read_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class BookFilter(_message.Message):
    __slots__ = ("genre", "tags", "published_after", "min_pages", "in_stock", "author")
    class AuthorFilter(_message.Message):
        __slots__ = ("display_name",)
        DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
        display_name: str
        def __init__(self, display_name: _Optional[str] = ...) -> None: ...
    GENRE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AFTER_FIELD_NUMBER: _ClassVar[int]
    MIN_PAGES_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    genre: Genre
    tags: _containers.RepeatedScalarFieldContainer[str]
    published_after: _timestamp_pb2.Timestamp
    min_pages: _wrappers_pb2.Int32Value
    in_stock: bool
    author: BookFilter.AuthorFilter
    def __init__(self, genre: _Optional[_Union[Genre, str]] = ..., tags: _Optional[_Iterable[str]] = ..., published_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., min_pages: _Optional[_Union[_wrappers_pb2.Int32Value, _Mapping]] = ..., in_stock: _Optional[bool] = ..., author: _Optional[_Union[BookFilter.AuthorFilter, _Mapping]] = ...) -> None: ...

class ListBooksRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter", "genres", "min_rating", "max_isbn", "show_deleted", "labels", "read_mask", "max_age", "cursor")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    MIN_RATING_FIELD_NUMBER: _ClassVar[int]
    MAX_ISBN_FIELD_NUMBER: _ClassVar[int]
    SHOW_DELETED_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    READ_MASK_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: BookFilter
    genres: _containers.RepeatedScalarFieldContainer[Genre]
    min_rating: float
    max_isbn: int
    show_deleted: bool
    labels: _containers.ScalarMap[str, str]
    read_mask: _field_mask_pb2.FieldMask
    max_age: _duration_pb2.Duration
    cursor: bytes
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[_Union[BookFilter, _Mapping]] = ..., genres: _Optional[_Iterable[_Union[Genre, str]]] = ..., min_rating: _Optional[float] = ..., max_isbn: _Optional[int] = ..., show_deleted: _Optional[bool] = ..., labels: _Optional[_Mapping[str, str]] = ..., read_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., max_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., cursor: _Optional[bytes] = ...) -> None: ...

class ListBooksResponse(_message.Message):
    __slots__ = ("books", "next_page_token", "request")
    BOOKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    books: _containers.RepeatedCompositeFieldContainer[Book]
    next_page_token: str
    request: ListBooksRequest
    def __init__(self, books: _Optional[_Iterable[_Union[Book, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., request: _Optional[_Union[ListBooksRequest, _Mapping]] = ...) -> None: ...

class CreateBookRequest(_message.Message):
    __slots__ = ("parent", "book_id", "book", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    BOOK_ID_FIELD_NUMBER: _ClassVar[int]
    BOOK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    book_id: str
    book: Book
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., book_id: _Optional[str] = ..., book: _Optional[_Union[Book, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateBookRequest(_message.Message):
    __slots__ = ("book", "update_mask")
    BOOK_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    book: Book
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, book: _Optional[_Union[Book, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteBookRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchShelfRequest(_message.Message):
    __slots__ = ("name", "after_event_id", "count", "interval", "fail_code", "fail_first")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    FAIL_CODE_FIELD_NUMBER: _ClassVar[int]
    FAIL_FIRST_FIELD_NUMBER: _ClassVar[int]
    name: str
    after_event_id: str
    count: int
    interval: _duration_pb2.Duration
    fail_code: int
    fail_first: bool
    def __init__(self, name: _Optional[str] = ..., after_event_id: _Optional[str] = ..., count: _Optional[int] = ..., interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., fail_code: _Optional[int] = ..., fail_first: _Optional[bool] = ...) -> None: ...

class WatchShelfResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: ShelfEvent
    def __init__(self, event: _Optional[_Union[ShelfEvent, _Mapping]] = ...) -> None: ...

class ShelfEvent(_message.Message):
    __slots__ = ("id", "shelf", "event_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    SHELF_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    shelf: str
    event_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., shelf: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class CompactRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CompactResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EchoRequest(_message.Message):
    __slots__ = ("book", "text", "number", "numbers", "mask", "when", "wait", "flag", "anything", "genre", "choice_a", "choice_b", "ratio", "blob", "big")
    BOOK_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    NUMBERS_FIELD_NUMBER: _ClassVar[int]
    MASK_FIELD_NUMBER: _ClassVar[int]
    WHEN_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    FLAG_FIELD_NUMBER: _ClassVar[int]
    ANYTHING_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    CHOICE_A_FIELD_NUMBER: _ClassVar[int]
    CHOICE_B_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    BIG_FIELD_NUMBER: _ClassVar[int]
    book: Book
    text: str
    number: int
    numbers: _containers.RepeatedScalarFieldContainer[int]
    mask: _field_mask_pb2.FieldMask
    when: _timestamp_pb2.Timestamp
    wait: _duration_pb2.Duration
    flag: _wrappers_pb2.BoolValue
    anything: _struct_pb2.Value
    genre: Genre
    choice_a: str
    choice_b: int
    ratio: float
    blob: bytes
    big: int
    def __init__(self, book: _Optional[_Union[Book, _Mapping]] = ..., text: _Optional[str] = ..., number: _Optional[int] = ..., numbers: _Optional[_Iterable[int]] = ..., mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., when: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., flag: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ..., anything: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., genre: _Optional[_Union[Genre, str]] = ..., choice_a: _Optional[str] = ..., choice_b: _Optional[int] = ..., ratio: _Optional[float] = ..., blob: _Optional[bytes] = ..., big: _Optional[int] = ...) -> None: ...

class EchoResponse(_message.Message):
    __slots__ = ("request", "book")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    BOOK_FIELD_NUMBER: _ClassVar[int]
    request: EchoRequest
    book: Book
    def __init__(self, request: _Optional[_Union[EchoRequest, _Mapping]] = ..., book: _Optional[_Union[Book, _Mapping]] = ...) -> None: ...

class FailRequest(_message.Message):
    __slots__ = ("code", "message", "field")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    field: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

class InspectRequest(_message.Message):
    __slots__ = ("reply_headers", "reply_trailers")
    class ReplyHeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ReplyTrailersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REPLY_HEADERS_FIELD_NUMBER: _ClassVar[int]
    REPLY_TRAILERS_FIELD_NUMBER: _ClassVar[int]
    reply_headers: _containers.ScalarMap[str, str]
    reply_trailers: _containers.ScalarMap[str, str]
    def __init__(self, reply_headers: _Optional[_Mapping[str, str]] = ..., reply_trailers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class InspectResponse(_message.Message):
    __slots__ = ("metadata", "time_remaining")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TIME_REMAINING_FIELD_NUMBER: _ClassVar[int]
    metadata: _containers.ScalarMap[str, str]
    time_remaining: _duration_pb2.Duration
    def __init__(self, metadata: _Optional[_Mapping[str, str]] = ..., time_remaining: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SleepRequest(_message.Message):
    __slots__ = ("duration",)
    DURATION_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    def __init__(self, duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class BindRequest(_message.Message):
    __slots__ = ("uuid", "ids", "genres")
    UUID_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    genres: _containers.RepeatedScalarFieldContainer[Genre]
    def __init__(self, uuid: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ..., genres: _Optional[_Iterable[_Union[Genre, str]]] = ...) -> None: ...

class CollectRequest(_message.Message):
    __slots__ = ("number", "label")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    number: int
    label: str
    def __init__(self, number: _Optional[int] = ..., label: _Optional[str] = ...) -> None: ...

class CollectResponse(_message.Message):
    __slots__ = ("total", "count", "labels")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    total: int
    count: int
    labels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, total: _Optional[int] = ..., count: _Optional[int] = ..., labels: _Optional[_Iterable[str]] = ...) -> None: ...

class DownloadRequest(_message.Message):
    __slots__ = ("name", "content_type", "parts")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    content_type: str
    parts: int
    def __init__(self, name: _Optional[str] = ..., content_type: _Optional[str] = ..., parts: _Optional[int] = ...) -> None: ...

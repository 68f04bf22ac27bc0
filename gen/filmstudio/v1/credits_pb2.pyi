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

class TransactionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSACTION_KIND_UNSPECIFIED: _ClassVar[TransactionKind]
    TRANSACTION_KIND_PURCHASE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_GRANT: _ClassVar[TransactionKind]
    TRANSACTION_KIND_MONTHLY_ALLOWANCE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_DEDUCTION: _ClassVar[TransactionKind]
    TRANSACTION_KIND_RESERVATION: _ClassVar[TransactionKind]
    TRANSACTION_KIND_CAPTURE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_RELEASE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_EXPIRY: _ClassVar[TransactionKind]
    TRANSACTION_KIND_REFUND: _ClassVar[TransactionKind]
    TRANSACTION_KIND_ADJUSTMENT: _ClassVar[TransactionKind]

class ReservationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_STATE_UNSPECIFIED: _ClassVar[ReservationState]
    RESERVATION_STATE_PENDING: _ClassVar[ReservationState]
    RESERVATION_STATE_CAPTURED: _ClassVar[ReservationState]
    RESERVATION_STATE_RELEASED: _ClassVar[ReservationState]
    RESERVATION_STATE_EXPIRED: _ClassVar[ReservationState]
TRANSACTION_KIND_UNSPECIFIED: TransactionKind
TRANSACTION_KIND_PURCHASE: TransactionKind
TRANSACTION_KIND_GRANT: TransactionKind
TRANSACTION_KIND_MONTHLY_ALLOWANCE: TransactionKind
TRANSACTION_KIND_DEDUCTION: TransactionKind
TRANSACTION_KIND_RESERVATION: TransactionKind
TRANSACTION_KIND_CAPTURE: TransactionKind
TRANSACTION_KIND_RELEASE: TransactionKind
TRANSACTION_KIND_EXPIRY: TransactionKind
TRANSACTION_KIND_REFUND: TransactionKind
TRANSACTION_KIND_ADJUSTMENT: TransactionKind
RESERVATION_STATE_UNSPECIFIED: ReservationState
RESERVATION_STATE_PENDING: ReservationState
RESERVATION_STATE_CAPTURED: ReservationState
RESERVATION_STATE_RELEASED: ReservationState
RESERVATION_STATE_EXPIRED: ReservationState

class Credits(_message.Message):
    __slots__ = ("name", "available", "reserved", "monthly", "purchased", "tier", "monthly_expire_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_FIELD_NUMBER: _ClassVar[int]
    PURCHASED_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    available: int
    reserved: int
    monthly: int
    purchased: int
    tier: str
    monthly_expire_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., available: _Optional[int] = ..., reserved: _Optional[int] = ..., monthly: _Optional[int] = ..., purchased: _Optional[int] = ..., tier: _Optional[str] = ..., monthly_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ("name", "kind", "amount", "balance_after", "reason", "actor", "request_id", "job", "reservation", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: TransactionKind
    amount: int
    balance_after: int
    reason: str
    actor: str
    request_id: str
    job: str
    reservation: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[TransactionKind, str]] = ..., amount: _Optional[int] = ..., balance_after: _Optional[int] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., job: _Optional[str] = ..., reservation: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Reservation(_message.Message):
    __slots__ = ("name", "user", "amount", "captured_amount", "state", "job", "create_time", "expire_time", "resolve_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    user: str
    amount: int
    captured_amount: int
    state: ReservationState
    job: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    resolve_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., user: _Optional[str] = ..., amount: _Optional[int] = ..., captured_amount: _Optional[int] = ..., state: _Optional[_Union[ReservationState, str]] = ..., job: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetCreditsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetCreditsResponse(_message.Message):
    __slots__ = ("credits",)
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    credits: Credits
    def __init__(self, credits: _Optional[_Union[Credits, _Mapping]] = ...) -> None: ...

class DeductCreditsRequest(_message.Message):
    __slots__ = ("user", "amount", "reason", "request_id", "job")
    USER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    user: str
    amount: int
    reason: str
    request_id: str
    job: str
    def __init__(self, user: _Optional[str] = ..., amount: _Optional[int] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., job: _Optional[str] = ...) -> None: ...

class DeductCreditsResponse(_message.Message):
    __slots__ = ("transaction", "credits")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    credits: Credits
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ..., credits: _Optional[_Union[Credits, _Mapping]] = ...) -> None: ...

class AddCreditsRequest(_message.Message):
    __slots__ = ("user", "amount", "kind", "reason", "request_id", "expire_time")
    USER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    user: str
    amount: int
    kind: TransactionKind
    reason: str
    request_id: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, user: _Optional[str] = ..., amount: _Optional[int] = ..., kind: _Optional[_Union[TransactionKind, str]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AddCreditsResponse(_message.Message):
    __slots__ = ("transaction", "credits")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    credits: Credits
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ..., credits: _Optional[_Union[Credits, _Mapping]] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "kind", "start_time", "end_time")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    kind: TransactionKind
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., kind: _Optional[_Union[TransactionKind, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ("transactions", "next_page_token")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    next_page_token: str
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CheckSufficientCreditsRequest(_message.Message):
    __slots__ = ("name", "amount")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    amount: int
    def __init__(self, name: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class CheckSufficientCreditsResponse(_message.Message):
    __slots__ = ("sufficient", "available", "shortfall")
    SUFFICIENT_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    sufficient: bool
    available: int
    shortfall: int
    def __init__(self, sufficient: _Optional[bool] = ..., available: _Optional[int] = ..., shortfall: _Optional[int] = ...) -> None: ...

class ResetMonthlyCreditsRequest(_message.Message):
    __slots__ = ("period", "user")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    period: str
    user: str
    def __init__(self, period: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class ResetMonthlyCreditsResponse(_message.Message):
    __slots__ = ("period", "granted_users", "skipped_users")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    GRANTED_USERS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_USERS_FIELD_NUMBER: _ClassVar[int]
    period: str
    granted_users: int
    skipped_users: int
    def __init__(self, period: _Optional[str] = ..., granted_users: _Optional[int] = ..., skipped_users: _Optional[int] = ...) -> None: ...

class ReserveCreditsRequest(_message.Message):
    __slots__ = ("user", "amount", "job", "ttl_seconds", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: str
    amount: int
    job: str
    ttl_seconds: int
    request_id: str
    def __init__(self, user: _Optional[str] = ..., amount: _Optional[int] = ..., job: _Optional[str] = ..., ttl_seconds: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReserveCreditsResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class CaptureReservationRequest(_message.Message):
    __slots__ = ("name", "amount")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    amount: int
    def __init__(self, name: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class CaptureReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class ReleaseReservationRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReleaseReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class HandlePaymentEventRequest(_message.Message):
    __slots__ = ("payload", "signature")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    signature: str
    def __init__(self, payload: _Optional[bytes] = ..., signature: _Optional[str] = ...) -> None: ...

class HandlePaymentEventResponse(_message.Message):
    __slots__ = ("event_id", "applied", "outcome")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    applied: bool
    outcome: str
    def __init__(self, event_id: _Optional[str] = ..., applied: _Optional[bool] = ..., outcome: _Optional[str] = ...) -> None: ...

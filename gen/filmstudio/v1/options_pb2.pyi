from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class Access(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_UNSPECIFIED: _ClassVar[Access]
    ACCESS_PUBLIC: _ClassVar[Access]
    ACCESS_USER: _ClassVar[Access]
    ACCESS_ADMIN: _ClassVar[Access]
    ACCESS_INTERNAL: _ClassVar[Access]

class RateClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RATE_CLASS_UNSPECIFIED: _ClassVar[RateClass]
    RATE_CLASS_READ: _ClassVar[RateClass]
    RATE_CLASS_WRITE: _ClassVar[RateClass]
    RATE_CLASS_EXPENSIVE: _ClassVar[RateClass]
    RATE_CLASS_AUTH: _ClassVar[RateClass]
    RATE_CLASS_UNLIMITED: _ClassVar[RateClass]
ACCESS_UNSPECIFIED: Access
ACCESS_PUBLIC: Access
ACCESS_USER: Access
ACCESS_ADMIN: Access
ACCESS_INTERNAL: Access
RATE_CLASS_UNSPECIFIED: RateClass
RATE_CLASS_READ: RateClass
RATE_CLASS_WRITE: RateClass
RATE_CLASS_EXPENSIVE: RateClass
RATE_CLASS_AUTH: RateClass
RATE_CLASS_UNLIMITED: RateClass
ACCESS_FIELD_NUMBER: _ClassVar[int]
access: _descriptor.FieldDescriptor
MAX_REQUEST_BYTES_FIELD_NUMBER: _ClassVar[int]
max_request_bytes: _descriptor.FieldDescriptor
RATE_CLASS_FIELD_NUMBER: _ClassVar[int]
rate_class: _descriptor.FieldDescriptor

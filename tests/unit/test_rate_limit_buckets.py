"""Rate limits without I/O: the bucket's arithmetic on a fake clock, keys, refusals, settings."""

from __future__ import annotations

import pytest
from filmstudio.v1 import options_pb2
from google.rpc import error_details_pb2

from services.bootstrap import SERVICES
from services.common import errors, rate_buckets
from services.common.access import rate_class_table
from services.common.config import explicit_settings
from services.common.context import Principal, PrincipalKind
from services.common.rate_buckets import LocalBuckets, Policy
from services.common.rate_limits import MethodLimit, RateLimiter
from services.common.status import to_rpc_status
from tests.support.descriptors import access_of, all_methods


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


USER = Principal(PrincipalKind.USER, "42")
SERVICE = Principal(PrincipalKind.SERVICE, "worker")
KEY = ("write", "users/42")


def test_a_bucket_allows_its_burst_then_says_how_long_to_wait() -> None:
    clock = Clock()
    buckets = LocalBuckets(clock)
    policy = Policy(rate=2.0, burst=3)
    assert [buckets.take(KEY, policy) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take(KEY, policy) == pytest.approx(0.5)
    clock.now += 0.25
    assert buckets.take(KEY, policy) == pytest.approx(0.25)  # a refusal takes nothing
    clock.now += 0.25
    assert buckets.take(KEY, policy) == 0.0
    assert buckets.take(KEY, policy) == pytest.approx(0.5)


def test_a_bucket_refills_to_its_burst_and_no_further() -> None:
    clock = Clock()
    buckets = LocalBuckets(clock)
    policy = Policy(rate=1.0, burst=2)
    buckets.take(KEY, policy)
    buckets.take(KEY, policy)
    clock.now += 3600
    assert [buckets.take(KEY, policy) for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_buckets_are_per_key() -> None:
    buckets = LocalBuckets(Clock())
    policy = Policy(rate=1.0, burst=1)
    assert buckets.take(KEY, policy) == 0.0
    assert buckets.take(KEY, policy) > 0
    assert buckets.take(("write", "users/43"), policy) == 0.0
    assert buckets.take(("read", "users/42"), policy) == 0.0


def test_full_buckets_are_forgotten_when_the_table_is_full() -> None:
    clock = Clock()
    buckets = LocalBuckets(clock, max_entries=3)
    policy = Policy(rate=1.0, burst=2)
    for subject in ("a", "b", "c"):
        buckets.take(("write", subject), policy)
    clock.now += 5  # every bucket is full again: a new key sweeps them out
    buckets.take(("write", "d"), policy)
    assert len(buckets) == 1
    clock.now += 0.5
    for subject in ("e", "f"):
        buckets.take(("write", subject), policy)
    buckets.take(("write", "g"), policy)  # three filling buckets: the table starts afresh
    assert len(buckets) == 1


def _limit(rate_class: str = "write") -> MethodLimit:
    return MethodLimit(rate_class, Policy(1.0, 1), LocalBuckets(Clock()), None)


def test_users_count_by_account_and_anonymous_callers_by_address() -> None:
    assert _limit().keys(USER, "192.0.2.1") == (("write", "users/42"),)
    assert _limit().keys(None, "192.0.2.1") == (("write", "clientip:192.0.2.1"),)


def test_auth_calls_count_by_address_as_well() -> None:
    assert _limit("auth").keys(USER, "192.0.2.1") == (
        ("auth", "clientip:192.0.2.1"),
        ("auth", "users/42"),
    )
    assert _limit("auth").keys(None, "192.0.2.1") == (("auth", "clientip:192.0.2.1"),)


def test_services_and_in_process_calls_are_never_limited() -> None:
    limit = _limit()
    assert limit.keys(SERVICE, "192.0.2.1") == ()
    assert limit.keys(None, "") == ()
    for _ in range(10):
        limit.take_local(SERVICE, "192.0.2.1")


def test_a_refusal_is_resource_exhausted_with_retry_info_and_quota_failure() -> None:
    limit = _limit()
    limit.take_local(USER, "192.0.2.1")
    with pytest.raises(errors.ResourceExhausted) as raised:
        limit.take_local(USER, "192.0.2.1")
    status = to_rpc_status(raised.value)
    info, quota, retry = (
        error_details_pb2.ErrorInfo(),
        error_details_pb2.QuotaFailure(),
        error_details_pb2.RetryInfo(),
    )
    assert [status.details[i].Unpack(m) for i, m in enumerate((info, quota, retry))] == [True] * 3
    assert info.reason == "RATE_LIMITED"
    assert dict(info.metadata) == {"rate_class": "write", "per_minute": "60", "burst": "1"}
    assert quota.violations[0].subject == "users/42"
    assert retry.retry_delay.ToTimedelta().total_seconds() == pytest.approx(1.0)


def test_settings_override_classes_and_zero_turns_one_off() -> None:
    settings = explicit_settings(
        RATE_LIMITS={"write": {"per_minute": 30}, "read": {"per_minute": 0}}
    )
    policies = rate_buckets.policies(settings.rate_limits)
    assert policies["write"] == Policy(0.5, rate_buckets.DEFAULT_LIMITS["write"]["burst"])
    assert "read" not in policies
    table = {"/a/Read": "read", "/a/Write": "write", "/a/Internal": None}
    limiter = RateLimiter(table, policies)
    assert limiter.for_method("/a/Read") is None
    assert limiter.for_method("/a/Internal") is None
    assert limiter.for_method("/a/Write") is not None


@pytest.mark.parametrize(
    "values",
    [
        {"RATE_LIMITS": {"writes": {"per_minute": 1}}},
        {"RATE_LIMITS": {"write": {"per_second": 1}}},
        {"RATE_LIMITS": {"write": {"burst": -1}}},
        {"RATE_LIMIT_LOCAL_CLASSES": "read,reads"},
    ],
)
def test_bad_rate_limit_settings_are_refused(values) -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT"):
        explicit_settings(**values)


def test_rate_limits_can_be_turned_off() -> None:
    settings = explicit_settings(RATE_LIMITS_ENABLED=False)
    assert RateLimiter.from_settings(settings, {"/a/Write": "write"}) is None


def test_only_the_read_class_stays_in_the_process_by_default_with_redis() -> None:
    settings = explicit_settings(REDIS_URL="redis://127.0.0.1:1/0")
    limiter = RateLimiter.from_settings(settings, {"/a/R": "read", "/a/W": "write"})
    assert limiter is not None
    read, write = limiter.for_method("/a/R"), limiter.for_method("/a/W")
    assert read is not None
    assert read.shared is None
    assert write is not None
    assert write.shared is not None


@pytest.mark.parametrize("method", all_methods(), ids=lambda m: m.full_name)
def test_every_rpc_outside_callers_may_use_declares_a_rate_class(method) -> None:
    declared = method.GetOptions().Extensions[options_pb2.rate_class]
    if access_of(method) == options_pb2.ACCESS_INTERNAL:
        assert declared == options_pb2.RATE_CLASS_UNSPECIFIED, "services are never limited"
    else:
        assert declared != options_pb2.RATE_CLASS_UNSPECIFIED


def test_the_class_table_names_the_contracts_classes() -> None:
    table = rate_class_table(spec.full_name for spec in SERVICES.values())
    assert table["/filmstudio.v1.UserService/Login"] == "auth"
    assert table["/filmstudio.v1.UserService/RegisterUser"] == "auth"
    assert table["/filmstudio.v1.AIJobService/CreateJob"] == "expensive"
    assert table["/filmstudio.v1.ProjectService/GetProject"] == "read"
    assert table["/filmstudio.v1.ProjectService/CreateProject"] == "write"
    assert table["/filmstudio.v1.CreditsService/HandlePaymentEvent"] is None

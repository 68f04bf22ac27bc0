"""One settings object, read from the environment at start-up and passed down."""

from __future__ import annotations

import json
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from services.common.addresses import LOOPBACK, parse_networks
from services.common.rate_buckets import CLASSES, check_overrides

MIN_JWT_SECRET_BYTES = 32
SUPPORTED_JWT_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "EdDSA")
MAX_SOCKET_PATH = 100  # a Unix socket's path fits in 108 bytes (sun_path)


class Environment(StrEnum):
    """Where the process runs: development allows embedded defaults, production does not."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigError(ValueError):
    """A setting is missing or invalid; the process must not start."""


class Settings(BaseSettings):
    """Every knob of FilmStudio, with the environment names the product documents."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Environment = Field(default=Environment.DEVELOPMENT, alias="FILMSTUDIO_ENV")
    var_dir: Path = Field(default=Path("var"), alias="FILMSTUDIO_VAR_DIR")

    # Database: SQLite under var/ is the embedded default; PostgreSQL in production.
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    database_pool_size: int = Field(default=10, ge=1, le=200, alias="DATABASE_POOL_SIZE")
    database_echo: bool = Field(default=False, alias="DATABASE_ECHO")
    # Hot reads kept per process until the database announces a change (0: off; PostgreSQL).
    read_cache_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0, le=2**40, alias="READ_CACHE_BYTES"
    )

    # Tokens.
    jwt_secret: SecretStr | None = Field(default=None, alias="JWT_SECRET")
    jwt_algorithm: str = Field(default="HS256", alias="JWT_ALGORITHM")
    jwt_private_key: SecretStr | None = Field(default=None, alias="JWT_PRIVATE_KEY")
    jwt_public_key: str | None = Field(default=None, alias="JWT_PUBLIC_KEY")
    jwt_issuer: str = Field(default="filmstudio", alias="JWT_ISSUER")
    jwt_audience: str = Field(default="filmstudio-api", alias="JWT_AUDIENCE")
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300, alias="JWT_LEEWAY_SECONDS")

    # gRPC server.
    grpc_host: str = Field(default="127.0.0.1", alias="GRPC_HOST")
    grpc_port: int = Field(default=50051, ge=0, le=65535, alias="GRPC_PORT")
    # A Unix socket served beside the port, for clients on this machine (the gateway): a call
    # over it costs both processes less than over loopback TCP. Empty: none.
    grpc_unix_socket: str = Field(default="", max_length=MAX_SOCKET_PATH, alias="GRPC_UNIX_SOCKET")
    grpc_max_message_bytes: int = Field(default=8 * 1024 * 1024, alias="GRPC_MAX_MESSAGE_BYTES")
    # The largest request of an RPC whose contract declares no max_request_bytes (most do not).
    grpc_max_request_bytes: int = Field(
        default=64 * 1024, ge=1024, le=64 * 1024 * 1024, alias="GRPC_MAX_REQUEST_BYTES"
    )
    # Copies of the server on one port (`filmstudio serve`): one Python process uses ~one core.
    grpc_processes: int = Field(default=1, ge=1, le=64, alias="GRPC_PROCESSES")
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, alias="SHUTDOWN_GRACE_SECONDS")
    # Server reflection (grpcurl, buf curl without protos); production may turn it off.
    grpc_reflection: bool = Field(default=True, alias="GRPC_REFLECTION")
    # Proxies whose X-Forwarded-For is believed (comma list of IPs/CIDRs). The gateway appends
    # its peer to a trusted peer's header and replaces an untrusted one's; the server takes the
    # rightmost address that is not a trusted proxy. Default: this host (the embedded gateway).
    trusted_proxies: str = Field(default=LOOPBACK, alias="TRUSTED_PROXIES")

    # REST gateway.
    gateway_host: str = Field(default="127.0.0.1", alias="GATEWAY_HOST")
    gateway_port: int = Field(default=8080, ge=0, le=65535, alias="GATEWAY_PORT")
    # How the gateway makes unary calls upstream: its lean HTTP/2 client, or grpcio's.
    gateway_upstream_client: Literal["h2c", "grpcio"] = Field(
        default="h2c", alias="GATEWAY_UPSTREAM_CLIENT"
    )
    # Refuse (400) the input grpc-gateway ignores: unknown JSON fields and query keys, query
    # values for fields bound by the path or body, bad Grpc-Metadata-* headers. Off: ignored.
    gateway_strict_input: bool = Field(default=False, alias="GATEWAY_STRICT_INPUT")
    # Serve unary GETs past the gateway's ASGI middleware (gateway/lane.py), with the same
    # answers for less CPU; off sends every request through the whole stack.
    gateway_direct_lane: bool = Field(default=True, alias="GATEWAY_DIRECT_LANE")

    # Rate limits (README "Rate limits"): a token bucket per user (per client address when
    # anonymous; auth calls per address too) and RPC class. RATE_LIMITS overrides the defaults
    # by class, e.g. {"write": {"per_minute": 300, "burst": 60}}; per_minute 0 turns one off.
    # With REDIS_URL the buckets are shared by every process, except the classes named in
    # RATE_LIMIT_LOCAL_CLASSES, which each process counts alone (reads: a Redis round trip on
    # every read would cost more than the limit protects).
    rate_limits_enabled: bool = Field(default=True, alias="RATE_LIMITS_ENABLED")
    rate_limits: dict[str, dict[str, float]] = Field(default_factory=dict, alias="RATE_LIMITS")
    rate_limit_local_classes: str = Field(default="read", alias="RATE_LIMIT_LOCAL_CLASSES")

    # Queue and events.
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    queue_prefix: str = Field(default="filmstudio", alias="QUEUE_PREFIX")
    # Where workers and the job service reach the services they call (default: this server).
    jobs_service_address: str | None = Field(default=None, alias="JOBS_SERVICE_ADDR")
    credits_service_address: str | None = Field(default=None, alias="CREDITS_SERVICE_ADDR")
    worker_concurrency: int = Field(default=2, ge=0, le=64, alias="WORKER_CONCURRENCY")
    heartbeat_interval_seconds: float = Field(default=1.0, gt=0, le=30, alias="HEARTBEAT_INTERVAL")
    # A running job whose worker is silent this long is requeued or failed.
    heartbeat_timeout_seconds: float = Field(default=15.0, gt=0, le=600, alias="HEARTBEAT_TIMEOUT")
    reaper_interval_seconds: float = Field(default=5.0, gt=0, le=300, alias="REAPER_INTERVAL")
    job_max_attempts: int = Field(default=3, ge=1, le=10, alias="JOB_MAX_ATTEMPTS")
    stage_retries: int = Field(default=2, ge=0, le=10, alias="STAGE_RETRIES")
    stage_retry_base_seconds: float = Field(default=1.0, ge=0, le=60, alias="STAGE_RETRY_BASE")
    # Stages of one job that may run at once when they do not depend on each other (images
    # beside the voice): about the worker's cores.
    stage_parallelism: int = Field(default=2, ge=1, le=16, alias="STAGE_PARALLELISM")
    # Scene images: "storyboard" (torch, no weights) or "diffusers" (a pipeline in MODEL_DIR).
    image_engine: Literal["storyboard", "diffusers"] = Field(
        default="storyboard", alias="IMAGE_ENGINE"
    )
    model_dir: Path | None = Field(default=None, alias="MODEL_DIR")
    job_hold_ttl_seconds: int = Field(default=6 * 3600, ge=60, alias="JOB_HOLD_TTL")
    # JSON overrides of the price list, e.g. {"full_generation": {"base": 20, "per_minute": 10}}.
    job_costs: dict[str, dict[str, float]] = Field(default_factory=dict, alias="JOB_COSTS")
    # Diagnostic job parameters (sleep, forced failures) are for tests and operators only.
    job_diagnostics: bool = Field(default=False, alias="JOB_DIAGNOSTICS")
    event_stream_maxlen: int = Field(default=1000, ge=10, alias="JOB_EVENT_STREAM_MAXLEN")
    # Speech: "piper" (neural, the joe voice), "espeak-ng", or "command" (VOICE_COMMAND, an argv
    # with {output} {voice} {wpm} slots, and VOICE_COMMAND_VOICES). A job's extra.voice_engine
    # overrides it. ffmpeg is FFMPEG, else the PATH's, else imageio-ffmpeg's (read by the stages).
    voice_engine: Literal["piper", "espeak-ng", "command"] = Field(
        default="piper", alias="VOICE_ENGINE"
    )
    voice_command: str | None = Field(default=None, alias="VOICE_COMMAND")
    voice_command_voices: str = Field(default="", alias="VOICE_COMMAND_VOICES")

    # Object storage: a local directory by default, any S3 API when S3_BUCKET_NAME is set.
    aws_access_key_id: str | None = Field(default=None, alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr | None = Field(default=None, alias="AWS_SECRET_ACCESS_KEY")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    s3_bucket_name: str | None = Field(default=None, alias="S3_BUCKET_NAME")
    s3_endpoint_url: str | None = Field(default=None, alias="S3_ENDPOINT_URL")

    # Accounts: token lifetimes, lockout, links in mail.
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600, alias="ACCESS_TOKEN_TTL")
    refresh_token_ttl_seconds: int = Field(
        default=30 * 86400, ge=3600, le=90 * 86400, alias="REFRESH_TOKEN_TTL"
    )
    # A session ends this long after sign-in however often it is refreshed.
    session_max_age_seconds: int = Field(
        default=90 * 86400, ge=3600, le=365 * 86400, alias="SESSION_MAX_AGE"
    )
    # Two tabs may refresh with the same token at once: within this many seconds of its use, a
    # spent refresh token gets a fresh pair instead of revoking its session as reuse (0: never).
    refresh_reuse_grace_seconds: int = Field(default=30, ge=0, le=300, alias="REFRESH_REUSE_GRACE")
    bcrypt_rounds: int = Field(default=12, ge=4, le=16, alias="BCRYPT_ROUNDS")
    # Password hashes computed at once (each takes a core for ~0.25 s); a burst queues briefly.
    password_hash_concurrency: int = Field(
        default=4, ge=1, le=64, alias="PASSWORD_HASH_CONCURRENCY"
    )
    public_base_url: str = Field(default="http://127.0.0.1:8080", alias="PUBLIC_BASE_URL")
    smtp_url: str | None = Field(default=None, alias="SMTP_URL")
    mail_from: str = Field(default="FilmStudio <no-reply@filmstudio.local>", alias="MAIL_FROM")

    # OAuth sign-in providers; endpoints are configurable so tests run the real flow locally.
    google_client_id: str | None = Field(default=None, alias="GOOGLE_CLIENT_ID")
    google_client_secret: SecretStr | None = Field(default=None, alias="GOOGLE_CLIENT_SECRET")
    google_redirect_uri: str = Field(
        default="http://127.0.0.1:8080/auth/callback/google", alias="GOOGLE_REDIRECT_URI"
    )
    google_authorize_url: str = Field(
        default="https://accounts.google.com/o/oauth2/v2/auth", alias="GOOGLE_AUTHORIZE_URL"
    )
    google_token_url: str = Field(
        default="https://oauth2.googleapis.com/token", alias="GOOGLE_TOKEN_URL"
    )
    google_jwks_url: str = Field(
        default="https://www.googleapis.com/oauth2/v3/certs", alias="GOOGLE_JWKS_URL"
    )
    google_issuer: str = Field(default="https://accounts.google.com", alias="GOOGLE_ISSUER")
    github_client_id: str | None = Field(default=None, alias="GITHUB_CLIENT_ID")
    github_client_secret: SecretStr | None = Field(default=None, alias="GITHUB_CLIENT_SECRET")
    github_redirect_uri: str = Field(
        default="http://127.0.0.1:8080/auth/callback/github", alias="GITHUB_REDIRECT_URI"
    )
    github_authorize_url: str = Field(
        default="https://github.com/login/oauth/authorize", alias="GITHUB_AUTHORIZE_URL"
    )
    github_token_url: str = Field(
        default="https://github.com/login/oauth/access_token", alias="GITHUB_TOKEN_URL"
    )
    github_api_url: str = Field(default="https://api.github.com", alias="GITHUB_API_URL")

    # YouTube.
    youtube_client_id: str | None = Field(default=None, alias="YOUTUBE_CLIENT_ID")
    youtube_client_secret: SecretStr | None = Field(default=None, alias="YOUTUBE_CLIENT_SECRET")
    youtube_redirect_uri: str = Field(
        default="http://127.0.0.1:8080/youtube/callback", alias="YOUTUBE_REDIRECT_URI"
    )
    youtube_authorize_url: str = Field(
        default="https://accounts.google.com/o/oauth2/v2/auth", alias="YOUTUBE_AUTHORIZE_URL"
    )
    youtube_token_url: str = Field(
        default="https://oauth2.googleapis.com/token", alias="YOUTUBE_TOKEN_URL"
    )
    youtube_revoke_url: str = Field(
        default="https://oauth2.googleapis.com/revoke", alias="YOUTUBE_REVOKE_URL"
    )
    # The root of the Data API and of its upload endpoints (the discovery document's rootUrl).
    youtube_api_url: str = Field(default="https://youtube.googleapis.com", alias="YOUTUBE_API_URL")
    # Refresh tokens are encrypted with the first key; the others still decrypt (rotation).
    # "kid:base64url-32-bytes[,kid:key...]". Unset outside production: derived from JWT_SECRET.
    youtube_token_keys: SecretStr | None = Field(default=None, alias="YOUTUBE_TOKEN_KEYS")
    youtube_chunk_bytes: int = Field(
        default=8 * 1024 * 1024, ge=256 * 1024, alias="YOUTUBE_CHUNK_BYTES"
    )
    youtube_upload_retries: int = Field(default=8, ge=0, le=20, alias="YOUTUBE_UPLOAD_RETRIES")
    youtube_retry_base_seconds: float = Field(
        default=1.0, ge=0, le=60, alias="YOUTUBE_RETRY_BASE_SECONDS"
    )
    youtube_service_address: str | None = Field(default=None, alias="YOUTUBE_SERVICE_ADDR")
    # Moderation on: only APPROVED projects may be uploaded; off: COMPLETED ones too.
    youtube_require_approval: bool = Field(default=False, alias="YOUTUBE_REQUIRE_APPROVAL")

    # Prometheus. The gateway answers GET /metrics on its own port (GATEWAY_METRICS, no auth:
    # keep it from the internet at the load balancer, or turn it off and use METRICS_PORT).
    # Processes without an HTTP server (`serve`, `worker`) serve it on METRICS_PORT when set;
    # copy i of `--processes N` on METRICS_PORT + i, so that each copy is its own target.
    metrics_host: str = Field(default="127.0.0.1", alias="METRICS_HOST")
    metrics_port: int | None = Field(default=None, ge=0, le=65535, alias="METRICS_PORT")
    gateway_metrics: bool = Field(default=True, alias="GATEWAY_METRICS")

    # OpenTelemetry traces (services/common/tracing.py): off unless a collector's OTLP/HTTP base
    # URL is set (spans go to its /v1/traces). OTEL_SERVICE_NAME overrides each process's own
    # name (filmstudio-serve, filmstudio-worker, filmstudio-gateway, ...); the SDK's own
    # OTEL_BSP_* variables tune the batching.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    otel_service_name: str | None = Field(default=None, alias="OTEL_SERVICE_NAME")

    # Logging.
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    log_format: str | None = Field(default=None, alias="LOG_FORMAT")

    # Credits: monthly allowance per tier (JSON, e.g. {"free": 100, "creator": 1000}), hold TTL,
    # the period of expiry/allowance work, and payments (webhook secret, price id -> credits).
    credits_monthly_allowances: dict[str, int] = Field(
        default_factory=lambda: {"free": 100, "creator": 1000, "studio": 5000},
        alias="CREDITS_MONTHLY_ALLOWANCES",
    )
    credits_hold_ttl_seconds: int = Field(
        default=3600, ge=1, le=7 * 86400, alias="CREDITS_HOLD_TTL"
    )
    credits_expiry_interval_seconds: float = Field(
        default=60.0, gt=0, alias="CREDITS_EXPIRY_INTERVAL"
    )
    # Let the background work grant each active user the current month's allowance (off: a
    # scheduler calls ResetMonthlyCredits at the start of each month).
    credits_auto_monthly: bool = Field(default=False, alias="CREDITS_AUTO_MONTHLY")
    payment_webhook_secret: SecretStr | None = Field(default=None, alias="PAYMENT_WEBHOOK_SECRET")
    payment_webhook_tolerance_seconds: int = Field(
        default=300, ge=1, le=3600, alias="PAYMENT_WEBHOOK_TOLERANCE"
    )
    credit_packages: dict[str, int] = Field(default_factory=dict, alias="CREDIT_PACKAGES")

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        try:
            parse_networks(value)
        except ValueError as error:
            raise ConfigError(f"TRUSTED_PROXIES: {error}") from None
        return value

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _decode_rate_limits(cls, value: object) -> object:
        # The environment source decodes JSON; a string given directly (Settings(**env)) too.
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("rate_limits")
    @classmethod
    def _check_rate_limits(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        try:
            check_overrides(value)
        except ValueError as error:
            raise ConfigError(f"RATE_LIMITS: {error}") from None
        return value

    @field_validator("rate_limit_local_classes")
    @classmethod
    def _check_local_classes(cls, value: str) -> str:
        unknown = [c for c in (p.strip() for p in value.split(",")) if c and c not in CLASSES]
        if unknown:
            raise ConfigError(f"RATE_LIMIT_LOCAL_CLASSES: unknown class {unknown[0]!r}")
        return value

    @field_validator("youtube_chunk_bytes")
    @classmethod
    def _check_chunk(cls, value: int) -> int:
        if value % (256 * 1024):
            raise ConfigError("YOUTUBE_CHUNK_BYTES must be a multiple of 262144 (256 KiB)")
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.jwt_algorithm not in SUPPORTED_JWT_ALGORITHMS:
            raise ConfigError(
                f"JWT_ALGORITHM={self.jwt_algorithm!r} is not supported; "
                f"use one of {', '.join(SUPPORTED_JWT_ALGORITHMS)}"
            )
        if self.log_format not in (None, "json", "text"):
            raise ConfigError("LOG_FORMAT must be 'json' or 'text'")
        if self.environment is Environment.PRODUCTION:
            self._check_production()
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret is not None else ""
        weak = secret and len(secret.encode()) < MIN_JWT_SECRET_BYTES
        if weak and self.environment is not Environment.DEVELOPMENT:
            raise ConfigError(
                f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes outside development"
            )
        return self

    def _check_production(self) -> None:
        missing = [name for name, value in (("DATABASE_URL", self.database_url),) if not value]
        if self.jwt_algorithm.startswith("HS"):
            if self.jwt_secret is None:
                missing.append("JWT_SECRET")
            elif len(self.jwt_secret.get_secret_value().encode()) < MIN_JWT_SECRET_BYTES:
                raise ConfigError(
                    f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes in production"
                )
        elif self.jwt_private_key is None or self.jwt_public_key is None:
            missing.extend(["JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"])
        if self.youtube_client_id and self.youtube_token_keys is None:
            missing.append("YOUTUBE_TOKEN_KEYS")
        if missing:
            raise ConfigError(f"missing required production settings: {', '.join(missing)}")

    @property
    def is_production(self) -> bool:
        """Tell whether embedded defaults are forbidden."""
        return self.environment is Environment.PRODUCTION

    @property
    def effective_database_url(self) -> str:
        """Return the database URL, defaulting to a SQLite file under var/."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.var_dir / 'filmstudio.db'}"

    @property
    def effective_log_format(self) -> str:
        """Return 'json' in production and 'text' in development unless LOG_FORMAT says."""
        if self.log_format:
            return self.log_format
        return "json" if self.is_production else "text"

    @property
    def grpc_address(self) -> str:
        """Return HOST:PORT the gRPC server binds."""
        return f"{self.grpc_host}:{self.grpc_port}"

    @property
    def grpc_target(self) -> str:
        """Return where a client in this deployment reaches the gRPC server."""
        host = "127.0.0.1" if self.grpc_host in ("0.0.0.0", "::", "") else self.grpc_host
        return f"{host}:{self.grpc_port}"

    @property
    def local_grpc_target(self) -> str:
        """Return where a client on this machine reaches the gRPC server: its socket, if any."""
        return f"unix:{self.grpc_unix_socket}" if self.grpc_unix_socket else self.grpc_target

    def signing_secret(self) -> str:
        """Return the HMAC secret, creating a persistent random one under var/ in development."""
        if self.jwt_secret is not None:
            secret = self.jwt_secret.get_secret_value()
            if len(secret.encode()) < MIN_JWT_SECRET_BYTES and self.is_production:
                raise ConfigError(f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes")
            return secret
        if self.is_production:
            raise ConfigError("JWT_SECRET is required in production")
        path = self.var_dir / "jwt_secret"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.write_text(secret)
        path.chmod(0o600)
        return secret


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]


class _ExplicitSettings(Settings):
    """Settings from the values given and the defaults alone: no environment, no .env file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def explicit_settings(**values: object) -> Settings:
    """Build settings from the given values (by environment name) and defaults, never the env."""
    return _ExplicitSettings(**values)  # type: ignore[arg-type]

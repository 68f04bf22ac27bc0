"""Which artifact storage a process uses: S3 when a bucket is configured, else a local directory."""

from __future__ import annotations

import logging

from services.common.config import Settings
from services.common.storage import LocalStorage, Storage

log = logging.getLogger(__name__)


def storage_from_settings(settings: Settings) -> Storage:
    """Return S3 storage when S3_BUCKET_NAME is set, else a directory under the var dir."""
    if settings.s3_bucket_name:
        # boto3 costs ~0.3 s to import: only a studio that stores on S3 pays for it.
        from services.common.s3_storage import S3Storage

        secret = settings.aws_secret_access_key
        return S3Storage.connect(
            settings.s3_bucket_name,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.aws_region,
            access_key_id=settings.aws_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
    if settings.is_production:
        log.warning("S3_BUCKET_NAME is not set: artifacts stay on this machine's disk")
    return LocalStorage(settings.var_dir / "artifacts")

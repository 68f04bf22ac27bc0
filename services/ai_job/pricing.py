"""The price of a job: a base per job type plus a rate per started minute, by resolution."""

from __future__ import annotations

import math
from collections.abc import Mapping

JOB_TYPES = (
    "script_analysis",
    "image_generation",
    "voice_synthesis",
    "video_composition",
    "subtitle_generation",
    "thumbnail_generation",
    "full_generation",
    "youtube_upload",
)

DEFAULT_COSTS: dict[str, dict[str, float]] = {
    "script_analysis": {"base": 1, "per_minute": 0},
    "image_generation": {"base": 5, "per_minute": 4},
    "voice_synthesis": {"base": 2, "per_minute": 1},
    "video_composition": {"base": 5, "per_minute": 3},
    "subtitle_generation": {"base": 1, "per_minute": 0},
    "thumbnail_generation": {"base": 2, "per_minute": 0},
    "full_generation": {"base": 10, "per_minute": 8},
    "youtube_upload": {"base": 2, "per_minute": 0},
}
RESOLUTION_FACTOR = {"720p": 1.0, "1080p": 1.5}


def price(
    job_type: str,
    duration_seconds: int,
    resolution: str,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> int:
    """Return the credits a job costs (at least 1)."""
    table = {**DEFAULT_COSTS, **(overrides or {})}
    entry = table[job_type]
    minutes = math.ceil(max(duration_seconds, 0) / 60)
    factor = RESOLUTION_FACTOR.get(resolution, 1.0)
    return max(1, math.ceil(entry.get("base", 0) + entry.get("per_minute", 0) * minutes * factor))

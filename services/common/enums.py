"""The contract's shared enums (common.proto) as the domain names every domain uses."""

from __future__ import annotations

from filmstudio.v1 import common_pb2

STYLE: dict[int, str] = {
    common_pb2.STYLE_CINEMATIC: "cinematic",
    common_pb2.STYLE_DOCUMENTARY: "documentary",
    common_pb2.STYLE_NOIR: "noir",
    common_pb2.STYLE_ANIME: "anime",
    common_pb2.STYLE_WATERCOLOR: "watercolor",
    common_pb2.STYLE_SKETCH: "sketch",
}
ASPECT: dict[int, str] = {
    common_pb2.ASPECT_RATIO_16_9: "16:9",
    common_pb2.ASPECT_RATIO_9_16: "9:16",
    common_pb2.ASPECT_RATIO_1_1: "1:1",
}
RESOLUTION: dict[int, str] = {
    common_pb2.RESOLUTION_720P: "720p",
    common_pb2.RESOLUTION_1080P: "1080p",
}
PROJECT_STATUS: dict[int, str] = {
    int(value): name.removeprefix("PROJECT_STATUS_").lower()
    for name, value in common_pb2.ProjectStatus.items()
    if value
}
JOB_TYPE: dict[int, str] = {
    int(value): name.removeprefix("JOB_TYPE_").lower()
    for name, value in common_pb2.JobType.items()
    if value
}
JOB_STATUS: dict[int, str] = {
    int(value): name.removeprefix("JOB_STATUS_").lower()
    for name, value in common_pb2.JobStatus.items()
    if value
}


def reverse(table: dict[int, str]) -> dict[str, int]:
    """Return the table from domain name back to enum number."""
    return {name: value for value, name in table.items()}


STYLE_VALUE, ASPECT_VALUE, RESOLUTION_VALUE = reverse(STYLE), reverse(ASPECT), reverse(RESOLUTION)
PROJECT_STATUS_VALUE = reverse(PROJECT_STATUS)
JOB_TYPE_VALUE, JOB_STATUS_VALUE = reverse(JOB_TYPE), reverse(JOB_STATUS)


def enum_name(table: dict[int, str], value: int) -> str:
    """Map an enum number to its domain name; unknown numbers map to "?" to fail validation."""
    return table.get(value, "" if value == 0 else "?")

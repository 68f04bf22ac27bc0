"""Where ffmpeg is, and what a media file holds: pip alone brings both, no system package.

ffmpeg is `$FFMPEG`, else the one on the PATH, else the static build imageio-ffmpeg ships.
That build has no ffprobe, so files are probed in-process with PyAV.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from services.ai_job.pipeline.ports import ToolFailed

if TYPE_CHECKING:
    from av.stream import Stream

log = logging.getLogger(__name__)


@functools.cache
def ffmpeg_exe() -> str:
    """Return the path of the ffmpeg to run: `$FFMPEG`, the PATH's, or imageio-ffmpeg's."""
    configured = os.environ.get("FFMPEG", "").strip()
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ToolFailed(f"FFMPEG={configured!r} is not an executable program")
        return found
    found = shutil.which("ffmpeg")
    if found is not None:
        return found
    try:
        import imageio_ffmpeg
    except ImportError as error:
        raise ToolFailed("no ffmpeg: set FFMPEG or pip install imageio-ffmpeg") from error
    bundled = str(imageio_ffmpeg.get_ffmpeg_exe())
    log.info("using the ffmpeg imageio-ffmpeg ships: %s", bundled)
    return bundled


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a media file as its container describes it."""

    index: int
    kind: str  # "video", "audio", "subtitle", "data"
    codec: str  # "h264", "aac", "mov_text", "pcm_s16le", ...
    profile: str | None = None  # "High", "LC", ...
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    pixel_format: str | None = None
    frame_rate: float | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    """A media file's container format, duration and streams."""

    format: str
    duration_s: float
    streams: tuple[StreamInfo, ...]

    def of_kind(self, kind: str) -> list[StreamInfo]:
        """Return the streams of one kind ("video", "audio", "subtitle")."""
        return [stream for stream in self.streams if stream.kind == kind]


def probe(path: Path | str) -> MediaInfo:
    """Read a media file's format, duration and streams with PyAV; ToolFailed if unreadable."""
    import av

    try:
        with av.open(str(path)) as container:
            streams = tuple(_stream_info(stream) for stream in container.streams)
            if container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = max((s.duration_s or 0.0 for s in streams), default=0.0)
            return MediaInfo(container.format.name, float(duration), streams)
    except (av.error.FFmpegError, OSError) as error:
        raise ToolFailed(f"cannot read media file {Path(path).name}: {error}") from error


def _stream_info(stream: Stream) -> StreamInfo:
    import av

    context = stream.codec_context
    duration = (
        float(stream.duration * stream.time_base)
        if stream.duration is not None and stream.time_base is not None
        else None
    )
    info = StreamInfo(
        index=stream.index,
        kind=stream.type,
        codec=context.name if context is not None else "unknown",
        profile=stream.profile,
        duration_s=duration,
    )
    if isinstance(stream, av.VideoStream):
        rate = stream.average_rate or stream.guessed_rate
        return replace(
            info,
            width=stream.width,
            height=stream.height,
            pixel_format=stream.format.name if stream.format is not None else None,
            frame_rate=float(Fraction(rate)) if rate else None,
        )
    if isinstance(stream, av.AudioStream):
        return replace(info, sample_rate=stream.sample_rate, channels=stream.channels)
    return info

"""16-bit mono PCM in memory, WAV in and out, and EBU R128 loudness through ffmpeg."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import sys
import tempfile
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

from services.ai_job.pipeline.media_tools import probe
from services.ai_job.pipeline.stage import ToolFailed, run_tool

log = logging.getLogger(__name__)

SILENCE_THRESHOLD = 330  # about -40 dBFS: below this a sample counts as silence
PEAK_LIMIT_DB = -2.0  # sample peaks; leaves room for inter-sample peaks under -1 dBTP
MAX_LOUDNESS_PASSES = 4


@dataclass
class Pcm:
    """Signed 16-bit mono samples at `rate` Hz."""

    samples: array[int]
    rate: int

    @property
    def duration_s(self) -> float:
        """Return the length in seconds."""
        return len(self.samples) / self.rate

    @classmethod
    def silence(cls, seconds: float, rate: int) -> Pcm:
        """Return `seconds` of silence."""
        return cls(array("h", bytes(2 * round(seconds * rate))), rate)


def read_wav(data: bytes) -> Pcm:
    """Decode a 16-bit PCM WAV, mixing stereo down to mono."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            channels, width, rate = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
            )
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as error:
        raise ToolFailed(f"not a readable WAV file: {error}") from error
    if width != 2:
        raise ToolFailed(f"expected 16-bit PCM, got {8 * width}-bit")
    samples = array("h")
    samples.frombytes(frames[: len(frames) - len(frames) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if channels > 1:
        samples = array(
            "h",
            (sum(samples[i : i + channels]) // channels for i in range(0, len(samples), channels)),
        )
    return Pcm(samples, rate)


def wav_bytes(pcm: Pcm) -> bytes:
    """Encode PCM as a WAV file."""
    samples = pcm.samples
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(pcm.rate)
        writer.writeframes(samples.tobytes())
    return buffer.getvalue()


def pcm_frames_to_wav(frames: bytes, rate: int) -> bytes:
    """Wrap little-endian 16-bit mono frames in a WAV header."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(frames)
    return buffer.getvalue()


def write_wav(path: Path, pcm: Pcm, chunk: int = 1 << 20) -> None:
    """Write PCM to a WAV file in chunks, without a second copy of a long track in memory."""
    view = memoryview(pcm.samples)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(pcm.rate)
        for start in range(0, len(view), chunk):
            piece = view[start : start + chunk]
            if sys.byteorder == "big":
                swapped = array("h", piece)
                swapped.byteswap()
                writer.writeframes(swapped.tobytes())
            else:
                writer.writeframes(piece.cast("B"))


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def convert(source: Path, target: Path, rate: int) -> None:
    """Resample a WAV file to `rate` Hz mono 16-bit with ffmpeg."""
    run_tool(["ffmpeg", "-v", "error", "-i", str(source), "-ar", str(rate), "-ac", "1",
              "-c:a", "pcm_s16le", "-y", str(target)])  # fmt: skip


def trim_silence(pcm: Pcm, pad_s: float = 0.02) -> Pcm:
    """Cut the silence an engine leaves before and after speech, keeping `pad_s` of it."""
    samples = pcm.samples
    first = next((i for i, value in enumerate(samples) if abs(value) > SILENCE_THRESHOLD), None)
    if first is None:
        return Pcm(array("h"), pcm.rate)
    last = len(samples) - 1
    while abs(samples[last]) <= SILENCE_THRESHOLD:
        last -= 1
    pad = round(pad_s * pcm.rate)
    return Pcm(samples[max(0, first - pad) : min(len(samples), last + 1 + pad)], pcm.rate)


def resample(pcm: Pcm, rate: int) -> Pcm:
    """Convert `pcm` to `rate` Hz in-process with libswresample (through PyAV)."""
    if pcm.rate == rate or not pcm.samples:
        return Pcm(pcm.samples, rate)
    import av
    import numpy as np

    frame = av.AudioFrame.from_ndarray(
        np.frombuffer(pcm.samples, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = pcm.rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    samples = array("h")
    for piece in frames:
        samples.frombytes(piece.to_ndarray().astype(np.int16, copy=False).tobytes())
    return Pcm(samples, rate)


def normalise_loudness(
    source: Path, target: Path, *, lufs: float, rate: int
) -> dict[str, float | int]:
    """Bring `source` to `lufs` integrated loudness (EBU R128) at `rate` Hz, peaks under -2 dBFS.

    ffmpeg's ebur128 meter measures; a gain and a look-ahead limiter (latency-compensated, so
    every sample stays where the timings say) apply, metered again in the same run. This is
    several times faster than loudnorm, which resamples to 192 kHz, and as close to the target:
    corrective passes run only while the limiter takes more than half a LU away. Dense neural
    speech (Piper) loses loudness to the limiter at a fraction of a LU per dB of gain, so each
    correction divides by the slope the last two passes measured (the secant method).
    """
    measured = measure_loudness(source, true_peak=False)["integrated"]
    if measured == float("-inf"):
        raise ToolFailed("cannot normalise silence")
    gain, output, passes = lufs - measured, measured, 0
    previous: tuple[float, float] | None = None  # (gain, output) of the pass before
    limiter = f"alimiter=limit={10 ** (PEAK_LIMIT_DB / 20):.4f}:level=false:latency=true"
    while passes < MAX_LOUDNESS_PASSES:
        passes += 1
        graph = (
            f"[0:a]volume={gain:.2f}dB,{limiter},aresample={rate},asplit[out][meter];"
            "[meter]ebur128[metered]"
        )
        result = run_tool(
            [
                "ffmpeg",
                "-hide_banner",
                "-nostats",
                "-i",
                str(source),
                "-filter_complex",
                graph,
                "-map",
                "[out]",
                "-ac",
                "1",
                "-c:a",
                "pcm_s16le",
                "-y",
                str(target),
                "-map",
                "[metered]",
                "-f",
                "null",
                "-",
            ]
        )
        output = _integrated(result.stderr.decode(errors="replace"))
        if abs(output - lufs) <= 0.5 or passes == MAX_LOUDNESS_PASSES:
            break
        slope = 1.0
        if previous is not None and output - previous[1] > 0.05:
            slope = min(1.0, max(0.1, (output - previous[1]) / (gain - previous[0])))
        previous = (gain, output)
        gain += max(-12.0, min(12.0, (lufs - output) / slope))  # at most 12 dB a step
    return {
        "target_i": lufs,
        "input_i": measured,
        "gain_db": round(gain, 2),
        "output_i": output,
        "passes": passes,
    }


def _integrated(log_text: str) -> float:
    summary = log_text.rsplit("Summary:", 1)[-1]
    match = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    return float(match.group(1)) if match else float("-inf")


def measure_loudness(path: Path, *, true_peak: bool = True) -> dict[str, float]:
    """Measure integrated loudness (LUFS) and, optionally, true peak (dBTP) with ebur128."""
    meter = "ebur128=peak=true" if true_peak else "ebur128"
    result = run_tool(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", meter, "-f", "null", "-"]
    )
    text = result.stderr.decode(errors="replace")
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", text.rsplit("Summary:", 1)[-1])
    return {
        "integrated": _integrated(text),
        "true_peak": float(peak.group(1)) if peak else float("-inf"),
    }


def probe_duration(path: Path) -> float:
    """Return a media file's duration in seconds as its container states it."""
    return probe(path).duration_s


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """Return a temporary directory for ffmpeg's input and output files."""
    return tempfile.TemporaryDirectory(prefix="filmstudio-audio-")

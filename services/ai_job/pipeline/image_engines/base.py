"""What an image engine is given for one shot, and what it must do with it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

from PIL import Image

# Words of a shot's text mapped to the few moods an engine can show. Longer phrases first:
# "sun is shining" must not read as plain "shining".
MOOD_WORDS: dict[str, str] = {
    "rain": "rainy", "raining": "rainy", "rains": "rainy", "rainy": "rainy", "drizzle": "rainy",
    "downpour": "rainy", "storm": "rainy", "stormy": "rainy", "thunder": "rainy", "wet": "rainy",
    "snow": "snowy", "snowing": "snowy", "blizzard": "snowy", "frost": "cold", "icy": "cold",
    "cold": "cold", "winter": "cold", "bleak": "cold", "grey": "cold", "gray": "cold",
    "fog": "foggy", "foggy": "foggy", "mist": "foggy", "misty": "foggy", "haze": "foggy",
    "smoke": "foggy", "smoky": "foggy", "dust": "foggy",
    "dark": "dark", "darkness": "dark", "gloomy": "dark", "shadow": "dark", "shadows": "dark",
    "sinister": "dark", "ominous": "dark", "grim": "dark", "menacing": "dark", "dim": "dark",
    "gorgeous": "bright", "sunny": "bright", "shining": "bright", "bright": "bright",
    "cheerful": "bright", "happy": "bright", "sparkling": "bright",
    "warm": "warm", "golden": "warm", "cozy": "warm", "glowing": "warm", "candle": "warm",
    "fire": "fiery", "flames": "fiery", "burning": "fiery", "explosion": "fiery",
    "explodes": "fiery", "blood": "tense", "gun": "tense", "guns": "tense", "rifle": "tense",
    "shoot": "tense", "shoots": "tense", "fight": "tense", "danger": "tense", "scream": "tense",
    "calm": "calm", "quiet": "calm", "quietly": "calm", "peaceful": "calm", "gentle": "calm",
}  # fmt: skip
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class ShotSpec:
    """One shot as an engine sees it: framing, place, light, look, cast and caption."""

    id: str
    scene: int = 0
    kind: str = "wide"  # establishing, wide, medium, close-up, two-shot, pov, title-card
    prompt: str = ""
    description: str = ""
    int_ext: str = "EXT"  # INT or EXT
    time_of_day: str = "DAY"
    location: str = ""
    heading: str = ""  # the scene heading as written (SNIPER SCOPE POV)
    style: str = "cinematic"
    moods: tuple[str, ...] = ()
    characters: tuple[str, ...] = ()
    caption: str = ""
    # The image is this much larger than the frame a viewer sees, so the video can pan and zoom
    # across it: bars and captions belong inside the centred frame.
    overscan: float = 1.0


class ImageEngine(Protocol):
    """Turns a shot into one still; the same shot, size and seed give the same pixels."""

    name: str

    def render(self, shot: ShotSpec, width: int, height: int, seed: int) -> Image.Image:
        """Render `shot` as an RGB image of exactly `width` x `height` pixels."""
        ...


def read_moods(text: str) -> tuple[str, ...]:
    """Return the moods named by the words of `text`, sorted, each once."""
    return tuple(sorted({MOOD_WORDS[w] for w in _WORD.findall(text.lower()) if w in MOOD_WORDS}))


def stable_seed(*parts: object) -> int:
    """Mix `parts` into a 63-bit seed that is the same in every process (unlike hash())."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1

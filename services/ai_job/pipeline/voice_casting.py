"""Casting: which voice each speaking character gets, the same on every machine and run."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from services.ai_job.pipeline.voice_engines import Voice

log = logging.getLogger(__name__)

_GENDER_WORDS = {
    "male": {"MAN", "BOY", "MR", "DAD", "FATHER", "KING", "GUY", "SIR", "BROTHER", "UNCLE",
             "HUSBAND", "SON", "GRANDPA", "LORD", "PRINCE", "GENTLEMAN", "HE", "HIS", "HIM"},
    "female": {"WOMAN", "GIRL", "MRS", "MS", "MISS", "MOM", "MOTHER", "QUEEN", "LADY", "SISTER",
               "AUNT", "WIFE", "DAUGHTER", "GRANDMA", "PRINCESS", "SHE", "HER", "HERS"},
}  # fmt: skip


def guess_gender(text: str) -> str | None:
    """Guess a gender from words in a name or description (HANDSOME MAN, MRS. ROBINSON)."""
    words = set(re.findall(r"[A-Z]+", text.upper()))
    found = {gender for gender, known in _GENDER_WORDS.items() if words & known}
    return found.pop() if len(found) == 1 else None


def cast_voices(
    characters: Sequence[str],
    palette: Sequence[Voice],
    chosen: Mapping[str, Voice],
    genders: Mapping[str, str] | None = None,
) -> dict[str, Voice]:
    """Give each character a distinct voice that depends only on its name and the cast.

    A character's name hashes to a preferred slot among the palette voices of its gender (if
    known); a taken slot moves on to the next free one. SHA-256 makes every machine agree, and
    placing characters in name order makes the order of appearance irrelevant. Voices in
    `chosen` are kept and not given to anyone else.
    """
    cast = {name: voice for name, voice in chosen.items() if name in characters}
    taken = {voice.id for voice in cast.values()}
    for name in sorted(set(characters) - set(cast)):
        gender = (genders or {}).get(name) or guess_gender(name)
        pool = [voice for voice in palette if voice.gender == gender] or list(palette)
        start = int(hashlib.sha256(name.upper().encode()).hexdigest(), 16) % len(pool)
        order = [pool[(start + step) % len(pool)] for step in range(len(pool))]
        order += [voice for voice in palette if voice not in order]
        voice = next((v for v in order if v.id not in taken), order[0])
        if voice.id in taken:
            log.warning("more characters than voices: %s shares %s", name, voice.id)
        cast[name] = voice
        taken.add(voice.id)
    return cast


def described_genders(breakdown: Mapping[str, Any]) -> dict[str, str]:
    """Guess genders from the breakdown's character introductions (`MARY, a young woman,`)."""
    guessed: dict[str, str] = {}
    for character in breakdown.get("characters") or []:
        if isinstance(character, Mapping) and isinstance(character.get("name"), str):
            text = f"{character['name']} {character.get('description') or ''}"
            if gender := guess_gender(text):
                guessed[character["name"]] = gender
    return guessed

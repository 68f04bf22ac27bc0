"""Small text helpers the stages share: words, sentences, phrases and display casing."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+(?:['\u2019.-][^\W_]+)*")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "prof", "capt",
     "lt", "sgt", "col", "gen", "mt", "no", "dept", "inc", "ltd", "co"}
)  # fmt: skip
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”\u2019)\]]*\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—\u2013])\s+|\s+(?=--\s)|(?<=--)\s+")
_SHOUTED = re.compile(r"\b[A-Z][A-Z'\u2019.-]*[A-Z]\b")
_KEEP_UPPER = frozenset(
    {"POV", "TV", "OK", "FBI", "CIA", "USA", "UK", "NYC", "LA", "DJ", "ID", "AKA"}
)


def words(text: str) -> list[str]:
    """Return the words of `text` (letters and digits, with inner apostrophes and hyphens)."""
    return _WORD.findall(text)


def word_count(text: str) -> int:
    """Count the words of `text`."""
    return len(words(text))


def one_line(text: str) -> str:
    """Collapse all whitespace, line breaks included, to single spaces."""
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping abbreviations such as `Dr.` inside them."""
    text = one_line(text)
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()]
        last = candidate.rsplit(" ", 1)[-1].rstrip(".").lower()
        if candidate.endswith(".") and (last in _ABBREVIATIONS or len(last) == 1):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def split_phrases(sentence: str, max_chars: int) -> list[str]:
    """Split a sentence longer than `max_chars` at clause punctuation, keeping the rest whole."""
    if len(sentence) <= max_chars:
        return [sentence]
    parts = [part for part in _CLAUSE_END.split(sentence) if part.strip()]
    phrases: list[str] = []
    for part in parts:
        if phrases and len(phrases[-1]) + 1 + len(part) <= max_chars:
            phrases[-1] = f"{phrases[-1]} {part}"
        else:
            phrases.append(part)
    return phrases


def soften_shouting(text: str) -> str:
    """Title-case SHOUTED screenplay words (character intros, sounds) for prose prompts."""
    return _SHOUTED.sub(
        lambda match: match.group() if match.group() in _KEEP_UPPER else _title(match.group()),
        text,
    )


def _title(word: str) -> str:
    # str.title() would give "Brick'S"; only letters after a hyphen or a space start a word.
    return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))


def display_name(name: str) -> str:
    """Return a character cue as a name in prose: `HANDSOME MAN` becomes `Handsome Man`."""
    return soften_shouting(name) if name.isupper() else name


def truncate_words(text: str, limit: int) -> str:
    """Shorten `text` to at most `limit` characters at a word boundary."""
    text = one_line(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:—-")
    return f"{cut}…"

"""Inline emotion and voice tags in the text to speak.

    [happy] We won! [sad:0.6] But the season is over. [voice:jm_kumo] [0.7 sad + 0.3 angry] You said that before.

A tag is ``[...]`` anywhere in the text and holds until the next tag of its kind:
  - an emotion, in any form :meth:`Emotion.parse` takes: ``[happy]``, ``[sad:0.6]``, ``[0.7 sad + 0.3 angry]``,
    ``[vad(0.2,-0.5,0)]``, ``[neutral]``, or words such as ``[quietly hopeful]`` (words must read clearly as an
    emotion: confidence >= :data:`MIN_TEXT_CONFIDENCE`, so a stray ``[citation needed]`` is an error, not a mood);
  - a voice: ``[voice:jf_alpha]`` or a blend ``[voice:0.6 jf_alpha + 0.4 jf_nezumi]`` (the name is checked by the
    pipeline, which knows the voices).
Tags are never spoken. ``\\[`` and ``\\]`` write literal brackets. A malformed tag (unclosed, empty, nested, a lone
``]``, an unknown emotion) raises one :class:`TagError` naming its character position (1-based) in the text.

:func:`parse_tags` -> :class:`TaggedSpan` list (text between tags with the emotion and voice in force, ``None`` =
the request's own); :func:`format_tags` writes spans back as tagged text (``parse_tags(format_tags(s)) == s``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emotive.conditioning import Emotion, EmotiveError

MIN_TEXT_CONFIDENCE = 0.5
"""Free-text tags below this resolver confidence are refused (``Emotion.parse('xyzzy')`` -> neutral at ~0.37)."""
MAX_TAG_CHARS = 200
"""Longest tag body; a longer 'tag' is almost surely a forgotten ``]``."""


class TagError(EmotiveError, ValueError):
    """A malformed inline tag; the message names its position."""


@dataclass(frozen=True)
class TaggedSpan:
    """Text between tags and what is in force for it.

    Attributes:
        text: the words, brackets unescaped (may be empty or blank between two adjacent tags).
        emotion: the last emotion tag before it, or None (the request's emotion).
        voice: the last voice tag's value as written (stripped), or None (the request's voice).
        offset: 0-based character position of ``text``'s start in the tagged input.
    """

    text: str
    emotion: Emotion | None = None
    voice: str | None = None
    offset: int = 0


def _excerpt(s: str) -> str:
    return s if len(s) <= 40 else s[:37] + "..."


def _parse_tag(body: str, pos: int, check_voice: Callable[[str], str] | None = None) -> tuple[str, Emotion | str]:
    """One tag body -> ("emotion", Emotion) or ("voice", name). ``pos``: 1-based position of its ``[``."""
    inner = body.strip()
    where = f"tag [{_excerpt(inner)}] at character {pos}"
    if not inner:
        raise TagError(f"Empty tag [] at character {pos}; write an emotion such as [happy] or \\[ for a bracket.")
    if inner.lower().startswith("voice:"):
        name = inner[6:].strip()
        if not name:
            raise TagError(f"The {where} names no voice; write e.g. [voice:jf_alpha].")
        if check_voice is not None:
            try:
                name = check_voice(name)
            except EmotiveError as e:
                raise TagError(f"The {where}: {e}") from None
        return "voice", name
    try:
        emo = Emotion.parse(inner)
    except EmotiveError as e:
        raise TagError(f"Malformed {where}: {e}") from None
    if emo.source == "text" and emo.confidence < MIN_TEXT_CONFIDENCE:
        raise TagError(f"The {where} does not read as an emotion; use a label such as [happy], [sad:0.6], "
                       "a mixture [0.7 sad + 0.3 angry], [vad(0.2,-0.5,0)] or [voice:NAME] (\\[ for a bracket).")
    return "emotion", emo


def parse_tags(text: str, check_voice: Callable[[str], str] | None = None) -> list[TaggedSpan]:
    """Tagged text -> spans, in order (text between tags; empty spans dropped, so a text without tags is one span).

    ``check_voice``: maps a voice tag's value to its canonical name, raising an ``EmotiveError`` for an unknown
    voice (the pipeline passes its voice bank's check); the error is reported with the tag's position.

    Raises:
        TagError: a malformed tag, with its 1-based character position.
    """
    if not isinstance(text, str):
        raise TagError(f"Text must be a string, got {type(text).__name__}.")
    spans: list[TaggedSpan] = []
    emotion: Emotion | None = None
    voice: str | None = None
    buf: list[str] = []
    start = 0
    i, n = 0, len(text)

    def flush(next_start: int) -> None:
        nonlocal buf, start
        if buf:
            spans.append(TaggedSpan("".join(buf), emotion, voice, start))
        buf = []
        start = next_start

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "[]":
            if not buf:
                start = i
            buf.append(text[i + 1])
            i += 2
            continue
        if c == "]":
            raise TagError(f"A ']' without its '[' at character {i + 1}; write \\] for a literal bracket.")
        if c == "[":
            j = i + 1
            while j < n and text[j] not in "[]":
                j += 1
            if j >= n:
                raise TagError(f"Unclosed tag '[' at character {i + 1}; close it with ']' or write \\[ for a "
                               "literal bracket.")
            if text[j] == "[":
                raise TagError(f"A '[' inside the tag opened at character {i + 1} (at character {j + 1}); tags do "
                               "not nest.")
            body = text[i + 1:j]
            if len(body) > MAX_TAG_CHARS:
                raise TagError(f"The tag at character {i + 1} is {len(body)} characters long (limit "
                               f"{MAX_TAG_CHARS}); did a ']' go missing?")
            kind, value = _parse_tag(body, i + 1, check_voice)
            flush(j + 1)
            if kind == "voice":
                voice = value  # type: ignore[assignment]
            else:
                emotion = value  # type: ignore[assignment]
            i = j + 1
            continue
        if not buf:
            start = i
        buf.append(c)
        i += 1
    flush(n)
    return spans


def has_tags(text: str) -> bool:
    """True if ``text`` contains a bracket (escaped or not), i.e. :func:`parse_tags` may change it."""
    return "[" in text or "]" in text


def escape(text: str) -> str:
    """Plain text -> text whose brackets are spoken literally (``\\[``, ``\\]``)."""
    return text.replace("[", "\\[").replace("]", "\\]")


def strip_tags(text: str) -> str:
    """Tagged text -> the words only (what is spoken), spans joined as written."""
    return "".join(s.text for s in parse_tags(text))


def format_tags(spans: list[TaggedSpan]) -> str:
    """Spans -> tagged text; a tag is written wherever the emotion or voice in force changes.

    Emotions are written in their lossless string form (``str(emotion)``), so ``parse_tags(format_tags(spans))``
    gives the same texts, emotions and voices. A change back to "the request's own" (None after a tag) cannot
    be written and raises ``ValueError``.
    """
    out: list[str] = []
    emotion: Emotion | None = None
    voice: str | None = None
    for s in spans:
        if s.voice != voice:
            if s.voice is None:
                raise ValueError("A span returns to the request's voice after a voice tag; tags cannot say that.")
            out.append(f"[voice:{s.voice}]")
            voice = s.voice
        if s.emotion != emotion:
            if s.emotion is None:
                raise ValueError("A span returns to the request's emotion after a tag; tags cannot say that.")
            out.append(f"[{s.emotion}]")
            emotion = s.emotion
        out.append(escape(s.text))
    return "".join(out)

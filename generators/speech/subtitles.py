"""Subtitles and timings from the engine's own durations (no re-recognition): SRT, WebVTT and JSON.

    out = pipe("Hello there. [sad] Goodbye.", ...)
    cues = make_cues(out.segments, out.duration)     # [Cue(start, end, text, emotion, voice)]
    write_subtitles("out.srt", out)                   # .srt / .vtt / .json by the name's ending

Cue boundaries are word boundaries of the engine (each word's span comes from Kokoro's frame durations, see
``pipeline.Segment.words``): a cue starts where its first word starts and ends where its last word ends, except the
very last cue, which is held to the end of the audio (so a player shows it until the sound stops). A cue never
crosses a segment (sentence, or a change of emotion or voice), so each cue has one emotion.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIXES = (".srt", ".vtt", ".json")
MAX_CUE_CHARS = 42
"""Longest cue line (the BBC and Netflix subtitle guidelines' 37-42 characters per line)."""
MAX_CUE_S = 6.0
"""Longest cue on screen (the same guidelines: at most ~6-7 s)."""
BREAK_AFTER = frozenset(",;:—–")
"""Clause punctuation after which a cue may end early (when it already holds >= ``MIN_BREAK_WORDS`` words)."""
MIN_BREAK_WORDS = 3


@dataclass
class Cue:
    """One subtitle: its span (s), text, and the emotion label and voice it is spoken with."""

    start: float
    end: float
    text: str
    emotion: str
    voice: str


def _is_word(token: str) -> bool:
    return any(c.isalnum() for c in token)


def make_cues(segments: list, duration: float | None = None) -> list[Cue]:
    """Segments (``pipeline.Segment``) -> cues of at most ``MAX_CUE_CHARS`` characters and ``MAX_CUE_S`` seconds,
    broken at segment ends, after clause punctuation, or between words. ``duration`` (s): the audio's length; the
    last cue ends there."""
    cues = [c for seg in segments for c in _segment_cues(seg)]
    if cues and duration is not None:
        cues[-1].end = max(cues[-1].end, float(duration))
    return cues


def _segment_cues(seg) -> list[Cue]:
    groups: list[tuple[list, str]] = []
    cur: list = []         # word timings of the cue being built (punctuation attached to the word before)
    text = ""
    for w in seg.words:
        n_words = sum(_is_word(x.text) for x in cur)
        if not _is_word(w.text):
            if cur:
                cur.append(w)
                text += w.text
                if w.text in BREAK_AFTER and n_words >= MIN_BREAK_WORDS:
                    groups.append((cur, text))
                    cur, text = [], ""
            continue
        first = next((x for x in cur if _is_word(x.text)), None)
        if first is not None and (len(text) + 1 + len(w.text) > MAX_CUE_CHARS or w.end - first.start > MAX_CUE_S):
            groups.append((cur, text))
            cur, text = [], ""
        cur.append(w)
        text += (" " if text else "") + w.text
    groups.append((cur, text))
    cues = []
    for ws, t in groups:
        words = [w for w in ws if _is_word(w.text)]
        if words:
            cues.append(Cue(words[0].start, words[-1].end, t.strip(), seg.emotion.label, seg.voice))
    return cues


def _stamp(t: float, sep: str) -> str:
    ms = max(0, round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(cues: list[Cue]) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``."""
    return "".join(f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n\n" for i, c in enumerate(cues, 1))


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    """SubRip text (ours, or ffmpeg's read-back of a subtitle track) -> [(start s, end s, text)]; lines of one cue
    are joined with a space, position hints after the end time are ignored. Raises ValueError on a malformed cue."""
    def seconds(stamp: str) -> float:
        h, m, sec = stamp.strip().replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)

    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = block.strip().splitlines()
        if not lines:
            continue
        timing = 1 if "-->" not in lines[0] else 0
        try:
            start, end = lines[timing].split("-->")
            cues.append((seconds(start), seconds(end.split()[0]), " ".join(lines[timing + 1:])))
        except (IndexError, ValueError):
            raise ValueError(f"not a SubRip cue: {block[:60]!r}") from None
    return cues


def to_vtt(cues: list[Cue]) -> str:
    """WebVTT; each cue names its voice (``<v jf_alpha>``) and carries the emotion as a cue identifier."""
    body = "".join(f"{i}-{c.emotion}\n{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n<v {c.voice}>{c.text}\n\n"
                   for i, c in enumerate(cues, 1))
    return "WEBVTT\n\n" + body


def to_json(out: Any, cues: list[Cue] | None = None) -> dict:
    """A ``SpeechOutput`` -> ``{"sample_rate", "duration", "segments": [{text, start, end, emotion, voice, words,
    phones}], "cues": [...]}``; times in seconds, emotion as its label, string form, VAD and intensity."""
    cues = make_cues(out.segments, out.duration) if cues is None else cues

    def r(t: float) -> float:
        return round(float(t), 4)

    return {
        "sample_rate": out.sample_rate,
        "duration": r(out.duration),
        "segments": [{
            "text": s.text, "start": r(s.start), "end": r(s.end),
            "emotion": {"label": s.emotion.label, "spec": str(s.emotion), "vad": list(s.emotion.vad),
                        "intensity": s.emotion.intensity},
            "voice": s.voice,
            "words": [{"text": w.text, "start": r(w.start), "end": r(w.end)} for w in s.words],
            "phones": [{"phone": c, "start": r(a), "end": r(b)} for c, a, b in s.phones],
        } for s in out.segments],
        "cues": [{"start": r(c.start), "end": r(c.end), "text": c.text, "emotion": c.emotion, "voice": c.voice}
                 for c in cues],
    }


def render(out: Any, suffix: str) -> str:
    """A ``SpeechOutput`` as the text of a ``.srt``, ``.vtt`` or ``.json`` file."""
    suffix = suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"subtitles are written as {', '.join(SUFFIXES)}, not {suffix!r}")
    if suffix == ".json":
        return json.dumps(to_json(out), ensure_ascii=False, indent=1) + "\n"
    cues = make_cues(out.segments, out.duration)
    return to_srt(cues) if suffix == ".srt" else to_vtt(cues)


def write_subtitles(path: str | os.PathLike, out: Any) -> None:
    """Write ``out``'s subtitles to ``path`` (format by its ending). Not atomic: callers pass a temporary path from
    ``conditioning.files.atomic_outputs`` so the audio and its subtitles are kept together or not at all."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:   # a temporary name keeps the target's ending; fall back to the name's end
        suffix = next((s for s in SUFFIXES if p.name.lower().endswith(s)), suffix)
    p.write_text(render(out, suffix), encoding="utf-8")

"""The one error type of the conditioning layer."""

from __future__ import annotations

import difflib
import unicodedata

from emotive.conditioning.labels import LABEL_ALIASES, LABELS

VALID_FORMS = (
    "a label (" + ", ".join(LABELS) + "), optionally with intensity 'happy:0.6'; "
    "a mixture 'happy+surprised' or '0.7 sad + 0.3 angry'; "
    "a VAD triple 'vad(0.5, 0.3, 0.1)' with values in [-1, 1]; "
    "or free text such as 'quietly hopeful'"
)


EXCERPT_CHARS = 40
"""Longest piece of a user's input an error message quotes (a 1,000-character request is not echoed whole)."""


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` as an error message may quote it: at most ``limit`` characters (then "..."), invisible and control
    characters shown as ``?``."""
    shown = "".join(c if c.isprintable() and unicodedata.category(c) != "Cf" else "?" for c in str(text)[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class EmotiveError(Exception):
    """Base of every error meant for end users (bad input, missing files, limits).

    The CLI and the demo print its message as one line, never a traceback.
    Each subpackage subclasses it (``EmotionError``, audio/image/MIDI input errors).
    """


class EmotionError(EmotiveError, ValueError):
    """Raised for any emotion request that cannot be understood.

    The message is meant for end users: one sentence saying what was wrong and
    which forms are valid, with a suggestion for near-miss labels.
    """


def closest_label(word: str) -> str | None:
    """The canonical label closest in spelling to ``word``, or None if none is close."""
    word = word.strip().lower()
    candidates = list(LABEL_ALIASES)
    match = difflib.get_close_matches(word, candidates, n=1, cutoff=0.7)
    return LABEL_ALIASES[match[0]] if match else None


def unknown_label_error(word: str) -> EmotionError:
    """An EmotionError for an unknown label, suggesting the closest one."""
    guess = closest_label(word)
    hint = f" Did you mean '{guess}'?" if guess else ""
    return EmotionError(f"Unknown emotion label '{excerpt(word)}'.{hint} Valid labels: {', '.join(LABELS)}.")

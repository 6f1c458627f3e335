"""Text frontend: normalisation (numbers, dates, abbreviations), Kokoro phonemes and ARPAbet phonemes.

Kokoro phonemes (misaki's set) come from hibari-tts' offline G2P (``kokoro_words``). ARPAbet phonemes
come from espeak-ng (bundled by ``espeakng-loader``, driven through ``phonemizer``) as IPA and are mapped
onto the 39-phoneme CMU ARPAbet set (upper case, no stress digits), for the real-corpus readers and the
sentence splits' phoneme coverage check.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from emotive.conditioning import EmotiveError

ARPABET: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY",
    "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y",
    "Z", "ZH",
)
"""The 39 CMU ARPAbet phonemes (CMU Pronouncing Dictionary, stress removed)."""

VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})

# espeak-ng en-us IPA -> ARPAbet. Longer keys win (greedy longest match), so
# r-coloured vowels and diphthongs that espeak emits as one phoneme split here.
IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    "aɪɚ": ("AY", "ER"), "aʊɚ": ("AW", "ER"), "ɑːɹ": ("AA", "R"), "ɔːɹ": ("AO", "R"), "oːɹ": ("AO", "R"),
    "ɛɹ": ("EH", "R"), "ɪɹ": ("IH", "R"), "ʊɹ": ("UH", "R"), "iə": ("IY", "AH"), "aɪ": ("AY",), "aʊ": ("AW",),
    "eɪ": ("EY",), "oʊ": ("OW",), "ɔɪ": ("OY",), "tʃ": ("CH",), "dʒ": ("JH",), "ɑː": ("AA",), "ɔː": ("AO",),
    "iː": ("IY",), "uː": ("UW",), "ɜː": ("ER",), "oː": ("AO",), "ə": ("AH",), "ʌ": ("AH",), "ɐ": ("AH",),
    "æ": ("AE",), "ɑ": ("AA",), "ɒ": ("AA",), "ɔ": ("AO",), "ɛ": ("EH",), "ɪ": ("IH",), "ᵻ": ("IH",),
    "i": ("IY",), "ʊ": ("UH",), "u": ("UW",), "ɜ": ("ER",), "ɚ": ("ER",), "ɝ": ("ER",), "o": ("OW",),
    "e": ("EH",), "a": ("AE",), "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",),
    "g": ("G",), "ɡ": ("G",), "f": ("F",), "v": ("V",), "θ": ("TH",), "ð": ("DH",), "s": ("S",),
    "z": ("Z",), "ʃ": ("SH",), "ʒ": ("ZH",), "h": ("HH",), "m": ("M",), "n": ("N",), "ŋ": ("NG",),
    "l": ("L",), "ɹ": ("R",), "r": ("R",), "w": ("W",), "j": ("Y",), "ɾ": ("T",), "ʔ": ("T",),
    "x": ("K",), "ç": ("HH",), "ɬ": ("L",), "n̩": ("AH", "N"), "l̩": ("AH", "L"),
}
_IGNORED = frozenset("ˈˌː̩ˑ-")

class FrontendError(EmotiveError):
    """Text the frontend cannot turn into phonemes."""


# ------------------------------------------------------------------ numbers
_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORD_IRREG = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]


def number_to_words(n: int) -> str:
    """Cardinal in words: ``number_to_words(1204) == 'one thousand two hundred four'`` (|n| < 10**12)."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return _TENS[t] + ("" if o == 0 else "-" + _ONES[o])
    if n < 1000:
        h, r = divmod(n, 100)
        return _ONES[h] + " hundred" + ("" if r == 0 else " " + number_to_words(r))
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            if n >= 1000 * size and size == 10**9:
                raise FrontendError(f"The number {n} is too large to read out.")
            q, r = divmod(n, size)
            return number_to_words(q) + " " + name + ("" if r == 0 else " " + number_to_words(r))
    raise AssertionError("unreachable")


def ordinal_to_words(n: int) -> str:
    """``ordinal_to_words(21) == 'twenty-first'``."""
    words = number_to_words(n)
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    if last in _ORD_IRREG:
        last = _ORD_IRREG[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def year_to_words(y: int) -> str:
    """Years read in pairs: 1999 -> 'nineteen ninety-nine', 2005 -> 'two thousand five'."""
    if 2000 <= y <= 2009 or y % 1000 == 0 or y < 1000:
        return number_to_words(y)
    hi, lo = divmod(y, 100)
    if lo == 0:
        return number_to_words(hi) + " hundred"
    return number_to_words(hi) + " " + ("oh " + _ONES[lo] if lo < 10 else number_to_words(lo))


_ABBREV = {
    "Dr.": "Doctor", "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "St.": "Street", "Ave.": "Avenue",
    "Prof.": "Professor", "Jr.": "Junior", "Sr.": "Senior", "vs.": "versus", "etc.": "et cetera",
    "e.g.": "for example", "i.e.": "that is", "No.": "number", "Mt.": "Mount", "approx.": "approximately",
}
_UNITS = {"km": "kilometres", "kg": "kilograms", "cm": "centimetres", "mm": "millimetres", "m": "metres", "%": "percent"}


def _money(m: re.Match) -> str:
    cur = {"$": ("dollar", "cent"), "£": ("pound", "penny"), "€": ("euro", "cent")}[m.group(1)]
    whole = int(m.group(2).replace(",", ""))
    out = number_to_words(whole) + " " + cur[0] + ("" if whole == 1 else "s")
    if m.group(3):
        cents = int((m.group(3) + "0")[:2])
        if cents:
            sub = "pence" if cur[1] == "penny" and cents != 1 else cur[1] + ("" if cents == 1 else "s")
            out += " and " + number_to_words(cents) + " " + sub
    return out


def _time(m: re.Match) -> str:
    h, mi = int(m.group(1)), int(m.group(2))
    ampm = (m.group(3) or "").lower().replace(".", "")
    words = number_to_words(h) + (" o'clock" if mi == 0 and not ampm else "" if mi == 0 else " " + ("oh " + _ONES[mi] if mi < 10 else number_to_words(mi)))
    if ampm:
        words += " " + " ".join(ampm.upper())
    return words


def _date(m: re.Match) -> str:
    month, day, year = m.group(1), int(m.group(2)), m.group(3)
    out = f"{month} {ordinal_to_words(day)}"
    if year:
        out += ", " + year_to_words(int(year))
    return out


def normalize_text(text: str) -> str:
    """Spoken form of written English: numbers, ordinals, dates, years, times, money, units, abbreviations.

    >>> normalize_text("On May 3rd, 1999 at 4:30 pm Dr. Lee paid $12.50.")
    'On May third, nineteen ninety-nine at four thirty P M Doctor Lee paid twelve dollars and fifty cents.'
    """
    if not isinstance(text, str):
        raise FrontendError(f"Text must be a string, got {type(text).__name__}.")
    s = " ".join(text.replace("\u2019", "'").split())
    if not s:
        raise FrontendError("The text is empty.")
    letters = [c for c in s if c.isalpha()]
    latin = sum(1 for c in letters if c < "\u0250")  # Basic Latin to Latin Extended-B
    if letters and latin < 0.5 * len(letters):
        raise FrontendError("the text is mostly in a script other than the Latin alphabet; the voices speak English.")
    for k, v in _ABBREV.items():
        s = re.sub(r"(?<![\w.])" + re.escape(k), v, s)
    months = "|".join(_MONTHS)
    s = re.sub(rf"\b({months}) (\d{{1,2}})(?:st|nd|rd|th)?(?:,? (\d{{4}}))?\b", _date, s)
    s = re.sub(r"([$£€])(\d[\d,]*)(?:\.(\d{1,2}))?\b", _money, s)
    s = re.sub(r"\b(\d{1,2}):(\d{2})(?:\s?([ap]\.?m\.?))?(?=\W|$)", _time, s, flags=re.IGNORECASE)
    s = re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", lambda m: ordinal_to_words(int(m.group(1))), s)
    s = re.sub(r"\b(1[1-9]\d\d|20\d\d)s\b", lambda m: year_to_words(int(m.group(1))).rsplit(" ", 1)[0] + " " + _plural_decade(int(m.group(1))), s)
    s = re.sub(r"\b(?:in|since|of|from|by|until) (1[1-9]\d\d|20\d\d)\b", lambda m: m.group(0).split(" ")[0] + " " + year_to_words(int(m.group(1))), s)
    s = re.sub(r"(\d+(?:\.\d+)?)\s?(km|kg|cm|mm|m|%)(?=\W|$)", lambda m: m.group(1) + " " + _UNITS[m.group(2)], s)
    s = re.sub(r"\b(\d+)\.(\d+)\b", lambda m: number_to_words(int(m.group(1))) + " point " + " ".join(_ONES[int(c)] for c in m.group(2)), s)
    s = re.sub(r"\b\d{1,3}(?:,\d{3})+\b", lambda m: number_to_words(int(m.group(0).replace(",", ""))), s)
    s = re.sub(r"\b\d+\b", lambda m: number_to_words(int(m.group(0))) if len(m.group(0)) < 13 else " ".join(_ONES[int(c)] for c in m.group(0)), s)
    s = s.replace("&", " and ").replace("+", " plus ").replace("=", " equals ").replace("@", " at ")
    return " ".join(s.split())


def _plural_decade(y: int) -> str:
    last = year_to_words(y).rsplit(" ", 1)[-1]
    return last[:-1] + "ies" if last.endswith("y") else last + "s"


# ------------------------------------------------------------------ phonemes
@functools.lru_cache(maxsize=1)
def _backend():
    try:
        import espeakng_loader
        from phonemizer.backend import EspeakBackend
        from phonemizer.backend.espeak.wrapper import EspeakWrapper
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise FrontendError("Phonemes need the speech extras: pip install 'emotive[speech]'.") from exc
    EspeakWrapper.set_library(espeakng_loader.get_library_path())
    EspeakWrapper.set_data_path(espeakng_loader.get_data_path())
    return EspeakBackend("en-us", with_stress=True, preserve_punctuation=False, language_switch="remove-flags")


def ipa_to_arpabet(ipa_phones: Sequence[str]) -> list[str]:
    """Map espeak IPA phonemes (one string each) to ARPAbet, greedy longest match inside each."""
    out: list[str] = []
    for ph in ipa_phones:
        s = "".join(c for c in ph if c not in _IGNORED or c == "̩")
        i = 0
        while i < len(s):
            for L in (3, 2, 1):
                key = s[i : i + L]
                if key in IPA_TO_ARPABET:
                    out.extend(IPA_TO_ARPABET[key])
                    i += L
                    break
            else:
                i += 1  # unknown symbol (rare diacritic): skipped
    return out


def phonemize(text: str, normalize: bool = True) -> list[str]:
    """Text -> ARPAbet phonemes (upper case, no stress), e.g. ``['HH', 'AH', 'L', 'OW']``."""
    from phonemizer.separator import Separator

    s = normalize_text(text) if normalize else text
    ipa = _backend().phonemize([s], separator=Separator(phone=" ", word=" | "), strip=True)[0]
    phones = ipa_to_arpabet([p for p in ipa.split() if p != "|"])
    if not phones:
        raise FrontendError(f"No phonemes found in {text!r}.")
    return phones


# ------------------------------------------------------------------ Kokoro phonemes (misaki set)
@dataclass(frozen=True)
class PhonemeWord:
    """One token of a sentence for Kokoro: its text, its phonemes (misaki's set; punctuation stays as itself,
    ``""`` for a token that is not spoken, e.g. an emoji) and whether a space follows it."""

    text: str
    phonemes: str
    space_after: bool


@functools.lru_cache(maxsize=1)
def _g2p():
    try:
        from hibari.g2p import G2P
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise FrontendError("Kokoro phonemes need the speech extras: pip install 'emotive[speech]'.") from exc
    return G2P()


def kokoro_words(sentence: str) -> list[PhonemeWord]:
    """One sentence of English -> tokens with misaki phonemes (hibari-tts' offline lexicons + OOV net).

    Numbers, dates, money and abbreviations are read out (hibari's normaliser, misaki's rules).
    """
    from hibari.g2p import normalize

    if not isinstance(sentence, str):
        raise FrontendError(f"Text must be a string, got {type(sentence).__name__}.")
    g = _g2p()
    toks = g.phonemize_tokens(g.tokenize(normalize(sentence)))
    return [PhonemeWord(t.text, t.phonemes or "", bool(t.whitespace)) for t in toks]


def join_words(words: Sequence[PhonemeWord], keep: Callable[[str], bool] = lambda c: True) -> tuple[str, list[tuple[int, int]]]:
    """Words -> (phoneme string, per-word [start, end) character spans in it).

    ``keep`` filters phoneme characters (e.g. those the model's table holds), so every character of the
    result is one model token and the spans index tokens exactly.
    """
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for i, w in enumerate(words):
        ph = "".join(c for c in w.phonemes if keep(c))
        spans.append((pos, pos + len(ph)))
        out.append(ph)
        pos += len(ph)
        if w.space_after and i < len(words) - 1 and ph:
            out.append(" ")
            pos += 1
    return "".join(out), spans

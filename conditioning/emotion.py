"""``Emotion``: the one immutable value every generator and evaluator speaks.

An emotion request can be a label (``"happy"``, ``"happy:0.6"``), a mixture
(``"happy+surprised"``, ``"0.7 sad + 0.3 angry"``), a valence-arousal-dominance
triple (``"vad(0.5, 0.3, 0.1)"`` or a 3-tuple) or free text (``"quietly hopeful"``).
Whatever the form, it resolves to

* ``probs``      -- a distribution over the 8 canonical labels (``LABELS`` order),
* ``vad``        -- valence, arousal, dominance in [-1, 1],
* ``intensity``  -- how strongly it is expressed, in [0, 1] (0 = neutral delivery),
* ``confidence`` -- how sure the resolver is (1 for explicit labels/VAD),
* ``source``     -- which form it came from: label | mixture | vad | text | distribution.

All floats are rounded to 4 decimals on construction, so ``str()`` / JSON forms
parse back to an *equal* value.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from emotive.conditioning.errors import VALID_FORMS, EmotionError, closest_label, excerpt, unknown_label_error
from emotive.conditioning.labels import LABEL_ALIASES, LABEL_INDEX, LABELS, NUM_LABELS, VAD_CENTROIDS

SOURCES = ("label", "mixture", "vad", "text", "distribution")
MAX_PROMPT_CHARS = 1000
_Q = 4  # decimals kept


def _q(x: float) -> float:
    v = round(float(x), _Q)
    return 0.0 if v == 0 else v  # no negative zero


def finite_number(name: str, x: Any) -> float:
    """``float(x)`` or an :class:`EmotionError` naming ``name`` (not a number, NaN, inf)."""
    try:
        v = float(x)
    except (TypeError, ValueError) as exc:
        raise EmotionError(f"{name} must be a number, got '{excerpt(str(x))}'.") from exc
    if not math.isfinite(v):
        raise EmotionError(f"{name} must be a finite number, got {v}.")
    return v


_finite = finite_number

# ------------------------------------------------------------------ the one rule for emotion text
_DROPPED = dict.fromkeys([0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, *range(0xE0020, 0xE0080)])
"""Invisible characters that change nothing a reader sees: zero-width space / (non-)joiner, word joiner,
byte-order mark, soft hyphen, emoji tag characters. Removed."""
_WHITESPACE_CONTROLS = {"\t": " ", "\n": " ", "\r": " ", "\v": " ", "\f": " "}
_READABLE_SCRIPTS = ("LATIN", "MODIFIER")
"""First word of the Unicode name of the letters the text reader reads (English lexicons and an English
sentence model); emoji and punctuation are not letters and always pass."""
_SCRIPT_NAMES = {"CJK": "Chinese (CJK)", "HANGUL": "Korean (Hangul)", "HIRAGANA": "Japanese (Hiragana)",
                 "KATAKANA": "Japanese (Katakana)"}


def _char_name(c: str) -> str:
    return f"U+{ord(c):04X}" + (f" {unicodedata.name(c)}" if unicodedata.name(c, "") else "")


def _nfkc(c: str) -> str:
    """NFKC for letters, digits, spaces and the full-width forms; symbols and emoji stay as typed (NFKC would turn
    the emoji '⁉️' into '!?')."""
    if unicodedata.category(c)[0] in "LNZ" or 0xFF00 <= ord(c) <= 0xFFEF:
        return unicodedata.normalize("NFKC", c)
    return c


def clean_request(text: str) -> str:
    """The one rule for emotion text, applied before any reading: normalise what is harmless, refuse what cannot
    be read, and say which.

    * NFKC normalisation of letters, digits and spaces (full-width ``ｈａｐｐｙ`` -> ``happy``, ligatures,
      non-breaking and ideographic spaces);
      tabs and line breaks become spaces; zero-width and other invisible characters (:data:`_DROPPED`) go.
    * Refused with an :class:`EmotionError` naming the character: text-direction controls (the right-to-left
      override U+202E and its kin, which can make text read other than it shows), other control and format
      characters, private-use and unassigned code points.
    * Refused, naming the script: letters outside the Latin script (Arabic, Chinese, Cyrillic, ...), which the
      English text reader cannot read (it would quietly resolve them to neutral).
    """
    t = "".join(_nfkc(c) for c in text).translate(_DROPPED)
    t = "".join(_WHITESPACE_CONTROLS.get(c, c) for c in t)
    scripts: list[str] = []
    for c in t:
        cat = unicodedata.category(c)
        if cat == "Cf" or unicodedata.bidirectional(c) in ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI",
                                                             "PDI"):
            raise EmotionError(f"The emotion request contains the invisible format character {_char_name(c)} "
                               "(it can change how text reads or displays); remove it.")
        if cat in ("Cc", "Co", "Cs", "Cn"):
            raise EmotionError(f"The emotion request contains the character {_char_name(c)}, which is not text; "
                               "remove it.")
        if cat.startswith("L"):
            script = unicodedata.name(c, "UNKNOWN").split()[0]
            if script not in _READABLE_SCRIPTS and script not in scripts:
                scripts.append(script)
    if scripts:
        names = ", ".join(_SCRIPT_NAMES.get(s, s.title()) for s in scripts[:3])
        raise EmotionError(f"The text reader reads English only; '{excerpt(t)}' is written in {names} script. "
                           f"Use English words, a label ({', '.join(LABELS)}) or a VAD triple 'vad(0.5, 0.3, 0.1)'.")
    return t


def vad_from_probs(probs: Sequence[float], intensity: float) -> tuple[float, float, float]:
    """VAD point of a label distribution at an intensity: ``intensity * sum_i p_i c_i``."""
    out = [0.0, 0.0, 0.0]
    for p, name in zip(probs, LABELS):
        c = VAD_CENTROIDS[name]
        for k in range(3):
            out[k] += p * c[k]
    return (intensity * out[0], intensity * out[1], intensity * out[2])


def probs_from_vad(vad: Sequence[float]) -> tuple[tuple[float, ...], float]:
    """Label distribution and intensity of a VAD point.

    Direction picks the label (softmax over cosine similarity to the centroids,
    sharpness 8); distance from the origin relative to the nearest centroid's
    norm is the intensity. Points near the origin lean neutral: neutral's share
    is ``max(0, 1 - intensity / 0.25)``.
    """
    v = [float(x) for x in vad]
    dims = len(v)  # 2 = valence-arousal only (dominance unknown)
    norm = math.sqrt(sum(x * x for x in v))
    emotional = [name for name in LABELS if name != "neutral"]
    if norm < 1e-6:
        probs = [0.0] * NUM_LABELS
        probs[LABEL_INDEX["neutral"]] = 1.0
        return tuple(probs), 0.0
    cos = []
    for name in emotional:
        c = VAD_CENTROIDS[name][:dims]
        cn = math.sqrt(sum(x * x for x in c))
        cos.append(sum(a * b for a, b in zip(v, c)) / (norm * cn))
    m = max(cos)
    w = [math.exp(8.0 * (x - m)) for x in cos]
    s = sum(w)
    best = emotional[cos.index(m)]
    best_norm = math.sqrt(sum(x * x for x in VAD_CENTROIDS[best][:dims]))
    intensity = min(1.0, norm / best_norm)
    neutral_share = max(0.0, 1.0 - intensity / 0.25)
    probs = [0.0] * NUM_LABELS
    probs[LABEL_INDEX["neutral"]] = neutral_share
    for name, wi in zip(emotional, w):
        probs[LABEL_INDEX[name]] = (1.0 - neutral_share) * wi / s
    return tuple(probs), intensity


@dataclass(frozen=True)
class Emotion:
    """A resolved emotion request. Build it with :meth:`parse` or the ``from_*`` helpers."""

    probs: tuple[float, ...]
    vad: tuple[float, float, float]
    intensity: float = 1.0
    confidence: float = 1.0
    source: str = "label"
    prompt: str | None = field(default=None, compare=False)
    """The user's original input, kept for display; not part of equality."""

    def __post_init__(self) -> None:
        probs = tuple(self.probs)
        if len(probs) != NUM_LABELS:
            raise EmotionError(f"A label distribution needs {NUM_LABELS} values ({', '.join(LABELS)}), got {len(probs)}.")
        probs = tuple(_finite("A label weight", p) for p in probs)
        if any(p < 0 for p in probs):
            raise EmotionError("Label weights must not be negative.")
        total = sum(probs)
        if total <= 0:
            raise EmotionError("Label weights must not all be zero.")
        # Renormalise only when off by more than rounding error: keeps the
        # 4-decimal quantisation idempotent, so serialised forms round-trip.
        if abs(total - 1.0) > 1e-3:
            probs = tuple(p / total for p in probs)
        probs = tuple(_q(p) for p in probs)
        vad = tuple(self.vad)
        if len(vad) != 3:
            raise EmotionError(f"VAD needs 3 values (valence, arousal, dominance), got {len(vad)}.")
        vad = tuple(_finite(n, x) for n, x in zip(("valence", "arousal", "dominance"), vad))
        for n, x in zip(("valence", "arousal", "dominance"), vad):
            if not -1.0 - 1e-9 <= x <= 1.0 + 1e-9:
                raise EmotionError(f"{n} must be in [-1, 1], got {x:g}.")
        intensity = _finite("intensity", self.intensity)
        if not 0.0 <= intensity <= 1.0:
            raise EmotionError(f"intensity must be in [0, 1], got {intensity:g}.")
        confidence = _finite("confidence", self.confidence)
        if not 0.0 <= confidence <= 1.0:
            raise EmotionError(f"confidence must be in [0, 1], got {confidence:g}.")
        if self.source not in SOURCES:
            raise EmotionError(f"source must be one of {', '.join(SOURCES)}, got {self.source!r}.")
        object.__setattr__(self, "probs", probs)
        object.__setattr__(self, "vad", tuple(_q(max(-1.0, min(1.0, x))) for x in vad))
        object.__setattr__(self, "intensity", _q(intensity))
        object.__setattr__(self, "confidence", _q(confidence))

    # ------------------------------------------------------------------ views
    @property
    def label(self) -> str:
        """The most probable canonical label."""
        return LABELS[max(range(NUM_LABELS), key=lambda i: self.probs[i])]

    @property
    def valence(self) -> float:
        return self.vad[0]

    @property
    def arousal(self) -> float:
        return self.vad[1]

    @property
    def dominance(self) -> float:
        return self.vad[2]

    def distribution(self) -> dict[str, float]:
        """``{label: probability}`` in canonical order."""
        return dict(zip(LABELS, self.probs))

    def with_intensity(self, intensity: float) -> Emotion:
        """The same emotion at another intensity (VAD rescaled accordingly)."""
        intensity = _finite("intensity", intensity)
        if not 0.0 <= intensity <= 1.0:
            raise EmotionError(f"intensity must be in [0, 1], got {intensity:g}.")
        if self.intensity > 0:
            scale = intensity / self.intensity
            vad = tuple(max(-1.0, min(1.0, x * scale)) for x in self.vad)
        else:
            vad = vad_from_probs(self.probs, intensity)
        return Emotion(self.probs, vad, intensity, self.confidence, self.source, self.prompt)

    # ------------------------------------------------------------ builders
    @classmethod
    def neutral(cls) -> Emotion:
        return cls.from_label("neutral")

    @classmethod
    def from_label(cls, label: str, intensity: float = 1.0) -> Emotion:
        """One canonical label (or an alias) at an intensity in [0, 1]."""
        return cls.mix({label: 1.0}, intensity=intensity, source="label")

    @classmethod
    def mix(
        cls,
        weights: Mapping[str, float],
        intensity: float = 1.0,
        source: str = "mixture",
        confidence: float = 1.0,
        prompt: str | None = None,
    ) -> Emotion:
        """A mixture of labels: ``Emotion.mix({"sad": 0.7, "angry": 0.3})``."""
        if not weights:
            raise EmotionError(f"An emotion mixture needs at least one label. Valid forms: {VALID_FORMS}.")
        probs = [0.0] * NUM_LABELS
        for name, w in weights.items():
            key = str(name).strip().lower()
            if key not in LABEL_ALIASES:
                raise unknown_label_error(str(name))
            w = _finite(f"The weight of '{name}'", w)
            if w < 0:
                raise EmotionError(f"The weight of '{name}' must not be negative, got {w:g}.")
            probs[LABEL_INDEX[LABEL_ALIASES[key]]] += w
        if sum(probs) <= 0:
            raise EmotionError("Mixture weights must not all be zero.")
        total = sum(probs)
        probs = [round(p / total, _Q) for p in probs]
        intensity = _finite("intensity", intensity)
        if not 0.0 <= intensity <= 1.0:
            raise EmotionError(f"intensity must be in [0, 1], got {intensity:g}.")
        intensity = _q(intensity)
        return cls(tuple(probs), vad_from_probs(probs, intensity), intensity, confidence, source, prompt)

    @classmethod
    def from_vad(
        cls, valence: float, arousal: float, dominance: float | None = None, prompt: str | None = None
    ) -> Emotion:
        """A point in valence-arousal(-dominance) space, each in [-1, 1].

        Without dominance, it is taken from the label distribution the point implies.
        """
        v = _finite("valence", valence)
        a = _finite("arousal", arousal)
        d = 0.0 if dominance is None else _finite("dominance", dominance)
        for n, x in (("valence", v), ("arousal", a), ("dominance", d)):
            if not -1.0 <= x <= 1.0:
                raise EmotionError(f"{n} must be in [-1, 1], got {x:g}.")
        probs, intensity = probs_from_vad((v, a, d) if dominance is not None else (v, a))
        if dominance is None:
            d = vad_from_probs(probs, intensity)[2]
        return cls(probs, (v, a, d), intensity, 1.0, "vad", prompt)

    @classmethod
    def from_distribution(
        cls, probs: Sequence[float] | Mapping[str, float], intensity: float | None = None, confidence: float | None = None
    ) -> Emotion:
        """What a recogniser predicts: a label distribution (VAD follows from it).

        Intensity defaults to ``1 - p(neutral)``; confidence to the top probability.
        """
        if isinstance(probs, Mapping):
            vec = [0.0] * NUM_LABELS
            for k, p in probs.items():
                key = str(k).lower()
                if key not in LABEL_ALIASES:
                    raise unknown_label_error(str(k))
                vec[LABEL_INDEX[LABEL_ALIASES[key]]] += _finite("probability", p)
            probs = vec
        probs = [_finite("probability", p) for p in probs]
        if len(probs) != NUM_LABELS or any(p < 0 for p in probs) or sum(probs) <= 0:
            raise EmotionError(f"A distribution needs {NUM_LABELS} non-negative values with a positive sum.")
        total = sum(probs)
        probs = [p / total for p in probs]
        if intensity is None:
            intensity = 1.0 - probs[LABEL_INDEX["neutral"]]
        if confidence is None:
            confidence = max(probs)
        return cls(tuple(probs), vad_from_probs(probs, intensity), intensity, confidence, "distribution")

    @classmethod
    def from_text(cls, text: str) -> Emotion:
        """Free text, resolved by the lexicon + sentence-embedding resolver."""
        from emotive.conditioning.text import resolve_text  # lazy: loads models on first use

        return resolve_text(text)

    @classmethod
    def parse(cls, spec: Emotion | str | Sequence[float] | Mapping[str, Any]) -> Emotion:
        """Any accepted form -> Emotion. Raises :class:`EmotionError` with a clear message."""
        if isinstance(spec, Emotion):
            return spec
        if isinstance(spec, Mapping):
            return cls.from_dict(spec)
        if isinstance(spec, str):
            return _parse_string(spec)
        if isinstance(spec, Iterable):
            vals = list(spec)
            if len(vals) not in (2, 3):
                raise EmotionError(f"A VAD triple needs 2 or 3 numbers, got {len(vals)}.")
            return cls.from_vad(*vals)
        raise EmotionError(f"Cannot read an emotion from {type(spec).__name__}. Valid forms: {VALID_FORMS}.")

    # ------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probs": self.distribution(),
            "vad": {"valence": self.vad[0], "arousal": self.vad[1], "dominance": self.vad[2]},
            "intensity": self.intensity,
            "confidence": self.confidence,
            "source": self.source,
            "prompt": self.prompt,
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Emotion:
        try:
            probs_in = d["probs"]
            vad_in = d["vad"]
        except KeyError as exc:
            raise EmotionError(f"An emotion dict needs 'probs' and 'vad', missing {exc}.") from exc
        if isinstance(probs_in, Mapping):
            unknown = [k for k in probs_in if k not in LABEL_INDEX]
            if unknown:
                raise unknown_label_error(str(unknown[0]))
            probs = tuple(float(probs_in.get(name, 0.0)) for name in LABELS)
        else:
            probs = tuple(probs_in)
        if isinstance(vad_in, Mapping):
            vad = (vad_in.get("valence"), vad_in.get("arousal"), vad_in.get("dominance"))
        else:
            vad = tuple(vad_in)
        return cls(
            probs,
            vad,
            d.get("intensity", 1.0),
            d.get("confidence", 1.0),
            d.get("source", "distribution"),
            d.get("prompt"),
        )

    @classmethod
    def from_json(cls, s: str) -> Emotion:
        try:
            d = json.loads(s)
        except json.JSONDecodeError as exc:
            raise EmotionError(f"Not valid emotion JSON: {exc.msg}.") from exc
        if not isinstance(d, Mapping):
            raise EmotionError("Emotion JSON must be an object.")
        return cls.from_dict(d)

    def full_form(self) -> str:
        """The lossless string form ``emotion(p=...;vad=...;i=...;c=...;src=...)``."""
        probs = ",".join(f"{n}={p:g}" for n, p in zip(LABELS, self.probs) if p > 0)
        vad = ",".join(f"{x:g}" for x in self.vad)
        return f"emotion({probs};vad={vad};i={self.intensity:g};c={self.confidence:g};src={self.source})"

    def __str__(self) -> str:
        """The shortest string that parses back to an equal Emotion."""
        if self.source in ("label", "vad"):
            if self.source == "label":
                short = self.label if self.intensity == 1.0 else f"{self.label}:{self.intensity:g}"
            else:
                short = "vad(" + ", ".join(f"{x:g}" for x in self.vad) + ")"
            try:
                if _parse_string(short) == self:
                    return short
            except EmotionError:
                pass
        return self.full_form()

    def describe(self) -> str:
        """A one-line human summary: ``happy 82% (surprised 10%) | V +0.66 A +0.42 D +0.38 | intensity 0.8``."""
        ranked = sorted(zip(LABELS, self.probs), key=lambda t: -t[1])
        head = f"{ranked[0][0]} {ranked[0][1]:.0%}"
        rest = ", ".join(f"{n} {p:.0%}" for n, p in ranked[1:3] if p >= 0.05)
        v, a, d = self.vad
        return (
            f"{head}{f' ({rest})' if rest else ''} | V {v:+.2f} A {a:+.2f} D {d:+.2f} | "
            f"intensity {self.intensity:.2f} | confidence {self.confidence:.2f} | from {self.source}"
        )


# ------------------------------------------------------------------ parsing
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_VAD_RE = re.compile(
    rf"^\s*(?:vad\s*)?[\(\[]?\s*({_NUM}|nan|inf|-inf)\s*[,;\s]\s*({_NUM}|nan|inf|-inf)"
    rf"(?:\s*[,;\s]\s*({_NUM}|nan|inf|-inf))?\s*[\)\]]?\s*$",
    re.IGNORECASE,
)
_KV_VAD_RE = re.compile(rf"\b(v|a|d|valence|arousal|dominance)\s*=\s*({_NUM}|nan|inf|-inf)", re.IGNORECASE)
_FULL_RE = re.compile(r"^\s*emotion\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_COMPONENT_RE = re.compile(
    rf"^\s*(?:(?P<w>{_NUM})\s*(?P<pct>%)?\s*\*?\s*)?(?P<label>[a-zA-Z_]+)\s*(?::\s*(?P<i>\S+))?\s*$"
)


def _looks_structured(s: str) -> bool:
    """True if the string uses label syntax (``:``, ``+``, leading weights) rather than prose."""
    parts = [p for p in s.split("+")]
    if len(parts) > 1 and all(_COMPONENT_RE.match(p) for p in parts):
        return True
    return bool(len(parts) == 1 and re.match(rf"^\s*(?:{_NUM}\s*%?\s*\*?\s*)?[a-zA-Z_]+\s*:\s*\S+\s*$", s))


def _parse_string(raw: str) -> Emotion:
    raw = clean_request(raw)
    s = raw.strip()
    if not s:
        raise EmotionError(f"The emotion request is empty. Valid forms: {VALID_FORMS}.")
    if len(s) > MAX_PROMPT_CHARS:
        raise EmotionError(
            f"The emotion prompt is {len(s)} characters long; the limit is {MAX_PROMPT_CHARS}. Shorten it."
        )
    full = _FULL_RE.match(s)
    if full:
        return _parse_full(full.group(1))
    m = _VAD_RE.match(s)
    if m:
        vals = [_finite(n, x) for n, x in zip(("valence", "arousal", "dominance"), m.groups()) if x is not None]
        return Emotion.from_vad(*vals, prompt=raw)
    kv = _KV_VAD_RE.findall(s)
    if kv and not re.sub(_KV_VAD_RE, "", s).strip(" ,;()[]").replace("vad", ""):
        vals: dict[str, float] = {}
        for k, x in kv:
            vals[k[0].lower()] = _finite({"v": "valence", "a": "arousal", "d": "dominance"}[k[0].lower()], x)
        if "v" not in vals or "a" not in vals:
            raise EmotionError("A VAD request needs at least valence and arousal, e.g. 'v=0.5, a=0.3'.")
        return Emotion.from_vad(vals["v"], vals["a"], vals.get("d"), prompt=raw)
    key = s.lower()
    if key in LABEL_ALIASES:
        e = Emotion.from_label(key)
        return Emotion(e.probs, e.vad, e.intensity, e.confidence, e.source, raw)
    if _looks_structured(s):
        return _parse_mixture(s, raw)
    if not any(c.isspace() for c in s):
        _check_one_word(s)
    return Emotion.from_text(s)


def _check_one_word(word: str) -> None:
    """A one-word request that is no label must at least be a word the text reader knows: "hapy" is a mistyped
    label (an error that suggests "happy", not a prompt quietly read as happy), "xyzzy" or "12345" no emotion."""
    from emotive.conditioning.text import default_resolver, normal_word

    read = default_resolver().read_word(word)
    if read is not None and not (read in LABEL_ALIASES and read != normal_word(word)):  # repaired into a label
        return
    if closest_label(word) is not None:
        raise unknown_label_error(word)
    raise EmotionError(
        f"'{excerpt(word)}' is not an emotion label or a word the text reader knows. Valid forms: {VALID_FORMS}.")


def _parse_mixture(s: str, raw: str) -> Emotion:
    weights: dict[str, float] = {}
    intensities: list[tuple[float, float]] = []
    for part in s.split("+"):
        m = _COMPONENT_RE.match(part)
        if not m:
            raise EmotionError(f"Cannot read '{excerpt(part.strip())}' in '{excerpt(s)}'. Valid forms: {VALID_FORMS}.")
        name = m.group("label").lower()
        if name not in LABEL_ALIASES:
            raise unknown_label_error(m.group("label"))
        w = 1.0 if m.group("w") is None else _finite("A mixture weight", m.group("w"))
        if m.group("pct"):
            w /= 100.0
        if w < 0:
            raise EmotionError(f"Mixture weights must not be negative, got {w:g} for '{name}'.")
        i = 1.0
        if m.group("i") is not None:
            i = _finite(f"The intensity of '{name}'", m.group("i"))
            if not 0.0 <= i <= 1.0:
                raise EmotionError(f"Intensity must be in [0, 1], got {i:g} for '{name}'.")
        label = LABEL_ALIASES[name]
        weights[label] = weights.get(label, 0.0) + w
        intensities.append((w, i))
    total_w = sum(w for w, _ in intensities)
    if total_w <= 0:
        raise EmotionError("Mixture weights must not all be zero.")
    intensity = sum(w * i for w, i in intensities) / total_w
    source = "label" if len(weights) == 1 else "mixture"
    return Emotion.mix(weights, intensity=intensity, source=source, prompt=raw)


def _parse_full(body: str) -> Emotion:
    fields: dict[str, str] = {}
    parts = body.split(";")
    probs_part = parts[0]
    for p in parts[1:]:
        if "=" not in p:
            raise EmotionError(f"Cannot read '{excerpt(p)}' in emotion(...).")
        k, v = p.split("=", 1)
        fields[k.strip().lower()] = v.strip()
    probs = [0.0] * NUM_LABELS
    for item in filter(None, (x.strip() for x in probs_part.split(","))):
        if "=" not in item:
            raise EmotionError(f"Cannot read '{excerpt(item)}' in emotion(...): expected label=probability.")
        k, v = item.split("=", 1)
        k = k.strip().lower()
        if k not in LABEL_INDEX:
            raise unknown_label_error(k)
        probs[LABEL_INDEX[k]] = _finite(f"p({k})", v)
    try:
        vad = tuple(_finite("vad", x) for x in fields["vad"].split(","))
        return Emotion(
            tuple(probs),
            vad,
            _finite("intensity", fields.get("i", 1.0)),
            _finite("confidence", fields.get("c", 1.0)),
            fields.get("src", "distribution"),
        )
    except KeyError as exc:
        raise EmotionError("emotion(...) needs vad=v,a,d.") from exc


def as_emotion(spec: Emotion | str | Sequence[float] | Mapping[str, Any] | None, default: str = "neutral") -> Emotion:
    """Convenience for pipelines: ``None`` -> the default label, anything else -> :meth:`Emotion.parse`."""
    return Emotion.parse(default if spec is None else spec)

"""A chord model learned from the Bach chorales: a hidden Markov model over triads, decoded with Viterbi.

Hidden states are the 36 triads ``(root 0..11, quality major / minor / diminished)`` in a
key-normalised space (tonic = 0), one per *harmonic slot* (a half bar in the data).
What is learned (:func:`fit`, from :func:`chorale_slots` of the 371 chorales in music21's corpus,
separately for major and minor chorales, add-``alpha`` smoothed counts):

- ``init``       log P(first chord)                                   ``[2, 36]``
- ``trans``      log P(chord_t | chord_t-1) between half-bar slots    ``[2, 36, 36]``
- ``emit``       log P(melody pitch class | chord), soprano notes weighted by duration ``[2, 36, 12]``
- ``cadence``    log P(chord on a phrase's last slot) (chorale fermatas mark phrase ends) ``[2, 36]``

Generation (:meth:`HarmonyModel.harmonize`) decodes the most likely chord sequence for a
melody with Viterbi, restricted to the diatonic chords of the mode (plus the major dominant
in minor: chorale harmony is richer than the folk-like melodies need), with:

- harmonic rhythm chosen by the caller (slots per bar, from arousal - chorales change chord on
  most beats, which would be too busy for calm music);
- a valence bias ``valence_bias * valence`` on the log-probability of major-quality chords
  (brighter harmony for higher valence, within the mode);
- the learned cadence distribution added on every phrase's last slot, and the final two slots of
  the piece fixed to dominant -> tonic (an authentic cadence).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

QUALITIES = ("maj", "min", "dim")
INTERVALS = {"maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6)}
NUM_CHORDS = 12 * len(QUALITIES)
ROMAN = ("I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII")
# Triads the generator may use (root, quality), per mode: the diatonic ones (plus V/V in major, the chorales'
# commonest chromatic chord); in minor those of the harmonic minor (major V; no v and no VII, which pull a folk-like tune toward the relative major).
DIATONIC = {
    "major": ((0, "maj"), (2, "min"), (2, "maj"), (4, "min"), (5, "maj"), (7, "maj"), (9, "min"), (11, "dim")),
    "minor": ((0, "min"), (2, "dim"), (3, "maj"), (5, "min"), (7, "maj"), (8, "maj")),
}
SLOT_BEATS = 2.0  # a harmonic slot of the training data: half a 4/4 bar


def chord_index(root: int, quality: str) -> int:
    """``(root pitch class relative to the tonic, quality)`` -> state index 0..35."""
    return (root % 12) * len(QUALITIES) + QUALITIES.index(quality)


def chord_root(idx: int) -> int:
    return idx // len(QUALITIES)


def chord_quality(idx: int) -> str:
    return QUALITIES[idx % len(QUALITIES)]


def chord_pcs(idx: int) -> tuple[int, int, int]:
    """Pitch classes (relative to the tonic) of a chord state."""
    r = chord_root(idx)
    return tuple((r + i) % 12 for i in INTERVALS[chord_quality(idx)])  # type: ignore[return-value]


def chord_name(idx: int) -> str:
    """Roman numeral, e.g. ``V``, ``vi``, ``vii°``."""
    r, q = chord_root(idx), chord_quality(idx)
    name = ROMAN[r]
    return name if q == "maj" else (name.lower() if q == "min" else name.lower() + "°")


TEMPLATES = np.zeros((NUM_CHORDS, 12))
for _i in range(NUM_CHORDS):
    TEMPLATES[_i, list(chord_pcs(_i))] = 1.0


def label_chord(pc_weight: np.ndarray, bass_pc: int | None = None) -> int:
    """The triad that best explains a slot's pitch-class weights ``[12]`` (e.g. seconds sounding).

    Score = weight on chord tones - 0.6 x weight outside; a bass on the chord's root adds
    0.15 of the slot's weight (root position is the common case); ties go to major, then minor.
    """
    total = float(pc_weight.sum()) or 1.0
    score = TEMPLATES @ pc_weight - 0.6 * ((1 - TEMPLATES) @ pc_weight)
    if bass_pc is not None:
        roots = np.array([chord_root(i) for i in range(NUM_CHORDS)])
        score = score + 0.15 * total * (roots == bass_pc % 12)
    return int(np.argmax(score - 1e-6 * (np.arange(NUM_CHORDS) % len(QUALITIES))))


# ------------------------------------------------------------------ training data
@dataclass
class ChoraleSlots:
    """One chorale as harmonic slots (half bars), key-normalised (tonic 0).

    Attributes:
        source: corpus file name.
        mode: "major" | "minor" (Krumhansl-Schmuckler on all voices).
        chords: ``[S]`` chord state per slot (from all four voices, :func:`label_chord`).
        melody: ``[S, 12]`` soprano pitch-class weights per slot (beats sounding; x2 for a note on the slot's first beat).
        phrase_end: ``[S]`` bool, the slot holds a soprano fermata (the chorale's phrase ends).
        voices: soprano, alto, tenor, bass as ``(onset beats, duration beats, MIDI pitch)`` lists (for the
            evaluator's per-track corpus statistics).
    """

    source: str
    mode: str
    chords: np.ndarray
    melody: np.ndarray
    phrase_end: np.ndarray
    voices: list[list[tuple[float, float, int]]]


def chorale_slots(score: Any, source: str = "") -> ChoraleSlots | None:
    """A 4-voice chorale (music21 Score in 4/4) -> :class:`ChoraleSlots`, or None if it does not fit."""
    from music21 import expressions, meter, stream

    from emotive.evaluators.music.attributes import NoteList, estimate_key

    ts = score.recurse().getElementsByClass(meter.TimeSignature).first()
    if ts is None or (ts.numerator, ts.denominator) != (4, 4) or len(score.parts) != 4:
        return None
    parts = list(score.parts)
    measures = parts[0].getElementsByClass(stream.Measure)
    shift = 0.0
    if len(measures):
        dur = float(measures[0].duration.quarterLength)
        if 0 < dur < 4.0:
            shift = 4.0 - dur
    voices: list[list[tuple[float, float, int, bool]]] = []
    for part in parts:
        rows = []
        for n in part.stripTies().flatten().notes:
            if n.duration.isGrace or not hasattr(n, "pitch"):
                continue
            fermata = any(isinstance(e, expressions.Fermata) for e in n.expressions)
            rows.append((float(n.offset) + shift, float(n.duration.quarterLength), n.pitch.midi, fermata))
        if not rows:
            return None
        voices.append(rows)
    allnotes = [(on, du, p, 80) for v in voices for on, du, p, _ in v]
    key = estimate_key(NoteList.from_tuples(allnotes))
    end = max(on + du for on, du, _, _ in allnotes)
    n_slots = int(np.ceil(end / SLOT_BEATS - 1e-6))
    if n_slots < 8:
        return None
    weights = np.zeros((n_slots, 12))
    melody = np.zeros((n_slots, 12))
    bass = np.full(n_slots, -1)
    phrase_end = np.zeros(n_slots, dtype=bool)
    for vi, rows in enumerate(voices):
        for on, du, p, ferm in rows:
            pc = (p - key.tonic) % 12
            s0, s1 = int(on // SLOT_BEATS), int(np.ceil((on + du) / SLOT_BEATS - 1e-6))
            for s in range(s0, min(s1, n_slots)):
                overlap = min(on + du, (s + 1) * SLOT_BEATS) - max(on, s * SLOT_BEATS)
                if overlap <= 0:
                    continue
                weights[s, pc] += overlap
                if vi == 0:
                    melody[s, pc] += overlap * (2.0 if abs(on - s * SLOT_BEATS) < 1e-6 else 1.0)
                if vi == 3 and abs(max(on, s * SLOT_BEATS) - s * SLOT_BEATS) < 1e-6:
                    bass[s] = pc
            if vi == 0 and ferm:
                phrase_end[min(int(on // SLOT_BEATS), n_slots - 1)] = True
    keep = weights.sum(1) > 0
    chords = np.array([label_chord(weights[s], None if bass[s] < 0 else int(bass[s])) for s in range(n_slots)])
    phrase_end[-1] = True
    notes = [[(on, du, p) for on, du, p, _ in v] for v in voices]
    return ChoraleSlots(source, key.mode, chords[keep], melody[keep], phrase_end[keep], notes)


def load_chorales(limit: int | None = None, progress: bool = True) -> list[ChoraleSlots]:
    """Parse the Bach chorales of music21's corpus (about 3 minutes on one core)."""
    from music21 import converter
    from tqdm import tqdm

    from emotive.generators.music.data import collection_files

    files = collection_files("bach")[: limit or None]
    out = []
    for f in tqdm(files, desc="chorales", disable=not progress, mininterval=5):
        try:
            cs = chorale_slots(converter.parse(str(f)), f.name)
        except Exception:
            cs = None
        if cs is not None:
            out.append(cs)
    return out


def extraction_agreement(limit: int | None = None) -> dict[str, float]:
    """How often :func:`label_chord` (on the four voices of a beat, bass = the bass voice) names the chord of
    music21's Roman-numeral analyses of the first 20 Riemenschneider chorales (``bach/choraleAnalyses``).

    Returns ``{"beats", "root_agreement", "chord_agreement"}`` (chord = root and triad quality); a check of the
    training labels, not of the model.
    """
    import music21
    from music21 import converter, corpus, roman, stream

    folder = Path(music21.__file__).parent / "corpus" / "bach" / "choraleAnalyses"
    numbers = music21.corpus.chorales.ChoraleListRKBWV().byRiemenschneider
    tot = hit_root = hit = 0
    for n in range(1, (limit or 20) + 1):
        path = folder / f"riemenschneider{n:03d}.rntxt"
        if not path.is_file() or n not in numbers:
            continue
        try:
            score = corpus.parse(f"bach/bwv{numbers[n]['bwv']}")
            analysis = converter.parse(str(path))
        except Exception:
            continue
        starts = {m.number: float(m.offset) for m in score.parts[0].getElementsByClass(stream.Measure)}
        marks = sorted(((starts[rn.measureNumber] + float(rn.offset), rn)
                        for rn in analysis.recurse().getElementsByClass(roman.RomanNumeral) if rn.measureNumber in starts),
                       key=lambda x: x[0])
        notes = [(float(x.offset), float(x.duration.quarterLength), x.pitch.midi, v)
                 for v, part in enumerate(score.parts) for x in part.stripTies().flatten().notes if hasattr(x, "pitch")]
        end = max(on + du for on, du, _, _ in notes)
        for t in np.arange(0.0, end, 1.0):
            current = [rn for on, rn in marks if on <= t + 1e-6]
            if not current:
                continue
            w = np.zeros(12)
            bass = None
            for on, du, p, v in notes:
                overlap = min(on + du, t + 1) - max(on, t)
                if overlap > 0:
                    w[p % 12] += overlap
                    if v == len(score.parts) - 1 and on <= t + 1e-6:
                        bass = p % 12
            if w.sum() == 0:
                continue
            c = label_chord(w, bass)
            rn = current[-1]
            quality = {"major": "maj", "minor": "min", "diminished": "dim"}.get(rn.quality, rn.quality)
            tot += 1
            hit_root += chord_root(c) == rn.root().pitchClass
            hit += chord_root(c) == rn.root().pitchClass and chord_quality(c) == quality
    return {"beats": tot, "root_agreement": hit_root / max(1, tot), "chord_agreement": hit / max(1, tot)}


# ------------------------------------------------------------------ the model
class HarmonyModel:
    """Log-probability tables (see the module docstring) plus Viterbi decoding.

    Args:
        init, trans, emit, cadence: float32 tensors ``[2, 36]``, ``[2, 36, 36]``, ``[2, 36, 12]``, ``[2, 36]``
            (index 0 = major, 1 = minor), natural-log probabilities.
    """

    def __init__(self, init: torch.Tensor, trans: torch.Tensor, emit: torch.Tensor, cadence: torch.Tensor) -> None:
        self.init, self.trans, self.emit, self.cadence = (t.float() for t in (init, trans, emit, cadence))

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"init": self.init, "trans": self.trans, "emit": self.emit, "cadence": self.cadence}

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> HarmonyModel:
        return cls(state["init"], state["trans"], state["emit"], state["cadence"])

    @classmethod
    def uniform(cls) -> HarmonyModel:
        """An untrained model (equal probabilities) - for tests and as the fitting prior."""
        return fit([], alpha=1.0)

    # -------------------------------------------------------------- decoding
    def viterbi(
        self,
        melody: np.ndarray,
        mode: str,
        phrase_end: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
        bias: np.ndarray | None = None,
        fixed: dict[int, int] | None = None,
        change_bonus: float = 0.0,
    ) -> np.ndarray:
        """Most likely chord sequence.

        Args:
            melody: ``[S, 12]`` melody pitch-class weights per slot (relative to the tonic).
            mode: "major" | "minor" (which tables).
            phrase_end: ``[S]`` bool, add the cadence log-probabilities on these slots.
            allowed: ``[36]`` bool, states that may be used (default all).
            bias: ``[36]`` added to every slot's log-score.
            fixed: slot -> state that slot must take.
            change_bonus: added to the log-probability of every chord change (> 0: a faster harmonic rhythm).
        Returns:
            ``[S]`` chord states.
        """
        m = 0 if mode == "major" else 1
        n = len(melody)
        emit = melody @ self.emit[m].numpy().T  # [S, 36]
        if bias is not None:
            emit = emit + bias
        if phrase_end is not None:
            emit = emit + np.where(phrase_end[:, None], self.cadence[m].numpy()[None], 0.0)
        if allowed is not None:
            emit = np.where(allowed[None], emit, -1e9)
        for s, c in (fixed or {}).items():
            row = np.full(NUM_CHORDS, -1e9)
            row[c] = emit[s, c] if emit[s, c] > -1e8 else 0.0
            emit[s] = row
        trans = self.trans[m].numpy() + change_bonus * (1.0 - np.eye(NUM_CHORDS))
        score = self.init[m].numpy() + emit[0]
        back = np.zeros((n, NUM_CHORDS), dtype=np.int64)
        for s in range(1, n):
            cand = score[:, None] + trans  # [prev, cur]
            back[s] = np.argmax(cand, 0)
            score = cand[back[s], np.arange(NUM_CHORDS)] + emit[s]
        path = np.zeros(n, dtype=np.int64)
        path[-1] = int(np.argmax(score))
        for s in range(n - 1, 0, -1):
            path[s - 1] = back[s, path[s]]
        return path

    def harmonize(
        self,
        melody: np.ndarray,
        mode: str,
        phrase_end: np.ndarray,
        valence: float = 0.0,
        valence_bias: float = 0.6,
        final_tonic_slots: int = 1,
        change_bonus: float = 0.0,
    ) -> np.ndarray:
        """Chords for a melody in the generator's setting (diatonic chords, valence bias, closing cadence).

        Args:
            melody: ``[S, 12]`` melody pitch-class weights per harmonic slot (tonic = 0).
            mode: the piece's mode; valence: the requested valence in [-1, 1].
            phrase_end: ``[S]`` bool, the last slot of each phrase.
            final_tonic_slots: the last this-many slots (the final bar) are fixed to I (i in minor) and the
                slot before them to V: an authentic cadence onto the downbeat of the last bar (0: no cadence).
            change_bonus: log-probability added to every chord change (the caller's harmonic rhythm).
        Returns:
            ``[S]`` chord states.
        """
        allowed = np.zeros(NUM_CHORDS, dtype=bool)
        for r, q in DIATONIC[mode]:
            allowed[chord_index(r, q)] = True
        major_q = np.array([chord_quality(i) == "maj" for i in range(NUM_CHORDS)], dtype=np.float64)
        bias = valence_bias * valence * major_q
        fixed = {}
        n = len(melody)
        if 0 < final_tonic_slots < n:
            tonic = chord_index(0, "maj" if mode == "major" else "min")
            fixed = {n - final_tonic_slots - 1: chord_index(7, "maj")} | {s: tonic for s in range(n - final_tonic_slots, n)}
        return self.viterbi(melody, mode, phrase_end, allowed, bias, fixed, change_bonus)


def fit(data: list[ChoraleSlots], alpha: float = 0.5) -> HarmonyModel:
    """Count-based maximum-likelihood tables with add-``alpha`` smoothing (see the module docstring)."""
    init = np.full((2, NUM_CHORDS), alpha)
    trans = np.full((2, NUM_CHORDS, NUM_CHORDS), alpha)
    emit = np.full((2, NUM_CHORDS, 12), alpha)
    cad = np.full((2, NUM_CHORDS), alpha)
    for cs in data:
        m = 0 if cs.mode == "major" else 1
        init[m, cs.chords[0]] += 1
        np.add.at(trans[m], (cs.chords[:-1], cs.chords[1:]), 1)
        np.add.at(emit[m], cs.chords, cs.melody)
        np.add.at(cad[m], cs.chords[cs.phrase_end], 1)
    norm = lambda x: torch.from_numpy(np.log(x / x.sum(-1, keepdims=True))).float()  # noqa: E731
    return HarmonyModel(norm(init), norm(trans), norm(emit), norm(cad))


def accuracy(model: HarmonyModel, data: list[ChoraleSlots]) -> dict[str, float]:
    """Held-out chord accuracy of Viterbi decoding from the soprano alone (all 36 states, phrase ends known),
    against the chords read from all four voices; with two baselines: the emission alone per slot, and the
    most frequent chord of the mode."""
    hit = hit_root = hit_emit = hit_const = n = 0
    for cs in data:
        m = 0 if cs.mode == "major" else 1
        path = model.viterbi(cs.melody, cs.mode, cs.phrase_end)
        emit_only = np.argmax(cs.melody @ model.emit[m].numpy().T, 1)
        const = int(np.argmax(model.init[m].numpy() + model.cadence[m].numpy()))
        hit += int((path == cs.chords).sum())
        hit_root += int((path // 3 == cs.chords // 3).sum())
        hit_emit += int((emit_only == cs.chords).sum())
        hit_const += int((cs.chords == const).sum())
        n += len(cs.chords)
    n = max(1, n)
    return {"chord_accuracy": hit / n, "root_accuracy": hit_root / n, "emission_only_accuracy": hit_emit / n,
            "tonic_baseline_accuracy": hit_const / n, "slots": n}

"""Musical attributes of a note list, recomputed from the notes alone.

This module is the judge's side of the music modality: it sees notes (from any
MIDI file, or from a note array) and measures interpretable attributes - key and
mode, tempo, note density, register, loudness, articulation, consonance and
rhythmic regularity - plus the quality statistics that symbolic-music papers
report (pitch-class entropy, scale consistency and groove consistency as
defined by MusPy, Dong et al., ISMIR 2020). The generator imports these
functions to describe its training data (so training labels and evaluation use
one definition); this module imports nothing from the generator.

Units: time in beats (quarter notes) unless a name says seconds; pitches are
MIDI numbers; a bar is ``beats_per_bar`` beats on a grid of ``STEPS_PER_BEAT``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emotive.conditioning import EmotiveError

STEPS_PER_BEAT = 4  # sixteenth-note grid (the tokenizer's resolution)

# Krumhansl & Kessler (1982) probe-tone key profiles, as used by the
# Krumhansl-Schmuckler key-finding algorithm (Krumhansl 1990, ch. 4).
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
# Consonant harmonic intervals (mod 12): unison/octave, thirds, fourth, fifth, sixths
# (the classical consonance set; Tymoczko 2011, ch. 2).
CONSONANT = frozenset({0, 3, 4, 5, 7, 8, 9})


class MidiReadError(EmotiveError):
    """A MIDI file is missing, unreadable or holds no notes."""


@dataclass(frozen=True)
class NoteList:
    """Notes of one piece on a beat axis.

    Attributes:
        onset: ``[N]`` note starts in beats (quarter notes) from the start.
        duration: ``[N]`` note lengths in beats (> 0).
        pitch: ``[N]`` MIDI pitch numbers.
        velocity: ``[N]`` MIDI velocities 1-127.
        tempo_bpm: quarter-note tempo (the first tempo of the file).
        beats_per_bar: bar length in quarter notes (4 for 4/4).
    """

    onset: np.ndarray
    duration: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    tempo_bpm: float = 120.0
    beats_per_bar: float = 4.0

    def __len__(self) -> int:
        return len(self.pitch)

    @property
    def num_bars(self) -> int:
        if len(self) == 0:
            return 0
        end = float(np.max(self.onset + self.duration))
        return max(1, math.ceil(end / self.beats_per_bar - 1e-6))

    @classmethod
    def from_tuples(
        cls, notes: list[tuple[float, float, int, int]], tempo_bpm: float = 120.0, beats_per_bar: float = 4.0
    ) -> NoteList:
        """From ``(onset_beats, duration_beats, pitch, velocity)`` tuples."""
        arr = np.array(notes, dtype=np.float64).reshape(-1, 4)
        order = np.lexsort((arr[:, 2], arr[:, 0]))
        arr = arr[order]
        return cls(arr[:, 0], arr[:, 1], arr[:, 2].astype(np.int64), arr[:, 3].astype(np.int64), tempo_bpm, beats_per_bar)


def read_midi(path: str | Path) -> NoteList:
    """Read every non-drum note of a MIDI file onto the beat axis (tempo changes respected).

    Raises:
        MidiReadError: missing, corrupt, or note-less file.
    """
    import pretty_midi

    p = Path(path)
    if not p.is_file():
        raise MidiReadError(f"MIDI file '{p}' does not exist.")
    try:
        pm = pretty_midi.PrettyMIDI(str(p))
    except Exception as exc:  # pretty_midi/mido raise many types for corrupt files
        raise MidiReadError(f"'{p}' is not a readable MIDI file ({type(exc).__name__}: {exc}).") from None
    return notes_from_pretty_midi(pm, source=str(p))


def notes_from_pretty_midi(pm, source: str = "MIDI") -> NoteList:
    """A ``pretty_midi.PrettyMIDI`` object -> :class:`NoteList`."""
    rows = []
    res = float(pm.resolution)
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        for n in inst.notes:
            on = pm.time_to_tick(n.start) / res
            off = pm.time_to_tick(n.end) / res
            if off - on <= 0:
                continue
            rows.append((on, off - on, n.pitch, n.velocity))
    if not rows:
        raise MidiReadError(f"{source} holds no notes.")
    _, tempi = pm.get_tempo_changes()
    tempo = float(tempi[0]) if len(tempi) else 120.0
    bpb = 4.0
    if pm.time_signature_changes:
        ts = pm.time_signature_changes[0]
        bpb = ts.numerator * 4.0 / ts.denominator
    return NoteList.from_tuples(rows, tempo, bpb)


# --------------------------------------------------------------------- key and mode
@dataclass(frozen=True)
class Key:
    """A key estimate: tonic pitch class (0 = C), mode, and how clearly it wins."""

    tonic: int
    mode: str  # "major" | "minor"
    correlation: float  # Pearson r of the winning profile
    mode_margin: float  # r(best major) - r(best minor); > 0 means major

    @property
    def name(self) -> str:
        names = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
        return f"{names[self.tonic]} {self.mode}"


def pitch_class_histogram(notes: NoteList, weighted: bool = True) -> np.ndarray:
    """``[12]`` pitch-class distribution (duration-weighted unless ``weighted=False``), sums to 1."""
    w = notes.duration if weighted else np.ones(len(notes))
    h = np.bincount(notes.pitch % 12, weights=w, minlength=12).astype(np.float64)
    s = h.sum()
    return h / s if s > 0 else h


def estimate_key(notes: NoteList) -> Key:
    """Krumhansl-Schmuckler key finding: correlate the duration-weighted pitch-class
    histogram with the 24 rotated Krumhansl-Kessler profiles."""
    h = pitch_class_histogram(notes)
    if h.sum() == 0:
        return Key(0, "major", 0.0, 0.0)
    best = {"major": (-2.0, 0), "minor": (-2.0, 0)}
    for mode, prof in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for t in range(12):
            r = float(np.corrcoef(h, np.roll(prof, t))[0, 1]) if h.std() > 0 else 0.0
            if r > best[mode][0]:
                best[mode] = (r, t)
    margin = best["major"][0] - best["minor"][0]
    mode = "major" if margin >= 0 else "minor"
    return Key(best[mode][1], mode, best[mode][0], margin)


# --------------------------------------------------------------------- quality statistics
def pitch_class_entropy(notes: NoteList) -> float:
    """Shannon entropy (bits) of the note-count pitch-class histogram (MusPy's definition; max log2 12 = 3.58)."""
    h = pitch_class_histogram(notes, weighted=False)
    h = h[h > 0]
    return float(-(h * np.log2(h)).sum()) if len(h) else 0.0


def scale_consistency(notes: NoteList) -> float:
    """Largest fraction of notes inside one major scale (any of 12; natural minor shares these sets) - MusPy."""
    if len(notes) == 0:
        return 0.0
    pcs = notes.pitch % 12
    best = 0.0
    for t in range(12):
        scale = {(t + s) % 12 for s in MAJOR_SCALE}
        best = max(best, float(np.isin(pcs, list(scale)).mean()))
    return best


def bar_onset_grid(notes: NoteList) -> np.ndarray:
    """``[bars, steps_per_bar]`` bool: which sixteenth-note steps of each bar hold an onset."""
    spb = round(notes.beats_per_bar * STEPS_PER_BEAT)
    grid = np.zeros((notes.num_bars, spb), dtype=bool)
    steps = np.round(notes.onset * STEPS_PER_BEAT).astype(np.int64)
    bars, pos = steps // spb, steps % spb
    ok = bars < len(grid)
    grid[bars[ok], pos[ok]] = True
    return grid


def groove_consistency(notes: NoteList) -> float:
    """1 - mean Hamming distance between onset patterns of adjacent bars / steps per bar (MusPy)."""
    g = bar_onset_grid(notes)
    if len(g) < 2:
        return 1.0
    return float(1.0 - np.mean(np.sum(g[1:] != g[:-1], axis=1)) / g.shape[1])


def bar_signatures(notes: NoteList) -> list[tuple]:
    """Per bar, a hashable description (step, pitch, length-in-steps) of its notes."""
    spb = round(notes.beats_per_bar * STEPS_PER_BEAT)
    sig: list[list] = [[] for _ in range(notes.num_bars)]
    for on, du, p in zip(notes.onset, notes.duration, notes.pitch):
        s = round(on * STEPS_PER_BEAT)
        b = min(s // spb, len(sig) - 1)
        sig[b].append((s - b * spb, int(p), max(1, round(du * STEPS_PER_BEAT))))
    return [tuple(sorted(x)) for x in sig]


def empty_bar_rate(notes: NoteList) -> float:
    """Fraction of bars (up to the last note) with no onset."""
    sig = bar_signatures(notes)
    return sum(1 for s in sig if not s) / max(1, len(sig))


def repeated_bar_rate(notes: NoteList) -> float:
    """Fraction of non-empty bars that exactly repeat an earlier bar of the piece."""
    seen: set = set()
    rep = n = 0
    for s in bar_signatures(notes):
        if not s:
            continue
        n += 1
        rep += s in seen
        seen.add(s)
    return rep / max(1, n)


def polyphony(notes: NoteList) -> float:
    """Mean number of notes sounding at sixteenth steps where at least one sounds."""
    if len(notes) == 0:
        return 0.0
    total = math.ceil(float(np.max(notes.onset + notes.duration)) * STEPS_PER_BEAT) + 1
    count = np.zeros(total, dtype=np.int64)
    for on, du in zip(notes.onset, notes.duration):
        a = round(on * STEPS_PER_BEAT)
        b = max(a + 1, round((on + du) * STEPS_PER_BEAT))
        count[a:b] += 1
    active = count[count > 0]
    return float(active.mean()) if len(active) else 0.0


def consonance(notes: NoteList) -> float:
    """Fraction of consonant intervals: between simultaneous notes if the texture is
    polyphonic, else between successive melody notes (steps count as consonant melodic motion)."""
    if len(notes) < 2:
        return 1.0
    on, off, p = notes.onset, notes.onset + notes.duration, notes.pitch
    simult = []
    for i in range(len(p)):
        j = np.nonzero((on < off[i] - 1e-6) & (off > on[i] + 1e-6))[0]
        simult += [abs(int(p[i]) - int(p[k])) % 12 for k in j if k > i]
    if simult:
        return float(np.mean([d in CONSONANT for d in simult]))
    steps = np.abs(np.diff(p))
    good = (steps <= 2) | np.isin(steps % 12, list(CONSONANT))
    return float(good.mean())


# --------------------------------------------------------------------- attributes
@dataclass(frozen=True)
class MusicAttributes:
    """Piece-level attributes (the emotion-relevant cues of Gabrielsson & Lindström 2010)."""

    tonic: int
    mode: str
    mode_margin: float  # KK r(major) - r(minor)
    tempo_bpm: float
    density: float  # onsets per bar
    notes_per_beat: float
    onset_rate: float  # onsets per second = tempo x density (the arousal cue)
    register: float  # mean MIDI pitch
    pitch_range: float  # semitones, 5th-95th percentile
    velocity: float  # mean MIDI velocity
    articulation: float  # mean (duration / inter-onset interval), 1 = legato, < 0.6 staccato
    consonance: float
    rhythmic_regularity: float  # fraction of onsets on eighth-note positions
    num_bars: int

    def to_dict(self) -> dict:
        return asdict(self)


def articulation(notes: NoteList) -> float:
    """Mean ratio of sounding length to the time until the next onset (capped at 1)."""
    if len(notes) < 2:
        return 1.0
    uniq = np.unique(notes.onset)
    nxt = np.searchsorted(uniq, notes.onset, side="right")
    has = nxt < len(uniq)
    if not has.any():
        return 1.0
    ioi = uniq[nxt[has]] - notes.onset[has]
    return float(np.mean(np.minimum(1.0, notes.duration[has] / np.maximum(ioi, 1e-6))))


def compute_attributes(notes: NoteList) -> MusicAttributes:
    """Every attribute of a piece, from its notes only."""
    if len(notes) == 0:
        raise MidiReadError("The piece holds no notes.")
    key = estimate_key(notes)
    bars = notes.num_bars
    onsets = len(np.unique(np.round(notes.onset * STEPS_PER_BEAT)))
    beats = bars * notes.beats_per_bar
    npb = onsets / beats
    on_eighth = float(np.mean(np.abs(notes.onset * 2 - np.round(notes.onset * 2)) < 1e-3))
    return MusicAttributes(
        tonic=key.tonic,
        mode=key.mode,
        mode_margin=key.mode_margin,
        tempo_bpm=notes.tempo_bpm,
        density=onsets / bars,
        notes_per_beat=npb,
        onset_rate=npb * notes.tempo_bpm / 60.0,
        register=float(np.mean(notes.pitch)),
        pitch_range=float(np.percentile(notes.pitch, 95) - np.percentile(notes.pitch, 5)),
        velocity=float(np.mean(notes.velocity)),
        articulation=articulation(notes),
        consonance=consonance(notes),
        rhythmic_regularity=on_eighth,
        num_bars=bars,
    )


def quality_statistics(notes: NoteList) -> dict[str, float]:
    """The quality figures compared against the corpus."""
    return {
        "pitch_class_entropy": pitch_class_entropy(notes),
        "scale_consistency": scale_consistency(notes),
        "groove_consistency": groove_consistency(notes),
        "empty_bar_rate": empty_bar_rate(notes),
        "repeated_bar_rate": repeated_bar_rate(notes),
        "polyphony": polyphony(notes),
    }

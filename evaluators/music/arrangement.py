"""Track-aware analysis of any multi-track MIDI: roles, harmony, texture, form and the closing cadence.

Independent of the generator (nothing here imports ``emotive.generators``): a file is read
into tracks, each track gets a role, and every figure is measured from the notes.

- **Roles** (:func:`assign_roles`): a track named like ``melody`` / ``lead`` / ``vocal`` is the
  melody, else the pitched track with the highest mean pitch; a track named ``bass`` (else the
  lowest remaining pitched track, when there are three or more) is the bass; the rest is
  accompaniment. Drum tracks (channel 10) are set aside.
- **Chords** (:func:`chord_slots`): every half bar, the duration-weighted pitch classes of the
  non-melody tracks (all tracks if there is only one) are matched against the 48 triads
  (major, minor, diminished, augmented on 12 roots): score = weight on chord tones − 0.6 × weight
  outside, + 0.15 × the slot weight for a bass on the root.
- **Harmony figures**: share of major / minor / diminished chords, chord changes per bar (harmonic
  rhythm), dissonance (share of dissonant intervals between simultaneous notes: seconds, tritones,
  sevenths), melody on chord tones at strong beats (beats 1 and 3 of 4/4), and the share of the
  sounding time with at least 3 notes sounding.
- **Form**: melody bars that return, exactly or transposed (same rhythm and intervals), later in the piece.
- **Ending**: the bass's last note (lowest of the last onset) is the tonic of the whole score's key
  (Krumhansl-Schmuckler) and starts on a strong beat.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from emotive.evaluators.music.attributes import (
    STEPS_PER_BEAT,
    MidiReadError,
    NoteList,
    estimate_key,
    quality_statistics,
)

QUALITY_INTERVALS = {"major": (0, 4, 7), "minor": (0, 3, 7), "diminished": (0, 3, 6), "augmented": (0, 4, 8)}
_CHORDS = [(r, q) for r in range(12) for q in QUALITY_INTERVALS]
_TEMPLATES = np.zeros((len(_CHORDS), 12))
for _i, (_r, _q) in enumerate(_CHORDS):
    _TEMPLATES[_i, [(_r + k) % 12 for k in QUALITY_INTERVALS[_q]]] = 1.0
_ROOTS = np.array([r for r, _ in _CHORDS])
DISSONANT = frozenset({1, 2, 6, 10, 11})  # seconds, tritone, sevenths (mod 12)
ROLES = ("melody", "accompaniment", "bass")


@dataclass(frozen=True)
class TrackNotes:
    """One MIDI track: its name, General MIDI program, drum flag and notes (beats)."""

    name: str
    program: int
    is_drum: bool
    notes: NoteList


def read_tracks(midi: Any) -> list[TrackNotes]:
    """A ``pretty_midi.PrettyMIDI`` -> its non-empty tracks on the beat axis (tempo map respected).

    Raises:
        MidiReadError: no pitched notes at all.
    """
    res = float(midi.resolution)
    _, tempi = midi.get_tempo_changes()
    tempo = float(tempi[0]) if len(tempi) else 120.0
    bpb = 4.0
    if midi.time_signature_changes:
        ts = midi.time_signature_changes[0]
        bpb = ts.numerator * 4.0 / ts.denominator
    out = []
    for inst in midi.instruments:
        rows = []
        for n in inst.notes:
            on, off = midi.time_to_tick(n.start) / res, midi.time_to_tick(n.end) / res
            if off > on:
                rows.append((on, off - on, n.pitch, n.velocity))
        if rows:
            out.append(TrackNotes(inst.name or "", int(inst.program), bool(inst.is_drum), NoteList.from_tuples(rows, tempo, bpb)))
    if not any(not t.is_drum for t in out):
        raise MidiReadError("The MIDI holds no pitched notes.")
    return out


def assign_roles(tracks: list[TrackNotes]) -> dict[str, list[TrackNotes]]:
    """``{"melody": [..], "accompaniment": [..], "bass": [..], "drums": [..]}`` (see the module docstring)."""
    pitched = [t for t in tracks if not t.is_drum]
    roles: dict[str, list[TrackNotes]] = {"melody": [], "accompaniment": [], "bass": [], "drums": [t for t in tracks if t.is_drum]}
    named = [t for t in pitched if any(w in t.name.lower() for w in ("melody", "lead", "vocal", "tune"))]
    melody = named[0] if named else max(pitched, key=lambda t: float(np.mean(t.notes.pitch)))
    roles["melody"].append(melody)
    rest = [t for t in pitched if t is not melody]
    named_bass = [t for t in rest if "bass" in t.name.lower()]
    if named_bass:
        bass = named_bass[0]
    elif len(rest) >= 2:
        bass = min(rest, key=lambda t: float(np.mean(t.notes.pitch)))
    else:
        bass = None
    if bass is not None:
        roles["bass"].append(bass)
    roles["accompaniment"] = [t for t in rest if t is not bass]
    return roles


def merge(tracks: list[TrackNotes]) -> NoteList | None:
    """The notes of several tracks as one list (None if there are none)."""
    rows = [(o, d, p, v) for t in tracks for o, d, p, v in zip(t.notes.onset, t.notes.duration, t.notes.pitch, t.notes.velocity)]
    if not rows:
        return None
    ref = tracks[0].notes
    return NoteList.from_tuples(rows, ref.tempo_bpm, ref.beats_per_bar)


def chord_slots(notes: NoteList, slot_beats: float = 2.0) -> list[tuple[int, str] | None]:
    """The best-matching triad ``(root pitch class, quality)`` of each ``slot_beats`` slot (None: silent)."""
    end = float(np.max(notes.onset + notes.duration))
    n = max(1, math.ceil(end / slot_beats - 1e-6))
    w = np.zeros((n, 12))
    low = np.full(n, 999)
    lowpc = np.full(n, -1)
    for on, du, p in zip(notes.onset, notes.duration, notes.pitch):
        for s in range(int(on // slot_beats), min(n, math.ceil((on + du) / slot_beats - 1e-6))):
            ov = min(on + du, (s + 1) * slot_beats) - max(on, s * slot_beats)
            if ov > 0:
                w[s, p % 12] += ov
                if p < low[s]:
                    low[s], lowpc[s] = p, p % 12
    out: list[tuple[int, str] | None] = []
    for s in range(n):
        tot = w[s].sum()
        if tot <= 0:
            out.append(None)
            continue
        score = _TEMPLATES @ w[s] - 0.6 * ((1 - _TEMPLATES) @ w[s]) + 0.15 * tot * (lowpc[s] == _ROOTS)
        out.append(_CHORDS[int(np.argmax(score))])
    return out


def _sounding_counts(notes: NoteList) -> np.ndarray:
    """Distinct pitches sounding on each sixteenth step."""
    total = math.ceil(float(np.max(notes.onset + notes.duration)) * STEPS_PER_BEAT) + 1
    sets: list[set] = [set() for _ in range(total)]
    for on, du, p in zip(notes.onset, notes.duration, notes.pitch):
        a = round(on * STEPS_PER_BEAT)
        for k in range(a, max(a + 1, round((on + du) * STEPS_PER_BEAT))):
            sets[k].add(int(p))
    return np.array([len(s) for s in sets])


def dissonance(notes: NoteList) -> float:
    """Share of dissonant intervals (mod 12 in ``DISSONANT``) among pairs of notes sounding together at
    sixteenth steps (each pair counted once per step)."""
    total = math.ceil(float(np.max(notes.onset + notes.duration)) * STEPS_PER_BEAT) + 1
    sets: list[set] = [set() for _ in range(total)]
    for on, du, p in zip(notes.onset, notes.duration, notes.pitch):
        a = round(on * STEPS_PER_BEAT)
        for k in range(a, max(a + 1, round((on + du) * STEPS_PER_BEAT))):
            sets[k].add(int(p))
    bad = pairs = 0
    for s in sets:
        ps = sorted(s)
        for i in range(len(ps)):
            for j in range(i + 1, len(ps)):
                pairs += 1
                bad += (ps[j] - ps[i]) % 12 in DISSONANT
    return bad / pairs if pairs else 0.0


def _bar_shapes(notes: NoteList) -> list[tuple | None]:
    """Per bar: (rhythm, intervals) of its notes - equal for exact and transposed repeats (None: empty bar)."""
    spb = round(notes.beats_per_bar * STEPS_PER_BEAT)
    bars: list[list] = [[] for _ in range(notes.num_bars)]
    for on, du, p in zip(notes.onset, notes.duration, notes.pitch):
        s = round(on * STEPS_PER_BEAT)
        b = min(s // spb, len(bars) - 1)
        bars[b].append((s - b * spb, max(1, round(du * STEPS_PER_BEAT)), int(p)))
    out: list[tuple | None] = []
    for bar in bars:
        if not bar:
            out.append(None)
            continue
        bar.sort()
        out.append((tuple((s, d) for s, d, _ in bar), tuple(p - bar[0][2] for _, _, p in bar)))
    return out


def returning_bars(notes: NoteList) -> int:
    """Melody bars that repeat an earlier bar exactly or transposed (single-note bars excluded)."""
    seen: set = set()
    n = 0
    for sh in _bar_shapes(notes):
        if sh is None or len(sh[0]) < 2:
            continue
        n += sh in seen
        seen.add(sh)
    return n


def analyse(midi: Any, corpus: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
    """Every track-aware figure of a ``pretty_midi.PrettyMIDI`` (see the module docstring).

    Returns a flat dict: ``tracks``, ``named_tracks``, ``track_names``; ``register_<role>`` (mean MIDI pitch);
    ``major_chord_share`` / ``minor_chord_share`` / ``diminished_chord_share``; ``harmonic_rhythm`` (chord
    changes per bar); ``dissonance``; ``melody_chord_tone_rate``; ``three_note_time_share``;
    ``returning_melody_bars``; ``final_bass_is_tonic``, ``final_bass_on_strong_beat``; per role
    ``<role>_<statistic>`` quality statistics and, given ``corpus``, ``<role>_<statistic>_rel_to_corpus``.
    """
    tracks = read_tracks(midi)
    roles = assign_roles(tracks)
    pitched = [t for t in tracks if not t.is_drum]
    everything = merge(pitched)
    assert everything is not None
    key = estimate_key(everything)
    fig: dict[str, Any] = {
        "tracks": len(tracks),
        "named_tracks": sum(1 for t in tracks if t.name.strip()),
        "track_names": [t.name for t in tracks],
        "drum_tracks": len(roles["drums"]),
    }
    role_notes = {r: merge(roles[r]) for r in ROLES}
    for r, nl in role_notes.items():
        fig[f"register_{r}"] = float(np.mean(nl.pitch)) if nl is not None else None
    # harmony from the non-melody tracks (all tracks for a single-track file)
    support = merge(roles["accompaniment"] + roles["bass"]) or everything
    chords = chord_slots(support)
    qualities = [c[1] for c in chords if c is not None]
    for q in ("major", "minor", "diminished"):
        fig[f"{q}_chord_share"] = qualities.count(q) / max(1, len(qualities))
    changes = sum(1 for a, b in itertools.pairwise(chords) if a is not None and b is not None and a != b)
    bars = max(1, everything.num_bars)
    fig["harmonic_rhythm"] = changes / bars
    fig["dissonance"] = dissonance(everything)
    counts = _sounding_counts(everything)
    sounding = counts > 0
    fig["three_note_time_share"] = float((counts[sounding] >= 3).mean()) if sounding.any() else 0.0
    mel = role_notes["melody"]
    hits = total = 0
    if mel is not None and support is not everything:
        bpb = mel.beats_per_bar
        strong = [b * bpb + k for b in range(mel.num_bars) for k in (0.0, bpb / 2)]
        for t in strong:
            sounding_now = (mel.onset <= t + 1e-6) & (mel.onset + mel.duration > t + 1e-6)
            if not sounding_now.any():
                continue
            s = int(t // 2.0)
            if s >= len(chords) or chords[s] is None:
                continue
            r, q = chords[s]
            tones = {(r + k) % 12 for k in QUALITY_INTERVALS[q]}
            p = int(mel.pitch[sounding_now][-1])
            hits += (p % 12) in tones
            total += 1
    fig["melody_chord_tone_rate"] = hits / total if total else None
    fig["returning_melody_bars"] = returning_bars(mel) if mel is not None else 0
    bass = role_notes["bass"] or (support if support is not everything else everything)
    last_on = float(np.max(bass.onset))
    at_last = bass.onset >= last_on - 1e-6
    final = int(np.min(bass.pitch[at_last]))
    fig["final_bass_is_tonic"] = final % 12 == key.tonic
    beat_in_bar = last_on % bass.beats_per_bar
    fig["final_bass_on_strong_beat"] = bool(min(abs(beat_in_bar), abs(beat_in_bar - bass.beats_per_bar / 2)) < 1e-3)
    for r, nl in role_notes.items():
        if nl is None:
            continue
        q = quality_statistics(nl)
        for k, v in q.items():
            fig[f"{r}_{k}"] = v
            ref = (corpus or {}).get(r, {}).get(k)
            if ref:
                fig[f"{r}_{k}_rel_to_corpus"] = (v - ref) / ref
    return fig

"""Music evaluator: any MIDI -> attributes -> valence/arousal -> quadrant and label distribution, plus quality statistics.

The valence/arousal read-out uses only cues measured from the notes, with
weights that follow the music-psychology literature (independent of the
generator's own emotion -> attribute formulas):

- valence: mode first (Eerola, Friberg & Bresin 2013: mode carries most of the
  valence variance; Gabrielsson & Lindström 2010: major -> happy/serene, minor ->
  sad/angry/fearful), register second (higher -> more positive; G&L 2010):
  ``v = tanh(1.6·tanh(m / 0.08) + 0.04·(mean_pitch − 66))`` where ``m`` is the
  Krumhansl-Kessler correlation margin r(major) − r(minor).
- arousal: tempo × note density (onsets per second) first (Eerola et al. 2013:
  tempo is the dominant arousal cue; G&L 2010: fast, many notes -> activity),
  then loudness and articulation (G&L 2010; Juslin & Laukka 2004: loud and
  staccato -> high activity):
  ``a = tanh(log2(onset_rate / 3.2) + 0.5·(velocity − 70)/30 + 0.5·(0.85 − articulation))``;
  3.2 onsets/s (e.g. eighth notes at 96 BPM) is the neutral point.
- dominance (weak): loud and low is more dominant (G&L 2010: loud -> power):
  ``d = tanh(0.6·(velocity − 70)/30 − 0.03·(mean_pitch − 66))``.

On a multi-track file the register cue is the melody's (the track roles of
``evaluators.music.arrangement``); every other cue is read from all pitched notes, and the
track-aware figures (chords, texture, form, cadence, per-track quality) are added.

The label distribution follows from the VAD point (``Emotion.from_vad``); the
match rule is the EMOPIA quadrant (Hung et al. 2021): a target matches when the
measured quadrant equals the target's (a neutral target matches when both
|v| and |a| are below 0.35).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from emotive.conditioning import Emotion, EmotionError, quadrant_of
from emotive.conditioning.labels import EMOPIA_MAP
from emotive.evaluators.base import Verdict
from emotive.evaluators.music.arrangement import ROLES, analyse
from emotive.evaluators.music.attributes import (
    MidiReadError,
    MusicAttributes,
    NoteList,
    compute_attributes,
    estimate_key,
    notes_from_pretty_midi,
    quality_statistics,
    read_midi,
)

NEUTRAL_RADIUS = 0.35
CORPUS_STATS_PATH = Path(__file__).resolve().parent / "corpus_stats.json"
QUALITY_COMPARED = ("pitch_class_entropy", "scale_consistency", "groove_consistency")


def va_from_attributes(attrs: MusicAttributes) -> tuple[float, float, float]:
    """Valence, arousal, dominance in [-1, 1] from measured attributes (formulas in the module docstring)."""
    mode_term = math.tanh(attrs.mode_margin / 0.08)
    v = math.tanh(1.6 * mode_term + 0.04 * (attrs.register - 66.0))
    rate = max(attrs.onset_rate, 1e-3)
    a = math.tanh(math.log2(rate / 3.2) + 0.5 * (attrs.velocity - 70.0) / 30.0 + 0.5 * (0.85 - attrs.articulation))
    d = math.tanh(0.6 * (attrs.velocity - 70.0) / 30.0 - 0.03 * (attrs.register - 66.0))
    return v, a, d


def target_quadrant(target: Emotion) -> str | None:
    """The target's EMOPIA quadrant, or None for a (near-)neutral target."""
    if abs(target.valence) < 0.1 and abs(target.arousal) < 0.1:
        return None
    return quadrant_of(target.valence, target.arousal)


def parse_music_emotion(spec: Emotion | str) -> Emotion:
    """An Emotion from anything ``Emotion.parse`` accepts, plus EMOPIA quadrant names ``Q1``..``Q4``
    (as EMOPIA's quadrant -> label mixtures in ``conditioning.labels.EMOPIA_MAP``)."""
    if isinstance(spec, str) and re.fullmatch(r"\s*[qQ]\d+\s*", spec):
        q = spec.strip().upper()
        if q not in EMOPIA_MAP:
            raise EmotionError(f"EMOPIA quadrants are Q1 to Q4, not '{spec.strip()}'.")
        return Emotion.mix(dict(EMOPIA_MAP[q]), source="mixture", prompt=q)
    return Emotion.parse(spec)


def load_corpus_stats(path: str | Path | None = None) -> dict[str, dict[str, float]]:
    """Reference quality statistics of the training corpus per track role (``{"melody": {...},
    "accompaniment": {...}, "bass": {...}}``, written by ``emotive train music``)."""
    p = Path(path) if path is not None else CORPUS_STATS_PATH
    if not p.is_file():
        return {}
    stats = json.loads(p.read_text())
    if stats and not any(r in stats for r in ROLES):  # a flat table describes melodies
        stats = {"melody": stats}
    return stats


def _pretty_midi(output: Any) -> Any | None:
    """The ``pretty_midi.PrettyMIDI`` behind an output (path, object, or ``.midi``), or None for bare notes."""
    if isinstance(output, str | Path):
        import pretty_midi

        try:
            return pretty_midi.PrettyMIDI(str(output))
        except Exception as exc:
            raise MidiReadError(f"'{output}' is not a readable MIDI file ({type(exc).__name__}: {exc}).") from None
    midi = getattr(output, "midi", output)
    return midi if hasattr(midi, "instruments") and hasattr(midi, "get_tempo_changes") else None


def to_notes(output: Any) -> NoteList:
    """A path, a ``pretty_midi.PrettyMIDI``, a :class:`NoteList`, or anything with a ``.midi`` attribute."""
    if isinstance(output, NoteList):
        return output
    if isinstance(output, str | Path):
        return read_midi(output)
    midi = getattr(output, "midi", output)
    if hasattr(midi, "instruments") and hasattr(midi, "get_tempo_changes"):
        return notes_from_pretty_midi(midi)
    raise MidiReadError(f"Cannot read music from a {type(output).__name__}; give a MIDI path or a PrettyMIDI object.")


class MusicEvaluator:
    """``evaluate(midi_or_path, target) -> Verdict`` for symbolic music."""

    modality = "music"

    def __init__(self, corpus_stats: dict[str, dict[str, float]] | None = None) -> None:
        self.corpus_stats = corpus_stats if corpus_stats is not None else load_corpus_stats()
        if self.corpus_stats and not any(r in self.corpus_stats for r in ROLES):
            self.corpus_stats = {"melody": self.corpus_stats}

    def evaluate(self, output: Any, target: Emotion | str | None = None) -> Verdict:
        """Judge one piece.

        Figures: the measured attributes (tempo, density, onset rate, mode, key, register (the
        melody's), velocity, articulation, consonance, regularity), valence/arousal, measured and
        target quadrant, the whole piece's quality statistics, and for a MIDI file or object the
        track-aware figures of :func:`emotive.evaluators.music.arrangement.analyse` (per-track
        quality with ``<role>_<statistic>_rel_to_corpus``, 0 = equal to the corpus).
        """
        pm = None
        if isinstance(output, NoteList):
            notes = output
        else:
            if isinstance(output, str | Path) and not Path(output).is_file():
                raise MidiReadError(f"MIDI file '{output}' does not exist.")
            pm = _pretty_midi(output)
            if pm is None:
                raise MidiReadError(f"Cannot read music from a {type(output).__name__}; give a MIDI path or a PrettyMIDI object.")
            notes = notes_from_pretty_midi(pm, str(output) if isinstance(output, str | Path) else "MIDI")
        track_figs = analyse(pm, self.corpus_stats) if pm is not None else {}
        attrs = compute_attributes(notes)
        if track_figs.get("register_melody") is not None:
            attrs = replace(attrs, register=track_figs["register_melody"])
        v, a, d = va_from_attributes(attrs)
        tgt = None if target is None else parse_music_emotion(target)
        measured_q = quadrant_of(v, a)
        if tgt is None:
            matches = False
            tq = None
        else:
            tq = target_quadrant(tgt)
            matches = (abs(v) < NEUTRAL_RADIUS and abs(a) < NEUTRAL_RADIUS) if tq is None else measured_q == tq
        probs = Emotion.from_vad(max(-1.0, min(1.0, v)), max(-1.0, min(1.0, a)), max(-1.0, min(1.0, d))).probs
        quality = quality_statistics(notes)
        figures: dict[str, Any] = {
            "quadrant": measured_q,
            "target_quadrant": tq,
            "valence": v,
            "arousal": a,
            "key": estimate_key(notes).name,
            **{k: val for k, val in attrs.to_dict().items() if k != "tonic"},
            **quality,
            **track_figs,
        }
        if pm is None:  # bare notes: one melodic line, compared with the melody corpus
            for k in QUALITY_COMPARED:
                ref = self.corpus_stats.get("melody", {}).get(k)
                if ref:
                    figures[f"{k}_rel_to_corpus"] = (quality[k] - ref) / ref
        return Verdict("music", tuple(probs), (v, a, d), tgt, matches, figures)


def evaluate(output: Any, target: Emotion | str | None = None) -> Verdict:
    """Module-level shortcut: ``MusicEvaluator().evaluate(output, target)``."""
    return MusicEvaluator().evaluate(output, target)

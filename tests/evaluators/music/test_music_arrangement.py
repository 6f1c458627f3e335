"""Track-aware analysis: roles, chords, melody on chord tones, texture, returning bars, the closing bass note."""

from __future__ import annotations

import pretty_midi
import pytest

from emotive.evaluators.music.arrangement import (
    analyse,
    assign_roles,
    chord_slots,
    read_tracks,
    returning_bars,
)
from emotive.evaluators.music.attributes import MidiReadError, NoteList
from emotive.evaluators.music.evaluator import MusicEvaluator

TEMPO = 120.0
SEC = 60.0 / TEMPO  # one beat

# C major, 4 bars: I | IV | V | I (half-bar slots hold the same chord)
CHORDS = [(48, 52, 55), (53, 57, 60), (55, 59, 62), (48, 52, 55)]
ROOTS = [36, 41, 43, 36]


def song(melody: list[tuple[float, float, int]], names=("melody", "chords", "bass"), bass_last: int = 36) -> pretty_midi.PrettyMIDI:
    """melody: (beat, beats, pitch); chords held a bar each; a bass root per bar (last bar: ``bass_last``)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=TEMPO)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0))
    mel, acc, bass = (pretty_midi.Instrument(p, name=n) for p, n in zip((73, 0, 32), names))
    for on, du, p in melody:
        mel.notes.append(pretty_midi.Note(90, p, on * SEC, (on + du) * SEC))
    for b, (ch, r) in enumerate(zip(CHORDS, ROOTS)):
        for p in ch:
            acc.notes.append(pretty_midi.Note(60, p, b * 4 * SEC, (b + 1) * 4 * SEC))
        bass.notes.append(pretty_midi.Note(70, bass_last if b == 3 else r, b * 4 * SEC, (b + 1) * 4 * SEC))
    pm.instruments += [mel, acc, bass]
    return pm


# melody on chord tones at beats 1 and 3 of every bar; bar 2 repeats bar 1 a fourth higher (C->F chords)
ON_TONES = [(0, 2, 72), (2, 2, 76), (4, 2, 77), (6, 2, 81), (8, 2, 74), (10, 2, 79), (12, 4, 72)]


def test_roles_by_name_then_by_register():
    roles = assign_roles(read_tracks(song(ON_TONES)))
    assert [t.name for t in roles["melody"]] == ["melody"]
    assert [t.name for t in roles["bass"]] == ["bass"]
    assert [t.name for t in roles["accompaniment"]] == ["chords"]
    unnamed = assign_roles(read_tracks(song(ON_TONES, names=("", "", ""))))
    assert unnamed["melody"][0].program == 73 and unnamed["bass"][0].program == 32


def test_chords_and_melody_on_chord_tones():
    f = analyse(song(ON_TONES))
    assert f["tracks"] == 3 and f["named_tracks"] == 3
    assert f["major_chord_share"] == 1.0 and f["minor_chord_share"] == 0.0
    assert f["melody_chord_tone_rate"] == 1.0
    assert f["harmonic_rhythm"] == pytest.approx(3 / 4)  # I -> IV -> V -> I over 4 bars
    off = [(on, du, p + 1) for on, du, p in ON_TONES]  # a semitone off every chord
    assert analyse(song(off))["melody_chord_tone_rate"] == 0.0


def test_minor_and_diminished_chords_are_read():
    nl = NoteList.from_tuples([(0, 2, 57, 80), (0, 2, 60, 80), (0, 2, 64, 80), (2, 2, 59, 80), (2, 2, 62, 80), (2, 2, 65, 80)])
    assert chord_slots(nl) == [(9, "minor"), (11, "diminished")]


def test_texture_and_dissonance():
    f = analyse(song(ON_TONES))
    assert f["three_note_time_share"] == 1.0  # melody + triad + bass everywhere
    assert f["dissonance"] < 0.2
    pm = song(ON_TONES)
    for p in (61, 62, 63):  # a chromatic cluster held over the whole piece
        pm.instruments[1].notes.append(pretty_midi.Note(60, p, 0, 16 * SEC))
    assert analyse(pm)["dissonance"] > f["dissonance"] + 0.1


def test_returning_bars_exact_and_transposed():
    bar = [(0, 1, 60), (1, 1, 64), (2, 2, 67)]
    rows = [(b * 4 + on, du, p + shift, 80) for b, shift in enumerate((0, 5, 0, 2)) for on, du, p in bar]
    assert returning_bars(NoteList.from_tuples(rows)) == 3
    other = [(b * 4 + on, du, p + 3 * b * (i % 2), 80) for b in range(4) for i, (on, du, p) in enumerate(bar)]
    assert returning_bars(NoteList.from_tuples(other)) == 0


def test_final_bass_note():
    f = analyse(song(ON_TONES))
    assert f["final_bass_is_tonic"] and f["final_bass_on_strong_beat"]
    assert not analyse(song(ON_TONES, bass_last=43))["final_bass_is_tonic"]  # ends on G in C major


def test_per_track_quality_against_corpus():
    corpus = {"melody": {"pitch_class_entropy": 2.0}, "bass": {"groove_consistency": 0.5}}
    v = MusicEvaluator(corpus_stats=corpus).evaluate(song(ON_TONES))
    f = v.figures
    assert f["melody_pitch_class_entropy_rel_to_corpus"] == pytest.approx((f["melody_pitch_class_entropy"] - 2.0) / 2.0)
    assert f["bass_groove_consistency_rel_to_corpus"] == pytest.approx((f["bass_groove_consistency"] - 0.5) / 0.5)
    assert "accompaniment_pitch_class_entropy_rel_to_corpus" not in f
    assert f["register"] == pytest.approx(f["register_melody"])  # the register cue is the melody's


def test_drums_only_file_is_refused():
    pm = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(0, is_drum=True, name="drums")
    kit.notes.append(pretty_midi.Note(100, 36, 0, 0.2))
    pm.instruments.append(kit)
    with pytest.raises(MidiReadError):
        read_tracks(pm)

"""Music evaluator: attributes, quality statistics and the VA read-out on hand-made MIDI (no generator involved)."""

from __future__ import annotations

import json
import math

import numpy as np
import pretty_midi
import pytest

from emotive.conditioning import Emotion, EmotiveError
from emotive.evaluators.music.attributes import (
    MidiReadError,
    NoteList,
    compute_attributes,
    empty_bar_rate,
    estimate_key,
    groove_consistency,
    pitch_class_entropy,
    read_midi,
    repeated_bar_rate,
    scale_consistency,
)
from emotive.evaluators.music.evaluator import MusicEvaluator, va_from_attributes

C_MAJOR_TUNE = [60, 64, 67, 72, 67, 64, 65, 62, 59, 62, 67, 65, 64, 62, 60, 60]
A_MINOR_TUNE = [57, 60, 64, 69, 64, 60, 62, 59, 56, 59, 64, 62, 60, 59, 57, 57]


def melody(pitches, step=0.5, velocity=80, tempo=120.0, length=1.0) -> NoteList:
    return NoteList.from_tuples([(i * step, step * length, p, velocity) for i, p in enumerate(pitches)], tempo)


def write_midi(path, pitches, tempo, velocity, step=0.5, length=0.95):
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    inst = pretty_midi.Instrument(0)
    sec = 60.0 / tempo
    for rep in range(4):
        for i, p in enumerate(pitches):
            t = (rep * len(pitches) + i) * step * sec
            inst.notes.append(pretty_midi.Note(velocity, p, t, t + step * sec * length))
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def test_key_finding_major_and_minor():
    k = estimate_key(melody(C_MAJOR_TUNE))
    assert (k.tonic, k.mode) == (0, "major") and k.mode_margin > 0
    k = estimate_key(melody(A_MINOR_TUNE))
    assert (k.tonic, k.mode) == (9, "minor") and k.mode_margin < 0


def test_quality_statistics_definitions():
    assert pitch_class_entropy(melody([60] * 8)) == 0.0
    assert pitch_class_entropy(melody(list(range(60, 72)))) == pytest.approx(math.log2(12))
    assert scale_consistency(melody(C_MAJOR_TUNE)) == 1.0
    assert scale_consistency(melody(list(range(60, 72)))) == pytest.approx(7 / 12)
    same = melody([60, 62, 64, 65] * 4, step=1.0)  # 4 identical bars
    assert groove_consistency(same) == 1.0
    assert repeated_bar_rate(same) == pytest.approx(3 / 4)
    gap = NoteList.from_tuples([(0, 1, 60, 80), (8, 1, 62, 80)])  # bar 2 of 3 empty
    assert empty_bar_rate(gap) == pytest.approx(1 / 3)
    syncopated = NoteList.from_tuples([(0, 1, 60, 80), (4.25, 1, 60, 80)])
    assert groove_consistency(syncopated) == pytest.approx(1 - 2 / 16)


def test_attributes_density_tempo():
    a = compute_attributes(melody(C_MAJOR_TUNE, step=0.5, tempo=120))  # 16 eighths = 2 bars
    assert a.num_bars == 2 and a.density == 8 and a.onset_rate == pytest.approx(4.0)
    assert a.mode == "major" and a.articulation == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("tune", "tempo", "velocity", "step", "quadrant"),
    [
        (C_MAJOR_TUNE, 150, 100, 0.5, "Q1"),
        (A_MINOR_TUNE, 150, 100, 0.5, "Q2"),
        (A_MINOR_TUNE, 60, 50, 1.0, "Q3"),
        (C_MAJOR_TUNE, 60, 50, 1.0, "Q4"),
    ],
)
def test_quadrants_from_files(tmp_path, tune, tempo, velocity, step, quadrant):
    path = write_midi(tmp_path / "x.mid", tune, tempo, velocity, step)
    target = {"Q1": "happy", "Q2": "angry", "Q3": "sad", "Q4": "calm"}[quadrant]
    v = MusicEvaluator(corpus_stats={"pitch_class_entropy": 2.5}).evaluate(path, target)
    assert v.figures["quadrant"] == quadrant
    assert v.matches
    assert v.modality == "music" and abs(sum(v.probs) - 1) < 1e-6
    assert "melody_pitch_class_entropy_rel_to_corpus" in v.figures  # a one-track file is its melody
    json.dumps(v.to_dict())
    other = {"Q1": "sad", "Q2": "calm", "Q3": "happy", "Q4": "angry"}[quadrant]
    assert not MusicEvaluator(corpus_stats={}).evaluate(path, other).matches


def test_va_monotonic_in_cues():
    base = compute_attributes(melody(C_MAJOR_TUNE, tempo=100))
    fast = compute_attributes(melody(C_MAJOR_TUNE, tempo=160))
    assert va_from_attributes(fast)[1] > va_from_attributes(base)[1]
    minor = compute_attributes(melody(A_MINOR_TUNE, tempo=100))
    assert va_from_attributes(minor)[0] < 0 < va_from_attributes(base)[0]


def test_bad_midi_files(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file at all")
    with pytest.raises(MidiReadError):
        read_midi(bad)
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    with pytest.raises(EmotiveError, match="no notes"):
        MusicEvaluator().evaluate(empty, "happy")
    with pytest.raises(EmotiveError, match="does not exist"):
        read_midi(tmp_path / "missing.mid")


def test_cli_evaluate_music(tmp_path, capsys):
    from emotive.apps.cli import main

    path = write_midi(tmp_path / "x.mid", C_MAJOR_TUNE, 150, 100)
    assert main(["evaluate", "music", str(path), "--emotion", "Q1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["figures"]["quadrant"] == "Q1" and out["matches"] is True
    assert main(["evaluate", "music", str(tmp_path / "nope.mid")]) == 2
    for bad, words in (("Q5", "Q1 to Q4"), ("", "empty")):  # no quiet neutral target
        assert main(["evaluate", "music", str(path), "--emotion", bad]) == 2
        assert words in capsys.readouterr().err


def test_probs_follow_vad():
    v = MusicEvaluator(corpus_stats={}).evaluate(melody(A_MINOR_TUNE * 2, step=1.0, tempo=55, velocity=45), Emotion.parse("sad"))
    assert v.label == "sad"
    assert np.argmax(v.probs) == 3

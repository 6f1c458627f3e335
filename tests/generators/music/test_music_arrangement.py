"""Harmony model, form plan, voicing and arrangement invariants (tiny random melody model, counted chord tables)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emotive.generators.music.arrangement import (
    ENSEMBLES,
    MELODY_CLEARANCE,
    TEXTURES,
    parse_instruments,
    texture_for,
    voice_chord,
)
from emotive.generators.music.attributes import MusicInputError
from emotive.generators.music.harmony import (
    ChoraleSlots,
    HarmonyModel,
    chord_index,
    chord_name,
    fit,
    label_chord,
)
from emotive.generators.music.pipeline import MusicPipeline, form_plan
from emotive.generators.music.prior import CodePrior, PriorConfig
from emotive.generators.music.vqvae import BarVQVAE, VQVAEConfig

TONIC, IV, V, VI = chord_index(0, "maj"), chord_index(5, "maj"), chord_index(7, "maj"), chord_index(9, "min")


def g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def pcs_weights(*pcs: int) -> np.ndarray:
    w = np.zeros(12)
    w[list(pcs)] = 1.0
    return w


def toy_chorales(n: int = 20) -> list[ChoraleSlots]:
    """Major 'chorales' cycling I IV V I with the soprano on the root; phrase ends on I."""
    seq = np.array([TONIC, IV, V, TONIC] * 4)
    mel = np.stack([pcs_weights({TONIC: 0, IV: 5, V: 7}[c]) for c in seq])
    ends = np.zeros(len(seq), dtype=bool)
    ends[3::4] = True
    return [ChoraleSlots(f"toy{i}", "major", seq, mel, ends, [[], [], [], []]) for i in range(n)]


@pytest.fixture(scope="module")
def tiny() -> MusicPipeline:
    torch.manual_seed(0)
    return MusicPipeline(BarVQVAE(VQVAEConfig.tiny()), CodePrior(PriorConfig.tiny()), window_bars=4,
                         harmony=fit(toy_chorales()))


def test_chord_labels():
    assert label_chord(pcs_weights(0, 4, 7)) == TONIC
    assert label_chord(pcs_weights(9, 0, 4), bass_pc=9) == VI
    assert label_chord(pcs_weights(11, 2, 5)) == chord_index(11, "dim")
    assert [chord_name(c) for c in (TONIC, V, VI, chord_index(11, "dim"))] == ["I", "V", "vi", "vii°"]


def test_fitted_tables_are_distributions_and_learn_the_data():
    m = fit(toy_chorales(), alpha=0.1)
    for t in (m.init, m.cadence, m.trans, m.emit):
        assert torch.allclose(t.exp().sum(-1), torch.ones(()))
    assert int(m.trans[0, TONIC].argmax()) == IV and int(m.trans[0, IV].argmax()) == V
    # Viterbi recovers the toy harmony from a melody alone, where an untrained model cannot
    data = toy_chorales(1)[0]
    assert np.array_equal(m.viterbi(data.melody, "major", data.phrase_end), data.chords)
    assert not np.array_equal(HarmonyModel.uniform().viterbi(data.melody, "major"), data.chords)


def test_harmonize_keeps_to_the_mode_and_closes_on_the_tonic():
    m = fit(toy_chorales())
    rng = np.random.default_rng(0)
    mel = rng.random((10, 12))
    ends = np.zeros(10, dtype=bool)
    for mode, tonic in (("major", TONIC), ("minor", chord_index(0, "min"))):
        path = m.harmonize(mel, mode, ends, valence=0.3, final_tonic_slots=2)
        assert list(path[-3:]) == [V, tonic, tonic]
        allowed = {chord_name(c) for c in path}
        assert allowed <= ({"I", "ii", "II", "iii", "IV", "V", "vi", "vii°"} if mode == "major"
                           else {"i", "ii°", "bIII", "iv", "V", "bVI"})


def test_form_plans():
    assert form_plan(1, g()) == ["A"] and form_plan(2, g()) == ["A", "A'"] and form_plan(3, g()) == ["A", "B", "A'"]
    four = {tuple(form_plan(4, g(s))) for s in range(20)}
    assert four == {("A", "A'", "B", "A'"), ("A", "B", "A'", "C")}
    long = form_plan(9, g())
    assert len(long) == 9 and long[0] == "A" and long[-1] == "A'"


def test_voicing_stays_under_the_melody():
    for low in (55, 60, 67, 74):
        v = voice_chord((0, 4, 7), low, None)
        assert v == sorted(v) and v[-1] <= low - MELODY_CLEARANCE and {p % 12 for p in v} == {0, 4, 7}
    prev = voice_chord((0, 4, 7), 72, None)
    nxt = voice_chord((5, 9, 0), 72, prev)
    assert sum(abs(a - b) for a, b in zip(prev, nxt)) <= 4  # I -> IV moves by common tone and steps


def test_instruments_and_textures():
    _, roles = parse_instruments("strings,melody=flute,drums=rock", "piano")
    assert roles["melody"] == 73 and roles["bass"] == ENSEMBLES["strings"]["bass"] and roles["drums"] == "rock"
    assert parse_instruments("melody=Electric Piano 1", "piano")[1]["melody"] == 4
    assert parse_instruments(None, "folk") == ("folk", ENSEMBLES["folk"])
    with pytest.raises(MusicInputError, match="kazoo"):
        parse_instruments("melody=kazoo", "piano")
    assert texture_for(0.5, -0.6) == "sustained" and texture_for(0.5, 0.0) == "broken"
    assert texture_for(0.6, 0.6) == "alberti" and texture_for(-0.6, 0.6) == "driving"


def test_arrangement_form_tracks_and_ending(tiny):
    for seed in range(3):
        out = tiny("happy", bars=16, generator=g(seed))
        names = [i.name for i in out.midi.instruments]
        assert names == ["melody", "accompaniment", "bass", "drums"]  # happy -> folk ensemble, light drums
        assert out.midi.instruments[3].is_drum
        # varied repeats: the first three bars of each A' are A's first three bars
        for k, lab in enumerate(out.plan):
            if lab == "A'":
                assert out.bars[4 * k : 4 * k + 3] == out.bars[0:3]
        # the last bar: the tonic from the downbeat in the melody and in the bass
        tonic = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"].index(out.key.split()[0])
        assert len(out.bars[-1]) == 1 and out.bars[-1][0][0] == 0 and out.bars[-1][0][1] % 12 == tonic
        bass = out.midi.instruments[2].notes
        last = max(bass, key=lambda n: n.start)
        bar_s = 240.0 / out.targets.tempo_bpm
        assert last.pitch % 12 == tonic and last.start == pytest.approx(15 * bar_s)
        assert out.harmony.names[-1] in ("I", "i")


@pytest.mark.parametrize("texture", TEXTURES)
def test_every_texture_and_faders(tiny, texture):
    out = tiny("sad", bars=4, generator=g(), texture=texture, instruments="piano", tempo=90, mode="major")
    assert out.texture == texture and out.key.endswith("major") and out.targets.tempo_bpm == 90
    assert [i.program for i in out.midi.instruments] == [0, 0, 0]
    mel = {(round(n.start, 3), n.pitch) for n in out.midi.instruments[0].notes}
    acc = out.midi.instruments[1].notes
    assert acc and all(n.pitch < max(p for _, p in mel) for n in acc)

"""MusicPipeline: determinism, bar counts, continuation, bad input, persistence, CLI (tiny random models),
plus the shipped model's quality floor (marked pretrained)."""

from __future__ import annotations

import json

import pretty_midi
import pytest
import torch

from emotive.conditioning import EmotiveError
from emotive.evaluators.music.evaluator import MusicEvaluator
from emotive.generators.music.pipeline import DEFAULT_PATH, MusicPipeline
from emotive.generators.music.prior import CodePrior, PriorConfig
from emotive.generators.music.vqvae import BarVQVAE, VQVAEConfig


@pytest.fixture(scope="module")
def tiny() -> MusicPipeline:
    torch.manual_seed(0)
    return MusicPipeline(BarVQVAE(VQVAEConfig.tiny()), CodePrior(PriorConfig.tiny()), window_bars=4)


def g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_same_seed_same_piece(tiny):
    a = tiny("happy", bars=6, generator=g(3))
    b = tiny("happy", bars=6, generator=g(3))
    c = tiny("happy", bars=6, generator=g(4))
    assert torch.equal(a.codes, b.codes) and a.bars == b.bars
    assert not torch.equal(a.codes, c.codes)
    # 6 bars are rounded up to two whole 4-bar phrases, and the output says so
    assert a.codes.shape == (8, tiny.prior.config.codes_per_bar) and len(a.bars) == 8
    assert a.info["bars_rounded_up_from"] == 6 and "bars_rounded_up_from" not in tiny("happy", bars=8, generator=g()).info


def test_targets_reach_the_midi(tiny):
    sad = tiny("sad", bars=4, generator=g())
    happy = tiny("happy", bars=4, generator=g())
    assert sad.midi.get_tempo_changes()[1][0] < happy.midi.get_tempo_changes()[1][0]
    assert MusicEvaluator(corpus_stats={}).evaluate(sad.midi, "sad").figures["mode"] == "minor" or not sad.bars[0]
    assert tiny("happy", bars=4, generator=g(), tempo=77).targets.tempo_bpm == 77


@pytest.mark.parametrize("bars", [0, 1, 3, -1, 10_000, 2.5, True])
def test_bad_bar_counts(tiny, bars):
    with pytest.raises(EmotiveError, match="bars"):
        tiny("happy", bars=bars, generator=g())


def test_bad_tempo_and_prompts(tiny, tmp_path):
    with pytest.raises(EmotiveError, match="tempo"):
        tiny("happy", bars=4, tempo=0)
    for kw in ({"temperature": 0.0}, {"top_k": 0}, {"guidance_scale": -1.0}, {"density": 0.0}, {"mode": "lydian"},
               {"texture": "waltz"}, {"instruments": "kazoo"}, {"instruments": "melody=kazoo"},
               {"instruments": "tuba=piano"}, {"instruments": "drums=jazz"}, {"instruments": " , "}):
        with pytest.raises(EmotiveError):
            tiny("happy", bars=4, **kw)
    corrupt = tmp_path / "c.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06\x00")
    empty = tmp_path / "e.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    for p in (corrupt, empty, tmp_path / "missing.mid"):
        with pytest.raises(EmotiveError):
            tiny("happy", bars=4, prompt_midi=p)


def test_continuation_keeps_the_prompt(tiny, tmp_path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    inst = pretty_midi.Instrument(0)
    for i, p in enumerate([62, 66, 69, 74, 73, 71, 69, 66] * 2):  # D major, eighths, 4 bars at 100 BPM
        inst.notes.append(pretty_midi.Note(90, p, i * 0.6, i * 0.6 + 0.55))
    pm.instruments.append(inst)
    pm.write(str(tmp_path / "prompt.mid"))
    out = tiny("calm", bars=4, generator=g(), prompt_midi=tmp_path / "prompt.mid")
    assert out.prompt_bars == 4 and len(out.bars) == 8
    first = sorted(n.pitch for n in out.midi.instruments[0].notes)[:1]
    assert first == [62]  # prompt kept in its own key and register
    assert out.targets.tempo_bpm == pytest.approx(100, abs=0.5)


def test_outputs_are_atomic(tiny, tmp_path):
    out = tiny("happy", bars=4, generator=g())
    mid = out.write_midi(tmp_path / "a.mid")
    assert pretty_midi.PrettyMIDI(str(mid)).instruments
    with pytest.raises(EmotiveError, match="exists"):
        out.write_midi(tmp_path / "a.mid")
    out.write_pianoroll(tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    out.write_wav(tmp_path / "a.wav")
    import soundfile as sf

    audio, sr = sf.read(tmp_path / "a.wav")
    assert sr == 22050 and len(audio) > sr * 0.5 and abs(audio).max() > 0.01
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid", "a.png", "a.wav"]


def test_save_and_load_round_trip(tiny, tmp_path):
    tiny.save_pretrained(tmp_path / "m")
    again = MusicPipeline.from_pretrained(tmp_path / "m")
    a, b = tiny("sad", bars=4, generator=g(1)), again("sad", bars=4, generator=g(1))
    assert torch.equal(a.codes, b.codes) and a.harmony.names == b.harmony.names
    assert torch.equal(again.harmony.trans, tiny.harmony.trans)
    with pytest.raises(EmotiveError):
        tiny.save_pretrained(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    cfg["format_version"] = 99
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(EmotiveError, match="format"):
        MusicPipeline.from_pretrained(tmp_path / "m")


def test_cli_train_tiny_then_compose(tmp_path):
    from emotive.apps.cli import main

    model = tmp_path / "model"
    assert main(["train", "music", "--tiny", "--out", str(model), "--work", str(tmp_path / "work")]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "token reconstruction accuracy" in card and "held-out chorales" in card
    stats = json.loads((model / "corpus_stats.json").read_text())
    assert set(stats) == {"melody", "accompaniment", "bass"}
    out = tmp_path / "song.mid"
    assert main(["compose", "--emotion", "sad", "--bars", "4", "-o", str(out), "--png", str(tmp_path / "r.png"), "--model", str(model)]) == 0
    midi = pretty_midi.PrettyMIDI(str(out))
    assert len(midi.instruments[0].notes) > 0 and midi.get_end_time() > 0
    assert [i.name for i in midi.instruments] == ["melody", "accompaniment", "bass"]
    # --bars 1 is no phrase: exit 2, nothing written; unknown texture / instrument likewise
    for bad in (["--bars", "1"], ["--texture", "waltz"], ["--instruments", "melody=kazoo"]):
        assert main(["compose", *bad, "-o", str(tmp_path / "x.mid"), "--model", str(model)]) == 2
    # existing output refused before any work; bad bars -> exit 2 and nothing written
    assert main(["compose", "--emotion", "sad", "-o", str(out), "--model", str(model)]) == 2
    assert main(["compose", "--bars", "0", "-o", str(tmp_path / "x.mid"), "--model", str(model)]) == 2
    assert not (tmp_path / "x.mid").exists()
    # one output named twice, or named for another format: refused before anything is written, even with --force
    for extra in (["--wav", str(tmp_path / "x.mid")], ["--png", str(tmp_path / "x.jpg")], ["--force"]):
        o = "x.mid" if extra[0] != "--force" else "x.txt"
        assert main(["compose", "--bars", "4", "-o", str(tmp_path / o), "--model", str(model), *extra]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "r.png", "song.mid", "work"]


@pytest.mark.pretrained
def test_shipped_model_controls_quadrants(tmp_path):
    pipe = MusicPipeline.from_pretrained()
    ev = MusicEvaluator()
    hits = tones = 0
    for q in ("Q1", "Q2", "Q3", "Q4"):
        for seed in range(3):
            out = pipe(q, bars=16, generator=g(seed))
            assert len(out.bars) == 16
            assert out.seconds < 10
            f = ev.evaluate(out.midi, q).figures
            hits += f["quadrant"] == q
            tones += f["melody_chord_tone_rate"]
            assert f["key"] == out.key and f["final_bass_is_tonic"] and f["returning_melody_bars"] >= 2
    assert hits >= 10 and tones / 12 >= 0.7
    assert (DEFAULT_PATH / "MODEL_CARD.md").is_file()
    assert sum(p.stat().st_size for p in DEFAULT_PATH.iterdir()) < 25e6
